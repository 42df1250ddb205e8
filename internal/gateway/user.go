package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/store"
)

// mailboxSize bounds what one user may have queued; a full mailbox makes
// the read loop wait, which is the backpressure we want for a flood from one
// user.
const mailboxSize = 64

// user is the actor owning one bare JID's state. Every field below box is
// touched only by the closures the mailbox runs, one at a time.
type user struct {
	g   *Gateway
	jid string
	log *slog.Logger
	box *mailbox
	ctx context.Context // the gateway's lifetime
	// view publishes account to other goroutines (accounts.go); unlike
	// the fields below it may be read anywhere.
	view atomic.Pointer[accountView]

	account   *store.Account  // set only through setAccount
	resources map[string]bool // full JIDs with available presence
	reg       Registration    // nil when no registration loop runs
	regGen    int             // identifies reg; events of older loops are stale
	regState  RegEvent
	// resyncing: presence is unknown (link lost, restart, last resource
	// gone); the grace timer ends it. resyncRefresh: a user who shows up
	// gets a fresh REGISTER (after a link loss or restart).
	resyncing     bool
	resyncRefresh bool
	probePending  bool // a probe was sent and no presence has come since
	grace         *time.Timer
	graceGen      int
	lastErrMsg    string            // the last failure text the user was told about
	failedChecks  []time.Time       // refused credential checks, for throttling
	calls         map[string]*call  // by Jingle sid / JMI id
	resCaps       map[string]string // full JID → caps node#ver
}

func newUser(g *Gateway, j string) *user {
	return &user{
		g: g, jid: j, log: g.log.With("jid", j), ctx: g.ctx,
		box:       newMailbox(&g.wg, mailboxSize),
		resources: make(map[string]bool),
	}
}

// post queues fn to run on the actor; dropped once the gateway stopped.
func (u *user) post(fn func()) { u.box.post(fn) }

// load takes an account read from the store at start-up. Its SIP binding
// may still be alive from before a restart: it is kept until the presence
// grace tells whether the user is online.
func (u *user) load(a *store.Account) {
	u.setAccount(a)
	r, err := u.g.store.Registration(u.ctx, a.JID)
	if err == nil {
		ev := RegEvent{Phase: phaseOf(r.State), ExpiresAt: r.ExpiresAt, Binding: Binding{CallID: r.CallID, CSeq: r.CSeq}}
		if r.LastError != "" {
			ev.Err = &SIPError{Text: r.LastError}
		}
		u.setState(ev)
	}
	u.resync()
}

func phaseOf(s store.RegState) RegPhase {
	switch s {
	case store.RegStateRegistered:
		return PhaseRegistered
	case store.RegStateFailed:
		return PhaseFailed
	case store.RegStateRegistering:
		return PhaseRegistering
	default:
		return PhaseUnregistered
	}
}

// resync forgets the resources (presence is unknown: link lost, restart)
// and starts the presence grace, at whose end a user who did not reappear
// is logged out of SIP. One who reappears is refreshed on the same binding.
func (u *user) resync() {
	clear(u.resources)
	u.startGrace(u.g.cfg.PresenceGrace, true)
}

// confirmOffline follows the last resource's unavailable presence: servers
// may report a replaced session's unavailable after its successor's
// available, and mobile clients flap. A probe settles it; the answer is
// usually there in milliseconds, OfflineConfirm bounds the wait.
func (u *user) confirmOffline() {
	u.startGrace(u.g.cfg.OfflineConfirm, false)
	u.probe()
}

// probe asks the user's server for the user's presence. Until an answer
// comes, an unavailable presence with no resource known means "offline".
func (u *user) probe() {
	u.probePending = true
	u.g.send(u.ctx, presence("probe", u.g.cfg.Domain, u.jid))
}

func (u *user) startGrace(d time.Duration, refresh bool) {
	u.resyncing = true
	u.resyncRefresh = refresh
	u.graceGen++
	gen := u.graceGen
	if u.grace != nil {
		u.grace.Stop()
	}
	u.grace = time.AfterFunc(d, func() {
		u.post(func() { u.graceOver(gen) })
	})
}

