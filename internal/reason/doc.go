// Package reason owns the mapping between SIP status codes, RFC 3326
// Reason headers, Jingle <reason/> conditions and XMPP stanza errors
// (protocol-map §4). No standard maps SIP codes to Jingle reasons; the
// choices follow what clients show (Conversations' reasonToState).
//
// Tier 0, pure: it imports the standard library, internal/jingle and
// internal/stanza, and does no I/O.
package reason
