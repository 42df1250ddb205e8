package main

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// offerSDP is the minimal SDP an endpoint of the benchmark announces to
// rtpengine: one PCMU audio stream at addr (RTCP on port+1 by default,
// which the endpoints do not bind: no RTCP flows in the benchmark).
func offerSDP(sessID int, addr netip.AddrPort) string {
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\n")
	fmt.Fprintf(&b, "o=- %d 1 IN IP4 %s\r\n", sessID, addr.Addr())
	fmt.Fprintf(&b, "s=relay-bench\r\n")
	fmt.Fprintf(&b, "c=IN IP4 %s\r\n", addr.Addr())
	fmt.Fprintf(&b, "t=0 0\r\n")
	fmt.Fprintf(&b, "m=audio %d RTP/AVP 0\r\n", addr.Port())
	fmt.Fprintf(&b, "a=rtpmap:0 PCMU/8000\r\n")
	fmt.Fprintf(&b, "a=ptime:20\r\n")
	fmt.Fprintf(&b, "a=sendrecv\r\n")
	return b.String()
}

// audioAddr is where the SDP's first audio stream wants media: the
// media-level c= if any, else the session-level one, and the m= port.
func audioAddr(sdp string) (netip.AddrPort, error) {
	var sessAddr, mediaAddr netip.Addr
	port := -1
	inAudio, seenAudio := false, false
	for _, line := range strings.Split(strings.ReplaceAll(sdp, "\r\n", "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "m="):
			if seenAudio {
				inAudio = false
				continue
			}
			f := strings.Fields(line[2:])
			if len(f) < 2 || f[0] != "audio" {
				inAudio = false
				continue
			}
			p, err := strconv.Atoi(f[1])
			if err != nil || p <= 0 || p > 65535 {
				return netip.AddrPort{}, fmt.Errorf("sdp: bad media port in %q", line)
			}
			port, inAudio, seenAudio = p, true, true
		case strings.HasPrefix(line, "c="):
			f := strings.Fields(line[2:])
			if len(f) < 3 {
				return netip.AddrPort{}, fmt.Errorf("sdp: bad connection line %q", line)
			}
			a, err := netip.ParseAddr(strings.SplitN(f[2], "/", 2)[0])
			if err != nil {
				return netip.AddrPort{}, fmt.Errorf("sdp: connection address: %w", err)
			}
			switch {
			case inAudio:
				mediaAddr = a
			case !seenAudio:
				sessAddr = a
			}
		}
	}
	if port < 0 {
		return netip.AddrPort{}, fmt.Errorf("sdp: no audio stream")
	}
	a := mediaAddr
	if !a.IsValid() {
		a = sessAddr
	}
	if !a.IsValid() {
		return netip.AddrPort{}, fmt.Errorf("sdp: no connection address")
	}
	return netip.AddrPortFrom(a, uint16(port)), nil
}
