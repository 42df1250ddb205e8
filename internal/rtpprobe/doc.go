// Package rtpprobe is an RTP test and demo endpoint: it checks the audio
// that crosses a call. `fargo demo` uses it to send a tone through the
// gateway and hear what comes back; the end-to-end tests and the test kit
// use it the same way. It owns G.711 μ-law and A-law coding, test tones and
// the measure of their frequency (the peak of a spectrum, never a
// zero-crossing count: Chromium's fake microphone beeps 20 ms every 500 ms
// and fools rough estimates), WAV files (PCM16 as sox and baresip's sndfile
// write them), and a minimal RTP peer (RFC 3550) that sends tones and
// RFC 4733 DTMF events over loopback UDP, decodes what it receives and
// times the round trip of an echoed stream.
//
// Tier 1: it imports only the standard library.
package rtpprobe
