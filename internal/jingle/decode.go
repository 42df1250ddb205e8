package jingle

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// Decode reads a <jingle/> element, such as the payload of a Jingle iq,
// into a new Jingle. It gives exactly what xml.Unmarshal(payload, &j)
// gives, and fails where that fails, but scans the bytes in place instead
// of building tokens and walking types by reflection: it allocates little
// besides the result, whose strings share a few buffers.
//
// As with xml.Unmarshal, text, comments, processing instructions and
// directives before the element are skipped and nothing after its end
// tag is read.
func Decode(payload []byte) (*Jingle, error) {
	d := decoder{scanner: scanner{in: payload}}
	// Attribute values are most of what becomes strings: a fifth of the
	// input holds them in the stanzas clients send (and all of them share
	// this buffer, so it should not be much bigger than needed).
	d.arena.Grow(len(payload)/5 + 64)
	j, err := d.root()
	if err != nil {
		return nil, fmt.Errorf("jingle: decode: %w", err)
	}
	return j, nil
}

// ChildNames lists the top-level elements of payload, the inner XML of a
// stanza, with their namespaces. It accepts and rejects exactly what
// encoding/xml's Decoder does when it reads payload token by token to
// its end, and names elements as its Token method does. It lives here
// because this package owns the fast scanner and the gateway routes every
// iq by these names.
func ChildNames(payload []byte) ([]xml.Name, error) {
	s := scanner{in: payload}
	var names []xml.Name
	for {
		k, err := s.next()
		if err != nil {
			return nil, err
		}
		switch k {
		case tokEOF:
			return names, nil
		case tokStart:
			if len(s.open) == 1 {
				names = append(names, xml.Name{Space: s.space, Local: s.str(s.local)})
			}
		}
	}
}

// decoder fills the Jingle types from a scanner, following the field
// matching of encoding/xml: attributes by local name in any namespace;
// child elements by local name, and by namespace too where the struct tag
// has one; a singular child seen twice decoded into the same value again;
// anything unmatched skipped, or kept in Jingle.Info.
type decoder struct {
	scanner
	chars []byte // character data of the element being read

	// Repeated children gather in piles and leave them as exact slices
	// carved from shared blocks.
	contents     pile[Content]
	payloadTypes pile[PayloadType]
	params       pile[Parameter]
	rtcpFB       pile[RTCPFB]
	hdrExts      pile[HdrExt]
	sources      pile[Source]
	ssrcGroups   pile[SSRCGroup]
	crypto       pile[Crypto]
	fingerprints pile[Fingerprint]
	candidates   pile[Candidate]
	groupContent pile[GroupContent]
	info         pile[Element]
	attrsOut     pile[xml.Attr]
}

// pile collects the values of one repeated child type: those of the
// elements still open, innermost last, on a stack; and the blocks that
// finished slices are cut from.
type pile[T any] struct {
	stack []T
	block []T
}

func (p *pile[T]) mark() int { return len(p.stack) }

func (p *pile[T]) add(v T) { p.stack = push(p.stack, v) }

// take returns old followed by the values added since mark, as a slice of
// their own capacity, and drops them from the stack.
func (p *pile[T]) take(mark int, old []T) []T {
	items := p.stack[mark:]
	if len(items) == 0 {
		return old
	}
	n := len(old) + len(items)
	if cap(p.block)-len(p.block) < n {
		p.block = make([]T, 0, max(n, 2*cap(p.block)))
	}
	start := len(p.block)
	p.block = append(p.block, old...)
	p.block = append(p.block, items...)
	p.stack = p.stack[:mark]
	return p.block[start:len(p.block):len(p.block)]
}

// push appends v to the scratch stack s, which starts at eight: stacks
// hold a few items each, and growing them one by one from nothing would
// cost more allocations than the rest of the decoding.
func push[T any](s []T, v T) []T {
	if len(s) == cap(s) {
		s = slices.Grow(s, max(8, cap(s)))
	}
	return append(s, v)
}

var errNotJingle = errors.New("not a <jingle xmlns='" + NS + "'/> element")

