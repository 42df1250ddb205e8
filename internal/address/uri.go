package address

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// ParseURI parses a sip:, sips: or tel: URI as found in From, To,
// P-Asserted-Identity or a Request-URI. A name-addr with display name and
// angle brackets is accepted (the display name is dropped; header
// parameters after ">" are ignored). URI parameters, headers and any
// password are stripped and the user part is percent-decoded. A user part
// that is an E.164 number gives KindPhone, any URI at anonymous.invalid
// gives KindAnonymous, everything else KindSIP; ParseURI never returns
// KindShort. A tel: local number is refused with ErrLocalNumber; use
// ParseURIFor to accept those on the account's own domain.
func ParseURI(uri string) (Remote, error) {
	return parseURI(uri, "")
}

// ParseURIFor is ParseURI for a URI received on the SIP account at
// accountDomain: a local number whose phone-context is accountDomain
// (tel:7042;phone-context=example.com, or the same as a sip: user part
// with user=phone) maps to KindShort instead of failing.
func ParseURIFor(uri, accountDomain string) (Remote, error) {
	acct, err := accountHost(accountDomain)
	if err != nil {
		return Remote{}, err
	}
	return parseURI(uri, acct)
}

func parseURI(s, acct string) (Remote, error) {
	if len(s) > maxInput {
		return Remote{}, malformed("URI is %d bytes, over the %d-byte limit", len(s), maxInput)
	}
	u, err := stripNameAddr(s)
	if err != nil {
		return Remote{}, err
	}
	scheme, rest, ok := strings.Cut(u, ":")
	if !ok {
		return Remote{}, malformed("%q has no URI scheme", clip(u))
	}
	switch strings.ToLower(scheme) {
	case "sip":
		return parseSIP(rest, false, acct)
	case "sips":
		return parseSIP(rest, true, acct)
	case "tel":
		return parseTel(rest, acct)
	}
	return Remote{}, malformed("unsupported URI scheme %q", clip(scheme))
}

// stripNameAddr returns the URI inside `"Display" <uri>;params` or a bare
// URI unchanged.
func stripNameAddr(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, `"`) {
		end := quotedEnd(s)
		if end < 0 {
			return "", malformed("unterminated display name in %q", clip(s))
		}
		s = strings.TrimSpace(s[end:])
		if !strings.HasPrefix(s, "<") {
			return "", malformed("display name without <URI>")
		}
	}
	open := strings.IndexByte(s, '<')
	if open < 0 {
		if strings.IndexByte(s, '>') >= 0 {
			return "", malformed("unbalanced '>' in %q", clip(s))
		}
		return s, nil
	}
	n := strings.IndexByte(s[open:], '>')
	if n < 0 {
		return "", malformed("unterminated <URI> in %q", clip(s))
	}
	return strings.TrimSpace(s[open+1 : open+n]), nil
}

