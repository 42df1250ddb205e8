package sasl

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// vectors are the example exchanges of RFC 5802 §5 and RFC 7677 §3.
var vectors = []struct {
	mech                  string
	user, password, nonce string
	clientFirst           string
	serverFirst           string
	clientFinal           string
	serverFinal           string
}{
	{
		mech: SCRAMSHA1, user: "user", password: "pencil", nonce: "fyko+d2lbbFgONRv9qkxdawL",
		clientFirst: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
		serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
		clientFinal: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
		serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
	},
	{
		mech: SCRAMSHA256, user: "user", password: "pencil", nonce: "rOprNGfwEbeRWgbNEkqO",
		clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
		serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
	},
}

func TestSCRAMVectors(t *testing.T) {
	for _, v := range vectors {
		// The server signature may come with success or in a last
		// challenge (answered with an empty response); both must verify.
		for _, inChallenge := range []bool{false, true} {
			name := v.mech + map[bool]string{false: "/in success", true: "/in challenge"}[inChallenge]
			t.Run(name, func(t *testing.T) {
				s, err := newSCRAM(v.mech, v.user, v.password, v.nonce)
				if err != nil {
					t.Fatal(err)
				}
				first, err := s.Start()
				if err != nil || string(first) != v.clientFirst {
					t.Fatalf("client-first = %q, %v; want %q", first, err, v.clientFirst)
				}
				final, err := s.Next([]byte(v.serverFirst))
				if err != nil || string(final) != v.clientFinal {
					t.Fatalf("client-final = %q, %v; want %q", final, err, v.clientFinal)
				}
				if inChallenge {
					resp, err := s.Next([]byte(v.serverFinal))
					if err != nil || len(resp) != 0 {
						t.Fatalf("server-final as challenge: %q, %v; want an empty response", resp, err)
					}
					if err := s.Finish(nil); err != nil {
						t.Fatalf("empty success after a verified challenge: %v", err)
					}
					return
				}
				if err := s.Finish([]byte(v.serverFinal)); err != nil {
					t.Fatalf("server signature rejected: %v", err)
				}
			})
		}
	}
}

func TestSCRAMRejectsWrongServerSignature(t *testing.T) {
	for _, v := range vectors {
		s, _ := newSCRAM(v.mech, v.user, v.password, v.nonce)
		_, _ = s.Start()
		if _, err := s.Next([]byte(v.serverFirst)); err != nil {
			t.Fatal(err)
		}
		size := s.hash().Size()
		wrong := "v=" + base64.StdEncoding.EncodeToString(make([]byte, size))
		if err := s.Finish([]byte(wrong)); !errors.Is(err, ErrServerSignature) {
			t.Fatalf("%s: wrong signature: %v, want ErrServerSignature", v.mech, err)
		}
	}
}

func TestSCRAMOutOfOrder(t *testing.T) {
	v := vectors[1]
	for _, tc := range []struct {
		name string
		run  func(s *scram) error
	}{
		{"success before proof", func(s *scram) error { _, _ = s.Start(); return s.Finish([]byte(v.serverFinal)) }},
		{"success without signature", func(s *scram) error {
			_, _ = s.Start()
			_, _ = s.Next([]byte(v.serverFirst))
			return s.Finish(nil)
		}},
		{"third challenge", func(s *scram) error {
			_, _ = s.Start()
			_, _ = s.Next([]byte(v.serverFirst))
			_, _ = s.Next([]byte(v.serverFinal))
			_, err := s.Next([]byte(v.serverFinal))
			return err
		}},
		{"challenge before start", func(s *scram) error { _, err := s.Next([]byte(v.serverFirst)); return err }},
		{"started twice", func(s *scram) error { _, _ = s.Start(); _, err := s.Start(); return err }},
		{"foreign nonce", func(s *scram) error {
			_, _ = s.Start()
			_, err := s.Next([]byte("r=xyz123,s=QSXCR+Q6sek8bf92,i=4096"))
			return err
		}},
		{"nonce not extended", func(s *scram) error {
			_, _ = s.Start()
			_, err := s.Next([]byte("r=" + v.nonce + ",s=QSXCR+Q6sek8bf92,i=4096"))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newSCRAM(v.mech, v.user, v.password, v.nonce)
			if err := tc.run(s); !errors.Is(err, ErrProtocol) {
				t.Fatalf("err = %v, want ErrProtocol", err)
			}
		})
	}
}

