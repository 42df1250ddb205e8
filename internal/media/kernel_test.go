//go:build linux

package media

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

// Port range of the kernel fast path's tests.
const (
	kernelPortMin = 28700
	kernelPortMax = 28799
)

// needKernelPath skips without the privileges the fast path needs,
// except in CI, which runs as root and must exercise it.
func needKernelPath(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 && os.Getenv("CI") != "true" {
		t.Skip("the kernel fast path needs root (CAP_BPF, CAP_NET_ADMIN)")
	}
}

func kernelConfig() Config {
	cfg := testConfig(kernelPortMin, kernelPortMax)
	cfg.Kernel = KernelOn
	cfg.LearnWindow = 100 * time.Millisecond
	return cfg
}

// kernelCall is a relayed call between a phone (SIP side) and a raw-UDP
// client (XMPP side), with media flowing until both have settled and the
// call has entered the kernel.
type kernelCall struct {
	r             *Relay
	s             *Session
	phone, client *phone
	sipLeg, raw   *RTPLeg
	seq           [2]uint16 // next sequence number from the phone, the client
}

func newKernelCall(t *testing.T, cfg Config) *kernelCall {
	t.Helper()
	needKernelPath(t)
	r, _ := newTestRelay(t, cfg)
	return startKernelCall(t, r, newTestSession(t, r), newPhone(t), newPhone(t))
}

// startKernelCall adds session s's raw-UDP leg and points the legs at
// phone (SIP side) and client (XMPP side).
func startKernelCall(t *testing.T, r *Relay, s *Session, phone, client *phone) *kernelCall {
	t.Helper()
	raw, err := s.XMPPRaw()
	if err != nil {
		t.Fatal(err)
	}
	s.SIP().SetRemote(phone.rtp.addr(), netip0)
	raw.SetRemote(client.rtp.addr(), netip0)
	return &kernelCall{r: r, s: s, phone: phone, client: client, sipLeg: s.SIP(), raw: raw}
}

// exchange sends one RTP packet each way and checks both arrive intact,
// from the relay's ports.
func (c *kernelCall) exchange(t *testing.T) {
	t.Helper()
	c.oneWay(t, c.phone, c.sipLeg, c.client, c.raw, &c.seq[0], 0x1111)
	c.oneWay(t, c.client, c.raw, c.phone, c.sipLeg, &c.seq[1], 0x2222)
}

func (c *kernelCall) oneWay(t *testing.T, from *phone, in *RTPLeg, to *phone, out *RTPLeg, seq *uint16, ssrc uint32) {
	t.Helper()
	pkt := rtpPacket(0, false, *seq, ssrc)
	*seq++
	from.rtp.send(in.Local(), pkt)
	got, src, err := to.rtp.recv(2 * time.Second)
	if err != nil {
		t.Fatalf("no packet relayed to %v: %v", to.rtp.addr(), err)
	}
	if !bytes.Equal(got, pkt) {
		t.Fatalf("relayed % x, sent % x", got, pkt)
	}
	if src != out.Local() {
		t.Fatalf("relayed packet came from %v, want the relay's %v", src, out.Local())
	}
}

// settle exchanges media until the call is in the kernel and the kernel
// forwards in both directions.
func (c *kernelCall) settle(t *testing.T) {
	t.Helper()
	c.settleWith(t, 2, c.exchange)
}

// settleWith repeats exchange until the kernel forwarded n packets of one
// round.
func (c *kernelCall) settleWith(t *testing.T, n uint64, exchange func(*testing.T)) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		before := c.r.Stats().KernelPackets
		exchange(t)
		if c.r.Stats().KernelPackets >= before+n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the call never went through the kernel: %+v", c.r.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestKernelForwardsASettledCall(t *testing.T) {
	c := newKernelCall(t, kernelConfig())
	c.settle(t)
	st0 := c.r.Stats()
	if st0.KernelSessions != 1 {
		t.Fatalf("KernelSessions = %d, want 1", st0.KernelSessions)
	}
	for range 20 {
		c.exchange(t)
	}
	st := c.r.Stats()
	if got := st.KernelPackets - st0.KernelPackets; got != 40 {
		t.Fatalf("kernel forwarded %d packets of 40", got)
	}
	if got := st.Packets - st0.Packets; got != 40 {
		t.Fatalf("Packets grew by %d, want 40", got)
	}
	if got := st.Bytes - st0.Bytes; got != 40*16 {
		t.Fatalf("Bytes grew by %d, want %d", got, 40*16)
	}
	if st.Lost != 0 || st.Dropped != st0.Dropped {
		t.Fatalf("lost %d, dropped %d→%d", st.Lost, st0.Dropped, st.Dropped)
	}
	c.s.Close()
	if st := c.r.Stats(); st.KernelSessions != 0 {
		t.Fatalf("KernelSessions = %d after the call ended", st.KernelSessions)
	}
	// The entries went with the session: nothing reaches the client.
	c.phone.rtp.send(c.sipLeg.Local(), rtpPacket(0, false, 999, 0x1111))
	c.client.rtp.expectNothing(200 * time.Millisecond)
}

func TestKernelKeepsTheIdleClock(t *testing.T) {
	cfg := kernelConfig()
	cfg.IdleTimeout = 400 * time.Millisecond
	c := newKernelCall(t, cfg)
	c.s.ExpectMedia()
	c.settle(t)
	// Media only through the kernel, for longer than the idle timeout.
	until := time.Now().Add(3 * cfg.IdleTimeout)
	for time.Now().Before(until) {
		c.exchange(t)
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case <-c.s.Done():
		t.Fatalf("session ended while the kernel forwarded its media: %v", c.s.Err())
	default:
	}
	waitDone(t, c.s, 2*time.Second)
	if !errors.Is(c.s.Err(), ErrIdle) {
		t.Fatalf("ended with %v, want ErrIdle", c.s.Err())
	}
}