func (u *user) endGrace() {
	u.resyncing = false
	u.graceGen++
	if u.grace != nil {
		u.grace.Stop()
	}
}

func (u *user) graceOver(gen int) {
	if gen != u.graceGen || !u.resyncing {
		return
	}
	u.resyncing = false
	if len(u.resources) == 0 {
		u.log.Info("user did not show up online: SIP logout")
		u.logout()
	}
}

// available records an available resource; the first one logs in, and
// every new one is told the gateway's presence.
func (u *user) available(full string) {
	u.probePending = false
	isNew := !u.resources[full]
	wasOnline := len(u.resources) > 0
	u.resources[full] = true
	if u.account == nil {
		return
	}
	switch {
	case u.resyncing:
		refresh := u.resyncRefresh
		u.endGrace()
		u.login(refresh)
	case !wasOnline:
		u.login(false)
	}
	if isNew && u.regState.Phase == PhaseRegistered {
		u.g.send(u.ctx, u.gatewayPresence(full))
	}
}

// unavailable drops a resource; the last one logs out after a probe. An
// unavailable presence answering our probe while no resource is known says
// the user is offline: the grace ends now.
func (u *user) unavailable(full string) {
	answer := u.probePending
	u.probePending = false
	if answer && u.resyncing && len(u.resources) == 0 && u.account != nil {
		u.endGrace()
		u.log.Info("user is offline: SIP logout")
		u.logout()
		return
	}
	if !u.resources[full] {
		return
	}
	delete(u.resources, full)
	if len(u.resources) == 0 && u.account != nil && !u.resyncing {
		u.log.Debug("last resource went offline: probing before SIP logout")
		u.confirmOffline()
	}
}

// login starts (or, after a resync, refreshes) the SIP registration loop.
func (u *user) login(refresh bool) {
	if u.reg == nil {
		u.regGen++
		gen := u.regGen
		u.reg = u.g.sip.NewRegistration(*u.account, u.regState.Binding, func(ev RegEvent) { u.onRegEvent(gen, ev) })
		u.reg.Start()
		return
	}
	if refresh {
		u.reg.Update(*u.account)
	}
}

// onRegEvent runs on the registration loop's goroutine, which the actor
// may be waiting for (Unregister, Close): it queues without waiting. Only
// the running loop speaks for the user: the last words of a loop that was
// stopped (its un-REGISTER) were already acted on.
func (u *user) onRegEvent(gen int, ev RegEvent) {
	u.box.postNow(func() {
		if gen == u.regGen && u.reg != nil {
			u.regEvent(ev)
		}
	})
}

func (u *user) regEvent(ev RegEvent) {
	if u.account == nil {
		return
	}
	if ev.Phase == PhaseRegistering && u.regState.Phase == PhaseRegistered && time.Now().Before(u.regState.ExpiresAt) {
		// A refresh of a standing binding: the user stays registered meanwhile.
		return
	}
	prev := u.regState.Phase
	u.setState(ev)
	u.persist()
	u.g.stats.observe(ev)
	switch ev.Phase {
	case PhaseRegistered:
		u.lastErrMsg = ""
		if prev != PhaseRegistered {
			u.log.Info("SIP registered", "aor", u.account.SIPAddress, "expires_at", ev.ExpiresAt, "latency", ev.Latency)
			u.broadcastPresence()
		}
	case PhaseFailed:
		text := errText(ev.Err)
		u.log.Warn("SIP registration failed", "aor", u.account.SIPAddress, "err", text, "retry_at", ev.RetryAt)
		if text != u.lastErrMsg {
			u.lastErrMsg = text
			u.tellFailure(ev.Err)
		}
	}
}

// setState replaces the registration state, keeping the gauge of standing
// registrations in step.
func (u *user) setState(ev RegEvent) {
	was, is := u.regState.Phase == PhaseRegistered, ev.Phase == PhaseRegistered
	switch {
	case is && !was:
		u.g.stats.registered.Add(1)
	case was && !is:
		u.g.stats.registered.Add(-1)
	}
	u.regState = ev
}

