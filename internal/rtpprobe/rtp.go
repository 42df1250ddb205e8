package rtpprobe

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// RTP payload types of the G.711 codecs (RFC 3551, static).
const (
	PayloadPCMU = 0
	PayloadPCMA = 8
)

const (
	rtpVersion    = 2
	rtpHeaderLen  = 12
	rtpClock      = 8000 // G.711 and telephone-event clock rate
	framePeriod   = 20 * time.Millisecond
	frameSamples  = rtpClock / 50
	dtmfEndRepeat = 3 // RFC 4733 2.5.1.4: the final packet is sent three times
	dtmfVolume    = 10
	maxDatagram   = 1500
)

// RTPPeer is one end of an RTP audio stream on loopback UDP: it sends G.711
// tones and RFC 4733 DTMF events, paced in real time, and keeps the audio
// and events it receives. Its methods are safe for concurrent use.
type RTPPeer struct {
	conn *net.UDPConn
	done chan struct{}
	stop func() bool // unregisters the context watcher

	sendMu sync.Mutex // one sender at a time: seq and timestamp stay monotonic
	ssrc   uint32
	seq    uint16
	ts     uint32 // timestamp of the next packet
	ts0    uint32 // random timestamp of the creation instant
	start  time.Time

	mu      sync.Mutex
	packets int
	audio   AudioBuffer
	events  []byte
	lastEv  uint32 // RTP timestamp of the last event counted
	haveEv  bool
	times   arrivals // when audio went out and came in, for RoundTrips
}

// NewRTPPeer binds a UDP socket on laddr, a loopback address ("127.0.0.1:0"
// takes any free port), and receives on it until Close or until ctx ends.
func NewRTPPeer(ctx context.Context, laddr string) (*RTPPeer, error) {
	ap, err := netip.ParseAddrPort(laddr)
	if err != nil {
		return nil, fmt.Errorf("rtp: local address %q: %w", laddr, err)
	}
	if !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("rtp: local address %s is not loopback", ap)
	}
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", ap.String())
	if err != nil {
		return nil, fmt.Errorf("rtp: %w", err)
	}
	var ids [10]byte
	if _, err := rand.Read(ids[:]); err != nil {
		_ = pc.Close()
		return nil, err
	}
	p := &RTPPeer{
		conn:  pc.(*net.UDPConn),
		done:  make(chan struct{}),
		ssrc:  binary.BigEndian.Uint32(ids[0:4]),
		seq:   binary.BigEndian.Uint16(ids[4:6]),
		ts0:   binary.BigEndian.Uint32(ids[6:10]),
		start: time.Now(),
	}
	p.ts = p.ts0
	p.stop = context.AfterFunc(ctx, func() { _ = p.conn.Close() })
	go p.receive()
	return p, nil
}

// Addr is the local address the peer receives on.
func (p *RTPPeer) Addr() netip.AddrPort {
	return p.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Close stops receiving and releases the socket; it waits for the receive
// loop to end. It may be called more than once.
func (p *RTPPeer) Close() {
	p.stop()
	_ = p.conn.Close()
	<-p.done
}

// SendTone sends d of a freq Hz sine to dst as 8 kHz G.711 (pt PayloadPCMU
// or PayloadPCMA), one 20 ms packet every 20 ms; the first packet carries
// the marker bit (start of a talkspurt).
func (p *RTPPeer) SendTone(ctx context.Context, dst netip.AddrPort, pt uint8, freq float64, d time.Duration) error {
	var enc func([]int16) []byte
	switch pt {
	case PayloadPCMU:
		enc = ULawEncode
	case PayloadPCMA:
		enc = ALawEncode
	default:
		return fmt.Errorf("rtp: payload type %d is not G.711 (0 or 8)", pt)
	}
	if err := checkDst(dst); err != nil {
		return err
	}
	pcm := Tone(freq, d, rtpClock)
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	ts := p.timestamp()
	frames := (len(pcm) + frameSamples - 1) / frameSamples
	p.ts = ts + uint32(frames*frameSamples)
	return p.paced(ctx, frames, func(i int) ([]byte, bool, uint32) {
		frame := pcm[i*frameSamples : min((i+1)*frameSamples, len(pcm))]
		return enc(frame), i == 0, ts + uint32(i*frameSamples)
	}, dst, pt)
}

// SendDTMF sends digit (0-9, *, #, A-D) to dst as one RFC 4733 event of
// duration d with payload type pt (the negotiated telephone-event type): a
// packet every 20 ms with the growing duration, the first with the marker
// bit, then the end packet three times.
func (p *RTPPeer) SendDTMF(ctx context.Context, dst netip.AddrPort, pt uint8, digit byte, d time.Duration) error {
	event, ok := eventCode(digit)
	if !ok {
		return fmt.Errorf("rtp: %q is not a DTMF digit", digit)
	}
	if pt > 127 {
		return fmt.Errorf("rtp: payload type %d out of range", pt)
	}
	if err := checkDst(dst); err != nil {
		return err
	}
	total := max(int(d/framePeriod), 1)
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	ts := p.timestamp()
	p.ts = ts + uint32(total*frameSamples)
	return p.paced(ctx, total+dtmfEndRepeat-1, func(i int) ([]byte, bool, uint32) {
		end := i >= total-1
		duration := uint16(min(i+1, total) * frameSamples)
		payload := []byte{event, dtmfVolume, 0, 0}
		if end {
			payload[1] |= 0x80
		}
		binary.BigEndian.PutUint16(payload[2:], duration)
		return payload, i == 0, ts
	}, dst, pt)
}

// timestamp is where the next burst starts: the media clock follows the
// wall clock across pauses, and never goes back. Called with sendMu held.
func (p *RTPPeer) timestamp() uint32 {
	wall := p.ts0 + uint32(time.Since(p.start)/(time.Second/rtpClock))
	if int32(wall-p.ts) > 0 {
		p.ts = wall
	}
	return p.ts
}

// paced sends n packets built by packet(i) at 20 ms intervals.
func (p *RTPPeer) paced(ctx context.Context, n int, packet func(int) ([]byte, bool, uint32), dst netip.AddrPort, pt uint8) error {
	begin := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 0; i < n; i++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		payload, marker, ts := packet(i)
		hdr := make([]byte, rtpHeaderLen, rtpHeaderLen+len(payload))
		hdr[0] = rtpVersion << 6
		hdr[1] = pt
		if marker {
			hdr[1] |= 0x80
		}
		binary.BigEndian.PutUint16(hdr[2:], p.seq)
		binary.BigEndian.PutUint32(hdr[4:], ts)
		binary.BigEndian.PutUint32(hdr[8:], p.ssrc)
		p.seq++
		sentAt := time.Now() // before the write: the echo may be back before it returns
		if _, err := p.conn.WriteToUDPAddrPort(append(hdr, payload...), dst); err != nil {
			return fmt.Errorf("rtp: send to %s: %w", dst, err)
		}
		p.noteSent(pt, sentAt)
		timer.Reset(time.Until(begin.Add(time.Duration(i+1) * framePeriod)))
	}
	return nil
}

