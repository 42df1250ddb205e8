package address

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sipR(user, host string) Remote { return Remote{Kind: KindSIP, User: user, Host: host} }
func phoneR(n string) Remote        { return Remote{Kind: KindPhone, User: n} }
func shortR(user string) Remote     { return Remote{Kind: KindShort, User: user} }

var anonR = Remote{Kind: KindAnonymous}

func TestParseURI(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Remote
		wantErr error
	}{
		{name: "bare", in: "sip:bob@example.org", want: sipR("bob", "example.org")},
		{name: "angle brackets", in: "<sip:bob@example.org>", want: sipR("bob", "example.org")},
		{name: "display name token", in: "Bob <sip:bob@example.org>;tag=a8", want: sipR("bob", "example.org")},
		{name: "quoted display name with < and escaped quote", in: `"B\"o<b" <sip:bob@example.org>`, want: sipR("bob", "example.org")},
		{name: "scheme case-insensitive", in: "SIP:bob@Example.ORG", want: sipR("bob", "example.org")},
		{name: "user case kept", in: "sip:Bob@example.org", want: sipR("Bob", "example.org")},
		{name: "params and headers stripped", in: "sip:bob@example.org;transport=tcp;lr?subject=hi", want: sipR("bob", "example.org")},
		{name: "headers without params", in: "sip:bob@example.org?subject=hi", want: sipR("bob", "example.org")},
		{name: "password dropped", in: "sip:bob:secret@example.org", want: sipR("bob", "example.org")},
		{name: "sips", in: "sips:bob@example.org", want: Remote{Kind: KindSIP, User: "bob", Host: "example.org", SIPS: true}},
		{name: "sips keeps port 5060 out", in: "sips:bob@example.org:5060", want: Remote{Kind: KindSIP, User: "bob", Host: "example.org", SIPS: true}},
		{name: "sip keeps 5061", in: "sip:bob@example.org:5061", want: sipR("bob", "example.org:5061")},
		{name: "port leading zeros", in: "sip:bob@example.org:05080", want: sipR("bob", "example.org:5080")},
		{name: "trailing dot", in: "sip:bob@example.org.", want: sipR("bob", "example.org")},
		{name: "IPv4", in: "sip:bob@192.0.2.1:5070", want: sipR("bob", "192.0.2.1:5070")},
		{name: "IPv6 canonicalised", in: "sip:bob@[2001:DB8:0:0::1]:5080", want: sipR("bob", "[2001:db8::1]:5080")},
		{name: "IPv4-mapped IPv6", in: "sip:bob@[::ffff:192.0.2.1]", want: sipR("bob", "[::ffff:192.0.2.1]")},
		{name: "question mark in user", in: "sip:a?b@example.org", want: sipR("a?b", "example.org")},
		{name: "semicolon in user without user=phone", in: "sip:a;b=c@example.org", want: sipR("a;b=c", "example.org")},
		{name: "raw hash tolerated", in: "sip:*67#@example.org", want: sipR("*67#", "example.org")},
		{name: "escaped at in user", in: "sip:a%40b@example.org", want: sipR("a@b", "example.org")},
		{name: "raw UTF-8 tolerated", in: "sip:张伟@example.org", want: sipR("张伟", "example.org")},
		{name: "phone without user=phone", in: "sip:+14155550100@prov.net", want: phoneR("+14155550100")},
		{name: "phone with separators", in: "sip:+1-415-555-0100@prov.net;user=phone", want: phoneR("+14155550100")},
		{name: "phone with escaped spaces", in: "sip:+1%20415%20555%200100@prov.net", want: phoneR("+14155550100")},
		{name: "phone isub dropped", in: "sip:+1-212-555-1212;isub=1411@gw.example;user=phone", want: phoneR("+12125551212")},
		{name: "phone over sips", in: "sips:+14155550100@prov.net", want: Remote{Kind: KindPhone, User: "+14155550100", SIPS: true}},
		{name: "sixteen digits is not E.164", in: "sip:+1234567890123456@prov.net", want: sipR("+1234567890123456", "prov.net")},
		{name: "plus alone is a user", in: "sip:+@prov.net", want: sipR("+", "prov.net")},
		{name: "extension with user=phone is a user", in: "sip:1001@pbx.example;user=phone", want: sipR("1001", "pbx.example")},
		{name: "word with user=phone is a user", in: "sip:bob@pbx.example;user=phone", want: sipR("bob", "pbx.example")},
		{name: "anonymous", in: `"Anonymous" <sip:anonymous@anonymous.invalid>;tag=1`, want: anonR},
		{name: "any user at anonymous.invalid", in: "sip:thisis@anonymous.invalid", want: anonR},
		{name: "anonymous at a real host is a user", in: "sip:anonymous@example.org", want: sipR("anonymous", "example.org")},
		{name: "tel global", in: "tel:+1-415-555-0100", want: phoneR("+14155550100")},
		{name: "tel ext dropped", in: "tel:+1-415-555-0100;ext=123", want: phoneR("+14155550100")},
		{name: "tel spaces and parens", in: "tel:+44 (20) 7946-0958", want: phoneR("+442079460958")},
		{name: "tel percent-encoded spaces", in: "tel:+44%2020%207946%200958", want: phoneR("+442079460958")},
		{name: "tel in angle brackets", in: "<tel:+14155550100>", want: phoneR("+14155550100")},

		{name: "tel local without context", in: "tel:7042", wantErr: ErrLocalNumber},
		{name: "tel local with context", in: "tel:7042;phone-context=example.com", wantErr: ErrLocalNumber},
		{name: "sip local with context", in: "sip:7042;phone-context=example.com@example.com;user=phone", wantErr: ErrLocalNumber},
		{name: "tel too long", in: "tel:+1234567890123456", wantErr: ErrMalformed},
		{name: "tel letters", in: "tel:+1-800-FLOWERS", wantErr: ErrMalformed},
		{name: "tel empty", in: "tel:", wantErr: ErrMalformed},
		{name: "no user part", in: "sip:example.org", wantErr: ErrMalformed},
		{name: "empty user", in: "sip:@example.org", wantErr: ErrMalformed},
		{name: "empty user before password", in: "sip::pw@example.org", wantErr: ErrMalformed},
		{name: "two at signs", in: "sip:a@b@example.org", wantErr: ErrMalformed},
		{name: "no scheme", in: "bob@example.org", wantErr: ErrMalformed},
		{name: "other scheme", in: "mailto:bob@example.org", wantErr: ErrMalformed},
		{name: "xmpp scheme", in: "xmpp:bob@example.org", wantErr: ErrMalformed},
		{name: "bad percent", in: "sip:a%zzb@example.org", wantErr: ErrMalformed},
		{name: "truncated percent", in: "sip:ab%2@example.org", wantErr: ErrMalformed},
		{name: "invalid UTF-8", in: "sip:%FF@example.org", wantErr: ErrMalformed},
		{name: "control character", in: "sip:a%0Db@example.org", wantErr: ErrMalformed},
		{name: "NUL", in: "sip:a%00b@example.org", wantErr: ErrMalformed},
		{name: "unterminated angle", in: "<sip:bob@example.org", wantErr: ErrMalformed},
		{name: "unterminated display name", in: `"Bob <sip:bob@example.org>`, wantErr: ErrMalformed},
		{name: "display name without brackets", in: `"Bob" sip:bob@example.org`, wantErr: ErrMalformed},
		{name: "stray >", in: "sip:bob@example.org>", wantErr: ErrMalformed},
		{name: "empty host", in: "sip:bob@", wantErr: ErrMalformed},
		{name: "bad host char", in: "sip:bob@exa_mple.org", wantErr: ErrMalformed},
		{name: "IDN host must be A-label", in: "sip:bob@bücher.example", wantErr: ErrMalformed},
		{name: "numeric top label", in: "sip:bob@192.0.2.300", wantErr: ErrMalformed},
		{name: "IPv4 leading zero", in: "sip:bob@192.0.2.01", wantErr: ErrMalformed},
		{name: "hyphen label edge", in: "sip:bob@-example.org", wantErr: ErrMalformed},
		{name: "empty label", in: "sip:bob@example..org", wantErr: ErrMalformed},
		{name: "label over 63", in: "sip:bob@" + strings.Repeat("a", 64) + ".org", wantErr: ErrMalformed},
		{name: "host over 253", in: "sip:bob@" + strings.Repeat("abcdefghi.", 26) + "org", wantErr: ErrMalformed},
		{name: "unbracketed IPv6", in: "sip:bob@2001:db8::1", wantErr: ErrMalformed},
		{name: "IPv6 zone", in: "sip:bob@[fe80::1%25eth0]", wantErr: ErrMalformed},
		{name: "IPv4 in brackets", in: "sip:bob@[192.0.2.1]", wantErr: ErrMalformed},
		{name: "unterminated IPv6", in: "sip:bob@[2001:db8::1", wantErr: ErrMalformed},
		{name: "junk after IPv6", in: "sip:bob@[2001:db8::1]x", wantErr: ErrMalformed},
		{name: "port zero", in: "sip:bob@example.org:0", wantErr: ErrMalformed},
		{name: "port too big", in: "sip:bob@example.org:65536", wantErr: ErrMalformed},
		{name: "port empty", in: "sip:bob@example.org:", wantErr: ErrMalformed},
		{name: "port letters", in: "sip:bob@example.org:http", wantErr: ErrMalformed},
		{name: "over-long input", in: "sip:" + strings.Repeat("a", maxInput) + "@example.org", wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseURI(tt.in)
			checkResult(t, got, err, tt.want, tt.wantErr)
		})
	}
}

