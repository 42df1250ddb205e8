package iceleg

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/pion/ice/v4"
)

// ErrBadCandidate is returned by AddRemoteCandidate for a candidate that
// cannot be used at all (no address, port 0, unknown type).
var ErrBadCandidate = errors.New("iceleg: invalid candidate")

// fromICE converts one of pion's candidates (ours) to the package's type.
func fromICE(c ice.Candidate) (Candidate, error) {
	addr, err := netip.ParseAddr(c.Address())
	if err != nil {
		return Candidate{}, fmt.Errorf("iceleg: local candidate address %q: %w", c.Address(), err)
	}
	out := Candidate{
		Foundation: c.Foundation(),
		Component:  c.Component(),
		Addr:       netip.AddrPortFrom(addr.Unmap(), uint16(c.Port())), //nolint:gosec // a UDP port
		Priority:   c.Priority(),
		Type:       c.Type().String(),
		Protocol:   "udp",
	}
	if r := c.RelatedAddress(); r != nil && r.Address != "" {
		if ra, err := netip.ParseAddr(r.Address); err == nil {
			out.RelAddr = netip.AddrPortFrom(ra.Unmap(), uint16(r.Port)) //nolint:gosec // a UDP port
		}
	}
	return out, nil
}

// toICE converts a signalled remote candidate for pion. ok is false for a
// candidate to ignore silently: RTCP component (we use rtcp-mux) or a
// transport other than UDP.
func toICE(c Candidate) (cand ice.Candidate, ok bool, err error) {
	if c.Component != ice.ComponentRTP {
		return nil, false, nil
	}
	if c.Protocol != "" && !strings.EqualFold(c.Protocol, "udp") {
		return nil, false, nil
	}
	if !c.Addr.IsValid() || c.Addr.Port() == 0 || c.Addr.Addr().IsUnspecified() || c.Addr.Addr().IsMulticast() {
		return nil, false, fmt.Errorf("%w: address %v", ErrBadCandidate, c.Addr)
	}
	addr := c.Addr.Addr().Unmap()
	network := "udp"
	port := int(c.Addr.Port())
	relAddr, relPort := "", 0
	if c.RelAddr.IsValid() {
		relAddr, relPort = c.RelAddr.Addr().Unmap().String(), int(c.RelAddr.Port())
	}
	switch strings.ToLower(c.Type) {
	case "", "host":
		cand, err = ice.NewCandidateHost(&ice.CandidateHostConfig{
			Network: network, Address: addr.String(), Port: port,
			Component: c.Component, Priority: c.Priority, Foundation: c.Foundation,
		})
	case "srflx":
		cand, err = ice.NewCandidateServerReflexive(&ice.CandidateServerReflexiveConfig{
			Network: network, Address: addr.String(), Port: port,
			Component: c.Component, Priority: c.Priority, Foundation: c.Foundation,
			RelAddr: relAddr, RelPort: relPort,
		})
	case "prflx":
		cand, err = ice.NewCandidatePeerReflexive(&ice.CandidatePeerReflexiveConfig{
			Network: network, Address: addr.String(), Port: port,
			Component: c.Component, Priority: c.Priority, Foundation: c.Foundation,
			RelAddr: relAddr, RelPort: relPort,
		})
	case "relay":
		cand, err = ice.NewCandidateRelay(&ice.CandidateRelayConfig{
			Network: network, Address: addr.String(), Port: port,
			Component: c.Component, Priority: c.Priority, Foundation: c.Foundation,
			RelAddr: relAddr, RelPort: relPort,
		})
	default:
		return nil, false, fmt.Errorf("%w: type %q", ErrBadCandidate, c.Type)
	}
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrBadCandidate, err)
	}
	return cand, true, nil
}
