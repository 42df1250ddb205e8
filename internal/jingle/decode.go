package jingle

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
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

// tokKind is the kind of token scanner.next read.
type tokKind uint8

const (
	tokEOF   tokKind = iota // the input ended outside any element
	tokStart                // a start tag; see scanner's name, local, space, attrs
	tokEnd                  // an end tag, or the end of an empty element
	tokText                 // character data or a CDATA section; see text
	tokOther                // a comment, processing instruction or directive
)

// scanner reads XML held in memory one token at a time, mirroring the
// lexer of encoding/xml's Decoder with its defaults (Strict, no Entity
// map, no CharsetReader) rule by rule, so that it accepts and rejects the
// same inputs, and resolving namespaces as Decoder.Token does. Slices it
// hands out point into the input or into buf and are valid until the
// next call of next.
type scanner struct {
	in  []byte
	pos int
	tok int // where the current token starts

	// The current start tag.
	name  qname
	local []byte
	space string // the namespace Decoder.Token gives the element
	attrs []rawAttr
	empty bool // <name/>: next reports its end

	text []byte // the current character data, decoded

	open []openElem
	ns   []binding // namespace declarations in scope, innermost last
	buf  []byte    // decoded text and attribute values of the current token

	// arena holds the strings handed to callers: they are slices of its
	// one growing buffer (a strings.Builder never changes bytes it has
	// written), so a decoded stanza costs a few allocations, not one per
	// attribute.
	arena strings.Builder
}

// The scanner locates names and values by offsets rather than slices:
// they are copied around for every tag, and offsets cost no write
// barriers.

// qname is the name in[start:end]; when colon >= 0 it splits the name
// into prefix and local name as Decoder.nsname does.
type qname struct {
	start, colon, end int
	colons            int
}

// span is text in in[start:end], or in buf[start:end] once decoded.
type span struct {
	start, end int
	decoded    bool
}

type rawAttr struct {
	name  qname
	value span
}

type openElem struct {
	name   qname
	nsBase int // len(scanner.ns) before the element's declarations
}

// binding is a namespace declaration: the prefix in[start:end], empty
// for the default namespace.
type binding struct {
	start, end int
	uri        string
}

func (s *scanner) prefix(n qname) []byte {
	if n.colon < 0 {
		return nil
	}
	return s.in[n.start:n.colon]
}

func (s *scanner) localName(n qname) []byte {
	if n.colon < 0 {
		return s.in[n.start:n.end]
	}
	return s.in[n.colon+1 : n.end]
}

func (s *scanner) bytesOf(t span) []byte {
	if t.decoded {
		return s.buf[t.start:t.end]
	}
	return s.in[t.start:t.end]
}

func (s *scanner) syntax(msg string) error {
	line := 1 + bytes.Count(s.in[:min(s.pos, len(s.in))], []byte{'\n'})
	return &xml.SyntaxError{Msg: msg, Line: line}
}

func (s *scanner) unexpectedEOF() error { return s.syntax("unexpected EOF") }

// str returns b as a string from the arena.
func (s *scanner) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	n := s.arena.Len()
	s.arena.Write(b)
	return s.arena.String()[n:]
}

// next reads the next token.
func (s *scanner) next() (tokKind, error) {
	if s.empty {
		s.empty = false
		s.pop()
		return tokEnd, nil
	}
	s.buf = s.buf[:0]
	s.tok = s.pos
	if s.pos >= len(s.in) {
		if len(s.open) > 0 {
			return 0, s.unexpectedEOF()
		}
		return tokEOF, nil
	}
	if s.in[s.pos] != '<' {
		t, err := s.chars(0)
		s.text = s.bytesOf(t)
		return tokText, err
	}
	s.pos++
	c, err := s.mustByte()
	if err != nil {
		return 0, err
	}
	switch c {
	case '/':
		return tokEnd, s.endTag()
	case '?':
		return tokOther, s.procInst()
	case '!':
		return s.bang()
	}
	s.pos--
	return tokStart, s.startTag()
}

func (s *scanner) mustByte() (byte, error) {
	if s.pos >= len(s.in) {
		return 0, s.unexpectedEOF()
	}
	c := s.in[s.pos]
	s.pos++
	return c, nil
}

// skipSpace is Decoder.space.
func (s *scanner) skipSpace() {
	for s.pos < len(s.in) {
		switch s.in[s.pos] {
		case ' ', '\r', '\n', '\t':
			s.pos++
		default:
			return
		}
	}
}

