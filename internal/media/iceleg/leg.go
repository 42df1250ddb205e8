package iceleg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// Errors ReadPacket (and the write methods) return.
var (
	// ErrHandshake wraps the cause when ICE did not connect or DTLS did
	// not complete (timeout, fingerprint mismatch, alert, no SRTP profile).
	ErrHandshake = errors.New("iceleg: ICE or DTLS handshake failed")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("iceleg: leg closed")
)

// errConfig is New's complaint about its Config.
var errConfig = errors.New("iceleg: bad config")

// DefaultHandshakeTimeout bounds ICE + DTLS when Config leaves it zero.
const DefaultHandshakeTimeout = 10 * time.Second

// gatherTimeout bounds New's wait for pion to report our host candidate.
// Gathering on a mux is local work; this only guards against a pion bug.
const gatherTimeout = 5 * time.Second

// Config is what one leg needs.
type Config struct {
	// Conn is the leg's socket, bound by the caller. The Leg owns it from
	// New on, even when New fails: Close (or New's failure) closes it.
	Conn *net.UDPConn
	// Announce is the address of our single host candidate (with Conn's
	// port). It may differ from Conn's bind address behind 1:1 NAT; it
	// must not be unspecified.
	Announce netip.Addr
	// Certificate is the process's DTLS identity (NewCertificate).
	Certificate *Certificate
	// Controlling is the ICE role: true when we sent the offer (Jingle
	// initiator). The controlling side nominates.
	Controlling bool
	// HandshakeTimeout bounds ICE connected + DTLS done after SetRemote
	// (DefaultHandshakeTimeout when zero).
	HandshakeTimeout time.Duration
	// Log gets the leg's and pion's messages; nil discards them.
	Log *slog.Logger
}

// Leg is one ICE-UDP + DTLS-SRTP endpoint with rtcp-mux on one socket.
//
// Its life: New (host candidate known), SetRemote once the peer's
// ufrag/pwd/fingerprint are known (ICE then DTLS run in the background),
// AddRemoteCandidate whenever candidates arrive, Ready when SRTP is keyed;
// then ReadPacket / WriteRTP / WriteRTCP; Close at the end.
//
// ReadPacket must be called from one goroutine at a time; WriteRTP and
// WriteRTCP may be called from any goroutines; Close from anywhere.
type Leg struct {
	cfg   Config
	log   *slog.Logger
	agent *ice.Agent
	mux   *ice.UDPMuxDefault
	cands []Candidate
	ufrag string
	pwd   string

	ctx    context.Context // canceled by Close: ends the handshake
	cancel context.CancelFunc

	mu       sync.Mutex
	started  bool       // SetRemote was called
	closing  bool       // Close began: no new goroutines, no new DTLS conn
	dtls     *dtls.Conn // set by the handshake once created
	iceConn  *ice.Conn  // set by SetRemote
	hsCancel context.CancelCauseFunc

	ready   chan struct{} // closed when SRTP is keyed
	isReady atomic.Bool   // ready's fast path for the packet methods
	failed  chan struct{} // closed when the handshake failed; failErr set before
	failErr error
	closed  chan struct{}
	once    sync.Once // Close
	relOnce sync.Once // release
	wg      sync.WaitGroup

	// Receive side: touched by the handshake pump until ready, by
	// ReadPacket after (ready orders the hand-over).
	rx       *srtp.Context
	profile  srtp.ProtectionProfile // negotiated, for the log
	rtpHdr   rtp.Header
	rtcpHdr  rtcp.Header
	early    [][]byte // SRTP that arrived before the keys, decrypted first
	din      *dtlsConn
	pumpStop atomic.Bool // tells the handshake pump to hand over to ReadPacket
	dropped  atomic.Uint64

	// Send side.
	wmu     sync.Mutex
	tx      *srtp.Context // nil until ready
	wbuf    []byte
	wRTPHdr rtp.Header
	wRTCP   rtcp.Header
}

// New creates the ICE agent with fresh local credentials and our one host
// candidate, Announce at Conn's port. No goroutine outlives a failed New.
func New(cfg Config) (*Leg, error) {
	if cfg.Conn == nil {
		return nil, fmt.Errorf("%w: no socket", errConfig)
	}
	l, err := newLeg(cfg)
	if err != nil {
		_ = cfg.Conn.Close()
		return nil, err
	}
	return l, nil
}

