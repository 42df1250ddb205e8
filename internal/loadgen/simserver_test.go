package loadgen

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/xmpp"
)

// linkGateway answers the simulated server as the gateway does, on a real
// xmpp.Link: a registration is accepted and followed by the gateway's
// subscription request; a user's available presence (with caps) is
// answered by a disco#info query to the device and, as after the
// REGISTER's 200, by the gateway's own available presence.
type linkGateway struct {
	t    *testing.T
	link *xmpp.Link
	mu   sync.Mutex
	seen []string // what arrived, "kind/type from"
	disc chan *stanza.Stanza
}

func (g *linkGateway) HandleStanza(ctx context.Context, s *stanza.Stanza) {
	g.mu.Lock()
	g.seen = append(g.seen, string(s.Kind())+"/"+s.Type+" "+s.From)
	g.mu.Unlock()
	send := func(st *stanza.Stanza, err error) {
		if err == nil {
			err = g.link.Send(ctx, st)
		}
		if err != nil {
			g.t.Errorf("fake gateway send: %v", err)
		}
	}
	switch {
	case s.Kind() == stanza.KindIQ && s.Type == "set":
		if !strings.Contains(string(s.Payload), "b000001@sip.example.org") || !strings.Contains(string(s.Payload), "sip-registrar") {
			g.t.Errorf("register form: %s", s.Payload)
		}
		send(stanza.Result(s))
		send(stanza.New(stanza.KindPresence, "subscribe", "sip.example.test", bareOf(s.From), ""))
	case s.Kind() == stanza.KindPresence && s.Type == "" && strings.HasSuffix(s.From, "/bench"):
		if !strings.Contains(string(s.Payload), capsVer) {
			g.t.Errorf("presence without caps: %s", s.Payload)
		}
		from := s.From
		go func() {
			iq, _ := stanza.New(stanza.KindIQ, "get", "sip.example.test", from, "", []byte(`<query xmlns='`+nsDiscoInfo+`'/>`))
			res, err := g.link.SendIQ(ctx, iq)
			if err != nil {
				g.t.Errorf("disco#info: %v", err)
			}
			g.disc <- res
			send(stanza.New(stanza.KindPresence, "", "sip.example.test", bareOf(from), ""))
		}()
	}
}

func TestSimulatedServer(t *testing.T) {
	cfg := Config{Users: 3, Registrar: "127.0.0.1:5060", ComponentListen: "127.0.0.1:0", ComponentSecret: "s3cret",
		LoginRate: 100}.withDefaults()
	comp, err := listenComponent(cfg.ComponentListen, cfg.Component, cfg.ComponentSecret)
	if err != nil {
		t.Fatal(err)
	}
	defer comp.close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	g := &linkGateway{t: t, disc: make(chan *stanza.Stanza, 1)}
	link, err := xmpp.NewLink(xmpp.Config{Addr: comp.addr(), Domain: cfg.Component, Secret: cfg.ComponentSecret,
		BackoffMin: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond}, g, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	g.link = link
	lctx, stopLink := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = link.Run(lctx) })
	defer func() { stopLink(); wg.Wait() }()

	if err := comp.accept(ctx); err != nil {
		t.Fatalf("accept: %v", err)
	}
	sim := newSimServer(cfg, comp)
	go func() { _ = comp.readLoop(sim.handle) }()

	r := &runner{cfg: cfg}
	d, err := r.simBringUp(ctx, sim, sim.users[1])
	if err != nil {
		t.Fatalf("bring up: %v", err)
	}
	if d <= 0 || d > 10*time.Second {
		t.Errorf("latency %v", d)
	}
	res := <-g.disc
	if res == nil || !strings.Contains(string(res.Payload), nsRawUDPFeature()) {
		t.Errorf("disco#info answer: %v", res)
	}
	// The server's own JID answers a ping, and an unknown request to a
	// user gets an error rather than silence.
	ping, _ := stanza.New(stanza.KindIQ, "get", cfg.Component, cfg.XMPPDomain, "", []byte(`<ping xmlns='urn:xmpp:ping'/>`))
	if _, err := link.SendIQ(ctx, ping); err != nil {
		t.Errorf("ping: %v", err)
	}
	odd, _ := stanza.New(stanza.KindIQ, "get", cfg.Component, "b000002@example.test/bench", "", []byte(`<query xmlns='urn:x:unknown'/>`))
	if _, err := link.SendIQ(ctx, odd); err == nil || !strings.Contains(err.Error(), "service-unavailable") {
		t.Errorf("unknown iq: %v", err)
	}
	g.mu.Lock()
	seen := strings.Join(g.seen, "; ")
	g.mu.Unlock()
	for _, want := range []string{"iq/set b000001@example.test/bench", "presence/subscribed b000001@example.test", "presence/subscribe b000001@example.test"} {
		if !strings.Contains(seen, want) {
			t.Errorf("gateway saw %s; want %q", seen, want)
		}
	}
}

func TestSimulatedServerWrongSecret(t *testing.T) {
	comp, err := listenComponent("127.0.0.1:0", "sip.example.test", "right")
	if err != nil {
		t.Fatal(err)
	}
	defer comp.close()
	link, err := xmpp.NewLink(xmpp.Config{Addr: comp.addr(), Domain: "sip.example.test", Secret: "wrong",
		BackoffMin: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond}, xmpp.HandlerFunc(func(context.Context, *stanza.Stanza) {}), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { _ = link.Run(ctx) })
	defer wg.Wait()
	if err := comp.accept(ctx); err == nil {
		t.Fatal("a component with the wrong secret was accepted")
	}
	if link.Connected() {
		t.Error("link thinks it is connected")
	}
}

func nsRawUDPFeature() string { return features[len(features)-1] }
