//go:build linux

package media

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"
)

// These tests run the fast path's program on hand-built frames in the
// kernel (BPF_PROG_TEST_RUN) and check every byte it writes, checksums
// included, which a loopback test cannot: loopback never verifies them.

const (
	verdictNext     = -1
	verdictPass     = 0
	verdictRedirect = 7 // TC_ACT_REDIRECT
)

type frameSpec struct {
	srcMAC, dstMAC [6]byte
	src, dst       netip.AddrPort
	ttl            uint8
	payload        []byte
	ipOptions      bool // IPv4 header with one NOP word of options
	fragment       bool // IPv4 "more fragments"
	noUDPSum       bool // IPv4 UDP checksum 0 (none)
}

// frame builds an Ethernet frame with correct checksums.
func (f frameSpec) frame() []byte {
	udpLen := 8 + len(f.payload)
	udp := make([]byte, udpLen)
	binary.BigEndian.PutUint16(udp[0:], f.src.Port())
	binary.BigEndian.PutUint16(udp[2:], f.dst.Port())
	binary.BigEndian.PutUint16(udp[4:], uint16(udpLen))
	copy(udp[8:], f.payload)
	var ip []byte
	if f.src.Addr().Is4() {
		hl := 20
		if f.ipOptions {
			hl = 24
		}
		ip = make([]byte, hl)
		ip[0] = 0x40 | byte(hl/4)
		binary.BigEndian.PutUint16(ip[2:], uint16(hl+udpLen))
		binary.BigEndian.PutUint16(ip[4:], 0x1234)
		if f.fragment {
			ip[6] = 0x20
		}
		ip[8], ip[9] = f.ttl, 17
		s, d := f.src.Addr().As4(), f.dst.Addr().As4()
		copy(ip[12:], s[:])
		copy(ip[16:], d[:])
		if f.ipOptions {
			ip[20] = 1 // NOP
		}
		binary.BigEndian.PutUint16(ip[10:], ^onesSum(ip))
		if !f.noUDPSum {
			binary.BigEndian.PutUint16(udp[6:], udpChecksumOf(f.src.Addr(), f.dst.Addr(), udp))
		}
	} else {
		ip = make([]byte, 40)
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(udpLen))
		ip[6], ip[7] = 17, f.ttl
		s, d := f.src.Addr().As16(), f.dst.Addr().As16()
		copy(ip[8:], s[:])
		copy(ip[24:], d[:])
		binary.BigEndian.PutUint16(udp[6:], udpChecksumOf(f.src.Addr(), f.dst.Addr(), udp))
	}
	eth := make([]byte, 14)
	copy(eth[0:], f.dstMAC[:])
	copy(eth[6:], f.srcMAC[:])
	if f.src.Addr().Is4() {
		eth[12], eth[13] = 0x08, 0x00
	} else {
		eth[12], eth[13] = 0x86, 0xdd
	}
	return append(append(eth, ip...), udp...)
}

func onesSum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// udpChecksumOf is the UDP checksum over the pseudo-header and udp, whose
// checksum field is zero.
func udpChecksumOf(src, dst netip.Addr, udp []byte) uint16 {
	var pseudo []byte
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		pseudo = append(append(pseudo, s[:]...), d[:]...)
		pseudo = append(pseudo, 0, 17, byte(len(udp)>>8), byte(len(udp)))
	} else {
		s, d := src.As16(), dst.As16()
		pseudo = append(append(pseudo, s[:]...), d[:]...)
		pseudo = append(pseudo, 0, 0, byte(len(udp)>>8), byte(len(udp)), 0, 0, 0, 17)
	}
	c := ^onesSum(append(pseudo, udp...))
	if c == 0 {
		c = 0xffff
	}
	return c
}

// parsedFrame is what checkFrame found in a frame.
type parsedFrame struct {
	srcMAC, dstMAC [6]byte
	src, dst       netip.AddrPort
	ttl            uint8
	payload        []byte
	udpSum         uint16
}

