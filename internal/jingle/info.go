package jingle

import (
	"encoding/xml"
	"fmt"
	"strconv"
)

// Session-info payloads of XEP-0167 §7 (namespace NSRTPInfo).
const (
	InfoRinging = "ringing"
	InfoHold    = "hold"
	InfoUnhold  = "unhold"
	InfoActive  = "active"
	InfoMute    = "mute"
	InfoUnmute  = "unmute"
)

// SessionInfo is the first payload of a session-info, or ok=false for an
// empty one (a ping, XEP-0166 §6.8).
func (j *Jingle) SessionInfo() (Element, bool) {
	for _, e := range j.Info {
		if e.XMLName.Space != NS {
			return e, true
		}
	}
	return Element{}, false
}

// RTPInfo builds a session-info payload such as <ringing/>.
func RTPInfo(name string) Element {
	return Element{XMLName: xml.Name{Space: NSRTPInfo, Local: name}}
}

// DTMF is an XEP-0181 tone.
type DTMF struct {
	Code     byte // one of 0-9 * # A-D
	Duration int  // milliseconds; 0 when absent
}

// ValidDTMF reports whether c is a DTMF key.
func ValidDTMF(c byte) bool {
	switch {
	case c >= '0' && c <= '9', c == '*', c == '#', c >= 'A' && c <= 'D':
		return true
	}
	return false
}

// ParseDTMF reads an XEP-0181 <dtmf/> payload.
func ParseDTMF(e Element) (DTMF, error) {
	if e.XMLName.Space != NSDTMF || e.XMLName.Local != "dtmf" {
		return DTMF{}, fmt.Errorf("jingle: %s is not a dtmf element", e.XMLName.Local)
	}
	code := e.Attr("code")
	if len(code) != 1 || !ValidDTMF(code[0]) {
		return DTMF{}, fmt.Errorf("jingle: dtmf code %q is not a single key 0-9*#A-D", code)
	}
	t := DTMF{Code: code[0]}
	if d := e.Attr("duration"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 || n > 60000 {
			return DTMF{}, fmt.Errorf("jingle: dtmf duration %q is not a number of milliseconds", d)
		}
		t.Duration = n
	}
	return t, nil
}

// Element returns t as an XEP-0181 payload.
func (t DTMF) Element() Element {
	e := Element{XMLName: xml.Name{Space: NSDTMF, Local: "dtmf"}}
	e.Attrs = []xml.Attr{{Name: xml.Name{Local: "code"}, Value: string(t.Code)}}
	if t.Duration > 0 {
		e.Attrs = append(e.Attrs, xml.Attr{Name: xml.Name{Local: "duration"}, Value: strconv.Itoa(t.Duration)})
	}
	return e
}
