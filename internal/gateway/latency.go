package gateway

import (
	"sync/atomic"
	"time"
)

// LatencyPhase names a stretch of a call's setup that is the gateway's own
// work: from a message's arrival to the message it causes on the other side.
// The peers' and the network's time is never inside one, which is what
// lets an operator (and `fargo bench`) tell the gateway's share of the setup
// delay from the XMPP server's and the SIP side's.
type LatencyPhase int

// The phases measured.
const (
	// PhaseInitiateToInvite: a user's session-initiate read off the link →
	// the INVITE handed to the SIP layer. Calls that wait for the client's
	// trickled candidates (direct ICE offers) are not counted.
	PhaseInitiateToInvite LatencyPhase = iota
	// PhaseOKToAccept: the 200 to our INVITE → the session-accept queued
	// for the user's device.
	PhaseOKToAccept
	// PhaseAcceptToOK: a device's session-accept read off the link → the
	// 200 to the caller's INVITE handed to the SIP layer.
	PhaseAcceptToOK
	latencyPhases
)

// LatencyBuckets are the histograms' upper bounds, in seconds: fine below
// the 2 ms the gateway aims for, coarse above.
var LatencyBuckets = [...]float64{0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}

// String is the phase's metric label.
func (p LatencyPhase) String() string {
	switch p {
	case PhaseInitiateToInvite:
		return "session_initiate_to_invite"
	case PhaseOKToAccept:
		return "ok_to_session_accept"
	case PhaseAcceptToOK:
		return "session_accept_to_ok"
	}
	return "unknown"
}

// latencyHist is a lock-free histogram over LatencyBuckets (the last
// counter is +Inf).
type latencyHist struct {
	counts [len(LatencyBuckets) + 1]atomic.Uint64
	sumNs  atomic.Uint64
}

func (h *latencyHist) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(LatencyBuckets) && s > LatencyBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNs.Add(uint64(max(d, 0)))
}

// LatencyHistogram is a snapshot of one phase: Counts[i] is the number of
// observations in bucket i (not cumulative), the last one above 1 s.
type LatencyHistogram struct {
	Counts []uint64
	Sum    time.Duration
}

func (h *latencyHist) snapshot() LatencyHistogram {
	out := LatencyHistogram{Counts: make([]uint64, len(h.counts)), Sum: time.Duration(h.sumNs.Load())}
	for i := range h.counts {
		out.Counts[i] = h.counts[i].Load()
	}
	return out
}

// observeSince records the phase that began at start; a zero start (the
// phase included waiting for a peer) records nothing.
func (g *Gateway) observeSince(p LatencyPhase, start time.Time) {
	if start.IsZero() {
		return
	}
	g.stats.latency[p].observe(time.Since(start))
}
