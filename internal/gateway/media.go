package gateway

import "fargo.dev/fargo/internal/jingle"

// MediaPath decides where one call's media flows. Every offer and answer
// crossing the gateway passes through it, so a relay can be put in the
// middle of any call by substituting its own transports; the direct path
// leaves the endpoints' transports alone (signalling only).
type MediaPath interface {
	// ToSIP rewrites what the XMPP side sent into what the SIP side gets.
	ToSIP(contents []jingle.Content) ([]jingle.Content, error)
	// ToXMPP rewrites what the SIP side sent into what the XMPP side gets.
	ToXMPP(contents []jingle.Content) ([]jingle.Content, error)
	// Close releases the path's resources; called once when the call ends.
	Close()
}

// directPath is the signalling-only path: media flows between the
// endpoints, which works when both speak the same transport.
type directPath struct{}

func (directPath) ToSIP(c []jingle.Content) ([]jingle.Content, error)  { return c, nil }
func (directPath) ToXMPP(c []jingle.Content) ([]jingle.Content, error) { return c, nil }
func (directPath) Close()                                              {}

func (g *Gateway) newMediaPath() MediaPath { return directPath{} }
