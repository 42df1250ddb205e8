package rtpprobe

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func newPeer(t *testing.T, ctx context.Context) *RTPPeer {
	t.Helper()
	p, err := NewRTPPeer(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// waitPackets polls until p has received n packets (the sender paces them
// in real time, the last ones may still be in flight when it returns).
func waitPackets(t *testing.T, p *RTPPeer, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for p.Packets() < n {
		if time.Now().After(deadline) {
			t.Fatalf("received %d packets, want %d", p.Packets(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRTPToneRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, b := newPeer(t, ctx), newPeer(t, ctx)
	if !a.Addr().Addr().IsLoopback() || a.Addr().Port() == 0 {
		t.Fatalf("Addr() = %s", a.Addr())
	}
	// both directions at once, like a call: a sends 1 kHz μ-law, b 440 Hz A-law
	var wg sync.WaitGroup
	errs := make([]error, 2)
	began := time.Now()
	wg.Add(2)
	go func() { defer wg.Done(); errs[0] = a.SendTone(ctx, b.Addr(), PayloadPCMU, 1000, 400*time.Millisecond) }()
	go func() { defer wg.Done(); errs[1] = b.SendTone(ctx, a.Addr(), PayloadPCMA, 440, 400*time.Millisecond) }()
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	// 20 packets paced 20 ms apart: the last leaves 380 ms after the first
	if took := time.Since(began); took < 370*time.Millisecond {
		t.Errorf("20 packets sent in %v: not paced in real time", took)
	}
	waitPackets(t, a, 20)
	waitPackets(t, b, 20)
	if got := b.Received(); len(got) != 3200 || !near(DominantFrequency(got, 8000), 1000, 10) {
		t.Errorf("b received %d samples at %.1f Hz, want 3200 at 1000 Hz", len(got), DominantFrequency(got, 8000))
	}
	if got := a.Received(); len(got) != 3200 || !near(DominantFrequency(got, 8000), 440, 10) {
		t.Errorf("a received %d samples at %.1f Hz, want 3200 at 440 Hz", len(got), DominantFrequency(got, 8000))
	}
	if len(a.Events()) != 0 {
		t.Errorf("events from a tone: %q", a.Events())
	}
}

// capture is a bare UDP socket that keeps the datagrams it receives.
func capture(t *testing.T) (*net.UDPConn, func(n int) [][]byte) {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, func(n int) [][]byte {
		var out [][]byte
		buf := make([]byte, 1500)
		for len(out) < n {
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			k, err := c.Read(buf)
			if err != nil {
				t.Fatalf("after %d datagrams: %v", len(out), err)
			}
			out = append(out, slices.Clone(buf[:k]))
		}
		return out
	}
}

// The packets on the wire: header fields, continuous seq and timestamps
// across a tone and a DTMF event, RFC 4733 payloads.
func TestRTPWireFormat(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := newPeer(t, ctx)
	c, read := capture(t)
	dst := c.LocalAddr().(*net.UDPAddr).AddrPort()
	if err := p.SendTone(ctx, dst, PayloadPCMA, 1000, 60*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := p.SendDTMF(ctx, dst, 101, '7', 60*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	pkts := read(3 + 3 + 2) // 3 audio, 3 event updates (the last one is the first end packet), 2 more end packets
	var first rtpPacket
	for i, b := range pkts {
		pkt, err := parseRTP(b)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if i == 0 {
			first = pkt
		}
		if ssrc := binary.BigEndian.Uint32(b[8:]); ssrc != binary.BigEndian.Uint32(pkts[0][8:]) {
			t.Errorf("packet %d: SSRC changed", i)
		}
		if want := first.seq + uint16(i); pkt.seq != want {
			t.Errorf("packet %d: seq %d, want %d", i, pkt.seq, want)
		}
		marker := b[1]&0x80 != 0
		switch {
		case i < 3:
			if pkt.pt != PayloadPCMA || len(pkt.payload) != 160 || pkt.ts != first.ts+uint32(160*i) || marker != (i == 0) {
				t.Errorf("audio packet %d: pt %d, %d bytes, ts +%d, marker %v", i, pkt.pt, len(pkt.payload), pkt.ts-first.ts, marker)
			}
		default:
			k := i - 3
			wantDur := uint16(160 * min(k+1, 3))
			end := pkt.payload[1]&0x80 != 0
			if pkt.pt != 101 || len(pkt.payload) != 4 || pkt.payload[0] != 7 || pkt.payload[1]&0x3F != dtmfVolume ||
				binary.BigEndian.Uint16(pkt.payload[2:]) != wantDur || end != (k >= 2) || marker != (k == 0) {
				t.Errorf("event packet %d: pt %d payload % x marker %v", k, pkt.pt, pkt.payload, marker)
			}
			// one event, one timestamp, after the tone's samples
			if int32(pkt.ts-(first.ts+480)) < 0 {
				t.Errorf("event packet %d: ts +%d, before the end of the tone", k, pkt.ts-first.ts)
			}
			if parsed, _ := parseRTP(pkts[3]); pkt.ts != parsed.ts {
				t.Errorf("event packet %d: ts changed within the event", k)
			}
		}
	}
}

func TestRTPDTMFRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, b := newPeer(t, ctx), newPeer(t, ctx)
	for _, d := range []byte("5#a") {
		if err := a.SendDTMF(ctx, b.Addr(), 101, d, 60*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	waitPackets(t, b, 3*5)
	if got := string(b.Events()); got != "5#A" {
		t.Fatalf("events %q, want \"5#A\"", got)
	}
	if len(b.Received()) != 0 {
		t.Fatalf("events decoded as audio: %d samples", len(b.Received()))
	}
	if err := a.SendDTMF(ctx, b.Addr(), 101, 'x', time.Second); err == nil {
		t.Error("digit 'x' accepted")
	}
	if err := a.SendDTMF(ctx, b.Addr(), 200, '1', time.Second); err == nil {
		t.Error("payload type 200 accepted")
	}
}

func TestRTPMalformedPacketsIgnored(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := newPeer(t, ctx)
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(p.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hdr := func(b0, pt byte, seq uint16) []byte {
		b := []byte{b0, pt, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}
		binary.BigEndian.PutUint16(b[2:], seq)
		return b
	}
	for _, bad := range [][]byte{
		{},
		{0x80, 0},
		append(hdr(0x40, 0, 1), make([]byte, 160)...), // version 1
		append(hdr(0x8F, 0, 2), make([]byte, 20)...),  // 15 CSRCs in 32 bytes
		append(hdr(0x90, 0, 3), 0, 0, 0xFF, 0xFF),     // extension longer than the packet
		append(hdr(0x90, 0, 4), 0, 0),                 // truncated extension header
		append(hdr(0xA0, 0, 5), 1, 2, 3, 0),           // padding count 0
		append(hdr(0xA0, 0, 6), 1, 2, 3, 200),         // more padding than packet
		append(hdr(0x80, 101, 7), 1, 2),               // event too short: counted, no digit
		append(hdr(0x80, 101, 8), 99, 0x80, 0, 160),   // unknown event code
		append(hdr(0x80, 13, 9), 10),                  // comfort noise: counted, not audio
	} {
		if _, err := c.Write(bad); err != nil {
			t.Fatal(err)
		}
	}
	// a valid packet with CSRC, extension and padding comes through
	good := hdr(0xB1, PayloadPCMU, 10)
	good = append(good, 9, 9, 9, 9)                   // one CSRC
	good = append(good, 0xBE, 0xDE, 0, 1, 7, 7, 7, 7) // extension of one word
	good = append(good, 0xFF, 0xFF, 0, 2)             // two μ-law samples (zero) and 2 bytes of padding
	if _, err := c.Write(good); err != nil {
		t.Fatal(err)
	}
	waitPackets(t, p, 4)
	time.Sleep(50 * time.Millisecond) // anything else would have arrived by now
	if n := p.Packets(); n != 4 {
		t.Errorf("Packets() = %d, want 4 (three odd but valid, one good)", n)
	}
	if got := p.Received(); !slices.Equal(got, []int16{0, 0}) {
		t.Errorf("Received() = %v, want the good packet's samples [0 0]", got)
	}
	if len(p.Events()) != 0 {
		t.Errorf("Events() = %q from malformed events", p.Events())
	}
}

// Received orders by sequence number across the 16-bit wrap and drops
// duplicates.
func TestRTPReorderAndWrap(t *testing.T) {
	p := &RTPPeer{}
	for _, seq := range []uint16{65534, 0, 65535, 1, 0, 65533} {
		b := make([]byte, 13)
		b[0], b[1] = 0x80, PayloadPCMU
		binary.BigEndian.PutUint16(b[2:], seq)
		b[12] = LinearToULaw(int16(seq % 100 * 10))
		p.handle(b)
	}
	got := p.Received()
	want := []int16{ULawToLinear(LinearToULaw(330)), ULawToLinear(LinearToULaw(340)), ULawToLinear(LinearToULaw(350)), 0, ULawToLinear(LinearToULaw(10))}
	if !slices.Equal(got, want) {
		t.Fatalf("Received() = %v, want %v", got, want)
	}
	if p.Packets() != 6 {
		t.Fatalf("Packets() = %d, want 6 (the duplicate counts)", p.Packets())
	}
}

func TestRTPPeerArguments(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := NewRTPPeer(ctx, "0.0.0.0:0"); err == nil || !strings.Contains(err.Error(), "not loopback") {
		t.Errorf("wildcard address: %v", err)
	}
	if _, err := NewRTPPeer(ctx, "localhost:0"); err == nil {
		t.Error("a host name was accepted (only IP literals are)")
	}
	p := newPeer(t, ctx)
	if err := p.SendTone(ctx, netip.MustParseAddrPort("192.0.2.1:4000"), PayloadPCMU, 1000, time.Second); err == nil {
		t.Error("a tone to a non-loopback address was accepted")
	}
	if err := p.SendTone(ctx, p.Addr(), 18, 1000, time.Second); err == nil {
		t.Error("payload type 18 accepted for a tone")
	}
	if err := p.SendDTMF(ctx, netip.AddrPort{}, 101, '1', time.Second); err == nil {
		t.Error("DTMF to no address accepted")
	}
	// a cancelled context stops a tone and closes the peer
	short, stop := context.WithTimeout(ctx, 50*time.Millisecond)
	defer stop()
	q := newPeer(t, short)
	if err := q.SendTone(short, p.Addr(), PayloadPCMU, 1000, 10*time.Second); err == nil {
		t.Error("a tone outlived its context")
	}
	q.Close() // after the context closed the socket; twice is fine too
	q.Close()
}
