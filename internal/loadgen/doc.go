// Package loadgen is `fargo bench`: an open-loop load generator for a
// running gateway. It creates users on a real XMPP server (in-band
// registration), registers their SIP accounts with the gateway (XEP-0077),
// brings them online at a set rate (each available presence becomes a SIP
// REGISTER), then offers calls at a set rate per step, each held for a set
// time: XMPP → SIP (Jingle session-initiate over raw UDP, answered by its
// own minimal SIP UAS or by SIPp) and SIP → XMPP (SIPp as UAC through the
// registrar, answered by the simulated users). Arrivals follow the clock,
// not the previous call's end, so a slow gateway shows up as latency and
// failures instead of a lower offered rate.
//
// It reports logins/s, calls attempted/completed/failed per step, setup
// latency per phase, and the CPU and peak memory of the gateway, the XMPP
// server and the registrar read from /proc, as JSON and as an SVG chart.
// When the gateway serves [debug] pprof, memory per online user is also
// read as live heap after a forced GC (heap.go), without garbage.
//
// Tier 3. It imports internal/stanza and internal/jingle, and starts SIPp
// as a child process; it never imports the gateway: it is a client of it,
// over the same protocols as real users. Simulated users are lean c2s
// connections of its own (conn.go): one goroutine and a few KiB each, so
// that 100,000 of them fit beside the servers on one machine.
package loadgen
