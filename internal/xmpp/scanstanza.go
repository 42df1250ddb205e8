package xmpp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"

	"fargo.dev/fargo/internal/stanza"
)

const nsXML = "http://www.w3.org/XML/1998/namespace"

// streamContext is what encoding/xml knows about the open stream when it
// reads a top-level element: the prefixes the header bound and the header's
// name as written, which </stream:stream> must repeat.
type streamContext struct {
	decls []xml.Attr // the header's xmlns and xmlns:p attributes, in order
	ns    map[string]string
	name  []byte // nil: no header read, a top-level end tag is an error
}

func newStreamContext(start xml.StartElement, rawName []byte) streamContext {
	c := streamContext{ns: map[string]string{}, name: rawName}
	for _, a := range start.Attr {
		switch {
		case a.Name.Space == "xmlns":
			c.ns[a.Name.Local] = a.Value
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			c.ns[""] = a.Value
		default:
			continue
		}
		c.decls = append(c.decls, a)
	}
	return c
}

// scan returns the next stanza like streamReader.nextDecoded.
func (s *scanner) scan(r *streamReader) (*stanza.Stanza, error) {
	defer s.release()
	var after int64
	for {
		s.beginToken(after)
		after = 0
		b, ok := s.getc()
		if !ok {
			return nil, r.wrap(s.err)
		}
		if b != '<' {
			// White space between stanzas, or other text encoding/xml
			// would skip. It reads the '<' that ends it: that byte counts
			// against the text, not against the element.
			s.ungetc()
			if !s.text(-1, false, false) {
				return nil, r.wrap(s.err)
			}
			after = 1
			continue
		}
		s.complex = false
		s.startCapture()
		if b, ok = s.getc(); !ok {
			return nil, r.wrap(s.err)
		}
		switch b {
		case '/':
			return nil, s.streamEnd(r)
		case '?':
			ok = s.pi() && s.verify()
		case '!':
			ok = s.bang() && s.verify()
		default:
			s.ungetc()
			st, err := s.element(r)
			if st != nil || err != nil {
				return st, err
			}
		}
		if !ok {
			return nil, r.wrap(s.err)
		}
	}
}

// streamEnd reads a top-level end tag, which closes the stream.
func (s *scanner) streamEnd(r *streamReader) error {
	if s.ctx.name == nil {
		s.syntax("unexpected end element")
		return r.wrap(s.err)
	}
	s.names = append(s.names[:0], s.ctx.name...)
	s.nameEnds = append(s.nameEnds[:0], len(s.names))
	if !s.endTag() {
		return r.wrap(s.err)
	}
	return errStreamEnd
}

// element reads a top-level element: a stanza is returned, a stream error
// returned as *StreamError, anything else skipped (nil, nil).
func (s *scanner) element(r *streamReader) (*stanza.Stanza, error) {
	s.attrs, s.vals = s.attrs[:0], s.vals[:0]
	empty, ok := s.startTag(true)
	if !ok {
		return nil, r.wrap(s.err)
	}
	if s.complex && !s.verifyStart(empty) {
		return nil, r.wrap(s.err) // before onSkip, as the decoder fails there
	}
	name := s.resolveName()
	isSt := isStanza(name, r.ns)
	if !isSt && name != nameStreamError && r.onSkip != nil {
		r.onSkip(name) // as the decoder path does, before the body
	}
	innerStart := s.offset()
	innerEnd := innerStart
	if !empty {
		if innerEnd, ok = s.content(); !ok {
			return nil, r.wrap(s.err)
		}
	}
	switch {
	case name == nameStreamError:
		return nil, s.decodeRaw(r, func(d *xml.Decoder, start *xml.StartElement) error {
			return streamErrorOf(d, start)
		})
	case !isSt:
		if !s.verify() {
			return nil, r.wrap(s.err)
		}
		return nil, nil
	case s.complex:
		st := new(stanza.Stanza)
		return st, s.decodeRaw(r, func(d *xml.Decoder, start *xml.StartElement) error {
			return d.DecodeElement(st, start)
		})
	}
	st := &stanza.Stanza{XMLName: name}
	if !empty {
		raw := s.captured()
		capStart := s.offset() - int64(len(raw))
		st.Payload = bytes.Clone(raw[innerStart-capStart : innerEnd-capStart])
		if st.Payload == nil {
			st.Payload = []byte{} // encoding/xml's innerxml of <iq></iq>
		}
	}
	s.fillAttrs(st)
	return st, nil
}

