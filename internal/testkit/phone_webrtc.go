package testkit

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/jinglesdp"
	"fargo.dev/fargo/internal/testkit/webrtcpeer"
)

// The WebRTC mode of a Phone (PhoneOptions.WebRTC) does what Conversations
// does around its libwebrtc PeerConnection (JingleRtpConnection,
// RtpContentMap): the PeerConnection writes SDP, the phone turns it into
// Jingle contents with internal/jinglesdp and back, sends the offer or
// answer without candidates and trickles each candidate in a
// transport-info once the session-initiate or session-accept got its
// result.

// Media is the call's WebRTC media (WebRTC mode): nil before the phone
// offered or answered, and still readable once the call ended.
func (c *PhoneCall) Media() *webrtcpeer.Peer {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	return c.rtc
}

// TrickledCandidates are the candidates the other side sent in
// transport-info (WebRTC mode), in arrival order.
func (c *PhoneCall) TrickledCandidates() []jingle.Candidate {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	return slices.Clone(c.trickled)
}

// phoneOrigin is the o= line of the SDP the phone hands its own media
// stack; nobody else sees it.
func phoneOrigin() jinglesdp.Origin {
	return jinglesdp.NewOrigin(netip.AddrFrom4([4]byte{127, 0, 0, 1})).Next()
}

func (p *Phone) peerConfig() webrtcpeer.Config {
	cfg := webrtcpeer.Config{Video: p.o.Video}
	for _, pt := range p.o.Codecs {
		params := make([]string, 0, len(pt.Params))
		for _, prm := range pt.Params {
			if prm.Name == "" {
				params = append(params, prm.Value)
			} else {
				params = append(params, prm.Name+"="+prm.Value)
			}
		}
		cfg.Codecs = append(cfg.Codecs, webrtcpeer.Codec{PT: pt.ID, Name: pt.Name, Clock: pt.Clockrate,
			Channels: uint16(pt.Channels), Fmtp: strings.Join(params, ";")})
	}
	return cfg
}

// webrtcOffer makes the media of an outgoing call and its session-initiate.
func (p *Phone) webrtcOffer(sid string) (*jingle.Jingle, *webrtcpeer.Peer, *jinglesdp.Media, error) {
	rtc, err := webrtcpeer.New(p.c.Context(), p.peerConfig())
	if err != nil {
		return nil, nil, nil, err
	}
	sdp, err := rtc.Offer()
	var m *jinglesdp.Media
	if err == nil {
		m, err = jinglesdp.ParseSDP([]byte(sdp), jingle.RoleInitiator, nil)
	}
	if err == nil && len(m.Accepted()) == 0 {
		err = fmt.Errorf("the media stack offered no content:\n%s", sdp)
	}
	if err != nil {
		rtc.Close()
		return nil, nil, nil, fmt.Errorf("webrtc offer: %w", err)
	}
	j := &jingle.Jingle{Action: jingle.ActionSessionInitiate, SID: sid, Initiator: p.c.JID(),
		Contents: withoutCandidates(m.Accepted()), Group: m.Group}
	return j, rtc, m, nil
}

// withoutCandidates: candidates go in transport-infos only. libwebrtc's
// and pion's offers and answers have none yet; this keeps it so.
func withoutCandidates(contents []jingle.Content) []jingle.Content {
	for i := range contents {
		if t := contents[i].Transport; t != nil {
			t.Candidates = nil
		}
	}
	return contents
}

// acceptWebRTC is Accept in WebRTC mode.
func (c *PhoneCall) acceptWebRTC(ctx context.Context) error {
	p := c.p
	p.mu.Lock()
	err := c.inStateLocked("accept", PhonePending)
	if err == nil && (c.outgoing || c.rtc != nil) {
		err = fmt.Errorf("accept: call %s is outgoing or already accepted", c.sid)
	}
	offer := c.offer
	p.mu.Unlock()
	if err != nil {
		return err
	}
	answer, rtc, err := p.webrtcAnswer(offer)
	if err != nil {
		// Conversations ends the call when libwebrtc refuses the offer.
		_ = c.terminate(ctx, jingle.NewReason(jingle.FailedApplication, err.Error()))
		return fmt.Errorf("accept: %w", err)
	}
	p.mu.Lock()
	if err := c.inStateLocked("accept", PhonePending); err != nil {
		p.mu.Unlock()
		rtc.Close()
		return err
	}
	c.rtc, c.answer, c.accepted, c.state = rtc, answer, true, PhoneActive
	if content := phoneMediaContent(answer, c.contentName); content != nil && len(content.Description.PayloadTypes) > 0 {
		c.codec, c.hasCodec = content.Description.PayloadTypes[0], true
	}
	early, peer := c.early, c.peer
	c.early = nil
	p.changedLocked()
	p.mu.Unlock()
	p.addRemote(rtc, early)
	if err := p.sendJingle(ctx, peer, answer); err != nil {
		return err
	}
	c.trickle(rtc, peer, answer.Contents[0])
	return nil
}

