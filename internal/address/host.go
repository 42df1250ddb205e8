package address

import (
	"net/netip"
	"strconv"
	"strings"
)

const (
	maxHostname = 253
	maxLabel    = 63
)

// canonicalHostPort validates a SIP hostport (RFC 3261 §25.1) and returns
// it lowercased, with IPv6 in RFC 5952 form, without a trailing dot and
// without a default port (see the package comment for why 5060 is dropped
// even for sips).
func canonicalHostPort(hp string, sips bool) (string, error) {
	if hp == "" {
		return "", malformed("empty host")
	}
	host, port, err := splitHostPort(hp)
	if err != nil {
		return "", err
	}
	if host, err = canonicalHost(host); err != nil {
		return "", err
	}
	if port == "" {
		return host, nil
	}
	n, err := parsePort(port)
	if err != nil {
		return "", err
	}
	if n == 5060 || (sips && n == 5061) {
		return host, nil
	}
	return host + ":" + strconv.Itoa(n), nil
}

// splitHostPort separates host and port; a bracketed IPv6 reference keeps
// its brackets.
func splitHostPort(hp string) (host, port string, err error) {
	if hp[0] == '[' {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return "", "", malformed("unterminated IPv6 reference in %q", clip(hp))
		}
		host, rest := hp[:end+1], hp[end+1:]
		if rest == "" {
			return host, "", nil
		}
		if rest[0] != ':' {
			return "", "", malformed("junk after IPv6 reference in %q", clip(hp))
		}
		return host, rest[1:], nil
	}
	host, port, hasPort := strings.Cut(hp, ":")
	if strings.Contains(port, ":") {
		return "", "", malformed("%q: an IPv6 address must be in brackets", clip(hp))
	}
	if hasPort && port == "" {
		return "", "", malformed("empty port in %q", clip(hp))
	}
	return host, port, nil
}

func parsePort(port string) (int, error) {
	if len(port) > 5 || !allDigits(port) {
		return 0, malformed("invalid port %q", clip(port))
	}
	n, _ := strconv.Atoi(port)
	if n < 1 || n > 65535 {
		return 0, malformed("port %d out of range", n)
	}
	return n, nil
}

func canonicalHost(host string) (string, error) {
	if strings.HasPrefix(host, "[") {
		return canonicalIPv6(host)
	}
	host = strings.TrimSuffix(host, ".")
	// A name's top label starts with a letter, so only a trailing digit
	// can mean IPv4; checking first spares names a failed parse.
	if host != "" && isDigit(host[len(host)-1]) {
		if a, err := netip.ParseAddr(host); err == nil && a.Is4() {
			return a.String(), nil
		}
	}
	if err := checkHostname(host); err != nil {
		return "", err
	}
	return strings.ToLower(host), nil
}

func canonicalIPv6(ref string) (string, error) {
	a, err := netip.ParseAddr(ref[1 : len(ref)-1])
	// Zones have no syntax in SIP URIs and name an interface of this
	// machine, never a remote party.
	if err != nil || !a.Is6() || a.Zone() != "" {
		return "", malformed("invalid IPv6 reference %q", clip(ref))
	}
	return "[" + a.String() + "]", nil
}

// checkHostname applies RFC 3261 §25.1: labels of letters, digits and
// inner hyphens, the last one starting with a letter (which is what tells
// "1.2.3.400" apart from a name).
func checkHostname(host string) error {
	if host == "" {
		return malformed("empty host")
	}
	if len(host) > maxHostname {
		return malformed("host name is %d bytes, over %d", len(host), maxHostname)
	}
	labels := strings.Split(host, ".")
	for _, l := range labels {
		if err := checkLabel(l, host); err != nil {
			return err
		}
	}
	if top := labels[len(labels)-1]; !isAlpha(top[0]) {
		return malformed("host %q: the top label must start with a letter", clip(host))
	}
	return nil
}

func checkLabel(l, host string) error {
	if l == "" || len(l) > maxLabel {
		return malformed("host %q has an empty or over-long label", clip(host))
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return malformed("host %q: a label may not start or end with '-'", clip(host))
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; !isAlpha(c) && !isDigit(c) && c != '-' {
			return malformed("host %q: invalid character %q (internationalised names must be A-labels)", clip(host), c)
		}
	}
	return nil
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}
