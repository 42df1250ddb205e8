package xmpp

import (
	"context"
	"fmt"
	"strings"

	"fargo.dev/fargo/internal/stanza"
)

// Send marshals s and queues it for the current connection. It blocks while
// the queue is full (backpressure) until ctx is done, then returns
// ctx.Err(). It returns ErrNotConnected at once while there is no
// connection, or if the connection drops while it waits. A nil return means
// queued, not delivered: stanzas still queued when a connection drops are
// lost (counted in Stats.Dropped).
//
// The payload is written verbatim; it must be well-formed XML.
func (l *Link) Send(ctx context.Context, s *stanza.Stanza) error {
	c := l.cur.Load()
	if err := l.checkOutbound(s, c); err != nil {
		return err
	}
	if c == nil {
		return ErrNotConnected
	}
	b, err := s.Marshal()
	if err != nil {
		return fmt.Errorf("%w: marshal: %w", ErrInvalidStanza, err)
	}
	return c.enqueue(ctx, b)
}

// checkOutbound refuses what the server would answer by closing the whole
// stream, taking every session down with it. Any stream takes only iq,
// message and presence. XEP-0114: every stanza a component writes carries
// 'from' at the component's domain and a 'to'. A client's 'from' is
// stamped by its server, so it may only be empty or the client's own JID,
// and its 'to' may be empty (roster get, presence broadcast). c is the
// current connection (nil while down; then only the kind is checked for a
// client, whose JID is not known).
func (l *Link) checkOutbound(s *stanza.Stanza, c *conn) error {
	if s == nil {
		return fmt.Errorf("%w: nil stanza", ErrInvalidStanza)
	}
	switch s.Kind() {
	case stanza.KindIQ, stanza.KindMessage, stanza.KindPresence:
	default:
		return fmt.Errorf("%w: <%s> is not iq, message or presence", ErrInvalidStanza, s.XMLName.Local)
	}
	if l.cfg.Client != nil {
		if c != nil && s.From != "" && !isSelf(s.From, c.jid) {
			return fmt.Errorf("%w: from %q is not the bound JID %s", ErrInvalidStanza, s.From, c.jid)
		}
		return nil
	}
	if !atDomain(s.From, l.cfg.Domain) {
		return fmt.Errorf("%w: from %q is not at %s", ErrInvalidStanza, s.From, l.cfg.Domain)
	}
	if s.To == "" {
		return fmt.Errorf("%w: to is empty", ErrInvalidStanza)
	}
	return nil
}

// atDomain reports whether jid is domain, local@domain or either with a
// non-empty resource.
func atDomain(jid, domain string) bool {
	bare, res, hasRes := strings.Cut(jid, "/")
	if hasRes && res == "" {
		return false
	}
	dom := bare
	if local, d, hasLocal := strings.Cut(bare, "@"); hasLocal {
		if local == "" {
			return false
		}
		dom = d
	}
	return dom != "" && strings.EqualFold(dom, domain)
}

// isSelf reports whether jid is the bound full JID or its bare JID.
func isSelf(jid, bound string) bool {
	j, b := normJID(jid), normJID(bound)
	return j == b || j == bareJID(b)
}

// bareJID strips the resource.
func bareJID(jid string) string {
	bare, _, _ := strings.Cut(jid, "/")
	return bare
}