func TestParseServerFirst(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want string // error substring; empty: valid
	}{
		{"r=abc,s=QSXCR+Q6sek8bf92,i=4096", ""},
		{"r=abc,s=QSXCR+Q6sek8bf92,i=4096,x=ext", ""},
		{"m=must,r=abc,s=QSXCR+Q6sek8bf92,i=4096", "mandatory extension"},
		{"e=other-error", "other-error"},
		{"s=QSXCR+Q6sek8bf92,r=abc,i=4096", "not r="},
		{"r=abc,s=QSXCR+Q6sek8bf92", "not r="},
		{"r=,s=QSXCR+Q6sek8bf92,i=4096", "empty nonce"},
		{"r=a\x01c,s=QSXCR+Q6sek8bf92,i=4096", "not printable"},
		{"r=abc,s=!!,i=4096", "bad salt"},
		{"r=abc,s=,i=4096", "bad salt"},
		{"r=abc,s=QSXCR+Q6sek8bf92,i=0", "iteration count"},
		{"r=abc,s=QSXCR+Q6sek8bf92,i=-1", "iteration count"},
		{"r=abc,s=QSXCR+Q6sek8bf92,i=99999999999", "iteration count"},
		{"r=abc,s=QSXCR+Q6sek8bf92,i=x", "iteration count"},
		{"", "empty message"},
		{"r=abc,,s=x", "malformed"},
		{"rr=abc", "malformed"},
	} {
		_, err := parseServerFirst(tc.msg)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("parseServerFirst(%q) = %v, want ok", tc.msg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrProtocol)):
			t.Errorf("parseServerFirst(%q) = %v, want ErrProtocol containing %q", tc.msg, err, tc.want)
		}
	}
}

func TestParseServerFinal(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want string
	}{
		{"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=", ""},
		{"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=,x=ext", ""},
		{"e=invalid-proof", "invalid-proof"},
		{"v=", "bad server signature"},
		{"v=%%%", "bad server signature"},
		{"r=abc", "neither"},
		{"", "empty message"},
	} {
		_, err := parseServerFinal(tc.msg)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("parseServerFinal(%q) = %v, want ok", tc.msg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("parseServerFinal(%q) = %v, want an error containing %q", tc.msg, err, tc.want)
		}
	}
}

func TestEscapeUser(t *testing.T) {
	s, _ := newSCRAM(SCRAMSHA1, "a=b,c", "p", "n0nce")
	if first, _ := s.Start(); string(first) != "n,,n=a=3Db=2Cc,r=n0nce" {
		t.Fatalf("client-first = %q", first)
	}
}

func TestPlain(t *testing.T) {
	m, err := New(Plain, "alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Finish(nil); err == nil {
		t.Fatal("PLAIN accepted success before the initial response")
	}
	if b, _ := m.Start(); string(b) != "\x00alice\x00secret" {
		t.Fatalf("PLAIN initial response = %q", b)
	}
	if _, err := m.Next([]byte("x")); !errors.Is(err, ErrProtocol) {
		t.Fatalf("PLAIN challenge: %v, want ErrProtocol", err)
	}
	if err := m.Finish(nil); err != nil {
		t.Fatal(err)
	}
}

func TestNew(t *testing.T) {
	for _, name := range []string{SCRAMSHA256, SCRAMSHA1, Plain} {
		m, err := New(name, "u", "p")
		if err != nil || m.Name() != name {
			t.Fatalf("New(%s) = %v, %v", name, m, err)
		}
	}
	if _, err := New("DIGEST-MD5", "u", "p"); err == nil {
		t.Fatal("New accepted DIGEST-MD5")
	}
	if _, err := New(Plain, "", "p"); err == nil {
		t.Fatal("New accepted an empty username")
	}
	a, _ := New(SCRAMSHA1, "u", "p")
	b, _ := New(SCRAMSHA1, "u", "p")
	fa, _ := a.Start()
	fb, _ := b.Start()
	if string(fa) == string(fb) {
		t.Fatal("two exchanges used the same nonce")
	}
}

func TestSelect(t *testing.T) {
	for _, tc := range []struct {
		offered    []string
		allowPlain bool
		want       string
	}{
		{[]string{"PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"}, true, SCRAMSHA256},
		{[]string{"SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN"}, true, SCRAMSHA1},
		{[]string{"PLAIN", "X-OAUTH2"}, true, Plain},
		{[]string{"PLAIN", "X-OAUTH2"}, false, ""},
		{[]string{"SCRAM-SHA-256-PLUS", "DIGEST-MD5"}, true, ""},
		{nil, true, ""},
	} {
		got, ok := Select(tc.offered, tc.allowPlain)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("Select(%v, %v) = %q, %v; want %q", tc.offered, tc.allowPlain, got, ok, tc.want)
		}
	}
}