// webrtcAnswer hands the offer to a new media stack and turns its answer
// into a session-accept.
func (p *Phone) webrtcAnswer(offer *jingle.Jingle) (*jingle.Jingle, *webrtcpeer.Peer, error) {
	if err := requireRTCPMux(offer.Contents); err != nil {
		return nil, nil, err
	}
	sdp, err := jinglesdp.BuildSDP(offer.Contents, offer.Group, jingle.RoleInitiator, phoneOrigin(), nil)
	if err != nil {
		return nil, nil, err
	}
	rtc, err := webrtcpeer.New(p.c.Context(), p.peerConfig())
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, len(offer.Contents))
	for i, c := range offer.Contents {
		names[i] = c.Name
	}
	answer, err := rtc.Answer(string(sdp))
	var m *jinglesdp.Media
	if err == nil {
		m, err = jinglesdp.ParseSDP([]byte(answer), jingle.RoleResponder, names)
	}
	if err == nil && len(m.Accepted()) == 0 {
		err = fmt.Errorf("no offered codec among the phone's")
	}
	if err != nil {
		rtc.Close()
		return nil, nil, err
	}
	return &jingle.Jingle{Action: jingle.ActionSessionAccept, SID: offer.SID, Responder: p.c.JID(),
		Contents: withoutCandidates(m.Accepted()), Group: m.Group}, rtc, nil
}

// applyAnswer gives a received session-accept to the media stack, after
// p.mu is released; a refusal ends the call as Conversations does.
func (c *PhoneCall) applyAnswer(j *jingle.Jingle, rtc *webrtcpeer.Peer, local *jinglesdp.Media) func() {
	return func() {
		err := requireRTCPMux(j.Contents)
		if err == nil && rtc == nil {
			err = fmt.Errorf("no media for call %s", c.sid)
		}
		if err == nil {
			var sdp []byte
			if sdp, err = jinglesdp.BuildSDP(j.Contents, j.Group, jingle.RoleResponder, phoneOrigin(), local); err == nil {
				err = rtc.SetAnswer(string(sdp))
			}
		}
		if err != nil {
			c.p.mu.Lock()
			c.terminateLocked(jingle.NewReason(jingle.FailedApplication, err.Error()))
			c.p.mu.Unlock()
		}
	}
}

// trickledLocked takes the candidates of a transport-info: to the media
// stack once p.mu is released, or kept until Accept makes one.
func (c *PhoneCall) trickledLocked(j *jingle.Jingle) func() {
	var cands []webrtcpeer.Candidate
	for _, content := range j.Contents {
		if !content.Transport.IsICE() {
			continue
		}
		for _, jc := range content.Transport.Candidates {
			c.trickled = append(c.trickled, jc)
			if wc, err := peerCandidate(jc); err != nil {
				c.p.logf("call %s: ignoring candidate: %v", c.sid, err)
			} else {
				cands = append(cands, wc)
			}
		}
	}
	if c.rtc == nil {
		c.early = append(c.early, cands...)
		return nil
	}
	rtc := c.rtc
	return func() { c.p.addRemote(rtc, cands) }
}

func (p *Phone) addRemote(rtc *webrtcpeer.Peer, cands []webrtcpeer.Candidate) {
	for _, wc := range cands {
		if err := rtc.AddRemoteCandidate(wc); err != nil {
			p.logf("remote candidate: %v", err)
		}
	}
}

// trickle sends every local candidate in its own transport-info, as
// Conversations does (content creator initiator, the content's ufrag and
// pwd, one candidate), from the media's goroutine.
func (c *PhoneCall) trickle(rtc *webrtcpeer.Peer, to string, content jingle.Content) {
	p := c.p
	ufrag, pwd := content.Transport.Ufrag, content.Transport.Pwd
	rtc.OnLocalCandidate(func(life context.Context, wc webrtcpeer.Candidate) {
		t := jingle.NewTransport(jingle.NSICEUDP)
		t.Ufrag, t.Pwd = ufrag, pwd
		t.Candidates = []jingle.Candidate{jingleCandidate(wc)}
		j := &jingle.Jingle{Action: jingle.ActionTransportInfo, SID: c.sid, Contents: []jingle.Content{
			{Creator: jingle.RoleInitiator, Name: content.Name, Senders: content.Senders, Transport: t}}}
		ctx, cancel := context.WithTimeout(life, writeTimeout)
		defer cancel()
		err := p.sendJingle(ctx, to, j)
		select {
		case <-life.Done(): // the call ended: nobody cares, and the test may be over
		case <-p.c.Done():
		default:
			if err != nil {
				p.logf("transport-info %s: %v", c.sid, err)
			}
		}
	})
}
