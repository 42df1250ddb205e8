package media

import (
	"errors"
	"fargo.dev/fargo/internal/testlog"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"fargo.dev/fargo/internal/leakcheck"
)

// TestMain fails the run if goroutines outlive the tests: every session
// owns reader work (pollers, ICE readers) that Close must stop.
func TestMain(m *testing.M) {
	os.Exit(leakcheck.Run(m, 10*time.Second))
}

// Port ranges of this package's tests (28000–28999; other packages use
// other ranges). Relays of different tests may overlap: tests run one at
// a time and every test closes its relay.
const (
	endpointPortMin = 28900 // test endpoints needing an RTP/RTCP pair
	endpointPortMax = 28999
)

var loopback = netip.MustParseAddr("127.0.0.1")

// netip0 is "no address" (SetRemote's zero RTCP).
var netip0 netip.AddrPort

func testConfig(min, max uint16) Config {
	return Config{
		BindAddr: loopback,
		SIPAddr:  loopback,
		XMPPAddr: loopback,
		PortMin:  min,
		PortMax:  max,
	}
}

// newTestRelay makes a relay closed at the end of the test, logging into
// the returned buffer.
func newTestRelay(t testing.TB, cfg Config) (*Relay, *testlog.Buffer) {
	t.Helper()
	logs := &testlog.Buffer{}
	r, err := NewRelay(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Close()
		if t.Failed() {
			t.Logf("relay log:\n%s", logs)
		}
	})
	return r, logs
}

func newTestSession(t testing.TB, r *Relay) *Session {
	t.Helper()
	s, err := r.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// endpoint is one UDP socket on loopback playing a phone or a client.
type endpoint struct {
	t    testing.TB
	conn *net.UDPConn
	buf  []byte
}

func newEndpoint(t testing.TB) *endpoint {
	t.Helper()
	return listenEndpoint(t, 0)
}

func listenEndpoint(t testing.TB, port uint16) *endpoint {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &endpoint{t: t, conn: c, buf: make([]byte, 2048)}
}

func (e *endpoint) addr() netip.AddrPort {
	return e.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

func (e *endpoint) send(to netip.AddrPort, pkt []byte) {
	e.t.Helper()
	if _, err := e.conn.WriteToUDPAddrPort(pkt, to); err != nil {
		e.t.Fatal(err)
	}
}

// recv returns the next packet within d, or an error on timeout.
func (e *endpoint) recv(d time.Duration) ([]byte, netip.AddrPort, error) {
	if err := e.conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		return nil, netip.AddrPort{}, err
	}
	n, from, err := e.conn.ReadFromUDPAddrPort(e.buf)
	if err != nil {
		return nil, from, err
	}
	return e.buf[:n], from, nil
}

// expect returns the next packet, failing the test if none comes.
func (e *endpoint) expect() []byte {
	e.t.Helper()
	pkt, _, err := e.recv(2 * time.Second)
	if err != nil {
		e.t.Fatalf("endpoint %v: no packet: %v", e.addr(), err)
	}
	return append([]byte(nil), pkt...)
}

// expectNothing fails if a packet arrives within d.
func (e *endpoint) expectNothing(d time.Duration) {
	e.t.Helper()
	pkt, _, err := e.recv(d)
	if err == nil {
		e.t.Fatalf("endpoint %v: unexpected packet % x", e.addr(), pkt)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		e.t.Fatal(err)
	}
}

// phone is an RTP endpoint with RTCP on the port above, as SDP implies.
type phone struct {
	rtp, rtcp *endpoint
}

func newPhone(t testing.TB) *phone {
	t.Helper()
	for p := endpointPortMin; p+1 <= endpointPortMax; p += 2 {
		a, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(p))))
		if err != nil {
			continue
		}
		b, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(p+1))))
		if err != nil {
			_ = a.Close()
			continue
		}
		t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
		return &phone{
			rtp:  &endpoint{t: t, conn: a, buf: make([]byte, 2048)},
			rtcp: &endpoint{t: t, conn: b, buf: make([]byte, 2048)},
		}
	}
	t.Fatal("no free port pair for a test phone")
	return nil
}

// rtpPacket builds an RTP packet (RFC 3550 §5.1) with a 4-byte payload
// derived from seq.
func rtpPacket(pt uint8, marker bool, seq uint16, ssrc uint32) []byte {
	b := []byte{
		0x80, pt, byte(seq >> 8), byte(seq),
		0, 0, 0, 160, // timestamp
		byte(ssrc >> 24), byte(ssrc >> 16), byte(ssrc >> 8), byte(ssrc),
		0xde, 0xad, byte(seq >> 8), byte(seq),
	}
	if marker {
		b[1] |= 0x80
	}
	return b
}

// rtcpRR is an empty receiver report (RFC 3550 §6.4.2).
func rtcpRR(ssrc uint32) []byte {
	return []byte{0x80, 201, 0, 1, byte(ssrc >> 24), byte(ssrc >> 16), byte(ssrc >> 8), byte(ssrc)}
}

func rtcpAt(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr(), a.Port()+1)
}

// waitFor polls cond, for counters updated by other goroutines.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitDone(t testing.TB, s *Session, within time.Duration) {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(within):
		t.Fatalf("session not done within %v", within)
	}
}

// allBindable fails unless every port of [min, max] can be bound on
// loopback: nothing of ours is left holding one.
func allBindable(t testing.TB, min, max uint16) {
	t.Helper()
	var conns []*net.UDPConn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for p := int(min); p <= int(max); p++ {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(p))))
		if err != nil {
			t.Fatalf("port %d still taken: %v", p, err)
		}
		conns = append(conns, c)
	}
}
