package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// InboundPolicy tells the UA which Request-URI users (contact tokens) are
// ours. KnownToken may be called concurrently from many goroutines.
type InboundPolicy interface {
	KnownToken(ctx context.Context, token string) bool
}

// UA is the gateway's SIP user agent: one pair of UDP and TCP listeners for
// all accounts. Create it with NewUA, then call Run.
type UA struct {
	cfg    Config
	log    *slog.Logger
	policy InboundPolicy

	sua *sipgo.UserAgent
	srv *sipgo.Server
	cli *sipgo.Client

	started atomic.Bool
	ready   chan struct{}   // closed when listeners serve and requests can leave
	stopped chan struct{}   // closed when Run is shutting down
	stopCtx context.Context // done when stopped is closed
	stopNow context.CancelFunc
	sendMu  sync.RWMutex // see send.go

	// Set by Run before ready is closed, read-only afterwards.
	bound       netip.AddrPort // the listeners' address (same port for UDP and TCP)
	sendFrom    sipmsg.Addr    // the UDP socket, as sipgo's pool knows it
	contactHost string
	contactPort int

	incoming func(*IncomingCall) CallHandler // set before Run
	hook     RequestHook                     // set before Run; see requesthook.go
	calls    callTable
	stats    callStats

	// inflight tracks our inbound handlers and the calls' goroutines so
	// Run can wait for them.
	inMu     sync.Mutex
	inClosed bool
	inflight sync.WaitGroup
	runCtx   context.Context
}

// NewUA checks cfg and prepares the SIP stack; nothing listens until Run.
// inbound may be nil: then only requests to the gateway itself are served.
func NewUA(cfg Config, log *slog.Logger, inbound InboundPolicy) (*UA, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ua := &UA{
		cfg:     cfg,
		log:     log,
		policy:  inbound,
		ready:   make(chan struct{}),
		stopped: make(chan struct{}),
	}
	ua.stopCtx, ua.stopNow = context.WithCancel(context.Background())
	if err := ua.newStack(); err != nil {
		return nil, err
	}
	return ua, nil
}

// newStack builds sipgo's layers with our logger passed explicitly: sipgo
// falls back to its package-level default (or slog.Default) otherwise.
func (ua *UA) newStack() error {
	sl := newSipgoLogger(ua.log)
	tlsConf := ua.cfg.TLSConfig
	if tlsConf == nil {
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	sua, err := sipgo.NewUA(
		sipgo.WithUserAgent(ua.cfg.UserAgent),
		sipgo.WithUserAgenTLSConfig(tlsConf),
		sipgo.WithUserAgentTransportLayerOptions(
			sipmsg.WithTransportLayerLogger(sl),
			sipmsg.WithTransportLayerReadFilter(ua.dropWhenStopped),
		),
		sipgo.WithUserAgentTransactionLayerOptions(
			sipmsg.WithTransactionLayerLogger(sl),
			// Late retransmissions of responses whose transaction is over
			// are normal on UDP; sipgo's default logs each one at Info.
			sipmsg.WithTransactionLayerUnhandledResponseHandler(func(r *sipmsg.Response) {
				sl.Debug("unmatched response", "status", r.StatusCode)
			}),
		),
	)
	if err != nil {
		return fmt.Errorf("sip: new user agent: %w", err)
	}
	srv, err := sipgo.NewServer(sua, sipgo.WithServerLogger(sl))
	if err != nil {
		return fmt.Errorf("sip: new server: %w", err)
	}
	cli, err := sipgo.NewClient(sua, sipgo.WithClientLogger(sl))
	if err != nil {
		return fmt.Errorf("sip: new client: %w", err)
	}
	srv.OnNoRoute(ua.handleRequest)
	ua.sua, ua.srv, ua.cli = sua, srv, cli
	return nil
}

// Ready is closed once the listeners accept requests and outgoing requests
// can leave from the UDP listener. sipgo signals "listening" before the
// socket is usable for sending (emiago/sipgo#367); this channel does not.
func (ua *UA) Ready() <-chan struct{} { return ua.ready }

// Addr returns the listeners' IP:port once Ready is closed.
func (ua *UA) Addr() netip.AddrPort {
	select {
	case <-ua.ready:
		return ua.bound
	default:
		return netip.AddrPort{}
	}
}

// Run listens on UDP and TCP and serves until ctx is done, then closes the
// listeners and every connection and transaction, and returns once all of
// it has stopped. It returns an error if it cannot listen. Run may be
// called once.
func (ua *UA) Run(ctx context.Context) error {
	if !ua.started.CompareAndSwap(false, true) {
		return errors.New("sip: Run called twice")
	}
	ln, err := listen(ctx, ua.cfg.ListenAddr)
	if err != nil {
		ua.markStopped()
		ua.sua.Close()
		return fmt.Errorf("sip: listen on %s: %w", ua.cfg.ListenAddr, err)
	}
	ua.bound = ln.addr
	ua.sendFrom = sipmsg.Addr{IP: ln.udpLocal.IP, Port: ln.udpLocal.Port, Zone: ln.udpLocal.Zone}
	ua.contactHost, ua.contactPort = ua.contactFor(ln.addr)
	ua.runCtx = ctx

	var wg sync.WaitGroup
	wg.Go(func() { _ = ua.srv.ServeUDP(ln.udp) })
	wg.Go(func() { _ = ua.srv.ServeTCP(ln.tcp) })
	if ln.waitServing(ctx) {
		ua.log.Info("SIP listening", "addr", ln.addr.String(), "contact", hostPort(ua.contactHost, ua.contactPort))
		close(ua.ready)
	}
	<-ctx.Done()

	// Mark the UA stopped first, so requests that fail while it shuts
	// down report ErrClosed rather than a transport error, and what still
	// arrives is dropped unread.
	ua.markStopped()
	// Our own goroutines and sends end while the listeners are still
	// open: a request or response sent after a listener closed would make
	// sipgo open a fresh socket in its place, which nothing would close.
	ua.stopCalls()
	ua.waitInbound()
	ua.drainSends()
	ln.close()
	wg.Wait()
	ua.sua.Close() // terminates transactions, closes pooled connections
	ua.log.Info("SIP stopped", "addr", ln.addr.String())
	return nil
}

func (ua *UA) markStopped() {
	close(ua.stopped)
	ua.stopNow()
}

// dropWhenStopped is sipgo's read filter: once Run is stopping, incoming
// messages start no more work.
func (ua *UA) dropWhenStopped(_ sipmsg.TransportReadProps, data []byte) ([]byte, error) {
	select {
	case <-ua.stopped:
		return nil, nil
	default:
		return data, nil
	}
}

// isStopped reports whether Run is stopping: no request may start then.
func (ua *UA) isStopped() bool {
	select {
	case <-ua.stopped:
		return true
	default:
		return false
	}
}

// contactFor derives the Contact/Via host and port from the configuration
// and the bound address.
func (ua *UA) contactFor(bound netip.AddrPort) (string, int) {
	host, port := bound.Addr().String(), int(bound.Port())
	if ua.cfg.ContactHost != "" {
		h, p, _ := splitHostPort(ua.cfg.ContactHost) // checked in withDefaults
		host = h
		if p != 0 {
			port = p
		}
	}
	return host, port
}

// waitReady blocks until the listeners are usable.
func (ua *UA) waitReady(ctx context.Context) error {
	select {
	case <-ua.ready:
	case <-ua.stopped:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ua.stopped:
		return ErrClosed
	default:
		return nil
	}
}
