package webrtcpeer

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"fargo.dev/fargo/internal/rtpprobe"
)

const (
	clockRate    = 8000 // G.711
	framePeriod  = 20 * time.Millisecond
	frameSamples = clockRate / 50
)

// audioTrack is the outgoing audio. pion's own tracks fix their codec when
// made; this one takes the first G.711 codec of the negotiation when pion
// binds it, as a client encodes with whatever the answer chose.
type audioTrack struct {
	bound chan struct{} // closed by the first Bind

	mu    sync.Mutex
	once  sync.Once
	codec webrtc.RTPCodecParameters
	ssrc  uint32
	out   webrtc.TrackLocalWriter
}

func newAudioTrack() *audioTrack { return &audioTrack{bound: make(chan struct{})} }

func (t *audioTrack) ID() string                { return "audio" }
func (t *audioTrack) RID() string               { return "" }
func (t *audioTrack) StreamID() string          { return "fargo-testkit" }
func (t *audioTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeAudio }

// Bind picks the first negotiated PCMU or PCMA codec (the negotiated list
// is in the order of the answer, so its first audio codec is the one the
// call uses).
func (t *audioTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if _, ok := g711Encoder(c.MimeType); !ok {
			continue
		}
		t.mu.Lock()
		t.codec, t.ssrc, t.out = c, uint32(ctx.SSRC()), ctx.WriteStream()
		t.mu.Unlock()
		t.once.Do(func() { close(t.bound) })
		return c, nil
	}
	return webrtc.RTPCodecParameters{}, fmt.Errorf("webrtcpeer: no G.711 codec negotiated: %w", webrtc.ErrUnsupportedCodec)
}

func (t *audioTrack) Unbind(webrtc.TrackLocalContext) error {
	t.mu.Lock()
	t.out = nil
	t.mu.Unlock()
	return nil
}

func g711Encoder(mime string) (func([]int16) []byte, bool) {
	switch {
	case strings.EqualFold(mime, webrtc.MimeTypePCMU):
		return rtpprobe.ULawEncode, true
	case strings.EqualFold(mime, webrtc.MimeTypePCMA):
		return rtpprobe.ALawEncode, true
	}
	return nil, false
}

// SendCodec is the codec tones are sent with ("PCMU" or "PCMA") and its
// payload type, once negotiation chose it.
func (p *Peer) SendCodec() (name string, pt uint8, ok bool) {
	t := p.track
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.out == nil {
		return "", 0, false
	}
	return strings.TrimPrefix(t.codec.MimeType, "audio/"), uint8(t.codec.PayloadType), true
}

// SendTone waits for the connection, then sends d of a freq Hz sine (the
// tone of rtpprobe.Tone) in the negotiated G.711 codec: one 20 ms packet
// every 20 ms, the first with the marker bit, over SRTP.
func (p *Peer) SendTone(ctx context.Context, freq float64, d time.Duration) error {
	if err := p.Connected(ctx); err != nil {
		return err
	}
	t := p.track
	select {
	case <-t.bound:
	case <-ctx.Done():
		return fmt.Errorf("webrtcpeer: no codec bound: %w", ctx.Err())
	}
	t.mu.Lock()
	codec, ssrc, out := t.codec, t.ssrc, t.out
	t.mu.Unlock()
	enc, _ := g711Encoder(codec.MimeType)
	if out == nil {
		return fmt.Errorf("webrtcpeer: the sender is stopped")
	}
	pcm := rtpprobe.Tone(freq, d, clockRate)
	frames := (len(pcm) + frameSamples - 1) / frameSamples
	return paced(ctx, frames, framePeriod, func(i int, seq uint16, ts uint32) error {
		h := &rtp.Header{Version: 2, Marker: i == 0, PayloadType: uint8(codec.PayloadType),
			SequenceNumber: seq, Timestamp: ts + uint32(i*frameSamples), SSRC: ssrc}
		frame := pcm[i*frameSamples : min((i+1)*frameSamples, len(pcm))]
		if _, err := out.WriteRTP(h, enc(frame)); err != nil {
			return fmt.Errorf("webrtcpeer: send: %w", err)
		}
		return nil
	})
}

// paced calls send for frames 0..frames-1, one every period in real time
// from now, with the frame's RTP sequence number and the stream's first
// timestamp, both random (RFC 3550 §5.1), until ctx ends.
func paced(ctx context.Context, frames int, period time.Duration, send func(i int, seq uint16, ts0 uint32) error) error {
	var ids [6]byte
	if _, err := rand.Read(ids[:]); err != nil {
		return err
	}
	seq, ts := binary.BigEndian.Uint16(ids[:2]), binary.BigEndian.Uint32(ids[2:])
	begin := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := range frames {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		if err := send(i, seq+uint16(i), ts); err != nil {
			return err
		}
		timer.Reset(time.Until(begin.Add(time.Duration(i+1) * period)))
	}
	return nil
}
