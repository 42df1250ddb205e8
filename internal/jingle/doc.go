// Package jingle owns the XML model of Jingle RTP calls as clients send
// them: XEP-0166 sessions, XEP-0167 RTP descriptions and session-info,
// XEP-0176 ICE-UDP and XEP-0177 raw-UDP transports, XEP-0320 DTLS
// fingerprints, XEP-0338 grouping, XEP-0339 sources, XEP-0293/0294 rtcp-fb
// and header extensions, XEP-0181 DTMF, XEP-0353 Jingle Message Initiation,
// and the <reason/> element.
//
// The types decode what real clients send, quirks included (see the
// fixtures in testdata), and marshal back to the same model. Decode,
// ChildNames and AppendXML do that without encoding/xml's reflection and
// allocations, with exactly its results (differential tests and fuzz
// targets hold them to it): the gateway reads and writes every Jingle iq
// through them. Semantics
// (what a field means for SDP, which reason maps to which SIP status) live
// in other packages; this one only checks that a stanza is well formed
// enough to act on (Validate).
//
// Tier 0, pure: it imports only the standard library and does no I/O.
package jingle
