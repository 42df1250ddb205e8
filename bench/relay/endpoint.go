package main

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"
)

// RTP stream shape: G.711 at 8 kHz, 20 ms per packet.
const (
	pktSize     = 172 // 12 bytes of RTP header + 160 of payload
	rtpHeader   = 12
	tsPerPacket = 160 // RTP clock ticks per packet
	ptPCMU      = 0
)

// endpoint is one side of a call: one UDP socket on 127.0.0.1 that sends
// its stream to dst and receives the peer's stream (through the relay, so
// symmetric-RTP relays latch onto the same socket).
//
// The sockets are raw file descriptors, not net.UDPConn: they are served
// by the receivers' own epoll sets and never enter the Go netpoller, so
// the load generator costs one sendto per packet sent and one recvmsg per
// packet received plus a shared epoll_wait, which keeps it cheap next to
// the relay it measures on the same two cores.
type endpoint struct {
	fd    int
	local netip.AddrPort
	dst   syscall.SockaddrInet4 // set before sending starts

	ssrc     uint32 // of the stream it sends
	peerSSRC uint32 // of the stream it should receive

	tx txStream // owned by its sender goroutine
	rx rxStream // owned by its receiver goroutine
}

// txStream is the sending state of one endpoint.
type txStream struct {
	seq     uint16
	ts      uint32
	sent    uint64 // all packets sent
	sentWin uint64 // packets whose send time fell in the measured window
	errs    uint64 // sendto failures (counted as sent: the packet is lost)
}

// rxStream is the receiving state of one endpoint's incoming stream.
type rxStream struct {
	started bool
	highest uint16
	seen    uint64 // bit i: sequence number highest-i arrived
	rxWin   uint64 // unique packets sent in the window that arrived
	rxAll   uint64
	dups    uint64
	late    uint64 // arrived behind the highest sequence number (reordered)
	foreign uint64 // wrong size or SSRC
}

func newEndpoint(ssrc, peerSSRC uint32) (*endpoint, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("endpoint socket: %w", err)
	}
	// Port 0: an ephemeral port, so the generator never collides with
	// fixed test ports or with itself.
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("endpoint bind: %w", err)
	}
	if err := enableRxTimestamps(fd); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("endpoint SO_TIMESTAMPNS: %w", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("endpoint getsockname: %w", err)
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("endpoint getsockname: not IPv4: %T", sa)
	}
	return &endpoint{
		fd:       fd,
		local:    netip.AddrPortFrom(netip.AddrFrom4(in4.Addr), uint16(in4.Port)),
		ssrc:     ssrc,
		peerSSRC: peerSSRC,
		// Arbitrary, per-stream start values (RFC 3550 wants them
		// random); the seq wrap is then exercised in long runs too.
		tx: txStream{seq: uint16(ssrc * 7919), ts: ssrc * 104729},
	}, nil
}

func (e *endpoint) setDst(a netip.AddrPort) error {
	if !a.Addr().Is4() {
		return fmt.Errorf("endpoint destination %v: not IPv4", a)
	}
	e.dst = syscall.SockaddrInet4{Port: int(a.Port()), Addr: a.Addr().As4()}
	return nil
}

func (e *endpoint) close() { _ = syscall.Close(e.fd) }

// send writes the endpoint's next packet, built in buf (the sender's own),
// stamped with now (Unix nanoseconds, the clock of the kernel's receive
// timestamps). inWin says whether it
// counts toward the measured window.
func (e *endpoint) send(buf []byte, now int64, inWin bool) {
	t := &e.tx
	t.seq++
	t.ts += tsPerPacket
	buf[0] = 0x80 // V=2, no padding, extension or CSRC
	buf[1] = ptPCMU
	binary.BigEndian.PutUint16(buf[2:], t.seq)
	binary.BigEndian.PutUint32(buf[4:], t.ts)
	binary.BigEndian.PutUint32(buf[8:], e.ssrc)
	binary.BigEndian.PutUint64(buf[rtpHeader:], uint64(now))
	t.sent++
	if inWin {
		t.sentWin++
	}
	if err := syscall.Sendto(e.fd, buf[:pktSize], 0, &e.dst); err != nil {
		t.errs++
	}
}

// receive accounts one packet that arrived on the socket at now (Unix
// nanoseconds) and returns its one-way latency and whether it counts (a unique packet of the expected
// stream sent inside [winStart, winEnd)).
func (e *endpoint) receive(pkt []byte, now, winStart, winEnd int64) (int64, bool) {
	r := &e.rx
	if len(pkt) != pktSize || pkt[0]>>6 != 2 || binary.BigEndian.Uint32(pkt[8:]) != e.peerSSRC {
		r.foreign++
		return 0, false
	}
	seq := binary.BigEndian.Uint16(pkt[2:])
	if !r.started {
		r.started, r.highest, r.seen = true, seq, 1
	} else if d := seq - r.highest; d != 0 && d < 0x8000 {
		r.highest = seq
		if d >= 64 {
			r.seen = 1
		} else {
			r.seen = r.seen<<d | 1
		}
	} else {
		// Behind or equal: a duplicate if already seen, else reordered.
		back := r.highest - seq
		if back >= 64 || r.seen&(1<<back) != 0 {
			r.dups++
			return 0, false
		}
		r.seen |= 1 << back
		r.late++
	}
	r.rxAll++
	sent := int64(binary.BigEndian.Uint64(pkt[rtpHeader:]))
	if sent < winStart || sent >= winEnd {
		return 0, false
	}
	r.rxWin++
	return now - sent, true
}