// checkFrame parses an IPv4 or IPv6 UDP frame and fails on a bad checksum.
func checkFrame(t *testing.T, b []byte) parsedFrame {
	t.Helper()
	var p parsedFrame
	copy(p.dstMAC[:], b[0:6])
	copy(p.srcMAC[:], b[6:12])
	var udp []byte
	if b[12] == 0x08 {
		ip := b[14:34]
		if onesSum(ip) != 0xffff {
			t.Fatalf("bad IPv4 header checksum in % x", ip)
		}
		p.ttl = ip[8]
		p.src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[12:16])), 0)
		p.dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[16:20])), 0)
		udp = b[34:]
	} else {
		ip := b[14:54]
		p.ttl = ip[7]
		p.src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(ip[8:24])), 0)
		p.dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(ip[24:40])), 0)
		udp = b[54:]
	}
	p.src = netip.AddrPortFrom(p.src.Addr(), binary.BigEndian.Uint16(udp[0:]))
	p.dst = netip.AddrPortFrom(p.dst.Addr(), binary.BigEndian.Uint16(udp[2:]))
	p.udpSum = binary.BigEndian.Uint16(udp[6:])
	p.payload = udp[8:]
	if p.udpSum != 0 {
		z := append([]byte(nil), udp...)
		z[6], z[7] = 0, 0
		if want := udpChecksumOf(p.src.Addr(), p.dst.Addr(), z); want != p.udpSum {
			t.Fatalf("bad UDP checksum %#04x, want %#04x", p.udpSum, want)
		}
	}
	return p
}

// progHarness is the program and its map, loaded without attaching.
type progHarness struct {
	t *testing.T
	k *kernelPath
}

const testLoIfindex = 1

func newProgHarness(t *testing.T) *progHarness {
	t.Helper()
	needKernelPath(t)
	legs, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Hash, KeySize: kernelKeySize, ValueSize: kernelValSz, MaxEntries: 16})
	if err != nil {
		t.Fatal(err)
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type: ebpf.SchedCLS, License: "MIT", Instructions: kernelProgram(legs.FD(), testLoIfindex),
	})
	if err != nil {
		_ = legs.Close()
		t.Fatal(err)
	}
	k := &kernelPath{legs: legs, prog: prog}
	t.Cleanup(k.close)
	return &progHarness{t: t, k: k}
}

// run runs the program on frame as if it arrived on ifindex and returns
// the verdict and the frame as the program left it.
func (h *progHarness) run(frame []byte, ifindex uint32) (int, []byte) {
	h.t.Helper()
	ctx := make([]byte, 192) // struct __sk_buff
	binary.NativeEndian.PutUint32(ctx[skbIngressIfindex:], ifindex)
	out := make([]byte, len(frame)+256)
	opts := &ebpf.RunOptions{Data: frame, DataOut: out, Context: ctx}
	ret, err := h.k.prog.Run(opts)
	if err != nil {
		h.t.Fatal(err)
	}
	return int(int32(ret)), opts.DataOut
}

// callHeardFromClient installs the call's entries and has the client send
// one packet, so that the phone's packets are forwarded; it returns the
// phone's key.
func (h *progHarness) callHeardFromClient(p twoPeers) kernelKey {
	h.t.Helper()
	kp, kc := p.keys()
	if err := h.k.install(kp, kc, &[2]ptPairs{noPT(), noPT()}); err != nil {
		h.t.Fatal(err)
	}
	h.run(p.fromClient(rtpPacket(0, false, 1, 2)).frame(), ifClient)
	return kp
}

func (h *progHarness) entry(key kernelKey) kernelEntry {
	h.t.Helper()
	e, ok := h.k.read(key)
	if !ok {
		h.t.Fatal("entry gone")
	}
	return e
}

var (
	macPhone   = [6]byte{0x02, 0, 0, 0, 0, 0xa1}
	macRelayA  = [6]byte{0x02, 0, 0, 0, 0, 0xa0}
	macClient  = [6]byte{0x02, 0, 0, 0, 0, 0xb1}
	macRelayB  = [6]byte{0x02, 0, 0, 0, 0, 0xb0}
	ifPhone    = uint32(4)
	ifClient   = uint32(5)
	relayPortA = uint16(30000) // the SIP leg's port
	relayPortB = uint16(30002) // the XMPP leg's port
)

