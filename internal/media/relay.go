package media

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Defaults of the Config fields left zero.
const (
	DefaultIdleTimeout      = 60 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultLearnWindow      = 3 * time.Second
	DefaultMaxSessions      = 1000
)

// Relay owns the port range, the process's DTLS certificate, the limits and
// the counters shared by every relayed call. Create it with NewRelay, end
// it with Close.
type Relay struct {
	cfg   Config
	log   *slog.Logger
	ports *portPool
	// pollers serve the RTP legs' sockets (the ICE legs' sockets are
	// pion's, in the netpoller).
	pollers *pollers
	// kernel is the in-kernel fast path; nil: every packet is relayed
	// here.
	kernel *kernelPath
	cert   certificate
	epoch  time.Time // origin of the sessions' monotonic packet clock
	stats  counters

	closeOnce sync.Once

	mu       sync.Mutex
	closed   bool
	sessions map[*Session]struct{}
	nextID   uint64
}

// NewRelay checks cfg, fills its defaults and creates the DTLS certificate
// every ICE leg of the process presents (clients pin its fingerprint from
// the signalling, so one per process is enough and saves a key generation
// per call). Nothing is bound until a session asks for a leg.
//
// log is used as given: like every subsystem's, it comes tagged
// "subsystem"="media" from internal/app. nil discards.
func NewRelay(cfg Config, log *slog.Logger) (*Relay, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cert, err := newCertificate()
	if err != nil {
		return nil, fmt.Errorf("media: DTLS certificate: %w", err)
	}
	pollers, err := newPollers(cfg.PortMin, cfg.PortMax, log)
	if err != nil {
		return nil, err
	}
	epoch := time.Now()
	kernel, err := newKernel(cfg, epoch, log)
	if err != nil {
		pollers.close()
		return nil, err
	}
	return &Relay{
		cfg:      cfg,
		log:      log,
		ports:    newPortPool(cfg.BindAddr, cfg.PortMin, cfg.PortMax),
		pollers:  pollers,
		kernel:   kernel,
		cert:     cert,
		epoch:    epoch,
		sessions: map[*Session]struct{}{},
	}, nil
}

// newKernel sets up the kernel fast path as cfg.Kernel asks: nil when off
// or, in auto mode, when this process may not (said in the log).
func newKernel(cfg Config, epoch time.Time, log *slog.Logger) (*kernelPath, error) {
	if cfg.Kernel == KernelOff {
		return nil, nil
	}
	// Four entries a call: RTP and RTCP, one per side.
	k, err := newKernelPath(4*cfg.MaxSessions, epoch, log)
	if err == nil {
		return k, nil
	}
	if cfg.Kernel == KernelOn {
		return nil, err
	}
	log.Info("media relay: every packet is relayed in this process (the kernel fast path needs CAP_BPF and CAP_NET_ADMIN and Linux 6.6 or later)", "err", err)
	return nil, nil
}

func (c Config) withDefaults() (Config, error) {
	if !c.BindAddr.IsValid() {
		c.BindAddr = netip.IPv4Unspecified()
	}
	c.BindAddr = c.BindAddr.Unmap()
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.LearnWindow == 0 {
		c.LearnWindow = DefaultLearnWindow
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	switch {
	case c.PortMin == 0 || c.PortMax < c.PortMin:
		return c, fmt.Errorf("%w: port range %d-%d is empty", ErrBadInput, c.PortMin, c.PortMax)
	case int(c.PortMax)-int(c.PortMin)+1 < 4:
		return c, fmt.Errorf("%w: port range %d-%d has fewer than 4 ports (one relayed call needs 3 or 4)", ErrBadInput, c.PortMin, c.PortMax)
	case !announceable(c.SIPAddr):
		return c, fmt.Errorf("%w: SIP-side address %v cannot be announced", ErrBadInput, c.SIPAddr)
	case !announceable(c.XMPPAddr):
		return c, fmt.Errorf("%w: XMPP-side address %v cannot be announced", ErrBadInput, c.XMPPAddr)
	case c.BindAddr.IsMulticast() || c.BindAddr.Zone() != "":
		return c, fmt.Errorf("%w: bind address %v", ErrBadInput, c.BindAddr)
	case c.MaxSessions < 0 || c.IdleTimeout < 0 || c.HandshakeTimeout < 0 || c.LearnWindow < 0:
		return c, fmt.Errorf("%w: negative limit or timeout", ErrBadInput)
	}
	c.SIPAddr, c.XMPPAddr = c.SIPAddr.Unmap(), c.XMPPAddr.Unmap()
	return c, nil
}

// announceable is an address a peer can send to: not 0.0.0.0, not
// multicast.
func announceable(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsMulticast()
}

// NewSession starts one relayed call with its SIP leg bound (the SDP
// offer or answer toward SIP needs its port at once). The XMPP leg is
// added with XMPPRaw or XMPPICE once the client's transport is known.
func (r *Relay) NewSession() (*Session, error) {
	if n := r.stats.active.Add(1); n > int64(r.cfg.MaxSessions) {
		r.stats.active.Add(-1)
		r.stats.refused.Add(1)
		return nil, ErrLimit
	}
	s, err := r.newSession()
	if err != nil {
		r.stats.active.Add(-1)
		return nil, err
	}
	r.stats.total.Add(1)
	return s, nil
}

// Stats returns the counters. With the kernel fast path on, it first
// reads the entries of the calls in it (a lookup each).
func (r *Relay) Stats() Stats {
	if r.kernel != nil {
		r.syncKernel()
	}
	return r.stats.snapshot()
}

// Close ends every session (ErrClosed) and returns when all their sockets
// and goroutines are gone. NewSession fails afterwards.
func (r *Relay) Close() {
	r.mu.Lock()
	r.closed = true
	all := make([]*Session, 0, len(r.sessions))
	for s := range r.sessions {
		all = append(all, s)
	}
	r.mu.Unlock()
	// End them all first so they tear down in parallel, then wait.
	for _, s := range all {
		s.end(ErrClosed, nil)
	}
	for _, s := range all {
		<-s.done
	}
	r.closeOnce.Do(func() {
		r.pollers.close()
		if r.kernel != nil {
			r.kernel.close()
		}
	})
}

// add registers a new session unless the relay is closed.
func (r *Relay) add(s *Session) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.nextID++
	s.id = r.nextID
	r.sessions[s] = struct{}{}
	return true
}

// forget drops a session that failed to start (NewSession undoes the
// active count).
func (r *Relay) forget(s *Session) {
	r.mu.Lock()
	delete(r.sessions, s)
	r.mu.Unlock()
}

func (r *Relay) remove(s *Session) {
	r.mu.Lock()
	delete(r.sessions, s)
	r.mu.Unlock()
	r.stats.active.Add(-1)
}

// now is the packet clock: monotonic nanoseconds since the relay started.
func (r *Relay) now() int64 { return int64(time.Since(r.epoch)) }
