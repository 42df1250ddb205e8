package iceleg

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// These tests put a leg opposite a real pion/webrtc PeerConnection, the
// nearest thing to libwebrtc (Conversations) that runs in a unit test:
// full ICE on loopback, DTLS in both roles, SRTP with rtcp-mux.

const legSSRC = 0x11223344

// peer is the PeerConnection side with what the test needs of it.
type peer struct {
	pc     *webrtc.PeerConnection
	track  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender
	cands  chan Candidate     // trickled candidates, converted
	rtp    chan *rtp.Packet   // received by OnTrack
	rtcp   chan []rtcp.Packet // received for our sender
}

func newPeer(t *testing.T, profiles ...dtls.SRTPProtectionProfile) *peer {
	t.Helper()
	var se webrtc.SettingEngine
	if len(profiles) > 0 {
		se.SetSRTPProtectionProfiles(profiles...)
	}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.LoggerFactory = pionLogs{log: testLog(t, "peerconnection")}
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000},
		PayloadType:        0,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	// No interceptors: the only RTCP is what the test sends.
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{}))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{
		pc:    pc,
		cands: make(chan Candidate, 16),
		rtp:   make(chan *rtp.Packet, 256),
		rtcp:  make(chan []rtcp.Packet, 64),
	}
	t.Cleanup(func() { _ = pc.GracefulClose() })
	p.track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "audio", "peer")
	if err != nil {
		t.Fatal(err)
	}
	if p.sender, err = pc.AddTrack(p.track); err != nil {
		t.Fatal(err)
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		p.cands <- Candidate{
			Foundation: c.Foundation,
			Component:  c.Component,
			Addr:       netip.AddrPortFrom(netip.MustParseAddr(c.Address), c.Port),
			Priority:   c.Priority,
			Type:       c.Typ.String(),
			Protocol:   c.Protocol.String(),
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			select {
			case p.rtp <- pkt:
			default:
			}
		}
	})
	go func() {
		for {
			pkts, _, err := p.sender.ReadRTCP()
			if err != nil {
				return
			}
			select {
			case p.rtcp <- pkts:
			default:
			}
		}
	}()
	return p
}

// trickle hands the peer's candidates to the leg as they come (after
// SetRemote, as Jingle transport-info would).
func (p *peer) trickle(t *testing.T, l *Leg) {
	go func() {
		for {
			select {
			case c := <-p.cands:
				if err := l.AddRemoteCandidate(c); err != nil && !errors.Is(err, ErrClosed) {
					t.Errorf("AddRemoteCandidate(%+v): %v", c, err)
				}
			case <-l.closed:
				return
			}
		}
	}()
}

// legSDP is the SDP a Jingle⇄SDP translation would give the browser-like
// side for our leg: one audio section, PCMU, rtcp-mux, our ICE and DTLS
// parameters and our candidates.
func legSDP(l *Leg, setup, mid string) string {
	u, p := l.Credentials()
	fp := l.Fingerprint()
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=- 4242 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
	fmt.Fprintf(&b, "a=group:BUNDLE %s\r\na=msid-semantic: WMS fargo\r\n", mid)
	fmt.Fprintf(&b, "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\n")
	fmt.Fprintf(&b, "a=mid:%s\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:trickle\r\n", mid, u, p)
	fmt.Fprintf(&b, "a=fingerprint:%s %s\r\na=setup:%s\r\n", fp.Hash, fp.Value, setup)
	fmt.Fprintf(&b, "a=sendrecv\r\na=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\n")
	fmt.Fprintf(&b, "a=ssrc:%d cname:fargo\r\na=ssrc:%d msid:fargo audio\r\n", legSSRC, legSSRC)
	for _, c := range l.Candidates() {
		fmt.Fprintf(&b, "a=candidate:%s %d udp %d %s %d typ %s\r\n",
			c.Foundation, c.Component, c.Priority, c.Addr.Addr(), c.Addr.Port(), c.Type)
	}
	return b.String()
}

// remoteFromSDP reads the peer's ICE and DTLS parameters from its SDP,
// media level first.
func remoteFromSDP(t *testing.T, s string) (RemoteICE, string) {
	t.Helper()
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(s); err != nil {
		t.Fatal(err)
	}
	if len(sd.MediaDescriptions) != 1 {
		t.Fatalf("%d media sections", len(sd.MediaDescriptions))
	}
	md := sd.MediaDescriptions[0]
	attr := func(k string) string {
		if v, ok := md.Attribute(k); ok {
			return v
		}
		v, _ := sd.Attribute(k)
		return v
	}
	hash, value, _ := strings.Cut(attr("fingerprint"), " ")
	r := RemoteICE{
		Ufrag:       attr("ice-ufrag"),
		Pwd:         attr("ice-pwd"),
		Fingerprint: Fingerprint{Hash: hash, Value: value},
		Setup:       attr("setup"),
	}
	if r.Ufrag == "" || r.Pwd == "" || value == "" || r.Setup == "" {
		t.Fatalf("incomplete SDP: %+v\n%s", r, s)
	}
	return r, attr("mid")
}

