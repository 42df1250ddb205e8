package webrtcpeer

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"fargo.dev/fargo/internal/leakcheck"
	"fargo.dev/fargo/internal/rtpprobe"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m, 5*time.Second)) }

func withTimeout(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newPeer(t *testing.T, cfg Config) *Peer {
	t.Helper()
	p, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// trickle hands every candidate from gathers to to, as transport-infos
// would, and counts them.
type trickle struct {
	mu    sync.Mutex
	count int
	errs  []error
}

func (tr *trickle) wire(from, to *Peer) {
	from.OnLocalCandidate(func(_ context.Context, c Candidate) {
		err := to.AddRemoteCandidate(c)
		tr.mu.Lock()
		defer tr.mu.Unlock()
		tr.count++
		if err != nil {
			tr.errs = append(tr.errs, err)
		}
	})
}

func (tr *trickle) check(t *testing.T) {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.count == 0 || len(tr.errs) > 0 {
		t.Fatalf("%d candidates trickled, errors %v", tr.count, tr.errs)
	}
}

// connect runs offer and answer between a and b with trickled candidates
// and returns both SDPs.
func connect(t *testing.T, a, b *Peer) (offer, answer string) {
	t.Helper()
	var ab, ba trickle
	offer, err := a.Offer()
	if err != nil {
		t.Fatal(err)
	}
	// a's candidates reach b before b has the offer: b keeps them.
	ab.wire(a, b)
	if err := a.Gathered(withTimeout(t)); err != nil {
		t.Fatal(err)
	}
	if answer, err = b.Answer(offer); err != nil {
		t.Fatal(err)
	}
	if err := a.SetAnswer(answer); err != nil {
		t.Fatal(err)
	}
	ba.wire(b, a)
	for _, p := range []*Peer{a, b} {
		if err := p.Connected(withTimeout(t)); err != nil {
			t.Fatal(err)
		}
	}
	ab.check(t)
	ba.check(t)
	if a.RemoteCandidates() != ba.count || b.RemoteCandidates() != ab.count {
		t.Fatalf("ICE got %d and %d remote candidates, %d and %d were trickled", a.RemoteCandidates(), b.RemoteCandidates(), ba.count, ab.count)
	}
	return offer, answer
}

// exchange sends freqA from a and freqB from b at the same time and checks
// what each heard.
func exchange(t *testing.T, a, b *Peer, freqA, freqB float64) {
	t.Helper()
	errs := make(chan error, 2)
	go func() { errs <- a.SendTone(withTimeout(t), freqA, time.Second) }()
	go func() { errs <- b.SendTone(withTimeout(t), freqB, time.Second) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // the last packets are on their way
	for _, c := range []struct {
		name string
		p    *Peer
		want float64
	}{{"a hears b", a, freqB}, {"b hears a", b, freqA}} {
		pcm := c.p.Received()
		if len(pcm) < clockRate/2 {
			t.Fatalf("%s: only %d samples (%d packets)", c.name, len(pcm), c.p.Packets())
		}
		if got := rtpprobe.DominantFrequency(pcm, clockRate); math.Abs(got-c.want) > 2 {
			t.Fatalf("%s: %.1f Hz, want %.0f", c.name, got, c.want)
		}
	}
}

func TestPeerCallsPeer(t *testing.T) {
	a, b := newPeer(t, Config{}), newPeer(t, Config{})
	offer, answer := connect(t, a, b)
	for _, want := range []string{"a=setup:actpass", "a=rtcp-mux", "UDP/TLS/RTP/SAVPF 0 8 101", "a=rtpmap:101 telephone-event/8000", "a=fingerprint:sha-256 "} {
		if !strings.Contains(offer, want) {
			t.Errorf("offer lacks %q:\n%s", want, offer)
		}
	}
	for _, want := range []string{"a=setup:active", "a=rtcp-mux"} {
		if !strings.Contains(answer, want) {
			t.Errorf("answer lacks %q:\n%s", want, answer)
		}
	}
	if strings.Contains(offer+answer, "a=candidate") {
		t.Errorf("candidates in the SDP instead of trickled:\n%s\n%s", offer, answer)
	}
	exchange(t, a, b, 1000, 600)
	for _, p := range []*Peer{a, b} {
		if name, pt, ok := p.SendCodec(); !ok || name != "PCMU" || pt != 0 {
			t.Fatalf("send codec %s %d %v, want PCMU 0", name, pt, ok)
		}
	}
	a.Close()
	if err := a.Connected(withTimeout(t)); !errors.Is(err, ErrFailed) {
		t.Fatalf("Connected after Close: %v", err)
	}
	if err := a.SendTone(withTimeout(t), 1000, 40*time.Millisecond); !errors.Is(err, ErrFailed) {
		t.Fatalf("SendTone after Close: %v", err)
	}
	select {
	case <-a.Done():
	default:
		t.Fatal("Done is open after Close returned")
	}
}

// An answerer that has only PCMA makes both sides send PCMA.
func TestPeerPCMA(t *testing.T) {
	a := newPeer(t, Config{})
	b := newPeer(t, Config{Codecs: []Codec{{PT: 8, Name: "PCMA", Clock: 8000}}})
	_, answer := connect(t, a, b)
	if !strings.Contains(answer, "UDP/TLS/RTP/SAVPF 8\r\n") {
		t.Fatalf("answer:\n%s", answer)
	}
	exchange(t, a, b, 440, 1500)
	for _, p := range []*Peer{a, b} {
		if name, pt, ok := p.SendCodec(); !ok || name != "PCMA" || pt != 8 {
			t.Fatalf("send codec %s %d %v, want PCMA 8", name, pt, ok)
		}
	}
}

func TestPeerRefusals(t *testing.T) {
	p := newPeer(t, Config{})
	if err := p.AddRemoteCandidate(Candidate{Foundation: "1", Component: 1, Type: "host"}); err == nil {
		t.Error("a candidate without address was accepted")
	}
	if _, err := p.Answer("v=0\r\n"); err == nil {
		t.Error("a broken offer was answered")
	}
	if _, err := New(context.Background(), Config{Codecs: []Codec{{PT: 0, Name: "PCMU"}}}); err == nil {
		t.Error("a codec without clock rate was accepted")
	}
	// A context that ends closes the peer.
	ctx, cancel := context.WithCancel(context.Background())
	q, err := New(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := q.Connected(withTimeout(t)); !errors.Is(err, ErrFailed) {
		t.Fatalf("Connected after the context ended: %v", err)
	}
	q.Close()
}
