// Package store owns the gateway's persistent state: the SIP accounts users
// registered and their SIP registration state.
// It defines the Store interface and its contract, and AccountCache, which
// implementations use to answer the per-call account lookups from memory;
// implementations live in sub-packages (sqlite/ now, postgres/ when
// clustering comes).
//
// Tier 1. It may import the standard library and internal/secret. It knows
// nothing of XMPP streams or SIP transactions: JIDs and URIs are strings.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when no account exists for the key asked for.
var ErrNotFound = errors.New("store: not found")

// Transport is the SIP transport an account uses towards its registrar.
type Transport string

// SIP transports a user may choose.
const (
	TransportUDP Transport = "udp"
	TransportTCP Transport = "tcp"
	TransportTLS Transport = "tls"
)

// Account is one XMPP user's SIP account. Password is plaintext in memory
// only; implementations encrypt it at rest.
type Account struct {
	JID           string    // bare JID of the XMPP user, the only key that may act on it
	SIPAddress    string    // AOR without scheme: "alice@sip.example.org"
	AuthUser      string    // digest username if it differs from the AOR user part
	Password      string    // digest password
	Registrar     string    // host[:port] of the registrar; empty: the AOR host
	OutboundProxy string    // SIP URI of an outbound proxy; empty: none
	Transport     Transport // udp, tcp or tls
	DisplayName   string    // From display name
	ContactToken  string    // user part of our Contact; maps incoming SIP requests to JID
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// RegState is the SIP registration state of an account.
type RegState string

// Registration states.
const (
	RegStateNone         RegState = "unregistered"
	RegStateRegistering  RegState = "registering"
	RegStateRegistered   RegState = "registered"
	RegStateFailed       RegState = "failed"
	RegStateUnregistered RegState = "unregistered"
)

// Registration is the persisted state of an account's SIP binding. Call-ID
// and CSeq survive a restart so refreshes after it continue the same binding
// (RFC 3261 §10.2: one Call-ID per registrar per boot cycle, CSeq increasing).
type Registration struct {
	JID       string
	State     RegState
	CallID    string
	CSeq      uint32
	ExpiresAt time.Time // zero when not registered
	LastError string    // human-readable, never contains credentials
	UpdatedAt time.Time
}

// Store is the gateway's persistent state. All methods are safe for
// concurrent use. JIDs are bare and already normalised by the caller.
type Store interface {
	// Account returns the account of jid or ErrNotFound.
	Account(ctx context.Context, jid string) (Account, error)
	// AccountByToken returns the account whose ContactToken is token or ErrNotFound.
	AccountByToken(ctx context.Context, token string) (Account, error)
	// PutAccount creates or replaces the account of a.JID. CreatedAt is kept
	// on replace; UpdatedAt is set by the store.
	PutAccount(ctx context.Context, a Account) error
	// DeleteAccount removes the account of jid and its registration state.
	// Deleting a missing account returns ErrNotFound.
	DeleteAccount(ctx context.Context, jid string) error
	// Accounts lists every account, ordered by JID.
	Accounts(ctx context.Context) ([]Account, error)

	// Registration returns the registration state of jid; a zero
	// Registration with State RegStateNone if none was saved, ErrNotFound if
	// the account does not exist.
	Registration(ctx context.Context, jid string) (Registration, error)
	// PutRegistration saves r (keyed by r.JID); ErrNotFound if the account does not exist.
	PutRegistration(ctx context.Context, r Registration) error

	// Close releases the store.
	Close() error
}
