package stanza

import (
	"bytes"
	"encoding/xml"
	"fmt"
)

// Namespaces used on a component stream.
const (
	NSComponent = "jabber:component:accept"
	NSStream    = "http://etherx.jabber.org/streams"
	NSStanzas   = "urn:ietf:params:xml:ns:xmpp-stanzas"
)

// Kind names the three stanza element names.
type Kind string

// The three stanza kinds of RFC 6120 §8.
const (
	KindIQ       Kind = "iq"
	KindMessage  Kind = "message"
	KindPresence Kind = "presence"
)

// Stanza is one top-level stanza. Payload holds the raw inner XML; handlers
// decode the parts they understand with xml.Unmarshal. Children that carried
// no xmlns on the wire (body, show, status, error) decode with an empty
// namespace because the stream's default namespace is not part of Payload.
type Stanza struct {
	XMLName xml.Name
	ID      string `xml:"id,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	From    string `xml:"from,attr,omitempty"`
	To      string `xml:"to,attr,omitempty"`
	Lang    string `xml:"http://www.w3.org/XML/1998/namespace lang,attr,omitempty"`
	Payload []byte `xml:",innerxml"`
}

// Kind reports which of iq, message or presence s is.
func (s *Stanza) Kind() Kind { return Kind(s.XMLName.Local) }

// IsIQRequest reports whether s is an iq get or set, which must be answered.
func (s *Stanza) IsIQRequest() bool {
	return s.Kind() == KindIQ && (s.Type == "get" || s.Type == "set")
}

// Marshal encodes s as a stanza element without a namespace declaration, as
// it is written inside a jabber:component:accept stream.
func (s *Stanza) Marshal() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('<')
	b.WriteString(s.XMLName.Local)
	writeAttr(&b, "id", s.ID)
	writeAttr(&b, "type", s.Type)
	writeAttr(&b, "from", s.From)
	writeAttr(&b, "to", s.To)
	writeAttr(&b, "xml:lang", s.Lang)
	if len(s.Payload) == 0 {
		b.WriteString("/>")
		return b.Bytes(), nil
	}
	b.WriteByte('>')
	b.Write(s.Payload)
	b.WriteString("</")
	b.WriteString(s.XMLName.Local)
	b.WriteByte('>')
	return b.Bytes(), nil
}

func writeAttr(b *bytes.Buffer, name, value string) {
	if value == "" {
		return
	}
	b.WriteByte(' ')
	b.WriteString(name)
	b.WriteString(`="`)
	_ = xml.EscapeText(b, []byte(value))
	b.WriteByte('"')
}

// xmlAppender is a payload that encodes itself, appending to a buffer
// exactly the bytes xml.Marshal would produce for it, without the
// reflection and allocations (the Jingle types do).
type xmlAppender interface {
	AppendXML(b []byte) []byte
}

// New builds a stanza of the given kind with payload elements marshalled
// from v: []byte values are used verbatim, values with an AppendXML
// method append their own encoding (which must be what xml.Marshal
// writes), and others go through xml.Marshal.
func New(kind Kind, typ, from, to, id string, payload ...any) (*Stanza, error) {
	s := &Stanza{XMLName: xml.Name{Local: string(kind)}, ID: id, Type: typ, From: from, To: to}
	for _, p := range payload {
		if p == nil {
			continue
		}
		switch v := p.(type) {
		case []byte:
			s.Payload = append(s.Payload, v...)
			continue
		case xmlAppender:
			s.Payload = v.AppendXML(s.Payload)
			continue
		}
		b, err := xml.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("marshal %T payload: %w", p, err)
		}
		s.Payload = append(s.Payload, b...)
	}
	return s, nil
}

// Result builds the iq result answering req, with optional payload.
func Result(req *Stanza, payload ...any) (*Stanza, error) {
	return New(KindIQ, "result", req.To, req.From, req.ID, payload...)
}

// ErrorReply builds the error stanza answering req (RFC 6120 §8.3): same
// kind and id, addresses swapped, the original payload of an iq left out.
func ErrorReply(req *Stanza, e *Error) *Stanza {
	reply := &Stanza{XMLName: req.XMLName, ID: req.ID, Type: "error", From: req.To, To: req.From}
	reply.Payload = e.Bytes()
	return reply
}

// Element is the name of the first child element in Payload whose
// namespace is ns (any namespace if ns is empty), or ok=false.
func (s *Stanza) Element(ns string) (name xml.Name, ok bool) {
	d := xml.NewDecoder(bytes.NewReader(s.Payload))
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.Name{}, false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 && (ns == "" || t.Name.Space == ns) {
				return t.Name, true
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
}

// Decode unmarshals the first child element of Payload whose namespace is ns
// and local name is local into v. It returns false if there is none.
func (s *Stanza) Decode(ns, local string, v any) (bool, error) {
	d := xml.NewDecoder(bytes.NewReader(s.Payload))
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return false, nil
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 && t.Name.Local == local && t.Name.Space == ns {
				if err := d.DecodeElement(v, &t); err != nil {
					return true, fmt.Errorf("decode <%s xmlns=%q>: %w", local, ns, err)
				}
				return true, nil
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
}
