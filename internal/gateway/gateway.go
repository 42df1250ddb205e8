package gateway

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/xmpp/jid"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/store"
)

// Config is what the gateway needs to know about itself.
type Config struct {
	Domain               string        // component domain, e.g. "sip.example.net"
	Version              string        // reported by XEP-0092
	RegisterExpiry       time.Duration // asked for in REGISTER
	ValidateTimeout      time.Duration // bound on the REGISTER that checks new credentials
	PresenceGrace        time.Duration // users' time to reappear after a reconnect or restart
	OfflineConfirm       time.Duration // bound on the probe that confirms a user went offline
	AllowedDomains       []string      // XMPP domains that may register; empty: any
	UnregisterOnShutdown bool          // remove SIP bindings on shutdown instead of keeping them
	Calls                CallConfig
	Media                MediaPolicy
}

// Gateway is the XMPP-side product logic. HandleStanza is its entry point
// from the component link; Connected/Disconnected tell it about the link.
type Gateway struct {
	cfg   Config
	out   Sender
	sip   SIP
	store store.Store
	log   *slog.Logger
	stats stats
	caps  capsInfo
	iq    IQSender
	calls SIPCalls
	relay MediaRelay // nil: media is never relayed

	contactCapsInfo capsInfo
	echoCapsInfo    capsInfo // the echo contact's: it has video
	activeCalls     atomic.Int64
	featureCache    *featureCache

	ctx    context.Context // lifetime of all actors; set by Run
	cancel context.CancelFunc

	tokens tokenIndex // contact token → user, kept by the users' actors

	mu       sync.Mutex
	users    map[string]*user
	sessions *commandSessions
	wg       sync.WaitGroup
	draining bool
}

// New builds a gateway. Call Run before passing stanzas to HandleStanza.
func New(cfg Config, out Sender, sipUA SIP, st store.Store, log *slog.Logger) *Gateway {
	if cfg.ValidateTimeout <= 0 {
		cfg.ValidateTimeout = 10 * time.Second
	}
	if cfg.RegisterExpiry <= 0 {
		cfg.RegisterExpiry = time.Hour
	}
	if cfg.PresenceGrace <= 0 {
		cfg.PresenceGrace = 30 * time.Second
	}
	if cfg.OfflineConfirm <= 0 {
		cfg.OfflineConfirm = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &Gateway{
		cfg: cfg, out: out, sip: sipUA, store: st, log: log,
		ctx: ctx, cancel: cancel,
		users:    make(map[string]*user),
		sessions: newCommandSessions(10 * time.Minute),
	}
	g.caps = computeCaps(gatewayIdentities, gatewayFeatures)
	g.contactCapsInfo = computeCaps(contactIdentities, contactFeatures)
	g.echoCapsInfo = computeCaps(contactIdentities, echoFeatures)
	g.cfg.Calls = cfg.Calls.withDefaults()
	g.featureCache = newFeatureCache()
	return g
}

// EnableCalls gives the gateway what it needs for calls: iq round trips
// to learn users' client features, and the SIP side's calls. Without it
// the gateway refuses calls with service-unavailable. Call before Run.
func (g *Gateway) EnableCalls(iq IQSender, calls SIPCalls) {
	g.iq, g.calls = iq, calls
}

// EnableRelay lets calls put their media through relay when the media
// policy asks for it; call it before Run, after EnableCalls.
func (g *Gateway) EnableRelay(relay MediaRelay) { g.relay = relay }

// Start loads the registered accounts so their state (and SIP bindings kept
// across a restart) is owned by actors before the link comes up.
func (g *Gateway) Start(ctx context.Context) error {
	accts, err := g.store.Accounts(ctx)
	if err != nil {
		return err
	}
	for _, a := range accts {
		u := g.user(a.JID)
		acct := a
		u.post(func() { u.load(&acct) })
	}
	g.log.Info("gateway started", "accounts", len(accts))
	return nil
}

// Connected is called after every successful handshake: every registered
// user is probed, and those who do not show up within the presence grace
// are logged out of SIP.
func (g *Gateway) Connected(ctx context.Context) {
	accts, err := g.store.Accounts(ctx)
	if err != nil {
		g.log.Error("list accounts after connect", "err", err)
		return
	}
	for _, a := range accts {
		u := g.user(a.JID)
		u.post(func() { u.resync(); u.probe() })
	}
	g.log.Info("component link up: probed registered users", "users", len(accts))
}

// Disconnected is called when the link drops: presence is unknown until
// the link is back, so every user enters the grace period.
func (g *Gateway) Disconnected() {
	for _, u := range g.allUsers() {
		u.post(u.resync)
	}
}

// Shutdown drains the gateway: users are told it is going away, SIP
// registration loops stop (bindings kept unless configured otherwise). If
// ctx ends first, SIP work still in flight is abandoned.
func (g *Gateway) Shutdown(ctx context.Context) {
	g.mu.Lock()
	g.draining = true
	g.mu.Unlock()
	users := g.allUsers()
	done := make(chan struct{}, len(users))
	for _, u := range users {
		u.box.postNow(func() { u.shutdown(ctx); done <- struct{}{} })
	}
	for range users {
		select {
		case <-done:
		case <-ctx.Done():
			g.cancel()
		}
	}
	for _, u := range users {
		u.box.close()
	}
	g.wg.Wait()
	g.cancel()
}

func (g *Gateway) isDraining() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.draining
}