// quotedEnd returns the index just past the quoted-string that s starts
// with (RFC 3261 §25.1, backslash escapes honoured), or -1.
func quotedEnd(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

func parseSIP(rest string, sips bool, acct string) (Remote, error) {
	at := strings.IndexByte(rest, '@')
	if at < 0 {
		return Remote{}, malformed("SIP URI %q has no user part", clip(rest))
	}
	// '@' is legal neither in a user part nor in parameters or headers,
	// so a second one means we cannot know where the user part ends.
	if strings.IndexByte(rest[at+1:], '@') >= 0 {
		return Remote{}, malformed("SIP URI %q has more than one '@'", clip(rest))
	}
	// A password (user:password@) is deprecated and never kept.
	rawUser, _, _ := strings.Cut(rest[:at], ":")
	hostport, params := splitParams(rest[at+1:])
	host, err := canonicalHostPort(hostport, sips)
	if err != nil {
		return Remote{}, err
	}
	user, err := decodeUser(rawUser)
	if err != nil {
		return Remote{}, err
	}
	if host == anonymousHost {
		return Remote{Kind: KindAnonymous}, nil
	}
	if v, ok := param(params, "user"); ok && strings.EqualFold(v, "phone") {
		r, ok, err := telSubscriber(user, acct, false)
		if err != nil {
			return Remote{}, err
		}
		if ok {
			r.SIPS = sips
			return r, nil
		}
	}
	return classify(user, host, sips)
}

// splitParams splits `hostport;params?headers` and drops the headers.
func splitParams(s string) (hostport, params string) {
	i := strings.IndexAny(s, ";?")
	if i < 0 {
		return s, ""
	}
	hostport, tail := s[:i], s[i:]
	if tail[0] == '?' {
		return hostport, ""
	}
	params, _, _ = strings.Cut(tail[1:], "?")
	return hostport, params
}

func parseTel(rest, acct string) (Remote, error) {
	// tel: URIs have no headers; tolerate and drop them like sip: ones.
	body, _, _ := strings.Cut(rest, "?")
	sub, err := percentDecode(body)
	if err != nil {
		return Remote{}, err
	}
	if sub == "" {
		return Remote{}, malformed("empty tel: URI")
	}
	r, _, err := telSubscriber(sub, acct, true)
	return r, err
}

// decodeUser percent-decodes a SIP user part (RFC 3261 §19.1.2, RFC 7247
// §6.4 steps 3-4). Raw characters outside the user rule are tolerated, as
// real user agents send them, except those that cannot appear in a URI at
// all.
func decodeUser(raw string) (string, error) {
	if raw == "" {
		return "", malformed("empty user part")
	}
	if strings.ContainsAny(raw, "<>\"") {
		return "", malformed("user part %q contains a character not allowed in a URI", clip(raw))
	}
	user, err := percentDecode(raw)
	if err != nil {
		return "", err
	}
	return user, checkUser(user)
}

func percentDecode(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", malformed("bad percent-encoding in %q", clip(s))
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	out := b.String()
	if !utf8.ValidString(out) {
		return "", malformed("percent-decoded %q is not UTF-8", clip(s))
	}
	return out, nil
}

func isHex(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// SIPURI renders r as the target URI of an outbound request. The user
// part is percent-encoded wherever RFC 3261 §25.1 does not allow the byte
// raw; case is kept as given. Phones go through the account:
// sip:+14155550100@<accountDomain>;user=phone. Short users become
// sip:user@<accountDomain>. SIPS gives sips:. The anonymous party has no
// URI and yields ErrAnonymous.
func SIPURI(r Remote, accountDomain string) (string, error) {
	if r.Kind == KindAnonymous {
		return "", fmt.Errorf("address: %w", ErrAnonymous)
	}
	acct, err := accountHost(accountDomain)
	if err != nil {
		return "", err
	}
	if r.Kind == KindShort {
		if acct == "" {
			return "", malformed("short user %q needs an account domain", clip(r.User))
		}
		r = Remote{Kind: KindSIP, User: r.User, Host: acct, SIPS: r.SIPS}
	}
	c, err := normalize(r, false)
	if err != nil {
		return "", err
	}
	scheme := "sip:"
	if c.SIPS {
		scheme = "sips:"
	}
	switch c.Kind {
	case KindAnonymous:
		return "", fmt.Errorf("address: %w", ErrAnonymous)
	case KindPhone:
		if acct == "" {
			return "", malformed("phone number %q needs an account domain", c.User)
		}
		return scheme + c.User + "@" + acct + ";user=phone", nil
	}
	return scheme + encodeUser(c.User) + "@" + c.Host, nil
}

// encodeUser percent-encodes every byte the RFC 3261 user rule does not
// allow raw (RFC 7247 §6.5 step 5).
func encodeUser(user string) string {
	var b strings.Builder
	b.Grow(len(user) + 8)
	const upperHex = "0123456789ABCDEF"
	for i := 0; i < len(user); i++ {
		c := user[i]
		if userAllowed(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
	return b.String()
}

// userAllowed is RFC 3261 §25.1 unreserved / user-unreserved.
func userAllowed(c byte) bool {
	return isAlpha(c) || isDigit(c) || strings.IndexByte("-_.!~*'()&=+$,;?/", c) >= 0
}
