package jingle

import (
	"encoding/xml"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The encoder below writes what xml.Marshal writes for these types, byte
// for byte, without reflection: every element gets an end tag (never
// <x/>), an element's own namespace is an xmlns attribute written before
// the others, a struct whose XMLName has no tag and ends up without a
// namespace under a parent that has one gets a trailing xmlns="", and
// attributes in a namespace get a prefix declared on the spot. Keep it in
// step with the struct tags: the differential tests and fuzz targets in
// encode_test.go compare it with xml.Marshal.

// AppendXML appends the XML encoding of j to b and returns the extended
// buffer. The bytes are exactly those xml.Marshal(j) produces; a nil j
// appends nothing, as xml.Marshal writes nothing for it.
func (j *Jingle) AppendXML(b []byte) []byte {
	if j == nil {
		return b
	}
	e := encoder{b: slices.Grow(b, j.sizeHint())}
	e.jingle(j)
	return e.b
}

// AppendXML appends the XML encoding of m to b, exactly what
// xml.Marshal(m) (and so MarshalJMI) produces; a nil m appends nothing.
func (m *JMI) AppendXML(b []byte) []byte {
	if m == nil {
		return b
	}
	n := 2
	for i := range m.Descriptions {
		n += descriptionElements(&m.Descriptions[i])
	}
	e := encoder{b: slices.Grow(b, n*bytesPerElement)}
	e.jmi(m)
	return e.b
}

// Growing the buffer once to about the size needed beats letting append
// double it a dozen times from nothing for an offer: the size is guessed
// from the number of elements, which average about 80 bytes in what
// clients send.
const bytesPerElement = 96

func (j *Jingle) sizeHint() int {
	n := 3 // jingle, group, reason
	for i := range j.Contents {
		c := &j.Contents[i]
		n++
		if c.Description != nil {
			n += descriptionElements(c.Description)
		}
		if t := c.Transport; t != nil {
			n += 1 + len(t.Fingerprints) + 3*len(t.Candidates) // candidates are long
		}
	}
	if g := j.Group; g != nil {
		n += len(g.Contents)
	}
	size := n * bytesPerElement
	for i := range j.Info {
		size += bytesPerElement + len(j.Info[i].Inner)
	}
	return size
}

func descriptionElements(d *Description) int {
	n := 4 + len(d.RTCPFB) + len(d.HdrExts)
	for i := range d.PayloadTypes {
		n += 1 + len(d.PayloadTypes[i].Params) + len(d.PayloadTypes[i].RTCPFB)
	}
	for i := range d.Sources {
		n += 1 + len(d.Sources[i].Params)
	}
	for i := range d.SSRCGroups {
		n += 1 + len(d.SSRCGroups[i].Sources)
	}
	if d.Encryption != nil {
		n += len(d.Encryption.Crypto)
	}
	return n
}

type encoder struct {
	b []byte
	// seq is encoding/xml's counter for renaming an attribute prefix that
	// is already taken; it runs for the whole document.
	seq int
}

// start writes "<local" and, for a non-empty space, its xmlns attribute.
// The caller writes the other attributes and then calls endStart.
func (e *encoder) start(space, local string) {
	e.b = append(e.b, '<')
	e.b = append(e.b, local...)
	if space != "" {
		e.b = append(e.b, ` xmlns="`...)
		e.b = appendEscaped(e.b, space)
		e.b = append(e.b, '"')
	}
}

func (e *encoder) endStart() { e.b = append(e.b, '>') }

func (e *encoder) end(local string) {
	e.b = append(e.b, "</"...)
	e.b = append(e.b, local...)
	e.b = append(e.b, '>')
}

// empty writes an element without attributes or content.
func (e *encoder) empty(space, local string) {
	e.start(space, local)
	e.endStart()
	e.end(local)
}

func (e *encoder) attr(name, value string) {
	e.b = append(e.b, ' ')
	e.b = append(e.b, name...)
	e.b = append(e.b, `="`...)
	e.b = appendEscaped(e.b, value)
	e.b = append(e.b, '"')
}

// attrOmit writes an attribute tagged omitempty.
func (e *encoder) attrOmit(name, value string) {
	if value != "" {
		e.attr(name, value)
	}
}

func (e *encoder) uintAttr(name string, v uint64) {
	e.b = append(e.b, ' ')
	e.b = append(e.b, name...)
	e.b = append(e.b, `="`...)
	e.b = strconv.AppendUint(e.b, v, 10)
	e.b = append(e.b, '"')
}

func (e *encoder) uintAttrOmit(name string, v uint64) {
	if v != 0 {
		e.uintAttr(name, v)
	}
}

func (e *encoder) jingle(j *Jingle) {
	// The tag's name wins over j.XMLName.
	e.start(NS, "jingle")
	e.attr("action", string(j.Action))
	e.attr("sid", j.SID)
	e.attrOmit("initiator", j.Initiator)
	e.attrOmit("responder", j.Responder)
	e.endStart()
	for i := range j.Contents {
		e.content(&j.Contents[i])
	}
	if g := j.Group; g != nil {
		e.group(g)
	}
	if j.Reason != nil {
		e.reason(j.Reason)
	}
	for i := range j.Info {
		e.element(&j.Info[i], NS)
	}
	e.end("jingle")
}

func (e *encoder) content(c *Content) {
	e.start("", "content")
	e.attrOmit("creator", string(c.Creator))
	e.attr("name", c.Name)
	e.attrOmit("senders", string(c.Senders))
	e.attrOmit("disposition", c.Disposition)
	e.endStart()
	if c.Description != nil {
		e.description(c.Description, "", "")
	}
	if c.Transport != nil {
		e.transport(c.Transport)
	}
	e.end("content")
}

// elementName is the name encoding/xml gives a struct whose XMLName field
// has no tag: that field if it has a local name, else the struct field's
// tag.
func elementName(n xml.Name, fieldSpace, fieldLocal string) (space, local string) {
	if n.Local != "" {
		return n.Space, n.Local
	}
	return fieldSpace, fieldLocal
}

// resetNS writes the xmlns="" encoding/xml adds, after the other
// attributes, to an element of such a struct that has no namespace while
// its parent's tag has one.
func (e *encoder) resetNS(space, parentSpace string) {
	if space == "" && parentSpace != "" {
		e.b = append(e.b, ` xmlns=""`...)
	}
}

// description writes d under a parent tag in parentSpace, from a field
// tagged with fieldSpace.
func (e *encoder) description(d *Description, parentSpace, fieldSpace string) {
	space, local := elementName(d.XMLName, fieldSpace, "description")
	e.start(space, local)
	e.attr("media", d.Media)
	e.attrOmit("ssrc", d.SSRC)
	e.resetNS(space, parentSpace)
	e.endStart()
	for i := range d.PayloadTypes {
		e.payloadType(&d.PayloadTypes[i])
	}
	if bw := d.Bandwidth; bw != nil {
		e.start("", "bandwidth")
		e.attr("type", bw.Type)
		e.endStart()
		e.b = appendEscaped(e.b, bw.Value)
		e.end("bandwidth")
	}
	if d.RTCPMux != nil {
		e.empty("", "rtcp-mux")
	}
	e.rtcpFB(d.RTCPFB, d.RTCPFBTrrInt)
	for _, h := range d.HdrExts {
		e.start(NSHdrExt, "rtp-hdrext")
		e.uintAttr("id", uint64(h.ID))
		e.attr("uri", h.URI)
		e.attrOmit("senders", string(h.Senders))
		e.endStart()
		e.end("rtp-hdrext")
	}
	if d.ExtmapAllowMixed != nil {
		e.empty(NSHdrExt, "extmap-allow-mixed")
	}
	for i := range d.Sources {
		e.source(&d.Sources[i], NSSSMA)
	}
	for i := range d.SSRCGroups {
		g := &d.SSRCGroups[i]
		e.start(NSSSMA, "ssrc-group")
		e.attr("semantics", g.Semantics)
		e.endStart()
		for k := range g.Sources {
			e.source(&g.Sources[k], "")
		}
		e.end("ssrc-group")
	}
	if enc := d.Encryption; enc != nil {
		e.encryption(enc)
	}
	e.end(local)
}

func (e *encoder) payloadType(pt *PayloadType) {
	e.start("", "payload-type")
	e.uintAttr("id", uint64(pt.ID))
	e.attrOmit("name", pt.Name)
	e.uintAttrOmit("clockrate", uint64(pt.Clockrate))
	e.uintAttrOmit("channels", uint64(pt.Channels))
	e.uintAttrOmit("ptime", uint64(pt.Ptime))
	e.uintAttrOmit("maxptime", uint64(pt.Maxptime))
	e.endStart()
	e.params(pt.Params)
	e.rtcpFB(pt.RTCPFB, pt.TrrInt)
	e.end("payload-type")
}

func (e *encoder) params(ps []Parameter) {
	for _, p := range ps {
		e.start("", "parameter")
		e.attr("name", p.Name)
		e.attrOmit("value", p.Value)
		e.endStart()
		e.end("parameter")
	}
}

func (e *encoder) rtcpFB(fbs []RTCPFB, trr *TrrInt) {
	for _, fb := range fbs {
		e.start(NSRTCPFB, "rtcp-fb")
		e.attr("type", fb.Type)
		e.attrOmit("subtype", fb.Subtype)
		e.endStart()
		e.end("rtcp-fb")
	}
	if trr != nil {
		e.start(NSRTCPFB, "rtcp-fb-trr-int")
		e.uintAttr("value", uint64(trr.Value))
		e.endStart()
		e.end("rtcp-fb-trr-int")
	}
}

func (e *encoder) source(s *Source, space string) {
	e.start(space, "source")
	e.uintAttr("ssrc", uint64(s.SSRC))
	e.endStart()
	e.params(s.Params)
	e.end("source")
}

func (e *encoder) encryption(enc *Encryption) {
	e.start("", "encryption")
	e.attrOmit("required", enc.Required)
	e.endStart()
	for _, c := range enc.Crypto {
		e.start("", "crypto")
		e.attr("crypto-suite", c.Suite)
		e.attr("key-params", c.KeyParams)
		e.attrOmit("session-params", c.SessionParams)
		e.attr("tag", c.Tag)
		e.endStart()
		e.end("crypto")
	}
	e.end("encryption")
}

func (e *encoder) transport(t *Transport) {
	// Its parent, <content/>, is written without a namespace, so no
	// xmlns="" is ever added.
	space, local := elementName(t.XMLName, "", "transport")
	e.start(space, local)
	e.attrOmit("ufrag", t.Ufrag)
	e.attrOmit("pwd", t.Pwd)
	e.endStart()
	for _, f := range t.Fingerprints {
		e.start(NSDTLS, "fingerprint")
		e.attr("hash", f.Hash)
		e.attrOmit("setup", f.Setup)
		e.endStart()
		e.b = appendEscaped(e.b, f.Value)
		e.end("fingerprint")
	}
	for i := range t.Candidates {
		e.candidate(&t.Candidates[i], "candidate")
	}
	if t.Remote != nil {
		e.candidate(t.Remote, "remote-candidate")
	}
	e.end(local)
}

func (e *encoder) candidate(c *Candidate, local string) {
	e.start("", local)
	e.uintAttr("component", uint64(c.Component))
	e.attrOmit("foundation", c.Foundation)
	e.uintAttr("generation", uint64(c.Generation))
	e.attrOmit("id", c.ID)
	e.attr("ip", c.IP)
	e.uintAttr("port", uint64(c.Port))
	e.uintAttrOmit("priority", uint64(c.Priority))
	e.attrOmit("protocol", c.Protocol)
	e.attrOmit("type", c.Type)
	e.attrOmit("rel-addr", c.RelAddr)
	e.uintAttrOmit("rel-port", uint64(c.RelPort))
	e.attrOmit("network", c.Network)
	e.endStart()
	e.end(local)
}

func (e *encoder) group(g *Group) {
	e.start(NSGrouping, "group")
	e.attr("semantics", g.Semantics)
	e.endStart()
	for _, c := range g.Contents {
		e.start("", "content")
		e.attr("name", c.Name)
		e.endStart()
		e.end("content")
	}
	e.end("group")
}

// reason writes what Reason.MarshalXML writes through an xml.Encoder.
func (e *encoder) reason(r *Reason) {
	e.start(NS, "reason")
	e.endStart()
	cond := r.Condition
	if cond == "" {
		cond = GeneralError
	}
	e.empty("", string(cond))
	if r.Text != "" {
		e.start("", "text")
		e.endStart()
		e.b = appendEscaped(e.b, r.Text)
		e.end("text")
	}
	if r.SIPStatus != 0 {
		e.start(NSSIPStatus, "sip-status")
		e.b = append(e.b, ` code="`...)
		e.b = strconv.AppendInt(e.b, int64(r.SIPStatus), 10)
		e.b = append(e.b, '"')
		e.endStart()
		e.end("sip-status")
	}
	e.end("reason")
}

// element writes an Element kept as it arrived, under a parent tag in
// parentSpace: its attributes as given (those in a namespace with a
// prefix declared on this tag) and its inner XML verbatim.
func (e *encoder) element(el *Element, parentSpace string) {
	space, local := elementName(el.XMLName, "", "Info")
	e.start(space, local)
	var p prefixes
	for _, a := range el.Attrs {
		if a.Name.Local == "" {
			continue
		}
		e.b = append(e.b, ' ')
		if a.Name.Space != "" {
			e.b = append(e.b, e.prefixFor(&p, a.Name.Space)...)
			e.b = append(e.b, ':')
		}
		e.b = append(e.b, a.Name.Local...)
		e.b = append(e.b, `="`...)
		e.b = appendEscaped(e.b, a.Value)
		e.b = append(e.b, '"')
	}
	e.resetNS(space, parentSpace)
	e.endStart()
	e.b = append(e.b, el.Inner...)
	e.end(local)
}

// prefixes are the attribute prefixes declared on the tag being written;
// encoding/xml scopes them to that element, and nothing nested inside an
// Element is encoded, so they live as long as one tag.
type prefixes struct {
	prefix, url []string
}

func (p *prefixes) byURL(url string) string {
	for i, u := range p.url {
		if u == url {
			return p.prefix[i]
		}
	}
	return ""
}

func (p *prefixes) taken(prefix string) bool {
	for _, q := range p.prefix {
		if q == prefix {
			return true
		}
	}
	return false
}

// prefixFor is encoding/xml's createAttrPrefix: the prefix already bound
// to url on this tag, "xml" for the XML namespace, or a new one named
// after url's last path segment, declared right here (after the space
// that precedes the attribute).
func (e *encoder) prefixFor(p *prefixes, url string) string {
	if prefix := p.byURL(url); prefix != "" {
		return prefix
	}
	if url == xmlURL {
		return "xml"
	}
	prefix := strings.TrimRight(url, "/")
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		prefix = prefix[i+1:]
	}
	if prefix == "" || !isXMLName(prefix) || strings.Contains(prefix, ":") {
		prefix = "_"
	}
	if len(prefix) >= 3 && strings.EqualFold(prefix[:3], "xml") {
		prefix = "_" + prefix
	}
	if p.taken(prefix) {
		for e.seq++; ; e.seq++ {
			if id := prefix + "_" + strconv.Itoa(e.seq); !p.taken(id) {
				prefix = id
				break
			}
		}
	}
	p.prefix = append(p.prefix, prefix)
	p.url = append(p.url, url)
	e.b = append(e.b, "xmlns:"...)
	e.b = append(e.b, prefix...)
	e.b = append(e.b, `="`...)
	e.b = appendEscaped(e.b, url)
	e.b = append(e.b, `" `...)
	return prefix
}