func TestKernelLeavesAndComesBack(t *testing.T) {
	c := newKernelCall(t, kernelConfig())
	c.settle(t)

	// Renumbering is the process's job: the call leaves the kernel.
	c.s.SetCodecs([]Codec{{PT: 0, Name: "PCMU", Clock: 8000}}, []Codec{{PT: 8, Name: "PCMU", Clock: 8000}})
	if st := c.r.Stats(); st.KernelSessions != 0 {
		t.Fatalf("KernelSessions = %d with renumbering", st.KernelSessions)
	}
	c.phone.rtp.send(c.sipLeg.Local(), rtpPacket(0, false, 500, 0x1111))
	if got := c.client.rtp.expect(); got[1] != 8 {
		t.Fatalf("payload type %d reached the client, want 8", got[1])
	}
	// Back in the kernel at the next packet, which renumbers too.
	before := c.r.Stats().KernelPackets
	for i := range 5 {
		c.phone.rtp.send(c.sipLeg.Local(), rtpPacket(0, i == 4, uint16(501+i), 0x1111))
		c.client.rtp.send(c.raw.Local(), rtpPacket(8, false, uint16(900+i), 0x2222))
		if got := c.client.rtp.expect(); got[1] != 8|byte(boolBit(i == 4))<<7 {
			t.Fatalf("packet %d reached the client with byte 1 = %#x", i, got[1])
		}
		if got := c.phone.rtp.expect(); got[1] != 0 {
			t.Fatalf("packet %d reached the phone with payload type %d, want 0", i, got[1])
		}
	}
	if got := c.r.Stats().KernelPackets - before; got < 6 {
		t.Fatalf("the kernel renumbered %d of 10 packets", got)
	}

	// Same numbers again: back into the kernel once settled.
	c.s.SetCodecs(nil, nil)
	c.settle(t)

	// A re-INVITE's new address: out, and the learning starts over.
	c.raw.SetRemote(c.client.rtp.addr(), netip0)
	if st := c.r.Stats(); st.KernelSessions != 0 {
		t.Fatalf("KernelSessions = %d after SetRemote", st.KernelSessions)
	}
	c.settle(t)
}

func TestKernelDropsStrangers(t *testing.T) {
	c := newKernelCall(t, kernelConfig())
	c.settle(t)
	before := c.r.Stats()
	stranger := newEndpoint(t)
	stranger.send(c.sipLeg.Local(), rtpPacket(0, false, 1, 0x6666))
	c.client.rtp.expectNothing(200 * time.Millisecond)
	waitFor(t, "the stranger's packet counted as dropped", func() bool { return c.r.Stats().Dropped > before.Dropped })
	c.exchange(t) // the call goes on
}

func TestKernelForwardsRTCP(t *testing.T) {
	c := newKernelCall(t, kernelConfig())
	c.settleWith(t, 4, func(t *testing.T) {
		c.exchange(t)
		c.phone.rtcp.send(rtcpAt(c.sipLeg.Local()), rtcpRR(0x1111))
		if got, _, err := c.client.rtcp.recv(2 * time.Second); err != nil || !bytes.Equal(got, rtcpRR(0x1111)) {
			t.Fatalf("RTCP to the client: % x, %v", got, err)
		}
		c.client.rtcp.send(rtcpAt(c.raw.Local()), rtcpRR(0x2222))
		if got, _, err := c.phone.rtcp.recv(2 * time.Second); err != nil || !bytes.Equal(got, rtcpRR(0x2222)) {
			t.Fatalf("RTCP to the phone: % x, %v", got, err)
		}
	})
}

func TestKernelCountsLoss(t *testing.T) {
	c := newKernelCall(t, kernelConfig())
	c.settle(t)
	before := c.r.Stats().Lost
	c.seq[0] += 3 // three packets from the phone never sent
	c.exchange(t)
	waitFor(t, "the gap counted", func() bool { return c.r.Stats().Lost == before+3 })
}

func TestKernelManySessionsLeaveNoEntries(t *testing.T) {
	cfg := kernelConfig()
	cfg.LearnWindow = time.Millisecond
	needKernelPath(t)
	r, _ := newTestRelay(t, cfg)
	for range 20 {
		s, err := r.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		c := startKernelCall(t, r, s, newPhone(t), newPhone(t))
		c.settle(t)
		s.Close()
	}
	var k kernelKey
	var v [kernelValSz]byte
	if it := r.kernel.legs.Iterate(); it.Next(&k, &v) {
		t.Fatalf("an entry outlived its session: % x", k)
	}
	if st := r.Stats(); st.KernelSessions != 0 || st.SessionsActive != 0 {
		t.Fatalf("after the calls: %+v", st)
	}
}

func boolBit(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestKernelForwardsIPv6 runs a call over IPv6 loopback: the program's
// IPv6 half with real sockets.
func TestKernelForwardsIPv6(t *testing.T) {
	needKernelPath(t)
	v6 := netip.IPv6Loopback()
	cfg := kernelConfig()
	cfg.BindAddr, cfg.SIPAddr, cfg.XMPPAddr = v6, v6, v6
	r, _ := newTestRelay(t, cfg)
	end := func() *phone {
		c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return &phone{rtp: &endpoint{t: t, conn: c, buf: make([]byte, 2048)}}
	}
	c := startKernelCall(t, r, newTestSession(t, r), end(), end())
	c.settle(t)
	before := r.Stats().KernelPackets
	for range 10 {
		c.exchange(t)
	}
	if got := r.Stats().KernelPackets - before; got != 20 {
		t.Fatalf("kernel forwarded %d of 20 IPv6 packets", got)
	}
}
