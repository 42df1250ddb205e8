// Command relay-bench is the media relay load benchmark (docs/performance.md,
// "Media relay"): it sets up N concurrent calls through a relay under test,
// each call two UDP endpoints on 127.0.0.1 exchanging G.711-sized RTP at
// 50 packets/s each way, and reports offered and received packet rates,
// loss by sequence number, latency through the relay next to a direct
// loopback baseline, the relay process's CPU per relayed packet read
// from /proc/<pid>/stat, and the whole host's CPU the relay adds per
// relayed packet read from /proc/stat.
//
// Targets, run one after the other in one invocation with the same load:
//   - direct: the endpoints talk to each other (the baseline: what the
//     load generator and loopback cost without any relay);
//   - fargo: internal/media in its own process (this binary's hidden
//     "relayd" subcommand) driven over a line-based loopback TCP control
//     protocol, userspace only (media.KernelOff);
//   - fargo-kernel: the same process started with relayd -kernel
//     (media.KernelOn): its in-kernel fast path (an eBPF tc program)
//     forwards plain RTP between latched peers without waking the relay
//     process. It needs root (or CAP_BPF+CAP_NET_ADMIN) and Linux ≥ 6.6;
//     without them the relay fails to start and so does the run, with the
//     relay's error: it is checked before the first target runs, and it
//     never falls back to userspace. It uses fargo's port range (-fargo-ports).
//     A call enters the fast path once both peers have latched and the
//     relay's learning window is over (3 s, -fargo-learn-window): -ramp
//     must be longer for the window to measure the fast path alone (the
//     tool warns otherwise; relay_kernel_packet_count shows the share).
//   - rtpengine: Debian's rtpengine-daemon in userspace-only mode, driven
//     over its ng protocol (bencode over UDP), as the reference.
//
// CPU per packet, two figures per relay target:
//   - relay_cpu_us_per_packet ("relay µs/pkt"): the relay process's own
//     user+system CPU over the window / packets received through it;
//   - host_delta_us_per_packet ("host Δ µs/pkt"): the host's busy
//     CPU-seconds over the window (all CPUs, /proc/stat) less those of the
//     direct run at the same N (scaled to the same window length), per
//     relayed packet (packets received in the window). It is the total CPU
//     the relay adds to the machine per relayed packet, wherever the kernel
//     charges it: the relay process, softirq run in the context of the
//     processes sending to the relay (the generator), ksoftirqd. It is the
//     honest figure for fargo-kernel, whose forwarding runs in softirq
//     charged mostly to the senders, not to the relay process, and it also
//     counts the second loopback hop of every relayed packet. It is only
//     given when the invocation has a direct run at the same N, and it is
//     as noisy as the host's other load ("other cores" of both runs).
//
// The relay's own packet counter over the window is reported next to the
// receivers' count (relay_own_packet_count), and for fargo the part of it
// its in-kernel fast path forwarded (relay_kernel_packet_count, 0 for the
// userspace target).
//
// It is a tool, not part of the gateway: it imports internal/media (to
// serve as the fargo relay process) and the standard library only.
// bench/relay.sh builds and runs it.
package main
