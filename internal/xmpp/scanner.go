package xmpp

import (
	"bufio"
	"encoding/xml"
	"unicode/utf8"
)

// scanner is the steady-state reader of an open stream: it finds where each
// top-level element ends and keeps its raw bytes, without building tokens
// for the payload. It accepts and rejects exactly what encoding/xml (Strict,
// no entity map, no charset reader) accepts and rejects, mirroring its
// lexer rule by rule; the few things it cannot judge cheaply (non-ASCII
// names, <?xml?> declarations) set complex, and the captured element is
// then decoded with encoding/xml itself. Functions report failure as false
// with the cause in err; streamReader.wrap classifies it.
type scanner struct {
	br  *bufio.Reader
	lr  *limitedReader // for the size limit and the first read error
	all []byte         // bytes peeked from br; all[:pos] are consumed
	win []byte         // all up to the end of the byte budget
	pos int
	off int64 // stream offset of win[0]
	// budgetEnd is the stream offset the current top-level token may not
	// reach: the limit that limitedReader enforces on the decoder.
	budgetEnd int64

	capturing bool
	capStart  int    // where the capture starts in win
	buf       []byte // captured bytes of windows already discarded
	capture   []byte // the finished capture, see captured

	ctx streamContext

	names    []byte // names of the open elements, concatenated
	nameEnds []int  // end of each open element's name in names
	top      []byte // the top-level element's name as written
	vals     []byte // attribute names and decoded values of the top-level tag
	attrs    []scanAttr
	complex  bool // needs encoding/xml's judgement, see above
	bad      bool // the current text has an illegal character or bad UTF-8
	err      error
}

// scanAttr locates one attribute of the top-level start tag in vals.
type scanAttr struct {
	name, colon, val, end int // colon < 0: the name has no prefix
}

func (s *scanner) syntax(msg string) bool {
	if s.err == nil {
		s.err = &xml.SyntaxError{Msg: msg}
	}
	return false
}

// getc is small enough to be inlined: it runs for every byte.
func (s *scanner) getc() (b byte, ok bool) {
	if s.pos >= len(s.win) && !s.more() {
		return
	}
	b = s.win[s.pos]
	s.pos++
	return b, true
}

// ungetc gives back the byte the last getc returned; it is still in win.
func (s *scanner) ungetc() { s.pos-- }

// more refills win once it is used up, within the byte budget, and
// reports whether a byte is there to read.
func (s *scanner) more() bool {
	if s.err != nil {
		return false
	}
	if s.off+int64(s.pos) >= s.budgetEnd {
		s.lr.exceeded = true
		s.err = errTooBig
		return false
	}
	s.flush()
	if _, err := s.br.Peek(1); err != nil {
		s.lr.noteErr(err)
		s.err = err
		return false
	}
	s.all, _ = s.br.Peek(s.br.Buffered())
	s.setEnd()
	return true
}

// flush moves the consumed bytes out of br, into the capture if one runs.
func (s *scanner) flush() {
	if s.capturing {
		s.buf = append(s.buf, s.win[s.capStart:s.pos]...)
		s.capStart = 0
	}
	_, _ = s.br.Discard(s.pos) // pos <= Buffered
	s.off += int64(s.pos)
	s.all, s.win, s.pos = nil, nil, 0
}

func (s *scanner) setEnd() {
	end := len(s.all)
	if rem := s.budgetEnd - s.off; rem < int64(end) {
		end = int(max(rem, int64(s.pos)))
	}
	s.win = s.all[:end]
}

// beginToken starts the byte budget of a top-level token. after is the
// number of its bytes already counted against the previous token: the '<'
// that encoding/xml reads to end a run of text and then unreads.
func (s *scanner) beginToken(after int64) {
	s.budgetEnd = s.off + int64(s.pos) + s.lr.max + after
	s.setEnd()
}

// startCapture keeps every byte from the '<' just read.
func (s *scanner) startCapture() {
	s.capturing, s.capStart, s.buf, s.capture = true, s.pos-1, s.buf[:0], nil
}

