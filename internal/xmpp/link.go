package xmpp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"fargo.dev/fargo/internal/stanza"
)

// Handler receives every inbound stanza except iq results and errors that
// answer our own SendIQ. It is called sequentially from the read loop and
// must not block: the gateway hands work to its own goroutines. ctx is the
// one given to Run, so work it starts outlives a reconnect.
type Handler interface {
	HandleStanza(ctx context.Context, s *stanza.Stanza)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, s *stanza.Stanza)

// HandleStanza calls f.
func (f HandlerFunc) HandleStanza(ctx context.Context, s *stanza.Stanza) { f(ctx, s) }

// Shutdown bounds, copied into each Link so tests can shorten them.
const (
	closeFlush = 2 * time.Second        // graceful: flush the queue and </stream:stream>
	closeWait  = time.Second            // graceful: wait for the server's </stream:stream>
	abortWait  = 500 * time.Millisecond // after an error: write the stream error and close
)

// Link is the gateway's component connection to the XMPP server, or, with
// Config.Client, an XMPP client connection. Create it with
// NewLink and run it with Run; Send, SendIQ, Connected and Stats are safe
// from any goroutine.
type Link struct {
	cfg Config
	h   Handler
	log *slog.Logger

	cur     atomic.Pointer[conn] // nil while down
	running atomic.Bool
	stats   counters
	hooks   sync.WaitGroup // OnConnect goroutines

	idPrefix string
	seq      atomic.Uint64

	closeFlush, closeWait, abortWait time.Duration
	// dialControl, if set, is the net.Dialer Control hook (tests shrink
	// socket buffers with it).
	dialControl func(network, address string, c syscall.RawConn) error
	// lookupSRV resolves a client link's server (tests replace it).
	lookupSRV func(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
}

// NewLink validates cfg, applies defaults and returns an idle Link. A nil
// logger discards logs.
func NewLink(cfg Config, h Handler, log *slog.Logger) (*Link, error) {
	if h == nil {
		return nil, errors.New("xmpp: handler is nil")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:]) // never fails since Go 1.24
	if cfg.Client != nil {
		log = log.With("client", cfg.Client.JID, "addr", cfg.Addr)
	} else {
		log = log.With("component", cfg.Domain, "addr", cfg.Addr)
	}
	return &Link{
		cfg:        cfg,
		h:          h,
		log:        log,
		lookupSRV:  net.DefaultResolver.LookupSRV,
		idPrefix:   "fargo-" + hex.EncodeToString(rnd[:]) + "-",
		closeFlush: closeFlush,
		closeWait:  closeWait,
		abortWait:  abortWait,
	}, nil
}

// Connected reports whether a connection is established and taking stanzas.
func (l *Link) Connected() bool { return l.cur.Load() != nil }

// JID returns the full JID bound on the current connection, "" while down.
// A client link's resource is the one the server assigned, which may
// differ from the one requested; a component link returns its domain.
func (l *Link) JID() string {
	if c := l.cur.Load(); c != nil {
		return c.jid
	}
	return ""
}

// nextID returns an iq id unique for this process: a random per-Link prefix
// keeps ids of different runs apart, a counter keeps them apart within one.
func (l *Link) nextID() string {
	return l.idPrefix + strconv.FormatUint(l.seq.Add(1), 36)
}

// Run connects, handshakes and serves; when a connection is lost it
// reconnects with backoff. It returns nil once ctx is done, after a
// graceful close: the queue is flushed for up to ~2 s, </stream:stream> is
// written and the server's close awaited briefly. It also waits for
// OnConnect callbacks to return. A Link runs at most once at a time.
func (l *Link) Run(ctx context.Context) error {
	if !l.running.CompareAndSwap(false, true) {
		return errors.New("xmpp: link is already running")
	}
	defer l.running.Store(false)
	defer l.hooks.Wait()

	bo := newBackoff(l.cfg.BackoffMin, l.cfg.BackoffMax)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			l.stats.reconnects.Add(1)
		}
		up, err := l.runOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if up >= stableAfter {
			bo.reset()
		}
		delay := bo.next()
		l.log.Warn("xmpp link down, reconnecting", "err", err, "in", delay.Round(time.Millisecond))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// runOnce makes one connection attempt and serves it until it ends. It
// returns how long the connection was up (zero if the attempt failed).
func (l *Link) runOnce(ctx context.Context) (time.Duration, error) {
	c, sr, err := l.connect(ctx)
	if err != nil {
		if ctx.Err() == nil && l.cfg.OnConnectError != nil {
			l.cfg.OnConnectError(err)
		}
		return 0, err
	}
	start := time.Now()
	err = l.serve(ctx, c, sr)
	if l.cfg.OnDisconnect != nil {
		l.cfg.OnDisconnect(err)
	}
	return time.Since(start), err
}
