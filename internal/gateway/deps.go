package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/store"
)

// Sender sends stanzas on the component link.
type Sender interface {
	// Send queues s; it blocks while the queue is full and fails while the
	// link is down (the gateway resynchronises on reconnect).
	Send(ctx context.Context, s *stanza.Stanza) error
}

// Binding identifies a SIP registration across refreshes and restarts.
type Binding struct {
	CallID string
	CSeq   uint32
}

// SIP is what the gateway needs from the SIP user agent.
type SIP interface {
	// Register sends one REGISTER for a (expires 0 removes our binding) and
	// returns the granted expiry and the binding to continue with. Errors
	// are *SIPError.
	Register(ctx context.Context, a store.Account, b Binding, expires time.Duration) (time.Duration, Binding, error)
	// NewRegistration returns a loop that keeps a registered; onState is
	// called from the loop's goroutine on every state change.
	NewRegistration(a store.Account, b Binding, onState func(RegEvent)) Registration
}

// Registration keeps one account registered (see internal/sip).
type Registration interface {
	Start()
	Update(a store.Account)
	Unregister(ctx context.Context) error
	Close()
}

// RegPhase is the phase of a registration loop.
type RegPhase string

// Phases of a registration loop.
const (
	PhaseRegistering  RegPhase = "registering"
	PhaseRegistered   RegPhase = "registered"
	PhaseFailed       RegPhase = "failed"
	PhaseUnregistered RegPhase = "unregistered"
)

// RegEvent is a state change of a registration loop.
type RegEvent struct {
	Phase     RegPhase
	Err       error // *SIPError when Phase is PhaseFailed
	ExpiresAt time.Time
	RetryAt   time.Time
	Binding   Binding
	Latency   time.Duration
}

// SIPErrorKind classifies SIP failures by what the user can do about them.
type SIPErrorKind int

// Kinds of SIP failure.
const (
	// SIPRejected: the registrar answered with a final error other than an
	// authentication failure.
	SIPRejected SIPErrorKind = iota
	// SIPAuthFailed: wrong credentials (401/407 after credentials, 403).
	SIPAuthFailed
	// SIPTimeout: no answer, or the registrar could not be reached.
	SIPTimeout
)

// SIPError is a failure of a SIP request, with text fit for the user.
type SIPError struct {
	Kind SIPErrorKind
	Code int // SIP status code, 0 when none was received
	Text string
	Err  error
}

func (e *SIPError) Error() string { return e.Text }
func (e *SIPError) Unwrap() error { return e.Err }

// stanzaError maps a SIP failure to the stanza error the gateway returns
// (protocol-map §4.3, XEP-0100 §4.4).
func stanzaError(err error) *stanza.Error {
	var se *SIPError
	if !errors.As(err, &se) {
		return stanza.Errorf(stanza.TypeWait, stanza.InternalServerError, "SIP registration failed: %v", err)
	}
	switch se.Kind {
	case SIPAuthFailed:
		return stanza.NewError(stanza.TypeAuth, stanza.NotAuthorized, se.Text)
	case SIPTimeout:
		return stanza.NewError(stanza.TypeWait, stanza.RemoteServerTimeout, se.Text)
	default:
		return stanza.NewError(stanza.TypeModify, stanza.NotAcceptable, se.Text)
	}
}

// errText is the user-facing text of a SIP failure.
func errText(err error) string {
	if err == nil {
		return ""
	}
	var se *SIPError
	if errors.As(err, &se) {
		return se.Text
	}
	return fmt.Sprintf("SIP registration failed: %v", err)
}
