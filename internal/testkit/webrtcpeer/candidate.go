package webrtcpeer

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pion/webrtc/v4"
)

// Candidate is a UDP ICE candidate (RFC 8445 §5.1), ours (OnLocalCandidate)
// or the remote side's (AddRemoteCandidate).
type Candidate struct {
	Foundation string
	Component  uint16 // 1: RTP, and with rtcp-mux RTCP too
	Priority   uint32
	Addr       netip.AddrPort
	Type       string         // host, srflx, prflx or relay
	RelAddr    netip.AddrPort // srflx, prflx, relay: the base; zero for host
}

// SDP is the candidate-attribute value of RFC 8839 §5.1, without "a=":
// "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host".
func (c Candidate) SDP() string {
	var b strings.Builder
	fmt.Fprintf(&b, "candidate:%s %d udp %d %s %d typ %s", c.Foundation, c.Component, c.Priority,
		c.Addr.Addr().Unmap(), c.Addr.Port(), c.Type)
	if c.Type != "host" && c.RelAddr.IsValid() {
		fmt.Fprintf(&b, " raddr %s rport %d", c.RelAddr.Addr().Unmap(), c.RelAddr.Port())
	}
	return b.String()
}

// check refuses what the SDP line cannot carry or pion cannot use.
func (c Candidate) check() error {
	switch {
	case c.Foundation == "" || strings.ContainsAny(c.Foundation, " \t\r\n"):
		return fmt.Errorf("candidate foundation %q", c.Foundation)
	case c.Component == 0:
		return fmt.Errorf("candidate %s without component", c.Foundation)
	case !c.Addr.IsValid() || c.Addr.Port() == 0:
		return fmt.Errorf("candidate %s address %v", c.Foundation, c.Addr)
	}
	switch c.Type {
	case "host", "srflx", "prflx", "relay":
		return nil
	}
	return fmt.Errorf("candidate %s type %q", c.Foundation, c.Type)
}

// fromPion converts a gathered candidate; the settings allow UDP over IPv4
// loopback only, so anything else is a surprise worth an error.
func fromPion(pc *webrtc.ICECandidate) (Candidate, error) {
	if pc.Protocol != webrtc.ICEProtocolUDP {
		return Candidate{}, fmt.Errorf("gathered a %s candidate", pc.Protocol)
	}
	ip, err := netip.ParseAddr(pc.Address)
	if err != nil {
		return Candidate{}, fmt.Errorf("gathered candidate address %q: %w", pc.Address, err)
	}
	c := Candidate{Foundation: pc.Foundation, Component: pc.Component, Priority: pc.Priority,
		Addr: netip.AddrPortFrom(ip.Unmap(), pc.Port), Type: pc.Typ.String()}
	if rel, err := netip.ParseAddr(pc.RelatedAddress); err == nil {
		c.RelAddr = netip.AddrPortFrom(rel.Unmap(), pc.RelatedPort)
	}
	return c, nil
}
