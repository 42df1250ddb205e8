package webrtcpeer

import (
	"strings"
	"testing"
	"time"
)

// TestVideo: two peers with video negotiate VP8 bundled with the audio;
// one's frames reach the other, and a PLI about them comes back to the
// sender as a keyframe request.
func TestVideo(t *testing.T) {
	a, b := newPeer(t, Config{Video: true}), newPeer(t, Config{Video: true})
	offer, answer := connect(t, a, b)
	for _, sdp := range []string{offer, answer} {
		if !strings.Contains(sdp, "m=video") || !strings.Contains(sdp, "VP8/90000") || !strings.Contains(sdp, "a=group:BUNDLE 0 1") {
			t.Fatalf("SDP without bundled VP8:\n%s", sdp)
		}
	}
	ctx := withTimeout(t)
	if err := a.SendVideo(ctx, 400*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ssrc := a.ownVideoSSRC()
	if err := b.WaitVideo(ctx, ssrc, 5); err != nil {
		t.Fatalf("%v: %d video packets from %#x", err, b.VideoPackets(ssrc), ssrc)
	}
	if err := b.RequestKeyframe(ssrc); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitKeyframeRequest(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestNoVideoByDefault(t *testing.T) {
	p := newPeer(t, Config{})
	if err := p.SendVideo(withTimeout(t), time.Second); err != ErrNoVideo {
		t.Fatalf("SendVideo without video: %v", err)
	}
	sdp, err := p.Offer()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sdp, "m=video") {
		t.Fatalf("video offered:\n%s", sdp)
	}
}