func (e *encoder) jmi(m *JMI) {
	// Without a local name in XMLName, encoding/xml names the element
	// after its type.
	space, local := elementName(m.XMLName, "", "JMI")
	e.start(space, local)
	e.attr("id", m.ID)
	e.endStart()
	for i := range m.Descriptions {
		e.description(&m.Descriptions[i], space, NSRTP)
	}
	if m.Reason != nil {
		e.reason(m.Reason)
	}
	e.end(local)
}

const xmlURL = "http://www.w3.org/XML/1998/namespace"

// appendEscaped appends s escaped as encoding/xml escapes text and
// attribute values: the five markup characters, tab, newline and carriage
// return as character references, and every byte of invalid UTF-8 and
// every character outside XML's Char production as U+FFFD.
func appendEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			esc := asciiEscape[c]
			i++
			if esc == "" {
				continue
			}
			b = append(b, s[last:i-1]...)
			b = append(b, esc...)
			last = i
			continue
		}
		r, width := utf8.DecodeRuneInString(s[i:])
		i += width
		if r == utf8.RuneError && width == 1 || !isInCharacterRange(r) {
			b = append(b, s[last:i-width]...)
			b = append(b, "\uFFFD"...)
			last = i
		}
	}
	return append(b, s[last:]...)
}

