package jingle

import (
	"encoding/xml"
	"errors"
	"strconv"
)

// Condition is a Jingle reason condition (XEP-0166 §7.4).
type Condition string

// Reason conditions.
const (
	AlternativeSession      Condition = "alternative-session"
	Busy                    Condition = "busy"
	Cancel                  Condition = "cancel"
	ConnectivityError       Condition = "connectivity-error"
	Decline                 Condition = "decline"
	Expired                 Condition = "expired"
	FailedApplication       Condition = "failed-application"
	FailedTransport         Condition = "failed-transport"
	GeneralError            Condition = "general-error"
	Gone                    Condition = "gone"
	IncompatibleParameters  Condition = "incompatible-parameters"
	MediaError              Condition = "media-error"
	SecurityError           Condition = "security-error"
	Success                 Condition = "success"
	Timeout                 Condition = "timeout"
	UnsupportedApplications Condition = "unsupported-applications"
	UnsupportedTransports   Condition = "unsupported-transports"
)

var knownConditions = map[Condition]bool{
	AlternativeSession: true, Busy: true, Cancel: true, ConnectivityError: true,
	Decline: true, Expired: true, FailedApplication: true, FailedTransport: true,
	GeneralError: true, Gone: true, IncompatibleParameters: true, MediaError: true,
	SecurityError: true, Success: true, Timeout: true,
	UnsupportedApplications: true, UnsupportedTransports: true,
}

// Known reports whether c is a condition XEP-0166 defines.
func (c Condition) Known() bool { return knownConditions[c] }

// Reason is a <reason/>: one condition, an optional text and, when the
// cause was a SIP response, its status code.
type Reason struct {
	Condition Condition
	Text      string
	SIPStatus int
}

// NewReason builds a reason.
func NewReason(c Condition, text string) *Reason { return &Reason{Condition: c, Text: text} }

type wireSIPStatus struct {
	XMLName xml.Name `xml:"urn:xmpp:fargo:sip:0 sip-status"`
	Code    int      `xml:"code,attr"`
}

// MarshalXML writes <reason><cond/><text>…</text><sip-status/></reason>.
func (r Reason) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	// Qualified, so a reason inside a JMI element stays in the Jingle
	// namespace (XEP-0353 reuses XEP-0166's <reason/>).
	start = xml.StartElement{Name: xml.Name{Space: NS, Local: "reason"}}
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	cond := r.Condition
	if cond == "" {
		cond = GeneralError
	}
	if err := e.EncodeElement(Empty{}, xml.StartElement{Name: xml.Name{Local: string(cond)}}); err != nil {
		return err
	}
	if r.Text != "" {
		if err := e.EncodeElement(r.Text, xml.StartElement{Name: xml.Name{Local: "text"}}); err != nil {
			return err
		}
	}
	if r.SIPStatus != 0 {
		if err := e.Encode(wireSIPStatus{Code: r.SIPStatus}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// UnmarshalXML reads a reason; an unknown condition is kept as it came
// (XEP-0166 lets receivers treat it as general-error).
func (r *Reason) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	*r = Reason{}
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := r.child(d, t); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

func (r *Reason) child(d *xml.Decoder, t xml.StartElement) error {
	switch {
	case t.Name.Local == "text" && (t.Name.Space == NS || t.Name.Space == ""):
		return d.DecodeElement(&r.Text, &t)
	case t.Name.Local == "sip-status" && t.Name.Space == NSSIPStatus:
		for _, a := range t.Attr {
			if a.Name.Local == "code" {
				r.SIPStatus, _ = strconv.Atoi(a.Value)
			}
		}
	case t.Name.Space == NS || t.Name.Space == "":
		if r.Condition == "" {
			r.Condition = Condition(t.Name.Local)
		}
	}
	return d.Skip()
}

// ErrNoCondition is returned by Validate for a reason without condition.
var ErrNoCondition = errors.New("jingle: reason without a condition")
