package media

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/pion/srtp/v3"
)

// SDES crypto suites (RFC 4568 §6.2, RFC 6188 §7.1, RFC 7714 §14.2) the
// relay keys an RTP leg with, as a=crypto lines name them.
const (
	SuiteAES128SHA1_80 = "AES_CM_128_HMAC_SHA1_80" // the one every SDES implementation has
	SuiteAES128SHA1_32 = "AES_CM_128_HMAC_SHA1_32" // 32-bit SRTP tag; SRTCP keeps 80 bits
	SuiteAES256SHA1_80 = "AES_256_CM_HMAC_SHA1_80"
	SuiteAES256SHA1_32 = "AES_256_CM_HMAC_SHA1_32"
	SuiteAEADAES128GCM = "AEAD_AES_128_GCM"
	SuiteAEADAES256GCM = "AEAD_AES_256_GCM"
)

// SDESKey is one direction's SDES-SRTP keying (RFC 4568): the crypto
// suite, and the master key followed by the master salt, which is what an
// a=crypto line's "inline:" parameter carries in base64. The zero value is
// "no key".
type SDESKey struct {
	Suite string
	Key   []byte // master key || master salt
}

// IsZero reports whether k is the zero key (plain RTP).
func (k SDESKey) IsZero() bool { return k.Suite == "" && len(k.Key) == 0 }

// Validate checks that the relay supports k's suite and that k has the
// suite's key length.
func (k SDESKey) Validate() error {
	_, err := k.split()
	return err
}

// sdesProfile maps a suite name to pion's profile. Suite names are tokens
// the RFCs write in capitals; some phones do not, so case is ignored.
func sdesProfile(suite string) (srtp.ProtectionProfile, bool) {
	switch strings.ToUpper(suite) {
	case SuiteAES128SHA1_80:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, true
	case SuiteAES128SHA1_32:
		return srtp.ProtectionProfileAes128CmHmacSha1_32, true
	case SuiteAES256SHA1_80:
		return srtp.ProtectionProfileAes256CmHmacSha1_80, true
	case SuiteAES256SHA1_32:
		return srtp.ProtectionProfileAes256CmHmacSha1_32, true
	case SuiteAEADAES128GCM:
		return srtp.ProtectionProfileAeadAes128Gcm, true
	case SuiteAEADAES256GCM:
		return srtp.ProtectionProfileAeadAes256Gcm, true
	}
	return 0, false
}

// sdesParts is a key split the way pion takes it.
type sdesParts struct {
	profile   srtp.ProtectionProfile
	key, salt []byte
}

func (k SDESKey) split() (sdesParts, error) {
	p, ok := sdesProfile(k.Suite)
	if !ok {
		return sdesParts{}, fmt.Errorf("%w: SDES suite %q is not supported", ErrBadInput, k.Suite)
	}
	kl, ks, err := keySaltLen(p)
	if err != nil {
		return sdesParts{}, err
	}
	if len(k.Key) != kl+ks {
		return sdesParts{}, fmt.Errorf("%w: %s takes %d bytes of master key and salt, not %d", ErrBadInput, k.Suite, kl+ks, len(k.Key))
	}
	return sdesParts{profile: p, key: k.Key[:kl:kl], salt: k.Key[kl:]}, nil
}

func keySaltLen(p srtp.ProtectionProfile) (key, salt int, err error) {
	if key, err = p.KeyLen(); err != nil {
		return 0, 0, fmt.Errorf("media: SRTP profile: %w", err)
	}
	if salt, err = p.SaltLen(); err != nil {
		return 0, 0, fmt.Errorf("media: SRTP profile: %w", err)
	}
	return key, salt, nil
}

// GenerateSDESKey makes a fresh random master key and salt for suite:
// our side's key, announced in our a=crypto line.
func GenerateSDESKey(suite string) (SDESKey, error) {
	p, ok := sdesProfile(suite)
	if !ok {
		return SDESKey{}, fmt.Errorf("%w: SDES suite %q is not supported", ErrBadInput, suite)
	}
	kl, ks, err := keySaltLen(p)
	if err != nil {
		return SDESKey{}, err
	}
	k := SDESKey{Suite: suite, Key: make([]byte, kl+ks)}
	if _, err := rand.Read(k.Key); err != nil {
		return SDESKey{}, fmt.Errorf("media: SDES key: %w", err)
	}
	return k, nil
}

// equal compares suites as sdesProfile does.
func (k SDESKey) equal(o SDESKey) bool {
	return strings.EqualFold(k.Suite, o.Suite) && bytes.Equal(k.Key, o.Key)
}

// clone copies the key bytes: the caller's slice is not ours to keep.
func (k SDESKey) clone() SDESKey {
	k.Key = bytes.Clone(k.Key)
	return k
}
