package testkit

import (
	"encoding/base64"
	"testing"
)

// The example exchange of RFC 5802 §5.
func TestSCRAMSHA1RFC5802Vector(t *testing.T) {
	s := &scramSHA1{user: "user", password: "pencil", clientNonce: "fyko+d2lbbFgONRv9qkxdawL"}
	if got, want := string(s.clientFirst()), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"; got != want {
		t.Fatalf("client-first = %q, want %q", got, want)
	}
	final, err := s.clientFinal([]byte("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"))
	if err != nil {
		t.Fatal(err)
	}
	want := "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
	if string(final) != want {
		t.Fatalf("client-final = %q, want %q", final, want)
	}
	if err := s.verifyServerFinal([]byte("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")); err != nil {
		t.Fatalf("server signature rejected: %v", err)
	}
	if err := s.verifyServerFinal([]byte("v=" + base64.StdEncoding.EncodeToString(make([]byte, 20)))); err == nil {
		t.Fatal("a wrong server signature was accepted")
	}
}

func TestSCRAMRejectsForeignNonce(t *testing.T) {
	s := &scramSHA1{user: "user", password: "pencil", clientNonce: "abc"}
	s.clientFirst()
	if _, err := s.clientFinal([]byte("r=xyz123,s=QSXCR+Q6sek8bf92,i=4096")); err == nil {
		t.Fatal("accepted a server nonce that does not extend the client nonce")
	}
}

func TestSCRAMEscape(t *testing.T) {
	if got := scramEscape("a=b,c"); got != "a=3Db=2Cc" {
		t.Fatalf("scramEscape = %q", got)
	}
}