func newLeg(cfg Config) (*Leg, error) {
	if cfg.Certificate == nil {
		return nil, fmt.Errorf("%w: no certificate", errConfig)
	}
	local, ok := cfg.Conn.LocalAddr().(*net.UDPAddr)
	if !ok || local.Port == 0 {
		return nil, fmt.Errorf("%w: socket not bound", errConfig)
	}
	announce := cfg.Announce.Unmap()
	if !announce.IsValid() || announce.IsUnspecified() {
		return nil, fmt.Errorf("%w: announced address %v", errConfig, cfg.Announce)
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	logs := pionLogs{log: log}

	// The mux learns the announced address as its listen address, so pion
	// makes exactly one host candidate of it (see announcedConn).
	sock := &announcedConn{UDPConn: cfg.Conn, local: &net.UDPAddr{IP: announce.AsSlice(), Port: local.Port}}
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: sock, Logger: logs.NewLogger("udpmux")})

	network := ice.NetworkTypeUDP4
	if announce.Is6() {
		network = ice.NetworkTypeUDP6
	}
	opts := []ice.AgentOption{
		ice.WithUDPMux(mux),
		ice.WithNetworkTypes([]ice.NetworkType{network}),
		ice.WithCandidateTypes([]ice.CandidateType{ice.CandidateTypeHost}),
		ice.WithMulticastDNSMode(ice.MulticastDNSModeDisabled),
		ice.WithLoggerFactory(logs),
	}
	if announce.IsLoopback() {
		// pion drops loopback host candidates unless told otherwise.
		opts = append(opts, ice.WithIncludeLoopback())
	}
	agent, err := ice.NewAgentWithOptions(opts...)
	if err != nil {
		_ = mux.Close()
		return nil, fmt.Errorf("iceleg: ICE agent: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Leg{
		cfg:    cfg,
		log:    log,
		agent:  agent,
		mux:    mux,
		ctx:    ctx,
		cancel: cancel,
		ready:  make(chan struct{}),
		failed: make(chan struct{}),
		closed: make(chan struct{}),
		wbuf:   make([]byte, 0, receiveMTU),
	}
	if err := l.gather(); err != nil {
		l.release()
		cancel()
		return nil, err
	}
	l.ufrag, l.pwd, err = agent.GetLocalUserCredentials()
	if err != nil {
		l.release()
		cancel()
		return nil, fmt.Errorf("iceleg: local credentials: %w", err)
	}
	_ = agent.OnConnectionStateChange(l.onICEState)
	return l, nil
}

// gather runs pion's gathering, which on a mux is immediate, and keeps the
// candidates it makes: Candidates must answer synchronously.
func (l *Leg) gather() error {
	done := make(chan struct{})
	_ = l.agent.OnCandidate(func(c ice.Candidate) {
		if c == nil {
			close(done)
		}
	})
	if err := l.agent.GatherCandidates(); err != nil {
		return fmt.Errorf("iceleg: gather: %w", err)
	}
	timer := time.NewTimer(gatherTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		return errors.New("iceleg: gathering did not complete")
	}
	got, err := l.agent.GetLocalCandidates()
	if err != nil {
		return fmt.Errorf("iceleg: local candidates: %w", err)
	}
	for _, c := range got {
		cand, err := fromICE(c)
		if err != nil {
			return err
		}
		l.cands = append(l.cands, cand)
	}
	if len(l.cands) == 0 {
		return fmt.Errorf("iceleg: no host candidate for %v", l.cfg.Announce)
	}
	return nil
}

// Credentials are our ICE ufrag and password, to signal.
func (l *Leg) Credentials() (ufrag, pwd string) { return l.ufrag, l.pwd }

// Candidates are our host candidate(s), component 1, with the priority and
// foundation pion computed.
func (l *Leg) Candidates() []Candidate { return append([]Candidate(nil), l.cands...) }

// Fingerprint is our certificate's fingerprint, to signal.
func (l *Leg) Fingerprint() Fingerprint { return l.cfg.Certificate.Fingerprint() }

// LocalSetup is the DTLS setup attribute to announce given the remote's:
// "" (we offer) → actpass; remote actpass → active (we answer as the DTLS
// client, what RFC 5763 §5 recommends and libwebrtc does); remote active →
// passive; remote passive → active.
func (l *Leg) LocalSetup(remoteSetup string) string { return localSetup(remoteSetup) }

