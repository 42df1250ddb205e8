package xmpp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
)

// TLSPolicy says when a client link uses STARTTLS (RFC 6120 §5).
type TLSPolicy int

const (
	TLSRequired TLSPolicy = iota // default: STARTTLS must be offered and succeed
	TLSOptional                  // use STARTTLS when the server offers it
	TLSDisabled                  // never (loopback labs and tests); PLAIN is then allowed in clear
)

func (p TLSPolicy) String() string {
	switch p {
	case TLSRequired:
		return "required"
	case TLSOptional:
		return "optional"
	case TLSDisabled:
		return "disabled"
	}
	return fmt.Sprintf("TLSPolicy(%d)", int(p))
}

// ClientLogin makes a Link an XMPP client connection (c2s) instead of a
// component.
type ClientLogin struct {
	JID       string // "user@domain" or "user@domain/resource" (the resource is a request; the server may assign another)
	Password  string
	TLS       TLSPolicy
	TLSConfig *tls.Config // optional; ServerName defaults to the JID's domain
}

// clientJID is a parsed ClientLogin.JID.
type clientJID struct {
	local, domain, resource string
}

func (j clientJID) bare() string { return j.local + "@" + j.domain }

// parseClientJID splits "local@domain[/resource]". The local part must not
// need escaping in a stream header or a SCRAM username beyond what those
// do themselves, so the characters RFC 7622 forbids there are refused.
func parseClientJID(s string) (clientJID, error) {
	bare, res, hasRes := strings.Cut(s, "/")
	local, domain, ok := strings.Cut(bare, "@")
	var j clientJID
	switch {
	case !ok || local == "":
		return j, fmt.Errorf("jid %q: want user@domain[/resource]", s)
	case strings.ContainsAny(local, "\"&'/:<>@ \t\r\n"):
		return j, fmt.Errorf("jid %q: local part has a character RFC 7622 forbids", s)
	case hasRes && res == "":
		return j, fmt.Errorf("jid %q: empty resource", s)
	}
	if err := checkDomain("jid domain", domain); err != nil {
		return j, err
	}
	return clientJID{local: local, domain: domain, resource: res}, nil
}

// jidDomain is the domain of a JID for defaulting, before validation.
func jidDomain(s string) string {
	bare, _, _ := strings.Cut(s, "/")
	_, d, _ := strings.Cut(bare, "@")
	return d
}

// validate reports the problems of a client login.
func (cl *ClientLogin) validate() []error {
	var errs []error
	if _, err := parseClientJID(cl.JID); err != nil {
		errs = append(errs, err)
	}
	if cl.Password == "" {
		errs = append(errs, errors.New("password is empty"))
	}
	if cl.TLS < TLSRequired || cl.TLS > TLSDisabled {
		errs = append(errs, fmt.Errorf("unknown TLS policy %d", int(cl.TLS)))
	}
	return errs
}
