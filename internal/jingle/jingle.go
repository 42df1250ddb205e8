package jingle

import (
	"encoding/xml"
)

// Jingle is the <jingle/> element of a Jingle iq.
type Jingle struct {
	XMLName   xml.Name  `xml:"urn:xmpp:jingle:1 jingle"`
	Action    Action    `xml:"action,attr"`
	SID       string    `xml:"sid,attr"`
	Initiator string    `xml:"initiator,attr,omitempty"`
	Responder string    `xml:"responder,attr,omitempty"`
	Contents  []Content `xml:"content"`
	Group     *Group    `xml:"urn:xmpp:jingle:apps:grouping:0 group,omitempty"`
	Reason    *Reason   `xml:"reason,omitempty"`
	// Info holds the session-info payload and any other child in a foreign
	// namespace (XEP-0167 §7 ringing/hold/…, XEP-0181 dtmf).
	Info []Element `xml:",any"`
}

// Content is one <content/> of a session (XEP-0166 §7.1).
type Content struct {
	Creator     Role         `xml:"creator,attr,omitempty"`
	Name        string       `xml:"name,attr"`
	Senders     Senders      `xml:"senders,attr,omitempty"`
	Disposition string       `xml:"disposition,attr,omitempty"`
	Description *Description `xml:"description,omitempty"`
	Transport   *Transport   `xml:"transport,omitempty"`
}

// Description is an RTP application description (XEP-0167 §4). Its
// XMLName records the namespace it arrived in, so a non-RTP application
// (file transfer) can be told apart and refused.
type Description struct {
	XMLName          xml.Name
	Media            string        `xml:"media,attr"`
	SSRC             string        `xml:"ssrc,attr,omitempty"`
	PayloadTypes     []PayloadType `xml:"payload-type"`
	Bandwidth        *Bandwidth    `xml:"bandwidth,omitempty"`
	RTCPMux          *Empty        `xml:"rtcp-mux,omitempty"`
	RTCPFB           []RTCPFB      `xml:"urn:xmpp:jingle:apps:rtp:rtcp-fb:0 rtcp-fb"`
	RTCPFBTrrInt     *TrrInt       `xml:"urn:xmpp:jingle:apps:rtp:rtcp-fb:0 rtcp-fb-trr-int,omitempty"`
	HdrExts          []HdrExt      `xml:"urn:xmpp:jingle:apps:rtp:rtp-hdrext:0 rtp-hdrext"`
	ExtmapAllowMixed *Empty        `xml:"urn:xmpp:jingle:apps:rtp:rtp-hdrext:0 extmap-allow-mixed,omitempty"`
	Sources          []Source      `xml:"urn:xmpp:jingle:apps:rtp:ssma:0 source"`
	SSRCGroups       []SSRCGroup   `xml:"urn:xmpp:jingle:apps:rtp:ssma:0 ssrc-group"`
	Encryption       *Encryption   `xml:"encryption,omitempty"`
}

// NewDescription returns an empty RTP description for media.
func NewDescription(media string) *Description {
	return &Description{XMLName: xml.Name{Space: NSRTP, Local: "description"}, Media: media}
}

// IsRTP reports whether d is an RTP description (a nil d is not).
func (d *Description) IsRTP() bool { return d != nil && d.XMLName.Space == NSRTP }

// Empty is an element with no content, such as <rtcp-mux/>.
type Empty struct{}

// PayloadType is a codec offer or answer (XEP-0167 §5).
type PayloadType struct {
	ID        uint8       `xml:"id,attr"`
	Name      string      `xml:"name,attr,omitempty"`
	Clockrate uint32      `xml:"clockrate,attr,omitempty"`
	Channels  uint8       `xml:"channels,attr,omitempty"`
	Ptime     uint32      `xml:"ptime,attr,omitempty"`
	Maxptime  uint32      `xml:"maxptime,attr,omitempty"`
	Params    []Parameter `xml:"parameter"`
	RTCPFB    []RTCPFB    `xml:"urn:xmpp:jingle:apps:rtp:rtcp-fb:0 rtcp-fb"`
	TrrInt    *TrrInt     `xml:"urn:xmpp:jingle:apps:rtp:rtcp-fb:0 rtcp-fb-trr-int,omitempty"`
}

// Parameter is a name/value pair; real clients send value-only ones
// (JSXC's red "111/111"), kept with an empty name.
type Parameter struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr,omitempty"`
}

// RTCPFB is an RTCP feedback type (XEP-0293).
type RTCPFB struct {
	Type    string `xml:"type,attr"`
	Subtype string `xml:"subtype,attr,omitempty"`
}

// TrrInt is the rtcp-fb trr-int value (XEP-0293 §3).
type TrrInt struct {
	Value uint32 `xml:"value,attr"`
}

