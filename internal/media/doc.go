// Package media relays one call's RTP between the gateway's two sides when
// the endpoints cannot talk to each other directly (protocol-map §0, mode
// B): on the XMPP side an ICE-UDP + DTLS-SRTP leg with rtcp-mux (what
// Conversations, Monal and browsers insist on) or a raw-UDP leg; on the
// SIP side an RTP/AVP leg with RTCP on port+1 and symmetric RTP (latching
// onto the address media really comes from), plain or, when the SIP side
// offers it, keyed with SDES-SRTP (RFC 4568, RTPLeg.SetSRTP). Packets are
// relayed without transcoding (SRTP is decrypted on the way in and
// encrypted on the way out, per leg); payload types are renumbered where
// the two sides' numbers differ; telephone-event is carried like any
// payload.
//
// A Relay owns the port range, the DTLS certificate (one per process), the
// limits, the counters and the pollers; a Session is one call with one leg
// per side. The RTP legs' sockets are raw descriptors served by the
// pollers' own epoll sets (a packet costs one recvfrom and one sendto);
// an ICE leg's socket is pion's, read through Go's netpoller. Linux only:
// elsewhere NewRelay fails.
// Every socket and goroutine of a session is released by Session.Close,
// on every ending path (hang-up, idle media, DTLS failure, shutdown).
//
// With Config.Kernel, a call whose packets need nothing but forwarding
// (plain RTP on both sides, the same payload numbers, both peers latched)
// leaves the pollers for the kernel: an eBPF program at the interfaces'
// ingress rewrites and forwards its packets (kernel_linux.go,
// kernel_prog_linux.go, offload.go).
//
// Tier 1 engine: it imports the standard library, pion (ice, dtls, srtp,
// rtp, rtcp) and cilium/ebpf only; it knows nothing of Jingle, SDP or
// SIP. The gateway reaches it through an adapter in internal/app.
package media
