package sasl

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
	"strings"
)

// gs2Header says "no channel binding, no authzid". We never use -PLUS, and
// RFC 5802 §6 reserves "y" for clients that support channel binding but
// think the server does not, which is not us: "n" is the honest flag
// whatever the server advertises.
const gs2Header = "n,,"

// scram is the client side of SCRAM-SHA-1 / SCRAM-SHA-256 (RFC 5802 §3,
// RFC 7677).
type scram struct {
	name     string
	hash     func() hash.Hash
	user     string
	password string
	nonce    string

	step            int // 0 new, 1 first sent, 2 final sent, 3 server verified
	clientFirstBare string
	authMessage     string
	serverKey       []byte
}

func newSCRAM(name, user, password, nonce string) (*scram, error) {
	s := &scram{name: name, user: user, password: password, nonce: nonce}
	switch name {
	case SCRAMSHA1:
		s.hash = sha1.New
	case SCRAMSHA256:
		s.hash = sha256.New
	default:
		return nil, fmt.Errorf("sasl: %q is not a SCRAM mechanism", name)
	}
	return s, nil
}

// randomNonce is 24 random bytes, base64: printable and free of ','.
func randomNonce() string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	return base64.RawStdEncoding.EncodeToString(b[:])
}

func (s *scram) Name() string { return s.name }

// Start returns the client-first-message.
func (s *scram) Start() ([]byte, error) {
	if s.step != 0 {
		return nil, fmt.Errorf("%w: %s started twice", ErrProtocol, s.name)
	}
	s.step = 1
	s.clientFirstBare = "n=" + escapeUser(s.user) + ",r=" + s.nonce
	return []byte(gs2Header + s.clientFirstBare), nil
}

// Next answers the server-first-message with the client-final-message, or
// verifies a server-final-message sent as a challenge (then the answer is
// empty, RFC 6120 §6.4.3).
func (s *scram) Next(challenge []byte) ([]byte, error) {
	switch s.step {
	case 1:
		return s.clientFinal(string(challenge))
	case 2:
		if err := s.verify(string(challenge)); err != nil {
			return nil, err
		}
		return []byte{}, nil
	default:
		return nil, fmt.Errorf("%w: unexpected %s challenge", ErrProtocol, s.name)
	}
}

// Finish verifies the server-final-message carried by success, unless a
// challenge already did; a success that comes too early or without the
// signature is refused.
func (s *scram) Finish(additional []byte) error {
	switch {
	case s.step < 2:
		return fmt.Errorf("%w: %s success before the client proof", ErrProtocol, s.name)
	case s.step == 2 && len(additional) == 0:
		return fmt.Errorf("%w: %s success without the server signature", ErrProtocol, s.name)
	case len(additional) == 0:
		return nil
	}
	return s.verify(string(additional))
}

func (s *scram) clientFinal(serverFirst string) ([]byte, error) {
	sf, err := parseServerFirst(serverFirst)
	if err != nil {
		return nil, err
	}
	// The server must extend our nonce; anything else is a replay or a bug.
	if !strings.HasPrefix(sf.nonce, s.nonce) || len(sf.nonce) == len(s.nonce) {
		return nil, fmt.Errorf("%w: server nonce does not extend ours", ErrProtocol)
	}
	salted, err := pbkdf2.Key(s.hash, s.password, sf.salt, sf.iterations, s.hash().Size())
	if err != nil {
		return nil, fmt.Errorf("sasl: pbkdf2: %w", err)
	}
	withoutProof := "c=" + base64.StdEncoding.EncodeToString([]byte(gs2Header)) + ",r=" + sf.nonce
	s.authMessage = s.clientFirstBare + "," + serverFirst + "," + withoutProof

	clientKey := s.hmac(salted, "Client Key")
	h := s.hash()
	h.Write(clientKey)
	signature := s.hmac(h.Sum(nil), s.authMessage)
	proof := make([]byte, len(clientKey))
	subtle.XORBytes(proof, clientKey, signature)
	s.serverKey = s.hmac(salted, "Server Key")
	s.step = 2
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

// verify checks the server signature of a server-final-message: it proves
// the server knew the password too.
func (s *scram) verify(serverFinal string) error {
	if s.step < 2 {
		return fmt.Errorf("%w: %s server-final before server-first", ErrProtocol, s.name)
	}
	got, err := parseServerFinal(serverFinal)
	if err != nil {
		return err
	}
	if !hmac.Equal(got, s.hmac(s.serverKey, s.authMessage)) {
		return ErrServerSignature
	}
	s.step = 3
	return nil
}

func (s *scram) hmac(key []byte, msg string) []byte {
	m := hmac.New(s.hash, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// escapeUser escapes a username as RFC 5802 §5.1 requires.
func escapeUser(u string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(u)
}
