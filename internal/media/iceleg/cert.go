package iceleg

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // RFC 8122 fingerprints may still use sha-1; only compared, never trusted alone
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"strings"
	"time"
)

// Certificate is the DTLS identity of the process. It is generated once
// (NewCertificate) and shared by every leg: generating an ECDSA key per call
// would cost for nothing, since peers authenticate it only through the
// fingerprint signalled in Jingle, never through a CA.
type Certificate struct {
	tls tls.Certificate
	fp  Fingerprint
}

// certValidity is long on purpose: peers check the fingerprint, not the
// dates, and a gateway may run for longer than the 30 days browsers use.
const certValidity = 10 * 365 * 24 * time.Hour

// NewCertificate generates a self-signed ECDSA P-256 certificate (what
// libwebrtc itself uses) and its sha-256 fingerprint.
func NewCertificate() (*Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("iceleg: certificate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, fmt.Errorf("iceleg: certificate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "fargo"},
		NotBefore:    now.Add(-24 * time.Hour), // tolerate peers with a clock behind ours
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("iceleg: create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("iceleg: parse certificate: %w", err)
	}
	return &Certificate{
		tls: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		fp:  Fingerprint{Hash: "sha-256", Value: fingerprintHex(sha256.New(), der)},
	}, nil
}

// Fingerprint is the certificate's sha-256 fingerprint, to announce in
// Jingle (XEP-0320) or SDP (a=fingerprint).
func (c *Certificate) Fingerprint() Fingerprint { return c.fp }

// fingerprintHex hashes der and formats it as RFC 8122 wants: upper-case
// hex pairs separated by colons.
func fingerprintHex(h hash.Hash, der []byte) string {
	h.Write(der)
	sum := h.Sum(nil)
	var b strings.Builder
	b.Grow(len(sum) * 3)
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strings.ToUpper(hex.EncodeToString([]byte{x})))
	}
	return b.String()
}

// newHash returns the hash an RFC 8122 hash-func names (case-insensitive).
func newHash(name string) (hash.Hash, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "sha-1":
		return sha1.New(), nil //nolint:gosec // see import
	case "sha-224":
		return sha256.New224(), nil
	case "sha-256":
		return sha256.New(), nil
	case "sha-384":
		return sha512.New384(), nil
	case "sha-512":
		return sha512.New(), nil
	}
	return nil, fmt.Errorf("iceleg: unsupported fingerprint hash %q", name)
}

var errFingerprint = errors.New("iceleg: remote certificate does not match the signalled fingerprint")

// verifyFingerprint is the DTLS VerifyPeerCertificate hook: the peer's
// self-signed certificate is trusted exactly when it hashes to what the
// peer signalled. Hex case and the hash name's case do not matter.
func verifyFingerprint(want Fingerprint, rawCerts [][]byte) error {
	if len(rawCerts) == 0 {
		return fmt.Errorf("%w: no certificate sent", errFingerprint)
	}
	h, err := newHash(want.Hash)
	if err != nil {
		return err
	}
	got := fingerprintHex(h, rawCerts[0])
	if !strings.EqualFold(got, strings.TrimSpace(want.Value)) {
		return fmt.Errorf("%w: got %s %s", errFingerprint, want.Hash, got)
	}
	return nil
}
