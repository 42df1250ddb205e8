package mediapath

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/leakcheck"
	"fargo.dev/fargo/internal/media"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m, 10*time.Second)) }

var loopback = netip.MustParseAddr("127.0.0.1")

// newRelay runs a relay on 127.0.0.1 in this package's port range.
func newRelay(t *testing.T, idle time.Duration) *Relay {
	t.Helper()
	r, err := media.NewRelay(media.Config{
		BindAddr: loopback, SIPAddr: loopback, XMPPAddr: loopback,
		PortMin: 29000, PortMax: 29099, MaxSessions: 10, IdleTimeout: idle, HandshakeTimeout: 5 * time.Second,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return New(r, nil)
}

func audio(t *jingle.Transport, pts ...jingle.PayloadType) []jingle.Content {
	d := jingle.NewDescription("audio")
	d.PayloadTypes = pts
	return []jingle.Content{{Creator: jingle.RoleInitiator, Name: "audio", Senders: jingle.SendersBoth, Description: d, Transport: t}}
}

func raw(ap netip.AddrPort) *jingle.Transport {
	return rawTransport(ap)
}

var (
	pcmu    = jingle.PayloadType{ID: 0, Name: "PCMU", Clockrate: 8000}
	dtmf101 = jingle.PayloadType{ID: 101, Name: "telephone-event", Clockrate: 8000}
	dtmf126 = jingle.PayloadType{ID: 126, Name: "telephone-event", Clockrate: 8000}
)

func udp(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

func candidateAddr(t *testing.T, tr *jingle.Transport) netip.AddrPort {
	t.Helper()
	rtp, _, ok := rawAddrs(tr)
	if !ok {
		t.Fatalf("no RTP candidate in %+v", tr)
	}
	return rtp
}

// A raw-UDP user calls a plain SIP phone through the relay: each side sees
// only the relay, and packets cross with the payload type renumbered.
func TestRawUDPCallRelaysBothWays(t *testing.T) {
	r := newRelay(t, time.Minute)
	p, err := r.Open(false, func(err error) { t.Errorf("ended: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	user, phone := udp(t), udp(t)

	toSIP, err := p.ToSIP(audio(raw(addrOf(user)), pcmu, dtmf126))
	if err != nil {
		t.Fatal(err)
	}
	sipLeg := candidateAddr(t, toSIP[0].Transport)
	if sipLeg.Addr() != loopback || sipLeg.Port() < 29000 || sipLeg.Port() > 29099 {
		t.Fatalf("SIP side offered %v", sipLeg)
	}
	toXMPP, err := p.ToXMPP(audio(raw(addrOf(phone)), pcmu, dtmf101))
	if err != nil {
		t.Fatal(err)
	}
	xmppLeg := candidateAddr(t, toXMPP[0].Transport)
	if xmppLeg == sipLeg || !toXMPP[0].Transport.IsRawUDP() {
		t.Fatalf("XMPP side answered %+v", toXMPP[0].Transport)
	}

	// telephone-event 126 from the user arrives at the phone as 101.
	send(t, user, xmppLeg, 126)
	if got := recvPT(t, phone); got != 101 {
		t.Fatalf("phone got PT %d, want 101", got)
	}
	send(t, phone, sipLeg, 101)
	if got := recvPT(t, user); got != 126 {
		t.Fatalf("user got PT %d, want 126", got)
	}
}

func send(t *testing.T, from *net.UDPConn, to netip.AddrPort, pt uint8) {
	t.Helper()
	pkt := make([]byte, 12+4)
	pkt[0], pkt[1] = 0x80, pt
	if _, err := from.WriteToUDPAddrPort(pkt, to); err != nil {
		t.Fatal(err)
	}
}

func recvPT(t *testing.T, c *net.UDPConn) uint8 {
	t.Helper()
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, _, err := c.ReadFromUDPAddrPort(buf)
	if err != nil || n < 12 {
		t.Fatalf("nothing relayed: %v", err)
	}
	return buf[1] & 0x7f
}

// A Conversations-style offer (ICE + DTLS, no candidates, rtcp-mux) gets
// the relay's ICE leg in the answer, plain RTP toward SIP without what
// only WebRTC uses.
func TestICEOfferTranslation(t *testing.T) {
	r := newRelay(t, time.Minute)
	p, err := r.Open(false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tr := jingle.NewTransport(jingle.NSICEUDP)
	tr.Ufrag, tr.Pwd = "cUfr", "conversationspasswordxx"
	tr.Fingerprints = []jingle.Fingerprint{{Hash: "sha-256", Setup: "actpass", Value: "01:02:03"}}
	offer := audio(tr, jingle.PayloadType{ID: 111, Name: "opus", Clockrate: 48000, Channels: 2}, pcmu)
	offer[0].Description.RTCPMux = &jingle.Empty{}
	offer[0].Description.RTCPFB = []jingle.RTCPFB{{Type: "transport-cc"}}
	toSIP, err := p.ToSIP(offer)
	if err != nil {
		t.Fatal(err)
	}
	if d := toSIP[0].Description; d.RTCPMux != nil || d.RTCPFB != nil || !toSIP[0].Transport.IsRawUDP() {
		t.Fatalf("toward SIP: %+v %+v", d, toSIP[0].Transport)
	}
	phone := udp(t)
	toXMPP, err := p.ToXMPP(audio(raw(addrOf(phone)), pcmu))
	if err != nil {
		t.Fatal(err)
	}
	ans := toXMPP[0]
	if !ans.Transport.IsICE() || ans.Transport.Ufrag == "" || len(ans.Transport.Pwd) < 22 {
		t.Fatalf("answer transport %+v", ans.Transport)
	}
	if fp := ans.Transport.Fingerprints; len(fp) != 1 || fp[0].Setup != "active" || fp[0].Hash != "sha-256" {
		t.Fatalf("answer fingerprint %+v (the user offered actpass: we answer active)", fp)
	}
	if len(ans.Transport.Candidates) == 0 || ans.Description.RTCPMux == nil {
		t.Fatalf("answer without candidates or rtcp-mux: %+v", ans)
	}
	// Trickled candidates are taken; junk ones are skipped, not fatal.
	trickle := jingle.NewTransport(jingle.NSICEUDP)
	trickle.Candidates = []jingle.Candidate{
		{Component: 1, Foundation: "1", IP: "127.0.0.1", Port: 29999, Priority: 1, Protocol: "udp", Type: "host"},
		{Component: 1, Foundation: "2", IP: "abc.local", Port: 1, Protocol: "udp", Type: "host"},
		{Component: 1, Foundation: "3", IP: "127.0.0.1", Port: 9, Protocol: "tcp", Type: "host"},
	}
	if err := p.AddXMPPCandidates([]jingle.Content{{Name: "audio", Transport: trickle}}); err != nil {
		t.Fatal(err)
	}
}

func TestGatewayOffersICEToTheUser(t *testing.T) {
	r := newRelay(t, time.Minute)
	p, err := r.Open(true, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	phone := udp(t)
	offer, err := p.ToXMPP(audio(raw(addrOf(phone)), pcmu, dtmf101))
	if err != nil {
		t.Fatal(err)
	}
	if fp := offer[0].Transport.Fingerprints; !offer[0].Transport.IsICE() || len(fp) != 1 || fp[0].Setup != "actpass" {
		t.Fatalf("offer to the user %+v", offer[0].Transport)
	}
}

func TestIdleMediaIsReported(t *testing.T) {
	r := newRelay(t, 300*time.Millisecond)
	ended := make(chan error, 1)
	p, err := r.Open(false, func(err error) { ended <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	user, phone := udp(t), udp(t)
	if _, err := p.ToSIP(audio(raw(addrOf(user)), pcmu)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ToXMPP(audio(raw(addrOf(phone)), pcmu)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, media.ErrIdle) {
			t.Fatalf("ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("idle media not reported")
	}
}

func TestCloseReportsNothing(t *testing.T) {
	r := newRelay(t, time.Minute)
	p, err := r.Open(false, func(err error) { t.Errorf("ended after Close: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	p.Close()
}
