package gateway

import "sync/atomic"

// stats are the gateway's counters; internal/metrics reads them through
// Stats so the core carries no metrics library.
type stats struct {
	stanzasIn, stanzasOut, errorsSent atomic.Uint64
	registered                        atomic.Int64 // users with a standing SIP binding
	registerOK, registerFailed        atomic.Uint64
	validationsFailed                 atomic.Uint64
	commands                          atomic.Uint64
	callsStarted, callsAnswered       atomic.Uint64
	callsFailed, callsRefused         atomic.Uint64
	latency                           [latencyPhases]latencyHist
}

// Stats is a snapshot of the gateway's counters.
type Stats struct {
	StanzasIn, StanzasOut, ErrorsSent uint64
	SIPRegistered                     int64
	RegisterOK, RegisterFailed        uint64
	ValidationsFailed                 uint64
	Commands                          uint64
	Users                             int
	CallsActive                       int64
	CallsStarted, CallsAnswered       uint64
	CallsFailed, CallsRefused         uint64
	// Latency is the gateway's own share of call setup, per LatencyPhase.
	Latency [latencyPhases]LatencyHistogram
}

// Stats returns the current counters.
func (g *Gateway) Stats() Stats {
	g.mu.Lock()
	n := len(g.users)
	g.mu.Unlock()
	st := Stats{
		StanzasIn: g.stats.stanzasIn.Load(), StanzasOut: g.stats.stanzasOut.Load(), ErrorsSent: g.stats.errorsSent.Load(),
		SIPRegistered: g.stats.registered.Load(),
		RegisterOK:    g.stats.registerOK.Load(), RegisterFailed: g.stats.registerFailed.Load(),
		ValidationsFailed: g.stats.validationsFailed.Load(), Commands: g.stats.commands.Load(),
		Users:       n,
		CallsActive: g.activeCalls.Load(), CallsStarted: g.stats.callsStarted.Load(),
		CallsAnswered: g.stats.callsAnswered.Load(), CallsFailed: g.stats.callsFailed.Load(),
		CallsRefused: g.stats.callsRefused.Load(),
	}
	for p := range st.Latency {
		st.Latency[p] = g.stats.latency[p].snapshot()
	}
	return st
}

// observe counts a registration state change.
func (s *stats) observe(ev RegEvent) {
	switch ev.Phase {
	case PhaseRegistered:
		s.registerOK.Add(1)
	case PhaseFailed:
		s.registerFailed.Add(1)
	}
}
