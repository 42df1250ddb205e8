// Package xmpp owns the XEP-0114 component link between the gateway and its
// XMPP server: dialling, the stream header and handshake, the read loop, a
// bounded write queue with backpressure, iq tracking with timeouts,
// whitespace keepalive with an XEP-0199 ping watchdog, and reconnection with
// exponential backoff and jitter.
//
// Tier 1: it imports only the standard library and internal/stanza. It knows
// nothing of SIP, the store or gateway logic; it moves stanzas.
//
// The package does not use mellium's session/component packages: their
// Serve contract deadlocks when a handler sends, SendIQ blocks without Serve,
// and they offer no backpressure (see shared/dependencies.md §5.2). Instead
// each connection has exactly three goroutines: a reader that decodes
// top-level elements and calls the Handler sequentially, a writer that drains
// the queue in batches, and a watchdog that pings an idle server.
//
// Concurrency contract:
//   - Handler.HandleStanza runs on the reader goroutine and must not block;
//     the gateway hands work to its own goroutines.
//   - Send and SendIQ are safe from any goroutine, including handlers
//     (Send blocks only while the queue is full, SendIQ blocks until the
//     answer, so a handler must not call SendIQ directly).
//   - Queued stanzas do not survive a disconnect: Send fails fast with
//     ErrNotConnected while the link is down and callers resynchronise from
//     Config.OnConnect.
package xmpp
