package media

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"fargo.dev/fargo/internal/leakcheck"
)

func TestNewRelayValidatesAndDefaults(t *testing.T) {
	bad := map[string]func(*Config){
		"no range":         func(c *Config) { c.PortMin, c.PortMax = 0, 0 },
		"reversed range":   func(c *Config) { c.PortMin, c.PortMax = 28010, 28000 },
		"three ports":      func(c *Config) { c.PortMin, c.PortMax = 28000, 28002 },
		"no SIP address":   func(c *Config) { c.SIPAddr = netip.Addr{} },
		"no XMPP address":  func(c *Config) { c.XMPPAddr = netip.Addr{} },
		"unspecified SIP":  func(c *Config) { c.SIPAddr = netip.IPv4Unspecified() },
		"multicast XMPP":   func(c *Config) { c.XMPPAddr = netip.MustParseAddr("239.1.1.1") },
		"negative limit":   func(c *Config) { c.MaxSessions = -1 },
		"negative timeout": func(c *Config) { c.IdleTimeout = -time.Second },
	}
	for name, mutate := range bad {
		cfg := testConfig(28000, 28099)
		mutate(&cfg)
		if _, err := NewRelay(cfg, nil); !errors.Is(err, ErrBadInput) {
			t.Errorf("%s: %v, want ErrBadInput", name, err)
		}
	}

	cfg := testConfig(28000, 28003)
	cfg.BindAddr = netip.Addr{}
	r, err := NewRelay(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.cfg.BindAddr != netip.IPv4Unspecified() || r.cfg.IdleTimeout != 60*time.Second ||
		r.cfg.HandshakeTimeout != 10*time.Second || r.cfg.MaxSessions != 1000 {
		t.Fatalf("defaults not applied: %+v", r.cfg)
	}
}

func TestMaxSessions(t *testing.T) {
	cfg := testConfig(28200, 28299)
	cfg.MaxSessions = 2
	r, _ := newTestRelay(t, cfg)
	a := newTestSession(t, r)
	newTestSession(t, r)
	if _, err := r.NewSession(); !errors.Is(err, ErrLimit) {
		t.Fatalf("third session: %v, want ErrLimit", err)
	}
	st := r.Stats()
	if st.SessionsActive != 2 || st.SessionsTotal != 2 || st.SessionsRefused != 1 {
		t.Fatalf("stats %+v", st)
	}
	a.Close()
	newTestSession(t, r)
	if st := r.Stats(); st.SessionsActive != 2 || st.SessionsTotal != 3 {
		t.Fatalf("after a close: %+v", st)
	}
}

func TestPortExhaustion(t *testing.T) {
	const min, max = 28100, 28107 // 4 pairs
	r, _ := newTestRelay(t, testConfig(min, max))
	var ss []*Session
	for range 3 {
		ss = append(ss, newTestSession(t, r))
	}
	if _, err := ss[0].XMPPRaw(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.NewSession(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("session beyond the range: %v, want ErrNoPorts", err)
	}
	if _, err := ss[1].XMPPRaw(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("XMPP leg beyond the range: %v, want ErrNoPorts", err)
	}
	if st := r.Stats(); st.SessionsActive != 3 || st.SessionsTotal != 3 || st.SessionsRefused != 0 {
		t.Fatalf("a failed session left a trace: %+v", st)
	}
	if n := r.ports.inUse(); n != 8 {
		t.Fatalf("%d ports in use, want 8", n)
	}
	// The session whose XMPP leg failed still works and can retry.
	ss[0].Close()
	if _, err := ss[1].XMPPRaw(); err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		s.Close()
	}
	if n := r.ports.inUse(); n != 0 {
		t.Fatalf("%d ports still marked in use", n)
	}
	allBindable(t, min, max)
}

func TestPortTakenByAnotherProcessIsSkipped(t *testing.T) {
	const min, max = 28110, 28113
	squatter := listenEndpoint(t, 28111) // breaks the pair 28110/28111
	r, _ := newTestRelay(t, testConfig(min, max))
	s := newTestSession(t, r)
	if p := s.SIP().Local().Port(); p != 28112 {
		t.Fatalf("SIP leg on %d, want 28112", p)
	}
	if _, err := r.NewSession(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("%v, want ErrNoPorts", err)
	}
	_ = squatter.conn.Close()
	s2 := newTestSession(t, r)
	if p := s2.SIP().Local().Port(); p != 28110 {
		t.Fatalf("after the squatter left: %d, want 28110", p)
	}
}

func TestPortsRoundRobin(t *testing.T) {
	r, _ := newTestRelay(t, testConfig(28200, 28299))
	seen := map[uint16]bool{}
	for range 20 { // of 50 pairs: other processes may hold a few

		s := newTestSession(t, r)
		p := s.SIP().Local().Port()
		if seen[p] {
			t.Fatalf("port %d handed out again before the range was used up", p)
		}
		seen[p] = true
		s.Close()
	}
	// ICE legs take single ports from the same cursor.
	ps := r.ports
	c, err := ps.single()
	if err != nil {
		t.Fatal(err)
	}
	p := localPort(c)
	_ = c.Close()
	ps.release(p)
	c, err = ps.single()
	if err != nil {
		t.Fatal(err)
	}
	if localPort(c) == p {
		t.Fatal("single port reused at once")
	}
	_ = c.Close()
	ps.release(localPort(c))
}

func TestIdleTimeoutEndsTheSession(t *testing.T) {
	cfg := testConfig(28200, 28299)
	cfg.IdleTimeout = 150 * time.Millisecond
	r, logs := newTestRelay(t, cfg)
	start := time.Now()
	s := newTestSession(t, r)
	if _, err := s.XMPPRaw(); err != nil {
		t.Fatal(err)
	}
	// A ringing call has no media: no idle end before ExpectMedia.
	time.Sleep(3 * cfg.IdleTimeout)
	if s.Err() != nil {
		t.Fatalf("Err while running: %v", s.Err())
	}
	start = time.Now()
	s.ExpectMedia()
	waitDone(t, s, 5*time.Second)
	if d := time.Since(start); d < cfg.IdleTimeout {
		t.Fatalf("ended after %v, before the idle timeout", d)
	}
	if !errors.Is(s.Err(), ErrIdle) {
		t.Fatalf("Err %v, want ErrIdle", s.Err())
	}
	st := r.Stats()
	if st.IdleTimeouts != 1 || st.SessionsActive != 0 {
		t.Fatalf("stats %+v", st)
	}
	if r.ports.inUse() != 0 {
		t.Fatal("ports not released")
	}
	if !strings.Contains(logs.String(), "level=INFO msg=\"relay session ended\"") {
		t.Errorf("no Info line for an idle end:\n%s", logs)
	}
	s.Close() // after the end: returns at once
	if _, err := s.XMPPRaw(); err != nil {
		t.Fatalf("existing leg after the end: %v", err)
	}
}

func TestMediaKeepsTheSessionAlive(t *testing.T) {
	cfg := testConfig(28200, 28299)
	cfg.IdleTimeout = 200 * time.Millisecond
	r, _ := newTestRelay(t, cfg)
	s := newTestSession(t, r)
	s.ExpectMedia()
	ph := newEndpoint(t)
	// Media from one side only, even dropped for lack of a peer, is media.
	for i := range 20 {
		ph.send(s.SIP().Local(), rtpPacket(0, false, uint16(i), 1))
		time.Sleep(40 * time.Millisecond)
	}
	select {
	case <-s.Done():
		t.Fatalf("session ended while media flowed: %v", s.Err())
	default:
	}
	stopped := time.Now()
	waitDone(t, s, 5*time.Second)
	if d := time.Since(stopped); d < cfg.IdleTimeout-50*time.Millisecond {
		t.Fatalf("ended %v after the last packet", d)
	}
	if !errors.Is(s.Err(), ErrIdle) {
		t.Fatal(s.Err())
	}
}

func TestCloseAndRelayClose(t *testing.T) {
	r, _ := newTestRelay(t, testConfig(28200, 28299))
	a := newTestSession(t, r)
	a.Close()
	a.Close()
	if !errors.Is(a.Err(), ErrClosed) {
		t.Fatalf("Err %v", a.Err())
	}
	if _, err := a.XMPPRaw(); !errors.Is(err, ErrClosed) {
		t.Fatalf("XMPPRaw after Close: %v", err)
	}
	if _, err := a.XMPPICE(true); !errors.Is(err, ErrClosed) {
		t.Fatalf("XMPPICE after Close: %v", err)
	}

	b := newTestSession(t, r)
	if _, err := b.XMPPRaw(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.XMPPICE(false); !errors.Is(err, ErrBadInput) {
		t.Fatalf("XMPPICE after XMPPRaw: %v", err)
	}
	c := newTestSession(t, r)
	r.Close()
	for _, s := range []*Session{b, c} {
		select {
		case <-s.Done():
		default:
			t.Fatal("Relay.Close returned before a session ended")
		}
		if !errors.Is(s.Err(), ErrClosed) {
			t.Fatal(s.Err())
		}
	}
	if _, err := r.NewSession(); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewSession after Close: %v", err)
	}
	if st := r.Stats(); st.SessionsActive != 0 {
		t.Fatalf("stats %+v", st)
	}
	allBindable(t, 28200, 28299)
}

// TestManySessionsLeaveNothingBehind relays a few packets through 1,000
// short sessions, 8 at a time, then checks every goroutine and port is
// back.
func TestManySessionsLeaveNothingBehind(t *testing.T) {
	const min, max = 28300, 28899
	base := leakcheck.Count()
	r, _ := newTestRelay(t, testConfig(min, max))
	const sessions, workers = 1000, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		ph, client := newEndpoint(t), newEndpoint(t)
		wg.Go(func() {
			for i := w; i < sessions; i += workers {
				if err := shortCall(r, ph, client, uint16(i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := r.Stats()
	if st.SessionsTotal != sessions || st.SessionsActive != 0 || st.Packets != sessions*6 {
		t.Fatalf("stats %+v", st)
	}
	r.Close()
	if err := leakcheck.Settle(base, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	allBindable(t, min, max)
}

// shortCall relays 3 packets each way through a new session. Packets of a
// previous session that arrive late are skipped by their sequence number.
func shortCall(r *Relay, ph, client *endpoint, id uint16) error {
	s, err := r.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	raw, err := s.XMPPRaw()
	if err != nil {
		return err
	}
	s.SetCodecs(sipCodecs, xmppCodecs)
	s.SIP().SetRemote(ph.addr(), netip0)
	raw.SetRemote(client.addr(), netip0)
	for k := range 3 {
		if _, err := ph.conn.WriteToUDPAddrPort(rtpPacket(101, false, id, 1), s.SIP().Local()); err != nil {
			return err
		}
		if err := await(client, id, 126); err != nil {
			return err
		}
		if _, err := client.conn.WriteToUDPAddrPort(rtpPacket(126, k == 0, id, 2), raw.Local()); err != nil {
			return err
		}
		if err := await(ph, id, 101); err != nil {
			return err
		}
	}
	return nil
}

func await(e *endpoint, seq uint16, pt uint8) error {
	for {
		pkt, _, err := e.recv(2 * time.Second)
		if err != nil {
			return err
		}
		if len(pkt) >= 12 && uint16(pkt[2])<<8|uint16(pkt[3]) == seq {
			if pkt[1]&0x7f != pt {
				return errors.New("wrong payload type")
			}
			return nil
		}
	}
}

// TestEndWhileAddingALeg races the XMPP leg's creation with the idle end:
// whichever wins, nothing is left.
func TestEndWhileAddingALeg(t *testing.T) {
	cfg := testConfig(28200, 28299)
	cfg.IdleTimeout = time.Millisecond
	r, _ := newTestRelay(t, cfg)
	for range 50 {
		s, err := r.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		s.ExpectMedia()
		_, _ = s.XMPPRaw()
		waitDone(t, s, 5*time.Second)
	}
	if n := r.ports.inUse(); n != 0 {
		t.Fatalf("%d ports in use", n)
	}
	allBindable(t, 28200, 28299)
}
