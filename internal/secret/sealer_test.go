package secret

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func mustSealer(t *testing.T, key []byte) *Sealer {
	t.Helper()
	s, err := NewSealer(key)
	if err != nil {
		t.Fatalf("NewSealer: %v", err)
	}
	return s
}

func TestNewSealerKeySize(t *testing.T) {
	for _, tc := range []struct {
		name    string
		size    int
		wantErr string
	}{
		{name: "empty", size: 0, wantErr: "got 0 bytes"},
		{name: "aes128", size: 16, wantErr: "got 16 bytes"},
		{name: "one short", size: 31, wantErr: "got 31 bytes"},
		{name: "one long", size: 33, wantErr: "got 33 bytes"},
		{name: "aes256", size: 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSealer(make([]byte, tc.size))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("NewSealer: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("NewSealer error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestSealRoundTrip(t *testing.T) {
	s := mustSealer(t, testKey(1))
	for _, tc := range []struct {
		name      string
		plaintext []byte
		ad        []byte
	}{
		{name: "password", plaintext: []byte("hunter2"), ad: []byte("alice@example.org")},
		{name: "empty plaintext", plaintext: []byte{}, ad: []byte("alice@example.org")},
		{name: "nil ad", plaintext: []byte("x"), ad: nil},
		{name: "unicode", plaintext: []byte("pässwörd🔑"), ad: []byte("jürgen@münchen.example")},
		{name: "long", plaintext: bytes.Repeat([]byte("a"), 10000), ad: []byte("a@b")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sealed, err := s.Seal(tc.plaintext, tc.ad)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			if want := 1 + 12 + len(tc.plaintext) + 16; len(sealed) != want {
				t.Errorf("len(sealed) = %d, want %d", len(sealed), want)
			}
			if sealed[0] != version1 {
				t.Errorf("version byte = %d, want %d", sealed[0], version1)
			}
			if len(tc.plaintext) >= 4 && bytes.Contains(sealed, tc.plaintext) {
				t.Errorf("sealed output contains the plaintext")
			}
			got, err := s.Open(sealed, tc.ad)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tc.plaintext) {
				t.Errorf("Open = %q, want %q", got, tc.plaintext)
			}
		})
	}
}

// Two seals of the same plaintext must differ, or equal passwords would be
// visible as equal rows.
func TestSealNonceIsRandom(t *testing.T) {
	s := mustSealer(t, testKey(1))
	a, _ := s.Seal([]byte("same"), []byte("ad"))
	b, _ := s.Seal([]byte("same"), []byte("ad"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical")
	}
}

func TestOpenFails(t *testing.T) {
	s := mustSealer(t, testKey(1))
	other := mustSealer(t, testKey(2))
	ad := []byte("alice@example.org")
	sealed, err := s.Seal([]byte("hunter2"), ad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	for _, tc := range []struct {
		name    string
		opener  *Sealer
		sealed  []byte
		ad      []byte
		wantErr error  // errors.Is target, if any
		wantMsg string // substring, if any
	}{
		{name: "wrong ad", opener: s, sealed: sealed, ad: []byte("mallory@example.org"), wantErr: ErrOpen},
		{name: "nil ad", opener: s, sealed: sealed, ad: nil, wantErr: ErrOpen},
		{name: "wrong key", opener: other, sealed: sealed, ad: ad, wantErr: ErrOpen},
		{name: "tampered nonce", opener: s, sealed: flip(1), ad: ad, wantErr: ErrOpen},
		{name: "tampered ciphertext", opener: s, sealed: flip(1 + 12), ad: ad, wantErr: ErrOpen},
		{name: "tampered tag", opener: s, sealed: flip(len(sealed) - 1), ad: ad, wantErr: ErrOpen},
		{name: "tampered version", opener: s, sealed: flip(0), ad: ad, wantMsg: "unknown sealed format version"},
		{name: "truncated", opener: s, sealed: sealed[:20], ad: ad, wantMsg: "too short"},
		{name: "empty", opener: s, sealed: nil, ad: ad, wantMsg: "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt, err := tc.opener.Open(tc.sealed, tc.ad)
			if err == nil {
				t.Fatalf("Open succeeded with %q", pt)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Open error = %v, want errors.Is %v", err, tc.wantErr)
			}
			if tc.wantMsg != "" && !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("Open error = %v, want it to contain %q", err, tc.wantMsg)
			}
		})
	}
}

func BenchmarkSeal(b *testing.B) {
	s, _ := NewSealer(testKey(1))
	pt, ad := []byte("a typical sip password"), []byte("alice@example.org")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Seal(pt, ad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	s, _ := NewSealer(testKey(1))
	ad := []byte("alice@example.org")
	sealed, _ := s.Seal([]byte("a typical sip password"), ad)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Open(sealed, ad); err != nil {
			b.Fatal(err)
		}
	}
}
