package iceleg

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/leakcheck"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

func TestCandidates(t *testing.T) {
	l := newTestLeg(t, "leg", false, time.Second)
	cands := l.Candidates()
	if len(cands) != 1 {
		t.Fatalf("candidates %+v, want one", cands)
	}
	c := cands[0]
	port := l.cfg.Conn.LocalAddr().(*net.UDPAddr).Port
	if c.Addr != netip.AddrPortFrom(loopback, uint16(port)) || c.Component != 1 || c.Type != "host" ||
		c.Priority == 0 || c.Foundation == "" || c.Protocol != "udp" {
		t.Errorf("candidate %+v, want host 127.0.0.1:%d component 1 with priority and foundation", c, port)
	}
	u, p := l.Credentials()
	if len(u) < 4 || len(p) < 22 {
		t.Errorf("credentials %q/%q too short for RFC 8445", u, p)
	}
}

// TestAnnounceDiffersFromBind is the 1:1 NAT case: bound on loopback,
// announcing another address.
func TestAnnounceDiffersFromBind(t *testing.T) {
	public := netip.MustParseAddr("203.0.113.7")
	l, err := New(Config{Conn: listen(t), Announce: public, Certificate: testCert(t), Log: testLog(t, "nat")})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cands := l.Candidates()
	if len(cands) != 1 || cands[0].Addr.Addr() != public {
		t.Errorf("candidates %+v, want one at %v", cands, public)
	}
}

func TestAddRemoteCandidate(t *testing.T) {
	l := newTestLeg(t, "leg", false, time.Second)
	ok := netip.MustParseAddrPort("127.0.0.1:4000")
	for _, c := range []Candidate{
		{Component: 1, Addr: ok, Type: "host"},
		{Component: 1, Addr: ok, Type: "srflx", RelAddr: netip.MustParseAddrPort("10.0.0.1:5")},
		{Component: 2, Addr: ok, Type: "host"},                                // RTCP component: ignored
		{Component: 1, Addr: ok, Type: "host", Protocol: "tcp"},               // ICE-TCP: ignored
		{Component: 2, Addr: netip.AddrPort{}, Type: "host"},                  // ignored before validation
		{Component: 1, Addr: netip.MustParseAddrPort("[::1]:4000"), Type: ""}, // other family: harmless
	} {
		if err := l.AddRemoteCandidate(c); err != nil {
			t.Errorf("AddRemoteCandidate(%+v): %v", c, err)
		}
	}
	for _, c := range []Candidate{
		{Component: 1, Type: "host"},
		{Component: 1, Addr: netip.MustParseAddrPort("127.0.0.1:0"), Type: "host"},
		{Component: 1, Addr: netip.MustParseAddrPort("0.0.0.0:4000"), Type: "host"},
		{Component: 1, Addr: netip.MustParseAddrPort("224.0.0.1:4000"), Type: "host"},
		{Component: 1, Addr: ok, Type: "bogus"},
	} {
		if err := l.AddRemoteCandidate(c); !errors.Is(err, ErrBadCandidate) {
			t.Errorf("AddRemoteCandidate(%+v) = %v, want ErrBadCandidate", c, err)
		}
	}
}

func TestNewFailsCleanly(t *testing.T) {
	base := leakcheck.Count()
	conn := listen(t)
	if _, err := New(Config{Conn: conn, Announce: loopback}); err == nil {
		t.Fatal("New without certificate succeeded")
	}
	if _, err := conn.WriteToUDPAddrPort([]byte{0}, netip.MustParseAddrPort("127.0.0.1:9")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("socket still open after failed New: %v", err)
	}
	conn = listen(t)
	if _, err := New(Config{Conn: conn, Certificate: testCert(t)}); err == nil {
		t.Fatal("New without announced address succeeded")
	}
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without socket succeeded")
	}
	if err := leakcheck.Settle(base, 5*time.Second); err != nil {
		t.Error(err)
	}
}

