package media

import "sync/atomic"

// counters are the relay's Stats as atomics. The per-packet ones sit on
// their own cache line, away from the per-session ones, since every reader
// goroutine of every session bumps them.
type counters struct {
	packets, bytes, lost, dropped atomic.Uint64
	_                             [32]byte

	active                          atomic.Int64
	total, refused, dtlsFail, idles atomic.Uint64
	kernelPackets                   atomic.Uint64
	kernelSessions                  atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		SessionsActive:  int(c.active.Load()),
		SessionsTotal:   c.total.Load(),
		SessionsRefused: c.refused.Load(),
		Packets:         c.packets.Load(),
		Bytes:           c.bytes.Load(),
		Lost:            c.lost.Load(),
		Dropped:         c.dropped.Load(),
		DTLSFailures:    c.dtlsFail.Load(),
		IdleTimeouts:    c.idles.Load(),
		KernelPackets:   c.kernelPackets.Load(),
		KernelSessions:  int(c.kernelSessions.Load()),
	}
}

// addLost applies a lossTracker delta; a late packet takes back (-1) a loss
// counted before, so the unsigned counter never goes below what was added.
func (c *counters) addLost(d int64) {
	if d != 0 {
		c.lost.Add(uint64(d))
	}
}