// TestParseURIFor covers the phone-context policy: short form only on the
// account's own domain.
func TestParseURIFor(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		account string
		want    Remote
		wantErr error
	}{
		{name: "context is account", in: "tel:7042;phone-context=example.com", account: "example.com", want: shortR("7042")},
		{name: "context case and dot", in: "tel:70-42;phone-context=Example.COM.", account: "example.com", want: shortR("7042")},
		{name: "star code", in: "tel:*67;phone-context=example.com", account: "example.com", want: shortR("*67")},
		{name: "sip user=phone local", in: "sip:7042;phone-context=example.com@example.com;user=phone", account: "example.com", want: shortR("7042")},
		{name: "other domain", in: "tel:7042;phone-context=other.example", account: "example.com", wantErr: ErrLocalNumber},
		{name: "number prefix context", in: "tel:5550100;phone-context=+1-415", account: "example.com", wantErr: ErrLocalNumber},
		{name: "no context", in: "tel:7042", account: "example.com", wantErr: ErrLocalNumber},
		{name: "no account", in: "tel:7042;phone-context=example.com", wantErr: ErrLocalNumber},
		{name: "global number unaffected", in: "tel:+14155550100", account: "example.com", want: phoneR("+14155550100")},
		{name: "sip unaffected", in: "sip:1001@example.com", account: "example.com", want: sipR("1001", "example.com")},
		{name: "invalid account domain", in: "tel:+1", account: "exa mple", wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseURIFor(tt.in, tt.account)
			checkResult(t, got, err, tt.want, tt.wantErr)
			if tt.wantErr == ErrLocalNumber && !errors.Is(err, ErrMalformed) {
				t.Errorf("%v does not wrap ErrMalformed", err)
			}
		})
	}
}

