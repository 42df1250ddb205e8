package address

import (
	"errors"
	"strings"
	"testing"

	"mellium.im/xmpp/jid"
)

func TestToLocalpart(t *testing.T) {
	tests := []struct {
		name    string
		in      Remote
		account string
		want    string
		wantErr error
	}{
		{name: "SIP", in: sipR("bob", "example.org"), account: testAccount, want: `bob\40example.org`},
		{name: "no account", in: sipR("bob", "example.org"), want: `bob\40example.org`},
		{name: "all XEP-0106 characters", in: sipR(`a b"c&d'e/f:g<h>i@j\5ck`, "x.org"), want: `a\20b\22c\26d\27e\2ff\3ag\3ch\3ei\40j\5c5ck\40x.org`},
		{name: "backslash not starting a sequence stays", in: sipR(`a\b\41\`, "x.org"), want: `a\b\41\\40x.org`},
		{name: "upper-case sequence is still a sequence", in: sipR(`a\3Ab`, "x.org"), want: `a\5c3ab\40x.org`},
		{name: "percent in SIP user", in: sipR("100%", "x.org"), want: `100%\40x.org`},
		{name: "host case folded", in: sipR("bob", "EXAMPLE.org"), want: `bob\40example.org`},
		{name: "Greek upper folded", in: sipR("ΑΛΙΚΗ", "x.org"), want: `αλικη\40x.org`},
		{name: "final sigma not special", in: sipR("ΟΔΟΣ", "x.org"), want: `οδοσ\40x.org`},
		{name: "Han", in: sipR("张伟", "x.org"), want: `张伟\40x.org`},
		{name: "full-width letters width-folded", in: sipR("ｂｏｂ", "x.org"), want: `bob\40x.org`},
		{name: "full-width at is escaped after folding", in: sipR("a＠b", "x.org"), want: `a\40b\40x.org`},
		{name: "full-width phone", in: sipR("＋１４１５５５５０１００", "x.org"), want: "+14155550100"},
		{name: "NFC", in: sipR("fu\u0308", "x.org"), want: `fü\40x.org`},
		{name: "dotted capital I", in: sipR("İ", "x.org"), want: "i\u0307\\40x.org"},
		{name: "inner space", in: sipR("bob smith", "x.org"), want: `bob\20smith\40x.org`},
		{name: "trailing space before host is fine", in: sipR("bob ", "x.org"), want: `bob\20\40x.org`},
		{name: "phone", in: phoneR("+1 (415) 555-0100"), want: "+14155550100"},
		{name: "anonymous", in: anonR, want: "anonymous"},
		{name: "anonymous host", in: sipR("withheld", "anonymous.invalid"), want: "anonymous"},
		{name: "short form on account domain", in: sipR("1001", "Example.COM"), account: testAccount, want: "1001"},
		{name: "short form escapes", in: sipR("o'malley", testAccount), account: testAccount, want: `o\27malley`},
		{name: "account domain with port is a different host", in: sipR("1001", "example.com:5080"), account: testAccount, want: `1001\40example.com\3a5080`},
		{name: "account default port is the same host", in: sipR("1001", "example.com:5060"), account: testAccount, want: "1001"},
		{name: "short would read as legacy", in: sipR("a%b", testAccount), account: testAccount, want: `a%b\40example.com`},
		{name: "short would read as XEP-0106", in: sipR("a@b", testAccount), account: testAccount, want: `a\40b\40example.com`},
		{name: "short would read as anonymous", in: sipR("Anonymous", testAccount), account: testAccount, want: `anonymous\40example.com`},
		{name: "KindShort", in: shortR("1001"), account: testAccount, want: "1001"},
		{name: "KindShort without account", in: shortR("1001"), want: "1001"},
		{name: "KindShort phone-like", in: shortR("+1-415-555-0100"), account: testAccount, want: "+14155550100"},
		{name: "KindShort anonymous falls back to full form", in: shortR("anonymous"), account: testAccount, want: `anonymous\40example.com`},
		{name: "max length", in: sipR(strings.Repeat("a", maxLocalpart-len(`\40x.org`)), "x.org"), want: strings.Repeat("a", maxLocalpart-len(`\40x.org`)) + `\40x.org`},

		{name: "over 1023 bytes", in: sipR(strings.Repeat("a", maxLocalpart-len(`\40x.org`)+1), "x.org"), wantErr: ErrMalformed},
		{name: "escaping pushes over the limit", in: sipR(strings.Repeat("'", 400), "x.org"), wantErr: ErrMalformed},
		{name: "leading space", in: sipR(" bob", "x.org"), wantErr: ErrMalformed},
		{name: "short trailing space", in: shortR("1001 "), wantErr: ErrMalformed},
		{name: "emoji rejected by PRECIS", in: sipR("😀", "x.org"), wantErr: ErrMalformed},
		{name: "RTL user next to LTR host fails the Bidi rule", in: sipR("שלום", "x.org"), wantErr: ErrMalformed},
		{name: "compatibility character rejected by PRECIS", in: sipR("ﬁx", "x.org"), wantErr: ErrMalformed},
		{name: "NBSP rejected by PRECIS", in: sipR("a\u00a0b", "x.org"), wantErr: ErrMalformed},
		{name: "combining mark after escape", in: sipR(":\u0301", "x.org"), wantErr: ErrMalformed},
		{name: "control", in: sipR("a\tb", "x.org"), wantErr: ErrMalformed},
		{name: "invalid UTF-8", in: sipR("\xc3", "x.org"), wantErr: ErrMalformed},
		{name: "empty user", in: sipR("", "x.org"), wantErr: ErrMalformed},
		{name: "bad host", in: sipR("bob", "x..org"), wantErr: ErrMalformed},
		{name: "bad phone", in: phoneR("+12345678901234567"), wantErr: ErrMalformed},
		{name: "short with at and no account", in: shortR("a@b"), wantErr: ErrMalformed},
		{name: "bad account domain", in: sipR("bob", "x.org"), account: "bad domain", wantErr: ErrMalformed},
		{name: "zero kind", in: Remote{User: "bob"}, wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ToLocalpart(tt.in, tt.account)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ToLocalpart(%+v) = %q, %v; want error %v", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ToLocalpart(%+v) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			// Whatever we emit, mellium must accept unchanged.
			j, err := jid.New(got, testGateway, "")
			if err != nil || j.Localpart() != got {
				t.Fatalf("jid.New(%q) = %q, %v", got, j.Localpart(), err)
			}
		})
	}
}

func TestFromLocalpart(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Remote
		wantErr error
	}{
		{name: "XEP-0106", in: `bob\40example.org`, want: sipR("bob", "example.org")},
		{name: "XEP-0106 split on last at", in: `a\40b\40example.org`, want: sipR("a@b", "example.org")},
		{name: "XEP-0106 beats legacy", in: `100%\40x.org`, want: sipR("100%", "x.org")},
		{name: "upper case folded", in: `Bob\40Example.ORG`, want: sipR("bob", "example.org")},
		{name: "upper-case sequences", in: `o\27malley\40X.org\3A5080`, want: sipR("o'malley", "x.org:5080")},
		{name: "unknown sequence literal", in: `a\41b\40x.org`, want: sipR(`a\41b`, "x.org")},
		{name: "partial sequence literal", in: `a\4\40x.org`, want: sipR(`a\4`, "x.org")},
		{name: "escaped backslash", in: `a\5c40b\40x.org`, want: sipR(`a\40b`, "x.org")},
		{name: "trailing backslash in short", in: `ab\`, want: shortR(`ab\`)},
		{name: "port 5060 dropped", in: `bob\40x.org\3a5060`, want: sipR("bob", "x.org")},
		{name: "IPv6", in: `user\40[2001\3adb8\3a\3a1]`, want: sipR("user", "[2001:db8::1]")},
		{name: "legacy", in: "bob%example.org", want: sipR("bob", "example.org")},
		{name: "legacy last percent", in: "bob%sub%example.org", want: sipR("bob%sub", "example.org")},
		{name: "legacy with escapes", in: `o\27malley%example.org`, want: sipR("o'malley", "example.org")},
		{name: "legacy phone", in: "+14155550100%prov.net", want: phoneR("+14155550100")},
		{name: "XEP-0106 phone", in: `+14155550100\40prov.net`, want: phoneR("+14155550100")},
		{name: "phone", in: "+14155550100", want: phoneR("+14155550100")},
		{name: "phone with separators", in: "+1(415)555-0100", want: phoneR("+14155550100")},
		{name: "phone with escaped spaces", in: `+1\20415\20555\200100`, want: phoneR("+14155550100")},
		{name: "plus alone is short", in: "+", want: shortR("+")},
		{name: "short", in: "1001", want: shortR("1001")},
		{name: "short word", in: "reception", want: shortR("reception")},
		{name: "short with escapes", in: `o\27malley`, want: shortR("o'malley")},
		{name: "anonymous", in: "anonymous", want: anonR},
		{name: "Anonymous", in: "Anonymous", want: anonR},
		{name: "legacy at anonymous.invalid", in: "x%anonymous.invalid", want: anonR},
		{name: "UTF-8", in: `fü\40example.org`, want: sipR("fü", "example.org")},
		{name: "UTF-8 upper", in: `FÜ\40example.org`, want: sipR("fü", "example.org")},

		{name: "empty", in: "", wantErr: ErrMalformed},
		{name: "empty user", in: `\40example.org`, wantErr: ErrMalformed},
		{name: "empty host", in: `bob\40`, wantErr: ErrMalformed},
		{name: "legacy empty host", in: "100%", wantErr: ErrMalformed},
		{name: "legacy empty user", in: "%example.org", wantErr: ErrMalformed},
		{name: "invalid host", in: `bob\40exa_mple.org`, wantErr: ErrMalformed},
		{name: "legacy invalid host", in: "50%off.1", wantErr: ErrMalformed},
		{name: "leading escaped space", in: `\20bob\40x.org`, wantErr: ErrMalformed},
		{name: "trailing escaped space", in: `bob\20`, wantErr: ErrMalformed},
		{name: "raw at", in: "bob@x.org", wantErr: ErrMalformed},
		{name: "raw apostrophe", in: "o'malley", wantErr: ErrMalformed},
		{name: "raw space", in: "a b", wantErr: ErrMalformed},
		{name: "emoji", in: "😀", wantErr: ErrMalformed},
		{name: "invalid UTF-8", in: "a\xffb", wantErr: ErrMalformed},
		{name: "over 1023 bytes", in: strings.Repeat("a", maxLocalpart+1), wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromLocalpart(tt.in)
			checkResult(t, got, err, tt.want, tt.wantErr)
		})
	}
}

func TestToJID(t *testing.T) {
	tests := []struct {
		name    string
		in      Remote
		gateway string
		want    string
		wantErr error
	}{
		{name: "SIP", in: sipR("bob", "example.org"), gateway: testGateway, want: `bob\40example.org@sip.example.net`},
		{name: "phone", in: phoneR("+14155550100"), gateway: testGateway, want: "+14155550100@sip.example.net"},
		{name: "short", in: sipR("1001", testAccount), gateway: testGateway, want: "1001@sip.example.net"},
		{name: "anonymous", in: anonR, gateway: testGateway, want: "anonymous@sip.example.net"},
		{name: "gateway normalised", in: phoneR("+1"), gateway: "SIP.Example.NET.", want: "+1@sip.example.net"},
		{name: "bad gateway", in: phoneR("+1"), gateway: "", wantErr: ErrMalformed},
		{name: "bad remote", in: sipR(" bob", "x.org"), gateway: testGateway, wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ToJID(tt.in, tt.gateway, testAccount)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ToJID = %q, %v; want error %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ToJID = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestFromJID(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		gateway string
		want    Remote
		wantErr error
	}{
		{name: "bare", in: `bob\40example.org@sip.example.net`, gateway: testGateway, want: sipR("bob", "example.org")},
		{name: "full", in: `bob\40example.org@sip.example.net/sip`, gateway: testGateway, want: sipR("bob", "example.org")},
		{name: "domain case", in: "+14155550100@SIP.example.net", gateway: testGateway, want: phoneR("+14155550100")},
		{name: "configured domain case", in: "1001@sip.example.net", gateway: "Sip.Example.Net.", want: shortR("1001")},
		{name: "legacy", in: "bob%example.org@sip.example.net", gateway: testGateway, want: sipR("bob", "example.org")},
		{name: "anonymous", in: "anonymous@sip.example.net/sip", gateway: testGateway, want: anonR},

		{name: "foreign domain", in: "bob@example.org", gateway: testGateway, wantErr: ErrForeignDomain},
		{name: "gateway itself", in: "sip.example.net", gateway: testGateway, wantErr: ErrMalformed},
		{name: "gateway resource", in: "sip.example.net/x", gateway: testGateway, wantErr: ErrMalformed},
		{name: "invalid JID", in: "@sip.example.net", gateway: testGateway, wantErr: ErrMalformed},
		{name: "bad localpart", in: `\40x.org@sip.example.net`, gateway: testGateway, wantErr: ErrMalformed},
		{name: "bad gateway", in: "a@sip.example.net", gateway: "", wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromJID(tt.in, tt.gateway)
			checkResult(t, got, err, tt.want, tt.wantErr)
		})
	}
}
