package main

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
)

// The ng control protocol of rtpengine carries bencoded dictionaries. This
// is the subset it needs: byte strings, integers, lists and dictionaries.
// Decoded strings are Go strings, integers int64, lists []any and
// dictionaries map[string]any.

var errBencode = errors.New("bencode")

// bencode appends the encoding of v. Dictionary keys are written sorted, as
// the format requires.
func bencode(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		dst = strconv.AppendInt(dst, int64(len(x)), 10)
		dst = append(dst, ':')
		return append(dst, x...), nil
	case []byte:
		dst = strconv.AppendInt(dst, int64(len(x)), 10)
		dst = append(dst, ':')
		return append(dst, x...), nil
	case int:
		return bencodeInt(dst, int64(x)), nil
	case int64:
		return bencodeInt(dst, x), nil
	case []string:
		dst = append(dst, 'l')
		for _, s := range x {
			dst, _ = bencode(dst, s)
		}
		return append(dst, 'e'), nil
	case []any:
		dst = append(dst, 'l')
		for _, e := range x {
			var err error
			if dst, err = bencode(dst, e); err != nil {
				return nil, err
			}
		}
		return append(dst, 'e'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		dst = append(dst, 'd')
		for _, k := range keys {
			dst, _ = bencode(dst, k)
			var err error
			if dst, err = bencode(dst, x[k]); err != nil {
				return nil, fmt.Errorf("key %q: %w", k, err)
			}
		}
		return append(dst, 'e'), nil
	default:
		return nil, fmt.Errorf("%w: cannot encode %T", errBencode, v)
	}
}

func bencodeInt(dst []byte, n int64) []byte {
	dst = append(dst, 'i')
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, 'e')
}

// bdecode decodes exactly one value filling all of b.
func bdecode(b []byte) (any, error) {
	v, rest, err := bdecodeValue(b, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the value", errBencode, len(rest))
	}
	return v, nil
}

// maxDepth bounds nesting so a hostile or broken reply cannot exhaust the
// stack; ng replies nest two or three levels.
const maxDepth = 32

func bdecodeValue(b []byte, depth int) (any, []byte, error) {
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("%w: unexpected end", errBencode)
	}
	if depth > maxDepth {
		return nil, nil, fmt.Errorf("%w: nested too deep", errBencode)
	}
	switch c := b[0]; {
	case c == 'i':
		end := bytes.IndexByte(b, 'e')
		if end < 0 {
			return nil, nil, fmt.Errorf("%w: unterminated integer", errBencode)
		}
		n, err := strconv.ParseInt(string(b[1:end]), 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: integer: %w", errBencode, err)
		}
		return n, b[end+1:], nil
	case c >= '0' && c <= '9':
		return bdecodeString(b)
	case c == 'l':
		list := []any{}
		b = b[1:]
		for len(b) > 0 && b[0] != 'e' {
			v, rest, err := bdecodeValue(b, depth+1)
			if err != nil {
				return nil, nil, err
			}
			list, b = append(list, v), rest
		}
		if len(b) == 0 {
			return nil, nil, fmt.Errorf("%w: unterminated list", errBencode)
		}
		return list, b[1:], nil
	case c == 'd':
		dict := map[string]any{}
		b = b[1:]
		for len(b) > 0 && b[0] != 'e' {
			k, rest, err := bdecodeString(b)
			if err != nil {
				return nil, nil, fmt.Errorf("dictionary key: %w", err)
			}
			v, rest, err := bdecodeValue(rest, depth+1)
			if err != nil {
				return nil, nil, err
			}
			dict[k.(string)], b = v, rest
		}
		if len(b) == 0 {
			return nil, nil, fmt.Errorf("%w: unterminated dictionary", errBencode)
		}
		return dict, b[1:], nil
	default:
		return nil, nil, fmt.Errorf("%w: unexpected byte %q", errBencode, c)
	}
}

func bdecodeString(b []byte) (any, []byte, error) {
	colon := bytes.IndexByte(b, ':')
	if colon < 1 {
		return nil, nil, fmt.Errorf("%w: string without length", errBencode)
	}
	n, err := strconv.Atoi(string(b[:colon]))
	if err != nil || n < 0 || n > len(b)-colon-1 {
		return nil, nil, fmt.Errorf("%w: bad string length %q", errBencode, b[:colon])
	}
	s := b[colon+1 : colon+1+n]
	return string(s), b[colon+1+n:], nil
}
