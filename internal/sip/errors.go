package sip

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrTimeout means a request got no final response in time. Test with
// IsTimeout or errors.Is; the concrete error names the peer.
var ErrTimeout = errors.New("no answer from SIP server (timeout)")

// ErrClosed is returned by calls made after the UA stopped.
var ErrClosed = errors.New("sip: user agent stopped")

// ErrInvalidAccount wraps account fields that cannot be used to register.
var ErrInvalidAccount = errors.New("invalid SIP account")

// StatusError is a final non-2xx response. Its text is meant for the user:
// "SIP registrar answered 403 Forbidden".
type StatusError struct {
	Code   int
	Reason string
	// Peer names who answered, e.g. "SIP registrar" or "SIP proxy".
	Peer string
	// RetryAfter is the Retry-After the peer sent, zero if none.
	RetryAfter time.Duration
	// Detail explains why a 401/407 ended the attempt, if it did.
	Detail string

	// authFailed marks 401/407 that persisted after credentials were sent
	// (or could not be answered at all).
	authFailed bool
}

func (e *StatusError) Error() string {
	peer := e.Peer
	if peer == "" {
		peer = "SIP registrar"
	}
	s := fmt.Sprintf("%s answered %d %s", peer, e.Code, e.Reason)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return strings.TrimSpace(s)
}

// timeoutError names the server that did not answer and unwraps to
// ErrTimeout.
type timeoutError struct{ peer string }

func (e *timeoutError) Error() string {
	return "no answer from " + e.peer + " (timeout)"
}

func (e *timeoutError) Unwrap() error { return ErrTimeout }

// transportError is a failure to get a request out: connection refused, TLS
// handshake failed… Its text names the peer and the root cause only, not
// the layers of sipgo wrapping in between.
type transportError struct {
	peer string
	err  error
}

func (e *transportError) Error() string {
	root := cmp.Or(e.err, errTxEnded)
	for {
		next := errors.Unwrap(root)
		if next == nil {
			break
		}
		root = next
	}
	return "cannot reach " + e.peer + ": " + root.Error()
}

func (e *transportError) Unwrap() error { return e.err }

// IsTimeout reports whether err means no answer arrived in time.
func IsTimeout(err error) bool { return errors.Is(err, ErrTimeout) }

// IsAuthFailure reports whether err means the credentials were refused: a
// 401/407 that persisted after sending credentials, a challenge we cannot
// answer, or a 403.
func IsAuthFailure(err error) bool {
	var se *StatusError
	if !errors.As(err, &se) {
		return false
	}
	return se.authFailed || se.Code == 403
}

// isTransient reports whether a failure is worth a quick retry: no answer,
// transport trouble, or a status that says "try again later".
func isTransient(err error) bool {
	if errors.Is(err, ErrInvalidAccount) || errors.Is(err, ErrClosed) {
		return false
	}
	var se *StatusError
	if !errors.As(err, &se) {
		return true // timeouts and transport errors
	}
	switch {
	case se.authFailed:
		return false
	case se.Code == 408, se.Code == 480, se.Code == 503:
		return true
	case se.Code >= 500 && se.Code < 600:
		return true
	}
	return false
}

// retryAfter returns the Retry-After carried by err, zero if none.
func retryAfter(err error) time.Duration {
	var se *StatusError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	return 0
}

// cleanReason keeps a peer's reason phrase printable and short: it ends up
// in messages shown to users.
func cleanReason(s string) string { return printable(s, 80) }

// printable drops control characters from a peer's text and cuts it to
// maxLen bytes without splitting a character.
func printable(s string, maxLen int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > maxLen {
		s = strings.ToValidUTF8(s[:maxLen], "")
	}
	return strings.TrimSpace(s)
}

func hasCtl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

func containsAny(s, chars string) bool { return strings.ContainsAny(s, chars) }
