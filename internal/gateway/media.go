package gateway

import (
	"net/netip"

	"fargo.dev/fargo/internal/jingle"
)

// MediaPath decides where one call's media flows. Every offer and answer
// crossing the gateway passes through it, so a relay can be put in the
// middle of any call by substituting its own transports; the direct path
// leaves the endpoints' transports alone (signalling only).
type MediaPath interface {
	// ToSIP rewrites what the XMPP side sent into what the SIP side gets.
	ToSIP(contents []jingle.Content) ([]jingle.Content, error)
	// ToXMPP rewrites what the SIP side sent into what the XMPP side gets.
	ToXMPP(contents []jingle.Content) ([]jingle.Content, error)
	// AddXMPPCandidates takes candidates the user's device trickled after
	// its offer or answer (transport-info).
	AddXMPPCandidates(contents []jingle.Content) error
	// Relayed reports whether media flows through the gateway's relay.
	Relayed() bool
	// Close releases the path's resources; called once when the call ends.
	Close()
}

// MediaRelay opens relayed paths (internal/media behind an adapter). ice
// picks the XMPP leg's transport when the gateway makes the XMPP offer
// (incoming calls); for outgoing calls the user's offer decides. ended is
// called once, from any goroutine, if the relay ends the media by itself
// (no packets, failed handshake); Open fails with an error that says why
// when the relay is full.
type MediaRelay interface {
	Open(ice bool, ended func(error)) (MediaPath, error)
	// OpenEcho starts the path of a call to the gateway's echo contact.
	OpenEcho(ended func(error)) (EchoPath, error)
}

// EchoPath sends the user's media back to them.
type EchoPath interface {
	MediaPath
	// Answer answers the user's offer with the echo's transport; group is
	// the offer's (a video content bundled with the audio is echoed too).
	Answer(offer []jingle.Content, group *jingle.Group) ([]jingle.Content, error)
}

// Media modes (configuration media.mode).
const (
	MediaModeAuto   = "auto"   // relay only when the two sides cannot talk directly
	MediaModeRelay  = "relay"  // relay every call
	MediaModeDirect = "direct" // never relay (signalling only)
)

// MediaPolicy is the per-call relay decision's configuration.
type MediaPolicy struct {
	Mode string // MediaModeAuto (default), MediaModeRelay or MediaModeDirect
	// RelayPrivate relays (in auto mode) when a side announces a private
	// address (RFC 1918, RFC 6598, ULA) for its media: the other side
	// could not reach it, the relay latches onto where packets come from.
	RelayPrivate bool
}

// directPath is the signalling-only path: media flows between the
// endpoints, which works when both speak the same transport.
type directPath struct{}

func (directPath) ToSIP(c []jingle.Content) ([]jingle.Content, error)  { return c, nil }
func (directPath) ToXMPP(c []jingle.Content) ([]jingle.Content, error) { return c, nil }
func (directPath) AddXMPPCandidates([]jingle.Content) error            { return nil }
func (directPath) Relayed() bool                                       { return false }
func (directPath) Close()                                              {}

// relayOutgoing says whether an outgoing call with the user's offer needs the
// relay: a plain SIP phone takes neither ICE nor DTLS-SRTP, so only a
// raw-UDP offer at a reachable address can go direct.
func (p MediaPolicy) relayOutgoing(offer []jingle.Content) bool {
	switch p.Mode {
	case MediaModeDirect:
		return false
	case MediaModeRelay:
		return true
	}
	for _, ct := range offer {
		if ct.Transport.IsICE() || hasFingerprint(ct.Transport) {
			return true
		}
		if p.RelayPrivate && privateCandidates(ct.Transport) {
			return true
		}
	}
	return false
}

// relayIncoming says whether an incoming call with the SIP offer needs the
// relay, given whether every device that could ring takes raw UDP.
func (p MediaPolicy) relayIncoming(offer []jingle.Content, allRawUDP bool) bool {
	switch p.Mode {
	case MediaModeDirect:
		return false
	case MediaModeRelay:
		return true
	}
	for _, ct := range offer {
		if ct.Transport.IsICE() && hasFingerprint(ct.Transport) {
			return false // a WebRTC-style SIP peer: ICE clients reach it
		}
		if ct.Description != nil && ct.Description.Encryption != nil {
			return true // SDES keys stay with the relay, not the XMPP client
		}
		if p.RelayPrivate && privateCandidates(ct.Transport) {
			return true
		}
	}
	return !allRawUDP
}

func hasFingerprint(t *jingle.Transport) bool { return t != nil && len(t.Fingerprints) > 0 }

// privateCandidates: every candidate of t is at a private address.
func privateCandidates(t *jingle.Transport) bool {
	if t == nil || len(t.Candidates) == 0 {
		return false
	}
	for _, c := range t.Candidates {
		a, err := netip.ParseAddr(c.IP)
		if err != nil || !isPrivate(a) {
			return false
		}
	}
	return true
}

// cgnat is RFC 6598 shared address space, which netip does not call
// private.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

func isPrivate(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsPrivate() || cgnat.Contains(a)
}
