package media

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"fargo.dev/fargo/internal/media/iceleg"
)

// iceClient is an XMPP client's ICE + DTLS-SRTP transport, played by an
// iceleg.Leg of its own (its own certificate), with a reader goroutine.
type iceClient struct {
	leg     *iceleg.Leg
	packets chan readPacket
}

type readPacket struct {
	pkt  []byte
	rtcp bool
}

func newICEClient(t *testing.T, controlling bool) *iceClient {
	t.Helper()
	cert, err := iceleg.NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	leg, err := iceleg.New(iceleg.Config{
		Conn:             conn,
		Announce:         loopback,
		Certificate:      cert,
		Controlling:      controlling,
		HandshakeTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &iceClient{leg: leg, packets: make(chan readPacket, 256)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, rtcp, err := leg.ReadPacket(buf)
			if err != nil {
				return
			}
			select {
			case c.packets <- readPacket{bytes.Clone(buf[:n]), rtcp}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = leg.Close()
		<-done
	})
	return c
}

// offer runs the Jingle exchange with the client as initiator
// (controlling, actpass) and the relay's leg answering; fp replaces the
// client's fingerprint as the relay is told it (zero: the real one).
func (c *iceClient) offer(t *testing.T, relayLeg *ICELeg, fp iceleg.Fingerprint) {
	t.Helper()
	if fp == (iceleg.Fingerprint{}) {
		fp = c.leg.Fingerprint()
	}
	offerSetup := c.leg.LocalSetup("")
	if offerSetup != iceleg.SetupActpass {
		t.Fatalf("offerer's setup %q", offerSetup)
	}
	answerSetup := relayLeg.LocalSetup(offerSetup)
	cu, cp := c.leg.Credentials()
	if err := relayLeg.SetRemote(RemoteICE{Ufrag: cu, Pwd: cp, Fingerprint: fp, Setup: offerSetup}); err != nil {
		t.Fatal(err)
	}
	for _, cand := range c.leg.Candidates() {
		if err := relayLeg.AddRemoteCandidate(cand); err != nil {
			t.Fatal(err)
		}
	}
	ru, rp := relayLeg.Credentials()
	if err := c.leg.SetRemote(RemoteICE{Ufrag: ru, Pwd: rp, Fingerprint: relayLeg.Fingerprint(), Setup: answerSetup}); err != nil {
		t.Fatal(err)
	}
	cands := relayLeg.Candidates()
	if len(cands) != 1 || cands[0].Addr.Addr() != loopback {
		t.Fatalf("relay candidates %+v: want one host candidate on XMPPAddr", cands)
	}
	for _, cand := range cands {
		if err := c.leg.AddRemoteCandidate(cand); err != nil {
			t.Fatal(err)
		}
	}
}

// next returns the next packet the client decrypted.
func (c *iceClient) next(t *testing.T) readPacket {
	t.Helper()
	select {
	case p := <-c.packets:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("client received nothing")
		return readPacket{}
	}
}

func TestICELegSessionBothWays(t *testing.T) {
	r, _ := newTestRelay(t, testConfig(28000, 28099))
	s := newTestSession(t, r)
	s.SetCodecs(sipCodecs, xmppCodecs)
	ph := newPhone(t)
	s.SIP().SetRemote(ph.rtp.addr(), netip0)

	leg, err := s.XMPPICE(false)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := s.XMPPICE(true); err != nil || again != leg {
		t.Fatalf("second XMPPICE: %p %v, want the same leg", again, err)
	}
	if _, err := s.XMPPRaw(); !errors.Is(err, ErrBadInput) {
		t.Fatalf("XMPPRaw after XMPPICE: %v", err)
	}
	// One certificate per process: every ICE leg presents it.
	s2 := newTestSession(t, r)
	leg2, err := s2.XMPPICE(true)
	if err != nil {
		t.Fatal(err)
	}
	if fp := leg.Fingerprint(); fp.Value == "" || fp != leg2.Fingerprint() {
		t.Fatalf("fingerprints %v and %v: want the relay's one", fp, leg2.Fingerprint())
	}
	s2.Close()
	client := newICEClient(t, true)
	client.offer(t, leg, iceleg.Fingerprint{})

	select {
	case <-client.leg.Ready():
	case <-time.After(15 * time.Second):
		t.Fatal("client not ready")
	}
	// Our side may finish the handshake a moment after the client: until
	// then SIP media toward XMPP is dropped, so retry the first packet.
	seq := uint16(1)
	for ; ; seq++ {
		ph.rtp.send(s.SIP().Local(), rtpPacket(101, true, seq, 0x51))
		select {
		case p := <-client.packets:
			if p.rtcp || !bytes.Equal(p.pkt, rtpPacket(126, true, seq, 0x51)) {
				t.Fatalf("first packet: %+v", p)
			}
		case <-time.After(50 * time.Millisecond):
			if seq > 100 {
				t.Fatal("no media through the ICE leg")
			}
			continue
		}
		break
	}

	// A call's worth of packets each way.
	for i := range 50 {
		seq++
		ph.rtp.send(s.SIP().Local(), g711Packet(0, seq, 0x51))
		if p := client.next(t); p.rtcp || !bytes.Equal(p.pkt, g711Packet(0, seq, 0x51)) {
			t.Fatalf("SIP→XMPP %d: % x", seq, p.pkt)
		}
		if err := client.leg.WriteRTP(rtpPacket(126, i == 0, seq, 0xc1)); err != nil {
			t.Fatal(err)
		}
		if got := ph.rtp.expect(); !bytes.Equal(got, rtpPacket(101, i == 0, seq, 0xc1)) {
			t.Fatalf("XMPP→SIP %d: % x", seq, got)
		}
	}

	// RTCP: from the SIP side's port+1 into the muxed leg, and back out on
	// the SIP side's RTCP socket.
	rr := rtcpRR(0x51)
	ph.rtcp.send(rtcpAt(s.SIP().Local()), rr)
	if p := client.next(t); !p.rtcp || !bytes.Equal(p.pkt, rr) {
		t.Fatalf("RTCP SIP→XMPP: %+v", p)
	}
	if err := client.leg.WriteRTCP(rtcpRR(0xc1)); err != nil {
		t.Fatal(err)
	}
	if got := ph.rtcp.expect(); !bytes.Equal(got, rtcpRR(0xc1)) {
		t.Fatalf("RTCP XMPP→SIP: % x", got)
	}

	st := r.Stats()
	if st.Lost != 0 || st.DTLSFailures != 0 || st.Packets < 102 {
		t.Fatalf("stats %+v", st)
	}
	s.Close()
	if !errors.Is(s.Err(), ErrClosed) || r.ports.inUse() != 0 {
		t.Fatalf("after Close: %v, %d ports", s.Err(), r.ports.inUse())
	}
}

func TestICEWrongFingerprintEndsTheSession(t *testing.T) {
	cfg := testConfig(28000, 28099)
	cfg.HandshakeTimeout = 5 * time.Second
	r, _ := newTestRelay(t, cfg)
	s := newTestSession(t, r)
	leg, err := s.XMPPICE(false)
	if err != nil {
		t.Fatal(err)
	}
	other, err := iceleg.NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	client := newICEClient(t, true)
	client.offer(t, leg, other.Fingerprint()) // not the client's certificate
	waitDone(t, s, 10*time.Second)
	if !errors.Is(s.Err(), ErrDTLS) || !errors.Is(s.Err(), iceleg.ErrHandshake) {
		t.Fatalf("Err %v, want ErrDTLS wrapping iceleg.ErrHandshake", s.Err())
	}
	if st := r.Stats(); st.DTLSFailures != 1 || st.SessionsActive != 0 || st.IdleTimeouts != 0 {
		t.Fatalf("stats %+v", st)
	}
	if n := r.ports.inUse(); n != 0 {
		t.Fatalf("%d ports in use", n)
	}
}

func TestICEHandshakeTimeoutEndsTheSession(t *testing.T) {
	cfg := testConfig(28000, 28099)
	cfg.HandshakeTimeout = 300 * time.Millisecond
	r, _ := newTestRelay(t, cfg)
	s := newTestSession(t, r)
	leg, err := s.XMPPICE(true)
	if err != nil {
		t.Fatal(err)
	}
	// SIP media before the handshake is dropped, not sent in clear.
	ph := newEndpoint(t)
	ph.send(s.SIP().Local(), rtpPacket(0, false, 1, 1))
	waitFor(t, "a drop", func() bool { return r.Stats().Dropped == 1 })

	// A client that signalled and then vanished: nobody answers checks.
	silent := newEndpoint(t)
	if err := leg.SetRemote(RemoteICE{Ufrag: "abcd", Pwd: "0123456789abcdefghijkl", Fingerprint: leg.Fingerprint(), Setup: iceleg.SetupActpass}); err != nil {
		t.Fatal(err)
	}
	if err := leg.AddRemoteCandidate(Candidate{Foundation: "1", Component: 1, Addr: silent.addr(), Priority: 2130706431, Type: "host"}); err != nil {
		t.Fatal(err)
	}
	waitDone(t, s, 10*time.Second)
	if !errors.Is(s.Err(), ErrDTLS) {
		t.Fatalf("Err %v, want ErrDTLS", s.Err())
	}
	if st := r.Stats(); st.DTLSFailures != 1 {
		t.Fatalf("stats %+v", st)
	}
}
