package jinglesdp

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"fargo.dev/fargo/internal/jingle"
)

// Placeholder address and port of an m-line whose candidates are not known
// yet (RFC 8840 §4.2: "IN IP4 0.0.0.0" and port 9).
var noAddress = netip.IPv4Unspecified()

const noPort = 9

// transportAttrs writes ICE credentials, fingerprints and candidates and
// returns the m-line port and c= address.
func (b *builder) transportAttrs(a *attrs, c *jingle.Content) (int, netip.Addr) {
	t := c.Transport
	if t == nil {
		return noPort, noAddress
	}
	if t.Ufrag != "" {
		a.add("ice-ufrag", t.Ufrag)
	}
	if t.Pwd != "" {
		a.add("ice-pwd", t.Pwd)
	}
	setup := ""
	for _, f := range t.Fingerprints {
		if f.Hash == "" || strings.TrimSpace(f.Value) == "" {
			continue
		}
		a.add("fingerprint", f.Hash+" "+strings.TrimSpace(f.Value))
		if setup == "" {
			setup = f.Setup
		}
	}
	if setup != "" {
		a.add("setup", setup)
	}
	if t.IsRawUDP() {
		if c1, ok := rawComponent(t, 1); ok {
			return int(c1.Port), c1.ip
		}
		return noPort, noAddress
	}
	var best *usable
	for _, cand := range t.Candidates {
		u, ok := iceCandidate(cand)
		if !ok {
			continue
		}
		a.cands = append(a.cands, candidateAttr(u))
		if u.Component == 1 && defaultRank(u.Type) > 0 && (best == nil || better(u, *best)) {
			best = &u
		}
	}
	if best == nil {
		return noPort, noAddress
	}
	return int(best.Port), best.ip
}

// usable is a candidate whose address parsed.
type usable struct {
	jingle.Candidate
	ip netip.Addr
}

// iceCandidate keeps the candidates SDP can carry: UDP, an IP literal, a
// component, a foundation and a port.
func iceCandidate(c jingle.Candidate) (usable, bool) {
	ip, ok := connAddr(c.IP)
	if !ok || c.Component == 0 || c.Port == 0 || c.Foundation == "" ||
		(c.Protocol != "" && !strings.EqualFold(c.Protocol, "udp")) {
		return usable{}, false
	}
	return usable{Candidate: c, ip: ip}, true
}

// defaultRank orders candidate types for the default candidate: a relay
// is the most likely to work from anywhere (RFC 8839 §4.2.1.2).
func defaultRank(typ string) int {
	switch typ {
	case "relay":
		return 3
	case "srflx":
		return 2
	case "host", "":
		return 1
	}
	return 0
}

func better(a, b usable) bool {
	ra, rb := defaultRank(a.Type), defaultRank(b.Type)
	return ra > rb || (ra == rb && a.Priority > b.Priority)
}

// candidateAttr writes an RFC 8839 §5.1 candidate line; a non-host
// candidate without related address gets the privacy form "raddr 0.0.0.0
// rport 9".
func candidateAttr(u usable) sdp.Attribute {
	typ := u.Type
	if typ == "" {
		typ = "host"
	}
	var s strings.Builder
	s.WriteString(u.Foundation)
	for _, f := range []string{
		strconv.Itoa(int(u.Component)), "udp", strconv.FormatUint(uint64(u.Priority), 10),
		u.ip.String(), strconv.Itoa(int(u.Port)), "typ", typ,
	} {
		s.WriteByte(' ')
		s.WriteString(f)
	}
	if typ != "host" {
		raddr, rport := "0.0.0.0", "9"
		if ip, ok := connAddr(u.RelAddr); ok {
			raddr, rport = ip.String(), strconv.Itoa(int(u.RelPort))
		}
		s.WriteString(" raddr " + raddr + " rport " + rport)
	}
	s.WriteString(" generation " + strconv.FormatUint(uint64(u.Generation), 10))
	return sdp.Attribute{Key: "candidate", Value: s.String()}
}

// rawComponent finds the raw-UDP candidate for component comp.
func rawComponent(t *jingle.Transport, comp uint16) (usable, bool) {
	for _, c := range t.Candidates {
		if c.Component != comp {
			continue
		}
		if ip, ok := connAddr(c.IP); ok {
			return usable{Candidate: c, ip: ip}, true
		}
	}
	return usable{}, false
}

// rtcpAttr writes a=rtcp for a raw-UDP component 2 that is not at the
// implied place, RTP port+1 on the same address (RFC 3605).
func rtcpAttr(a *attrs, t *jingle.Transport) {
	c2, ok := rawComponent(t, 2)
	if !ok || c2.Port == 0 {
		return
	}
	c1, ok1 := rawComponent(t, 1)
	if ok1 && int(c2.Port) == int(c1.Port)+1 && c2.ip == c1.ip {
		return
	}
	v := strconv.Itoa(int(c2.Port))
	if !ok1 || c2.ip != c1.ip {
		v += " IN " + addrType(c2.ip) + " " + c2.ip.String()
	}
	a.add("rtcp", v)
}
