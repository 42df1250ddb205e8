package rtpprobe

import (
	"maps"
	"slices"
)

// AudioBuffer files the decoded audio of RTP packets by extended sequence
// number (RFC 3550 A.1), so that reordered packets come out in order,
// duplicates are dropped and gaps close up. It is not safe for concurrent
// use: the peer that owns it guards it.
type AudioBuffer struct {
	audio   map[int64][]int16
	haveSeq bool
	maxSeq  int64 // highest extended sequence number seen
}

// Add files pcm, the decoded payload of the packet with sequence number
// seq. The 16-bit number wraps; its extension follows the highest seen.
func (b *AudioBuffer) Add(seq uint16, pcm []int16) {
	if b.audio == nil {
		b.audio = map[int64][]int16{}
	}
	ext := int64(seq)
	if b.haveSeq {
		ext = b.maxSeq&^0xFFFF | int64(seq)
		// pick the cycle that puts seq closest to the highest number seen
		if d := ext - b.maxSeq; d > 0x8000 {
			ext -= 0x10000
		} else if d < -0x8000 {
			ext += 0x10000
		}
	}
	if !b.haveSeq || ext > b.maxSeq {
		b.maxSeq, b.haveSeq = ext, true
	}
	if _, dup := b.audio[ext]; !dup {
		b.audio[ext] = pcm
	}
}

// PCM is the audio filed so far, in sequence-number order.
func (b *AudioBuffer) PCM() []int16 {
	var out []int16
	for _, s := range slices.Sorted(maps.Keys(b.audio)) {
		out = append(out, b.audio[s]...)
	}
	return out
}

// DecodeG711 decodes the payload of a PCMU or PCMA packet; false for any
// other payload type.
func DecodeG711(pt uint8, payload []byte) ([]int16, bool) {
	switch pt {
	case PayloadPCMU:
		return ULawDecode(payload), true
	case PayloadPCMA:
		return ALawDecode(payload), true
	}
	return nil, false
}