func localSetup(remote string) string {
	switch strings.ToLower(remote) {
	case "":
		return SetupActpass
	case SetupActive:
		return SetupPassive
	default: // actpass, passive, and anything unknown: be the client
		return SetupActive
	}
}

// dtlsClient tells our DTLS role. When we answered, our own answer (what
// LocalSetup returned) decides; when we offered actpass, the remote's
// answer does: active → it is the client, passive → we are. An answer
// without setup defaults to active (RFC 4145 §4).
func dtlsClient(controlling bool, remoteSetup string) bool {
	if !controlling {
		return localSetup(remoteSetup) == SetupActive
	}
	switch strings.ToLower(remoteSetup) {
	case SetupPassive, SetupActpass: // actpass in an answer is invalid; taking the client side still works
		return true
	}
	return false
}

// AddRemoteCandidate adds a peer candidate, before or after SetRemote
// (trickle ICE). Candidates for component 2 and non-UDP ones are ignored;
// an unusable address is an error.
func (l *Leg) AddRemoteCandidate(c Candidate) error {
	cand, ok, err := toICE(c)
	if err != nil || !ok {
		return err
	}
	select {
	case <-l.closed:
		return ErrClosed
	case <-l.failed:
		return l.failErr
	default:
	}
	if err := l.agent.AddRemoteCandidate(cand); err != nil {
		return fmt.Errorf("iceleg: add remote candidate: %w", err)
	}
	return nil
}

// Ready is closed once ICE is connected, DTLS is done and SRTP is keyed.
func (l *Leg) Ready() <-chan struct{} { return l.ready }

// Dropped counts received packets thrown away: SRTP/SRTCP that failed
// authentication or replay checks, or arrived in too great a number
// before the keys.
func (l *Leg) Dropped() uint64 { return l.dropped.Load() }

// onICEState logs ICE state changes and fails the handshake early when
// pion gives up on connectivity.
func (l *Leg) onICEState(s ice.ConnectionState) {
	l.log.Debug("ice state", "state", s.String())
	if s != ice.ConnectionStateFailed {
		return
	}
	if l.isReady.Load() {
		// Consent lost mid-call (RFC 7675): ReadPacket just stops getting
		// packets; the caller's media timeout ends the call.
		l.log.Info("ICE connectivity lost")
		return
	}
	l.mu.Lock()
	cancel := l.hsCancel
	l.mu.Unlock()
	if cancel != nil {
		cancel(errICEFailed)
	}
}

var errICEFailed = errors.New("ICE connectivity checks failed")

// Close ends the leg: ReadPacket returns ErrClosed, the socket, the agent
// and every goroutine are released. It is idempotent.
func (l *Leg) Close() error {
	l.once.Do(func() {
		l.mu.Lock()
		l.closing = true
		l.mu.Unlock()
		close(l.closed)
		l.cancel()
		l.release()
		l.wg.Wait()
	})
	return nil
}

// release frees what the leg holds, once: the DTLS conn (which sends
// close_notify when it got that far), the agent, then the mux and with it
// the socket. It runs on Close and when the handshake fails.
func (l *Leg) release() {
	l.relOnce.Do(func() {
		l.mu.Lock()
		d, din := l.dtls, l.din
		l.mu.Unlock()
		if d != nil {
			_ = d.Close()
		}
		if din != nil {
			_ = din.Close()
		}
		_ = l.agent.GracefulClose()
		_ = l.mux.Close()
	})
}

// announcedConn is the leg's socket as the UDP mux sees it: its LocalAddr
// is the announced address. pion then makes exactly one host candidate of
// it, the announced address at our port. (pion's 1:1 NAT rewrite on a mux
// bound to 0.0.0.0 or :: enumerates every interface per agent and lets the
// other address family's addresses through as extra host candidates.)
type announcedConn struct {
	*net.UDPConn
	local *net.UDPAddr
}

func (c *announcedConn) LocalAddr() net.Addr { return c.local }

// ReadFromAddrPort and WriteToAddrPort keep pion's allocation-free path,
// which it only takes for a bare *net.UDPConn or this interface.
func (c *announcedConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return c.ReadFromUDPAddrPort(b)
}

func (c *announcedConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return c.WriteToUDPAddrPort(b, addr)
}
