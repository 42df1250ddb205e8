package testkit

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SASL mechanisms the client implements.
const (
	MechSCRAMSHA1 = "SCRAM-SHA-1"
	MechPLAIN     = "PLAIN"
)

// plainResponse is the PLAIN initial response of RFC 4616 (no authzid).
func plainResponse(user, password string) []byte {
	return []byte("\x00" + user + "\x00" + password)
}

// scramSHA1 is the client side of SCRAM-SHA-1 (RFC 5802) without channel
// binding: the lab servers are reached over plain TCP, so "n,," is honest.
type scramSHA1 struct {
	user, password string
	clientNonce    string

	clientFirstBare string
	authMessage     string
	saltedPassword  []byte
}

const gs2Header = "n,,"

func newSCRAMSHA1(user, password string) (*scramSHA1, error) {
	nonce := make([]byte, 18)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("scram nonce: %w", err)
	}
	return &scramSHA1{user: user, password: password, clientNonce: base64.RawStdEncoding.EncodeToString(nonce)}, nil
}

// clientFirst is the initial response: gs2 header + client-first-message-bare.
func (s *scramSHA1) clientFirst() []byte {
	s.clientFirstBare = "n=" + scramEscape(s.user) + ",r=" + s.clientNonce
	return []byte(gs2Header + s.clientFirstBare)
}

// clientFinal answers the server-first-message with the client proof.
func (s *scramSHA1) clientFinal(serverFirst []byte) ([]byte, error) {
	attrs, err := scramAttrs(string(serverFirst))
	if err != nil {
		return nil, err
	}
	if e, ok := attrs["e"]; ok {
		return nil, fmt.Errorf("scram server error: %s", e)
	}
	nonce, salt64, iterStr := attrs["r"], attrs["s"], attrs["i"]
	// the server must extend our nonce; anything else is a replay or a bug
	if !strings.HasPrefix(nonce, s.clientNonce) || len(nonce) == len(s.clientNonce) {
		return nil, fmt.Errorf("scram: server nonce %q does not extend ours", nonce)
	}
	salt, err := base64.StdEncoding.DecodeString(salt64)
	if err != nil {
		return nil, fmt.Errorf("scram salt: %w", err)
	}
	iter, err := strconv.Atoi(iterStr)
	if err != nil || iter < 1 {
		return nil, fmt.Errorf("scram: bad iteration count %q", iterStr)
	}
	s.saltedPassword, err = pbkdf2.Key(sha1.New, s.password, salt, iter, sha1.Size)
	if err != nil {
		return nil, fmt.Errorf("scram pbkdf2: %w", err)
	}
	withoutProof := "c=" + base64.StdEncoding.EncodeToString([]byte(gs2Header)) + ",r=" + nonce
	s.authMessage = s.clientFirstBare + "," + string(serverFirst) + "," + withoutProof

	clientKey := hmacSHA1(s.saltedPassword, "Client Key")
	storedKey := sha1.Sum(clientKey)
	signature := hmacSHA1(storedKey[:], s.authMessage)
	proof := make([]byte, len(clientKey))
	subtle.XORBytes(proof, clientKey, signature)
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

// verifyServerFinal checks the server signature: it proves the server knew
// the password too, so a test never passes against the wrong server.
func (s *scramSHA1) verifyServerFinal(serverFinal []byte) error {
	if s.saltedPassword == nil {
		return errors.New("scram: server-final before server-first")
	}
	attrs, err := scramAttrs(string(serverFinal))
	if err != nil {
		return err
	}
	if e, ok := attrs["e"]; ok {
		return fmt.Errorf("scram server error: %s", e)
	}
	got, err := base64.StdEncoding.DecodeString(attrs["v"])
	if err != nil {
		return fmt.Errorf("scram server signature: %w", err)
	}
	want := hmacSHA1(hmacSHA1(s.saltedPassword, "Server Key"), s.authMessage)
	if !hmac.Equal(got, want) {
		return errors.New("scram: wrong server signature")
	}
	return nil
}

func hmacSHA1(key []byte, msg string) []byte {
	m := hmac.New(sha1.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// scramEscape escapes a username as RFC 5802 §5.1 requires (no SASLprep:
// the lab users are ASCII).
func scramEscape(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

// scramAttrs splits "k=v,k=v" into a map; values may contain '='.
func scramAttrs(msg string) (map[string]string, error) {
	attrs := map[string]string{}
	for _, part := range strings.Split(msg, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || len(k) != 1 {
			return nil, fmt.Errorf("scram: malformed attribute %q in %q", part, msg)
		}
		attrs[k] = v
	}
	return attrs, nil
}