// HdrExt is an RTP header extension (XEP-0294).
type HdrExt struct {
	ID      uint16  `xml:"id,attr"`
	URI     string  `xml:"uri,attr"`
	Senders Senders `xml:"senders,attr,omitempty"`
}

// Source is an XEP-0339 source with its parameters (cname, msid).
type Source struct {
	SSRC   uint32      `xml:"ssrc,attr"`
	Params []Parameter `xml:"parameter"`
}

// SSRCGroup is an XEP-0339 ssrc-group.
type SSRCGroup struct {
	Semantics string   `xml:"semantics,attr"`
	Sources   []Source `xml:"source"`
}

// Bandwidth is <bandwidth type='AS'>64</bandwidth>.
type Bandwidth struct {
	Type  string `xml:"type,attr"`
	Value string `xml:",chardata"`
}

// Encryption carries SDES keys (XEP-0167 §7).
type Encryption struct {
	Required string   `xml:"required,attr,omitempty"`
	Crypto   []Crypto `xml:"crypto"`
}

// Crypto is one SDES crypto line.
type Crypto struct {
	Suite         string `xml:"crypto-suite,attr"`
	KeyParams     string `xml:"key-params,attr"`
	SessionParams string `xml:"session-params,attr,omitempty"`
	Tag           string `xml:"tag,attr"`
}

// Transport is an ICE-UDP (XEP-0176) or raw-UDP (XEP-0177) transport; its
// XMLName says which.
type Transport struct {
	XMLName      xml.Name
	Ufrag        string        `xml:"ufrag,attr,omitempty"`
	Pwd          string        `xml:"pwd,attr,omitempty"`
	Fingerprints []Fingerprint `xml:"urn:xmpp:jingle:apps:dtls:0 fingerprint"`
	Candidates   []Candidate   `xml:"candidate"`
	Remote       *Candidate    `xml:"remote-candidate,omitempty"`
}

// NewTransport returns an empty transport in namespace ns.
func NewTransport(ns string) *Transport {
	return &Transport{XMLName: xml.Name{Space: ns, Local: "transport"}}
}

// IsICE reports whether t is an ICE-UDP transport.
func (t *Transport) IsICE() bool { return t != nil && t.XMLName.Space == NSICEUDP }

// IsRawUDP reports whether t is a raw-UDP transport.
func (t *Transport) IsRawUDP() bool { return t != nil && t.XMLName.Space == NSRawUDP }

// Fingerprint is a DTLS certificate fingerprint with the setup role
// (XEP-0320).
type Fingerprint struct {
	Hash  string `xml:"hash,attr"`
	Setup string `xml:"setup,attr,omitempty"`
	Value string `xml:",chardata"`
}

// Candidate is an ICE-UDP or raw-UDP candidate. Raw-UDP uses only
// component, generation, id, ip, port and type.
type Candidate struct {
	Component  uint16 `xml:"component,attr"`
	Foundation string `xml:"foundation,attr,omitempty"`
	Generation uint32 `xml:"generation,attr"`
	ID         string `xml:"id,attr,omitempty"`
	IP         string `xml:"ip,attr"`
	Port       uint16 `xml:"port,attr"`
	Priority   uint32 `xml:"priority,attr,omitempty"`
	Protocol   string `xml:"protocol,attr,omitempty"`
	Type       string `xml:"type,attr,omitempty"`
	RelAddr    string `xml:"rel-addr,attr,omitempty"`
	RelPort    uint16 `xml:"rel-port,attr,omitempty"`
	Network    string `xml:"network,attr,omitempty"`
}

// Group is the XEP-0338 grouping of contents (BUNDLE).
type Group struct {
	Semantics string         `xml:"semantics,attr"`
	Contents  []GroupContent `xml:"content"`
}

// GroupContent names a content in a group.
type GroupContent struct {
	Name string `xml:"name,attr"`
}

// Element is a child element kept as it arrived.
type Element struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Inner   []byte     `xml:",innerxml"`
}

// Attr returns the value of the attribute named local, or "".
func (e Element) Attr(local string) string {
	for _, a := range e.Attrs {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// Content returns the content named name, or nil.
func (j *Jingle) Content(name string) *Content {
	for i := range j.Contents {
		if j.Contents[i].Name == name {
			return &j.Contents[i]
		}
	}
	return nil
}

// UnmarshalXML keeps the element's name, its attributes minus namespace
// declarations (encoding/xml would otherwise write them twice), and its
// inner XML.
func (e *Element) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var raw struct {
		Inner []byte `xml:",innerxml"`
	}
	if err := d.DecodeElement(&raw, &start); err != nil {
		return err
	}
	*e = Element{XMLName: start.Name, Inner: raw.Inner}
	for _, a := range start.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		e.Attrs = append(e.Attrs, a)
	}
	return nil
}