// asciiEscape is what encoding/xml writes for each ASCII byte that it does
// not write as is.
var asciiEscape = func() (t [utf8.RuneSelf]string) {
	for c := range ' ' {
		t[c] = "\uFFFD"
	}
	t['"'], t['\''], t['&'], t['<'], t['>'] = "&#34;", "&#39;", "&amp;", "&lt;", "&gt;"
	t['\t'], t['\n'], t['\r'] = "&#x9;", "&#xA;", "&#xD;"
	return t
}()

// isInCharacterRange is encoding/xml's test for XML 1.0's Char production.
func isInCharacterRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

func isNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-'
}

// isXMLName is encoding/xml's isName, the Name production of XML 1.0
// (first edition).
func isXMLName[S string | []byte](name S) bool {
	if len(name) == 0 {
		return false
	}
	for i := range len(name) {
		if name[i] >= utf8.RuneSelf {
			return isNonASCIIName(string(name))
		}
	}
	if c := name[0]; !isNameByte(c) || '0' <= c && c <= '9' || c == '.' || c == '-' {
		return false
	}
	for i := 1; i < len(name); i++ {
		if !isNameByte(name[i]) {
			return false
		}
	}
	return true
}

// isNonASCIIName asks encoding/xml, whose tables of name characters are
// not exported: an encoder refuses a processing instruction whose target
// is not a name. Names outside ASCII are rare enough in Jingle for the
// cost not to matter.
func isNonASCIIName(name string) bool {
	return xml.NewEncoder(io.Discard).EncodeToken(xml.ProcInst{Target: name}) == nil
}
