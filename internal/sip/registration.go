package sip

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Phase is where a Registration stands.
type Phase string

// Phases reported through State.
const (
	PhaseRegistering  Phase = "registering"
	PhaseRegistered   Phase = "registered"
	PhaseFailed       Phase = "failed"
	PhaseUnregistered Phase = "unregistered"
)

// State is reported on every change of a Registration.
type State struct {
	Phase Phase
	Err   error // why the last attempt failed; user-presentable
	// ExpiresAt is when the registrar drops the binding unless refreshed;
	// zero if there is none (it can be set while Phase is failed: a refresh
	// failed but the old binding still holds).
	ExpiresAt time.Time
	RetryAt   time.Time // next attempt after a failure
	Binding   Binding   // persist it to continue the binding after a restart
	Latency   time.Duration
}

var errUpdated = errors.New("account updated")

// Registration keeps one account registered while it runs: REGISTER,
// refresh before expiry, back off on failure. onState is called from one
// goroutine at a time, in order; it must not block for long and must not
// call Close or Unregister (they wait for that goroutine).
type Registration struct {
	ua      *UA
	onState func(State)
	log     *slog.Logger

	ctx    context.Context // the registration's lifetime
	cancel context.CancelFunc
	runs   sync.WaitGroup // the attempt goroutine, while one runs

	// Between attempts nothing runs but a timer: an online user who is
	// idle costs no goroutine (and no stack), which is what lets one
	// gateway keep 100,000 users registered.
	mu            sync.Mutex
	acct          Account
	bind          Binding
	started       bool
	stopped       bool
	running       bool        // an attempt goroutine runs
	kicked        bool        // Update happened since the current attempt began
	timer         *time.Timer // the next attempt, while none runs
	cancelAttempt context.CancelCauseFunc
	s             loopState // owned by the attempt goroutine (handed over under mu)
}

// NewRegistration prepares a registration of a that continues binding b.
// Nothing is sent before Start. onState may be nil.
func (ua *UA) NewRegistration(a Account, b Binding, onState func(State)) *Registration {
	if b.CallID == "" {
		b.CallID = newCallID()
	}
	if onState == nil {
		onState = func(State) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Registration{
		ua:      ua,
		onState: onState,
		log:     ua.log.With("aor", a.AOR, "sip_call_id", b.CallID),
		ctx:     ctx,
		cancel:  cancel,
		acct:    a,
		bind:    b,
		s:       loopState{expiry: ua.cfg.RegisterExpiry},
	}
}

// Start sends the first REGISTER. Calls after the first, or after Close or
// Unregister, do nothing.
func (r *Registration) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.stopped {
		return
	}
	r.started = true
	r.spawnLocked()
}

// spawnLocked starts the attempt goroutine; r.mu is held.
func (r *Registration) spawnLocked() {
	r.running = true
	r.runs.Add(1)
	go r.run()
}

// fire is the timer's: the next attempt is due.
func (r *Registration) fire() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || r.running {
		return
	}
	r.timer = nil
	r.spawnLocked()
}

// Update replaces the account (new credentials, registrar…) and registers
// again at once, abandoning an attempt in flight; it resets the
// authentication back-off, since the user fixed what failed.
func (r *Registration) Update(a Account) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acct = a
	r.kicked = true
	if r.cancelAttempt != nil {
		r.cancelAttempt(errUpdated)
	}
	if !r.started || r.stopped || r.running {
		return // the running attempt sees kicked when it ends
	}
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.spawnLocked()
}

// Unregister stops the loop, then removes our Contact from the registrar
// (REGISTER with Contact <ours>;expires=0 — never "*", which would remove
// the user's other devices too) and waits for the answer. It reports the
// final State (unregistered, or failed) from the caller's goroutine.
func (r *Registration) Unregister(ctx context.Context) error {
	r.stop()
	r.mu.Lock()
	a, b := r.acct, r.bind
	r.mu.Unlock()
	start := time.Now()
	_, b, err := r.ua.Register(ctx, a, b, 0)
	r.mu.Lock()
	r.bind = b
	r.mu.Unlock()
	st := State{Phase: PhaseUnregistered, Binding: b, Latency: time.Since(start)}
	if err != nil {
		st.Phase, st.Err = PhaseFailed, err
		r.log.Warn("SIP unregistration failed", "err", err)
	} else {
		r.log.Info("SIP unregistered")
	}
	r.onState(st)
	return err
}

// Binding returns the binding as of the last request sent.
func (r *Registration) Binding() Binding {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bind
}

// Close stops the loop without unregistering, so the binding outlives a
// gateway restart, and waits for the loop goroutine to end.
func (r *Registration) Close() { r.stop() }

func (r *Registration) stop() {
	r.mu.Lock()
	r.stopped = true
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.mu.Unlock()
	r.cancel()
	r.runs.Wait()
}

