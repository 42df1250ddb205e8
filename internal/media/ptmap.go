package media

import "strings"

// ptTable renumbers payload types in one direction: t[pt] is the number
// the other side uses for the same codec, or -1 to leave pt as it is
// (same number on both sides, or a codec the other side did not list —
// we relay without transcoding, so an unknown PT is the endpoints' affair).
//
// A table is immutable once built; SetCodecs swaps in a new one, so the
// readers need no lock and a re-INVITE takes effect on the next packet.
type ptTable [128]int16

// newPTTable maps every codec of from to the first codec of to with the
// same name (any case), clock rate and channel count. It returns nil when
// no number changes, which the readers take as "pass everything".
func newPTTable(from, to []Codec) *ptTable {
	var t ptTable
	for i := range t {
		t[i] = -1
	}
	changed := false
	for _, f := range from {
		if f.PT > 127 || t[f.PT] >= 0 {
			continue
		}
		for _, c := range to {
			if c.PT <= 127 && sameCodec(f, c) {
				if c.PT != f.PT {
					t[f.PT] = int16(c.PT)
					changed = true
				}
				break
			}
		}
	}
	if !changed {
		return nil
	}
	return &t
}

func sameCodec(a, b Codec) bool {
	return a.Clock == b.Clock && channels(a) == channels(b) && strings.EqualFold(a.Name, b.Name)
}

func channels(c Codec) uint8 {
	if c.Channels == 0 {
		return 1
	}
	return c.Channels
}

// rewrite renumbers an RTP packet's payload type in place, keeping the
// marker bit (the high bit of the same byte: start of a talk spurt, first
// packet of a DTMF event).
func (t *ptTable) rewrite(pkt []byte) {
	if t == nil {
		return
	}
	if to := t[pkt[1]&0x7f]; to >= 0 {
		pkt[1] = pkt[1]&0x80 | byte(to)
	}
}

// kernelPTPairs is how many payload types the kernel fast path renumbers
// per direction (say telephone-event 101 to 126, Opus 111 to 96); a call
// that needs more stays in the process.
const kernelPTPairs = 4

// ptPairs is a ptTable as the kernel fast path takes it: (from, to)
// pairs, from 0xff where unused.
type ptPairs [2 * kernelPTPairs]byte

// pairs returns the table's renumberings; false if the kernel cannot do
// them all.
func (t *ptTable) pairs() (ptPairs, bool) {
	var p ptPairs
	for i := range kernelPTPairs {
		p[2*i] = 0xff
	}
	if t == nil {
		return p, true
	}
	n := 0
	for from, to := range t {
		if to < 0 {
			continue
		}
		if n == kernelPTPairs {
			return p, false
		}
		p[2*n], p[2*n+1] = byte(from), byte(to)
		n++
	}
	return p, true
}
