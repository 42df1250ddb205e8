package reason

import (
	"fargo.dev/fargo/internal/stanza"
)

// StanzaToStatus maps the XMPP error returned to the gateway's
// session-initiate or JMI propose to the SIP final response for the
// pending INVITE: RFC 7247 §7.1 Table 2 with protocol-map §4.2's
// overrides. fullJID says whether the error came from a full JID (405)
// or a bare one (501) for feature-not-implemented (Table 2 note 1).
//
// Overrides, all because the Table 2 code means something else in an
// INVITE response: service-unavailable and recipient-unavailable are 480
// (never 503, note 5), item-not-found 404, not-acceptable 488 (406 is
// about Accept headers), not-authorized and registration-required 403 (a
// 401 or 407 without a challenge is a protocol error), unexpected-request
// 400 (491 would make the caller retry an initial INVITE).
func StanzaToStatus(c stanza.Condition, fullJID bool) (int, string) {
	status := 400
	switch c {
	case stanza.FeatureNotImplemented:
		status = 501
		if fullJID {
			status = 405
		}
	case stanza.Forbidden, stanza.NotAllowed, stanza.NotAuthorized, stanza.PolicyViolation, stanza.RegistrationRequired:
		status = 403
	case stanza.Gone:
		status = 410
	case stanza.InternalServerError, stanza.ResourceConstraint:
		status = 500
	case stanza.ItemNotFound, stanza.RemoteServerNotFound:
		status = 404
	case stanza.NotAcceptable:
		status = 488
	case stanza.RecipientUnavailable, stanza.ServiceUnavailable:
		status = 480
	case stanza.Redirect:
		status = 302
	case stanza.RemoteServerTimeout:
		status = 408
	}
	// bad-request, conflict, jid-malformed, subscription-required,
	// undefined-condition, unexpected-request and unknown conditions: 400.
	return status, Phrase(status)
}

// StatusToStanza maps a SIP failure to the stanza error the gateway
// returns (RFC 7247 §7.2 Table 3, protocol-map §4.1 third column), with
// the text "SIP <code> <phrase>". Codes the table does not list map by
// class: 3xx redirect, 4xx bad-request, 5xx internal-server-error, 6xx
// recipient-unavailable. A status below 300 is no failure: nil.
func StatusToStanza(status int, phrase string) *stanza.Error {
	if status < 300 {
		return nil
	}
	c := statusStanza(status)
	return &stanza.Error{Type: errorType(c), Condition: c, Text: "SIP " + statusLine(status, phrase)}
}

// statusStanza is Table 3.
func statusStanza(status int) stanza.Condition {
	switch status {
	case 301, 410:
		return stanza.Gone
	case 380, 406, 415, 416, 421, 482, 483, 488, 505, 606:
		return stanza.NotAcceptable
	case 400, 402, 493:
		return stanza.BadRequest
	case 401:
		return stanza.NotAuthorized
	case 403:
		return stanza.Forbidden
	case 404, 481, 484, 485, 604:
		return stanza.ItemNotFound
	case 405, 420, 439, 501:
		return stanza.FeatureNotImplemented
	case 407:
		return stanza.RegistrationRequired
	case 408, 504:
		return stanza.RemoteServerTimeout
	case 413, 414, 440, 489, 513:
		return stanza.PolicyViolation
	case 423:
		return stanza.ResourceConstraint
	case 430, 480, 486, 487, 600, 603:
		return stanza.RecipientUnavailable
	case 491:
		return stanza.UnexpectedRequest
	case 502:
		return stanza.RemoteServerNotFound
	}
	switch {
	case status < 400:
		return stanza.Redirect
	case status < 500:
		return stanza.BadRequest
	case status < 600:
		return stanza.InternalServerError
	}
	return stanza.RecipientUnavailable
}

// errorType is the error type RFC 6120 §8.3.3 gives each condition.
func errorType(c stanza.Condition) stanza.ErrorType {
	switch c {
	case stanza.BadRequest, stanza.JIDMalformed, stanza.NotAcceptable, stanza.PolicyViolation, stanza.Redirect:
		return stanza.TypeModify
	case stanza.Forbidden, stanza.NotAuthorized, stanza.RegistrationRequired, stanza.SubscriptionRequired:
		return stanza.TypeAuth
	case stanza.RecipientUnavailable, stanza.RemoteServerTimeout, stanza.ResourceConstraint, stanza.UnexpectedRequest:
		return stanza.TypeWait
	}
	return stanza.TypeCancel
}
