package address

import "strings"

// escapable are the characters XEP-0106 §3.2 escapes; the backslash is
// escaped only when it would otherwise start a valid sequence.
const escapable = ` "&'/:<>@`

const hexDigits = "0123456789abcdef"

// Escape applies XEP-0106 escaping to s. A backslash that starts one of
// the ten escape sequences is first written as \5c (XEP-0106 §4.2 step
// 3); any other backslash stays literal. Sequences are matched without
// regard to case because PRECIS lowercases the result, which would turn a
// literal "\3A" into the live sequence "\3a".
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && isEscapeSeq(s[i:]):
			b.WriteString(`\5c`)
		case strings.IndexByte(escapable, c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] == '\\' && isEscapeSeq(s[i:])) || strings.IndexByte(escapable, s[i]) >= 0 {
			return true
		}
	}
	return false
}

// Unescape reverses XEP-0106 escaping. Only the ten defined sequences are
// decoded (case-insensitively); partial or unknown sequences such as \41
// or a trailing backslash stay literal (XEP-0106 §4.3).
func Unescape(s string) string {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		if s[i] == '\\' && isEscapeSeq(s[i:]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isEscapeSeq reports whether s starts with one of \20 \22 \26 \27 \2f
// \3a \3c \3e \40 \5c.
func isEscapeSeq(s string) bool {
	if len(s) < 3 || s[0] != '\\' {
		return false
	}
	hi, lo := s[1], lower(s[2])
	switch hi {
	case '2':
		return lo == '0' || lo == '2' || lo == '6' || lo == '7' || lo == 'f'
	case '3':
		return lo == 'a' || lo == 'c' || lo == 'e'
	case '4':
		return lo == '0'
	case '5':
		return lo == 'c'
	}
	return false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}
