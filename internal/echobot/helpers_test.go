package echobot

import (
	"context"
	"encoding/xml"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/leakcheck"
	"fargo.dev/fargo/internal/media"
	"fargo.dev/fargo/internal/mediapath"
	"fargo.dev/fargo/internal/stanza"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m, 10*time.Second)) }

const (
	botJID   = "echo@example.net/bot"
	alice    = "alice@example.org/phone"
	aliceBar = "alice@example.org"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// fakeSender records what the bot sends; SendIQ answers with answer (a
// plain result when nil).
type fakeSender struct {
	out chan *stanza.Stanza

	mu     sync.Mutex
	answer func(iq *stanza.Stanza) *stanza.Stanza
}

func (f *fakeSender) Send(_ context.Context, s *stanza.Stanza) error {
	f.out <- s
	return nil
}

func (f *fakeSender) SendIQ(_ context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	f.out <- iq
	f.mu.Lock()
	answer := f.answer
	f.mu.Unlock()
	if answer != nil {
		return answer(iq), nil
	}
	return &stanza.Stanza{XMLName: xml.Name{Local: "iq"}, Type: "result", ID: iq.ID, From: iq.To}, nil
}

func (f *fakeSender) JID() string { return botJID }

type harness struct {
	t   *testing.T
	bot *Bot
	out *fakeSender
}

// newBot runs a bot on a loopback relay in this package's ports
// (25600–25799); cfg's zero fields take test-friendly values.
func newBot(t *testing.T, cfg Config) *harness {
	t.Helper()
	r, err := media.NewRelay(media.Config{
		BindAddr: loopback, SIPAddr: loopback, XMPPAddr: loopback,
		PortMin: 25600, PortMax: 25799, MaxSessions: 20,
		IdleTimeout: time.Minute, HandshakeTimeout: time.Minute,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	cfg.Relay = mediapath.New(r, nil)
	out := &fakeSender{out: make(chan *stanza.Stanza, 256)}
	b, err := New(cfg, out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.Close(ctx)
	})
	return &harness{t: t, bot: b, out: out}
}

// in hands the bot a stanza parsed from raw XML.
func (h *harness) in(raw string) {
	h.t.Helper()
	var s stanza.Stanza
	if err := xml.Unmarshal([]byte(raw), &s); err != nil {
		h.t.Fatalf("bad test stanza %s: %v", raw, err)
	}
	h.bot.HandleStanza(context.Background(), &s)
}

// expect returns the next sent stanza that matches, skipping others.
func (h *harness) expect(what string, match func(*stanza.Stanza) bool) *stanza.Stanza {
	h.t.Helper()
	var skipped []string
	deadline := time.After(5 * time.Second)
	for {
		select {
		case s := <-h.out.out:
			if match(s) {
				return s
			}
			b, _ := s.Marshal()
			skipped = append(skipped, string(b))
		case <-deadline:
			h.t.Fatalf("no %s sent; got instead:\n%s", what, strings.Join(skipped, "\n"))
			return nil
		}
	}
}

// quiet checks that nothing is sent for d.
func (h *harness) quiet(d time.Duration) {
	h.t.Helper()
	select {
	case s := <-h.out.out:
		b, _ := s.Marshal()
		h.t.Fatalf("unexpected stanza %s", b)
	case <-time.After(d):
	}
}

func has(s *stanza.Stanza, sub string) bool { return strings.Contains(string(s.Payload), sub) }

func iqTo(typ, id string) func(*stanza.Stanza) bool {
	return func(s *stanza.Stanza) bool { return s.Kind() == stanza.KindIQ && s.Type == typ && s.ID == id }
}

// jingleSet matches a Jingle iq set of action.
func jingleSet(action jingle.Action) func(*stanza.Stanza) bool {
	return func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindIQ && s.Type == "set" && has(s, `action="`+string(action)+`"`)
	}
}

func decodeJingle(t *testing.T, s *stanza.Stanza) *jingle.Jingle {
	t.Helper()
	var j jingle.Jingle
	if ok, err := s.Decode(jingle.NS, "jingle", &j); !ok || err != nil {
		t.Fatalf("no jingle in %s: %v", s.Payload, err)
	}
	return &j
}

// jingleIQ is a Jingle iq set from alice carrying j.
func jingleIQ(t *testing.T, id string, j *jingle.Jingle) string {
	t.Helper()
	b, err := xml.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`<iq type="set" id="%s" from="%s" to="%s">%s</iq>`, id, alice, botJID, b)
}

func udp(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var (
	pcmu    = jingle.PayloadType{ID: 0, Name: "PCMU", Clockrate: 8000}
	opus    = jingle.PayloadType{ID: 111, Name: "opus", Clockrate: 48000, Channels: 2}
	dtmf101 = jingle.PayloadType{ID: 101, Name: "telephone-event", Clockrate: 8000}
)

func rawTransport(ap netip.AddrPort) *jingle.Transport {
	t := jingle.NewTransport(jingle.NSRawUDP)
	t.Candidates = []jingle.Candidate{{Component: 1, ID: "c1", IP: ap.Addr().String(), Port: ap.Port(), Generation: 0, Type: "host"}}
	return t
}

// iceTransport is a Conversations-like transport: credentials and a
// fingerprint, no candidates (they trickle).
func iceTransport() *jingle.Transport {
	t := jingle.NewTransport(jingle.NSICEUDP)
	t.Ufrag, t.Pwd = "Abcd", "0123456789abcdefghijkl"
	t.Fingerprints = []jingle.Fingerprint{{Hash: "sha-256", Setup: "actpass",
		Value: "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"}}
	return t
}

func content(name, medium string, t *jingle.Transport, pts ...jingle.PayloadType) jingle.Content {
	d := jingle.NewDescription(medium)
	d.PayloadTypes = pts
	return jingle.Content{Creator: jingle.RoleInitiator, Name: name, Senders: jingle.SendersBoth, Description: d, Transport: t}
}

func initiate(sid string, cts ...jingle.Content) *jingle.Jingle {
	return &jingle.Jingle{Action: jingle.ActionSessionInitiate, SID: sid, Initiator: alice, Contents: cts}
}

// waitActive waits for the bot's count of calls to reach n.
func (h *harness) waitActive(n int) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.bot.Stats().CallsActive != n {
		if time.Now().After(deadline) {
			h.t.Fatalf("%d calls active, want %d", h.bot.Stats().CallsActive, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
