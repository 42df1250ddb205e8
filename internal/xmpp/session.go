package xmpp

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"sync"
	"time"

	"fargo.dev/fargo/internal/stanza"
)

// connect dials and completes the XEP-0114 handshake, or the c2s login of
// a client link.
func (l *Link) connect(ctx context.Context) (*conn, *streamReader, error) {
	nc, err := l.dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	c := newConn(nc, l.cfg.QueueSize)
	if l.cfg.Client != nil {
		sr, jid, err := l.login(ctx, c)
		if err != nil {
			_ = c.nc.Close() // the TLS connection, if STARTTLS got that far
			return nil, nil, fmt.Errorf("login: %w", err)
		}
		c.jid = jid
		c.iqs.self = bareJID(jid)
		return c, sr, nil
	}
	sr, err := l.handshake(ctx, c)
	if err != nil {
		_ = nc.Close()
		return nil, nil, fmt.Errorf("handshake: %w", err)
	}
	c.jid = l.cfg.Domain
	return c, sr, nil
}

// handshake exchanges stream headers and proves the secret:
// <handshake> = lowercase hex SHA-1(stream id ‖ secret), answered by an
// empty <handshake/> or a stream error.
func (l *Link) handshake(ctx context.Context, c *conn) (*streamReader, error) {
	_ = c.nc.SetDeadline(time.Now().Add(l.cfg.HandshakeTimeout))
	// Reads below do not watch ctx; an expired deadline unblocks them.
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Now()) })
	defer stop()

	if _, err := c.nc.Write(streamHeader(l.cfg.Domain)); err != nil {
		return nil, fmt.Errorf("write stream header: %w", err)
	}
	sr := newStreamReader(activityReader{r: c.nc, last: &c.lastRead}, l.cfg.MaxStanzaSize)
	id, err := sr.header()
	if err != nil {
		return nil, fmt.Errorf("read stream header: %w", err)
	}
	if _, err := c.nc.Write(handshakeElement(id, l.cfg.Secret)); err != nil {
		return nil, fmt.Errorf("write handshake: %w", err)
	}
	if err := sr.handshake(); err != nil {
		return nil, err
	}
	if !stop() {
		return nil, ctx.Err()
	}
	// From here on liveness is the watchdog's job, not a read deadline.
	_ = c.nc.SetDeadline(time.Time{})
	return sr, nil
}

func streamHeader(domain string) []byte {
	return []byte(`<?xml version='1.0'?><stream:stream xmlns='` + stanza.NSComponent +
		`' xmlns:stream='` + stanza.NSStream + `' to='` + domain + `'>`)
}

func handshakeElement(id, secret string) []byte {
	sum := sha1.Sum([]byte(id + secret))
	return []byte("<handshake>" + hex.EncodeToString(sum[:]) + "</handshake>")
}

// serve runs one established connection until ctx ends or the connection
// fails, then tears it down. It returns why the connection ended, nil after
// a graceful close.
func (l *Link) serve(ctx context.Context, c *conn, sr *streamReader) error {
	connCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	readDone := make(chan error, 1)
	writeDone := make(chan error, 1)
	var pingDone chan error // stays nil (never ready) without keepalive
	// In service before the reader starts, so a handler can answer the
	// very first stanza.
	l.cur.Store(c)
	wg.Go(func() { readDone <- l.readLoop(ctx, c, sr) })
	wg.Go(func() { writeDone <- l.writeLoop(c) })
	if l.cfg.KeepAlive > 0 {
		pingDone = make(chan error, 1)
		wg.Go(func() { pingDone <- l.watchdog(connCtx, c) })
	}
	l.log.Info("xmpp link up", "jid", c.jid)
	if l.cfg.OnConnect != nil {
		l.hooks.Go(func() { l.cfg.OnConnect(connCtx) })
	}

	var cause error
	select {
	case <-ctx.Done():
		l.stopTaking(c, cancel)
		l.closeGracefully(c, readDone, writeDone)
	case cause = <-readDone:
		l.stopTaking(c, cancel)
		l.abort(c, tailFor(cause), writeDone)
	case cause = <-writeDone:
		l.stopTaking(c, cancel)
	case cause = <-pingDone:
		l.stopTaking(c, cancel)
		l.abort(c, nil, writeDone)
	}
	_ = c.nc.Close()
	wg.Wait()
	if n := c.drainQueue(); n > 0 {
		l.stats.dropped.Add(uint64(n))
	}
	if cause == nil {
		l.log.Info("xmpp link closed")
	}
	return cause
}