func TestSetRemoteValidation(t *testing.T) {
	l := newTestLeg(t, "leg", true, time.Second)
	fp := testCert(t).Fingerprint()
	for _, r := range []RemoteICE{
		{Pwd: "pwdpwdpwdpwdpwdpwdpwdpwd", Fingerprint: fp},
		{Ufrag: "abcd", Fingerprint: fp},
		{Ufrag: "abcd", Pwd: "pwdpwdpwdpwdpwdpwdpwdpwd", Fingerprint: Fingerprint{Hash: "md5", Value: "00"}},
		{Ufrag: "abcd", Pwd: "pwdpwdpwdpwdpwdpwdpwdpwd", Fingerprint: Fingerprint{Hash: "sha-256"}},
	} {
		if err := l.SetRemote(r); err == nil {
			t.Errorf("SetRemote(%+v) accepted", r)
		}
	}
	good := RemoteICE{Ufrag: "abcd", Pwd: "pwdpwdpwdpwdpwdpwdpwdpwd", Fingerprint: fp, Setup: SetupActive}
	if err := l.SetRemote(good); err != nil {
		t.Fatal(err)
	}
	if err := l.SetRemote(good); err == nil {
		t.Error("second SetRemote accepted")
	}
}

// TestLegToLeg runs media both ways between two legs, RTP and RTCP.
func TestLegToLeg(t *testing.T) {
	a, b := connectPair(t)
	ra, _ := reader(a)
	rb, _ := reader(b)
	for seq := uint16(1); seq <= 20; seq++ {
		if err := a.WriteRTP(g711(0xa, seq)); err != nil {
			t.Fatal(err)
		}
		if err := b.WriteRTP(g711(0xb, seq+1000)); err != nil {
			t.Fatal(err)
		}
	}
	rr := func(ssrc, about uint32) []byte {
		p, err := (&rtcp.ReceiverReport{SSRC: ssrc, Reports: []rtcp.ReceptionReport{{SSRC: about}}}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := a.WriteRTCP(rr(0xa, 0xb)); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteRTCP(rr(0xb, 0xa)); err != nil {
		t.Fatal(err)
	}
	expect := func(name string, ch <-chan readResult, ssrc uint32, first uint16, from uint32) {
		t.Helper()
		next := first
		gotRTCP := false
		deadline := time.After(5 * time.Second)
		for next < first+20 || !gotRTCP {
			select {
			case r := <-ch:
				if r.err != nil {
					t.Fatalf("%s: ReadPacket: %v", name, r.err)
				}
				if r.rtcp {
					pkts, err := rtcp.Unmarshal(r.pkt)
					if err != nil {
						t.Fatalf("%s: RTCP: %v", name, err)
					}
					rep, ok := pkts[0].(*rtcp.ReceiverReport)
					if !ok || rep.SSRC != from || rep.Reports[0].SSRC != ssrc {
						t.Fatalf("%s: RTCP %v, want a receiver report from %#x", name, pkts[0], from)
					}
					gotRTCP = true
					continue
				}
				var p rtp.Packet
				if err := p.Unmarshal(r.pkt); err != nil {
					t.Fatalf("%s: RTP: %v", name, err)
				}
				if p.SSRC != from || p.SequenceNumber != next {
					t.Fatalf("%s: RTP ssrc %#x seq %d, want %#x seq %d", name, p.SSRC, p.SequenceNumber, from, next)
				}
				if err := checkG711(p.Payload, next); err != nil {
					t.Fatalf("%s: seq %d: %v", name, next, err)
				}
				next++
			case <-deadline:
				t.Fatalf("%s: got RTP up to %d (want %d) and RTCP %v", name, next, first+20, gotRTCP)
			}
		}
	}
	expect("b from a", rb, 0xb, 1, 0xa)
	expect("a from b", ra, 0xa, 1001, 0xb)
	if a.Dropped() != 0 || b.Dropped() != 0 {
		t.Errorf("dropped %d and %d packets", a.Dropped(), b.Dropped())
	}
}

func TestWriteBeforeReady(t *testing.T) {
	l := newTestLeg(t, "leg", true, time.Second)
	if err := l.WriteRTP(g711(1, 1)); err != nil {
		t.Errorf("WriteRTP before Ready: %v", err)
	}
	if err := l.WriteRTCP([]byte{0x80, 201, 0, 1, 0, 0, 0, 1}); err != nil {
		t.Errorf("WriteRTCP before Ready: %v", err)
	}
	l.Close()
	if err := l.WriteRTP(g711(1, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteRTP after Close: %v, want ErrClosed", err)
	}
}

// TestFingerprintMismatch gives one side a wrong fingerprint for the
// other, on either DTLS role: neither gets ready, both report ErrHandshake.
func TestFingerprintMismatch(t *testing.T) {
	other, err := NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	for _, wrongOnClient := range []bool{true, false} {
		name := "server rejects"
		if wrongOnClient {
			name = "client rejects"
		}
		t.Run(name, func(t *testing.T) {
			a := newTestLeg(t, "offerer", true, 3*time.Second)   // DTLS server (b answers active)
			b := newTestLeg(t, "answerer", false, 3*time.Second) // DTLS client
			fpA, fpB := a.Fingerprint(), b.Fingerprint()
			if wrongOnClient {
				fpA = other.Fingerprint() // b checks a's certificate against this
			} else {
				fpB = other.Fingerprint()
			}
			au, ap := a.Credentials()
			bu, bp := b.Credentials()
			if err := b.SetRemote(RemoteICE{Ufrag: au, Pwd: ap, Fingerprint: fpA, Setup: SetupActpass}); err != nil {
				t.Fatal(err)
			}
			if err := a.SetRemote(RemoteICE{Ufrag: bu, Pwd: bp, Fingerprint: fpB, Setup: SetupActive}); err != nil {
				t.Fatal(err)
			}
			for _, c := range a.Candidates() {
				_ = b.AddRemoteCandidate(c)
			}
			for _, c := range b.Candidates() {
				_ = a.AddRemoteCandidate(c)
			}
			checker := a
			if wrongOnClient {
				checker = b
			}
			err := readErr(t, checker, 5*time.Second)
			if !errors.Is(err, ErrHandshake) || !strings.Contains(err.Error(), "fingerprint") {
				t.Errorf("checking side: ReadPacket = %v, want ErrHandshake about the fingerprint", err)
			}
			for _, l := range []*Leg{a, b} {
				if err := readErr(t, l, 5*time.Second); !errors.Is(err, ErrHandshake) {
					t.Errorf("ReadPacket = %v, want ErrHandshake", err)
				}
				select {
				case <-l.Ready():
					t.Error("Ready closed despite the wrong fingerprint")
				default:
				}
				if err := l.WriteRTP(g711(1, 1)); !errors.Is(err, ErrHandshake) {
					t.Errorf("WriteRTP after failure = %v, want ErrHandshake", err)
				}
			}
		})
	}
}

// TestHandshakeTimeout: the remote never answers (its candidate is a
// socket nobody reads).
func TestHandshakeTimeout(t *testing.T) {
	for _, controlling := range []bool{true, false} {
		mute := listen(t)
		defer mute.Close()
		const timeout = 700 * time.Millisecond
		l := newTestLeg(t, "lonely", controlling, timeout)
		start := time.Now()
		err := l.SetRemote(RemoteICE{Ufrag: "mute", Pwd: "mutemutemutemutemutemute",
			Fingerprint: testCert(t).Fingerprint(), Setup: SetupActpass})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.AddRemoteCandidate(Candidate{Component: 1, Type: "host",
			Addr: mute.LocalAddr().(*net.UDPAddr).AddrPort()}); err != nil {
			t.Fatal(err)
		}
		err = readErr(t, l, timeout+5*time.Second)
		elapsed := time.Since(start)
		if !errors.Is(err, ErrHandshake) || !strings.Contains(err.Error(), "timed out") {
			t.Errorf("controlling=%v: ReadPacket = %v, want ErrHandshake (timed out)", controlling, err)
		}
		if elapsed < timeout-50*time.Millisecond || elapsed > timeout+time.Second {
			t.Errorf("controlling=%v: failed after %v, want about %v", controlling, elapsed, timeout)
		}
		select {
		case <-l.Ready():
			t.Error("Ready closed")
		default:
		}
	}
}

func TestCloseUnblocksReadPacket(t *testing.T) {
	blocked := func(t *testing.T, l *Leg) {
		t.Helper()
		errc := make(chan error, 1)
		go func() {
			_, _, err := l.ReadPacket(make([]byte, 1500))
			errc <- err
		}()
		time.Sleep(100 * time.Millisecond) // let ReadPacket block
		select {
		case err := <-errc:
			t.Fatalf("ReadPacket returned before Close: %v", err)
		default:
		}
		_ = l.Close()
		select {
		case err := <-errc:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("ReadPacket after Close = %v, want ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("ReadPacket still blocked 5s after Close")
		}
		if _, _, err := l.ReadPacket(make([]byte, 1500)); !errors.Is(err, ErrClosed) {
			t.Errorf("ReadPacket on a closed leg = %v, want ErrClosed", err)
		}
		if err := l.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	}
	t.Run("before SetRemote", func(t *testing.T) {
		blocked(t, newTestLeg(t, "idle", false, time.Second))
	})
	t.Run("during handshake", func(t *testing.T) {
		l := newTestLeg(t, "handshaking", true, 10*time.Second)
		if err := l.SetRemote(RemoteICE{Ufrag: "mute", Pwd: "mutemutemutemutemutemute",
			Fingerprint: testCert(t).Fingerprint(), Setup: SetupActive}); err != nil {
			t.Fatal(err)
		}
		blocked(t, l)
	})
	t.Run("during DTLS", func(t *testing.T) {
		// Both sides DTLS servers: ICE connects, DTLS waits for a
		// ClientHello that never comes.
		a := newTestLeg(t, "server-a", true, 10*time.Second)
		b := newTestLeg(t, "server-b", false, 10*time.Second)
		au, ap := a.Credentials()
		bu, bp := b.Credentials()
		if err := a.SetRemote(RemoteICE{Ufrag: bu, Pwd: bp, Fingerprint: b.Fingerprint(), Setup: SetupActive}); err != nil {
			t.Fatal(err)
		}
		if err := b.SetRemote(RemoteICE{Ufrag: au, Pwd: ap, Fingerprint: a.Fingerprint(), Setup: SetupActive}); err != nil {
			t.Fatal(err)
		}
		_ = a.AddRemoteCandidate(b.Candidates()[0])
		_ = b.AddRemoteCandidate(a.Candidates()[0])
		for _, l := range []*Leg{a, b} {
			deadline := time.Now().Add(5 * time.Second)
			for {
				l.mu.Lock()
				inDTLS := l.dtls != nil
				l.mu.Unlock()
				if inDTLS {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("ICE did not connect")
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		blocked(t, a)
		blocked(t, b)
	})
	t.Run("connected", func(t *testing.T) {
		a, b := connectPair(t)
		blocked(t, a)
		blocked(t, b)
	})
}

// TestEarlyMedia: the DTLS server is done one flight before the client,
// and sends at once; those packets reach the client while its handshake
// is finishing and must not be lost.
func TestEarlyMedia(t *testing.T) {
	for range 5 {
		a := newTestLeg(t, "offerer", true, 10*time.Second) // DTLS server
		b := newTestLeg(t, "answerer", false, 10*time.Second)
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			select {
			case <-a.Ready():
			case <-time.After(10 * time.Second):
				return
			}
			for seq := uint16(1); seq <= 5; seq++ {
				_ = a.WriteRTP(g711(0xa, seq))
			}
		}()
		au, ap := a.Credentials()
		bu, bp := b.Credentials()
		if err := b.SetRemote(RemoteICE{Ufrag: au, Pwd: ap, Fingerprint: a.Fingerprint(), Setup: SetupActpass}); err != nil {
			t.Fatal(err)
		}
		if err := a.SetRemote(RemoteICE{Ufrag: bu, Pwd: bp, Fingerprint: b.Fingerprint(), Setup: SetupActive}); err != nil {
			t.Fatal(err)
		}
		_ = b.AddRemoteCandidate(a.Candidates()[0])
		_ = a.AddRemoteCandidate(b.Candidates()[0])
		waitReady(t, b)
		<-sent
		t.Logf("%d packets arrived before the answerer's keys", len(b.early))
		buf := make([]byte, 1500)
		for seq := uint16(1); seq <= 5; seq++ {
			got := make(chan error, 1)
			go func() {
				n, _, err := b.ReadPacket(buf)
				if err == nil {
					var p rtp.Packet
					if err = p.Unmarshal(buf[:n]); err == nil && p.SequenceNumber != seq {
						err = fmt.Errorf("seq %d, want %d", p.SequenceNumber, seq)
					}
				}
				got <- err
			}()
			select {
			case err := <-got:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("packet %d lost", seq)
			}
		}
		_ = a.Close()
		_ = b.Close()
	}
}
