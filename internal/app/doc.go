// Package app composes Fargo: it builds every subsystem from the
// configuration, adapts the concrete transports (internal/xmpp,
// internal/sip) to the interfaces the gateway core declares, runs them on
// one context and drains them on shutdown.
//
// Tier 3. It may import every internal package; only cmd/fargo imports it.
package app
