package reason

import (
	"fmt"
	"strconv"
	"strings"

	"fargo.dev/fargo/internal/jingle"
)

// FromStatus maps a final response to the gateway's INVITE to the reason
// the calling XMPP user receives (protocol-map §4.1). The text carries the
// status line (and the Warning text) so the user sees what the far end said.
func FromStatus(status int, phrase, warning string) jingle.Reason {
	if phrase == "" {
		phrase = Phrase(status)
	}
	text := strings.TrimSpace(fmt.Sprintf("%d %s", status, phrase))
	if w := warningText(warning); w != "" {
		text += "; " + w
	}
	return jingle.Reason{Condition: statusCondition(status, warning), Text: text, SIPStatus: status}
}

func statusCondition(status int, warning string) jingle.Condition {
	switch status {
	case 405, 501, 415:
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
		return warningCondition(warning)
	case 401, 407:
		return jingle.SecurityError
	case 580:
		return jingle.FailedTransport
	case 603, 607:
		return jingle.Decline
	}
	return jingle.GeneralError
}

// warningCondition refines 488/606 by the RFC 3261 §20.43 warning code:
// 300–302 transport, 303–307 media/attribute mismatch.
func warningCondition(warning string) jingle.Condition {
	code, _, _ := strings.Cut(strings.TrimSpace(warning), " ")
	switch code {
	case "300", "301", "302":
		return jingle.UnsupportedTransports
	}
	return jingle.IncompatibleParameters
}

// warningText is the quoted text of a Warning header value
// (`399 host "text"`), or the value itself.
func warningText(w string) string {
	w = strings.TrimSpace(w)
	if i := strings.IndexByte(w, '"'); i >= 0 {
		if j := strings.LastIndexByte(w, '"'); j > i {
			return clean(w[i+1 : j])
		}
	}
	return clean(w)
}

// clean keeps a header-borne text printable and short.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.TrimSpace(s)
}

// CalleeStatus maps the callee's Jingle termination before answering to
// the SIP final response (protocol-map §4.2).
func CalleeStatus(c jingle.Condition) (int, string) {
	switch c {
	case jingle.Busy, jingle.AlternativeSession:
		return 486, Phrase(486)
	case jingle.Decline:
		return 603, Phrase(603)
	case jingle.Timeout, jingle.Expired, jingle.Gone, jingle.FailedTransport, jingle.ConnectivityError, jingle.Success:
		return 480, Phrase(480)
	case jingle.UnsupportedApplications, jingle.UnsupportedTransports, jingle.IncompatibleParameters, jingle.SecurityError:
		return 488, Phrase(488)
	case jingle.Cancel:
		return 487, Phrase(487)
	}
	return 500, Phrase(500)
}

// JMIRejectStatus maps a JMI <reject/>: busy → 486; decline or no reason
// → 603 (protocol-map §2.3 row 9).
func JMIRejectStatus(r *jingle.Reason) (int, string) {
	if r == nil || r.Condition == "" || r.Condition == jingle.Decline {
		return 603, Phrase(603)
	}
	return CalleeStatus(r.Condition)
}

// ByeHeader renders the RFC 3326 Reason header for the BYE or CANCEL the
// gateway sends because of a Jingle reason.
func ByeHeader(r *jingle.Reason) string {
	if r == nil || r.Condition == jingle.Success || r.Condition == "" {
		return `Q.850;cause=16;text="Normal call clearing"`
	}
	code, _ := CalleeStatus(r.Condition)
	text := string(r.Condition)
	if t := clean(r.Text); t != "" {
		text += ": " + t
	}
	text = strings.NewReplacer(`"`, "'", `\`, "/").Replace(text)
	return "SIP;cause=" + strconv.Itoa(code) + `;text="` + text + `"`
}
