package xmpp

import (
	"errors"
	"fmt"
)

var (
	// ErrNotConnected is returned by Send and SendIQ while there is no
	// connection, and to SendIQ waiters whose connection dropped.
	ErrNotConnected = errors.New("xmpp: not connected")
	// ErrIQTimeout is returned by SendIQ when no answer came within
	// Config.IQTimeout or before ctx ended (then it also wraps ctx.Err()).
	ErrIQTimeout = errors.New("xmpp: iq timeout")
	// ErrInvalidStanza wraps the reasons Send refuses a stanza.
	ErrInvalidStanza = errors.New("xmpp: invalid stanza")
	// ErrAuthFailed is wrapped by the error OnConnectError gets when a
	// client link's SASL authentication fails: the server's <failure/>
	// (the error names its condition and text), no usable mechanism, or a
	// server that could not prove it knows the password. Retrying does not
	// help; a caller that wants to stop cancels Run from OnConnectError.
	ErrAuthFailed = errors.New("xmpp: authentication failed")

	// errTLSNotOffered: TLSRequired, and the server offers no STARTTLS.
	errTLSNotOffered = errors.New("the server does not offer STARTTLS and the TLS policy is required " +
		"(TLSOptional or TLSDisabled allow a connection in clear)")

	// errTooBig is what the byte counter returns once an element exceeds
	// MaxStanzaSize; it is answered with <policy-violation/>.
	errTooBig = errors.New("stanza exceeds the size limit")
	// errMalformed marks XML the decoder rejected; it is answered with
	// <not-well-formed/>.
	errMalformed = errors.New("malformed xml")
	// errStreamEnd is the server's </stream:stream>.
	errStreamEnd = errors.New("stream closed by the server")
	// errPeerClosed is EOF on the socket without a stream close.
	errPeerClosed = errors.New("connection closed by the server")
)

// nsStreams is the namespace of stream error conditions (RFC 6120 §4.9.3).
const nsStreams = "urn:ietf:params:xml:ns:xmpp-streams"

// StreamError is a <stream:error/> (RFC 6120 §4.9), received from the
// server (e.g. conflict "Component already connected", not-authorized).
type StreamError struct {
	Condition string // defined condition, e.g. "conflict"
	Text      string // optional human-readable text
}

func (e *StreamError) Error() string {
	if e.Text == "" {
		return fmt.Sprintf("stream error %s", e.Condition)
	}
	return fmt.Sprintf("stream error %s: %s", e.Condition, e.Text)
}

// streamErrorBytes serializes a stream error we send before closing.
func streamErrorBytes(condition string) []byte {
	return []byte(`<stream:error><` + condition + ` xmlns='` + nsStreams + `'/></stream:error>`)
}