// readName is Decoder.name: bytes that are ASCII name bytes or not
// ASCII, which must then form an XML name. An empty name: none there.
func (s *scanner) readName() (qname, error) {
	in := s.in
	n := qname{start: s.pos, colon: -1}
	i := s.pos
	ascii := true
loop:
	for ; i < len(in); i++ {
		switch nameByte[in[i]] {
		case nameStop:
			break loop
		case nameColon:
			n.colons++
			n.colon = i
		case nameNonASCII:
			ascii = false
		}
	}
	s.pos, n.end = i, i
	if i >= len(in) {
		return n, s.unexpectedEOF()
	}
	if i == n.start {
		return n, nil
	}
	if ascii && !nameStart[in[n.start]] || !ascii && !isNonASCIIName(string(in[n.start:i])) {
		return n, s.syntax("invalid XML name: " + string(in[n.start:i]))
	}
	if n.colons != 1 || n.colon == n.start || n.colon == i-1 {
		n.colon = -1
	}
	return n, nil
}

// nameByte classes the bytes readName takes: ASCII name bytes, colons
// among them, and every byte outside ASCII (checked later); and nameStart
// marks the ASCII bytes a name may start with.
var nameByte, nameStart = func() (class [256]uint8, first [utf8.RuneSelf]bool) {
	for c := range 256 {
		switch {
		case c >= utf8.RuneSelf:
			class[c] = nameNonASCII
		case c == ':':
			class[c] = nameColon
		case isNameByte(byte(c)):
			class[c] = nameASCII
		}
		if c < utf8.RuneSelf {
			first[c] = isNameByte(byte(c)) && !('0' <= c && c <= '9' || c == '.' || c == '-')
		}
	}
	return class, first
}()

const (
	nameStop = iota
	nameASCII
	nameColon
	nameNonASCII
)

// nsName is Decoder.nsname: a name with at most one colon. ok is false
// without a name.
func (s *scanner) nsName() (n qname, ok bool, err error) {
	n, err = s.readName()
	return n, err == nil && n.end > n.start && n.colons <= 1, err
}

func (s *scanner) startTag() error {
	name, ok, err := s.nsName()
	if err != nil {
		return err
	}
	if !ok {
		return s.syntax("expected element name after <")
	}
	s.name = name
	s.attrs = s.attrs[:0]
	for {
		s.skipSpace()
		c, err := s.mustByte()
		if err != nil {
			return err
		}
		if c == '/' {
			if c, err = s.mustByte(); err != nil {
				return err
			}
			if c != '>' {
				return s.syntax("expected /> in element")
			}
			s.empty = true
			break
		}
		if c == '>' {
			break
		}
		s.pos--
		if err := s.attr(); err != nil {
			return err
		}
	}
	s.push()
	return nil
}

func (s *scanner) attr() error {
	name, ok, err := s.nsName()
	if err != nil {
		return err
	}
	if !ok {
		return s.syntax("expected attribute name in element")
	}
	s.skipSpace()
	c, err := s.mustByte()
	if err != nil {
		return err
	}
	if c != '=' {
		return s.syntax("attribute name without = in element")
	}
	s.skipSpace()
	if c, err = s.mustByte(); err != nil {
		return err
	}
	if c != '"' && c != '\'' {
		return s.syntax("unquoted or missing attribute value in element")
	}
	value, err := s.chars(c)
	if err != nil {
		return err
	}
	s.attrs = push(s.attrs, rawAttr{name: name, value: value})
	return nil
}

// push opens the element of the start tag just read: its namespace
// declarations first, since they apply to its own name, as in
// Decoder.Token.
func (s *scanner) push() {
	base := len(s.ns)
	for i := range s.attrs {
		a := &s.attrs[i]
		switch {
		case string(s.prefix(a.name)) == "xmlns":
			s.ns = push(s.ns, binding{start: a.name.colon + 1, end: a.name.end, uri: s.uri(s.bytesOf(a.value))})
		case a.name.colon < 0 && string(s.in[a.name.start:a.name.end]) == "xmlns":
			s.ns = push(s.ns, binding{uri: s.uri(s.bytesOf(a.value))})
		}
	}
	s.open = push(s.open, openElem{name: s.name, nsBase: base})
	s.local = s.localName(s.name)
	s.space = s.elementSpace(s.prefix(s.name), s.local)
}

func (s *scanner) pop() {
	e := s.open[len(s.open)-1]
	s.ns = s.ns[:e.nsBase]
	s.open = s.open[:len(s.open)-1]
}

