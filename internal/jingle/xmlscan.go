package jingle

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The scanner behind Decode and ChildNames: XML tokens read in place from
// the input, with encoding/xml's acceptance rules, entity handling and
// namespace resolution, but no token values or reflection. Decode maps its
// tokens onto the Jingle types (decode.go).

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
