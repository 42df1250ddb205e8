package jinglesdp

import (
	"math"
	"math/rand/v2"
	"net/netip"
)

// Origin is the gateway's o= line for one SIP leg (RFC 3264 §8): username
// "-", a random 63-bit session id chosen once per leg, a version
// incremented for every new SDP the gateway emits and unchanged when
// resending identical SDP (a session refresh). Stale or repeated versions
// make some user agents ignore a changed SDP (protocol-map §7 item 11).
type Origin struct {
	SessionID uint64
	Version   uint64
	Address   netip.Addr
}

// NewOrigin starts the origin of a new SIP leg whose SDP names addr. Its
// Version is 0: call Next for every SDP, the first included, so the first
// SDP carries version 1.
func NewOrigin(addr netip.Addr) Origin {
	// 63 bits and never 0: some stacks treat 0 as "no session".
	return Origin{SessionID: uint64(rand.Int64N(math.MaxInt64)) + 1, Address: addr}
}

// Next returns the origin to use for a new SDP (version+1).
func (o Origin) Next() Origin {
	o.Version++
	return o
}
