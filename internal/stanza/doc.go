// Package stanza owns the XMPP stanza envelope (iq, message, presence as read
// off a component stream), typed stanza errors that marshal to RFC 6120 XML,
// and small helpers to build replies.
//
// Tier 0: pure code, no goroutines, no I/O. It may import only the standard
// library and mellium.im/xmpp/jid. It knows nothing of SIP or of the gateway.
package stanza
