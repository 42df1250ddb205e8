// Package reason owns the mapping between SIP final responses and Reason
// headers (RFC 3261, RFC 3326), Jingle <reason/> conditions (XEP-0166
// §7.4) and XMPP stanza errors (RFC 6120, RFC 7247 §7), as protocol-map
// §4 tables it: what a caller sees when the SIP callee rejects, what a SIP
// caller gets when the XMPP callee declines or errors, and the Reason
// header of the BYE and CANCEL the gateway sends.
//
// No standard maps SIP codes to Jingle reasons; those rows are the
// gateway's policy, chosen for what clients display. The stanza-error rows
// follow RFC 7247 Tables 2 and 3 with the overrides protocol-map §4.2
// explains.
//
// Tier 0, pure: it imports only the standard library, internal/jingle and
// internal/stanza, and does no I/O.
package reason
