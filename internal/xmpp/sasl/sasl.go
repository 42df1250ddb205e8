package sasl

import (
	"errors"
	"fmt"
	"slices"
)

// Mechanism names as servers advertise them.
const (
	SCRAMSHA256 = "SCRAM-SHA-256"
	SCRAMSHA1   = "SCRAM-SHA-1"
	Plain       = "PLAIN"
)

// preference is the order Select picks in: the strongest hash first, PLAIN
// last because it hands the password itself to the server.
var preference = []string{SCRAMSHA256, SCRAMSHA1, Plain}

var (
	// ErrServerSignature means the server could not prove it knows the
	// password: it is not the server the credentials belong to.
	ErrServerSignature = errors.New("sasl: wrong server signature")
	// ErrProtocol wraps every malformed or out-of-order server message.
	ErrProtocol = errors.New("sasl: protocol error")
)

// Mechanism is the client side of one authentication exchange. It holds
// per-attempt state (the nonce), so make a new one for every attempt; it is
// not safe for concurrent use.
type Mechanism interface {
	// Name is the mechanism name sent in <auth mechanism='…'/>.
	Name() string
	// Start returns the initial response sent with the mechanism choice.
	Start() ([]byte, error)
	// Next answers a server challenge (already base64-decoded).
	Next(challenge []byte) ([]byte, error)
	// Finish checks the additional data that came with the server's
	// success. SCRAM verifies the server signature here unless a challenge
	// already carried it, so a success from a server that does not know
	// the password is refused.
	Finish(additional []byte) error
}

// New returns the client side of mechanism name for user and password.
func New(name, user, password string) (Mechanism, error) {
	if user == "" {
		return nil, errors.New("sasl: empty username")
	}
	switch name {
	case Plain:
		return &plain{user: user, password: password}, nil
	case SCRAMSHA1, SCRAMSHA256:
		return newSCRAM(name, user, password, randomNonce())
	default:
		return nil, fmt.Errorf("sasl: unsupported mechanism %q", name)
	}
}

// Select picks the preferred mechanism among those the server offers:
// SCRAM-SHA-256, then SCRAM-SHA-1, then PLAIN when allowPlain (the caller
// allows it only over TLS, or when it deliberately runs in clear). ok is
// false when nothing offered is usable.
func Select(offered []string, allowPlain bool) (name string, ok bool) {
	for _, m := range preference {
		if m == Plain && !allowPlain {
			continue
		}
		if slices.Contains(offered, m) {
			return m, true
		}
	}
	return "", false
}

// plain is RFC 4616 without an authorization identity: the server derives
// it from the authentication identity.
type plain struct {
	user, password string
	started        bool
}

func (p *plain) Name() string { return Plain }

func (p *plain) Start() ([]byte, error) {
	p.started = true
	return []byte("\x00" + p.user + "\x00" + p.password), nil
}

func (p *plain) Next([]byte) ([]byte, error) {
	return nil, fmt.Errorf("%w: PLAIN takes no challenge", ErrProtocol)
}

func (p *plain) Finish([]byte) error {
	if !p.started {
		return fmt.Errorf("%w: success before the initial response", ErrProtocol)
	}
	return nil
}
