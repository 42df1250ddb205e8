package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"fargo.dev/fargo/internal/config"
	"fargo.dev/fargo/internal/gateway"
	"fargo.dev/fargo/internal/mediapath"
	"fargo.dev/fargo/internal/metrics"
	"fargo.dev/fargo/internal/secret"
	"fargo.dev/fargo/internal/sip"
	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/store"
	"fargo.dev/fargo/internal/store/sqlite"
	"fargo.dev/fargo/internal/xmpp"
)

// App is one running gateway instance.
type App struct {
	cfg      config.Config
	log      *slog.Logger
	version  string
	draining atomic.Bool
}

// New prepares an instance; Run starts it.
func New(cfg config.Config, log *slog.Logger, version string) *App {
	return &App{cfg: cfg, log: log, version: version}
}

// Run runs the gateway until ctx is done, then drains and stops it.
func (a *App) Run(ctx context.Context) error {
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	ua, err := sip.NewUA(a.sipConfig(), a.log.With("subsystem", "sip"), tokenPolicy{st})
	if err != nil {
		return fmt.Errorf("sip: %w", err)
	}
	// INVITEs may arrive before the gateway exists; they get 480 until then.
	var gwForCalls atomic.Pointer[gateway.Gateway]
	ua.SetIncoming(incomingHook(&gwForCalls))
	uaCtx, stopUA := context.WithCancel(context.WithoutCancel(ctx))
	defer stopUA()
	uaDone := make(chan error, 1)
	go func() { uaDone <- ua.Run(uaCtx) }()
	select {
	case <-ua.Ready():
	case err := <-uaDone:
		return fmt.Errorf("sip: %w", err)
	case <-ctx.Done():
		return nil
	}

	var gw *gateway.Gateway
	link, err := xmpp.NewLink(a.linkConfig(func(c context.Context) { gw.Connected(c) }, func(error) { gw.Disconnected() }),
		xmpp.HandlerFunc(func(c context.Context, s *stanza.Stanza) { gw.HandleStanza(c, s) }), a.log.With("subsystem", "xmpp"))
	if err != nil {
		return fmt.Errorf("xmpp: %w", err)
	}
	gw = gateway.New(a.gatewayConfig(), link, sipAdapter{ua}, st, a.log.With("subsystem", "gateway"))
	gw.EnableCalls(link, callAdapter{ua})
	relay, err := newRelay(a.cfg.Media, a.log.With("subsystem", "media"))
	if err != nil {
		return fmt.Errorf("media relay: %w", err)
	}
	if relay != nil {
		defer relay.Close()
		gw.EnableRelay(relayAdapter{mediapath.New(relay, a.log.With("subsystem", "media"))})
	}
	gwForCalls.Store(gw)
	if err := gw.Start(ctx); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}

	reg := metrics.New(link.Stats, gw.Stats, relayStats(relay))
	httpSrv, err := a.startHTTP(reg, link)
	if err != nil {
		return err
	}

	linkCtx, stopLink := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLink()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = link.Run(linkCtx) }()
	a.log.Info("fargo running", "domain", a.cfg.Component.Domain, "xmpp_server", a.cfg.Component.Server,
		"sip_listen", a.cfg.SIP.Listen, "http", a.cfg.HTTP.Listen, "version", a.version)

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-uaDone:
		runErr = fmt.Errorf("sip user agent stopped: %w", err)
	}
	a.drain(gw, stopLink, &wg, httpSrv)
	stopUA()
	<-uaDone
	a.log.Info("fargo stopped")
	return runErr
}

// drain stops taking work, lets the gateway tell users and stop its SIP
// loops, then closes the XMPP stream gracefully.
func (a *App) drain(gw *gateway.Gateway, stopLink context.CancelFunc, wg *sync.WaitGroup, httpSrv *http.Server) {
	a.draining.Store(true)
	a.log.Info("draining", "timeout", a.cfg.Shutdown.DrainTimeout.Duration)
	dctx, cancel := context.WithTimeout(context.Background(), a.cfg.Shutdown.DrainTimeout.Duration)
	defer cancel()
	gw.Shutdown(dctx)
	stopLink()
	wg.Wait()
	if httpSrv != nil {
		sctx, c := context.WithTimeout(context.Background(), 2*time.Second)
		defer c()
		_ = httpSrv.Shutdown(sctx)
	}
}