// TestPeerConnectionOffers: the PeerConnection offers (actpass,
// controlling); our leg answers controlled with setup active, so we are
// the DTLS client and the PeerConnection picks the SRTP profile: its
// default (AES-GCM) and the one every implementation has.
func TestPeerConnectionOffers(t *testing.T) {
	t.Run("default profiles", func(t *testing.T) { peerOffers(t, newPeer(t)) })
	t.Run("AES128_CM_HMAC_SHA1_80", func(t *testing.T) {
		peerOffers(t, newPeer(t, dtls.SRTP_AES128_CM_HMAC_SHA1_80))
	})
}

func peerOffers(t *testing.T, p *peer) {
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	r, mid := remoteFromSDP(t, offer.SDP)
	if r.Setup != SetupActpass {
		t.Fatalf("offer setup %q", r.Setup)
	}
	l := newTestLeg(t, "answerer", false, 10*time.Second)
	if err := l.SetRemote(r); err != nil {
		t.Fatal(err)
	}
	p.trickle(t, l)
	answer := legSDP(l, l.LocalSetup(r.Setup), mid)
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatalf("%v\n%s", err, answer)
	}
	exchange(t, p, l)
}

// TestLegOffers: our leg offers (controlling, actpass); the
// PeerConnection answers active, so we are the DTLS server.
func TestLegOffers(t *testing.T) {
	l := newTestLeg(t, "offerer", true, 10*time.Second)
	p := newPeer(t)
	offer := legSDP(l, l.LocalSetup(""), "0")
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		t.Fatalf("%v\n%s", err, offer)
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.pc.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	r, _ := remoteFromSDP(t, answer.SDP)
	if r.Setup != SetupActive {
		t.Fatalf("answer setup %q, want active (so that we are the DTLS server)", r.Setup)
	}
	if err := l.SetRemote(r); err != nil {
		t.Fatal(err)
	}
	p.trickle(t, l)
	exchange(t, p, l)
}

// exchange waits for the leg to be ready and checks RTP and RTCP both
// ways.
func exchange(t *testing.T, p *peer, l *Leg) {
	t.Helper()
	waitReady(t, l)
	got, _ := reader(l)

	const want = 10
	var peerSSRC uint32
	sent, fromPeer, fromLeg := uint16(0), 0, 0
	var legRTCP, peerRTCP bool
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for fromPeer < want || fromLeg < want || !legRTCP || !peerRTCP {
		select {
		case <-tick.C:
			// Keep sending until the other side has enough: the first
			// packets may go out before the peer's SRTP is up.
			sent++
			if err := l.WriteRTP(g711(legSSRC, sent)); err != nil {
				t.Fatal(err)
			}
			if err := p.track.WriteRTP(&rtp.Packet{
				Header:  rtp.Header{Version: 2, SequenceNumber: 5000 + sent, Timestamp: uint32(sent) * 160},
				Payload: g711(0, 5000+sent)[12:],
			}); err != nil {
				t.Fatal(err)
			}
			if peerSSRC != 0 {
				rr, err := (&rtcp.ReceiverReport{SSRC: legSSRC, Reports: []rtcp.ReceptionReport{{SSRC: peerSSRC}}}).Marshal()
				if err != nil {
					t.Fatal(err)
				}
				if err := l.WriteRTCP(rr); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 0x5eed, Reports: []rtcp.ReceptionReport{{SSRC: legSSRC}}}}); err != nil {
				t.Fatal(err)
			}
		case r := <-got:
			if r.err != nil {
				t.Fatalf("ReadPacket: %v", r.err)
			}
			if r.rtcp {
				pkts, err := rtcp.Unmarshal(r.pkt)
				if err != nil {
					t.Fatalf("RTCP from the peer: %v", err)
				}
				if rr, ok := pkts[0].(*rtcp.ReceiverReport); ok && rr.SSRC == 0x5eed && rr.Reports[0].SSRC == legSSRC {
					legRTCP = true
				}
				continue
			}
			var pkt rtp.Packet
			if err := pkt.Unmarshal(r.pkt); err != nil {
				t.Fatalf("RTP from the peer: %v", err)
			}
			if err := checkG711(pkt.Payload, pkt.SequenceNumber); err != nil || pkt.PayloadType != 0 {
				t.Fatalf("RTP from the peer: PT %d seq %d: %v", pkt.PayloadType, pkt.SequenceNumber, err)
			}
			peerSSRC = pkt.SSRC
			fromPeer++
		case pkt := <-p.rtp:
			if pkt.SSRC != legSSRC || pkt.PayloadType != 0 {
				t.Fatalf("peer got SSRC %#x PT %d", pkt.SSRC, pkt.PayloadType)
			}
			if err := checkG711(pkt.Payload, pkt.SequenceNumber); err != nil {
				t.Fatalf("peer got seq %d: %v", pkt.SequenceNumber, err)
			}
			fromLeg++
		case pkts := <-p.rtcp:
			for _, pk := range pkts {
				if rr, ok := pk.(*rtcp.ReceiverReport); ok && rr.SSRC == legSSRC {
					peerRTCP = true
				}
			}
		case <-deadline:
			t.Fatalf("after 10s: leg got %d RTP (RTCP %v), peer got %d RTP (RTCP %v)", fromPeer, legRTCP, fromLeg, peerRTCP)
		}
	}
	if d := l.Dropped(); d != 0 {
		t.Errorf("leg dropped %d packets", d)
	}
}