// fillAttrs sets the fields that stanza.Stanza's struct tags take from the
// start tag: the last attribute with the field's local name in any
// namespace, and for Lang in the XML namespace.
func (s *scanner) fillAttrs(st *stanza.Stanza) {
	for _, a := range s.attrs {
		local := s.vals[a.name:a.val]
		if a.colon >= 0 && a.colon > a.name && a.colon < a.val-1 {
			local = s.vals[a.colon+1 : a.val]
		}
		var f *string
		switch string(local) {
		case "id":
			f = &st.ID
		case "type":
			f = &st.Type
		case "from":
			f = &st.From
		case "to":
			f = &st.To
		case "lang":
			if s.attrSpace(a) == nsXML {
				f = &st.Lang
			}
		}
		if f != nil {
			*f = string(s.vals[a.val:a.end])
		}
	}
}

// split is encoding/xml's nsname: a prefix only with exactly one inner ':'.
func split(name []byte) (prefix, local []byte) {
	if i := bytes.IndexByte(name, ':'); i > 0 && i < len(name)-1 {
		return name[:i], name[i+1:]
	}
	return nil, name
}

// resolveName gives the top-level element's name the namespace
// encoding/xml's translate would.
func (s *scanner) resolveName() xml.Name {
	prefix, local := split(s.top)
	n := xml.Name{Local: localString(local)}
	switch {
	case string(prefix) == "xmlns":
		n.Space = "xmlns"
	case prefix == nil && string(local) == "xmlns":
	case string(prefix) == "xml":
		n.Space = nsXML
	default:
		if v, ok := s.lookup(prefix); ok {
			n.Space = v
		} else {
			n.Space = string(prefix)
		}
	}
	return n
}

// localString avoids an allocation for the usual names.
func localString(b []byte) string {
	for _, k := range [...]string{"iq", "message", "presence"} {
		if string(b) == k {
			return k
		}
	}
	return string(b)
}

// attrSpace is translate for an attribute name: no default namespace.
func (s *scanner) attrSpace(a scanAttr) string {
	prefix, _ := split(s.vals[a.name:a.val])
	switch string(prefix) {
	case "", "xmlns":
		return string(prefix)
	case "xml":
		return nsXML
	}
	if v, ok := s.lookup(prefix); ok {
		return v
	}
	return string(prefix)
}

// lookup finds the namespace bound to prefix ("" for the default): by the
// top-level tag itself, whose declarations apply to its own names and of
// which the last wins, else by the stream header.
func (s *scanner) lookup(prefix []byte) (string, bool) {
	for i := len(s.attrs) - 1; i >= 0; i-- {
		a := s.attrs[i]
		p, l := split(s.vals[a.name:a.val])
		if len(prefix) == 0 && p == nil && string(l) == "xmlns" ||
			len(prefix) > 0 && string(p) == "xmlns" && string(l) == string(prefix) {
			return string(s.vals[a.val:a.end]), true
		}
	}
	v, ok := s.ctx.ns[string(prefix)]
	return v, ok
}

// verify lets encoding/xml judge a captured construct that set complex.
func (s *scanner) verify() bool {
	if !s.complex {
		return true
	}
	d, err := s.rawDecoder(s.captured())
	for err == nil {
		_, err = d.Token()
	}
	if err == io.EOF {
		return true
	}
	s.err = err
	return false
}

// verifyStart lets encoding/xml judge a start tag that set complex, so a
// bad one fails before anything else happens, as in the decoder path.
func (s *scanner) verifyStart(empty bool) bool {
	d, err := s.rawDecoder(s.snapshot())
	if err == nil {
		_, err = d.Token()
	}
	if err != nil {
		s.err = err
		return false
	}
	if empty {
		s.complex = false // the whole element was judged
	}
	return true
}

// decodeRaw hands the captured top-level element to encoding/xml.
func (s *scanner) decodeRaw(r *streamReader, fn func(*xml.Decoder, *xml.StartElement) error) error {
	d, err := s.rawDecoder(s.captured())
	if err == nil {
		var tok xml.Token
		if tok, err = d.Token(); err == nil {
			start, ok := tok.(xml.StartElement)
			if !ok {
				return r.wrap(errors.New("captured element does not start with a start tag"))
			}
			err = fn(d, &start)
		}
	}
	var se *StreamError
	if err != nil && !errors.As(err, &se) {
		return r.wrap(err)
	}
	return err
}

// rawDecoder is a decoder over the captured bytes inside an element that
// declares what the stream header declared, so that names resolve as they
// would have in the stream. It is positioned after that wrapper's tag.
func (s *scanner) rawDecoder(raw []byte) (*xml.Decoder, error) {
	var b bytes.Buffer
	b.WriteString("<w")
	for _, a := range s.ctx.decls {
		b.WriteString(" xmlns")
		if a.Name.Space != "" {
			b.WriteString(":" + a.Name.Local)
		}
		b.WriteString(`="`)
		_ = xml.EscapeText(&b, []byte(a.Value))
		b.WriteString(`"`)
	}
	b.WriteString(">")
	b.Write(raw)
	b.WriteString("</w>")
	d := xml.NewDecoder(&b)
	_, err := d.Token()
	return d, err
}