// captured ends the capture and returns its bytes, valid until the next
// getc.
func (s *scanner) captured() []byte {
	if !s.capturing {
		return s.capture
	}
	s.capturing = false
	if len(s.buf) == 0 {
		s.capture = s.win[s.capStart:s.pos]
	} else {
		s.buf = append(s.buf, s.win[s.capStart:s.pos]...)
		s.capture = s.buf
	}
	return s.capture
}

// snapshot returns the capture so far without ending it, valid until the
// next getc.
func (s *scanner) snapshot() []byte {
	s.buf = append(s.buf, s.win[s.capStart:s.pos]...)
	s.capStart = s.pos
	return s.buf
}

// offset is the stream offset of the next byte.
func (s *scanner) offset() int64 { return s.off + int64(s.pos) }

// release hands the consumed bytes back to br so the decoder and buffered()
// see the stream where the scanner left it.
func (s *scanner) release() {
	s.capturing, s.capture = false, nil
	s.flush()
	if cap(s.buf) > 64<<10 {
		s.buf = nil // do not pin one huge stanza's buffer
	}
	s.names, s.nameEnds = s.names[:0], s.nameEnds[:0]
}

// space skips XML white space like encoding/xml's Decoder.space.
func (s *scanner) space() {
	for {
		b, ok := s.getc()
		if !ok {
			return // the caller's next getc fails the same way
		}
		if b != ' ' && b != '\r' && b != '\n' && b != '\t' {
			s.ungetc()
			return
		}
	}
}

func isNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-'
}

// readName appends a name to *dst like encoding/xml's readName: any byte
// that is a name byte or not ASCII. false without a name (the byte is
// unread) or on a read error. It then checks the name like isName (and
// nsname unless pi): non-ASCII names are left to encoding/xml.
func (s *scanner) readName(dst *[]byte, pi bool) bool {
	b, ok := s.getc()
	if !ok {
		return false
	}
	if b < utf8.RuneSelf && !isNameByte(b) {
		s.ungetc()
		return s.syntax("expected a name")
	}
	first, colons, ascii := b, 0, true
	for {
		if b == ':' {
			colons++
		}
		ascii = ascii && b < utf8.RuneSelf
		*dst = append(*dst, b)
		// The rest of an ASCII name at once, while it is in the window.
		i := s.pos
		for i < len(s.win) && isNameByte(s.win[i]) {
			if s.win[i] == ':' {
				colons++
			}
			i++
		}
		*dst = append(*dst, s.win[s.pos:i]...)
		s.pos = i
		if b, ok = s.getc(); !ok {
			return false
		}
		if b < utf8.RuneSelf && !isNameByte(b) {
			s.ungetc()
			break
		}
	}
	switch {
	case first < utf8.RuneSelf && ('0' <= first && first <= '9' || first == '.' || first == '-'):
		return s.syntax("invalid XML name")
	case !pi && colons > 1:
		return s.syntax("invalid XML name: more than one colon")
	case !ascii:
		s.complex = true
	}
	return true
}

// text scans character data like encoding/xml's Decoder.text: up to '<'
// (unread) for quote < 0, up to and including the closing quote
// otherwise, or up to and including "]]>" for cdata. keep appends the
// decoded text to vals. Like encoding/xml it fails on a bad entity, "]]>"
// or '<' at once, but on an illegal character only once the text ends.
func (s *scanner) text(quote int, cdata, keep bool) bool {
	var b0, b1 byte
	s.bad = false
	for {
		// Runs of bytes that need no attention at once: they can end
		// neither the text nor "]]>", and need no decoding (but "\r\n"
		// does: its '\n' takes the slow path).
		i := s.pos
		for i < len(s.win) && plain[s.win[i]] && int(s.win[i]) != quote && b1 != '\r' {
			i++
		}
		if i > s.pos {
			if keep {
				s.vals = append(s.vals, s.win[s.pos:i]...)
			}
			s.pos = i
			b0, b1 = 'x', 'x'
		}
		b, ok := s.getc()
		if !ok {
			return false
		}
		if quote < 0 && b0 == ']' && b1 == ']' && b == '>' {
			if cdata {
				break
			}
			return s.syntax("unescaped ]]> not in CDATA section")
		}
		switch {
		case cdata:
		case b == '<':
			if quote >= 0 {
				return s.syntax("unescaped < inside quoted string")
			}
			s.ungetc()
			return s.textEnd()
		case quote >= 0 && b == byte(quote):
			return s.textEnd()
		case b == '&':
			if !s.entity(keep) {
				return false
			}
			b0, b1 = 0, 0
			continue
		}
		switch {
		case b >= utf8.RuneSelf:
			if !s.rune(b, keep) {
				return false
			}
			b0, b1 = b1, utf8.RuneSelf
			continue
		case b < ' ' && b != '\t' && b != '\n' && b != '\r':
			s.bad = true
		}
		if keep {
			switch {
			case b == '\r':
				s.vals = append(s.vals, '\n')
			case b1 == '\r' && b == '\n':
			default:
				s.vals = append(s.vals, b)
			}
		}
		b0, b1 = b1, b
	}
	return s.textEnd()
}

