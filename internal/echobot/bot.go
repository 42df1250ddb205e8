package echobot

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"fargo.dev/fargo/internal/mediapath"
	"fargo.dev/fargo/internal/stanza"
)

// Sender is the bot's XMPP connection (a c2s link).
type Sender interface {
	// Send queues a stanza; it may wait for room in the queue.
	Send(ctx context.Context, s *stanza.Stanza) error
	// SendIQ sends an iq request and waits for its answer.
	SendIQ(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error)
	// JID is the bound full JID, "" while the connection is down.
	JID() string
}

// Defaults applied by New to zero Config fields.
const (
	DefaultName            = "Fargo echo"
	DefaultMaxCalls        = 10
	DefaultMaxCallDuration = 10 * time.Minute
	DefaultProposeTimeout  = 30 * time.Second
	DefaultIQTimeout       = 30 * time.Second
)

// Config configures a Bot. Zero values take the defaults above.
type Config struct {
	// Relay opens the echo's media sessions; required.
	Relay *mediapath.Relay
	// Name is the disco identity's name; Version answers XEP-0092.
	Name, Version string
	// MaxCalls bounds concurrent calls (proposed or answered); beyond it a
	// caller is told busy.
	MaxCalls int
	// MaxCallDuration ends an answered call with success and the text
	// "echo time limit".
	MaxCallDuration time.Duration
	// ProposeTimeout is how long a proceeded JMI proposal waits for its
	// session-initiate.
	ProposeTimeout time.Duration
	// IQTimeout bounds the wait for answers to our own Jingle requests.
	IQTimeout time.Duration
	Log       *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.MaxCalls == 0 {
		c.MaxCalls = DefaultMaxCalls
	}
	if c.MaxCallDuration == 0 {
		c.MaxCallDuration = DefaultMaxCallDuration
	}
	if c.ProposeTimeout == 0 {
		c.ProposeTimeout = DefaultProposeTimeout
	}
	if c.IQTimeout == 0 {
		c.IQTimeout = DefaultIQTimeout
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Bot is the echo bot. HandleStanza runs on the connection's reader; the
// calls run on goroutines of their own.
type Bot struct {
	cfg  Config
	out  Sender
	log  *slog.Logger
	caps string // XEP-0115 ver of our disco#info

	// life is the calls' context: it outlives reconnects of the link and
	// ends with Close, after the calls were told.
	life   context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	calls  map[callKey]*call
	closed bool

	calling sync.WaitGroup // call goroutines
	iqs     sync.WaitGroup // goroutines waiting for the answer to our iqs

	stats counters
}

// New returns a bot that answers through out.
func New(cfg Config, out Sender) (*Bot, error) {
	if cfg.Relay == nil {
		return nil, errors.New("echobot: no media relay")
	}
	if out == nil {
		return nil, errors.New("echobot: no sender")
	}
	if cfg.MaxCalls < 0 || cfg.MaxCallDuration < 0 || cfg.ProposeTimeout < 0 || cfg.IQTimeout < 0 {
		return nil, errors.New("echobot: negative limit")
	}
	cfg = cfg.withDefaults()
	life, cancel := context.WithCancel(context.Background())
	return &Bot{
		cfg: cfg, out: out, log: cfg.Log, caps: capsVer(cfg.Name),
		life: life, cancel: cancel, calls: map[callKey]*call{},
	}, nil
}

// HandleStanza takes one inbound stanza. It never waits for the network
// beyond queueing replies, so it may run on the link's reader.
func (b *Bot) HandleStanza(ctx context.Context, s *stanza.Stanza) {
	switch s.Kind() {
	case stanza.KindIQ:
		b.handleIQ(ctx, s)
	case stanza.KindMessage:
		b.handleMessage(ctx, s)
	case stanza.KindPresence:
		b.handlePresence(ctx, s)
	}
}

// Close ends every call with a session-terminate, waits (until ctx ends)
// for them to be released, and refuses new ones. Call it before the link
// goes down, so the terminations reach the callers.
func (b *Bot) Close(ctx context.Context) {
	b.mu.Lock()
	b.closed = true
	calls := make([]*call, 0, len(b.calls))
	for _, c := range b.calls {
		calls = append(calls, c)
	}
	b.mu.Unlock()
	for _, c := range calls {
		c.post(func() { c.hangUp(reasonShutdown()) })
	}
	done := make(chan struct{})
	go func() { b.calling.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		b.log.Warn("calls still ending at shutdown", "err", ctx.Err())
	}
	// Under the lock, so that no request starts waiting for an answer
	// once the wait for those below has begun.
	b.mu.Lock()
	b.cancel()
	b.mu.Unlock()
	b.iqs.Wait()
}

// send queues s, logging a failure: a reply lost with the connection is
// not worth more.
func (b *Bot) send(ctx context.Context, s *stanza.Stanza) {
	if err := b.out.Send(ctx, s); err != nil {
		b.log.Debug("send failed", "kind", s.Kind(), "to", s.To, "err", err)
	}
}

// reply answers an iq request with a result carrying payload.
func (b *Bot) reply(ctx context.Context, req *stanza.Stanza, payload ...any) {
	res, err := stanza.Result(req, payload...)
	if err != nil {
		b.log.Error("build iq result", "err", err)
		return
	}
	res.From = "" // the server stamps our full JID
	b.send(ctx, res)
}

// replyError answers a stanza with an error.
func (b *Bot) replyError(ctx context.Context, req *stanza.Stanza, e *stanza.Error) {
	res := stanza.ErrorReply(req, e)
	res.From = ""
	b.send(ctx, res)
}

// build makes a stanza from us, logging the (programming) error of a
// payload that does not marshal.
func (b *Bot) build(kind stanza.Kind, typ, to, id string, payload ...any) *stanza.Stanza {
	s, err := stanza.New(kind, typ, "", to, id, payload...)
	if err != nil {
		b.log.Error("build stanza", "kind", kind, "err", err)
		return nil
	}
	return s
}

// sendNew builds and sends a stanza.
func (b *Bot) sendNew(ctx context.Context, kind stanza.Kind, typ, to, id string, payload ...any) {
	if s := b.build(kind, typ, to, id, payload...); s != nil {
		b.send(ctx, s)
	}
}

// self is our bare JID, "" while the link is down.
func (b *Bot) self() string { return bare(b.out.JID()) }

// isSelf reports whether from is one of our own resources (or our
// server-side account, which speaks from the bare JID or no JID at all).
func (b *Bot) isSelf(from string) bool {
	me := b.self()
	return from == "" || (me != "" && strings.EqualFold(bare(from), me))
}

// bare strips the resource of a JID.
func bare(j string) string {
	if i := strings.IndexByte(j, '/'); i >= 0 {
		return j[:i]
	}
	return j
}

// hasLocalpart tells a user's JID from a server's.
func hasLocalpart(j string) bool { return strings.Contains(bare(j), "@") }
