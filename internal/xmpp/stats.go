package xmpp

import "sync/atomic"

// Stats is a snapshot of the link's counters, read by the metrics package.
type Stats struct {
	StanzasIn  uint64 // stanzas read, including iq replies to SendIQ
	StanzasOut uint64 // stanzas flushed to the socket
	Reconnects uint64 // connection attempts after the first one
	IQTimeouts uint64 // SendIQ calls (and pings) that hit IQTimeout
	Dropped    uint64 // queued stanzas lost when a connection ended
	QueueLen   int    // stanzas waiting in the current connection's queue
	Connected  bool
}

// counters are the atomic cells behind Stats.
type counters struct {
	in, out, reconnects, iqTimeouts, dropped atomic.Uint64
}

// Stats returns the current counters. It is cheap and safe to call from
// any goroutine.
func (l *Link) Stats() Stats {
	s := Stats{
		StanzasIn:  l.stats.in.Load(),
		StanzasOut: l.stats.out.Load(),
		Reconnects: l.stats.reconnects.Load(),
		IQTimeouts: l.stats.iqTimeouts.Load(),
		Dropped:    l.stats.dropped.Load(),
	}
	if c := l.cur.Load(); c != nil {
		s.QueueLen = len(c.out)
		s.Connected = true
	}
	return s
}
