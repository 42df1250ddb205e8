package media

import "encoding/binary"

// RTCP packet types and feedback formats the echo passes back (RFC 4585
// §6, RFC 5104 §4.3.1).
const (
	ptRR    = 201
	ptRTPFB = 205 // transport-layer feedback
	ptPSFB  = 206 // payload-specific feedback

	fmtNACK = 1 // RTPFB: generic NACK
	fmtPLI  = 1 // PSFB: picture loss indication
	fmtFIR  = 4 // PSFB: full intra request

	rrPrefix = 8 // an empty receiver report: header and sender SSRC
)

// feedback turns the caller's RTCP, in place, into what the echo sends
// back: the caller's receiver asking about our streams (NACK, PLI, FIR)
// is really asking about its own, so the media source becomes the
// caller's SSRC of that stream and the packet goes back to its sender,
// whose encoder then retransmits or makes a keyframe (which we echo like
// any packet). Everything else is dropped: reports about our streams
// (SR, RR, SDES, BYE) and congestion feedback (REMB, transport-cc) would
// only mislead the caller about a path it does not have. The kept
// packets follow an empty receiver report of ours, so the result is a
// proper compound packet (RFC 4585 §3.1) whatever the caller sent. It
// returns nil when nothing is left. pkt must have room for 8 more bytes
// beyond its length (a reader's buffer has), or the report is left out.
func (e *echoState) feedback(pkt []byte) []byte {
	w := 0
	var sender uint32
	for r := 0; r+4 <= len(pkt); {
		n := (int(binary.BigEndian.Uint16(pkt[r+2:])) + 1) * 4
		if pkt[r]>>6 != 2 || r+n > len(pkt) {
			break // malformed: keep what came before it
		}
		p := pkt[r : r+n]
		r += n
		if ssrc, ok := e.rewriteFeedback(p); ok {
			if sender == 0 {
				sender = ssrc
			}
			w += copy(pkt[w:], p) // w <= the read offset: copy handles the overlap
		}
	}
	if w == 0 {
		return nil
	}
	if cap(pkt) < w+rrPrefix {
		return pkt[:w]
	}
	out := pkt[:w+rrPrefix]
	copy(out[rrPrefix:], out[:w])
	out[0], out[1] = 0x80, ptRR // V=2, no report blocks
	binary.BigEndian.PutUint16(out[2:], rrPrefix/4-1)
	binary.BigEndian.PutUint32(out[4:], sender)
	return out
}

// rewriteFeedback readdresses one RTCP packet of the caller to the
// caller's own stream and reports our SSRC it sends as (the echo stream
// it was about); false for a packet to drop: not feedback the echo
// passes, or about a stream that is not ours or whose caller SSRC is not
// known yet.
func (e *echoState) rewriteFeedback(p []byte) (uint32, bool) {
	if len(p) < 12 {
		return 0, false
	}
	format := p[0] & 0x1f
	switch {
	case p[1] == ptRTPFB && format == fmtNACK, p[1] == ptPSFB && format == fmtPLI:
		i, caller, ok := e.callerOf(binary.BigEndian.Uint32(p[8:12]))
		if !ok {
			return 0, false
		}
		binary.BigEndian.PutUint32(p[4:8], e.ssrc[i])
		binary.BigEndian.PutUint32(p[8:12], caller)
		return e.ssrc[i], true
	case p[1] == ptPSFB && format == fmtFIR:
		return e.rewriteFIR(p)
	}
	return 0, false
}

// rewriteFIR readdresses a FIR, whose targets are in its entries (SSRC,
// sequence number, 3 reserved bytes each), not in the header's media
// source, which stays 0 (RFC 5104 §4.3.1.1). The whole packet is dropped
// unless every entry is about one of our streams: an entry we cannot
// readdress would ask the caller about a stream it does not know.
func (e *echoState) rewriteFIR(p []byte) (uint32, bool) {
	fci := p[12:]
	if len(fci) == 0 || len(fci)%8 != 0 {
		return 0, false
	}
	var sender uint32
	for off := 0; off < len(fci); off += 8 {
		i, caller, ok := e.callerOf(binary.BigEndian.Uint32(fci[off:]))
		if !ok {
			return 0, false
		}
		binary.BigEndian.PutUint32(fci[off:], caller)
		if sender == 0 {
			sender = e.ssrc[i]
		}
	}
	binary.BigEndian.PutUint32(p[4:8], sender)
	binary.BigEndian.PutUint32(p[8:12], 0)
	return sender, true
}

// callerOf maps one of our SSRCs to its stream and the caller's SSRC of
// that stream.
func (e *echoState) callerOf(ours uint32) (int, uint32, bool) {
	for i, s := range e.ssrc {
		if s == ours {
			c := e.caller[i].Load()
			return i, c, c != 0
		}
	}
	return 0, 0, false
}
