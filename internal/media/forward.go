package media

// packetKind is what arrived on a media socket.
type packetKind uint8

const (
	kindJunk packetKind = iota // not RTP version 2: STUN, keepalives, scans
	kindRTP
	kindRTCP
)

// classify tells RTP from RTCP by the second byte (RFC 5761 §4: RTCP
// packet types 192–223 fall where RTP would have payload types 64–95,
// which are never assigned), so an endpoint that muxes RTCP onto the RTP
// port is still relayed correctly.
func classify(pkt []byte) packetKind {
	if len(pkt) < 4 || pkt[0]>>6 != 2 {
		return kindJunk
	}
	if pt := pkt[1] & 0x7f; pt >= 64 && pt <= 95 {
		return kindRTCP
	}
	if len(pkt) < 12 {
		return kindJunk
	}
	return kindRTP
}

// relay forwards one packet that arrived on the from side to the other
// side, in the reading goroutine, without copying or allocating: the
// payload type is renumbered in the reader's own buffer, then the packet
// is written out synchronously. loss is the stream's tracker (nil for the
// RTCP socket).
func (s *Session) relay(from side, pkt []byte, rtcp bool, loss *lossTracker) {
	st := &s.r.stats
	s.lastRx.Store(s.r.now())
	if !rtcp {
		if loss != nil {
			st.addLost(loss.observe(pkt))
		}
		if from == sideSIP {
			s.sipToXMPP.Load().rewrite(pkt)
		} else {
			s.xmppToSIP.Load().rewrite(pkt)
		}
	}
	var sent bool
	switch {
	case s.echo != nil:
		sent = s.echoBack(from, pkt, rtcp)
	case from == sideSIP:
		sent = s.sendXMPP(pkt, rtcp)
	default:
		sent = s.sip.send(pkt, rtcp)
	}
	if !sent {
		st.dropped.Add(1)
		return
	}
	st.packets.Add(1)
	st.bytes.Add(uint64(len(pkt)))
}

// sendXMPP writes to whichever XMPP leg exists; none yet drops the packet
// (media from a SIP phone that answers before the client's transport is
// known).
func (s *Session) sendXMPP(pkt []byte, rtcp bool) bool {
	if l := s.xmppRaw.Load(); l != nil {
		return l.send(pkt, rtcp)
	}
	if l := s.xmppICE.Load(); l != nil {
		return l.send(pkt, rtcp)
	}
	return false
}
