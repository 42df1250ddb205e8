// Package media is tier 3 test support for the end-to-end tests: it checks
// the audio that crosses a call. It owns G.711 μ-law and A-law coding, test
// tones and the measure of their frequency (the peak of a spectrum, never a
// zero-crossing count: Chromium's fake microphone beeps 20 ms every 500 ms
// and fools rough estimates), WAV files (PCM16 as sox and baresip's sndfile
// write them), and a minimal RTP peer (RFC 3550) that sends tones and
// RFC 4733 DTMF events over loopback UDP and decodes what it receives.
//
// It imports only the standard library and is imported only by tests.
package media