// plain marks the bytes text may skip over: printable ASCII except markup,
// tab and newline.
var plain = func() (t [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range "<&]>" {
		t[c] = false
	}
	t['\t'], t['\n'] = true, true
	return t
}()

func (s *scanner) textEnd() bool {
	if s.bad {
		return s.syntax("illegal character or invalid UTF-8")
	}
	return true
}

// rune checks the UTF-8 sequence that starts with b as utf8.DecodeRune and
// isInCharacterRange would; a byte that cannot continue it is unread.
func (s *scanner) rune(b byte, keep bool) bool {
	var p [utf8.UTFMax]byte
	p[0] = b
	n := 1
	want := 0
	switch {
	case b&0xE0 == 0xC0:
		want = 2
	case b&0xF0 == 0xE0:
		want = 3
	case b&0xF8 == 0xF0:
		want = 4
	}
	for n < want {
		c, ok := s.getc()
		if !ok {
			return false
		}
		if c&0xC0 != 0x80 {
			s.ungetc()
			break
		}
		p[n] = c
		n++
	}
	r, size := utf8.DecodeRune(p[:n])
	if r == utf8.RuneError && size <= 1 || size != n || r == 0xFFFE || r == 0xFFFF {
		s.bad = true
	}
	if keep {
		s.vals = append(s.vals, p[:n]...)
	}
	return true
}

// entity checks the reference after '&' as encoding/xml does without an
// entity map: the five predefined names or a character reference, up to
// ';'. The character it stands for is checked when the text ends.
func (s *scanner) entity(keep bool) bool {
	b, ok := s.getc()
	if !ok {
		return false
	}
	if b != '#' {
		var name [4]byte
		n := 0
		for b >= utf8.RuneSelf || isNameByte(b) {
			if n < len(name) {
				name[n] = b
			}
			n++
			if b, ok = s.getc(); !ok {
				return false
			}
		}
		r := rune(-1)
		if b == ';' && n <= len(name) {
			switch string(name[:n]) {
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
			return s.syntax("invalid character entity")
		}
		if keep {
			s.vals = append(s.vals, byte(r))
		}
		return true
	}
	if b, ok = s.getc(); !ok {
		return false
	}
	base := uint64(10)
	if b == 'x' {
		base = 16
		if b, ok = s.getc(); !ok {
			return false
		}
	}
	var v uint64
	digits := 0
	for {
		d := uint64(base) // not a digit
		switch {
		case '0' <= b && b <= '9':
			d = uint64(b - '0')
		case base == 16 && 'a' <= b && b <= 'f':
			d = uint64(b-'a') + 10
		case base == 16 && 'A' <= b && b <= 'F':
			d = uint64(b-'A') + 10
		}
		if d >= base {
			break
		}
		if v <= utf8.MaxRune { // beyond it only "too big" matters
			v = v*base + d
		}
		digits++
		if b, ok = s.getc(); !ok {
			return false
		}
	}
	if b != ';' || digits == 0 || v > utf8.MaxRune {
		return s.syntax("invalid character entity")
	}
	// string(rune(v)) turns surrogates into U+FFFD, which is legal.
	r := rune(v)
	if !utf8.ValidRune(r) {
		r = utf8.RuneError
	}
	if !isInCharacterRange(r) {
		s.bad = true
	}
	if keep {
		s.vals = utf8.AppendRune(s.vals, r)
	}
	return true
}

// isInCharacterRange is encoding/xml's: the Char production of XML 1.0.
func isInCharacterRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
