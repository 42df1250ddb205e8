package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"fargo.dev/fargo/internal/config"
	"fargo.dev/fargo/internal/echobot"
	"fargo.dev/fargo/internal/media"
	"fargo.dev/fargo/internal/mediapath"
	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/xmpp"
)

// echoShutdown bounds how long the calls get to be told at shutdown.
const echoShutdown = 5 * time.Second

// echoOptions are the flags of `fargo echo`, checked.
type echoOptions struct {
	login            xmpp.ClientLogin
	server           string
	bind, announce   netip.Addr
	portMin, portMax uint16
	maxCalls         int
	maxCallDuration  time.Duration
	level            slog.Level
}

// echoXMPP runs the XMPP echo bot until SIGINT or SIGTERM, or until the
// server refuses its password.
func echoXMPP(args []string, stderr io.Writer) int {
	opts, code, err := parseEchoFlags(args, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "fargo echo: %v\n", err)
		return code
	}
	log := newLogger(config.Log{Level: opts.level.String()}, stderr)
	slog.SetDefault(log)
	ctx, stop := signalContext(log)
	defer stop()
	if err := runEchoBot(ctx, opts, log); err != nil {
		log.Error("fargo echo failed", "err", err)
		return 1
	}
	return 0
}

// parseEchoFlags reads and checks the flags and the password file; the
// int is the exit code for an error (2 for usage, 1 otherwise).
func parseEchoFlags(args []string, stderr io.Writer) (echoOptions, int, error) {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jid := fs.String("jid", "", "the bot's account, user@domain[/resource] (required)")
	passFile := fs.String("password-file", "", "file holding the account's password (required; never a flag: flags show in ps)")
	server := fs.String("server", "", "server host:port (default: the JID domain's SRV records, then port 5222)")
	tlsPolicy := fs.String("tls", "required", "STARTTLS: required, optional or disabled")
	resource := fs.String("resource", "echo", "resource to request when --jid has none")
	bind := fs.String("media-bind", "0.0.0.0", "IP address the media sockets bind to")
	announce := fs.String("announce", "", "IP address put in the calls' candidates (default: --media-bind; required when that is a wildcard)")
	portMin := fs.Uint("port-min", 50000, "lowest UDP media port")
	portMax := fs.Uint("port-max", 50999, "highest UDP media port (about 4 ports per call)")
	maxCalls := fs.Int("max-calls", echobot.DefaultMaxCalls, "concurrent calls; beyond, callers are told busy")
	maxDur := fs.Duration("max-call-duration", echobot.DefaultMaxCallDuration, "end calls after this long")
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return echoOptions{}, 2, errors.New("bad flags")
	}
	if fs.NArg() > 0 {
		return echoOptions{}, 2, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var o echoOptions
	var errs []error
	bad := func(err error) { errs = append(errs, err) }
	if err := o.level.UnmarshalText([]byte(*level)); err != nil {
		return o, 2, fmt.Errorf("--log-level: %w", err)
	}
	switch {
	case *jid == "":
		bad(errors.New("--jid is required"))
	case !strings.Contains(*jid, "@"):
		bad(fmt.Errorf("--jid %q: want user@domain", *jid))
	case !strings.Contains(*jid, "/") && *resource != "":
		*jid += "/" + *resource
	}
	o.login.JID = *jid
	var err error
	if o.login.TLS, err = parseTLSPolicy(*tlsPolicy); err != nil {
		bad(err)
	}
	if *server != "" {
		if _, _, err := net.SplitHostPort(*server); err != nil {
			bad(fmt.Errorf("--server %q: want host:port", *server))
		}
	}
	o.server = *server
	o.bind, o.announce = parseMediaAddrs(*bind, *announce, bad)
	if *portMin < 1024 || *portMax > 65535 || *portMin+3 > *portMax {
		bad(fmt.Errorf("--port-min..--port-max %d..%d: want a range of at least 4 ports within 1024..65535", *portMin, *portMax))
	}
	o.portMin, o.portMax = uint16(*portMin), uint16(*portMax)
	if *maxCalls < 1 {
		bad(fmt.Errorf("--max-calls %d: want at least 1", *maxCalls))
	}
	if *maxDur <= 0 {
		bad(fmt.Errorf("--max-call-duration %v: want a positive duration", *maxDur))
	}
	o.maxCalls, o.maxCallDuration = *maxCalls, *maxDur
	if *passFile == "" {
		bad(errors.New("--password-file is required"))
	} else if o.login.Password, err = readPassword(*passFile); err != nil {
		bad(err)
	}
	if err := errors.Join(errs...); err != nil {
		return o, 1, err
	}
	return o, 0, nil
}

