package sip

import (
	"fmt"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Account is one user's SIP account as the UA needs it.
type Account struct {
	// AOR is the address of record without scheme, "alice@sip.example.org"
	// (a "sip:" prefix is tolerated).
	AOR string
	// AuthUser is the digest username; default the AOR user part.
	AuthUser string
	// Password is the digest password. It is only ever fed to the hash.
	Password string
	// Registrar is host[:port] (or a sip: URI) of the registrar; default
	// the AOR host.
	Registrar string
	// OutboundProxy is host[:port] or a sip: URI; empty for none. When set
	// it is the first hop and is put in a Route header (loose routing).
	OutboundProxy string
	// Transport is "udp" (default), "tcp" or "tls".
	Transport string
	// DisplayName goes into From.
	DisplayName string
	// ContactToken is the user part of our Contact; requests sent to that
	// Contact are mapped back to the user by it.
	ContactToken string
}

// Binding is what must survive a gateway restart to keep refreshing the same
// registration: RFC 3261 §10.2 asks for one Call-ID per registrar binding and
// a CSeq that only grows.
type Binding struct {
	CallID string
	CSeq   uint32 // the last CSeq used; the next request uses CSeq+1
}

// target is an Account checked and parsed into what a REGISTER needs.
type target struct {
	aor       sipmsg.Uri // sip:user@host, no port or params
	ruri      sipmsg.Uri // sip:registrar[:port]
	proxy     *sipmsg.Uri
	transport string // "UDP", "TCP" or "TLS", as sipgo spells networks
	dest      string // first hop host:port
	peer      string // who we talk to, for error texts
	authUser  string
	password  string
	display   string
	token     string
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidAccount}, args...)...)
}

// parseAccount validates a and derives the request parameters. Every field
// that ends up in a header is checked so a stored value cannot inject
// headers or break parsing at the peer.
func parseAccount(a Account) (*target, error) {
	t := &target{password: a.Password, display: cleanDisplayName(a.DisplayName)}
	var err error
	if t.aor, err = parseAOR(a.AOR); err != nil {
		return nil, err
	}
	if t.transport, err = parseTransport(a.Transport); err != nil {
		return nil, err
	}
	if !validToken(a.ContactToken) {
		return nil, invalid("contact token %q is not a valid SIP user part", a.ContactToken)
	}
	t.token = a.ContactToken
	t.authUser = a.AuthUser
	if t.authUser == "" {
		t.authUser = t.aor.User
	}
	if hasCtl(t.authUser) || strings.ContainsAny(t.authUser, "\"\\") {
		return nil, invalid("auth user contains forbidden characters")
	}
	reg := a.Registrar
	if reg == "" {
		reg = t.aor.Host
	}
	if t.ruri, err = parseHop(reg); err != nil {
		return nil, invalid("registrar %q: %v", a.Registrar, err)
	}
	first, role := t.ruri, "SIP registrar"
	if a.OutboundProxy != "" {
		p, err := parseHop(a.OutboundProxy)
		if err != nil {
			return nil, invalid("outbound proxy %q: %v", a.OutboundProxy, err)
		}
		t.proxy, first, role = &p, p, "SIP proxy"
	}
	port := first.Port
	if port == 0 {
		port = sipmsg.DefaultPort(t.transport)
	}
	t.dest = hostPort(first.Host, port)
	t.peer = role + " " + t.dest
	return t, nil
}

func parseAOR(s string) (sipmsg.Uri, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "sip:"), "SIP:")
	user, host, ok := strings.Cut(s, "@")
	if !ok || !validUser(user) {
		return sipmsg.Uri{}, invalid("address %q is not user@host", s)
	}
	h, port, err := splitHostPort(host)
	if err != nil || port != 0 {
		return sipmsg.Uri{}, invalid("address %q has an invalid host", s)
	}
	return sipmsg.Uri{Scheme: "sip", User: user, Host: h}, nil
}

// parseHop reads "host[:port]" or "sip:host[:port][;params]" into a URI
// without user or parameters.
func parseHop(s string) (sipmsg.Uri, error) {
	if strings.HasPrefix(strings.ToLower(s), "sip:") {
		var u sipmsg.Uri
		if err := sipmsg.ParseUri(s, &u); err != nil {
			return sipmsg.Uri{}, err
		}
		if u.Host == "" || hasCtl(u.Host) {
			return sipmsg.Uri{}, fmt.Errorf("no host")
		}
		return sipmsg.Uri{Scheme: "sip", Host: u.Host, Port: u.Port}, nil
	}
	h, port, err := splitHostPort(s)
	if err != nil {
		return sipmsg.Uri{}, err
	}
	return sipmsg.Uri{Scheme: "sip", Host: h, Port: port}, nil
}

func parseTransport(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", "udp":
		return "UDP", nil
	case "tcp":
		return "TCP", nil
	case "tls":
		return "TLS", nil
	}
	return "", invalid("transport %q is not udp, tcp or tls", s)
}

// validUser accepts the RFC 3261 "user" characters: unreserved,
// user-unreserved and %-escapes.
func validUser(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlnum(c), strings.IndexByte("-_.!~*'()&=+$,;?/%", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validToken is stricter than validUser: the token is ours, and it must
// survive registrars and proxies that rewrite Contacts unchanged.
func validToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' && c != '~' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// cleanDisplayName drops what would break the quoted-string sipgo writes.
func cleanDisplayName(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}