// elementSpace is Decoder.translate for an element name.
func (s *scanner) elementSpace(prefix, local []byte) string {
	switch {
	case string(prefix) == "xmlns":
		return "xmlns"
	case string(prefix) == "xml":
		return xmlURL
	case prefix == nil && string(local) == "xmlns":
		return ""
	}
	if uri, ok := s.lookup(prefix); ok {
		return uri
	}
	return s.str(prefix) // an unknown prefix stands for itself
}

// attrSpace is Decoder.translate for an attribute name: no default
// namespace.
func (s *scanner) attrSpace(prefix []byte) string {
	switch string(prefix) {
	case "":
		return ""
	case "xmlns":
		return "xmlns"
	case "xml":
		return xmlURL
	}
	if uri, ok := s.lookup(prefix); ok {
		return uri
	}
	return s.str(prefix)
}

func (s *scanner) lookup(prefix []byte) (string, bool) {
	for i := len(s.ns) - 1; i >= 0; i-- {
		if b := &s.ns[i]; string(s.in[b.start:b.end]) == string(prefix) {
			return s.ns[i].uri, true
		}
	}
	return "", false
}

// uri is the namespace a declaration binds, shared with the constants
// when it is one of them.
func (s *scanner) uri(v []byte) string {
	for _, ns := range knownNS {
		if string(v) == ns {
			return ns
		}
	}
	return s.str(v)
}

var knownNS = [...]string{
	NS, NSRTP, NSRTCPFB, NSHdrExt, NSSSMA, NSICEUDP, NSDTLS, NSGrouping,
	NSRTPInfo, NSRawUDP, NSDTMF, NSSIPStatus, NSErrors, NSRTPErrors, NSJMI,
}

func (s *scanner) endTag() error {
	n, ok, err := s.nsName()
	if err != nil {
		return err
	}
	if !ok {
		return s.syntax("expected element name after </")
	}
	name := s.in[n.start:n.end]
	s.skipSpace()
	c, err := s.mustByte()
	if err != nil {
		return err
	}
	if c != '>' {
		return s.syntax("invalid characters between </" + string(name) + " and >")
	}
	if len(s.open) == 0 {
		return s.syntax("unexpected end element </" + string(name) + ">")
	}
	// Decoder.popElement compares prefix and local name as written, which
	// is comparing the names.
	top := s.open[len(s.open)-1].name
	if string(s.in[top.start:top.end]) != string(name) {
		return s.syntax("element <" + string(s.in[top.start:top.end]) + "> closed by </" + string(name) + ">")
	}
	s.pop()
	return nil
}

// procInst reads a processing instruction after "<?", and checks the
// version and encoding of an XML declaration as encoding/xml does.
func (s *scanner) procInst() error {
	t, err := s.readName()
	if err != nil {
		return err
	}
	if t.end == t.start {
		return s.syntax("expected target name after <?")
	}
	target := s.in[t.start:t.end]
	s.skipSpace()
	n := bytes.Index(s.in[s.pos:], []byte("?>"))
	if n < 0 {
		s.pos = len(s.in)
		return s.unexpectedEOF()
	}
	content := s.in[s.pos : s.pos+n]
	s.pos += n + 2
	if string(target) != "xml" {
		return nil
	}
	if ver := procInstParam("version=", content); ver != "" && ver != "1.0" {
		return fmt.Errorf("xml: unsupported version %q; only version 1.0 is supported", ver)
	}
	if enc := procInstParam("encoding=", content); enc != "" && !strings.EqualFold(enc, "utf-8") {
		return fmt.Errorf("xml: encoding %q declared but Decoder.CharsetReader is nil", enc)
	}
	return nil
}

