package rtpprobe

import (
	"slices"
	"time"
)

// arrivals keeps when each G.711 packet was sent and received. An echo
// rewrites sequence numbers, timestamps and SSRC, and a steady tone gives
// every packet the same payload, so nothing in a packet says which one it
// answers; on loopback nothing is lost or reordered, so the n-th packet
// back answers the n-th sent.
type arrivals struct {
	sent, received []time.Time
}

// noteSent records a packet sent at at; called with sendMu held.
func (p *RTPPeer) noteSent(pt uint8, at time.Time) {
	if !isG711(pt) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.times.sent = append(p.times.sent, at)
}

// noteReceived records a packet just received; called with mu held.
func (p *RTPPeer) noteReceived(pt uint8) {
	if isG711(pt) {
		p.times.received = append(p.times.received, time.Now())
	}
}

func isG711(pt uint8) bool { return pt == PayloadPCMU || pt == PayloadPCMA }

// RoundTrips pairs the n-th G.711 packet received with the n-th sent and
// returns each pair's delay, for a peer whose stream is echoed back
// (packets received before any was sent are not answers and make this
// meaningless). Negative pairs, which only a lossy path produces, are
// dropped.
func (p *RTPPeer) RoundTrips() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := min(len(p.times.sent), len(p.times.received))
	out := make([]time.Duration, 0, n)
	for i := range n {
		if d := p.times.received[i].Sub(p.times.sent[i]); d >= 0 {
			out = append(out, d)
		}
	}
	return out
}

// Median is the middle of ds (0 for none): a round-trip figure a single
// scheduling hiccup does not move.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
