package reason

import (
	"testing"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

// TestSIPFailureToXMPP is protocol-map §4.1: every row, the Jingle reason
// and the stanza error a SIP final response becomes.
func TestSIPFailureToXMPP(t *testing.T) {
	rows := []struct {
		status  int
		warning string
		cond    jingle.Condition
		err     stanza.Condition
	}{
		{300, "", jingle.GeneralError, stanza.Redirect},
		{301, "", jingle.GeneralError, stanza.Gone},
		{302, "", jingle.GeneralError, stanza.Redirect},
		{380, "", jingle.GeneralError, stanza.NotAcceptable},
		{400, "", jingle.GeneralError, stanza.BadRequest},
		{413, "", jingle.GeneralError, stanza.PolicyViolation},
		{414, "", jingle.GeneralError, stanza.PolicyViolation},
		{416, "", jingle.GeneralError, stanza.NotAcceptable},
		{493, "", jingle.GeneralError, stanza.BadRequest},
		{513, "", jingle.GeneralError, stanza.PolicyViolation},
		{401, "", jingle.SecurityError, stanza.NotAuthorized},
		{407, "", jingle.SecurityError, stanza.RegistrationRequired},
		{402, "", jingle.GeneralError, stanza.BadRequest},
		{403, "", jingle.GeneralError, stanza.Forbidden},
		{404, "", jingle.GeneralError, stanza.ItemNotFound},
		{484, "", jingle.GeneralError, stanza.ItemNotFound},
		{485, "", jingle.GeneralError, stanza.ItemNotFound},
		{604, "", jingle.GeneralError, stanza.ItemNotFound},
		{405, "", jingle.UnsupportedApplications, stanza.FeatureNotImplemented},
		{501, "", jingle.UnsupportedApplications, stanza.FeatureNotImplemented},
		{406, "", jingle.IncompatibleParameters, stanza.NotAcceptable},
		{408, "", jingle.Timeout, stanza.RemoteServerTimeout},
		{480, "", jingle.Timeout, stanza.RecipientUnavailable},
		{504, "", jingle.Timeout, stanza.RemoteServerTimeout},
		{410, "", jingle.Gone, stanza.Gone},
		{415, "", jingle.UnsupportedApplications, stanza.NotAcceptable},
		{420, "", jingle.GeneralError, stanza.FeatureNotImplemented},
		{421, "", jingle.GeneralError, stanza.NotAcceptable},
		{422, "", jingle.GeneralError, stanza.BadRequest},
		{481, "", jingle.GeneralError, stanza.ItemNotFound},
		{482, "", jingle.GeneralError, stanza.NotAcceptable},
		{483, "", jingle.GeneralError, stanza.NotAcceptable},
		{486, "", jingle.Busy, stanza.RecipientUnavailable},
		{600, "", jingle.Busy, stanza.RecipientUnavailable},
		{487, "", jingle.Cancel, stanza.RecipientUnavailable},
		{488, "", jingle.IncompatibleParameters, stanza.NotAcceptable},
		{606, "", jingle.IncompatibleParameters, stanza.NotAcceptable},
		{488, `300 pbx "Incompatible network protocol"`, jingle.UnsupportedTransports, stanza.NotAcceptable},
		{488, `301 pbx "Incompatible network address formats"`, jingle.UnsupportedTransports, stanza.NotAcceptable},
		{606, `302 pbx "Incompatible transport protocol"`, jingle.UnsupportedTransports, stanza.NotAcceptable},
		{488, `304 pbx "Media type not available"`, jingle.IncompatibleParameters, stanza.NotAcceptable},
		{488, `305 pbx "Incompatible media format"`, jingle.IncompatibleParameters, stanza.NotAcceptable},
		{488, `306 pbx "Attribute not understood"`, jingle.IncompatibleParameters, stanza.NotAcceptable},
		{488, `307 pbx "Session description parameter not understood"`, jingle.IncompatibleParameters, stanza.NotAcceptable},
		{488, `399 pbx "SRTP required"`, jingle.SecurityError, stanza.NotAcceptable},
		{488, `306 pbx "Attribute not understood: a=crypto"`, jingle.SecurityError, stanza.NotAcceptable},
		{491, "", jingle.GeneralError, stanza.UnexpectedRequest},
		{500, "", jingle.GeneralError, stanza.InternalServerError},
		{502, "", jingle.GeneralError, stanza.RemoteServerNotFound},
		{503, "", jingle.GeneralError, stanza.InternalServerError},
		{505, "", jingle.GeneralError, stanza.NotAcceptable},
		{580, "", jingle.FailedTransport, stanza.InternalServerError},
		{603, "", jingle.Decline, stanza.RecipientUnavailable},
		{607, "", jingle.Decline, stanza.RecipientUnavailable},
		// Unknown codes by class (RFC 7247 §7.2 defaults).
		{399, "", jingle.GeneralError, stanza.Redirect},
		{499, "", jingle.GeneralError, stanza.BadRequest},
		{599, "", jingle.GeneralError, stanza.InternalServerError},
		{699, "", jingle.GeneralError, stanza.RecipientUnavailable},
		// RFC 7247 Table 3 rows beyond protocol-map §4.1.
		{423, "", jingle.GeneralError, stanza.ResourceConstraint},
		{430, "", jingle.GeneralError, stanza.RecipientUnavailable},
		{439, "", jingle.GeneralError, stanza.FeatureNotImplemented},
		{440, "", jingle.GeneralError, stanza.PolicyViolation},
		{489, "", jingle.GeneralError, stanza.PolicyViolation},
	}
	for _, r := range rows {
		got := FromStatus(r.status, "", r.warning)
		if got.Condition != r.cond || got.SIPStatus != r.status {
			t.Errorf("FromStatus(%d, %q) = %s/%d, want %s", r.status, r.warning, got.Condition, got.SIPStatus, r.cond)
		}
		e := StatusToStanza(r.status, "")
		if e == nil || e.Condition != r.err {
			t.Errorf("StatusToStanza(%d) = %v, want %s", r.status, e, r.err)
		}
	}
}

func TestFromStatusText(t *testing.T) {
	cases := []struct {
		status          int
		phrase, warning string
		want            string
	}{
		{486, "Busy Here", "", "486 Busy Here"},
		{486, "", "", "486 Busy Here"},
		{486, "Besetzt", "", "486 Besetzt"},
		{499, "", "", "499"},
		{488, "Not Acceptable Here", `305 pbx.example.net "Incompatible media format: G729"`, "488 Not Acceptable Here; Incompatible media format: G729"},
		{488, "", `399 pbx "say \"hi\""`, `488 Not Acceptable Here; say "hi"`},
		{488, "", "free text\r\nX-Evil: 1", "488 Not Acceptable Here; free text  X-Evil: 1"},
	}
	for _, c := range cases {
		if got := FromStatus(c.status, c.phrase, c.warning); got.Text != c.want {
			t.Errorf("FromStatus(%d, %q, %q).Text = %q, want %q", c.status, c.phrase, c.warning, got.Text, c.want)
		}
	}
	if got := FromStatus(200, "OK", ""); got.Condition != jingle.Success {
		t.Errorf("2xx = %s", got.Condition)
	}
}

// TestCalleeStatus is protocol-map §4.2: the callee's termination before
// it accepted, and the JMI reject row.
func TestCalleeStatus(t *testing.T) {
	rows := []struct {
		cond   jingle.Condition
		status int
		phrase string
	}{
		{jingle.Busy, 486, "Busy Here"},
		{jingle.Decline, 603, "Decline"},
		{jingle.Timeout, 480, "Temporarily Unavailable"},
		{jingle.Expired, 480, "Temporarily Unavailable"},
		{jingle.Gone, 480, "Temporarily Unavailable"},
		{jingle.UnsupportedApplications, 488, "Not Acceptable Here"},
		{jingle.IncompatibleParameters, 488, "Not Acceptable Here"},
		{jingle.UnsupportedTransports, 488, "Not Acceptable Here"},
		{jingle.SecurityError, 488, "Not Acceptable Here"},
		{jingle.FailedApplication, 500, "Server Internal Error"},
		{jingle.MediaError, 500, "Server Internal Error"},
		{jingle.GeneralError, 500, "Server Internal Error"},
		{jingle.FailedTransport, 480, "Temporarily Unavailable"},
		{jingle.ConnectivityError, 480, "Temporarily Unavailable"},
		{jingle.AlternativeSession, 486, "Busy Here"},
		{jingle.Cancel, 487, "Request Terminated"},
		{jingle.Success, 480, "Temporarily Unavailable"},
		{"out-of-this-world", 500, "Server Internal Error"},
		{"", 500, "Server Internal Error"},
	}
	for _, r := range rows {
		if s, p := CalleeStatus(r.cond); s != r.status || p != r.phrase {
			t.Errorf("CalleeStatus(%q) = %d %s, want %d %s", r.cond, s, p, r.status, r.phrase)
		}
	}
	for _, c := range []struct {
		r      *jingle.Reason
		status int
	}{
		{nil, 603},
		{&jingle.Reason{}, 603},
		{jingle.NewReason(jingle.Busy, ""), 486},
		{jingle.NewReason(jingle.Decline, "not now"), 603},
		{jingle.NewReason(jingle.SecurityError, ""), 488},
		{jingle.NewReason(jingle.Gone, ""), 480},
	} {
		if s, p := JMIRejectStatus(c.r); s != c.status || p != Phrase(c.status) {
			t.Errorf("JMIRejectStatus(%+v) = %d %s, want %d", c.r, s, p, c.status)
		}
	}
}

// TestStanzaToStatus is the last rows of protocol-map §4.2 and the
// reverse row of §4.3: RFC 7247 Table 2 with the Policy overrides.
func TestStanzaToStatus(t *testing.T) {
	rows := []struct {
		cond       stanza.Condition
		full, bare int
	}{
		{stanza.ServiceUnavailable, 480, 480},
		{stanza.RecipientUnavailable, 480, 480},
		{stanza.ItemNotFound, 404, 404},
		{stanza.FeatureNotImplemented, 405, 501},
		{stanza.RemoteServerTimeout, 408, 408},
		{stanza.Forbidden, 403, 403},
		{stanza.NotAcceptable, 488, 488},
		{stanza.NotAuthorized, 403, 403},
		{stanza.BadRequest, 400, 400},
		{stanza.Conflict, 400, 400},
		{stanza.Gone, 410, 410},
		{stanza.InternalServerError, 500, 500},
		{stanza.JIDMalformed, 400, 400},
		{stanza.NotAllowed, 403, 403},
		{stanza.PolicyViolation, 403, 403},
		{stanza.Redirect, 302, 302},
		{stanza.RegistrationRequired, 403, 403},
		{stanza.RemoteServerNotFound, 404, 404},
		{stanza.ResourceConstraint, 500, 500},
		{stanza.SubscriptionRequired, 400, 400},
		{stanza.UndefinedCondition, 400, 400},
		{stanza.UnexpectedRequest, 400, 400},
		{"made-up", 400, 400},
	}
	for _, r := range rows {
		for _, c := range []struct {
			full bool
			want int
		}{{true, r.full}, {false, r.bare}} {
			if s, p := StanzaToStatus(r.cond, c.full); s != c.want || p != Phrase(c.want) || p == "" {
				t.Errorf("StanzaToStatus(%s, full=%v) = %d %q, want %d", r.cond, c.full, s, p, c.want)
			}
		}
	}
}

// TestStatusToStanza checks types and texts, and §4.3's SIP MESSAGE row.
func TestStatusToStanza(t *testing.T) {
	cases := []struct {
		status int
		phrase string
		want   stanza.Error
	}{
		{404, "", stanza.Error{Type: stanza.TypeCancel, Condition: stanza.ItemNotFound, Text: "SIP 404 Not Found"}},
		{480, "", stanza.Error{Type: stanza.TypeWait, Condition: stanza.RecipientUnavailable, Text: "SIP 480 Temporarily Unavailable"}},
		{486, "Occupé", stanza.Error{Type: stanza.TypeWait, Condition: stanza.RecipientUnavailable, Text: "SIP 486 Occupé"}},
		{603, "", stanza.Error{Type: stanza.TypeWait, Condition: stanza.RecipientUnavailable, Text: "SIP 603 Decline"}},
		{408, "", stanza.Error{Type: stanza.TypeWait, Condition: stanza.RemoteServerTimeout, Text: "SIP 408 Request Timeout"}},
		{413, "", stanza.Error{Type: stanza.TypeModify, Condition: stanza.PolicyViolation, Text: "SIP 413 Request Entity Too Large"}},
		{415, "", stanza.Error{Type: stanza.TypeModify, Condition: stanza.NotAcceptable, Text: "SIP 415 Unsupported Media Type"}},
		{401, "", stanza.Error{Type: stanza.TypeAuth, Condition: stanza.NotAuthorized, Text: "SIP 401 Unauthorized"}},
		{302, "", stanza.Error{Type: stanza.TypeModify, Condition: stanza.Redirect, Text: "SIP 302 Moved Temporarily"}},
		{500, "", stanza.Error{Type: stanza.TypeCancel, Condition: stanza.InternalServerError, Text: "SIP 500 Server Internal Error"}},
		{599, "", stanza.Error{Type: stanza.TypeCancel, Condition: stanza.InternalServerError, Text: "SIP 599"}},
	}
	for _, c := range cases {
		if got := StatusToStanza(c.status, c.phrase); got == nil || got.Type != c.want.Type || got.Condition != c.want.Condition || got.Text != c.want.Text {
			t.Errorf("StatusToStanza(%d, %q) = %+v, want %+v", c.status, c.phrase, got, c.want)
		}
	}
	if got := StatusToStanza(200, "OK"); got != nil {
		t.Errorf("200 is no failure: %v", got)
	}
}

func TestPhrase(t *testing.T) {
	for code, want := range map[int]string{180: "Ringing", 200: "OK", 404: "Not Found", 488: "Not Acceptable Here",
		503: "Service Unavailable", 603: "Decline", 299: ""} {
		if got := Phrase(code); got != want {
			t.Errorf("Phrase(%d) = %q, want %q", code, got, want)
		}
	}
}