func parseTLSPolicy(s string) (xmpp.TLSPolicy, error) {
	for _, p := range []xmpp.TLSPolicy{xmpp.TLSRequired, xmpp.TLSOptional, xmpp.TLSDisabled} {
		if s == p.String() {
			return p, nil
		}
	}
	return 0, fmt.Errorf("--tls %q: want required, optional or disabled", s)
}

// parseMediaAddrs checks the bind and announced addresses: a wildcard
// bind cannot be put in a candidate, so it needs --announce.
func parseMediaAddrs(bind, announce string, bad func(error)) (netip.Addr, netip.Addr) {
	b, err := netip.ParseAddr(bind)
	if err != nil {
		bad(fmt.Errorf("--media-bind %q: not an IP address", bind))
		return b, b
	}
	if announce == "" {
		if b.IsUnspecified() {
			bad(fmt.Errorf("--announce is required when --media-bind (%s) is a wildcard: set the address callers send media to", bind))
		}
		return b, b
	}
	a, err := netip.ParseAddr(announce)
	if err != nil || a.IsUnspecified() {
		bad(fmt.Errorf("--announce %q: not a usable IP address", announce))
	}
	return b, a
}

// runEchoBot runs the relay, the client link and the bot until ctx ends
// (then the calls are ended before the link closes) or the password is
// refused.
func runEchoBot(ctx context.Context, o echoOptions, log *slog.Logger) error {
	relay, err := media.NewRelay(media.Config{
		BindAddr: o.bind, SIPAddr: o.announce, XMPPAddr: o.announce,
		PortMin: o.portMin, PortMax: o.portMax, MaxSessions: o.maxCalls,
	}, log)
	if err != nil {
		return fmt.Errorf("media relay: %w", err)
	}
	defer relay.Close()

	linkCtx, cancelLink := context.WithCancel(context.Background())
	defer cancelLink()
	var bot *echobot.Bot // set before the link runs
	var authErr atomic.Pointer[error]
	link, err := xmpp.NewLink(xmpp.Config{
		Client:    &o.login,
		Addr:      o.server,
		OnConnect: func(ctx context.Context) { bot.OnConnect(ctx) },
		OnConnectError: func(err error) {
			if errors.Is(err, xmpp.ErrAuthFailed) {
				authErr.Store(&err)
				cancelLink() // a wrong password stays wrong: do not retry
				return
			}
			log.Warn("cannot connect", "err", err)
		},
	}, xmpp.HandlerFunc(func(ctx context.Context, s *stanza.Stanza) { bot.HandleStanza(ctx, s) }), log)
	if err != nil {
		return err
	}
	bot, err = echobot.New(echobot.Config{
		Relay: mediapath.New(relay, log), Version: buildVersion(),
		MaxCalls: o.maxCalls, MaxCallDuration: o.maxCallDuration, Log: log,
	}, link)
	if err != nil {
		return err
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		select {
		case <-ctx.Done():
		case <-linkCtx.Done():
		}
		closeCtx, cancel := context.WithTimeout(context.Background(), echoShutdown)
		defer cancel()
		bot.Close(closeCtx) // the session-terminates go out before the stream closes
		cancelLink()
	}()
	log.Info("fargo echo starting", "jid", o.login.JID, "server", o.server, "media", o.announce)
	runErr := link.Run(linkCtx)
	cancelLink()
	<-closed
	if p := authErr.Load(); p != nil {
		return fmt.Errorf("login as %s refused, not retrying: %w", o.login.JID, *p)
	}
	return runErr
}
