package reason

import (
	"strings"
	"testing"

	"fargo.dev/fargo/internal/jingle"
)

// TestFromBye covers the BYE row of protocol-map §4.1 and the Q.850 list.
func TestFromBye(t *testing.T) {
	cases := []struct {
		header string
		want   jingle.Reason
	}{
		{"", jingle.Reason{Condition: jingle.Success}},
		{"garbage;;;", jingle.Reason{Condition: jingle.Success}},
		{`Q.850;cause=16;text="Normal call clearing"`, jingle.Reason{Condition: jingle.Success, Text: "Normal call clearing"}},
		{"Q.850;cause=31", jingle.Reason{Condition: jingle.Success}},
		{"Q.850;cause=17", jingle.Reason{Condition: jingle.Busy}},
		{"Q.850;cause=18", jingle.Reason{Condition: jingle.Timeout}},
		{"Q.850;cause=19", jingle.Reason{Condition: jingle.Timeout}},
		{`q.850 ; cause = 21 ; text="Call Rejected"`, jingle.Reason{Condition: jingle.Decline, Text: "Call Rejected"}},
		{"Q.850;cause=38", jingle.Reason{Condition: jingle.ConnectivityError}},
		{"Q.850;cause=41", jingle.Reason{Condition: jingle.ConnectivityError}},
		{"Q.850;cause=42", jingle.Reason{Condition: jingle.ConnectivityError}},
		{"Q.850;cause=127", jingle.Reason{Condition: jingle.Success}},
		{"Q.850;cause=abc", jingle.Reason{Condition: jingle.Success}},
		{`SIP;cause=486;text="Busy Here"`, jingle.Reason{Condition: jingle.Busy, Text: "Busy Here", SIPStatus: 486}},
		{"SIP;cause=200", jingle.Reason{Condition: jingle.Success, SIPStatus: 200}},
		{"SIP;cause=580", jingle.Reason{Condition: jingle.FailedTransport, SIPStatus: 580}},
		{"SIP;cause=99", jingle.Reason{Condition: jingle.Success}},
		{`Reason: SIP;cause=603;text="a, b; c"`, jingle.Reason{Condition: jingle.Decline, Text: "a, b; c", SIPStatus: 603}},
		{`SIP;cause=x, Q.850;cause=17`, jingle.Reason{Condition: jingle.Busy}},
		{`Q.850;cause=16;text="unterminated`, jingle.Reason{Condition: jingle.Success, Text: "unterminated"}},
		{"Q.850;cause=16;text=\"a\\\"b\r\nc\"", jingle.Reason{Condition: jingle.Success, Text: `a"b  c`}},
	}
	for _, c := range cases {
		if got := FromBye(c.header); got != c.want {
			t.Errorf("FromBye(%q) = %+v, want %+v", c.header, got, c.want)
		}
	}
}

func TestFromCancel(t *testing.T) {
	cases := []struct{ header, text string }{
		{"", ""},
		{`SIP;cause=200;text="Call completed elsewhere"`, "answered elsewhere"},
		{`Q.850;cause=16;text="x", SIP;cause=200`, "answered elsewhere"},
		{`SIP;cause=487;text="Request Terminated"`, "Request Terminated"},
		{`Q.850;cause=31`, ""},
	}
	for _, c := range cases {
		if got := FromCancel(c.header); got.Condition != jingle.Cancel || got.Text != c.text {
			t.Errorf("FromCancel(%q) = %+v, want cancel %q", c.header, got, c.text)
		}
	}
}

func TestByeHeader(t *testing.T) {
	cases := []struct {
		r    *jingle.Reason
		want string
	}{
		{nil, `Q.850;cause=16;text="Normal call clearing"`},
		{jingle.NewReason(jingle.Success, "bye"), `Q.850;cause=16;text="Normal call clearing"`},
		{jingle.NewReason(jingle.Busy, ""), `SIP;cause=486;text="busy"`},
		{jingle.NewReason(jingle.Decline, "not now"), `SIP;cause=603;text="decline: not now"`},
		{jingle.NewReason(jingle.Cancel, ""), `SIP;cause=487;text="cancel"`},
		{jingle.NewReason(jingle.ConnectivityError, "ICE failed"), `SIP;cause=480;text="connectivity-error: ICE failed"`},
		{jingle.NewReason(jingle.SecurityError, `say "hi" \o/`), `SIP;cause=488;text="security-error: say \"hi\" \\o/"`},
		{jingle.NewReason(jingle.GeneralError, "a\r\nVia: evil"), `SIP;cause=500;text="general-error: a  Via: evil"`},
		{&jingle.Reason{Text: "no condition"}, `Q.850;cause=16;text="Normal call clearing"`},
		{jingle.NewReason("made-up", ""), `SIP;cause=500;text="made-up"`},
	}
	for _, c := range cases {
		if got := ByeHeader(c.r); got != c.want {
			t.Errorf("ByeHeader(%+v) = %s, want %s", c.r, got, c.want)
		}
	}
	long := ByeHeader(jingle.NewReason(jingle.MediaError, strings.Repeat(`"`, 500)))
	if len(long) > 250 || !wellQuoted(long) {
		t.Errorf("long text not bounded or broken: %d bytes %s", len(long), long)
	}
	// What ByeHeader writes, FromBye reads back.
	r := jingle.NewReason(jingle.Busy, `on the "other" line`)
	if got := FromBye(ByeHeader(r)); got.Condition != jingle.Busy || got.Text != `busy: on the "other" line` {
		t.Errorf("round trip %+v", got)
	}
}

// wellQuoted checks that h is "prefix;text=\"…\"" with every quote inside
// escaped and nothing after the closing quote, and no CR or LF.
func wellQuoted(h string) bool {
	if strings.ContainsAny(h, "\r\n") {
		return false
	}
	_, q, ok := strings.Cut(h, `;text="`)
	if !ok {
		return false
	}
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case '\\':
			i++
		case '"':
			return i == len(q)-1
		}
	}
	return false
}
