package reason

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"fargo.dev/fargo/internal/jingle"
)

// q850 maps the ITU-T Q.850 causes protocol-map §4.1 lists; any other
// cause in a BYE is a normal end.
var q850 = map[int]jingle.Condition{
	16: jingle.Success,           // normal call clearing
	31: jingle.Success,           // normal, unspecified
	17: jingle.Busy,              // user busy
	18: jingle.Timeout,           // no user responding
	19: jingle.Timeout,           // no answer from user (user alerted)
	21: jingle.Decline,           // call rejected
	38: jingle.ConnectivityError, // network out of order
	41: jingle.ConnectivityError, // temporary failure
	42: jingle.ConnectivityError, // switching equipment congestion
}

// FromBye maps the RFC 3326 Reason header of a received BYE (empty or
// malformed ones included) to the reason of the session-terminate: success
// unless a Q.850 cause or a SIP cause says otherwise. The text is the
// header's text parameter, if any. The first protocol value that parses
// decides.
func FromBye(reasonHeader string) jingle.Reason {
	for _, v := range parseReasons(reasonHeader) {
		switch v.protocol {
		case "Q.850":
			c, ok := q850[v.cause]
			if !ok {
				c = jingle.Success
			}
			return jingle.Reason{Condition: c, Text: v.text}
		case "SIP":
			if v.cause >= 200 && v.cause <= 699 {
				return jingle.Reason{Condition: statusCondition(v.cause, 0, ""), Text: v.text, SIPStatus: v.cause}
			}
		}
	}
	return jingle.Reason{Condition: jingle.Success}
}

// FromCancel maps the Reason header of a CANCEL from the SIP caller: the
// call is always cancelled; "SIP;cause=200" means it was answered on
// another device (RFC 3326 §2), said as "answered elsewhere".
func FromCancel(reasonHeader string) jingle.Reason {
	r := jingle.Reason{Condition: jingle.Cancel}
	for _, v := range parseReasons(reasonHeader) {
		if v.protocol == "SIP" && v.cause == 200 {
			r.Text = "answered elsewhere"
			return r
		}
		if r.Text == "" {
			r.Text = v.text
		}
	}
	return r
}

// normalClearing is the Reason of a BYE for a call that simply ended.
const normalClearing = `Q.850;cause=16;text="Normal call clearing"`

// maxText bounds the text parameter the gateway writes: a header is no
// place for a client's essay.
const maxText = 200

// ByeHeader renders the Reason header (RFC 3326) of a BYE or CANCEL the
// gateway sends because of r: Q.850 cause 16 for success or no reason
// (nil, or no condition), otherwise the SIP code CalleeStatus gives and the
// condition and text.
// Quotes and backslashes in the text are escaped and control characters
// (CR and LF included) replaced, so the header cannot be broken.
func ByeHeader(r *jingle.Reason) string {
	if r == nil || r.Condition == jingle.Success || r.Condition == "" {
		return normalClearing
	}
	code, _ := CalleeStatus(r.Condition)
	text := string(r.Condition)
	if r.Text != "" {
		text += ": " + r.Text
	}
	return "SIP;cause=" + strconv.Itoa(code) + `;text="` + quote(text) + `"`
}

// quote writes s as the inside of a quoted-string (RFC 3261 §25.1):
// '"' and '\' escaped, control characters and invalid UTF-8 turned into
// spaces, at most maxText bytes.
func quote(s string) string {
	var b strings.Builder
	for _, r := range s {
		var add string
		switch {
		case r == utf8.RuneError || unicode.IsControl(r):
			add = " "
		case r == '"' || r == '\\':
			add = `\` + string(r)
		default:
			add = string(r)
		}
		if b.Len()+len(add) > maxText {
			break
		}
		b.WriteString(add)
	}
	return b.String()
}

// reasonValue is one protocol value of a Reason header.
type reasonValue struct {
	protocol string // upper case: "SIP", "Q.850"
	cause    int    // -1 when absent or not a number
	text     string
}

// parseReasons reads "proto;cause=N;text=\"…\", proto2;…" leniently: what
// does not parse is skipped, never an error.
func parseReasons(h string) []reasonValue {
	h = strings.TrimSpace(h)
	if len(h) > 7 && strings.EqualFold(h[:7], "reason:") {
		h = h[7:]
	}
	var out []reasonValue
	for _, v := range splitUnquoted(h, ',') {
		parts := splitUnquoted(v, ';')
		rv := reasonValue{protocol: strings.ToUpper(strings.TrimSpace(parts[0])), cause: -1}
		if rv.protocol == "" {
			continue
		}
		for _, p := range parts[1:] {
			k, val, _ := strings.Cut(p, "=")
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "cause":
				if n, err := strconv.Atoi(strings.TrimSpace(val)); err == nil {
					rv.cause = n
				}
			case "text":
				t, _ := unquote(strings.TrimSpace(val))
				rv.text = clean(t)
			}
		}
		out = append(out, rv)
	}
	return out
}

// splitUnquoted splits s at sep outside quoted strings.
func splitUnquoted(s string, sep byte) []string {
	var out []string
	start, inQuote := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unquote returns the content of a quoted-string with its escapes undone,
// or s itself when it is a bare token; ok is false for a quote that does
// not close, whose content is still returned.
func unquote(s string) (string, bool) {
	if !strings.HasPrefix(s, `"`) {
		return s, true
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), true
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), false
}

// clean makes header text safe to show: valid UTF-8, no control
// characters, trimmed.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