// persist saves the registration state so a restart continues it.
func (u *user) persist() {
	r := store.Registration{
		JID: u.jid, State: storeState(u.regState.Phase),
		CallID: u.regState.Binding.CallID, CSeq: u.regState.Binding.CSeq,
		ExpiresAt: u.regState.ExpiresAt, LastError: errText(u.regState.Err),
	}
	if err := u.g.store.PutRegistration(u.ctx, r); err != nil && !errors.Is(err, store.ErrNotFound) {
		u.log.Error("save registration state", "err", err)
	}
}

func storeState(p RegPhase) store.RegState {
	switch p {
	case PhaseRegistered:
		return store.RegStateRegistered
	case PhaseFailed:
		return store.RegStateFailed
	case PhaseRegistering:
		return store.RegStateRegistering
	default:
		return store.RegStateUnregistered
	}
}

// logout removes the SIP binding and tells the user's clients the gateway
// is offline for them (XEP-0100 §4.5).
func (u *user) logout() {
	wasRegistered := u.regState.Phase == PhaseRegistered
	ctx, cancel := context.WithTimeout(u.ctx, u.g.cfg.ValidateTimeout)
	defer cancel()
	switch {
	case u.reg != nil:
		if err := u.reg.Unregister(ctx); err != nil {
			u.log.Warn("SIP un-REGISTER failed", "err", err)
		}
		u.reg = nil
	case wasRegistered && u.account != nil:
		// A binding kept across a restart, with no loop running.
		if _, _, err := u.g.sip.Register(ctx, *u.account, u.regState.Binding, 0); err != nil {
			u.log.Warn("SIP un-REGISTER of a binding kept across restart failed", "err", err)
		}
	}
	u.setState(RegEvent{Phase: PhaseUnregistered, Binding: u.regState.Binding})
	u.persist()
	u.g.send(ctx, presence("unavailable", u.g.cfg.Domain, u.jid))
}

// gatewayPresence is the gateway's available presence towards to.
func (u *user) gatewayPresence(to string) *stanza.Stanza {
	status := struct {
		XMLName struct{} `xml:"status"`
		Text    string   `xml:",chardata"`
	}{Text: "Registered as sip:" + u.account.SIPAddress}
	return presence("", u.g.cfg.Domain, to, status, u.g.capsElement())
}

func (u *user) broadcastPresence() {
	u.g.send(u.ctx, u.gatewayPresence(u.jid))
}

// tellFailure reports a failed SIP login the way XEP-0100 §4.4 says
// (presence of type error from the gateway to each resource) and with a
// message whose text says what went wrong.
func (u *user) tellFailure(err error) {
	e := stanzaError(err)
	for full := range u.resources {
		p := presence("error", u.g.cfg.Domain, full)
		p.Payload = e.Bytes()
		u.g.send(u.ctx, p)
	}
	body := struct {
		XMLName struct{} `xml:"body"`
		Text    string   `xml:",chardata"`
	}{Text: "SIP login for sip:" + u.account.SIPAddress + " failed: " + errText(err)}
	m, _ := stanza.New(stanza.KindMessage, "headline", u.g.cfg.Domain, u.jid, "", body)
	u.g.send(u.ctx, m)
}

// shutdown stops the registration loop: the binding is removed only if
// configured, otherwise it outlives the restart and is refreshed after it.
func (u *user) shutdown(ctx context.Context) {
	if u.grace != nil {
		u.grace.Stop()
	}
	u.endAllCalls("the gateway is shutting down")
	if u.reg != nil {
		if u.g.cfg.UnregisterOnShutdown {
			if err := u.reg.Unregister(ctx); err != nil {
				u.log.Warn("SIP un-REGISTER at shutdown failed", "err", err)
			}
			u.setState(RegEvent{Phase: PhaseUnregistered, Binding: u.regState.Binding})
		} else {
			u.reg.Close()
		}
		u.reg = nil
		u.persist()
	}
	if u.account != nil && len(u.resources) > 0 {
		u.g.send(ctx, presence("unavailable", u.g.cfg.Domain, u.jid))
	}
}

func newContactToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
