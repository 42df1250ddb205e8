package address

import (
	"errors"
	"testing"
)

const (
	testGateway = "sip.example.net"
	testAccount = "example.com"
)

// TestEdgeCases is protocol-map §1.5, row by row. Forward: the remote
// address through ParseURI and ToLocalpart. Reverse: the XEP-0106 and the
// legacy localpart through FromLocalpart and SIPURI.
func TestEdgeCases(t *testing.T) {
	tests := []struct {
		name    string
		uri     string // remote address; empty for JID-only rows
		local   string // XEP-0106 localpart; empty when refused
		legacy  string // legacy % localpart accepted on input, if any
		reverse string // SIP target both localparts map back to
		wantErr error  // forward error
		revErr  error  // reverse error
	}{
		{
			name:    "basic",
			uri:     "sip:bob@example.org",
			local:   `bob\40example.org`,
			legacy:  "bob%example.org",
			reverse: "sip:bob@example.org",
		},
		{
			name:    "apostrophe illegal in localpart",
			uri:     "sip:o'malley@example.org",
			local:   `o\27malley\40example.org`,
			legacy:  `o\27malley%example.org`,
			reverse: "sip:o'malley@example.org",
		},
		{
			name:  "percent-decode first then XEP-0106",
			uri:   "sip:m%26m@example.org",
			local: `m\26m\40example.org`,
			// '&' is user-unreserved, so it goes out raw: equivalent URI.
			reverse: "sip:m&m@example.org",
		},
		{
			name:    "UTF-8 kept as Unicode",
			uri:     "sip:f%C3%BC@example.org",
			local:   `fü\40example.org`,
			legacy:  "fü%example.org",
			reverse: "sip:f%C3%BC@example.org",
		},
		{
			name:  "case folded (lossy)",
			uri:   "sip:Alice@example.org",
			local: `alice\40example.org`,
			// The original case is gone; callers keep a table if they care.
			reverse: "sip:alice@example.org",
		},
		{
			name:    "literal backslash starting an escape sequence",
			uri:     "sip:a%5C27b@x.org",
			local:   `a\5c27b\40x.org`,
			reverse: "sip:a%5C27b@x.org",
		},
		{
			name:    "IPv6 host",
			uri:     "sip:user@[2001:db8::1]",
			local:   `user\40[2001\3adb8\3a\3a1]`,
			reverse: "sip:user@[2001:db8::1]",
		},
		{
			name:    "non-default port kept",
			uri:     "sip:user@host:5080",
			local:   `user\40host\3a5080`,
			legacy:  `user%host\3a5080`,
			reverse: "sip:user@host:5080",
		},
		{
			name:    "default port 5060 dropped",
			uri:     "sip:user@host:5060",
			local:   `user\40host`,
			reverse: "sip:user@host",
		},
		{
			name:    "default sips port 5061 dropped",
			uri:     "sips:user@host:5061",
			local:   `user\40host`,
			reverse: "sip:user@host", // SIPS is a per-contact flag, not in the JID
		},
		{
			name:   "anonymous",
			uri:    "sip:anonymous@anonymous.invalid",
			local:  "anonymous",
			revErr: ErrAnonymous,
		},
		{
			name:    "tel with separators",
			uri:     "tel:+44 (20) 7946-0958",
			local:   "+442079460958",
			reverse: "sip:+442079460958@example.com;user=phone",
		},
		{
			name:    "user=phone host dropped",
			uri:     "sip:+14155550100@prov.net;user=phone",
			local:   "+14155550100",
			reverse: "sip:+14155550100@example.com;user=phone",
		},
		{
			name:    "legacy JID split on last percent",
			legacy:  "bob%sub%example.org",
			reverse: "sip:bob%25sub@example.org",
		},
		{
			name:    "leading space refused",
			uri:     "sip:%20bob@example.org",
			wantErr: ErrMalformed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.uri != "" {
				checkForward(t, tt.uri, tt.local, tt.wantErr)
			}
			for _, local := range []string{tt.local, tt.legacy} {
				if local != "" {
					checkReverse(t, local, tt.reverse, tt.revErr)
				}
			}
		})
	}
}

func checkForward(t *testing.T, uri, want string, wantErr error) {
	t.Helper()
	got, err := parseToLocal(uri)
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Fatalf("%s → %q, %v; want error %v", uri, got, err, wantErr)
		}
		return
	}
	if err != nil || got != want {
		t.Fatalf("%s → %q, %v; want %q", uri, got, err, want)
	}
}

func parseToLocal(uri string) (string, error) {
	r, err := ParseURI(uri)
	if err != nil {
		return "", err
	}
	return ToLocalpart(r, testAccount)
}

func checkReverse(t *testing.T, local, want string, wantErr error) {
	t.Helper()
	r, err := FromLocalpart(local)
	if err != nil {
		t.Fatalf("FromLocalpart(%q): %v", local, err)
	}
	got, err := SIPURI(r, testAccount)
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Fatalf("%q → %q, %v; want error %v", local, got, err, wantErr)
		}
		return
	}
	if err != nil || got != want {
		t.Fatalf("%q → %+v → %q, %v; want %q", local, r, got, err, want)
	}
}
