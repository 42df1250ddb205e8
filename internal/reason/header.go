package reason

import (
	"strconv"
	"strings"

	"fargo.dev/fargo/internal/jingle"
)

// parsedReason is one RFC 3326 Reason header value.
type parsedReason struct {
	protocol string // "Q.850", "SIP"
	cause    int
	text     string
}

func parseHeader(h string) (parsedReason, bool) {
	var p parsedReason
	parts := strings.Split(h, ";")
	p.protocol = strings.ToUpper(strings.TrimSpace(parts[0]))
	if p.protocol == "" {
		return p, false
	}
	for _, kv := range parts[1:] {
		k, v, _ := strings.Cut(kv, "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "cause":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return p, false
			}
			p.cause = n
		case "text":
			p.text = clean(strings.Trim(strings.TrimSpace(v), `"`))
		}
	}
	return p, p.cause != 0
}

// FromBye maps the Reason header of a BYE the SIP side sent.
func FromBye(header string) jingle.Reason {
	r := jingle.Reason{Condition: jingle.Success}
	p, ok := parseHeader(header)
	if !ok {
		return r
	}
	r.Text = p.text
	switch p.protocol {
	case "Q.850":
		r.Condition = q850Condition(p.cause)
	case "SIP":
		if p.cause >= 300 {
			r.Condition = statusCondition(p.cause, "")
			r.SIPStatus = p.cause
		}
	}
	return r
}

func q850Condition(cause int) jingle.Condition {
	switch cause {
	case 17:
		return jingle.Busy
	case 18, 19:
		return jingle.Timeout
	case 21:
		return jingle.Decline
	case 38, 41, 42:
		return jingle.ConnectivityError
	}
	return jingle.Success
}

// FromCancel maps the Reason header of the caller's CANCEL: the call was
// cancelled; "SIP;cause=200" says it was answered elsewhere (RFC 3326 §2).
func FromCancel(header string) jingle.Reason {
	r := jingle.Reason{Condition: jingle.Cancel}
	if p, ok := parseHeader(header); ok {
		r.Text = p.text
		if p.protocol == "SIP" && p.cause == 200 {
			r.Text = "answered elsewhere"
		}
	}
	return r
}
