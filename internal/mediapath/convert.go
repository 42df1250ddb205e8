package mediapath

import (
	"fmt"
	"net/netip"
	"strings"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/media"
)

// towardSIP is a user's content as the SIP side gets it: the relay's RTP
// leg at local, and the description without what only the XMPP leg uses
// (rtcp-mux, feedback, header extensions, SSRCs, the user's SDES keys;
// ToSIP adds the SIP leg's own).
func towardSIP(ct jingle.Content, local netip.AddrPort) jingle.Content {
	out := ct
	if ct.Description != nil {
		d := *ct.Description
		d.RTCPMux, d.RTCPFB, d.RTCPFBTrrInt, d.HdrExts, d.ExtmapAllowMixed = nil, nil, nil, nil, nil
		d.Sources, d.SSRCGroups, d.Encryption, d.SSRC = nil, nil, nil, ""
		d.PayloadTypes = make([]jingle.PayloadType, len(ct.Description.PayloadTypes))
		for i, pt := range ct.Description.PayloadTypes {
			pt.RTCPFB, pt.TrrInt = nil, nil
			d.PayloadTypes[i] = pt
		}
		out.Description = &d
	}
	out.Transport = rawTransport(local)
	return out
}

// rawTransport announces an RTP leg: RTP at local, RTCP one port above.
func rawTransport(local netip.AddrPort) *jingle.Transport {
	t := jingle.NewTransport(jingle.NSRawUDP)
	ip := local.Addr().String()
	t.Candidates = []jingle.Candidate{
		{Component: 1, ID: "relay-rtp", IP: ip, Port: local.Port(), Type: "host"},
		{Component: 2, ID: "relay-rtcp", IP: ip, Port: local.Port() + 1, Type: "host"},
	}
	return t
}

// rawAddrs reads the RTP and RTCP addresses of a raw-UDP transport (also
// what jinglesdp makes of a plain SDP's c= and m= lines).
func rawAddrs(t *jingle.Transport) (rtp, rtcp netip.AddrPort, ok bool) {
	if t == nil {
		return rtp, rtcp, false
	}
	for _, c := range t.Candidates {
		a, err := netip.ParseAddr(c.IP)
		if err != nil || c.Port == 0 {
			continue
		}
		switch c.Component {
		case 1:
			rtp, ok = netip.AddrPortFrom(a.Unmap(), c.Port), true
		case 2:
			rtcp = netip.AddrPortFrom(a.Unmap(), c.Port)
		}
	}
	return rtp, rtcp, ok
}

// codecsOf lists a description's payload types for renumbering.
func codecsOf(d *jingle.Description) []media.Codec {
	if d == nil {
		return nil
	}
	out := make([]media.Codec, 0, len(d.PayloadTypes))
	for _, pt := range d.PayloadTypes {
		out = append(out, media.Codec{PT: pt.ID, Name: pt.Name, Clock: pt.Clockrate, Channels: pt.Channels})
	}
	return out
}

// fromJingle converts a remote ICE candidate; false for what the relay
// cannot use: TCP, names instead of addresses (mDNS), the RTCP component.
func fromJingle(c jingle.Candidate) (media.Candidate, bool) {
	if c.Protocol != "" && !strings.EqualFold(c.Protocol, "udp") || c.Component != 1 {
		return media.Candidate{}, false
	}
	a, err := netip.ParseAddr(c.IP)
	if err != nil || c.Port == 0 {
		return media.Candidate{}, false
	}
	out := media.Candidate{
		Foundation: c.Foundation, Component: 1, Priority: c.Priority, Type: c.Type,
		Addr: netip.AddrPortFrom(a.Unmap(), c.Port),
	}
	if out.Type == "" {
		out.Type = "host"
	}
	if ra, err := netip.ParseAddr(c.RelAddr); err == nil {
		out.RelAddr = netip.AddrPortFrom(ra.Unmap(), c.RelPort)
	}
	return out, true
}

// toJingle converts one of the relay's candidates; ids must be NCNames.
func toJingle(c media.Candidate, i int) jingle.Candidate {
	out := jingle.Candidate{
		Component: c.Component, Foundation: c.Foundation, Generation: 0,
		ID: fmt.Sprintf("relay%d", i), IP: c.Addr.Addr().String(), Port: c.Addr.Port(),
		Priority: c.Priority, Protocol: "udp", Type: c.Type,
	}
	if c.RelAddr.IsValid() {
		out.RelAddr, out.RelPort = c.RelAddr.Addr().String(), c.RelAddr.Port()
	}
	return out
}
