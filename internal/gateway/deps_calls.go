package gateway

import (
	"context"
	"time"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/store"
)

// IQSender sends an iq get/set and waits for its answer; the component
// link implements it. The gateway uses it to learn what a user's client
// can do (disco#info) before ringing it.
type IQSender interface {
	SendIQ(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error)
}

// SIPCalls places calls on the SIP side (see internal/sip).
type SIPCalls interface {
	// Invite sends an INVITE with the SDP offer from account a to target
	// (a sip: URI) and returns at once; progress arrives at h.
	Invite(ctx context.Context, a store.Account, target string, sdp []byte, h SIPCallHandler) (SIPCall, error)
}

// SIPCall is one SIP dialog, either direction.
type SIPCall interface {
	CallID() string
	// Cancel ends a call that has no final answer (CANCEL when allowed).
	Cancel(reasonHeader string)
	// Hangup sends BYE on a confirmed dialog (or cancels an early one).
	Hangup(ctx context.Context, reasonHeader string) error
	// Reinvite sends a new offer in the dialog and returns the answer.
	Reinvite(ctx context.Context, sdp []byte) ([]byte, error)
	// Info sends an in-dialog INFO.
	Info(ctx context.Context, contentType string, body []byte) error
	// Close releases the dialog without signalling.
	Close()
}

// SIPIncoming is an INVITE waiting for the gateway's answer.
type SIPIncoming interface {
	SIPCall
	Token() string
	From() (uri, display string)
	Asserted() string
	Privacy() bool
	Offer() []byte
	Ring() error
	// Answer sends 200 with sdp and returns when the ACK arrived.
	Answer(ctx context.Context, sdp []byte) error
	Reject(status int, reason, warning string, retryAfter time.Duration) error
}

// SIPCallHandler receives one SIP call's events, serialised.
type SIPCallHandler interface {
	CallEvent(e SIPEvent)
	// Offer answers the peer's in-dialog offer (re-INVITE/UPDATE).
	Offer(ctx context.Context, offer []byte) ([]byte, error)
}

// SIPEventKind says what happened on a SIP call.
type SIPEventKind int

// Kinds of SIP call events (mirroring internal/sip).
const (
	SIPProgress  SIPEventKind = iota + 1 // 1xx other than 100
	SIPAnswered                          // outbound: 2xx (ACKed); inbound: ACK arrived
	SIPFailed                            // outbound: final >= 300, timeout, transport error
	SIPCancelled                         // inbound: CANCEL before the answer
	SIPBye                               // the peer hung up
	SIPInfo                              // in-dialog INFO
	SIPEnded                             // ended locally: session timer, no ACK
)

// SIPEvent is one event of a SIP call.
type SIPEvent struct {
	Kind         SIPEventKind
	Status       int
	Reason       string
	Warning      string
	ReasonHeader string
	RetryAfter   time.Duration
	Timeout      bool
	ContentType  string
	Body         []byte
}

// StatusError carries a SIP status for Offer's answer (e.g. 488).
type StatusError struct {
	Status int
	Reason string
}

func (e *StatusError) Error() string { return e.Reason }