// stopTaking takes c out of service: Send fails fast, blocked senders and
// SendIQ waiters get ErrNotConnected, OnConnect's ctx ends.
func (l *Link) stopTaking(c *conn, cancel context.CancelFunc) {
	l.cur.CompareAndSwap(c, nil)
	c.shutSends()
	cancel()
}

// closeGracefully flushes the queue and </stream:stream> within closeFlush,
// then gives the server closeWait to close its side.
func (l *Link) closeGracefully(c *conn, readDone, writeDone <-chan error) {
	c.finishWrites(closeReq{drain: true}, time.Now().Add(l.closeFlush))
	if err := <-writeDone; err != nil {
		l.log.Warn("xmpp link: graceful close failed", "err", err)
		return
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(l.closeWait))
	<-readDone
}

// abort ends the stream after a failure: the queue is dropped, tail (a
// stream error, if any) and </stream:stream> are written within abortWait.
func (l *Link) abort(c *conn, tail []byte, writeDone <-chan error) {
	c.finishWrites(closeReq{tail: tail}, time.Now().Add(l.abortWait))
	<-writeDone
}

// tailFor is the stream error we owe the server for a read failure.
func tailFor(err error) []byte {
	switch {
	case errors.Is(err, errTooBig):
		return streamErrorBytes("policy-violation")
	case errors.Is(err, errMalformed):
		return streamErrorBytes("not-well-formed")
	}
	return nil
}

// readLoop decodes stanzas and dispatches them: answers to our SendIQ go to
// their waiter, everything else to the Handler, in stream order.
func (l *Link) readLoop(ctx context.Context, c *conn, sr *streamReader) error {
	sr.onSkip = func(n xml.Name) {
		l.log.Warn("xmpp link: skipping unexpected element", "element", n.Local, "ns", n.Space)
	}
	for {
		s, err := sr.next()
		if err != nil {
			return err
		}
		l.stats.in.Add(1)
		if s.Kind() == stanza.KindIQ && (s.Type == "result" || s.Type == "error") && c.iqs.deliver(s) {
			continue
		}
		l.h.HandleStanza(ctx, s)
	}
}

// watchdog pings the server after 3×KeepAlive without reading anything and
// fails the connection if the ping goes unanswered within IQTimeout: a
// half-open TCP connection would otherwise look healthy forever.
func (l *Link) watchdog(ctx context.Context, c *conn) error {
	t := time.NewTicker(l.cfg.KeepAlive)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if time.Since(time.Unix(0, c.lastRead.Load())) < 3*l.cfg.KeepAlive {
			continue
		}
		if err := l.ping(ctx, c); err != nil {
			return err
		}
	}
}

// pingFrom is the ping's 'from': a component must name itself, a client
// leaves it to the server to stamp.
func (l *Link) pingFrom() string {
	if l.cfg.Client != nil {
		return ""
	}
	return l.cfg.Domain
}

// ping sends an XEP-0199 ping; any answer, even an error, proves the server
// alive. It returns an error only when the server stayed silent.
func (l *Link) ping(ctx context.Context, c *conn) error {
	iq := &stanza.Stanza{
		XMLName: xml.Name{Local: string(stanza.KindIQ)},
		ID:      l.nextID(), Type: "get", From: l.pingFrom(), To: l.cfg.ServerDomain,
		Payload: []byte(`<ping xmlns='urn:xmpp:ping'/>`),
	}
	_, err := l.exchange(ctx, c, iq)
	var se *stanza.Error
	switch {
	case err == nil, errors.As(err, &se):
		return nil
	case errors.Is(err, ErrIQTimeout) && ctx.Err() == nil:
		return fmt.Errorf("ping %s: no answer within %v", l.cfg.ServerDomain, l.cfg.IQTimeout)
	default:
		// The connection is ending anyway; serve is no longer listening.
		<-ctx.Done()
		return nil
	}
}
