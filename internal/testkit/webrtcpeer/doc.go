// Package webrtcpeer is tier 3 test support: one audio call's media the
// way a WebRTC client such as Conversations does it (protocol-map §0,
// §3.5, §3.6): ICE-UDP with trickled candidates, DTLS-SRTP (the offerer
// says actpass, the answerer active) and RTP/RTCP multiplexed on one
// port. A Peer wraps a pion/webrtc PeerConnection restricted to IPv4
// loopback UDP, negotiates G.711 (and telephone-event) through SDP offers
// and answers, sends test tones and decodes what it receives, so a test
// can check the audio that crossed the gateway's ICE leg.
//
// It speaks SDP only; the test phone (internal/testkit) translates to and
// from Jingle. It imports the standard library, rtpprobe (tones,
// G.711) and pion (webrtc, ice, interceptor, rtp), which only the test kit
// may import (internal/archtest), and is imported only by tests.
package webrtcpeer
