package xmpp

// The markup rules of the scanner, each mirroring the branch of
// encoding/xml's rawToken that reads the same construct.

// content scans the rest of an element whose start tag was just read, up
// to and including its end tag; innerEnd is the stream offset of that end
// tag's '<'.
func (s *scanner) content() (innerEnd int64, ok bool) {
	for {
		b, ok := s.getc()
		if !ok {
			return 0, false
		}
		if b != '<' {
			s.ungetc()
			if !s.text(-1, false, false) {
				return 0, false
			}
			continue
		}
		lt := s.offset() - 1
		if b, ok = s.getc(); !ok {
			return 0, false
		}
		switch b {
		case '/':
			if !s.endTag() {
				return 0, false
			}
			if len(s.nameEnds) == 0 {
				return lt, true
			}
		case '?':
			ok = s.pi()
		case '!':
			ok = s.bang()
		default:
			s.ungetc()
			_, ok = s.startTag(false)
		}
		if !ok {
			return 0, false
		}
	}
}

// startTag reads a start tag after its '<' and opens the element unless
// the tag is empty. keep records the attributes in attrs and vals.
func (s *scanner) startTag(keep bool) (empty, ok bool) {
	start := len(s.names)
	if !s.readName(&s.names, false) {
		return false, false
	}
	if keep {
		s.top = append(s.top[:0], s.names[start:]...)
	}
	s.nameEnds = append(s.nameEnds, len(s.names))
	for {
		s.space()
		b, ok := s.getc()
		if !ok {
			return false, false
		}
		if b == '/' {
			if b, ok = s.getc(); !ok {
				return false, false
			}
			if b != '>' {
				return false, s.syntax("expected /> in element")
			}
			s.pop()
			return true, true
		}
		if b == '>' {
			return false, true
		}
		s.ungetc()
		if !s.attr(keep) {
			return false, false
		}
	}
}

// attr reads name = 'value'.
func (s *scanner) attr(keep bool) bool {
	dst := &s.vals
	if !keep {
		dst = &s.names // scratch space above the open names
	}
	start := len(*dst)
	if !s.readName(dst, false) {
		return false
	}
	a := scanAttr{name: start, colon: -1, val: len(*dst)}
	for i := start; i < a.val; i++ {
		if (*dst)[i] == ':' {
			a.colon = i
		}
	}
	if !keep {
		s.names = s.names[:start]
	}
	s.space()
	b, ok := s.getc()
	if !ok {
		return false
	}
	if b != '=' {
		return s.syntax("attribute name without = in element")
	}
	s.space()
	if b, ok = s.getc(); !ok {
		return false
	}
	if b != '"' && b != '\'' {
		return s.syntax("unquoted or missing attribute value in element")
	}
	if !s.text(int(b), false, keep) {
		return false
	}
	if keep {
		a.end = len(s.vals)
		s.attrs = append(s.attrs, a)
	}
	return true
}

func (s *scanner) pop() {
	s.nameEnds = s.nameEnds[:len(s.nameEnds)-1]
	top := 0
	if n := len(s.nameEnds); n > 0 {
		top = s.nameEnds[n-1]
	}
	s.names = s.names[:top]
}

// endTag reads an end tag after its "</" and closes the innermost open
// element, whose name it must repeat byte for byte: encoding/xml compares
// prefix and local name as written, which is the same thing.
func (s *scanner) endTag() bool {
	if len(s.nameEnds) == 0 {
		return s.syntax("unexpected end element")
	}
	top := s.nameEnds[len(s.nameEnds)-1]
	if !s.readName(&s.names, false) {
		return false
	}
	s.space()
	b, ok := s.getc()
	if !ok {
		return false
	}
	if b != '>' {
		return s.syntax("invalid characters between </name and >")
	}
	start := 0
	if n := len(s.nameEnds); n > 1 {
		start = s.nameEnds[n-2]
	}
	if string(s.names[start:top]) != string(s.names[top:]) {
		return s.syntax("element closed by another element's end tag")
	}
	s.pop()
	return true
}

// pi reads a processing instruction after its "<?". encoding/xml checks
// the version and encoding of a target "xml"; that is left to it.
func (s *scanner) pi() bool {
	start := len(s.names)
	if !s.readName(&s.names, true) {
		return false
	}
	if string(s.names[start:]) == "xml" {
		s.complex = true
	}
	s.names = s.names[:start]
	s.space()
	var b0 byte
	for {
		b, ok := s.getc()
		if !ok {
			return false
		}
		if b0 == '?' && b == '>' {
			return true
		}
		b0 = b
	}
}

// bang reads what follows "<!": a comment, a CDATA section or a directive.
func (s *scanner) bang() bool {
	b, ok := s.getc()
	if !ok {
		return false
	}
	switch b {
	case '-':
		if b, ok = s.getc(); !ok {
			return false
		}
		if b != '-' {
			return s.syntax("invalid sequence <!- not part of <!--")
		}
		var b0, b1 byte
		for {
			if b, ok = s.getc(); !ok {
				return false
			}
			if b0 == '-' && b1 == '-' {
				if b != '>' {
					return s.syntax(`invalid sequence "--" not allowed in comments`)
				}
				return true
			}
			b0, b1 = b1, b
		}
	case '[':
		for i := range len("CDATA[") {
			if b, ok = s.getc(); !ok {
				return false
			}
			if b != "CDATA["[i] {
				return s.syntax("invalid <![ sequence")
			}
		}
		return s.text(-1, true, false)
	}
	return s.directive()
}

// directive skips <!DOCTYPE …> and the like as encoding/xml does: quoted
// '>' does not end it, nested '<' … '>' pairs do not either, and an
// embedded comment runs to "-->". The byte after "<!" was read and, as
// there, takes no part in the nesting.
func (s *scanner) directive() bool {
	var inquote byte
	depth := 0
	for {
		b, ok := s.getc()
		if !ok {
			return false
		}
		if inquote == 0 && b == '>' && depth == 0 {
			return true
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
				if b, ok = s.getc(); !ok {
					return false
				}
				if b != "!--"[i] {
					depth++
					goto handle
				}
			}
			var b0, b1 byte
			for {
				if b, ok = s.getc(); !ok {
					return false
				}
				if b0 == '-' && b1 == '-' && b == '>' {
					break
				}
				b0, b1 = b1, b
			}
		}
	}
}
