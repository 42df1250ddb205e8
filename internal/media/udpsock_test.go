package media

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestRelayFamilies relays both ways over an IPv6-only relay and over a
// dual-stack one ("::") whose endpoints speak IPv4, where the kernel
// reports sources as ::ffff:a.b.c.d and sends go out v4-mapped.
func TestRelayFamilies(t *testing.T) {
	v6 := netip.IPv6Loopback()
	for _, tc := range []struct {
		name           string
		bind, announce netip.Addr
		network        string
	}{
		{"ipv6", v6, v6, "udp6"},
		{"dual-stack", netip.IPv6Unspecified(), loopback, "udp4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(28000, 28099)
			cfg.BindAddr, cfg.SIPAddr, cfg.XMPPAddr = tc.bind, tc.announce, tc.announce
			r, _ := newTestRelay(t, cfg)
			s := newTestSession(t, r)
			raw, err := s.XMPPRaw()
			if err != nil {
				t.Fatal(err)
			}
			ph, client := familyEndpoint(t, tc.network, tc.announce), familyEndpoint(t, tc.network, tc.announce)
			s.SIP().SetRemote(ph.addr(), netip0)
			raw.SetRemote(client.addr(), netip0)
			for i := range uint16(3) {
				ph.send(s.SIP().Local(), rtpPacket(0, false, i, 1))
				if got := client.expect(); got[3] != byte(i) {
					t.Fatalf("client got % x", got)
				}
				client.send(raw.Local(), rtpPacket(0, false, i, 2))
				if got := ph.expect(); got[3] != byte(i) {
					t.Fatalf("phone got % x", got)
				}
			}
			// The relay counts a packet after its send returns, which can
			// be after the endpoint already read it.
			waitFor(t, "6 relayed packets", func() bool { return r.Stats().Packets == 6 })
			if st := r.Stats(); st.Dropped != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func familyEndpoint(t *testing.T, network string, a netip.Addr) *endpoint {
	t.Helper()
	c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &endpoint{t: t, conn: c, buf: make([]byte, 2048)}
}

// TestUseGuard checks that a close waits for the users it found, that a
// user may acquire again while a close is pending (an echo session sends
// on the socket it is reading from) and is then refused instead of
// deadlocking, and that nothing is acquired after the close.
func TestUseGuard(t *testing.T) {
	g := useGuard{idle: make(chan struct{})}
	if !g.acquire() {
		t.Fatal("acquire on an open guard failed")
	}
	closed := make(chan bool)
	go func() { closed <- g.closeAndWait() }()
	deadline := time.Now().Add(5 * time.Second)
	for g.n.Load() < guardClosed {
		if time.Now().After(deadline) {
			t.Fatal("close did not start")
		}
		time.Sleep(time.Millisecond)
	}
	if g.acquire() {
		t.Fatal("acquire while a close is pending succeeded")
	}
	select {
	case <-closed:
		t.Fatal("close returned while a user held the guard")
	case <-time.After(20 * time.Millisecond):
	}
	g.release()
	select {
	case ok := <-closed:
		if !ok {
			t.Fatal("first close reported the guard already closed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("close did not return after the last user left")
	}
	if g.acquire() || g.closeAndWait() {
		t.Fatal("guard usable after close")
	}
}
