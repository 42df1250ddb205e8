// Package xmpp owns the gateway's XMPP stream links. A Link is either the
// XEP-0114 component link between the gateway and its XMPP server, or, with
// Config.Client, an ordinary client connection (c2s, RFC 6120) for the echo
// bot, the demo client and the load generator. Both share dialling, the
// read loop, a bounded write queue with backpressure, iq tracking with
// timeouts, whitespace keepalive with an XEP-0199 ping watchdog, and
// reconnection with exponential backoff and jitter; they differ only in how
// a connection is set up and in what Send accepts:
//   - component: stream header and <handshake/> with the shared secret;
//     every stanza must come from the component's domain and name a 'to'.
//   - client: the address from DNS SRV (_xmpp-client._tcp) unless given,
//     STARTTLS per TLSPolicy, SASL (SCRAM-SHA-256, SCRAM-SHA-1, PLAIN only
//     over TLS or with TLS disabled; see the sasl sub-package), stream
//     restart, resource binding and the legacy session when required;
//     'from' must be empty or the bound JID, 'to' may be empty. A refused
//     login reports ErrAuthFailed through OnConnectError.
//
// Tier 1: it imports only the standard library, internal/stanza and its
// own sub-packages. It knows nothing of SIP, the store or gateway logic; it
// moves stanzas.
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
