package address

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// fold applies the mapping steps of PRECIS UsernameCaseMapped (RFC 8265
// §3.3.2: width mapping, lowercasing, NFC) without its validation. The
// profile itself cannot run on an unescaped user part, which may hold a
// space or "@" that XEP-0106 escaping only adds later; folding first means
// a full-width "＠" becomes "@" and gets escaped instead of appearing raw.
func fold(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	s = width.Fold.String(s)
	// A Caser carries state, so build one per call rather than share it.
	s = cases.Lower(language.Und, cases.HandleFinalSigma(false)).String(s)
	return norm.NFC.String(s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// checkLocalpart validates a freshly escaped localpart. Because the parts
// were folded before escaping, PRECIS must leave it unchanged; if it does
// not (say an escape sequence followed by a combining mark that NFC pulls
// into its last hex digit), the JID would decode to something else, so it
// is refused rather than silently changed.
func checkLocalpart(local string) (string, error) {
	if err := checkLength(local); err != nil {
		return "", err
	}
	if err := checkSpaceEnds(local); err != nil {
		return "", err
	}
	p, err := precis.UsernameCaseMapped.String(local)
	if err != nil {
		return "", malformed("%q is not a valid JID localpart: %v", clip(local), err)
	}
	if p != local {
		return "", malformed("%q changes under PRECIS after escaping", clip(local))
	}
	return local, nil
}

// cleanLocalpart validates a localpart received from outside and returns
// its PRECIS form.
func cleanLocalpart(local string) (string, error) {
	if local == "" {
		return "", malformed("empty localpart")
	}
	if err := checkLength(local); err != nil {
		return "", err
	}
	p, err := precis.UsernameCaseMapped.String(local)
	if err != nil {
		return "", malformed("%q is not a valid JID localpart: %v", clip(local), err)
	}
	if err := checkLength(p); err != nil {
		return "", err
	}
	// RFC 7622 §3.3.1 forbids these even though PRECIS allows them.
	if strings.ContainsAny(p, `"&'/:<>@`) {
		return "", malformed("localpart %q contains a character RFC 7622 forbids", clip(p))
	}
	if err := checkSpaceEnds(p); err != nil {
		return "", err
	}
	return p, nil
}

func checkLength(local string) error {
	if len(local) > maxLocalpart {
		return malformed("localpart is %d bytes, over the %d-byte limit", len(local), maxLocalpart)
	}
	return nil
}

// checkSpaceEnds enforces XEP-0106 §4.1 rule 6: an escaped space may not
// begin or end a localpart (servers strip such spaces, changing the JID).
func checkSpaceEnds(local string) error {
	if strings.HasPrefix(local, `\20`) || strings.HasSuffix(local, `\20`) {
		return malformed("%q begins or ends with an escaped space", clip(local))
	}
	return nil
}
