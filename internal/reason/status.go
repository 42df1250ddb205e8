package reason

import (
	"strconv"
	"strings"

	"fargo.dev/fargo/internal/jingle"
)

// FromStatus maps the SIP final response to the gateway's INVITE (the XMPP
// user is the caller) to the reason of the session-terminate it causes
// (protocol-map §4.1). The text is the status line, "486 Busy Here", with
// "; <warning text>" appended when the response had a Warning header
// (RFC 3261 §20.43, warning is the header value). SIPStatus is status.
//
// 488 and 606 become incompatible-parameters, refined by the Warning:
// security-error when its text is about encryption, unsupported-transports
// for codes 300–302 (network, address or transport protocol). A 2xx is not
// a failure and maps to success; 487 confirms the gateway's own CANCEL.
func FromStatus(status int, phrase, warning string) jingle.Reason {
	code, wtext := parseWarning(warning)
	r := jingle.Reason{Condition: statusCondition(status, code, wtext), Text: statusLine(status, phrase), SIPStatus: status}
	if wtext != "" {
		r.Text += "; " + wtext
	}
	return r
}

// statusCondition is the §4.1 table.
func statusCondition(status, warnCode int, warnText string) jingle.Condition {
	switch status {
	case 401, 407:
		return jingle.SecurityError // after the digest retry failed
	case 405, 415, 501:
		return jingle.UnsupportedApplications
	case 406:
		return jingle.IncompatibleParameters
	case 408, 480, 504:
		return jingle.Timeout
	case 410:
		return jingle.Gone
	case 486, 600:
		return jingle.Busy
	case 487:
		return jingle.Cancel
	case 488, 606:
		switch {
		case aboutCrypto(warnText):
			return jingle.SecurityError
		case warnCode >= 300 && warnCode <= 302:
			return jingle.UnsupportedTransports
		}
		return jingle.IncompatibleParameters
	case 580:
		return jingle.FailedTransport
	case 603, 607:
		return jingle.Decline
	}
	if status >= 200 && status < 300 {
		return jingle.Success
	}
	return jingle.GeneralError
}

// aboutCrypto spots a Warning that blames encryption: no warn-code says
// "crypto", so stacks use 399 or 306/307 with a text.
func aboutCrypto(text string) bool {
	t := strings.ToLower(text)
	for _, w := range []string{"srtp", "crypto", "dtls", "fingerprint", "encrypt", "savp", "sdes", "zrtp"} {
		if strings.Contains(t, w) {
			return true
		}
	}
	return false
}

// parseWarning reads the first warning-value "<code> <agent> "<text>""
// (RFC 3261 §20.43). Something else is kept whole as text, code 0.
func parseWarning(h string) (int, string) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, ""
	}
	codeStr, rest, ok := strings.Cut(h, " ")
	code, err := strconv.Atoi(codeStr)
	if !ok || err != nil || code < 300 || code > 399 {
		return 0, clean(h)
	}
	_, quoted, ok := strings.Cut(strings.TrimSpace(rest), " ")
	if !ok {
		return code, ""
	}
	text, _ := unquote(strings.TrimSpace(quoted))
	return code, clean(text)
}

// CalleeStatus maps the XMPP callee's Jingle termination (before it
// accepted) to the SIP final response for the pending INVITE
// (protocol-map §4.2). Unknown conditions are 500.
func CalleeStatus(c jingle.Condition) (status int, phrase string) {
	switch c {
	case jingle.Busy, jingle.AlternativeSession:
		status = 486
	case jingle.Decline:
		status = 603
	case jingle.Timeout, jingle.Expired, jingle.Gone, jingle.FailedTransport, jingle.ConnectivityError, jingle.Success:
		status = 480
	case jingle.UnsupportedApplications, jingle.UnsupportedTransports, jingle.IncompatibleParameters, jingle.SecurityError:
		status = 488
	case jingle.Cancel:
		status = 487
	default: // failed-application, media-error, general-error, unknown
		status = 500
	}
	return status, Phrase(status)
}

// JMIRejectStatus maps a JMI <reject/> (XEP-0353 §3.5) to the final
// response for the pending INVITE: busy is 486; decline, or no reason at
// all, is 603 (protocol-map §2.3 row 9); any other condition as
// CalleeStatus.
func JMIRejectStatus(r *jingle.Reason) (int, string) {
	if r == nil || r.Condition == "" || r.Condition == jingle.Decline {
		return 603, Phrase(603)
	}
	return CalleeStatus(r.Condition)
}
