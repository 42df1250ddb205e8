package address

import "strings"

// ParseUserInput reads what a user typed into the jabber:iq:gateway prompt
// (XEP-0100 §6.3): a SIP address "bob@example.org", a URI "sip:…",
// "sips:…" or "tel:…", an E.164 number with or without separators
// ("+1 (415) 555-0100"), a dial string for the account's own domain
// ("1001", "*67") or a bare user name (short form). The legacy
// "bob%example.org" is read as bob@example.org. Typed text is not
// percent-decoded: a "%" in bob%25@x is literal. A tel: local number is
// refused as in ParseURI.
func ParseUserInput(s string) (Remote, error) {
	if len(s) > maxInput {
		return Remote{}, malformed("input is %d bytes, over the %d-byte limit", len(s), maxInput)
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Remote{}, malformed("empty input")
	case hasURIScheme(s):
		return ParseURI(s)
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return fromUserHost(s[:i], s[i+1:])
	}
	if s[0] == '+' {
		n, ok := e164(s)
		if !ok {
			return Remote{}, malformed("%q is not an E.164 number (\"+\" and 1 to 15 digits)", clip(s))
		}
		return Remote{Kind: KindPhone, User: n}, nil
	}
	if i := strings.LastIndexByte(s, '%'); i >= 0 {
		return fromUserHost(s[:i], s[i+1:])
	}
	if n, ok := dialString(s); ok {
		return Remote{Kind: KindShort, User: n}, nil
	}
	return classify(s, "", false)
}

func hasURIScheme(s string) bool {
	// A pasted name-addr: `Bob <sip:bob@example.org>`.
	if s[0] == '"' || strings.IndexByte(s, '<') >= 0 {
		return true
	}
	scheme, _, ok := strings.Cut(s, ":")
	if !ok {
		return false
	}
	switch strings.ToLower(scheme) {
	case "sip", "sips", "tel":
		return true
	}
	return false
}
