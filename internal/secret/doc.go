// Package secret owns the sealing of secrets at rest (SIP digest passwords in
// the store) with AES-256-GCM, and the key file that holds the sealing key.
//
// Tier 1: it does I/O, but only to read or create the key file. It may
// import only the standard library. It knows nothing of XMPP, SIP or the
// store's schema: callers choose the associated data that binds a sealed
// value to its context (the store uses the bare JID).
package secret
