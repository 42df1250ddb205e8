package address

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Sentinel errors. Every validation error wraps ErrMalformed so a caller
// can answer with <jid-malformed/> (or a SIP 400/404) by one errors.Is test;
// the narrower sentinels say why when the caller wants to treat a case on
// its own.
var (
	// ErrMalformed is wrapped by every error about an address that cannot
	// be parsed or mapped.
	ErrMalformed = errors.New("malformed address")

	// ErrLocalNumber marks a local telephone number (no leading "+")
	// whose phone-context is missing or is not the account domain. It is
	// returned together with ErrMalformed.
	ErrLocalNumber = errors.New("local number without a usable phone-context")

	// ErrForeignDomain marks a JID that is not at the gateway domain. It
	// is returned together with ErrMalformed.
	ErrForeignDomain = errors.New("not at the gateway domain")

	// ErrAnonymous is returned when asked for a SIP target for the
	// anonymous party. It does not wrap ErrMalformed: anonymous@gateway is
	// a well-formed JID that simply cannot be called or messaged.
	ErrAnonymous = errors.New("the anonymous party cannot be addressed")
)

// malformed builds a validation error wrapping ErrMalformed.
func malformed(format string, args ...any) error {
	return fmt.Errorf("address: %w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// malformedAs builds a validation error wrapping both ErrMalformed and a
// narrower sentinel.
func malformedAs(kind error, format string, args ...any) error {
	return fmt.Errorf("address: %w: %w: %s", ErrMalformed, kind, fmt.Sprintf(format, args...))
}

// clip shortens s for error messages so that a hostile megabyte of input
// does not end up in a log line.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	// Back off to a rune boundary so the message stays readable UTF-8.
	for cut > max-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
