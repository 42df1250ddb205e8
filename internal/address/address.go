package address

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"mellium.im/xmpp/jid"
)

// Kind of remote address a contact JID stands for.
type Kind int

// Kinds of Remote. The zero Kind is deliberately invalid so that a Remote
// left uninitialised is refused rather than routed.
const (
	// KindSIP is a full SIP address of record, user@host.
	KindSIP Kind = iota + 1
	// KindPhone is a global number in E.164 form, "+" and digits.
	KindPhone
	// KindShort is a user (extension, short number) on the account's own
	// SIP domain.
	KindShort
	// KindAnonymous is a caller who withheld their identity.
	KindAnonymous
)

// String returns the name of k for logs and test output.
func (k Kind) String() string {
	switch k {
	case KindSIP:
		return "sip"
	case KindPhone:
		return "phone"
	case KindShort:
		return "short"
	case KindAnonymous:
		return "anonymous"
	}
	return "invalid"
}

// Remote is a remote party, independent of representation.
type Remote struct {
	Kind Kind
	// User is the unescaped, percent-decoded user part (UTF-8); the
	// canonical "+14155550100" for phones; empty for anonymous.
	User string
	// Host is host[:port] or [v6][:port] in canonical form; empty for
	// phone, short and anonymous.
	Host string
	// SIPS records that the party was learned over sips:. It is not part
	// of the JID, so the caller keeps it per contact.
	SIPS bool
}

const (
	// maxLocalpart is the RFC 7622 §3.1 limit in octets.
	maxLocalpart = 1023
	// maxInput bounds the work done on any single untrusted string. A
	// mappable URI is far shorter: its user and host must fit in a
	// localpart, and SIPURI expands each of those bytes to at most three.
	maxInput = 4096

	anonymousLocal = "anonymous"
	anonymousHost  = "anonymous.invalid"
)

// ToLocalpart returns the JID localpart for r: the XEP-0106 escaping of
// user@host for SIP addresses, "+E164" for phones, the escaped user for
// short numbers and "anonymous" for the anonymous party. A SIP address
// whose host equals accountDomain is written in the short form when that
// form reads back unambiguously. The result is in PRECIS
// UsernameCaseMapped form, so it is lowercased; see the package comment.
func ToLocalpart(r Remote, accountDomain string) (string, error) {
	acct, err := accountHost(accountDomain)
	if err != nil {
		return "", err
	}
	if r.Kind == KindShort && acct != "" {
		// A short user is a user at the account domain; treating it as one
		// lets users that cannot be written short fall back to user\40acct.
		r = Remote{Kind: KindSIP, User: r.User, Host: acct, SIPS: r.SIPS}
	}
	c, err := normalize(r, true)
	if err != nil {
		return "", err
	}
	var local string
	switch c.Kind {
	case KindAnonymous:
		return anonymousLocal, nil
	case KindPhone:
		local = c.User
	case KindShort:
		if !shortenable(c.User) {
			return "", malformed("short user %q needs a domain to be written as a JID", clip(c.User))
		}
		local = Escape(c.User)
	case KindSIP:
		if c.Host == acct && shortenable(c.User) {
			// The short form can fail where the full one does not (a
			// trailing space is only at the end when no host follows);
			// the full form is always a correct name for the same party.
			if short, err := checkLocalpart(Escape(c.User)); err == nil {
				return short, nil
			}
		}
		local = Escape(c.User + "@" + c.Host)
	}
	return checkLocalpart(local)
}

// ToJID returns the bare contact JID localpart@gatewayDomain for r.
func ToJID(r Remote, gatewayDomain, accountDomain string) (string, error) {
	local, err := ToLocalpart(r, accountDomain)
	if err != nil {
		return "", err
	}
	// local is already a PRECIS fixpoint; only the domain needs the jid
	// package's normalisation (IDNA, trailing dot).
	d, err := jid.New("", gatewayDomain, "")
	if err != nil {
		return "", malformed("gateway domain %q: %v", clip(gatewayDomain), err)
	}
	return local + "@" + d.Domainpart(), nil
}

// FromLocalpart maps a contact JID localpart back to the remote party.
// A localpart containing \40 is read as XEP-0106 user\40host; otherwise
// one containing "%" is the legacy user%host form, split on the last "%"
// because hosts never contain one; otherwise it is "anonymous", a phone
// number or a short user. Only the ten XEP-0106 sequences are unescaped.
// The result has SIPS false.
func FromLocalpart(local string) (Remote, error) {
	p, err := cleanLocalpart(local)
	if err != nil {
		return Remote{}, err
	}
	u := Unescape(p)
	switch {
	case strings.Contains(p, `\40`):
		// An escaped "@" always survives unescaping (a \40 cannot be part
		// of another sequence), so i is never -1.
		i := strings.LastIndexByte(u, '@')
		return fromUserHost(u[:i], u[i+1:])
	case strings.Contains(p, "%"):
		i := strings.LastIndexByte(u, '%')
		return fromUserHost(u[:i], u[i+1:])
	}
	return classify(u, "", false)
}

