package main

import (
	"context"
	"net/netip"
)

// target is a relay under test (or none, for the direct baseline).
type target interface {
	name() string
	// pid is the relay's process, whose CPU is measured; 0 for none.
	pid() int
	// open sets up call i between two endpoints and returns where each
	// sends: the caller toward the relay's side facing it, the callee
	// toward the other.
	open(ctx context.Context, i int, caller, callee netip.AddrPort) (callerDst, calleeDst netip.AddrPort, err error)
	// relayed is the relay's own count of packets relayed so far, if it
	// keeps one (a cross-check of the receivers' count).
	relayed(ctx context.Context) (relayCount, bool)
	// window marks the start (true) and end (false) of the measured
	// window, e.g. to start and stop a CPU profile.
	window(ctx context.Context, start bool) error
	// closeCall ends call i; stop ends the relay and everything it holds.
	closeCall(ctx context.Context, i int) error
	stop() error
}

// relayCount is a relay's own counters, read at each edge of the window.
type relayCount struct {
	packets uint64 // relayed, both directions
	// kernel is the part of packets forwarded by an in-kernel fast path
	// (fargo's Stats.KernelPackets); hasKernel says the relay reports it.
	kernel    uint64
	hasKernel bool
}

// direct is no relay at all: each endpoint sends straight to the other,
// which measures what the generator and the loopback path cost alone.
type direct struct{}

func (direct) name() string { return "direct" }
func (direct) pid() int     { return 0 }
func (direct) open(_ context.Context, _ int, caller, callee netip.AddrPort) (netip.AddrPort, netip.AddrPort, error) {
	return callee, caller, nil
}
func (direct) relayed(context.Context) (relayCount, bool) { return relayCount{}, false }
func (direct) window(context.Context, bool) error         { return nil }
func (direct) closeCall(context.Context, int) error       { return nil }
func (direct) stop() error                                { return nil }