// root finds the first element, as xml.Unmarshal does, and decodes it.
func (d *decoder) root() (*Jingle, error) {
	for {
		k, err := d.next()
		if err != nil {
			return nil, err
		}
		switch k {
		case tokEOF:
			return nil, io.EOF
		case tokStart:
			if string(d.local) != "jingle" || d.space != NS {
				return nil, fmt.Errorf("%w: <%s> in namespace %q", errNotJingle, d.local, d.space)
			}
			j := &Jingle{XMLName: xml.Name{Space: NS, Local: "jingle"}}
			return j, d.jingle(j)
		}
	}
}

// body reads the content of the element just opened up to its end tag,
// calling child for each child element's start tag; child must read up
// to that child's end.
func (d *decoder) body(child func() error) error {
	for {
		k, err := d.next()
		if err != nil {
			return err
		}
		switch k {
		case tokEnd:
			return nil
		case tokStart:
			if err := child(); err != nil {
				return err
			}
		}
	}
}

// ownText reads the rest of the element just opened and returns its
// character data, without that of its children (which it skips).
func (d *decoder) ownText() (string, error) {
	d.chars = d.chars[:0]
	for {
		k, err := d.next()
		if err != nil {
			return "", err
		}
		switch k {
		case tokEnd:
			return d.str(d.chars), nil
		case tokText:
			d.chars = append(d.chars, d.text...)
		case tokStart:
			if err := d.skip(); err != nil {
				return "", err
			}
		}
	}
}

// eachAttr hands each attribute's local name and value to set, in
// order, so that a repeated attribute ends with its last value.
func (d *decoder) eachAttr(set func(local, value []byte) error) error {
	for i := range d.attrs {
		a := &d.attrs[i]
		if err := set(d.localName(a.name), d.bytesOf(a.value)); err != nil {
			return err
		}
	}
	return nil
}

// uintAttr parses an integer attribute as encoding/xml's copyValue does:
// empty is zero, anything else goes through strconv.ParseUint (base 10,
// no sign) once trimmed of white space, and must fit in T.
func uintAttr[T uint8 | uint16 | uint32](dst *T, local, value []byte) error {
	if len(value) == 0 {
		*dst = 0
		return nil
	}
	v := bytes.TrimSpace(value)
	if len(v) == 0 {
		return attrError(local, value, strconv.ErrSyntax)
	}
	limit := uint64(^T(0))
	n := uint64(0)
	for _, c := range v {
		if c < '0' || c > '9' {
			return attrError(local, value, strconv.ErrSyntax)
		}
		if n = n*10 + uint64(c-'0'); n > limit {
			return attrError(local, value, strconv.ErrRange)
		}
	}
	*dst = T(n)
	return nil
}

func attrError(local, value []byte, err error) error {
	return fmt.Errorf("attribute %s=%q: %w", local, value, err)
}

func (d *decoder) jingle(j *Jingle) error {
	err := d.eachAttr(func(local, value []byte) error {
		switch string(local) {
		case "action":
			j.Action = Action(d.str(value))
		case "sid":
			j.SID = d.str(value)
		case "initiator":
			j.Initiator = d.str(value)
		case "responder":
			j.Responder = d.str(value)
		}
		return nil
	})
	if err != nil {
		return err
	}
	contents, info := d.contents.mark(), d.info.mark()
	err = d.body(func() error {
		switch {
		case string(d.local) == "content":
			var c Content
			if err := d.content(&c); err != nil {
				return err
			}
			d.contents.add(c)
			return nil
		case string(d.local) == "group" && d.space == NSGrouping:
			if j.Group == nil {
				j.Group = new(Group)
			}
			return d.group(j.Group)
		case string(d.local) == "reason":
			if j.Reason == nil {
				j.Reason = new(Reason)
			}
			return d.reason(j.Reason)
		}
		return d.element()
	})
	if err != nil {
		return err
	}
	j.Contents = d.contents.take(contents, j.Contents)
	j.Info = d.info.take(info, j.Info)
	return nil
}

func (d *decoder) content(c *Content) error {
	_ = d.eachAttr(func(local, value []byte) error {
		switch string(local) {
		case "creator":
			c.Creator = Role(d.str(value))
		case "name":
			c.Name = d.str(value)
		case "senders":
			c.Senders = Senders(d.str(value))
		case "disposition":
			c.Disposition = d.str(value)
		}
		return nil
	})
	return d.body(func() error {
		switch string(d.local) {
		case "description":
			if c.Description == nil {
				c.Description = new(Description)
			}
			return d.description(c.Description)
		case "transport":
			if c.Transport == nil {
				c.Transport = new(Transport)
			}
			return d.transport(c.Transport)
		}
		return d.skip()
	})
}

