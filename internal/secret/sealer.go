package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// KeySize is the size in bytes of a sealing key (AES-256).
const KeySize = 32

// version1 marks the sealed format version ‖ nonce(12) ‖ AES-256-GCM
// ciphertext+tag. A leading version byte lets a future format (another AEAD,
// key rotation with a key id) coexist with rows sealed by this one.
const version1 byte = 1

// ErrOpen is returned by Open when sealed data does not authenticate: the
// key is not the one it was sealed with, the associated data differs, or the
// bytes were altered. GCM cannot tell these apart, so neither can we.
var ErrOpen = errors.New("secret: sealed data does not open (wrong key, wrong associated data, or tampered)")

// Sealer seals and opens secrets with AES-256-GCM and a random 96-bit nonce
// per seal. It is safe for concurrent use.
//
// Random nonces are fine at our volume: the GCM birthday bound (2^32 seals
// per key for a 2^-32 collision chance) is far beyond the number of
// passwords a gateway ever stores.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for key, which must be KeySize bytes.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret: key must be %d bytes, got %d bytes", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts and authenticates plaintext, binding it to associatedData
// (which is authenticated but not stored: Open needs the same value). The
// result is version ‖ nonce ‖ ciphertext.
func (s *Sealer) Seal(plaintext, associatedData []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+s.aead.Overhead())
	out[0] = version1
	nonce := out[1 : 1+ns]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("secret: nonce: %w", err)
	}
	return s.aead.Seal(out, nonce, plaintext, associatedData), nil
}

// Open authenticates and decrypts sealed, which must have been produced by
// Seal with the same key and associatedData. Failures to authenticate return
// an error wrapping ErrOpen; malformed input returns a descriptive error.
func (s *Sealer) Open(sealed, associatedData []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) == 0 {
		return nil, errors.New("secret: sealed data is empty")
	}
	if sealed[0] != version1 {
		return nil, fmt.Errorf("secret: unknown sealed format version %d", sealed[0])
	}
	if len(sealed) < 1+ns+s.aead.Overhead() {
		return nil, fmt.Errorf("secret: sealed data too short (%d bytes)", len(sealed))
	}
	nonce, ct := sealed[1:1+ns], sealed[1+ns:]
	pt, err := s.aead.Open(nil, nonce, ct, associatedData)
	if err != nil {
		// The cipher's own error says nothing more useful, and we never
		// echo any of the input back.
		return nil, ErrOpen
	}
	return pt, nil
}
