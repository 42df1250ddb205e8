package jinglesdp

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"fargo.dev/fargo/internal/jingle"
)

// transport builds the m-line's transport: ICE-UDP when it has ICE
// credentials or candidates, else raw UDP from c= and the port. It also
// reports an RFC 2543 hold (c=0.0.0.0 without ICE; with ICE, 0.0.0.0 and
// port 9 only mean "no candidate yet", RFC 8840 §4.2).
func (p *parser) transport(i int, st *lineState, addr string, port int) (*jingle.Transport, bool) {
	var t *jingle.Transport
	held := false
	if st.sec.ufrag != "" || st.sec.pwd != "" || len(st.cands) > 0 {
		t = jingle.NewTransport(jingle.NSICEUDP)
		t.Ufrag, t.Pwd = st.sec.ufrag, st.sec.pwd
		for _, v := range st.cands {
			if c, ok := p.candidate(i, v); ok {
				t.Candidates = append(t.Candidates, c)
			}
		}
	} else {
		t = jingle.NewTransport(jingle.NSRawUDP)
		ip, ok := connAddr(addr)
		if !ok {
			p.warn("m-line %d: connection address %.60q is not an IP address: no candidate", i, addr)
		} else {
			held = ip.IsUnspecified()
			t.Candidates = p.rawCandidates(i, st, ip, port)
		}
	}
	if len(st.sec.fingerprints) > 0 {
		t.Fingerprints = st.sec.fingerprints
		// Clients read the first fingerprint only (protocol-map §3.6):
		// put the one every DTLS stack supports first.
		slices.SortStableFunc(t.Fingerprints, func(a, b jingle.Fingerprint) int {
			return boolRank(b.Hash == "sha-256") - boolRank(a.Hash == "sha-256")
		})
		for j := range t.Fingerprints {
			t.Fingerprints[j].Setup = st.sec.setup
		}
	}
	return t, held
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// connAddr parses a c= address, dropping a multicast "/ttl[/count]".
func connAddr(s string) (netip.Addr, bool) {
	s, _, _ = strings.Cut(s, "/")
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

// rawCandidates turns c= and the port into XEP-0177 candidates: component
// 1 for RTP and, unless RTCP is multiplexed, component 2 at the a=rtcp
// port and address or at port+1 (RFC 3605).
func (p *parser) rawCandidates(i int, st *lineState, ip netip.Addr, port int) []jingle.Candidate {
	out := []jingle.Candidate{{Component: 1, ID: p.nextID("r"), IP: ip.String(), Port: uint16(port)}}
	if st.d.RTCPMux != nil {
		return out
	}
	rtcpIP, rtcpPort := ip, port+1
	if st.rtcp != "" {
		f := strings.Fields(st.rtcp)
		n, err := strconv.ParseUint(f[0], 10, 16)
		if err != nil || n == 0 {
			p.warn("m-line %d: bad a=rtcp:%.40q", i, st.rtcp)
			return out
		}
		rtcpPort = int(n)
		if len(f) == 4 {
			if a, ok := connAddr(f[3]); ok {
				rtcpIP = a
			}
		}
	}
	if rtcpPort > 65535 {
		return out
	}
	return append(out, jingle.Candidate{Component: 2, ID: p.nextID("r"), IP: rtcpIP.String(), Port: uint16(rtcpPort)})
}

// candidate reads an RFC 8839 §5.1 candidate-attribute. TCP candidates,
// FQDN and mDNS addresses and unknown types are dropped (XEP-0176 knows
// only UDP and IP literals; protocol-map §7 item 25).
func (p *parser) candidate(i int, v string) (jingle.Candidate, bool) {
	f := strings.Fields(v)
	if len(f) < 8 || f[6] != "typ" {
		p.warn("m-line %d: dropped malformed candidate %.60q", i, v)
		return jingle.Candidate{}, false
	}
	if !strings.EqualFold(f[2], "udp") {
		p.warn("m-line %d: dropped %s candidate %s", i, strings.ToLower(f[2]), f[4])
		return jingle.Candidate{}, false
	}
	ip, ok := connAddr(f[4])
	if !ok {
		p.warn("m-line %d: dropped candidate with FQDN or mDNS address %.60q", i, f[4])
		return jingle.Candidate{}, false
	}
	comp, err1 := strconv.ParseUint(f[1], 10, 16)
	prio, err2 := strconv.ParseUint(f[3], 10, 32)
	port, err3 := strconv.ParseUint(f[5], 10, 16)
	if err1 != nil || err2 != nil || err3 != nil || comp == 0 || !knownCandidateType(f[7]) {
		p.warn("m-line %d: dropped malformed candidate %.60q", i, v)
		return jingle.Candidate{}, false
	}
	c := jingle.Candidate{
		Component: uint16(comp), Foundation: f[0], Protocol: "udp", Priority: uint32(prio),
		IP: ip.String(), Port: uint16(port), Type: f[7],
	}
	for j := 8; j+1 < len(f); j += 2 {
		switch f[j] {
		case "raddr":
			if a, ok := connAddr(f[j+1]); ok {
				c.RelAddr = a.String()
			}
		case "rport":
			if n, err := strconv.ParseUint(f[j+1], 10, 16); err == nil {
				c.RelPort = uint16(n)
			}
		case "generation":
			if n, err := strconv.ParseUint(f[j+1], 10, 32); err == nil {
				c.Generation = uint32(n)
			}
		}
	}
	c.ID = p.nextID("c")
	return c, true
}

func knownCandidateType(t string) bool {
	switch t {
	case "host", "srflx", "prflx", "relay":
		return true
	}
	return false
}

// nextID invents a candidate id: Jingle requires one and it must be an
// NCName (XEP-0176 §5.3), so it starts with a letter.
func (p *parser) nextID(prefix string) string {
	p.ids++
	return prefix + strconv.Itoa(p.ids)
}