// user returns the actor of bare JID j, creating it.
func (g *Gateway) user(j string) *user {
	g.mu.Lock()
	defer g.mu.Unlock()
	u, ok := g.users[j]
	if !ok {
		u = newUser(g, j)
		g.users[j] = u
	}
	return u
}

// existingUser returns the actor of j if there is one.
func (g *Gateway) existingUser(j string) *user {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.users[j]
}

func (g *Gateway) allUsers() []*user {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*user, 0, len(g.users))
	for _, u := range g.users {
		out = append(out, u)
	}
	return out
}

// HandleStanza is called by the component link for every inbound stanza,
// sequentially; it must not block on SIP, so slow work goes to actors.
func (g *Gateway) HandleStanza(ctx context.Context, s *stanza.Stanza) {
	g.stats.stanzasIn.Add(1)
	from, err := jid.Parse(s.From)
	if err != nil || s.From == "" {
		g.log.Warn("dropping stanza with a missing or malformed from", "kind", s.Kind(), "from", s.From)
		return
	}
	to, err := jid.Parse(s.To)
	if err != nil || !strings.EqualFold(to.Domainpart(), g.cfg.Domain) {
		g.replyError(ctx, s, stanza.NewError(stanza.TypeModify, stanza.JIDMalformed, "recipient is not at this gateway"))
		return
	}
	switch s.Kind() {
	case stanza.KindIQ:
		g.handleIQ(ctx, s, from, to)
	case stanza.KindPresence:
		g.handlePresence(ctx, s, from, to)
	case stanza.KindMessage:
		g.handleMessage(ctx, s, from, to)
	default:
		g.log.Warn("dropping unknown top-level element", "name", s.XMLName.Local)
	}
}

// send writes s, logging (not returning) a failure: the callers are
// reactions whose loss is repaired by the next resync.
func (g *Gateway) send(ctx context.Context, s *stanza.Stanza) {
	if s == nil {
		return
	}
	if err := g.out.Send(ctx, s); err != nil {
		g.log.Debug("send failed", "kind", s.Kind(), "to", s.To, "err", err)
		return
	}
	g.stats.stanzasOut.Add(1)
}

// replyError answers s with e, unless s is itself an error (RFC 6120
// §8.3.1: never answer an error with an error) or a result.
func (g *Gateway) replyError(ctx context.Context, s *stanza.Stanza, e *stanza.Error) {
	if s.Type == "error" || (s.Kind() == stanza.KindIQ && s.Type == "result") {
		return
	}
	g.stats.errorsSent.Add(1)
	g.send(ctx, stanza.ErrorReply(s, e))
}

func (g *Gateway) reply(ctx context.Context, req *stanza.Stanza, payload ...any) {
	res, err := stanza.Result(req, payload...)
	if err != nil {
		g.log.Error("build iq result", "err", err)
		g.replyError(ctx, req, stanza.NewError(stanza.TypeWait, stanza.InternalServerError, ""))
		return
	}
	g.send(ctx, res)
}

func presence(typ, from, to string, payload ...any) *stanza.Stanza {
	s, _ := stanza.New(stanza.KindPresence, typ, from, to, "", payload...)
	return s
}

// domainAllowed reports whether users of domain d may register.
func (g *Gateway) domainAllowed(d string) bool {
	if len(g.cfg.AllowedDomains) == 0 {
		return true
	}
	for _, a := range g.cfg.AllowedDomains {
		if strings.EqualFold(a, d) {
			return true
		}
	}
	return false
}