// procInstParam is encoding/xml's procInst, with the '=' in param.
func procInstParam(param string, content []byte) string {
	s := string(content)
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

// bang reads what follows "<!": a comment, a CDATA section (character
// data) or a directive.
func (s *scanner) bang() (tokKind, error) {
	c, err := s.mustByte()
	if err != nil {
		return 0, err
	}
	switch c {
	case '-':
		return tokOther, s.comment()
	case '[':
		for i := range len("CDATA[") {
			if c, err = s.mustByte(); err != nil {
				return 0, err
			}
			if c != "CDATA["[i] {
				return 0, s.syntax("invalid <![ sequence")
			}
		}
		t, err := s.cdata()
		s.text = s.bytesOf(t)
		return tokText, err
	}
	return tokOther, s.directive()
}

// comment reads a comment after "<!-": the first "--" must end it.
func (s *scanner) comment() error {
	c, err := s.mustByte()
	if err != nil {
		return err
	}
	if c != '-' {
		return s.syntax("invalid sequence <!- not part of <!--")
	}
	n := bytes.Index(s.in[s.pos:], []byte("--"))
	if n < 0 || s.pos+n+2 >= len(s.in) {
		s.pos = len(s.in)
		return s.unexpectedEOF()
	}
	s.pos += n + 2
	if s.in[s.pos] != '>' {
		return s.syntax(`invalid sequence "--" not allowed in comments`)
	}
	s.pos++
	return nil
}

// directive skips <!DOCTYPE …> and the like exactly as encoding/xml
// does: quoted '>' does not end it, nor do nested '<' … '>' pairs, and an
// embedded comment runs to "-->". The byte after "<!" was read and takes
// no part in this, as there.
func (s *scanner) directive() error {
	var inquote byte
	depth := 0
	for {
		b, err := s.mustByte()
		if err != nil {
			return err
		}
		if inquote == 0 && b == '>' && depth == 0 {
			return nil
		}
	handle:
		switch {
		case b == inquote:
			inquote = 0
		case inquote != 0:
		case b == '\'' || b == '"':
			inquote = b
		case b == '>':
			depth--
		case b == '<':
			for i := range len("!--") {
				if b, err = s.mustByte(); err != nil {
					return err
				}
				if b != "!--"[i] {
					depth++
					goto handle
				}
			}
			var b0, b1 byte
			for {
				if b, err = s.mustByte(); err != nil {
					return err
				}
				if b0 == '-' && b1 == '-' && b == '>' {
					break
				}
				b0, b1 = b1, b
			}
		}
	}
}

// plain marks the bytes character data and attribute values take as they
// are: printable ASCII but for markup and quotes, tab and newline.
var plain = func() (t [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `<&>'"` {
		t[c] = false
	}
	t['\t'], t['\n'] = true, true
	return t
}()

// chars is Decoder.text outside CDATA: character data up to '<' (quote
// 0, the '<' left unread), or an attribute value up to its closing quote
// (read). It decodes references and turns "\r\n" and '\r' into '\n'; the
// result is the input itself when there was nothing to decode.
func (s *scanner) chars(quote byte) (span, error) {
	in := s.in
	start, i := s.pos, s.pos
	base := len(s.buf) // decoded text, once something needed decoding, is buf[base:]
	decoding := false
	flushed := start // in[flushed:i] is not yet in buf
	for {
		for i < len(in) && plain[in[i]] {
			i++
		}
		if i >= len(in) {
			if quote != 0 {
				s.pos = i
				return span{}, s.unexpectedEOF()
			}
			break
		}
		c := in[i]
		if c == quote && quote != 0 {
			s.pos = i + 1
			return s.charsEnd(start, i, flushed, base, decoding), nil
		}
		switch {
		case c == '<':
			if quote != 0 {
				s.pos = i
				return span{}, s.syntax("unescaped < inside quoted string")
			}
			s.pos = i
			return s.charsEnd(start, i, flushed, base, decoding), nil
		case c == '>':
			// Decoder.text looks at the bytes as read, so "]]" from a
			// reference does not count; text never starts after "]]".
			if quote == 0 && i-2 >= start && in[i-1] == ']' && in[i-2] == ']' {
				s.pos = i
				return span{}, s.syntax("unescaped ]]> not in CDATA section")
			}
			i++
		case c == '\'' || c == '"':
			i++
		case c == '&':
			s.buf = append(s.buf, in[flushed:i]...)
			decoding = true
			r, n, err := s.reference(i)
			if err != nil {
				return span{}, err
			}
			s.buf = utf8.AppendRune(s.buf, r)
			i += n
			flushed = i
		case c == '\r':
			s.buf = append(s.buf, in[flushed:i]...)
			s.buf = append(s.buf, '\n')
			decoding = true
			i++
			if i < len(in) && in[i] == '\n' {
				i++
			}
			flushed = i
		case c >= utf8.RuneSelf:
			n, err := s.checkRune(i)
			if err != nil {
				return span{}, err
			}
			i += n
		default:
			s.pos = i
			return span{}, s.syntax(fmt.Sprintf("illegal character code %U", rune(c)))
		}
	}
	s.pos = i
	return s.charsEnd(start, i, flushed, base, decoding), nil
}

func (s *scanner) charsEnd(start, end, flushed, base int, decoding bool) span {
	if !decoding {
		return span{start: start, end: end}
	}
	s.buf = append(s.buf, s.in[flushed:end]...)
	return span{start: base, end: len(s.buf), decoded: true}
}

// checkRune checks the UTF-8 sequence at in[i] as Decoder.text does once
// the text is read: valid, and a character XML allows.
func (s *scanner) checkRune(i int) (int, error) {
	r, n := utf8.DecodeRune(s.in[i:])
	if r == utf8.RuneError && n == 1 {
		s.pos = i
		return 0, s.syntax("invalid UTF-8")
	}
	if !isInCharacterRange(r) {
		s.pos = i
		return 0, s.syntax(fmt.Sprintf("illegal character code %U", r))
	}
	return n, nil
}

// reference decodes the reference at in[i] ('&') as Decoder.text does
// without an entity map: one of the five predefined entities or a
// character reference, ending with ';'. n is its length.
func (s *scanner) reference(i int) (r rune, n int, err error) {
	in := s.in
	j := i + 1
	if j < len(in) && in[j] == '#' {
		return s.charRef(i)
	}
	for j < len(in) && (in[j] >= utf8.RuneSelf || isNameByte(in[j])) {
		j++
	}
	if j >= len(in) {
		s.pos = j
		return 0, 0, s.unexpectedEOF()
	}
	r = -1
	if in[j] == ';' {
		switch string(in[i+1 : j]) {
		case "lt":
			r = '<'
		case "gt":
			r = '>'
		case "amp":
			r = '&'
		case "apos":
			r = '\''
		case "quot":
			r = '"'
		}
	}
	if r < 0 {
		s.pos = i
		return 0, 0, s.syntax("invalid character entity " + string(in[i:j]))
	}
	return r, j + 1 - i, nil
}

// charRef decodes &#…; or &#x…; (lower-case x only, as encoding/xml).
func (s *scanner) charRef(i int) (r rune, n int, err error) {
	in := s.in
	j := i + 2
	base := rune(10)
	if j < len(in) && in[j] == 'x' {
		base = 16
		j++
	}
	digits := j
	v := rune(0)
	for ; j < len(in); j++ {
		d := digitValue(in[j])
		if d >= base {
			break
		}
		if v <= utf8.MaxRune { // beyond it, only "too big" matters
			v = v*base + d
		}
	}
	if j >= len(in) {
		s.pos = j
		return 0, 0, s.unexpectedEOF()
	}
	if in[j] != ';' || j == digits || v > utf8.MaxRune {
		s.pos = i
		return 0, 0, s.syntax("invalid character entity " + string(in[i:j]))
	}
	// string(rune(v)) turns a surrogate into U+FFFD, which XML allows.
	r = v
	if !utf8.ValidRune(r) {
		r = utf8.RuneError
	}
	if !isInCharacterRange(r) {
		s.pos = i
		return 0, 0, s.syntax(fmt.Sprintf("illegal character code %U", r))
	}
	return r, j + 1 - i, nil
}

// digitValue is the value of a hexadecimal digit, or 16.
func digitValue(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return rune(c-'A') + 10
	}
	return 16
}

// cdata reads a CDATA section after "<![CDATA[", up to the first "]]>".
func (s *scanner) cdata() (span, error) {
	n := bytes.Index(s.in[s.pos:], []byte("]]>"))
	if n < 0 {
		s.pos = len(s.in)
		return span{}, s.syntax("unexpected EOF in CDATA section")
	}
	start, end := s.pos, s.pos+n
	base, flushed := len(s.buf), start
	decoding := false
	for i := start; i < end; {
		c := s.in[i]
		switch {
		case c == '\r':
			s.buf = append(s.buf, s.in[flushed:i]...)
			s.buf = append(s.buf, '\n')
			decoding = true
			i++
			if i < end && s.in[i] == '\n' {
				i++
			}
			flushed = i
		case c >= utf8.RuneSelf:
			n, err := s.checkRune(i)
			if err != nil {
				return span{}, err
			}
			i += n
		case c < ' ' && c != '\t' && c != '\n':
			s.pos = i
			return span{}, s.syntax(fmt.Sprintf("illegal character code %U", rune(c)))
		default:
			i++
		}
	}
	s.pos = end + len("]]>")
	return s.charsEnd(start, end, flushed, base, decoding), nil
}

// skip reads up to the end of the element just opened.
func (s *scanner) skip() error {
	depth := 0
	for {
		k, err := s.next()
		if err != nil {
			return err
		}
		switch k {
		case tokStart:
			depth++
		case tokEnd:
			if depth == 0 {
				return nil
			}
			depth--
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