func TestSIPURI(t *testing.T) {
	tests := []struct {
		name    string
		in      Remote
		account string
		want    string
		wantErr error
	}{
		{name: "plain", in: sipR("bob", "example.org"), want: "sip:bob@example.org"},
		{name: "case kept", in: sipR("Alice", "Example.org"), want: "sip:Alice@example.org"},
		{name: "sips", in: Remote{Kind: KindSIP, User: "bob", Host: "example.org", SIPS: true}, want: "sips:bob@example.org"},
		{name: "sips drops 5061", in: Remote{Kind: KindSIP, User: "bob", Host: "example.org:5061", SIPS: true}, want: "sips:bob@example.org"},
		{name: "port", in: sipR("bob", "example.org:5080"), want: "sip:bob@example.org:5080"},
		{name: "IPv6", in: sipR("bob", "[2001:db8::1]:5080"), want: "sip:bob@[2001:db8::1]:5080"},
		{name: "user-unreserved raw", in: sipR("a&b=c+d$e,f;g?h/i", "x.org"), want: "sip:a&b=c+d$e,f;g?h/i@x.org"},
		{name: "unreserved raw", in: sipR("a-b_c.d!e~f*g'h(i)j", "x.org"), want: "sip:a-b_c.d!e~f*g'h(i)j@x.org"},
		{name: "RFC 7247 6.5 step 5 set", in: sipR("#%[\\]^`{|}", "x.org"), want: "sip:%23%25%5B%5C%5D%5E%60%7B%7C%7D@x.org"},
		{name: "reappearing after unescape", in: sipR(`a b"c<d>e@f:g`, "x.org"), want: "sip:a%20b%22c%3Cd%3Ee%40f%3Ag@x.org"},
		{name: "non-ASCII", in: sipR("fü", "x.org"), want: "sip:f%C3%BC@x.org"},
		{name: "phone", in: phoneR("+14155550100"), account: "example.com", want: "sip:+14155550100@example.com;user=phone"},
		{name: "phone with separators", in: phoneR("+1 (415) 555-0100"), account: "example.com", want: "sip:+14155550100@example.com;user=phone"},
		{name: "phone sips", in: Remote{Kind: KindPhone, User: "+14155550100", SIPS: true}, account: "example.com", want: "sips:+14155550100@example.com;user=phone"},
		{name: "phone-like SIP user routes via account", in: sipR("+14155550100", "prov.net"), account: "example.com", want: "sip:+14155550100@example.com;user=phone"},
		{name: "short", in: shortR("1001"), account: "example.com", want: "sip:1001@example.com"},
		{name: "short hash", in: shortR("*67#"), account: "example.com", want: "sip:*67%23@example.com"},
		{name: "short named anonymous is reachable", in: shortR("anonymous"), account: "example.com", want: "sip:anonymous@example.com"},

		{name: "anonymous", in: anonR, account: "example.com", wantErr: ErrAnonymous},
		{name: "SIP at anonymous.invalid", in: sipR("x", "anonymous.invalid"), wantErr: ErrAnonymous},
		{name: "short without account", in: shortR("1001"), wantErr: ErrMalformed},
		{name: "phone without account", in: phoneR("+14155550100"), wantErr: ErrMalformed},
		{name: "not a phone", in: phoneR("14155550100"), account: "example.com", wantErr: ErrMalformed},
		{name: "empty user", in: sipR("", "x.org"), wantErr: ErrMalformed},
		{name: "bad host", in: sipR("bob", "x_y.org"), wantErr: ErrMalformed},
		{name: "invalid UTF-8", in: sipR("\xff", "x.org"), wantErr: ErrMalformed},
		{name: "control", in: sipR("a\nb", "x.org"), wantErr: ErrMalformed},
		{name: "zero kind", in: Remote{User: "bob", Host: "x.org"}, wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SIPURI(tt.in, tt.account)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("SIPURI(%+v) = %q, %v; want error %v", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("SIPURI(%+v) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestAnonymousIsNotMalformed(t *testing.T) {
	_, err := SIPURI(anonR, testAccount)
	if errors.Is(err, ErrMalformed) {
		t.Fatalf("ErrAnonymous must not read as <jid-malformed/>: %v", err)
	}
}

// checkResult compares a (Remote, error) pair against a table row.
func checkResult(t *testing.T, got Remote, err error, want Remote, wantErr error) {
	t.Helper()
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Fatalf("got %+v, %v; want error %v", got, err, wantErr)
		}
		if !errors.Is(err, ErrMalformed) && wantErr != ErrAnonymous {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Remote mismatch (-want +got):\n%s", diff)
	}
}
