package demo

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"time"

	"fargo.dev/fargo/internal/echobot"
	"fargo.dev/fargo/internal/media"
	"fargo.dev/fargo/internal/mediapath"
	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/xmpp"
)

// The XMPP echo bot (`fargo echo`) runs as an ordinary account of the
// private Prosody.
const (
	botName     = "echo"
	botResource = "echo"
	botPassword = "echo-demo-pass"
)

// botJID is the full JID alice calls: a call to a bare JID would be
// answered by the server, not by the account's client.
func botJID() string { return botName + "@" + xmppDomain + "/" + botResource }

// relayRanges splits the demo's relay ports: the lower half for the
// gateway, the upper for the echo bot (each call takes 4).
func (c Config) relayRanges() (gwMin, gwMax, botMin, botMax int) {
	mid := c.RelayMin + (c.RelayMax-c.RelayMin+1)/2
	return c.RelayMin, mid - 1, mid, c.RelayMax
}

// startEchoBot runs the echo bot in-process, as `fargo echo` would, and
// returns once it is logged in.
func startEchoBot(ctx context.Context, c Config, version string, log *slog.Logger) (*service, error) {
	log = log.With("subsystem", "echobot")
	_, _, lo, hi := c.relayRanges()
	lb := netip.MustParseAddr("127.0.0.1")
	relay, err := media.NewRelay(media.Config{BindAddr: lb, SIPAddr: lb, XMPPAddr: lb,
		PortMin: uint16(lo), PortMax: uint16(hi), MaxSessions: 4}, log)
	if err != nil {
		return nil, fmt.Errorf("echo bot media relay: %w", err)
	}
	var bot *echobot.Bot // set before the link runs
	up := make(chan struct{}, 1)
	failed := make(chan error, 1)
	link, err := xmpp.NewLink(xmpp.Config{
		Client: &xmpp.ClientLogin{JID: botJID(), Password: botPassword, TLS: xmpp.TLSDisabled},
		Addr:   "127.0.0.1:" + strconv.Itoa(c.C2SPort),
		OnConnect: func(ctx context.Context) {
			bot.OnConnect(ctx)
			select {
			case up <- struct{}{}:
			default:
			}
		},
		OnConnectError: func(err error) {
			select {
			case failed <- err:
			default:
			}
		},
	}, xmpp.HandlerFunc(func(ctx context.Context, s *stanza.Stanza) { bot.HandleStanza(ctx, s) }), log)
	if err != nil {
		relay.Close()
		return nil, err
	}
	bot, err = echobot.New(echobot.Config{Relay: mediapath.New(relay, log), Version: version, MaxCalls: 2,
		MaxCallDuration: time.Minute, Log: log}, link)
	if err != nil {
		relay.Close()
		return nil, err
	}
	run, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &service{done: make(chan error, 1)}
	s.stop = func() {
		// The bot ends its calls before the stream closes.
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		bot.Close(cctx)
		cancel()
	}
	go func() {
		err := link.Run(run)
		relay.Close()
		s.done <- err
	}()
	select {
	case <-up:
		return s, nil
	case err := <-failed:
		_ = s.halt()
		return nil, fmt.Errorf("the echo bot cannot log in: %w", err)
	case <-ctx.Done():
		_ = s.halt()
		return nil, ctx.Err()
	}
}
