package address

import (
	"strings"
	"testing"
)

func TestParseUserInput(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Remote
		wantErr error
	}{
		{name: "address", in: "bob@example.org", want: sipR("bob", "example.org")},
		{name: "address with spaces around", in: "  bob@Example.org \n", want: sipR("bob", "example.org")},
		{name: "address with port", in: "bob@example.org:5080", want: sipR("bob", "example.org:5080")},
		{name: "case kept", in: "Bob@example.org", want: sipR("Bob", "example.org")},
		{name: "not percent-decoded", in: "bob%25@example.org", want: sipR("bob%25", "example.org")},
		{name: "sip URI", in: "sip:bob@example.org", want: sipR("bob", "example.org")},
		{name: "SIP URI upper", in: "SIP:bob@example.org", want: sipR("bob", "example.org")},
		{name: "sips URI", in: "sips:bob@example.org", want: Remote{Kind: KindSIP, User: "bob", Host: "example.org", SIPS: true}},
		{name: "name-addr", in: "Bob <sip:bob@example.org>", want: sipR("bob", "example.org")},
		{name: "tel URI", in: "tel:+1-415-555-0100", want: phoneR("+14155550100")},
		{name: "E.164 typed", in: "+1 (415) 555-0100", want: phoneR("+14155550100")},
		{name: "E.164 plain", in: "+14155550100", want: phoneR("+14155550100")},
		{name: "short", in: "1001", want: shortR("1001")},
		{name: "national number", in: "(415) 555-0100", want: shortR("4155550100")},
		{name: "star code", in: "*67", want: shortR("*67")},
		{name: "word", in: "reception", want: shortR("reception")},
		{name: "legacy percent", in: "bob%example.org", want: sipR("bob", "example.org")},
		{name: "phone at host", in: "+14155550100@prov.net", want: phoneR("+14155550100")},
		{name: "anonymous", in: "anonymous@anonymous.invalid", want: anonR},

		{name: "empty", in: "", wantErr: ErrMalformed},
		{name: "blank", in: " \t", wantErr: ErrMalformed},
		{name: "bad E.164", in: "+1 415 555 0100 ext 5", wantErr: ErrMalformed},
		{name: "too many digits", in: "+1234567890123456", wantErr: ErrMalformed},
		{name: "empty user", in: "@example.org", wantErr: ErrMalformed},
		{name: "empty host", in: "bob@", wantErr: ErrMalformed},
		{name: "bad host", in: "bob@exa mple.org", wantErr: ErrMalformed},
		{name: "legacy empty host", in: "100%", wantErr: ErrMalformed},
		{name: "bad URI", in: "sip:example.org", wantErr: ErrMalformed},
		{name: "tel local", in: "tel:7042", wantErr: ErrLocalNumber},
		{name: "control", in: "bo\x00b", wantErr: ErrMalformed},
		{name: "over-long", in: strings.Repeat("1", maxInput+1), wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseUserInput(tt.in)
			checkResult(t, got, err, tt.want, tt.wantErr)
		})
	}
}

// TestGatewayPrompt is the XEP-0100 §6.3 exchange end to end: what the
// user types becomes the JID the gateway answers with.
func TestGatewayPrompt(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "protocol map example", in: "bob@example.org", want: `bob\40example.org@sip.example.net`},
		{name: "phone", in: "+1 (415) 555-0100", want: "+14155550100@sip.example.net"},
		{name: "extension", in: "1001", want: "1001@sip.example.net"},
		{name: "user on own domain", in: "alice@example.com", want: "alice@sip.example.net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseUserInput(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ToJID(r, testGateway, testAccount)
			if err != nil || got != tt.want {
				t.Fatalf("%q → %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}
