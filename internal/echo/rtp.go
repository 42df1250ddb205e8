package echo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"
)

// rtpHeaderLen is the fixed RTP header (RFC 3550 §5.1).
const rtpHeaderLen = 12

// listenPair opens an even RTP port and the RTCP port above it (RFC 3550
// §11: RTP on an even port, RTCP on the next one). Ephemeral ports come in
// any parity, so it tries until both fit.
func listenPair(ip netip.Addr) (rtp, rtcp *net.UDPConn, err error) {
	for range 64 {
		rtp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		if err != nil {
			return nil, nil, fmt.Errorf("echo: RTP socket on %s: %w", ip, err)
		}
		port := rtp.LocalAddr().(*net.UDPAddr).Port
		if port%2 == 0 && port < 65535 {
			rtcp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port+1))))
			if err == nil {
				return rtp, rtcp, nil
			}
		}
		_ = rtp.Close()
	}
	return nil, nil, errors.New("echo: no free even RTP port with a free RTCP port above it")
}

// looksLikeRTP accepts version 2 packets that are not RTCP: without
// rtcp-mux RTCP should not arrive here, but a confused peer's RTCP must not
// be mangled into a bogus RTP packet (RFC 5761 §4: types 200–204 are
// RTCP).
func looksLikeRTP(p []byte) bool {
	if len(p) < rtpHeaderLen || p[0]>>6 != 2 {
		return false
	}
	return p[1] < 200 || p[1] > 204
}

// rewriter gives echoed packets the echo's own SSRC and a sequence number
// and timestamp space of its own, so the caller sees a distinct source (a
// phone that drops packets with its own SSRC still plays them). Numbers
// are shifted, not regenerated: gaps, reordering and the shared timestamp
// of RFC 4733 event packets survive. When the caller's SSRC changes the
// shift is recomputed so our numbering continues monotonically.
type rewriter struct {
	ssrc     uint32
	inSSRC   uint32
	started  bool
	seqShift uint16
	tsShift  uint32
	lastSeq  uint16
	lastTS   uint32
	lastAt   time.Time
}

func newRewriter() *rewriter {
	return &rewriter{ssrc: rand.Uint32(), lastSeq: uint16(rand.Uint32()), lastTS: rand.Uint32()}
}

// rewrite changes p's SSRC, sequence number and timestamp in place; clock
// is the RTP clock rate, used to advance the timestamp across a change of
// the caller's source.
func (w *rewriter) rewrite(p []byte, clock uint32, now time.Time) {
	seq := binary.BigEndian.Uint16(p[2:4])
	ts := binary.BigEndian.Uint32(p[4:8])
	ssrc := binary.BigEndian.Uint32(p[8:12])
	if !w.started || ssrc != w.inSSRC {
		nextTS := w.lastTS + 1
		if w.started {
			nextTS = w.lastTS + max(1, uint32(now.Sub(w.lastAt).Seconds()*float64(clock)))
		}
		w.seqShift = w.lastSeq + 1 - seq
		w.tsShift = nextTS - ts
		w.inSSRC, w.started = ssrc, true
	}
	outSeq, outTS := seq+w.seqShift, ts+w.tsShift
	binary.BigEndian.PutUint16(p[2:4], outSeq)
	binary.BigEndian.PutUint32(p[4:8], outTS)
	binary.BigEndian.PutUint32(p[8:12], w.ssrc)
	if int16(outSeq-w.lastSeq) > 0 {
		w.lastSeq, w.lastTS = outSeq, outTS
	}
	w.lastAt = now
}