// twoPeers is a call as the program sees it: the phone talks to the relay
// at relayA, the client at relayB.
type twoPeers struct {
	phone, client, relayA, relayB netip.AddrPort
}

func peersV4() twoPeers {
	return twoPeers{
		phone:  netip.MustParseAddrPort("192.0.2.10:4000"),
		client: netip.MustParseAddrPort("198.51.100.20:5000"),
		relayA: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), relayPortA),
		relayB: netip.AddrPortFrom(netip.MustParseAddr("198.51.100.1"), relayPortB),
	}
}

func peersV6() twoPeers {
	return twoPeers{
		phone:  netip.MustParseAddrPort("[2001:db8:a::10]:4000"),
		client: netip.MustParseAddrPort("[2001:db8:b::20]:5000"),
		relayA: netip.AddrPortFrom(netip.MustParseAddr("2001:db8:a::1"), relayPortA),
		relayB: netip.AddrPortFrom(netip.MustParseAddr("2001:db8:b::1"), relayPortB),
	}
}

func (p twoPeers) keys() (phone, client kernelKey) {
	return keyOf(p.phone, p.relayA.Port()), keyOf(p.client, p.relayB.Port())
}

func (p twoPeers) fromPhone(payload []byte) frameSpec {
	return frameSpec{srcMAC: macPhone, dstMAC: macRelayA, src: p.phone, dst: p.relayA, ttl: 61, payload: payload}
}

func (p twoPeers) fromClient(payload []byte) frameSpec {
	return frameSpec{srcMAC: macClient, dstMAC: macRelayB, src: p.client, dst: p.relayB, ttl: 50, payload: payload}
}

func TestKernelProgramRewrites(t *testing.T) {
	for _, tc := range []struct {
		name  string
		peers twoPeers
		noSum bool
	}{
		{"ipv4", peersV4(), false},
		{"ipv4 without UDP checksum", peersV4(), true},
		{"ipv6", peersV6(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newProgHarness(t)
			p := tc.peers
			kp, kc := p.keys()
			if err := h.k.install(kp, kc, &[2]ptPairs{noPT(), noPT()}); err != nil {
				t.Fatal(err)
			}
			rtp := rtpPacket(0, false, 7, 0x1111)
			// The client has not been heard from: the phone's packet goes
			// to the socket, untouched.
			in := p.fromPhone(rtp)
			in.noUDPSum = tc.noSum
			frame := in.frame()
			if v, out := h.run(frame, ifPhone); v != verdictNext || !bytes.Equal(out, frame) {
				t.Fatalf("before the client was heard: verdict %d, frame changed: %v", v, !bytes.Equal(out, frame))
			}
			// The client's packet teaches the program where the client
			// is, and goes to the phone.
			v, out := h.run(p.fromClient(rtpPacket(8, true, 100, 0x2222)).frame(), ifClient)
			if v != verdictRedirect {
				t.Fatalf("client's packet: verdict %d, want redirect", v)
			}
			got := checkFrame(t, out)
			want := parsedFrame{srcMAC: macRelayA, dstMAC: macPhone, src: p.relayA, dst: p.phone, ttl: forwardTTL}
			if got.srcMAC != want.srcMAC || got.dstMAC != want.dstMAC || got.src != want.src || got.dst != want.dst || got.ttl != want.ttl {
				t.Fatalf("to the phone: got %+v, want %+v", got, want)
			}
			if !bytes.Equal(got.payload, rtpPacket(8, true, 100, 0x2222)) {
				t.Fatalf("payload changed: % x", got.payload)
			}
			// And now the phone's packets go to the client.
			v, out = h.run(frame, ifPhone)
			if v != verdictRedirect {
				t.Fatalf("phone's packet: verdict %d, want redirect", v)
			}
			got = checkFrame(t, out)
			want = parsedFrame{srcMAC: macRelayB, dstMAC: macClient, src: p.relayB, dst: p.client, ttl: forwardTTL}
			if got.srcMAC != want.srcMAC || got.dstMAC != want.dstMAC || got.src != want.src || got.dst != want.dst || got.ttl != want.ttl {
				t.Fatalf("to the client: got %+v, want %+v", got, want)
			}
			if tc.noSum && got.udpSum != 0 {
				t.Fatalf("an IPv4 packet without a UDP checksum got one: %#04x", got.udpSum)
			}
			e := h.entry(kp)
			if e.packets != 1 || e.bytes != uint64(len(rtp)) || e.lastNs == 0 {
				t.Fatalf("phone's entry: %+v", e)
			}
		})
	}
}

