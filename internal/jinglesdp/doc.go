// Package jinglesdp owns the translation between Jingle RTP contents
// (XEP-0166/0167 with ICE-UDP, raw-UDP and DTLS transports) and SDP offers
// and answers (RFC 8866, RFC 3264), field by field as protocol-map §3
// describes: payload types, directions, transports, candidates,
// fingerprints, header extensions, sources and grouping. It also answers
// the codec questions of a negotiation (Intersect, CheckAnswer, Codecs) and
// holds the direction rules of hold and resume.
//
// Every function is pure: SDP bodies and Jingle structs in, SDP bodies and
// Jingle structs out. Nothing here knows about calls, sessions or sockets;
// the call core keeps the per-leg state (Origin, the peer's Media).
//
// Tier 0, pure: it imports only the standard library, github.com/pion/sdp/v3
// (the SDP grammar) and internal/jingle, and does no I/O.
package jinglesdp
