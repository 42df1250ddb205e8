// Package mediapath puts the media relay (internal/media) in the middle of
// a call as the gateway's MediaPath: it reads the Jingle contents crossing
// the gateway (the user's offer or answer, trickled candidates, the SIP
// side's SDP already turned into contents) to set up the relay's legs, and
// rewrites each side's transport into the relay's own. Each side keeps its
// codecs and direction; only the transport block is regenerated per leg
// (protocol-map §0, mode B): an ICE-UDP + DTLS-SRTP transport with
// rtcp-mux (or raw UDP) toward XMPP, RTP/AVP toward SIP, keyed with
// SDES-SRTP when the SIP side offers it (RTP/SAVP; its keys never reach
// the XMPP side).
//
// Tier 2: it imports jingle and media. The gateway core knows it only
// through its MediaPath and MediaRelay interfaces (adapted in internal/app).
package mediapath
