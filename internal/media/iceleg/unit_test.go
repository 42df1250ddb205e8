package iceleg

import (
	"errors"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want kind
	}{
		{"empty", nil, kindOther},
		{"stun binding request", []byte{0x00, 0x01, 0, 0}, kindSTUN},
		{"stun upper bound", []byte{3, 0}, kindSTUN},
		{"zrtp", []byte{16, 0}, kindOther},
		{"dtls handshake", []byte{22, 0xfe, 0xfd}, kindDTLS},
		{"dtls lower bound", []byte{20}, kindDTLS},
		{"dtls upper bound", []byte{63}, kindDTLS},
		{"turn channel", []byte{64, 0}, kindOther},
		{"rtp pcmu", []byte{0x80, 0x00}, kindRTP},
		{"rtp marker pt 96", []byte{0x80, 0x80 | 96}, kindRTP},
		{"rtp pt 127 with marker", []byte{0x80, 0xff}, kindRTP},
		{"rtcp sr", []byte{0x80, 200}, kindRTCP},
		{"rtcp rr with count", []byte{0x81, 201}, kindRTCP},
		{"rtcp lower bound", []byte{0x80, 192}, kindRTCP},
		{"rtcp upper bound", []byte{0x80, 223}, kindRTCP},
		{"rtp pt 224 marker", []byte{0x80, 224}, kindRTP},
		{"rtp without second byte", []byte{0x80}, kindOther},
		{"rtp upper bound", []byte{191, 0}, kindRTP},
		{"above rtp", []byte{192, 0}, kindOther},
	}
	for _, tt := range tests {
		if got := classify(tt.b); got != tt.want {
			t.Errorf("%s: classify(% x) = %v, want %v", tt.name, tt.b, got, tt.want)
		}
	}
}

func TestLocalSetup(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"", SetupActpass},
		{SetupActpass, SetupActive},
		{SetupActive, SetupPassive},
		{SetupPassive, SetupActive},
	}
	l := &Leg{}
	for _, tt := range tests {
		if got := l.LocalSetup(tt.remote); got != tt.want {
			t.Errorf("LocalSetup(%q) = %q, want %q", tt.remote, got, tt.want)
		}
	}
}

func TestDTLSRole(t *testing.T) {
	tests := []struct {
		controlling bool
		remote      string
		client      bool
	}{
		// We answered: our own answer decides.
		{false, SetupActpass, true},
		{false, SetupActive, false},
		{false, SetupPassive, true},
		// We offered actpass: the remote's answer decides.
		{true, SetupActive, false},
		{true, SetupPassive, true},
	}
	for _, tt := range tests {
		if got := dtlsClient(tt.controlling, tt.remote); got != tt.client {
			t.Errorf("dtlsClient(controlling=%v, remote %q) = %v, want %v", tt.controlling, tt.remote, got, tt.client)
		}
	}
}

func TestFingerprint(t *testing.T) {
	c := testCert(t)
	fp := c.Fingerprint()
	if fp.Hash != "sha-256" || len(fp.Value) != 32*3-1 || fp.Value != strings.ToUpper(fp.Value) {
		t.Fatalf("fingerprint %+v: want sha-256, 32 upper-case hex pairs", fp)
	}
	raw := [][]byte{c.tls.Certificate[0]}
	if err := verifyFingerprint(fp, raw); err != nil {
		t.Errorf("own fingerprint: %v", err)
	}
	lower := Fingerprint{Hash: "SHA-256", Value: strings.ToLower(fp.Value)}
	if err := verifyFingerprint(lower, raw); err != nil {
		t.Errorf("lower-case fingerprint: %v", err)
	}
	bad := fp
	bad.Value = "00" + fp.Value[2:]
	if err := verifyFingerprint(bad, raw); !errors.Is(err, errFingerprint) {
		t.Errorf("wrong fingerprint: %v, want errFingerprint", err)
	}
	if err := verifyFingerprint(Fingerprint{Hash: "md5", Value: fp.Value}, raw); err == nil {
		t.Error("md5 fingerprint accepted")
	}
	if err := verifyFingerprint(fp, nil); !errors.Is(err, errFingerprint) {
		t.Errorf("no certificate: %v", err)
	}
}
