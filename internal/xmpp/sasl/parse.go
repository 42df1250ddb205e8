package sasl

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// maxIterations bounds the PBKDF2 work a server can ask of us; hardened
// servers use up to about a million, far more is a denial of service.
const maxIterations = 1 << 22

// serverFirst is a parsed server-first-message (RFC 5802 §7).
type serverFirst struct {
	nonce      string
	salt       []byte
	iterations int
}

// parseServerFirst parses "[m=…,]r=nonce,s=salt,i=count[,ext…]". A
// mandatory extension (m) is one we cannot know, so it fails the exchange,
// as the RFC requires.
func parseServerFirst(msg string) (serverFirst, error) {
	var sf serverFirst
	attrs, err := splitAttrs(msg)
	if err != nil {
		return sf, err
	}
	switch attrs[0].key {
	case 'm':
		return sf, fmt.Errorf("%w: unsupported mandatory extension", ErrProtocol)
	case 'e':
		return sf, fmt.Errorf("%w: server error %s", ErrProtocol, quoteShort(attrs[0].val))
	}
	if len(attrs) < 3 || attrs[0].key != 'r' || attrs[1].key != 's' || attrs[2].key != 'i' {
		return sf, fmt.Errorf("%w: server-first-message is not r=…,s=…,i=…", ErrProtocol)
	}
	sf.nonce = attrs[0].val
	if sf.nonce == "" {
		return sf, fmt.Errorf("%w: empty nonce", ErrProtocol)
	}
	for _, c := range []byte(sf.nonce) {
		if c < 0x21 || c > 0x7e {
			return sf, fmt.Errorf("%w: nonce is not printable", ErrProtocol)
		}
	}
	if sf.salt, err = base64.StdEncoding.DecodeString(attrs[1].val); err != nil || len(sf.salt) == 0 {
		return sf, fmt.Errorf("%w: bad salt", ErrProtocol)
	}
	sf.iterations, err = strconv.Atoi(attrs[2].val)
	if err != nil || sf.iterations < 1 || sf.iterations > maxIterations {
		return sf, fmt.Errorf("%w: iteration count %q out of range 1..%d", ErrProtocol, attrs[2].val, maxIterations)
	}
	return sf, nil
}

// parseServerFinal parses "v=signature[,ext…]" and returns the decoded
// signature, or the server's "e=…" as an error.
func parseServerFinal(msg string) ([]byte, error) {
	attrs, err := splitAttrs(msg)
	if err != nil {
		return nil, err
	}
	switch attrs[0].key {
	case 'e':
		return nil, fmt.Errorf("%w: server error %s", ErrProtocol, quoteShort(attrs[0].val))
	case 'v':
		v, err := base64.StdEncoding.DecodeString(attrs[0].val)
		if err != nil || len(v) == 0 {
			return nil, fmt.Errorf("%w: bad server signature encoding", ErrProtocol)
		}
		return v, nil
	}
	return nil, fmt.Errorf("%w: server-final-message is neither v=… nor e=…", ErrProtocol)
}

type attr struct {
	key byte
	val string
}

// splitAttrs splits "k=v,k=v" keeping the order; values may contain '='.
// Messages are short, so the server text quoted in errors is bounded.
func splitAttrs(msg string) ([]attr, error) {
	if msg == "" {
		return nil, fmt.Errorf("%w: empty message", ErrProtocol)
	}
	parts := strings.Split(msg, ",")
	attrs := make([]attr, 0, len(parts))
	for _, p := range parts {
		if len(p) < 2 || p[1] != '=' || !isAlpha(p[0]) {
			return nil, fmt.Errorf("%w: malformed attribute in %s", ErrProtocol, quoteShort(msg))
		}
		attrs = append(attrs, attr{key: p[0], val: p[2:]})
	}
	return attrs, nil
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// quoteShort quotes at most 64 bytes of a server message for an error.
func quoteShort(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "…"
	}
	return strconv.Quote(s)
}