// FromJID takes a full or bare contact JID, checks that it is at
// gatewayDomain and maps its localpart with FromLocalpart. The resource
// is ignored.
func FromJID(j, gatewayDomain string) (Remote, error) {
	parsed, err := jid.Parse(j)
	if err != nil {
		return Remote{}, malformed("invalid JID %q: %v", clip(j), err)
	}
	if err := sameDomain(parsed.Domainpart(), gatewayDomain); err != nil {
		return Remote{}, err
	}
	if parsed.Localpart() == "" {
		return Remote{}, malformed("JID %q is the gateway itself, not a contact", clip(j))
	}
	return FromLocalpart(parsed.Localpart())
}

// sameDomain reports whether the normalised domain d is gatewayDomain.
func sameDomain(d, gatewayDomain string) error {
	if d == gatewayDomain {
		return nil
	}
	// Normalise only on the slow path: the configured domain may be
	// spelled with capitals or a trailing dot.
	g, err := jid.New("", gatewayDomain, "")
	if err != nil {
		return malformed("gateway domain %q: %v", clip(gatewayDomain), err)
	}
	if d != g.Domainpart() {
		return malformedAs(ErrForeignDomain, "%q is not %q", clip(d), clip(g.Domainpart()))
	}
	return nil
}

// fromUserHost finishes decoding the user@host and legacy user%host forms.
func fromUserHost(user, host string) (Remote, error) {
	if user == "" {
		return Remote{}, malformed("empty user part")
	}
	h, err := canonicalHostPort(host, false)
	if err != nil {
		return Remote{}, err
	}
	return classify(user, h, false)
}

// classify decides the Kind of a user at an already canonical host (empty
// for a bare localpart or typed short number). Every path into a Remote
// goes through here so that all directions agree on what is a phone
// number and what is anonymous.
func classify(user, host string, sips bool) (Remote, error) {
	if host == anonymousHost || (host == "" && isAnonymousUser(user)) {
		return Remote{Kind: KindAnonymous}, nil
	}
	if err := checkUser(user); err != nil {
		return Remote{}, err
	}
	if n, ok := e164(user); ok {
		return Remote{Kind: KindPhone, User: n, SIPS: sips}, nil
	}
	if host == "" {
		return Remote{Kind: KindShort, User: user, SIPS: sips}, nil
	}
	return Remote{Kind: KindSIP, User: user, Host: host, SIPS: sips}, nil
}

// normalize validates a caller-built Remote and returns its canonical
// form, re-classifying it. With foldUser the user part is first mapped as
// PRECIS would, so classification sees what the JID will hold (a
// full-width "＋１" is a phone number once folded).
func normalize(r Remote, foldUser bool) (Remote, error) {
	if r.Kind == KindAnonymous {
		return Remote{Kind: KindAnonymous}, nil
	}
	if !utf8.ValidString(r.User) {
		return Remote{}, malformed("user part is not valid UTF-8")
	}
	user := r.User
	if foldUser {
		user = fold(user)
	}
	switch r.Kind {
	case KindPhone:
		n, ok := e164(user)
		if !ok {
			return Remote{}, malformed("%q is not an E.164 number", clip(r.User))
		}
		return Remote{Kind: KindPhone, User: n, SIPS: r.SIPS}, nil
	case KindShort:
		return classify(user, "", r.SIPS)
	case KindSIP:
		if user == "" {
			return Remote{}, malformed("empty user part")
		}
		host, err := canonicalHostPort(r.Host, r.SIPS)
		if err != nil {
			return Remote{}, err
		}
		return classify(user, host, r.SIPS)
	}
	return Remote{}, malformed("unknown kind %d", int(r.Kind))
}

// shortenable reports whether user, written alone as a localpart, reads
// back as the same short user rather than as another form.
func shortenable(user string) bool {
	if user == "" || strings.ContainsAny(user, "@%") || isAnonymousUser(user) {
		return false
	}
	_, phone := e164(user)
	return !phone
}

func isAnonymousUser(user string) bool {
	return strings.EqualFold(user, anonymousLocal)
}

// checkUser rejects user parts no mapping may carry: control characters
// are never meaningful in an address and would only smuggle line breaks
// into logs and headers.
func checkUser(user string) error {
	if user == "" {
		return malformed("empty user part")
	}
	if !utf8.ValidString(user) {
		return malformed("user part is not valid UTF-8")
	}
	for _, c := range user {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			return malformed("user part %q contains a control character", clip(user))
		}
	}
	return nil
}

// accountHost canonicalises the configured account domain; empty stays
// empty and means "no short form".
func accountHost(accountDomain string) (string, error) {
	if accountDomain == "" {
		return "", nil
	}
	h, err := canonicalHostPort(accountDomain, false)
	if err != nil {
		return "", fmt.Errorf("account domain %q: %w", clip(accountDomain), err)
	}
	return h, nil
}
