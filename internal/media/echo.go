package media

import (
	"crypto/rand"
	"encoding/binary"
)

// NewEchoSession is a session that sends the XMPP leg's RTP back to it, for
// the gateway's echo contact: the caller hears themselves through the same
// legs, ICE + DTLS-SRTP or raw UDP, as a relayed call uses. The echo has an
// SSRC of its own, since WebRTC clients ignore packets that carry theirs.
// Its SIP leg is allocated like any session's and stays unused.
func (r *Relay) NewEchoSession() (*Session, error) {
	s, err := r.NewSession()
	if err != nil {
		return nil, err
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	s.echoSSRC = binary.BigEndian.Uint32(b[:]) | 1 // never 0
	return s, nil
}

// EchoSSRC is the SSRC an echo session sends under (0 for a relayed
// call), for the answer to declare.
func (s *Session) EchoSSRC() uint32 { return s.echoSSRC }

// echo returns an XMPP-leg RTP packet to the XMPP leg under the echo's
// SSRC; RTCP and anything from the SIP leg is not echoed.
func (s *Session) echo(from side, pkt []byte, rtcp bool) bool {
	if from != sideXMPP || rtcp || len(pkt) < 12 {
		return false
	}
	binary.BigEndian.PutUint32(pkt[8:12], s.echoSSRC)
	return s.sendXMPP(pkt, false)
}
