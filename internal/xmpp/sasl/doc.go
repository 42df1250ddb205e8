// Package sasl is the client side of the SASL mechanisms an XMPP client
// needs (RFC 6120 §6): SCRAM-SHA-256 and SCRAM-SHA-1 (RFC 7677, RFC 5802)
// without channel binding, and PLAIN (RFC 4616).
//
// It is pure: it turns server messages into client messages and does no
// I/O, so the XMPP link (internal/xmpp) and the test kit's client share one
// implementation and the parsers can be fuzzed on their own.
//
// Tier 1 as a sub-package of internal/xmpp: it imports only the standard
// library.
//
// Usernames are escaped as RFC 5802 §5.1 requires but not SASLprep'ed, and
// passwords are used as their UTF-8 bytes: that is exact for ASCII
// credentials, which is what the gateway's accounts use.
package sasl
