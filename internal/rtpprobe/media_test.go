package rtpprobe

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/leakcheck"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m, 5*time.Second)) }

func TestG711KnownValues(t *testing.T) {
	for _, tc := range []struct {
		pcm                int16
		ulaw, alaw         byte
		name               string
		ulawBack, alawBack int16
	}{
		{0, 0xFF, 0xD5, "zero", 0, 8},
		{32767, 0x80, 0xAA, "max", 32124, 32256},
		{-32768, 0x00, 0x2A, "min", -32124, -32256},
		{1000, 0xCE, 0xFA, "1000", 988, 1008},
		{-1000, 0x4E, 0x7A, "-1000", -988, -1008},
	} {
		if got := LinearToULaw(tc.pcm); got != tc.ulaw {
			t.Errorf("%s: LinearToULaw(%d) = %#x, want %#x", tc.name, tc.pcm, got, tc.ulaw)
		}
		if got := ULawToLinear(tc.ulaw); got != tc.ulawBack {
			t.Errorf("%s: ULawToLinear(%#x) = %d, want %d", tc.name, tc.ulaw, got, tc.ulawBack)
		}
		if got := LinearToALaw(tc.pcm); got != tc.alaw {
			t.Errorf("%s: LinearToALaw(%d) = %#x, want %#x", tc.name, tc.pcm, got, tc.alaw)
		}
		if got := ALawToLinear(tc.alaw); got != tc.alawBack {
			t.Errorf("%s: ALawToLinear(%#x) = %d, want %d", tc.name, tc.alaw, got, tc.alawBack)
		}
	}
	// the silence codes of each law decode to (almost) zero
	if ULawToLinear(0xFF) != 0 || ULawToLinear(0x7F) != 0 || ALawToLinear(0xD5) != 8 || ALawToLinear(0x55) != -8 {
		t.Errorf("silence: μ 0xFF=%d 0x7F=%d, A 0xD5=%d 0x55=%d", ULawToLinear(0xFF), ULawToLinear(0x7F), ALawToLinear(0xD5), ALawToLinear(0x55))
	}
}

// Every code decodes to a value that encodes back to the same code, and
// the error of a round trip stays within half a quantisation step (G.711's
// steps grow with the magnitude: 1/16 of it in μ-law, counting the bias).
func TestG711RoundTrip(t *testing.T) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		if u := ULawToLinear(b); LinearToULaw(u) != b && b != 0x7F { // 0x7F and 0xFF are both zero
			t.Errorf("μ-law code %#x decodes to %d, which encodes to %#x", b, u, LinearToULaw(u))
		}
		if a := ALawToLinear(b); LinearToALaw(a) != b {
			t.Errorf("A-law code %#x decodes to %d, which encodes to %#x", b, a, LinearToALaw(a))
		}
	}
	for s := -32768; s <= 32767; s += 7 {
		v := int16(s)
		mag := math.Min(math.Abs(float64(s)), 32635)
		if e := math.Abs(float64(ULawToLinear(LinearToULaw(v))) - float64(s)); e > (mag+132)/32+1+math.Abs(float64(s))-mag {
			t.Fatalf("μ-law round trip of %d is off by %.0f", s, e)
		}
		if e := math.Abs(float64(ALawToLinear(LinearToALaw(v))) - float64(s)); e > mag/32+16 {
			t.Fatalf("A-law round trip of %d is off by %.0f", s, e)
		}
	}
	if got := ULawDecode(ULawEncode([]int16{0, 1000})); len(got) != 2 || got[1] != 988 {
		t.Fatalf("ULawDecode(ULawEncode) = %v", got)
	}
	if got := ALawDecode(ALawEncode([]int16{0, -1000})); len(got) != 2 || got[1] != -1008 {
		t.Fatalf("ALawDecode(ALawEncode) = %v", got)
	}
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func TestDominantFrequency(t *testing.T) {
	for _, freq := range []float64{440, 1000, 1002.5, 350, 3400} {
		tone := Tone(freq, 2*time.Second, 8000)
		for name, samples := range map[string][]int16{
			"linear": tone,
			"μ-law":  ULawDecode(ULawEncode(tone)),
			"A-law":  ALawDecode(ALawEncode(tone)),
		} {
			if got := DominantFrequency(samples, 8000); !near(got, freq, 2) {
				t.Errorf("%s %.1f Hz tone: DominantFrequency = %.1f", name, freq, got)
			}
		}
	}
	if got := DominantFrequency(Tone(440, time.Second, 48000), 48000); !near(got, 440, 2) {
		t.Errorf("440 Hz at 48 kHz: %.1f", got)
	}
	// a short signal (one frame shorter than 200 ms) still works
	if got := DominantFrequency(Tone(1000, 100*time.Millisecond, 8000), 8000); !near(got, 1000, 10) {
		t.Errorf("100 ms of 1 kHz: %.1f", got)
	}
	// the louder of two tones wins
	mix := Tone(600, time.Second, 8000)
	for i, s := range Tone(1500, time.Second, 8000) {
		mix[i] = mix[i]/4 + s/2
	}
	if got := DominantFrequency(mix, 8000); !near(got, 1500, 2) {
		t.Errorf("600 Hz (quiet) + 1500 Hz (loud): %.1f", got)
	}
	// Chromium's fake microphone: a 400 Hz beep of 20 ms every 500 ms,
	// which zero-crossing estimates misread
	beeps := make([]int16, 3*8000)
	beep := Tone(400, 20*time.Millisecond, 8000)
	for at := 0; at+len(beep) <= len(beeps); at += 4000 {
		copy(beeps[at:], beep)
	}
	if got := DominantFrequency(ULawDecode(ULawEncode(beeps)), 8000); !near(got, 400, 10) {
		t.Errorf("400 Hz beeps: %.1f", got)
	}
	if got := DominantFrequency(make([]int16, 8000), 8000); got != 0 {
		t.Errorf("silence: %.1f, want 0", got)
	}
	if got := DominantFrequency(nil, 8000); got != 0 {
		t.Errorf("no samples: %.1f, want 0", got)
	}
}

func TestWAVRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tone.wav")
	tone := Tone(1000, 500*time.Millisecond, 8000)
	if err := WriteWAV(path, tone, 8000); err != nil {
		t.Fatal(err)
	}
	got, rate, err := ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if rate != 8000 || !slices.Equal(got, tone) {
		t.Fatalf("read back %d samples at %d Hz, want %d at 8000", len(got), rate, len(tone))
	}
}

// wavBytes builds a WAV file by hand: fmt chunk (tag, channels, rate,
// bits, extra bytes), an optional other chunk, data with a given size field.
func wavBytes(tag, channels, rate, bits int, extra []byte, junk bool, data []byte, dataSize uint32) []byte {
	fmtChunk := make([]byte, 16, 16+len(extra))
	binary.LittleEndian.PutUint16(fmtChunk[0:], uint16(tag))
	binary.LittleEndian.PutUint16(fmtChunk[2:], uint16(channels))
	binary.LittleEndian.PutUint32(fmtChunk[4:], uint32(rate))
	binary.LittleEndian.PutUint32(fmtChunk[8:], uint32(rate*channels*bits/8))
	binary.LittleEndian.PutUint16(fmtChunk[12:], uint16(channels*bits/8))
	binary.LittleEndian.PutUint16(fmtChunk[14:], uint16(bits))
	fmtChunk = append(fmtChunk, extra...)
	var b []byte
	chunk := func(id string, body []byte, size uint32) {
		b = append(b, id...)
		b = binary.LittleEndian.AppendUint32(b, size)
		b = append(b, body...)
		if len(body)%2 == 1 && id != "data" {
			b = append(b, 0)
		}
	}
	b = append(b, "RIFF\x00\x00\x00\x00WAVE"...)
	chunk("fmt ", fmtChunk, uint32(len(fmtChunk)))
	if junk {
		chunk("LIST", []byte("odd"), 3)
	}
	chunk("data", data, dataSize)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

func TestParseWAVVariants(t *testing.T) {
	pcm := func(v ...int16) []byte {
		var b []byte
		for _, s := range v {
			b = binary.LittleEndian.AppendUint16(b, uint16(s))
		}
		return b
	}
	// extensible header: cbSize 22, valid bits, channel mask, sub-format GUID (PCM)
	ext := []byte{22, 0, 16, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71}
	stereo := pcm(100, 300, -100, -300, 32767, 32767)
	for _, tc := range []struct {
		name string
		file []byte
		want []int16
		rate int
	}{
		{"stereo averaged", wavBytes(wavPCM, 2, 48000, 16, nil, false, stereo, uint32(len(stereo))), []int16{200, -200, 32767}, 48000},
		{"extensible", wavBytes(wavExtensible, 2, 8000, 16, ext, false, stereo, uint32(len(stereo))), []int16{200, -200, 32767}, 8000},
		{"odd chunk before data", wavBytes(wavPCM, 1, 8000, 16, nil, true, pcm(1, 2), 4), []int16{1, 2}, 8000},
		{"unfinished header (size 0)", wavBytes(wavPCM, 1, 8000, 16, nil, false, pcm(5, 6, 7), 0), []int16{5, 6, 7}, 8000},
		{"size past the end", wavBytes(wavPCM, 1, 8000, 16, nil, false, pcm(5, 6), 0xFFFFFFFF), []int16{5, 6}, 8000},
		{"μ-law", wavBytes(wavULaw, 1, 8000, 8, nil, false, []byte{0xFF, 0xCE}, 2), []int16{0, 988}, 8000},
		{"A-law", wavBytes(wavALaw, 1, 8000, 8, nil, false, []byte{0xD5, 0xFA}, 2), []int16{8, 1008}, 8000},
	} {
		got, rate, err := parseWAV(tc.file)
		if err != nil || rate != tc.rate || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v at %d Hz, %v; want %v at %d Hz", tc.name, got, rate, err, tc.want, tc.rate)
		}
	}
	for _, tc := range []struct {
		name, want string
		file       []byte
	}{
		{"not RIFF", "not a RIFF/WAVE", []byte("RIFX0000WAVEfmt ")},
		{"empty", "not a RIFF/WAVE", nil},
		{"24-bit", "unsupported encoding", wavBytes(wavPCM, 1, 8000, 24, nil, false, make([]byte, 6), 6)},
		{"float", "unsupported encoding", wavBytes(3, 1, 8000, 32, nil, false, make([]byte, 8), 8)},
		{"no channels", "0 channels", wavBytes(wavPCM, 0, 8000, 16, nil, false, nil, 0)},
		{"no data", "no data chunk", wavBytes(wavPCM, 1, 8000, 16, nil, false, nil, 0)[:36]},
		{"no fmt", "data chunk before the fmt chunk", append([]byte("RIFF\x10\x00\x00\x00WAVEdata\x02\x00\x00\x00"), 1, 2)},
		{"short fmt", "fmt chunk of 4 bytes", append([]byte("RIFF\x10\x00\x00\x00WAVEfmt \x04\x00\x00\x00"), 1, 0, 1, 0)},
		{"truncated chunk", "runs past the end", []byte("RIFF\x10\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00")},
	} {
		if _, _, err := parseWAV(tc.file); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if _, _, err := ReadWAV(filepath.Join(t.TempDir(), "missing.wav")); err == nil {
		t.Error("ReadWAV of a missing file succeeded")
	}
}

// sox writes the WAV files the peer scripts play (scripts/peers/baresip.sh
// tone); skipped without sox, except in CI where install.sh provides it.
func TestReadWAVFromSox(t *testing.T) {
	sox, err := exec.LookPath("sox")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("sox not installed; CI=true, and scripts/peers/install.sh installs it")
		}
		t.Skip("sox not installed (run scripts/peers/install.sh as root)")
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name      string
		args      []string
		freq      float64
		rate, len int
	}{
		{"8k-mono-1000.wav", []string{"-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"}, 1000, 8000, 8000},
		{"48k-stereo-440.wav", []string{"-r", "48000", "-c", "2", "-b", "16", "-e", "signed-integer"}, 440, 48000, 48000},
		{"8k-ulaw-1000.wav", []string{"-r", "8000", "-c", "1", "-e", "u-law"}, 1000, 8000, 8000},
	} {
		path := filepath.Join(dir, tc.name)
		args := append([]string{"-n"}, tc.args...)
		args = append(args, path, "synth", "1", "sine", strconv.FormatFloat(tc.freq, 'f', -1, 64), "gain", "-6")
		if out, err := exec.Command(sox, args...).CombinedOutput(); err != nil {
			t.Fatalf("sox %v: %v\n%s", args, err, out)
		}
		samples, rate, err := ReadWAV(path)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if rate != tc.rate || len(samples) != tc.len {
			t.Errorf("%s: %d samples at %d Hz, want %d at %d", tc.name, len(samples), rate, tc.len, tc.rate)
		}
		if got := DominantFrequency(samples, rate); !near(got, tc.freq, 2) {
			t.Errorf("%s: dominant frequency %.1f, want %.0f", tc.name, got, tc.freq)
		}
	}
}
