package reason

import (
	"testing"

	"fargo.dev/fargo/internal/jingle"
)

// FuzzByeHeader: whatever condition and text a Jingle peer sends, the
// Reason header has no CR or LF and a balanced quoted text.
func FuzzByeHeader(f *testing.F) {
	f.Add("busy", "")
	f.Add("general-error", "a\r\nVia: x")
	f.Add("decline", `"\`)
	f.Add("", "\xff\x00\u2028")
	f.Fuzz(func(t *testing.T, cond, text string) {
		h := ByeHeader(&jingle.Reason{Condition: jingle.Condition(cond), Text: text})
		if c := jingle.Condition(cond); c == jingle.Success || c == "" {
			if h != normalClearing {
				t.Fatalf("success wrote %q", h)
			}
			return
		}
		if !wellQuoted(h) {
			t.Fatalf("ByeHeader(%q, %q) = %q", cond, text, h)
		}
		if got := FromBye(h); got.Condition == "" {
			t.Fatalf("FromBye of our own header %q has no condition", h)
		}
	})
}

// FuzzFromBye: any header value maps to a known condition without
// panicking, and so does a CANCEL's.
func FuzzFromBye(f *testing.F) {
	for _, s := range []string{"", `Q.850;cause=16;text="Normal call clearing"`, `SIP;cause=200;text="x"`,
		`SIP;cause=486, Q.850;cause=17`, `Reason: Q.850;cause=21;text="\"`, `;;,,"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if r := FromBye(h); !r.Condition.Known() {
			t.Fatalf("FromBye(%q) = %+v", h, r)
		}
		if r := FromCancel(h); r.Condition != jingle.Cancel {
			t.Fatalf("FromCancel(%q) = %+v", h, r)
		}
	})
}
