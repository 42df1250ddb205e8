package media

import (
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"
)

// The streams an echo session sends back, one SSRC each.
const (
	echoAudio = iota
	echoVideo
	echoStreams
)

// echoState is what makes a session an echo: our SSRC per stream, the
// caller's as its RTP shows it, and which payload types are video.
type echoState struct {
	ssrc [echoStreams]uint32
	// caller is the caller's SSRC per stream, written by the reader that
	// sees its RTP and read by the one that sees its RTCP (two goroutines
	// on a raw-UDP leg).
	caller [echoStreams]atomic.Uint32
	// video marks the caller's video payload types; nil while the call
	// has none, so that everything is audio.
	video atomic.Pointer[ptSet]
}

// ptSet is a set of RTP payload types.
type ptSet [128]bool

// NewEchoSession is a session that sends the XMPP leg's RTP back to it, for
// the gateway's echo contact and the echo bot: the caller hears (and sees)
// themselves through the same legs, ICE + DTLS-SRTP or raw UDP, as a
// relayed call uses. The echo has an SSRC of its own per stream, audio and
// video, since WebRTC clients ignore packets that carry theirs. Its SIP
// leg is allocated like any session's and stays unused.
func (r *Relay) NewEchoSession() (*Session, error) {
	s, err := r.NewSession()
	if err != nil {
		return nil, err
	}
	e := &echoState{}
	for i := range e.ssrc {
		e.ssrc[i] = randomSSRC()
		for j := range i {
			if e.ssrc[i] == e.ssrc[j] {
				e.ssrc[i] ^= 2 // distinct and still odd
			}
		}
	}
	s.echo = e
	return s, nil
}

// randomSSRC is a random odd (so never 0) SSRC.
func randomSSRC() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:]) | 1
}

// EchoSSRC is the SSRC an echo session sends the caller's audio back under
// (0 for a relayed call), for the answer to declare.
func (s *Session) EchoSSRC() uint32 { return s.echoSSRC(echoAudio) }

// EchoVideoSSRC is the SSRC an echo session sends the caller's video back
// under (0 for a relayed call).
func (s *Session) EchoVideoSSRC() uint32 { return s.echoSSRC(echoVideo) }

func (s *Session) echoSSRC(stream int) uint32 {
	if s.echo == nil {
		return 0
	}
	return s.echo.ssrc[stream]
}

// SetEchoVideo gives the payload types the caller sends video with (those
// of the answered video content, bundled with the audio on one leg);
// packets of other types are audio. The echo tells the streams apart by
// payload type because one transport carries both. It may be called again
// (a re-negotiation); it does nothing on a relayed call.
func (s *Session) SetEchoVideo(pts []uint8) {
	if s.echo == nil {
		return
	}
	if len(pts) == 0 {
		s.echo.video.Store(nil)
		return
	}
	var set ptSet
	for _, pt := range pts {
		if pt < 128 {
			set[pt] = true
		}
	}
	s.echo.video.Store(&set)
}

// stream is the echo stream of a payload type.
func (e *echoState) stream(pt uint8) int {
	if v := e.video.Load(); v != nil && v[pt&0x7f] {
		return echoVideo
	}
	return echoAudio
}

// echoBack returns a packet of the XMPP leg to it: RTP under the echo's
// SSRC for its stream, RTCP only as the feedback that makes the caller's
// encoder repair what we send back (feedback). Nothing from the SIP leg
// is echoed.
func (s *Session) echoBack(from side, pkt []byte, rtcp bool) bool {
	if from != sideXMPP {
		return false
	}
	if rtcp {
		out := s.echo.feedback(pkt)
		if out == nil {
			return false
		}
		return s.sendXMPP(out, true)
	}
	if len(pkt) < 12 {
		return false
	}
	e := s.echo
	i := e.stream(pkt[1])
	if caller := binary.BigEndian.Uint32(pkt[8:12]); e.caller[i].Load() != caller {
		// Rarely: only when the caller starts or changes its source, so
		// the readers do not write a shared cache line per packet.
		e.caller[i].Store(caller)
	}
	binary.BigEndian.PutUint32(pkt[8:12], e.ssrc[i])
	return s.sendXMPP(pkt, false)
}