func TestKernelProgramLoopbackGoesUpTheStack(t *testing.T) {
	h := newProgHarness(t)
	p := twoPeers{
		phone:  netip.MustParseAddrPort("127.0.0.1:4000"),
		client: netip.MustParseAddrPort("127.0.0.1:5000"),
		relayA: netip.AddrPortFrom(loopback, relayPortA),
		relayB: netip.AddrPortFrom(loopback, relayPortB),
	}
	kp, kc := p.keys()
	if err := h.k.install(kp, kc, &[2]ptPairs{noPT(), noPT()}); err != nil {
		t.Fatal(err)
	}
	h.run(p.fromClient(rtpPacket(0, false, 1, 2)).frame(), testLoIfindex)
	v, out := h.run(p.fromPhone(rtpPacket(0, false, 1, 1)).frame(), testLoIfindex)
	if v != verdictPass {
		t.Fatalf("verdict %d, want pass (up the stack to the local peer)", v)
	}
	if got := checkFrame(t, out); got.dst != p.client || got.src != p.relayB {
		t.Fatalf("rewritten to %v from %v", got.dst, got.src)
	}
}

func TestKernelProgramLeavesOthersAlone(t *testing.T) {
	h := newProgHarness(t)
	p := peersV4()
	kp := h.callHeardFromClient(p)
	rtp := rtpPacket(0, false, 1, 1)
	stranger := p.fromPhone(rtp)
	stranger.src = netip.MustParseAddrPort("192.0.2.66:4000")
	otherPort := p.fromPhone(rtp)
	otherPort.src = netip.AddrPortFrom(p.phone.Addr(), 4002)
	options := p.fromPhone(rtp)
	options.ipOptions = true
	fragment := p.fromPhone(rtp)
	fragment.fragment = true
	junk := p.fromPhone([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	short := p.fromPhone([]byte{0x80, 0, 0})
	shortRTP := p.fromPhone([]byte{0x80, 0, 0, 1, 0, 0, 0, 0})
	v6ToV4 := peersV6().fromPhone(rtp) // no entry either
	for _, tc := range []struct {
		name string
		f    frameSpec
	}{
		{"unknown source", stranger}, {"other source port", otherPort},
		{"IP options", options}, {"fragment", fragment},
		{"not RTP", junk}, {"too short", short}, {"RTP shorter than its header", shortRTP},
		{"IPv6 peer", v6ToV4},
	} {
		frame := tc.f.frame()
		if v, out := h.run(frame, ifPhone); v != verdictNext || !bytes.Equal(out, frame) {
			t.Errorf("%s: verdict %d (want %d), frame changed: %v", tc.name, v, verdictNext, !bytes.Equal(out, frame))
		}
	}
	if e := h.entry(kp); e.packets != 0 {
		t.Fatalf("forwarded %d packets", e.packets)
	}
	// RTCP, muxed on the RTP socket, is forwarded but not loss-tracked.
	if v, _ := h.run(p.fromPhone(rtcpRR(1)).frame(), ifPhone); v != verdictRedirect {
		t.Fatalf("RTCP: verdict %d", v)
	}
}

// TestKernelProgramCountsLoss checks the program's copy of lossTracker
// against lossTracker itself on the same sequence numbers.
func TestKernelProgramCountsLoss(t *testing.T) {
	h := newProgHarness(t)
	p := peersV4()
	kp := h.callHeardFromClient(p)
	var ref lossTracker
	var want int64
	seqs := []struct {
		seq  uint16
		ssrc uint32
	}{
		{65530, 9}, {65531, 9}, {65534, 9}, {65532, 9}, {65532, 9}, {2, 9}, {1, 9}, {0, 9},
		{70, 9}, {5, 9}, {40, 9}, {5000, 9}, {5001, 9}, {3, 10}, {8, 10}, {4, 10}, {4, 10},
	}
	for _, s := range seqs {
		pkt := rtpPacket(0, false, s.seq, s.ssrc)
		want += ref.observe(pkt)
		if v, _ := h.run(p.fromPhone(pkt).frame(), ifPhone); v != verdictRedirect {
			t.Fatalf("seq %d: verdict %d", s.seq, v)
		}
		if got := h.entry(kp).lost; got != want {
			t.Fatalf("after seq %d ssrc %d: kernel counted %d lost, lossTracker %d", s.seq, s.ssrc, got, want)
		}
	}
	if want == 0 {
		t.Fatal("the sequence exercised no loss")
	}
}

// TestKernelAutoMode: with the privilege, auto mode must come up (CI runs
// as root).
func TestKernelAutoMode(t *testing.T) {
	needKernelPath(t)
	cfg := kernelConfig()
	cfg.Kernel = KernelAuto
	r, err := NewRelay(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.kernel == nil {
		t.Fatal("auto mode as root did not set up the kernel fast path")
	}
}

// noPT renumbers nothing.
func noPT() ptPairs {
	p, _ := (*ptTable)(nil).pairs()
	return p
}

func TestKernelProgramRenumbers(t *testing.T) {
	h := newProgHarness(t)
	p := peersV4()
	kp, kc := p.keys()
	fromPhone, _ := newPTTable(
		[]Codec{{PT: 0, Name: "PCMU", Clock: 8000}, {PT: 101, Name: "telephone-event", Clock: 8000}},
		[]Codec{{PT: 8, Name: "PCMU", Clock: 8000}, {PT: 126, Name: "telephone-event", Clock: 8000}},
	).pairs()
	if err := h.k.install(kp, kc, &[2]ptPairs{fromPhone, noPT()}); err != nil {
		t.Fatal(err)
	}
	h.run(p.fromClient(rtpPacket(0, false, 1, 2)).frame(), ifClient)
	for _, tc := range []struct {
		in   []byte
		want byte // byte 1 out
	}{
		{rtpPacket(0, false, 1, 1), 8},
		{rtpPacket(0, true, 2, 1), 0x80 | 8},
		{rtpPacket(101, true, 3, 1), 0x80 | 126},
		{rtpPacket(9, false, 4, 1), 9},     // not in the table
		{rtcpRR(1), 201},                   // RTCP is never renumbered
		{rtpPacket(126, false, 5, 1), 126}, // only from numbers are
	} {
		for _, noSum := range []bool{false, true} {
			f := p.fromPhone(tc.in)
			f.noUDPSum = noSum
			v, out := h.run(f.frame(), ifPhone)
			if v != verdictRedirect {
				t.Fatalf("% x: verdict %d", tc.in, v)
			}
			got := checkFrame(t, out)
			want := append([]byte(nil), tc.in...)
			want[1] = tc.want
			if !bytes.Equal(got.payload, want) {
				t.Fatalf("% x became % x, want % x", tc.in, got.payload, want)
			}
			if noSum && got.udpSum != 0 {
				t.Fatalf("a UDP checksum appeared: %#04x", got.udpSum)
			}
		}
	}
	// Payload numbers the kernel cannot all renumber keep the call in
	// the process.
	var many []Codec
	for i := range kernelPTPairs + 1 {
		many = append(many, Codec{PT: uint8(96 + i), Name: "c" + string(rune('a'+i)), Clock: 8000})
	}
	var other []Codec
	for i, c := range many {
		c.PT = uint8(110 + i)
		other = append(other, c)
	}
	if _, ok := newPTTable(many, other).pairs(); ok {
		t.Fatalf("%d renumberings fit in %d pairs", len(many), kernelPTPairs)
	}
}
