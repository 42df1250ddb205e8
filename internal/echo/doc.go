// Package echo is a SIP echo service, like echo@iptel.org: a SIP user
// agent (sip:echo@host:port) that answers every INVITE addressed to its
// one user and sends each RTP packet it receives back to the address it
// came from, so a caller hears itself and can check its audio path, NAT
// and codecs without a second person. It can keep itself REGISTERed with a
// registrar so calls routed by that registrar to its Contact reach it, and
// it can itself be a small registrar for a few configured accounts
// (registrar.go), so a gateway user's SIP account can be registered with
// no other SIP server (`fargo demo`).
//
// It never decodes audio: it answers the first of PCMU, PCMA, G722 and
// opus the offer lists (plus telephone-event, whose RFC 4733 packets are
// echoed like audio) and rewrites only the RTP header (its own SSRC,
// sequence numbers and timestamps). Media is plain RTP/AVP only for now:
// offers that require SRTP (RTP/SAVP, DTLS) are refused with 488, and so
// are INVITEs without an offer. Every call ends with the caller's BYE, or
// with ours after a maximum duration or when the service stops; its
// sockets and goroutines are released then.
//
// Tier 2 product: it builds on internal/sip's user agent and may import
// the standard library, internal/sip, pion/sdp, and sipgo's message types
// and icholy/digest for the registrar.
package echo
