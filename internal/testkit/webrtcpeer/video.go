package webrtcpeer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// VideoPT is the payload type of the VP8 a peer with Config.Video offers.
const VideoPT = 96

const (
	videoClock = 90000
	videoFrame = 40 * time.Millisecond // 25 frames/s
)

// videoCodec is VP8 with the feedback a browser offers for it (no rtx:
// NACKed packets are sent again as they were).
func videoCodec() webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{PayloadType: VideoPT, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeVP8, ClockRate: videoClock,
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}},
	}}
}

// videoSender is the outgoing video: synthetic VP8 frames, and a count
// of the keyframe requests (PLI, FIR) the other side sent about them.
type videoSender struct {
	track  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender
}

// addVideo adds a send-receive VP8 transceiver and reads its RTCP until
// the peer closes.
func (p *Peer) addVideo() error {
	track, err := webrtc.NewTrackLocalStaticRTP(videoCodec().RTPCodecCapability, "video", "fargo-testkit")
	if err != nil {
		return fmt.Errorf("webrtcpeer: video track: %w", err)
	}
	sender, err := p.pc.AddTrack(track)
	if err != nil {
		return fmt.Errorf("webrtcpeer: add video track: %w", err)
	}
	p.video = &videoSender{track: track, sender: sender}
	p.wg.Add(1)
	go p.readVideoRTCP(sender)
	return nil
}

// readVideoRTCP counts the keyframe requests about our video. pion hands
// the sender the RTCP whose media source is its SSRC.
func (p *Peer) readVideoRTCP(sender *webrtc.RTPSender) {
	defer p.wg.Done()
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return // closed
		}
		own := p.ownVideoSSRC()
		for _, pkt := range pkts {
			var about uint32
			switch fb := pkt.(type) {
			case *rtcp.PictureLossIndication:
				about = fb.MediaSSRC
			case *rtcp.FullIntraRequest:
				if len(fb.FIR) > 0 {
					about = fb.FIR[0].SSRC
				}
			default:
				continue
			}
			if about == own {
				p.mu.Lock()
				p.keyframeRequests++
				p.changedLocked()
				p.mu.Unlock()
			}
		}
	}
}

func (p *Peer) ownVideoSSRC() uint32 {
	enc := p.video.sender.GetParameters().Encodings
	if len(enc) == 0 {
		return 0
	}
	return uint32(enc[0].SSRC)
}

// ErrNoVideo is what the video methods return on a peer made without
// Config.Video.
var ErrNoVideo = errors.New("webrtcpeer: the peer has no video")

// SendVideo waits for the connection, then sends d of synthetic VP8 at
// 25 frames/s, one RTP packet per frame with the marker bit (a keyframe
// every second, by its payload header), over SRTP.
func (p *Peer) SendVideo(ctx context.Context, d time.Duration) error {
	if p.video == nil {
		return ErrNoVideo
	}
	if err := p.Connected(ctx); err != nil {
		return err
	}
	return paced(ctx, int(d/videoFrame), videoFrame, func(i int, seq uint16, ts uint32) error {
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: seq,
			Timestamp: ts + uint32(i)*videoClock/25}, Payload: vp8Frame(i%25 == 0)}
		if err := p.video.track.WriteRTP(pkt); err != nil {
			return fmt.Errorf("webrtcpeer: send video: %w", err)
		}
		return nil
	})
}

// vp8Frame is a whole small frame in one packet: the VP8 payload
// descriptor (S=1, partition 0) and a frame tag, keyframe or not (RFC
// 7741 §4.2, RFC 6386 §9.1), then filler nobody decodes.
func vp8Frame(key bool) []byte {
	b := make([]byte, 64)
	b[0] = 0x10 // S: start of partition 0
	if !key {
		b[1] = 0x01 // frame tag P bit: an interframe
	}
	return b
}

// RequestKeyframe sends a PLI about the remote video stream ssrc, as a
// decoder that lost a picture does.
func (p *Peer) RequestKeyframe(ssrc uint32) error {
	if p.video == nil {
		return ErrNoVideo
	}
	err := p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: p.ownVideoSSRC(), MediaSSRC: ssrc}})
	if err != nil {
		return fmt.Errorf("webrtcpeer: PLI: %w", err)
	}
	return nil
}

// KeyframeRequests is how many PLIs and FIRs about our video arrived.
func (p *Peer) KeyframeRequests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keyframeRequests
}

// VideoPackets is how many video RTP packets arrived with SSRC ssrc.
func (p *Peer) VideoPackets(ssrc uint32) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.videoPackets[ssrc]
}

// WaitVideo waits until n video packets with SSRC ssrc arrived.
func (p *Peer) WaitVideo(ctx context.Context, ssrc uint32, n int) error {
	return p.wait(ctx, "video packets", func() (bool, error) { return p.videoPackets[ssrc] >= n, nil })
}

// WaitKeyframeRequest waits until a PLI or FIR about our video arrived.
func (p *Peer) WaitKeyframeRequest(ctx context.Context) error {
	return p.wait(ctx, "a keyframe request", func() (bool, error) { return p.keyframeRequests > 0, nil })
}