func (d *decoder) description(desc *Description) error {
	desc.XMLName = xml.Name{Space: d.space, Local: "description"}
	_ = d.eachAttr(func(local, value []byte) error {
		switch string(local) {
		case "media":
			desc.Media = d.str(value)
		case "ssrc":
			desc.SSRC = d.str(value)
		}
		return nil
	})
	pts, fbs, hdrs := d.payloadTypes.mark(), d.rtcpFB.mark(), d.hdrExts.mark()
	srcs, groups := d.sources.mark(), d.ssrcGroups.mark()
	err := d.body(func() error { return d.descriptionChild(desc) })
	if err != nil {
		return err
	}
	desc.PayloadTypes = d.payloadTypes.take(pts, desc.PayloadTypes)
	desc.RTCPFB = d.rtcpFB.take(fbs, desc.RTCPFB)
	desc.HdrExts = d.hdrExts.take(hdrs, desc.HdrExts)
	desc.Sources = d.sources.take(srcs, desc.Sources)
	desc.SSRCGroups = d.ssrcGroups.take(groups, desc.SSRCGroups)
	return nil
}

func (d *decoder) descriptionChild(desc *Description) error {
	switch string(d.local) {
	case "payload-type":
		var pt PayloadType
		if err := d.payloadType(&pt); err != nil {
			return err
		}
		d.payloadTypes.add(pt)
		return nil
	case "bandwidth":
		if desc.Bandwidth == nil {
			desc.Bandwidth = new(Bandwidth)
		}
		return d.bandwidth(desc.Bandwidth)
	case "rtcp-mux":
		if desc.RTCPMux == nil {
			desc.RTCPMux = new(Empty)
		}
		return d.skip()
	case "encryption":
		if desc.Encryption == nil {
			desc.Encryption = new(Encryption)
		}
		return d.encryption(desc.Encryption)
	}
	switch d.space {
	case NSRTCPFB:
		return d.rtcpFBChild(&desc.RTCPFBTrrInt)
	case NSHdrExt:
		switch string(d.local) {
		case "rtp-hdrext":
			var h HdrExt
			if err := d.hdrExt(&h); err != nil {
				return err
			}
			d.hdrExts.add(h)
			return nil
		case "extmap-allow-mixed":
			if desc.ExtmapAllowMixed == nil {
				desc.ExtmapAllowMixed = new(Empty)
			}
			return d.skip()
		}
	case NSSSMA:
		switch string(d.local) {
		case "source":
			return d.source()
		case "ssrc-group":
			var g SSRCGroup
			if err := d.ssrcGroup(&g); err != nil {
				return err
			}
			d.ssrcGroups.add(g)
			return nil
		}
	}
	return d.skip()
}

