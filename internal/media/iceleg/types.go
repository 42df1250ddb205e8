package iceleg

import "net/netip"

// Candidate is an ICE candidate (RFC 8445 §5.1): ours (Leg.Candidates) or
// the remote side's (Leg.AddRemoteCandidate). UDP only.
type Candidate struct {
	Foundation string
	Component  uint16 // 1 = RTP; with rtcp-mux the only one used
	Addr       netip.AddrPort
	Priority   uint32
	Type       string         // host, srflx, prflx, relay
	RelAddr    netip.AddrPort // srflx/relay: the base; zero for host
	// Protocol is the transport, "udp" (empty means udp too: the zero value
	// stays valid). AddRemoteCandidate ignores any other (ICE-TCP).
	Protocol string
}

// Fingerprint is a DTLS certificate fingerprint (RFC 8122): Hash such as
// "sha-256", Value as colon-separated upper-case hex.
type Fingerprint struct {
	Hash  string
	Value string
}

// DTLS setup roles (RFC 4145, RFC 5763) as SDP and XEP-0320 spell them.
const (
	SetupActpass = "actpass"
	SetupActive  = "active"
	SetupPassive = "passive"
)

// RemoteICE is what the remote side announced for its ICE + DTLS
// transport.
type RemoteICE struct {
	Ufrag, Pwd  string
	Fingerprint Fingerprint
	Setup       string // the remote's setup attribute
}