func (a *App) openStore(ctx context.Context) (store.Store, error) {
	dir := a.cfg.Store.DataDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	var key []byte
	var err error
	if a.cfg.Store.SecretKey != "" {
		key, err = secret.ParseKey(a.cfg.Store.SecretKey)
	} else {
		key, err = secret.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	}
	if err != nil {
		return nil, fmt.Errorf("store secret key: %w", err)
	}
	sealer, err := secret.NewSealer(key)
	if err != nil {
		return nil, fmt.Errorf("store secret key: %w", err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "fargo.db"), sealer, a.log.With("subsystem", "store"))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return st, nil
}

func (a *App) sipConfig() sip.Config {
	s := a.cfg.SIP
	return sip.Config{
		ListenAddr: s.Listen, ContactHost: s.ContactHost, UserAgent: s.UserAgent + "/" + a.version,
		RegisterExpiry: s.RegisterExpiry.Duration, RequestTimeout: s.RequestTimeout.Duration,
		RetryMin: s.RetryMin.Duration, RetryMax: s.RetryMax.Duration,
		AuthRetryMin: s.AuthRetryMin.Duration, AuthRetryMax: s.AuthRetryMax.Duration,
	}
}

func (a *App) linkConfig(onConnect func(context.Context), onDisconnect func(error)) xmpp.Config {
	c := a.cfg.Component
	return xmpp.Config{
		Addr: c.Server, Domain: c.Domain, Secret: c.Secret, ServerDomain: c.ServerDomain,
		IQTimeout: c.IQTimeout.Duration, BackoffMax: c.BackoffMax.Duration,
		OnConnect: onConnect, OnDisconnect: onDisconnect,
	}
}

func (a *App) gatewayConfig() gateway.Config {
	return gateway.Config{
		Domain: a.cfg.Component.Domain, Version: a.version,
		RegisterExpiry:       a.cfg.SIP.RegisterExpiry.Duration,
		ValidateTimeout:      a.cfg.Registration.ValidateTimeout.Duration,
		PresenceGrace:        a.cfg.Registration.PresenceGrace.Duration,
		OfflineConfirm:       a.cfg.Registration.OfflineConfirm.Duration,
		AllowedDomains:       a.cfg.Registration.AllowedDomains,
		UnregisterOnShutdown: a.cfg.Shutdown.Unregister,
		Calls: gateway.CallConfig{
			MaxPerUser: a.cfg.Calls.MaxPerUser, MaxTotal: a.cfg.Calls.MaxTotal,
			RingTimeout:    a.cfg.Calls.RingTimeout.Duration,
			ProposeTimeout: a.cfg.Calls.ProposeTimeout.Duration,
			GatherTimeout:  a.cfg.Calls.GatherTimeout.Duration,
		},
		Media: gateway.MediaPolicy{Mode: a.cfg.Media.Mode, RelayPrivate: a.cfg.Media.RelayPrivate},
	}
}

// startHTTP serves /metrics, /healthz and, if enabled, /debug/pprof/; an
// empty http.listen disables it.
func (a *App) startHTTP(reg http.Handler, link *xmpp.Link) (*http.Server, error) {
	if a.cfg.HTTP.Listen == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", a.cfg.HTTP.Listen)
	if err != nil {
		return nil, fmt.Errorf("http listener: %w", err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		a.log.Warn("the operations endpoint listens beyond loopback; protect it", "addr", ln.Addr().String())
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", reg)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		a.health(w, link)
	})
	a.mountDebug(mux)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server", "err", err)
		}
	}()
	return srv, nil
}

// health is 200 when the gateway can serve users: linked to the XMPP
// server and not draining. A load balancer takes a draining instance out.
func (a *App) health(w http.ResponseWriter, link *xmpp.Link) {
	w.Header().Set("Content-Type", "application/json")
	xmppState := "disconnected"
	if link.Connected() {
		xmppState = "connected"
	}
	status, code := "ok", http.StatusOK
	switch {
	case a.draining.Load():
		status, code = "draining", http.StatusServiceUnavailable
	case xmppState != "connected":
		status, code = "degraded", http.StatusServiceUnavailable
	}
	w.WriteHeader(code)
	fmt.Fprintf(w, "{\"status\":%q,\"xmpp\":%q,\"sip\":\"ready\"}\n", status, xmppState)
}
