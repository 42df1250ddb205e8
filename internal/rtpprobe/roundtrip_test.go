package rtpprobe

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestRoundTripsThroughAnEcho sends a tone to a UDP socket that sends
// every datagram back and checks that each packet is paired with its echo.
func TestRoundTripsThroughAnEcho(t *testing.T) {
	echo, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := echo.ReadFromUDPAddrPort(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			_, _ = echo.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	defer func() { _ = echo.Close(); <-done }()
	p, err := NewRTPPeer(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.SendTone(t.Context(), echo.LocalAddr().(*net.UDPAddr).AddrPort(), PayloadPCMU, 1000, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(p.RoundTrips()) < 10 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	rtts := p.RoundTrips()
	if len(rtts) != 10 {
		t.Fatalf("%d round trips, want 10", len(rtts))
	}
	if m := Median(rtts); m <= 0 || m > 100*time.Millisecond {
		t.Fatalf("median round trip %s on loopback", m)
	}
}

func TestMedian(t *testing.T) {
	if Median(nil) != 0 {
		t.Fatal("median of nothing")
	}
	if got := Median([]time.Duration{5, 1, 3}); got != 3 {
		t.Fatalf("median %d, want 3", got)
	}
}
