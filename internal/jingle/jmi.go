package jingle

import "encoding/xml"

// JMI elements (XEP-0353), all in NSJMI.
const (
	JMIPropose = "propose"
	JMIProceed = "proceed"
	JMIAccept  = "accept" // older clients (Dino) send it to their own bare JID
	JMIReject  = "reject"
	JMIRetract = "retract"
	JMIRinging = "ringing"
	JMIFinish  = "finish"
)

// JMI is a Jingle Message Initiation element carried in a message.
type JMI struct {
	XMLName      xml.Name
	ID           string        `xml:"id,attr"`
	Descriptions []Description `xml:"urn:xmpp:jingle:apps:rtp:1 description"`
	Reason       *Reason       `xml:"urn:xmpp:jingle:1 reason,omitempty"`
}

// NewJMI builds the JMI element name (JMIPropose, …) for session id.
func NewJMI(name, id string) *JMI {
	return &JMI{XMLName: xml.Name{Space: NSJMI, Local: name}, ID: id}
}

// Kind is the element's local name.
func (m *JMI) Kind() string { return m.XMLName.Local }

// Media lists the media of a propose's descriptions, in order.
func (m *JMI) Media() []string {
	out := make([]string, 0, len(m.Descriptions))
	for _, d := range m.Descriptions {
		out = append(out, d.Media)
	}
	return out
}
