package address

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
	"mellium.im/xmpp/jid"
)

// FuzzRoundTrip: whatever ParseURI and ToLocalpart accept must come back
// from FromLocalpart as the case-folded input (SIPS is not in the JID).
func FuzzRoundTrip(f *testing.F) {
	for _, s := range [][2]string{
		{"bob", "example.org"},
		{"Alice", "Example.ORG"},
		{"o'malley", "example.org"},
		{"m&m", "example.org"},
		{"fü", "example.org"},
		{`a\27b`, "x.org"},
		{"user", "[2001:db8::1]"},
		{"user", "host:5080"},
		{"user", "host:5060"},
		{"anonymous", "anonymous.invalid"},
		{"+1-415-555-0100", "prov.net"},
		{"bob%sub", "example.org"},
		{" bob", "example.org"},
		{"a@b", "x.org"},
		{"ＡＢ＠Ｃ", "x.org"},
		{":\u0301", "x.org"},
		{"ΟΔΟΣ", "x.org"},
		{"1001", "example.com;user=phone"},
		{"+1;isub=2", "x.org;user=phone"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, user, host string) {
		r, err := ParseURI("sip:" + encodeUser(user) + "@" + host)
		if err != nil {
			return
		}
		local, err := ToLocalpart(r, "")
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ToLocalpart(%+v): error %v does not wrap ErrMalformed", r, err)
			}
			return
		}
		want := foldedInput(t, r)
		got, err := FromLocalpart(local)
		if err != nil {
			t.Fatalf("FromLocalpart(%q) from %+v: %v", local, r, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("round trip of %+v via %q (-want +got):\n%s", r, local, diff)
		}
		if again, err := ToLocalpart(got, ""); err != nil || again != local {
			t.Fatalf("ToLocalpart(%+v) = %q, %v; want the stable %q", got, again, err, local)
		}
		// The JID library must take our localpart as it is.
		if j, err := jid.New(local, testGateway, ""); err != nil || j.Localpart() != local {
			t.Fatalf("jid.New(%q) = %q, %v", local, j.Localpart(), err)
		}
		checkShortForm(t, r, want)
	})
}

// checkShortForm repeats the round trip with the host as account domain:
// the result is either the short form of the same user or unchanged.
func checkShortForm(t *testing.T, r, want Remote) {
	t.Helper()
	if want.Kind != KindSIP {
		return
	}
	local, err := ToLocalpart(r, want.Host)
	if err != nil {
		t.Fatalf("ToLocalpart(%+v, %q): %v", r, want.Host, err)
	}
	got, err := FromLocalpart(local)
	if err != nil {
		t.Fatalf("FromLocalpart(%q): %v", local, err)
	}
	if got.Kind == KindShort {
		want = Remote{Kind: KindShort, User: want.User}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("short-form round trip of %+v via %q (-want +got):\n%s", r, local, diff)
	}
}

// foldedInput is the Remote that r's input would have parsed to had its
// user part been case-folded first, which is all the JID can keep.
func foldedInput(t *testing.T, r Remote) Remote {
	t.Helper()
	switch r.Kind {
	case KindAnonymous:
		return r
	case KindPhone:
		return Remote{Kind: KindPhone, User: r.User}
	}
	folded := testFold(r.User)
	if isASCII(r.User) && folded != strings.ToLower(r.User) {
		t.Fatalf("fold(%q) = %q", r.User, folded)
	}
	want, err := ParseURI("sip:" + encodeUser(folded) + "@" + r.Host)
	if err != nil {
		t.Fatalf("folded input of %+v does not parse: %v", r, err)
	}
	want.SIPS = false
	return want
}

// testFold is the mapping half of PRECIS UsernameCaseMapped (RFC 8265
// §3.3.2), built as a transform chain rather than the step-by-step code
// under test.
func testFold(s string) string {
	c := transform.Chain(width.Fold, cases.Lower(language.Und, cases.HandleFinalSigma(false)), norm.NFC)
	out, _, err := transform.String(c, s)
	if err != nil {
		panic(err)
	}
	return out
}

// FuzzFromLocalpart: any string is either refused with ErrMalformed or
// maps to a Remote whose SIP target parses back to the same Remote.
func FuzzFromLocalpart(f *testing.F) {
	for _, s := range []string{
		`bob\40example.org`,
		"bob%sub%example.org",
		`o\27malley%example.org`,
		"+14155550100",
		"1001",
		"anonymous",
		`user\40[2001\3adb8\3a\3a1]`,
		`user\40host\3a5080`,
		`a\5c27b\40x.org`,
		`\20bob\40x.org`,
		`a\41b\40x.org`,
		`+1\20415\40x.org`,
		`#[]^{|}\40x.org`,
		"ab\\",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, local string) {
		r, err := FromLocalpart(local)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("FromLocalpart(%q): error %v does not wrap ErrMalformed", local, err)
			}
			return
		}
		uri, err := SIPURI(r, testAccount)
		if r.Kind == KindAnonymous {
			if !errors.Is(err, ErrAnonymous) {
				t.Fatalf("SIPURI(anonymous) = %q, %v", uri, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("SIPURI(%+v) from %q: %v", r, local, err)
		}
		back, err := ParseURI(uri)
		if err != nil {
			t.Fatalf("ParseURI(%q) from %q: %v", uri, local, err)
		}
		if diff := cmp.Diff(asSIP(r), back); diff != "" {
			t.Fatalf("%q → %+v → %q (-want +got):\n%s", local, r, uri, diff)
		}
	})
}

// asSIP is what ParseURI gives back for r's target: it never returns the
// short form, which is a user at the account domain.
func asSIP(r Remote) Remote {
	if r.Kind == KindShort {
		return Remote{Kind: KindSIP, User: r.User, Host: testAccount, SIPS: r.SIPS}
	}
	return r
}

// FuzzParseURI: any URI ParseURI accepts renders to a target that parses
// back to the same Remote, and never panics.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"sip:bob@example.org",
		`"Bob" <sips:bob:pw@[2001:db8::1]:5061;transport=tls?x=y>;tag=1`,
		"tel:+44 (20) 7946-0958;ext=1",
		"sip:+1-415-555-0100@prov.net;user=phone",
		"sip:7042;phone-context=example.com@example.com;user=phone",
		"sip:a%40b%25c@x.org",
		"sip:anonymous@anonymous.invalid",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := ParseURIFor(in, testAccount)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseURI(%q): error %v does not wrap ErrMalformed", in, err)
			}
			return
		}
		uri, err := SIPURI(r, testAccount)
		if r.Kind == KindAnonymous {
			if !errors.Is(err, ErrAnonymous) {
				t.Fatalf("SIPURI(anonymous) = %q, %v", uri, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("SIPURI(%+v) from %q: %v", r, in, err)
		}
		back, err := ParseURI(uri)
		if err != nil {
			t.Fatalf("ParseURI(%q) from %q: %v", uri, in, err)
		}
		if diff := cmp.Diff(asSIP(r), back); diff != "" {
			t.Fatalf("%q → %+v → %q (-want +got):\n%s", in, r, uri, diff)
		}
	})
}

// FuzzEscape: Unescape undoes Escape for every string.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", `\`, `\20`, `\5C`, ` "&'/:<>@`, `c:\cool stuff@example.com`, `\\40`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		if got := Unescape(e); got != s {
			t.Fatalf("Unescape(Escape(%q)) = %q via %q", s, got, e)
		}
		if strings.ContainsAny(e, escapable) {
			t.Fatalf("Escape(%q) = %q still holds an escapable character", s, e)
		}
	})
}
