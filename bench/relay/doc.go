// Command relay-bench is the media relay load benchmark (docs/performance.md,
// "Media relay"): it sets up N concurrent calls through a relay under test,
// each call two UDP endpoints on 127.0.0.1 exchanging G.711-sized RTP at
// 50 packets/s each way, and reports offered and received packet rates,
// loss by sequence number, latency through the relay next to a direct
// loopback baseline, and the relay process's CPU per relayed packet read
// from /proc/<pid>/stat.
//
// Targets, run one after the other in one invocation with the same load:
//   - direct: the endpoints talk to each other (the baseline: what the
//     load generator and loopback cost without any relay);
//   - fargo: internal/media in its own process (this binary's hidden
//     "relayd" subcommand) driven over a line-based loopback TCP control
//     protocol;
//   - rtpengine: Debian's rtpengine-daemon in userspace-only mode, driven
//     over its ng protocol (bencode over UDP), as the reference.
//
// It is a tool, not part of the gateway: it imports internal/media (to
// serve as the fargo relay process) and the standard library only.
// bench/relay.sh builds and runs it.
package main