func checkDst(dst netip.AddrPort) error {
	if !dst.IsValid() || !dst.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("rtp: destination %s is not a loopback address", dst)
	}
	return nil
}

// Received returns the decoded audio of the PCMU and PCMA packets received
// so far, in sequence-number order (duplicates dropped, gaps closed up).
func (p *RTPPeer) Received() []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.audio.PCM()
}

// Packets is the number of well-formed RTP packets received.
func (p *RTPPeer) Packets() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.packets
}

// Events returns the RFC 4733 DTMF digits received, one per event.
func (p *RTPPeer) Events() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}

func (p *RTPPeer) receive() {
	defer close(p.done)
	buf := make([]byte, maxDatagram)
	for {
		n, _, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP port unreachable reported on a later read
		}
		p.handle(buf[:n])
	}
}

// rtpPacket is the part of an RTP packet the peer uses.
type rtpPacket struct {
	pt      uint8
	seq     uint16
	ts      uint32
	payload []byte
}

// parseRTP checks an RTP packet (RFC 3550 5.1): version 2, CSRCs, header
// extension and padding inside the datagram.
func parseRTP(b []byte) (rtpPacket, error) {
	if len(b) < rtpHeaderLen {
		return rtpPacket{}, errors.New("shorter than an RTP header")
	}
	if b[0]>>6 != rtpVersion {
		return rtpPacket{}, fmt.Errorf("RTP version %d", b[0]>>6)
	}
	off := rtpHeaderLen + 4*int(b[0]&0x0F)
	if b[0]&0x10 != 0 { // header extension: 16-bit profile, 16-bit length in words
		if len(b) < off+4 {
			return rtpPacket{}, errors.New("truncated header extension")
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
	}
	end := len(b)
	if b[0]&0x20 != 0 { // padding: the last byte counts the padding bytes
		if int(b[end-1]) == 0 {
			return rtpPacket{}, errors.New("invalid padding")
		}
		end -= int(b[end-1])
	}
	if off > end {
		return rtpPacket{}, errors.New("header longer than the packet")
	}
	return rtpPacket{
		pt:      b[1] & 0x7F,
		seq:     binary.BigEndian.Uint16(b[2:]),
		ts:      binary.BigEndian.Uint32(b[4:]),
		payload: b[off:end],
	}, nil
}

func (p *RTPPeer) handle(b []byte) {
	pkt, err := parseRTP(b)
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.packets++
	p.noteReceived(pkt.pt)
	if pcm, ok := DecodeG711(pkt.pt, pkt.payload); ok {
		p.audio.Add(pkt.seq, pcm)
		return
	}
	switch {
	case pkt.pt >= 96 && len(pkt.payload) >= 4: // dynamic: telephone-event
		if digit, ok := eventDigit(pkt.payload[0]); ok && (!p.haveEv || pkt.ts != p.lastEv) {
			p.events = append(p.events, digit)
			p.lastEv, p.haveEv = pkt.ts, true
		}
	}
}

const dtmfDigits = "0123456789*#ABCD"

func eventCode(digit byte) (byte, bool) {
	if digit >= 'a' && digit <= 'd' {
		digit -= 'a' - 'A'
	}
	for i := 0; i < len(dtmfDigits); i++ {
		if dtmfDigits[i] == digit {
			return byte(i), true
		}
	}
	return 0, false
}

func eventDigit(code byte) (byte, bool) {
	if int(code) >= len(dtmfDigits) {
		return 0, false
	}
	return dtmfDigits[code], true
}
