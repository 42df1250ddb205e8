package echo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"fargo.dev/fargo/internal/sip"
)

// unregisterTimeout bounds the un-REGISTER when the service stops.
const unregisterTimeout = 5 * time.Second

// Service is the SIP echo. Create it with New, then call Run.
type Service struct {
	cfg      Config
	log      *slog.Logger
	ua       *sip.UA
	reg      *registrar // nil unless Config.Registrar has accounts
	bindIP   netip.Addr
	sdpIP    string
	callCtx  context.Context // done when the service stops: calls hang up
	stopCall context.CancelFunc

	mu     sync.Mutex
	closed bool
	calls  sync.WaitGroup // call goroutines

	answered, refused, echoed atomic.Uint64
	active                    atomic.Int64
	registered                atomic.Bool
}

// Stats is a snapshot of the echo's counters.
type Stats struct {
	Answered   uint64 // calls answered (our 200 was ACKed)
	Refused    uint64 // INVITEs refused (nothing usable offered, no port)
	Active     int64  // calls accepted and not released yet
	Echoed     uint64 // RTP packets sent back
	Registered bool   // the registration, if any, currently holds
}

// policy makes the UA hand us INVITEs for our one user only; others get
// 404 from the UA.
type policy string

func (p policy) KnownToken(_ context.Context, token string) bool { return token == string(p) }

// New checks cfg and prepares the user agent; nothing listens until Run.
func New(cfg Config, log *slog.Logger) (*Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, log: log}
	if s.bindIP, s.sdpIP, err = cfg.mediaAddrs(); err != nil {
		return nil, err
	}
	s.ua, err = sip.NewUA(sip.Config{ListenAddr: cfg.Listen, ContactHost: cfg.ContactHost, UserAgent: "fargo-echo"},
		log, policy(cfg.User))
	if err != nil {
		return nil, fmt.Errorf("echo: %w", err)
	}
	s.ua.SetIncoming(s.incoming)
	if len(cfg.Registrar.Accounts) > 0 {
		s.reg = newRegistrar(cfg.Registrar, log)
		s.ua.SetRequestHook(s.reg.hook)
	}
	s.callCtx, s.stopCall = context.WithCancel(context.Background())
	return s, nil
}

// Ready is closed once the SIP listeners accept requests.
func (s *Service) Ready() <-chan struct{} { return s.ua.Ready() }

// Addr is the SIP listeners' address once Ready is closed.
func (s *Service) Addr() netip.AddrPort { return s.ua.Addr() }

// Stats returns the current counters; safe from any goroutine.
func (s *Service) Stats() Stats {
	return Stats{
		Answered:   s.answered.Load(),
		Refused:    s.refused.Load(),
		Active:     s.active.Load(),
		Echoed:     s.echoed.Load(),
		Registered: s.registered.Load(),
	}
}

// Run serves until ctx is done, then unregisters, hangs up the calls
// (BYE), releases their sockets and stops the user agent. It returns an
// error if the listeners cannot be opened.
func (s *Service) Run(ctx context.Context) error {
	// The UA outlives ctx a little: the BYEs and the un-REGISTER of the
	// drain need it.
	uaCtx, stopUA := context.WithCancel(context.WithoutCancel(ctx))
	defer stopUA()
	uaDone := make(chan error, 1)
	go func() { uaDone <- s.ua.Run(uaCtx) }()
	select {
	case <-s.ua.Ready():
	case err := <-uaDone:
		s.shutCalls()
		return fmt.Errorf("echo: %w", err)
	}
	s.log.Info("SIP echo ready", "addr", s.ua.Addr().String(), "user", s.cfg.User, "max_call", s.cfg.MaxCall)
	var reg *sip.Registration
	if s.cfg.Register.AOR != "" {
		reg = s.ua.NewRegistration(s.cfg.sipAccount(), sip.Binding{}, s.onRegState)
		reg.Start()
	}
	<-ctx.Done()
	if reg != nil {
		uctx, cancel := context.WithTimeout(context.Background(), unregisterTimeout)
		if err := reg.Unregister(uctx); err != nil {
			s.log.Warn("SIP echo: unregister failed", "err", err)
		}
		cancel()
	}
	s.shutCalls()
	stopUA()
	err := <-uaDone
	s.log.Info("SIP echo stopped", "answered", s.answered.Load(), "refused", s.refused.Load())
	return err
}

// shutCalls refuses new calls, hangs up the live ones and waits until
// each has released its sockets and goroutines.
func (s *Service) shutCalls() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.stopCall()
	s.calls.Wait()
}

// track admits a call's goroutine; false once the service is stopping.
func (s *Service) track() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.calls.Add(1)
	return true
}

func (s *Service) onRegState(st sip.State) {
	// A failed refresh leaves the old binding in place until it expires.
	s.registered.Store(st.Phase == sip.PhaseRegistered || st.Phase == sip.PhaseFailed && time.Now().Before(st.ExpiresAt))
	switch {
	case st.Phase == sip.PhaseRegistered:
		s.log.Debug("SIP echo registered", "aor", s.cfg.Register.AOR, "expires", st.ExpiresAt)
	case st.Err != nil && !errors.Is(st.Err, sip.ErrClosed):
		s.log.Warn("SIP echo registration failed", "aor", s.cfg.Register.AOR, "err", st.Err, "retry_at", st.RetryAt)
	}
}
