package rtpprobe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// WAVE format tags (RIFF fmt chunk).
const (
	wavPCM        = 1
	wavALaw       = 6
	wavULaw       = 7
	wavExtensible = 0xFFFE
)

// ReadWAV reads a RIFF/WAVE file of 16-bit PCM (plain or
// WAVE_FORMAT_EXTENSIBLE, as sox and libsndfile write them) or G.711 A-law
// or μ-law, and returns its samples, the channels averaged into one, and
// its sample rate. A file still being written (a data chunk whose size is
// 0 or runs past the end) yields the samples present so far.
func ReadWAV(path string) (samples []int16, rate int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	samples, rate, err = parseWAV(b)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return samples, rate, nil
}

type wavFormat struct {
	tag, channels, bits int
	rate                int
}

func parseWAV(b []byte) ([]int16, int, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, errors.New("not a RIFF/WAVE file")
	}
	var (
		format *wavFormat
		data   []byte
	)
	for off := 12; off+8 <= len(b); {
		id := string(b[off : off+4])
		size := int(binary.LittleEndian.Uint32(b[off+4 : off+8]))
		body := off + 8
		end := body + size
		if id == "data" && (size == 0 || end > len(b) || end < body) {
			end = len(b) // header not finalised yet: take what was written
		}
		if end > len(b) || end < body {
			return nil, 0, fmt.Errorf("chunk %q runs past the end of the file", id)
		}
		switch id {
		case "fmt ":
			f, err := parseFmt(b[body:end])
			if err != nil {
				return nil, 0, err
			}
			format = f
		case "data":
			if format == nil {
				return nil, 0, errors.New("data chunk before the fmt chunk")
			}
			data = b[body:end]
		}
		if data != nil {
			break
		}
		off = end + size%2 // chunks are padded to an even length
	}
	if format == nil {
		return nil, 0, errors.New("no fmt chunk")
	}
	if data == nil {
		return nil, 0, errors.New("no data chunk")
	}
	return toMono(data, format), format.rate, nil
}

func parseFmt(c []byte) (*wavFormat, error) {
	if len(c) < 16 {
		return nil, fmt.Errorf("fmt chunk of %d bytes", len(c))
	}
	f := &wavFormat{
		tag:      int(binary.LittleEndian.Uint16(c[0:2])),
		channels: int(binary.LittleEndian.Uint16(c[2:4])),
		rate:     int(binary.LittleEndian.Uint32(c[4:8])),
		bits:     int(binary.LittleEndian.Uint16(c[14:16])),
	}
	if f.tag == wavExtensible {
		// cbSize, valid bits, channel mask, then the sub-format GUID whose first two bytes are the tag
		if len(c) < 26 {
			return nil, errors.New("WAVE_FORMAT_EXTENSIBLE without a sub-format")
		}
		f.tag = int(binary.LittleEndian.Uint16(c[24:26]))
	}
	if f.channels < 1 || f.rate < 1 {
		return nil, fmt.Errorf("%d channels at %d Hz", f.channels, f.rate)
	}
	switch {
	case f.tag == wavPCM && f.bits == 16:
	case (f.tag == wavALaw || f.tag == wavULaw) && f.bits == 8:
	default:
		return nil, fmt.Errorf("unsupported encoding: format tag %d, %d bits (want 16-bit PCM or G.711)", f.tag, f.bits)
	}
	return f, nil
}

// toMono decodes whole frames and averages their channels.
func toMono(data []byte, f *wavFormat) []int16 {
	width := f.bits / 8
	frame := width * f.channels
	out := make([]int16, len(data)/frame)
	for i := range out {
		sum := 0
		for ch := 0; ch < f.channels; ch++ {
			p := data[i*frame+ch*width:]
			switch f.tag {
			case wavPCM:
				sum += int(int16(binary.LittleEndian.Uint16(p)))
			case wavALaw:
				sum += int(ALawToLinear(p[0]))
			case wavULaw:
				sum += int(ULawToLinear(p[0]))
			}
		}
		out[i] = int16(sum / f.channels)
	}
	return out
}

// WriteWAV writes samples as a mono 16-bit PCM WAV file at rate Hz (what
// baresip's aufile source plays with ausrc_srate 8000, ausrc_channels 1).
func WriteWAV(path string, samples []int16, rate int) error {
	dataLen := 2 * len(samples)
	b := make([]byte, 44+dataLen)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+dataLen))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], wavPCM)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(2*rate))
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(dataLen))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(s))
	}
	return os.WriteFile(path, b, 0o644)
}
