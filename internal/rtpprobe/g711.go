package rtpprobe

import "math/bits"

// G.711 (ITU-T, 1988) companding of 16-bit linear PCM, as in the
// reference implementation that every stack copies (Sun's g711.c).

const (
	ulawBias = 0x84 // added to the magnitude so that every segment has a leading one
	ulawClip = 32635
)

// LinearToULaw encodes one sample as μ-law (G.711, payload type 0).
func LinearToULaw(sample int16) byte {
	s := int(sample)
	sign := 0
	if s < 0 {
		s, sign = -s, 0x80
	}
	if s > ulawClip {
		s = ulawClip
	}
	s += ulawBias
	// the segment is the position of the highest set bit above bit 7
	exponent := bits.Len(uint(s>>7)) - 1
	if exponent < 0 {
		exponent = 0
	}
	mantissa := (s >> (exponent + 3)) & 0x0F
	return ^byte(sign | exponent<<4 | mantissa)
}

// ULawToLinear decodes one μ-law byte.
func ULawToLinear(u byte) int16 {
	u = ^u
	t := (int(u&0x0F)<<3 + ulawBias) << ((u >> 4) & 7)
	if u&0x80 != 0 {
		return int16(ulawBias - t)
	}
	return int16(t - ulawBias)
}

// aSegEnd are the upper bounds of the A-law segments (13-bit magnitude).
var aSegEnd = [8]int{0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF}

// LinearToALaw encodes one sample as A-law (G.711, payload type 8).
func LinearToALaw(sample int16) byte {
	v := int(sample) >> 3
	mask := 0xD5 // even bits inverted, sign bit set for positive values
	if v < 0 {
		mask = 0x55
		v = -v - 1
	}
	seg := 0
	for seg < len(aSegEnd) && v > aSegEnd[seg] {
		seg++
	}
	if seg == len(aSegEnd) {
		return byte(0x7F ^ mask)
	}
	a := seg << 4
	if seg < 2 {
		a |= (v >> 1) & 0x0F
	} else {
		a |= (v >> seg) & 0x0F
	}
	return byte(a ^ mask)
}

// ALawToLinear decodes one A-law byte.
func ALawToLinear(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0F) << 4
	switch seg := int(a&0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t = (t + 0x108) << (seg - 1)
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// ULawEncode encodes samples as μ-law.
func ULawEncode(samples []int16) []byte { return encode(samples, LinearToULaw) }

// ULawDecode decodes μ-law bytes.
func ULawDecode(b []byte) []int16 { return decode(b, ULawToLinear) }

// ALawEncode encodes samples as A-law.
func ALawEncode(samples []int16) []byte { return encode(samples, LinearToALaw) }

// ALawDecode decodes A-law bytes.
func ALawDecode(b []byte) []int16 { return decode(b, ALawToLinear) }

func encode(samples []int16, f func(int16) byte) []byte {
	out := make([]byte, len(samples))
	for i, s := range samples {
		out[i] = f(s)
	}
	return out
}

func decode(b []byte, f func(byte) int16) []int16 {
	out := make([]int16, len(b))
	for i, v := range b {
		out[i] = f(v)
	}
	return out
}