// rtcpFBChild reads an XEP-0293 child of a description or payload type:
// an rtcp-fb goes to the rtcp-fb pile, a trr-int into *trr.
func (d *decoder) rtcpFBChild(trr **TrrInt) error {
	switch string(d.local) {
	case "rtcp-fb":
		var fb RTCPFB
		_ = d.eachAttr(func(local, value []byte) error {
			switch string(local) {
			case "type":
				fb.Type = d.str(value)
			case "subtype":
				fb.Subtype = d.str(value)
			}
			return nil
		})
		d.rtcpFB.add(fb)
	case "rtcp-fb-trr-int":
		if *trr == nil {
			*trr = new(TrrInt)
		}
		t := *trr
		err := d.eachAttr(func(local, value []byte) error {
			if string(local) == "value" {
				return uintAttr(&t.Value, local, value)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return d.skip()
}

func (d *decoder) payloadType(pt *PayloadType) error {
	err := d.eachAttr(func(local, value []byte) error {
		switch string(local) {
		case "id":
			return uintAttr(&pt.ID, local, value)
		case "name":
			pt.Name = d.str(value)
		case "clockrate":
			return uintAttr(&pt.Clockrate, local, value)
		case "channels":
			return uintAttr(&pt.Channels, local, value)
		case "ptime":
			return uintAttr(&pt.Ptime, local, value)
		case "maxptime":
			return uintAttr(&pt.Maxptime, local, value)
		}
		return nil
	})
	if err != nil {
		return err
	}
	params, fbs := d.params.mark(), d.rtcpFB.mark()
	err = d.body(func() error {
		switch {
		case string(d.local) == "parameter":
			return d.parameter()
		case d.space == NSRTCPFB:
			return d.rtcpFBChild(&pt.TrrInt)
		}
		return d.skip()
	})
	if err != nil {
		return err
	}
	pt.Params = d.params.take(params, pt.Params)
	pt.RTCPFB = d.rtcpFB.take(fbs, pt.RTCPFB)
	return nil
}

func (d *decoder) parameter() error {
	var p Parameter
	_ = d.eachAttr(func(local, value []byte) error {
		switch string(local) {
		case "name":
			p.Name = d.str(value)
		case "value":
			p.Value = d.str(value)
		}
		return nil
	})
	d.params.add(p)
	return d.skip()
}

func (d *decoder) hdrExt(h *HdrExt) error {
	err := d.eachAttr(func(local, value []byte) error {
		switch string(local) {
		case "id":
			return uintAttr(&h.ID, local, value)
		case "uri":
			h.URI = d.str(value)
		case "senders":
			h.Senders = Senders(d.str(value))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return d.skip()
}

// source reads a <source/> onto the source pile.
func (d *decoder) source() error {
	var src Source
	err := d.eachAttr(func(local, value []byte) error {
		if string(local) == "ssrc" {
			return uintAttr(&src.SSRC, local, value)
		}
		return nil
	})
	if err != nil {
		return err
	}
	params := d.params.mark()
	err = d.body(func() error {
		if string(d.local) == "parameter" {
			return d.parameter()
		}
		return d.skip()
	})
	if err != nil {
		return err
	}
	src.Params = d.params.take(params, nil)
	d.sources.add(src)
	return nil
}

func (d *decoder) ssrcGroup(g *SSRCGroup) error {
	_ = d.eachAttr(func(local, value []byte) error {
		if string(local) == "semantics" {
			g.Semantics = d.str(value)
		}
		return nil
	})
	srcs := d.sources.mark()
	err := d.body(func() error {
		if string(d.local) == "source" {
			return d.source()
		}
		return d.skip()
	})
	if err != nil {
		return err
	}
	g.Sources = d.sources.take(srcs, nil)
	return nil
}

func (d *decoder) bandwidth(bw *Bandwidth) error {
	_ = d.eachAttr(func(local, value []byte) error {
		if string(local) == "type" {
			bw.Type = d.str(value)
		}
		return nil
	})
	v, err := d.ownText()
	bw.Value = v
	return err
}

func (d *decoder) encryption(enc *Encryption) error {
	_ = d.eachAttr(func(local, value []byte) error {
		if string(local) == "required" {
			enc.Required = d.str(value)
		}
		return nil
	})
	crypto := d.crypto.mark()
	err := d.body(func() error {
		if string(d.local) != "crypto" {
			return d.skip()
		}
		var c Crypto
		_ = d.eachAttr(func(local, value []byte) error {
			switch string(local) {
			case "crypto-suite":
				c.Suite = d.str(value)
			case "key-params":
				c.KeyParams = d.str(value)
			case "session-params":
				c.SessionParams = d.str(value)
			case "tag":
				c.Tag = d.str(value)
			}
			return nil
		})
		d.crypto.add(c)
		return d.skip()
	})
	if err != nil {
		return err
	}
	enc.Crypto = d.crypto.take(crypto, enc.Crypto)
	return nil
}

func (d *decoder) transport(t *Transport) error {
	t.XMLName = xml.Name{Space: d.space, Local: "transport"}
	_ = d.eachAttr(func(local, value []byte) error {
		switch string(local) {
		case "ufrag":
			t.Ufrag = d.str(value)
		case "pwd":
			t.Pwd = d.str(value)
		}
		return nil
	})
	fps, cands := d.fingerprints.mark(), d.candidates.mark()
	err := d.body(func() error {
		switch {
		case string(d.local) == "fingerprint" && d.space == NSDTLS:
			return d.fingerprint()
		case string(d.local) == "candidate":
			var c Candidate
			if err := d.candidate(&c); err != nil {
				return err
			}
			d.candidates.add(c)
			return nil
		case string(d.local) == "remote-candidate":
			if t.Remote == nil {
				t.Remote = new(Candidate)
			}
			return d.candidate(t.Remote)
		}
		return d.skip()
	})
	if err != nil {
		return err
	}
	t.Fingerprints = d.fingerprints.take(fps, t.Fingerprints)
	t.Candidates = d.candidates.take(cands, t.Candidates)
	return nil
}

func (d *decoder) fingerprint() error {
	var f Fingerprint
	_ = d.eachAttr(func(local, value []byte) error {
		switch string(local) {
		case "hash":
			f.Hash = d.str(value)
		case "setup":
			f.Setup = d.str(value)
		}
		return nil
	})
	v, err := d.ownText()
	if err != nil {
		return err
	}
	f.Value = v
	d.fingerprints.add(f)
	return nil
}

func (d *decoder) candidate(c *Candidate) error {
	err := d.eachAttr(func(local, value []byte) error {
		switch string(local) {
		case "component":
			return uintAttr(&c.Component, local, value)
		case "foundation":
			c.Foundation = d.str(value)
		case "generation":
			return uintAttr(&c.Generation, local, value)
		case "id":
			c.ID = d.str(value)
		case "ip":
			c.IP = d.str(value)
		case "port":
			return uintAttr(&c.Port, local, value)
		case "priority":
			return uintAttr(&c.Priority, local, value)
		case "protocol":
			c.Protocol = d.str(value)
		case "type":
			c.Type = d.str(value)
		case "rel-addr":
			c.RelAddr = d.str(value)
		case "rel-port":
			return uintAttr(&c.RelPort, local, value)
		case "network":
			c.Network = d.str(value)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return d.skip()
}

func (d *decoder) group(g *Group) error {
	_ = d.eachAttr(func(local, value []byte) error {
		if string(local) == "semantics" {
			g.Semantics = d.str(value)
		}
		return nil
	})
	contents := d.groupContent.mark()
	err := d.body(func() error {
		if string(d.local) == "content" {
			var c GroupContent
			_ = d.eachAttr(func(local, value []byte) error {
				if string(local) == "name" {
					c.Name = d.str(value)
				}
				return nil
			})
			d.groupContent.add(c)
		}
		return d.skip()
	})
	if err != nil {
		return err
	}
	g.Contents = d.groupContent.take(contents, g.Contents)
	return nil
}

// reason is Reason.UnmarshalXML: it starts over, whatever an earlier
// <reason/> left.
func (d *decoder) reason(r *Reason) error {
	*r = Reason{}
	return d.body(func() error {
		inJingle := d.space == NS || d.space == ""
		switch {
		case string(d.local) == "text" && inJingle:
			text, err := d.ownText()
			r.Text = text
			return err
		case string(d.local) == "sip-status" && d.space == NSSIPStatus:
			_ = d.eachAttr(func(local, value []byte) error {
				if string(local) == "code" {
					r.SIPStatus, _ = strconv.Atoi(string(value))
				}
				return nil
			})
		case inJingle && r.Condition == "":
			r.Condition = Condition(d.str(d.local))
		}
		return d.skip()
	})
}

// element is Element.UnmarshalXML, onto the info pile: the name, the
// attributes but for namespace declarations, and the inner XML as
// written (nil for <x/>, empty for <x></x>).
func (d *decoder) element() error {
	e := Element{XMLName: xml.Name{Space: d.space, Local: d.str(d.local)}}
	attrs := d.attrsOut.mark()
	for i := range d.attrs {
		a := &d.attrs[i]
		space, local := d.attrSpace(d.prefix(a.name)), d.localName(a.name)
		if space == "xmlns" || space == "" && string(local) == "xmlns" {
			continue
		}
		d.attrsOut.add(xml.Attr{Name: xml.Name{Space: space, Local: d.str(local)}, Value: d.str(d.bytesOf(a.value))})
	}
	e.Attrs = d.attrsOut.take(attrs, nil)
	if d.empty {
		if _, err := d.next(); err != nil {
			return err
		}
	} else {
		start := d.pos
		if err := d.skip(); err != nil {
			return err
		}
		e.Inner = append(make([]byte, 0, d.tok-start), d.in[start:d.tok]...)
	}
	d.info.add(e)
	return nil
}