// run registers until an attempt leaves something to wait for (refresh
// time, or the next retry), then arms the timer for it and ends.
func (r *Registration) run() {
	defer r.runs.Done()
	s := &r.s
	for {
		a, b, attemptCtx, done, kicked := r.beginAttempt()
		if kicked {
			s.accountChanged()
		}
		if !s.registered {
			r.onState(State{Phase: PhaseRegistering, Binding: b, ExpiresAt: s.expiresAt})
		}
		start := time.Now()
		granted, next, err := r.ua.Register(attemptCtx, a, b, s.expiry)
		updated := errors.Is(context.Cause(attemptCtx), errUpdated)
		done()
		r.setBinding(next)
		switch {
		case r.ctx.Err() != nil:
			r.idle(0, false)
			return
		case err != nil && updated:
			continue // the attempt was abandoned for new account data: try that now
		}
		st, wait := r.outcome(s, start, granted, next, err)
		r.onState(st)
		if errors.Is(err, ErrClosed) {
			r.idle(0, false) // the UA is gone; nothing left to retry with
			return
		}
		if r.idle(wait, true) {
			return
		}
	}
}

// idle ends the attempt goroutine's turn: with arm, the timer takes over
// for the wait. It reports false when an Update came in meanwhile and the
// goroutine must attempt again at once.
func (r *Registration) idle(wait time.Duration, arm bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if arm && r.kicked && !r.stopped {
		return false
	}
	r.running = false
	if arm && !r.stopped {
		r.timer = time.AfterFunc(wait, r.fire)
	}
	return true
}

// loopState is what the loop remembers between attempts.
type loopState struct {
	transientN, authN int           // consecutive failures of each kind
	expiresAt         time.Time     // end of the current binding, zero if none
	registered        bool          // a binding is believed to exist
	expiry            time.Duration // what to ask for
}

// accountChanged resets what credentials changes invalidate: the user fixed
// what failed, so the long authentication back-off no longer applies.
func (s *loopState) accountChanged() {
	s.authN, s.registered = 0, false
}

// outcome turns an attempt's result into the state to report and the wait
// before the next attempt: refresh time after success, back-off after
// failure (long for authentication failures and other rejections).
func (r *Registration) outcome(s *loopState, start time.Time, granted time.Duration, b Binding, err error) (State, time.Duration) {
	now := time.Now()
	if !s.expiresAt.IsZero() && !now.Before(s.expiresAt) {
		s.expiresAt, s.registered = time.Time{}, false
	}
	st := State{Binding: b, Latency: now.Sub(start), ExpiresAt: s.expiresAt}
	cfg := r.ua.cfg
	var wait time.Duration
	switch {
	case err == nil:
		r.logSuccess(s.registered, granted, st.Latency)
		s.transientN, s.authN, s.registered = 0, 0, true
		s.expiry = max(s.expiry, granted) // after a 423, ask for Min-Expires straight away next time
		s.expiresAt = start.Add(granted)
		st.Phase, st.ExpiresAt = PhaseRegistered, s.expiresAt
		return st, refreshDelay(granted)
	case errors.Is(err, ErrClosed):
	case isTransient(err):
		wait = max(backoff(cfg.RetryMin, cfg.RetryMax, s.transientN), min(retryAfter(err), cfg.AuthRetryMax))
		s.transientN++
	default:
		wait = backoff(cfg.AuthRetryMin, cfg.AuthRetryMax, s.authN)
		s.authN++
	}
	st.Phase, st.Err = PhaseFailed, err
	if wait > 0 {
		st.RetryAt = now.Add(wait)
	}
	r.log.Warn("SIP registration failed", "err", err, "retry_in", wait.Round(time.Millisecond))
	return st, wait
}

// beginAttempt snapshots the account and binding and makes the attempt's
// context, which Update can cancel. done must be called after the attempt.
// kicked reports an Update since the last attempt began: this one uses the
// new account, and what the old one's failures taught no longer holds.
func (r *Registration) beginAttempt() (a Account, b Binding, ctx context.Context, done func(), kicked bool) {
	ctx, cancel := context.WithCancelCause(r.ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	kicked, r.kicked = r.kicked, false
	r.cancelAttempt = cancel
	return r.acct, r.bind, ctx, func() {
		r.mu.Lock()
		r.cancelAttempt = nil
		r.mu.Unlock()
		cancel(nil)
	}, kicked
}

func (r *Registration) setBinding(b Binding) {
	r.mu.Lock()
	r.bind = b
	r.mu.Unlock()
}

func (r *Registration) logSuccess(refresh bool, granted, latency time.Duration) {
	if refresh {
		r.log.Debug("SIP registration refreshed", "expires", granted, "latency", latency)
		return
	}
	r.log.Info("SIP registered", "expires", granted, "latency", latency)
}
