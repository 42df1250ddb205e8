package gateway

import (
	"context"
	"encoding/xml"
	"fmt"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"fargo.dev/fargo/internal/leakcheck"
	"fargo.dev/fargo/internal/stanza"
)

// discardSender counts and drops what the gateway sends.
type discardSender struct{ n chan struct{} }

func (d discardSender) Send(context.Context, *stanza.Stanza) error {
	if d.n != nil {
		d.n <- struct{}{}
	}
	return nil
}

func parse(b *testing.B, raw string) *stanza.Stanza {
	var s stanza.Stanza
	if err := xml.Unmarshal([]byte(raw), &s); err != nil {
		b.Fatal(err)
	}
	return &s
}

// BenchmarkDiscoInfo is the cost of answering one disco#info on the read
// loop (decode of the payload, encode of the answer), without the link.
func BenchmarkDiscoInfo(b *testing.B) {
	g := New(Config{Domain: gwDomain}, discardSender{}, &fakeSIP{}, newMemStore(), slog.New(slog.DiscardHandler))
	s := parse(b, `<iq type="get" id="d1" from="alice@example.test/phone" to="sip.example.test"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		g.HandleStanza(ctx, s)
	}
}

// BenchmarkLoginLogout is one user's presence-driven SIP login and logout
// through the actor (fake SIP that answers at once): the gateway-side cost
// of a login, the figure the 2010 gateway managed twice a second.
func BenchmarkLoginLogout(b *testing.B) {
	const users = 1000
	sent := make(chan struct{}, 1024)
	st := newMemStore()
	sip := &fakeSIP{password: map[string]string{}}
	g := New(Config{Domain: gwDomain, PresenceGrace: time.Hour}, discardSender{n: sent}, sip, st, slog.New(slog.DiscardHandler))
	go func() {
		for range sent {
		}
	}()
	online := make([]*stanza.Stanza, users)
	offline := make([]*stanza.Stanza, users)
	for i := range users {
		aor := fmt.Sprintf("u%d@sip.example.org", i)
		sip.password[aor] = "pw"
		j := fmt.Sprintf("u%d@example.test", i)
		if err := st.PutAccount(context.Background(), testAccount(j, aor)); err != nil {
			b.Fatal(err)
		}
		online[i] = parse(b, `<presence from="`+j+`/r" to="sip.example.test"/>`)
		offline[i] = parse(b, `<presence type="unavailable" from="`+j+`/r" to="sip.example.test"/>`)
	}
	if err := g.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// Leave the start-up resync so logins are ordinary ones.
	for i := range users {
		g.HandleStanza(ctx, online[i])
		g.HandleStanza(ctx, offline[i])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		g.HandleStanza(ctx, online[i%users])
		g.HandleStanza(ctx, offline[i%users])
		i++
	}
	// The actors work asynchronously: the measurement ends when every
	// posted login and logout has run.
	for _, u := range g.allUsers() {
		done := make(chan struct{})
		u.post(func() { close(done) })
		<-done
	}
	b.StopTimer()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	g.Shutdown(sctx)
	close(sent)
}

// BenchmarkIdleUserMemory loads registered, offline users the way a
// restart does and reports the heap each one keeps (its actor, account and
// grace timer) once the start-up work is done.
func BenchmarkIdleUserMemory(b *testing.B) {
	const users = 20000
	st := newMemStore()
	for i := range users {
		j := fmt.Sprintf("u%d@example.test", i)
		if err := st.PutAccount(context.Background(), testAccount(j, fmt.Sprintf("u%d@sip.example.org", i))); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		before := liveHeap()
		g := New(Config{Domain: gwDomain, PresenceGrace: time.Hour}, discardSender{}, &fakeSIP{}, st, slog.New(slog.DiscardHandler))
		if err := g.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		for _, u := range g.allUsers() {
			done := make(chan struct{})
			u.post(func() { close(done) })
			<-done
		}
		// Idle means after the mailboxes' linger: their goroutines exit.
		time.Sleep(mailboxLinger + 200*time.Millisecond)
		b.ReportMetric(float64(liveHeap()-before)/users, "B/user")
		b.ReportMetric(float64(leakcheck.Count()), "goroutines")
		g.Shutdown(context.Background())
	}
}

// liveHeap is the heap still reachable after a collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
