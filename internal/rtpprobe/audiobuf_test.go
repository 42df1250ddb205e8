package rtpprobe

import (
	"slices"
	"testing"
)

// AudioBuffer orders by sequence number across the 16-bit wrap and drops
// duplicates, as RTPPeer does.
func TestAudioBufferReorderAndWrap(t *testing.T) {
	var b AudioBuffer
	if b.PCM() != nil {
		t.Fatal("an empty buffer has audio")
	}
	for _, seq := range []uint16{65534, 0, 65535, 1, 0, 65533} {
		b.Add(seq, []int16{int16(seq % 100)})
	}
	if got, want := b.PCM(), []int16{33, 34, 35, 0, 1}; !slices.Equal(got, want) {
		t.Fatalf("PCM() = %v, want %v", got, want)
	}
}

func TestDecodeG711(t *testing.T) {
	in := []byte{LinearToULaw(1000), LinearToALaw(-1000)}
	if pcm, ok := DecodeG711(PayloadPCMU, in[:1]); !ok || pcm[0] != ULawToLinear(in[0]) {
		t.Fatalf("PCMU: %v %v", pcm, ok)
	}
	if pcm, ok := DecodeG711(PayloadPCMA, in[1:]); !ok || pcm[0] != ALawToLinear(in[1]) {
		t.Fatalf("PCMA: %v %v", pcm, ok)
	}
	if _, ok := DecodeG711(101, in); ok {
		t.Fatal("telephone-event decoded as audio")
	}
}
