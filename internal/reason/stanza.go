package reason

import (
	"fmt"

	"fargo.dev/fargo/internal/stanza"
)

// StanzaToStatus maps an XMPP error to the gateway's session-initiate or
// JMI propose into the SIP final response for the caller (protocol-map
// §4.2, RFC 7247 Table 2 with the policy overrides).
func StanzaToStatus(c stanza.Condition, fullJID bool) (int, string) {
	code := 500
	switch c {
	case stanza.ServiceUnavailable, stanza.RecipientUnavailable:
		code = 480
	case stanza.ItemNotFound:
		code = 404
	case stanza.FeatureNotImplemented:
		code = 501
		if fullJID {
			code = 405
		}
	case stanza.RemoteServerTimeout:
		code = 408
	case stanza.Forbidden, stanza.NotAuthorized:
		code = 403
	case stanza.NotAcceptable:
		code = 488
	case stanza.BadRequest, stanza.JIDMalformed:
		code = 400
	case stanza.Gone:
		code = 410
	case stanza.ResourceConstraint:
		code = 486
	case stanza.RemoteServerNotFound:
		code = 404
	}
	return code, Phrase(code)
}

// StatusToStanza maps a SIP failure to a stanza error (RFC 7247 §7.2
// Table 3), with the status line as text.
func StatusToStanza(status int, phrase string) *stanza.Error {
	if phrase == "" {
		phrase = Phrase(status)
	}
	t, c := stanza.TypeCancel, stanza.UndefinedCondition
	switch {
	case status == 400 || status == 493 || status == 402:
		t, c = stanza.TypeModify, stanza.BadRequest
	case status == 401:
		t, c = stanza.TypeAuth, stanza.NotAuthorized
	case status == 403:
		t, c = stanza.TypeAuth, stanza.Forbidden
	case status == 404 || status == 484 || status == 485 || status == 604 || status == 481:
		c = stanza.ItemNotFound
	case status == 405 || status == 501 || status == 420:
		c = stanza.FeatureNotImplemented
	case status == 406 || status == 415 || status == 488 || status == 606 || status == 416 || status == 421 || status == 505 || status == 482 || status == 483:
		t, c = stanza.TypeModify, stanza.NotAcceptable
	case status == 407:
		t, c = stanza.TypeAuth, stanza.RegistrationRequired
	case status == 408 || status == 504:
		t, c = stanza.TypeWait, stanza.RemoteServerTimeout
	case status == 410:
		c = stanza.Gone
	case status == 413 || status == 414 || status == 513:
		t, c = stanza.TypeModify, stanza.PolicyViolation
	case status == 480 || status == 486 || status == 487 || status == 600 || status == 603 || status == 607:
		t, c = stanza.TypeWait, stanza.RecipientUnavailable
	case status == 491:
		t, c = stanza.TypeWait, stanza.UnexpectedRequest
	case status == 502:
		c = stanza.RemoteServerNotFound
	case status >= 300 && status < 400:
		t, c = stanza.TypeModify, stanza.Redirect
	case status >= 400 && status < 500:
		t, c = stanza.TypeModify, stanza.BadRequest
	case status >= 500 && status < 600:
		t, c = stanza.TypeWait, stanza.InternalServerError
	case status >= 600:
		t, c = stanza.TypeWait, stanza.RecipientUnavailable
	}
	return stanza.NewError(t, c, fmt.Sprintf("SIP %d %s", status, phrase))
}
