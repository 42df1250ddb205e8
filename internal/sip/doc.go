// Package sip owns the gateway's SIP user agent, built on sipgo: the UDP and
// TCP listeners, REGISTER with digest authentication for each user's own SIP
// account, the refresh and back-off loop that keeps a binding alive while the
// user is online, and the answers to requests that arrive on the listeners.
//
// One UA serves every account. Each account gets a Contact whose user part is
// an opaque contact token, so a request that the registrar forwards to that
// Contact can be mapped back to the user (InboundPolicy).
//
// Calls (Call) are INVITE dialogs in either direction: Invite places one,
// SetIncoming's hook receives new ones (IncomingCall). The UA keeps the
// dialog on its own, on top of sipgo's transactions rather than its dialog
// caches: digest and 422 retries, CANCEL (deferred until a provisional
// response), ACK and 2xx retransmission, route sets, RFC 4028 session
// timers, refreshes answered without the gateway. What the gateway must
// decide arrives at its CallHandler, one call's events in order.
//
// Tier 1: it owns sockets and goroutines. It may import the standard library,
// github.com/emiago/sipgo and github.com/icholy/digest, nothing from the XMPP,
// store or gateway packages. It logs through an injected *slog.Logger (and
// hands that logger to sipgo, never touching sipgo's package-level default),
// with the fixed keys "aor" and "sip_call_id". Passwords and Authorization
// headers are never logged and never appear in error texts.
package sip
