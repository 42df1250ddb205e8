package address

import (
	"strings"
)

// visualSeparators are RFC 3966 §3 visual separators plus space, which
// people type and which some carriers send percent-encoded.
const visualSeparators = "-.() "

const maxE164Digits = 15 // ITU-T E.164 §6

// e164 returns the canonical "+digits" form of s when s is "+" followed by
// 1 to 15 digits, ignoring visual separators.
func e164(s string) (string, bool) {
	if len(s) < 2 || s[0] != '+' {
		return "", false
	}
	digits := stripSeparators(s[1:])
	if !allDigits(digits) || len(digits) > maxE164Digits {
		return "", false
	}
	if len(digits) == len(s)-1 {
		return s, true // already canonical; spare the allocation
	}
	return "+" + digits, true
}

// localNumber returns s without visual separators when it is an RFC 3966
// local number (phonedigit-hex: digits, A-F, '*', '#').
func localNumber(s string) (string, bool) {
	n := stripSeparators(s)
	if n == "" {
		return "", false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !isDigit(c) && !strings.ContainsRune("*#abcdefABCDEF", rune(c)) {
			return "", false
		}
	}
	return n, true
}

// dialString is localNumber restricted to what a keypad can type, so
// that typed words such as "bad" or "cafe" are not taken for numbers.
func dialString(s string) (string, bool) {
	n := stripSeparators(s)
	if n == "" {
		return "", false
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; !isDigit(c) && c != '*' && c != '#' {
			return "", false
		}
	}
	return n, true
}

func stripSeparators(s string) string {
	if !strings.ContainsAny(s, visualSeparators) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(visualSeparators, s[i]) < 0 {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// telSubscriber interprets an RFC 3966 telephone-subscriber (a tel: URI
// body, or the user part of a sip: URI with user=phone). strict is set for
// tel: URIs, where anything but a number is an error; for sip: URIs ok is
// false when the user part is not a number, and the caller keeps it as an
// ordinary user.
func telSubscriber(sub, acct string, strict bool) (r Remote, ok bool, err error) {
	number, params, _ := strings.Cut(sub, ";")
	if strings.HasPrefix(number, "+") {
		n, valid := e164(number)
		if !valid {
			if strict {
				return Remote{}, false, malformed("%q is not an E.164 number (\"+\" and 1 to 15 digits)", clip(number))
			}
			return Remote{}, false, nil
		}
		// ext and isub are dropped: the JID names the line, not the
		// extension behind it.
		return Remote{Kind: KindPhone, User: n}, true, nil
	}
	local, valid := localNumber(number)
	if !valid {
		if strict {
			return Remote{}, false, malformed("%q is not a telephone number", clip(number))
		}
		return Remote{}, false, nil
	}
	ctx, hasCtx := param(params, "phone-context")
	if !hasCtx {
		if strict {
			return Remote{}, false, malformedAs(ErrLocalNumber, "local number %q has no phone-context (RFC 3966 §5.1.5)", clip(local))
		}
		// A PBX extension sent with user=phone: an ordinary user at that PBX.
		return Remote{}, false, nil
	}
	r, err = localWithContext(local, ctx, acct)
	return r, err == nil, err
}

// localWithContext applies the policy for local numbers: short form only
// when the phone-context is the account domain, an error otherwise. A
// "+digits" context is refused too, because prefixing it is not reliably
// the global number (national trunk prefixes).
func localWithContext(local, ctx, acct string) (Remote, error) {
	if acct != "" && !strings.HasPrefix(ctx, "+") {
		if h, err := canonicalHostPort(ctx, false); err == nil && h == acct {
			return Remote{Kind: KindShort, User: local}, nil
		}
	}
	return Remote{}, malformedAs(ErrLocalNumber, "local number %q with phone-context %q is not on the account domain", clip(local), clip(ctx))
}

// param finds a ;name=value parameter (names are case-insensitive,
// RFC 3261 §19.1.4, RFC 3966 §3) in a ";"-separated list.
func param(params, name string) (string, bool) {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}
