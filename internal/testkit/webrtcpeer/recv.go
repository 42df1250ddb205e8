package webrtcpeer

import (
	"github.com/pion/webrtc/v4"

	"fargo.dev/fargo/internal/rtpprobe"
)

// onTrack reads a remote track until the peer closes. pion runs it on a
// goroutine of its own, which Close waits for through p.wg.
func (p *Peer) onTrack(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		return
	}
	p.wg.Add(1) // under p.mu and before closing: never after Close's Wait began
	p.mu.Unlock()
	defer p.wg.Done()
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return // closed
		}
		p.mu.Lock()
		p.packets++
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			p.videoPackets[pkt.SSRC]++
		}
		if pcm, ok := rtpprobe.DecodeG711(pkt.PayloadType, pkt.Payload); ok {
			p.audio.Add(pkt.SequenceNumber, pcm)
		}
		p.changedLocked()
		p.mu.Unlock()
	}
}

// Received returns the decoded audio of the PCMU and PCMA packets received
// so far, in sequence-number order (like rtpprobe.RTPPeer.Received).
func (p *Peer) Received() []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.audio.PCM()
}

// Packets is the number of RTP packets received (after SRTP).
func (p *Peer) Packets() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.packets
}
