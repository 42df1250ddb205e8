package main

import (
	"log/slog"
	"os"
	"runtime/debug"
)

// serveGCPercent is the gateway's default GOGC. A call allocates a lot of
// short-lived XML and SIP garbage against a small live heap (a few KiB per
// user), so at Go's default of 100 the collector ran about every few
// hundred calls and took ~17 % of the gateway's CPU under load
// (docs/performance.md). Letting the heap grow to 3× the live data halves
// that for memory that is cheap at this heap size. GOGC or GOMEMLIMIT in
// the environment take precedence.
const serveGCPercent = 200

// tuneGC applies serveGCPercent unless the operator chose otherwise.
func tuneGC(log *slog.Logger) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(serveGCPercent)
	log.Debug("garbage collector tuned", "gogc", serveGCPercent)
}
