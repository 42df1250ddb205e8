package rtpprobe

import (
	"math"
	"time"
)

// ToneAmplitude is the peak of the tones Tone makes: half of full scale
// (-6 dBFS, like `sox … synth sine … gain -6`), far from clipping in G.711.
const ToneAmplitude = 16384

// Tone returns d of a sine at freq Hz, sampled at rate Hz.
func Tone(freq float64, d time.Duration, rate int) []int16 {
	n := int(d.Seconds() * float64(rate))
	out := make([]int16, n)
	step := 2 * math.Pi * freq / float64(rate)
	for i := range out {
		out[i] = int16(math.Round(ToneAmplitude * math.Sin(step*float64(i))))
	}
	return out
}

// The band DominantFrequency searches: telephone audio (G.711 carries
// 300–3400 Hz; the margins keep low hums and the top edge visible).
const (
	minFrequency = 100
	maxFrequency = 3800
	coarseStep   = 5   // Hz between the frequencies of the first pass
	fineStep     = 0.5 // Hz, around the coarse peak
	frameSeconds = 0.2 // a Hann frame this long has a main lobe of ±10 Hz: wider than coarseStep
	maxFrames    = 50
)

// DominantFrequency returns the frequency (Hz) with the most energy between
// 100 and 3800 Hz, or 0 for silence. It averages the power spectra of
// Hann-windowed 200 ms frames (Welch), evaluated with the Goertzel filter
// every 5 Hz and then every 0.5 Hz around the peak, so a pure tone reads
// within ±0.5 Hz and intermittent beeps still show their pitch.
func DominantFrequency(samples []int16, rate int) float64 {
	if rate <= 0 || len(samples) == 0 {
		return 0
	}
	frames := spectralFrames(samples, rate)
	if frames == nil {
		return 0
	}
	power := func(f float64) float64 {
		var sum float64
		for _, fr := range frames {
			sum += goertzel(fr, f/float64(rate))
		}
		return sum
	}
	top := math.Min(maxFrequency, float64(rate)/2-coarseStep)
	best, bestPower := 0.0, 0.0
	for f := float64(minFrequency); f <= top; f += coarseStep {
		if p := power(f); p > bestPower {
			best, bestPower = f, p
		}
	}
	if bestPower == 0 {
		return 0
	}
	center := best
	for f := center - coarseStep; f <= center+coarseStep; f += fineStep {
		if p := power(f); p > bestPower {
			best, bestPower = f, p
		}
	}
	return best
}

// spectralFrames cuts samples into Hann-windowed frames of frameSeconds
// (one shorter frame when there is less), at most maxFrames of them spread
// over the whole signal; nil when everything is silent.
func spectralFrames(samples []int16, rate int) [][]float64 {
	size := int(frameSeconds * float64(rate))
	if size > len(samples) {
		size = len(samples)
	}
	if size < 2 {
		return nil
	}
	count := len(samples) / size
	stride := 1
	if count > maxFrames {
		stride = (count + maxFrames - 1) / maxFrames
	}
	window := make([]float64, size)
	for i := range window {
		window[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(size-1))
	}
	var frames [][]float64
	for k := 0; k < count; k += stride {
		fr := make([]float64, size)
		energy := 0.0
		for i, s := range samples[k*size : (k+1)*size] {
			fr[i] = float64(s) * window[i]
			energy += fr[i] * fr[i]
		}
		if energy > 0 {
			frames = append(frames, fr)
		}
	}
	return frames
}

// goertzel returns the power of x at the normalised frequency f (cycles
// per sample).
func goertzel(x []float64, f float64) float64 {
	w := 2 * math.Pi * f
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := v + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - coeff*s1*s2
}
