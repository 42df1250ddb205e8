package xmpp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"fargo.dev/fargo/internal/stanza"
)

// errIQTimer is the cancel cause of SendIQ's own timeout, to tell it from
// the caller's ctx.
var errIQTimer = errors.New("iq timer expired")

// SendIQ sends an iq get or set and waits for the matching result or error.
// It sets a unique id if iq.ID is empty. A reply matches when its id is ours
// and it comes from the JID the request was sent to (see replyMatches). A
// type=error reply is returned together with its *stanza.Error as the
// error. SendIQ returns ErrIQTimeout after Config.IQTimeout or when ctx ends
// (wrapping ctx.Err()), and ErrNotConnected when the connection drops first.
func (l *Link) SendIQ(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	c := l.cur.Load()
	if err := l.checkOutbound(iq, c); err != nil {
		return nil, err
	}
	if !iq.IsIQRequest() {
		return nil, fmt.Errorf("%w: SendIQ needs an iq get or set, got <%s type=%q>", ErrInvalidStanza, iq.XMLName.Local, iq.Type)
	}
	if iq.ID == "" {
		iq.ID = l.nextID()
	}
	if c == nil {
		return nil, ErrNotConnected
	}
	return l.exchange(ctx, c, iq)
}

// exchange sends iq on c and waits for its answer.
func (l *Link) exchange(ctx context.Context, c *conn, iq *stanza.Stanza) (*stanza.Stanza, error) {
	b, err := iq.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: marshal: %w", ErrInvalidStanza, err)
	}
	w, err := c.iqs.add(iq.ID, iq.To)
	if err != nil {
		return nil, err
	}
	defer c.iqs.remove(iq.ID, w)

	// The timeout covers the time spent waiting for queue space as well.
	ctx, cancel := context.WithTimeoutCause(ctx, l.cfg.IQTimeout, errIQTimer)
	defer cancel()
	if err := c.enqueue(ctx, b); err != nil {
		return nil, l.iqError(ctx, err)
	}
	select {
	case r := <-w.ch:
		return iqReply(r)
	case <-c.done:
		// A reply that raced with the drop still wins.
		select {
		case r := <-w.ch:
			return iqReply(r)
		default:
			return nil, ErrNotConnected
		}
	case <-ctx.Done():
		return nil, l.iqError(ctx, ctx.Err())
	}
}

func iqReply(r *stanza.Stanza) (*stanza.Stanza, error) {
	if r.Type == "error" {
		return r, stanza.ParseError(r)
	}
	return r, nil
}

// iqError maps a failure while waiting to the SendIQ contract.
func (l *Link) iqError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, ErrNotConnected):
		return err
	case context.Cause(ctx) == errIQTimer:
		l.stats.iqTimeouts.Add(1)
		return ErrIQTimeout
	case ctx.Err() != nil:
		return fmt.Errorf("%w: %w", ErrIQTimeout, err)
	default:
		return err
	}
}

// iqTable holds the SendIQ waiters of one connection.
type iqTable struct {
	mu sync.Mutex
	m  map[string]*waiter
	// self is a client link's bare JID ("" for a component). A client's
	// iq without 'to' goes to its own account (RFC 6120 §10.3.3), whose
	// server may answer without 'from' (§8.1.2.1); self stands in for
	// both. Set before the connection serves.
	self string
}

type waiter struct {
	to string
	ch chan *stanza.Stanza // buffered 1: deliver never blocks the reader
}

func (t *iqTable) add(id, to string) (*waiter, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]*waiter)
	}
	if _, dup := t.m[id]; dup {
		return nil, fmt.Errorf("%w: iq id %q is already pending", ErrInvalidStanza, id)
	}
	if to == "" {
		to = t.self
	}
	w := &waiter{to: to, ch: make(chan *stanza.Stanza, 1)}
	t.m[id] = w
	return w, nil
}

func (t *iqTable) remove(id string, w *waiter) {
	t.mu.Lock()
	if t.m[id] == w {
		delete(t.m, id)
	}
	t.mu.Unlock()
}

// deliver hands a result or error to its waiter and reports whether one
// took it; unmatched replies go to the Handler.
func (t *iqTable) deliver(s *stanza.Stanza) bool {
	t.mu.Lock()
	w := t.m[s.ID]
	if w == nil || !(replyMatches(w.to, s.From) || t.fromOwnServer(w.to, s.From)) {
		t.mu.Unlock()
		return false
	}
	delete(t.m, s.ID)
	t.mu.Unlock()
	w.ch <- s
	return true
}

// fromOwnServer reports whether a reply without 'from' answers a client's
// request to its own account, which its server handles.
func (t *iqTable) fromOwnServer(sentTo, from string) bool {
	return t.self != "" && from == "" && normJID(sentTo) == normJID(t.self)
}

// replyMatches reports whether a reply from `from` may answer a request sent
// to `sentTo`. Besides equality (case-insensitive local and domain parts,
// exact resource), it follows RFC 6120 §8.1.2.1: a server answering for
// itself may leave out 'from', and a request to a bare JID is handled on the
// account's behalf and may come back from the bare or a full JID of it.
// Anything else is ignored, so a third party cannot answer our requests by
// guessing ids.
func replyMatches(sentTo, from string) bool {
	to, f := normJID(sentTo), normJID(from)
	if to == f {
		return true
	}
	if f == "" {
		return !strings.ContainsAny(to, "@/")
	}
	toBare, _, toFull := strings.Cut(to, "/")
	fromBare, _, _ := strings.Cut(f, "/")
	return !toFull && toBare == fromBare
}

// normJID folds the case of the local and domain parts and drops a trailing
// dot of the domain. It is ASCII-only folding, enough for matching replies;
// full PRECIS belongs to internal/address.
func normJID(j string) string {
	bare, res, hasRes := strings.Cut(j, "/")
	bare = strings.ToLower(strings.TrimSuffix(bare, "."))
	if hasRes {
		return bare + "/" + res
	}
	return bare
}
