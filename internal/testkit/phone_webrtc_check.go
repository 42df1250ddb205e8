package testkit

import (
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"net/netip"
	"strings"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/testkit/webrtcpeer"
)

// conversationsCheck is what Conversations demands of the contents of a
// session-initiate (initiator) or session-accept before it goes on, with
// the reason and text it terminates with otherwise
// (RtpContentMap.DescriptionTransport.of, requireContentDescriptions,
// requireDTLSFingerprint; Reason.of maps the exceptions).
func conversationsCheck(j *jingle.Jingle, initiator bool) *jingle.Reason {
	if len(j.Contents) == 0 {
		return jingle.NewReason(jingle.FailedApplication, "No contents available")
	}
	for _, c := range j.Contents {
		if c.Description != nil && !c.Description.IsRTP() {
			return jingle.NewReason(jingle.UnsupportedApplications, "Content does not contain rtp description")
		}
		if !c.Transport.IsICE() {
			return jingle.NewReason(jingle.UnsupportedTransports, "Content does not contain ICE-UDP transport")
		}
	}
	for _, c := range j.Contents {
		if c.Description == nil {
			return jingle.NewReason(jingle.FailedApplication, c.Name+" is lacking content description")
		}
	}
	for _, c := range j.Contents {
		fps := c.Transport.Fingerprints
		if len(fps) == 0 || strings.TrimSpace(fps[0].Value) == "" || fps[0].Hash == "" {
			return jingle.NewReason(jingle.SecurityError, "Use of DTLS-SRTP (XEP-0320) is required for content "+c.Name)
		}
		switch setup := fps[0].Setup; {
		case setup == "":
			return jingle.NewReason(jingle.SecurityError,
				"Use of DTLS-SRTP (XEP-0320) is required for content "+c.Name+" but missing setup attribute")
		case initiator && setup != "actpass":
			return jingle.NewReason(jingle.SecurityError, "Initiator needs to offer ACTPASS as setup for DTLS-SRTP (XEP-0320)")
		}
	}
	return nil
}

// requireRTCPMux is libwebrtc's rtcp-mux policy "require", which
// Conversations keeps: a description without <rtcp-mux/> is refused.
func requireRTCPMux(contents []jingle.Content) error {
	for _, c := range contents {
		if c.Description != nil && c.Description.RTCPMux == nil && c.Senders != jingle.SendersNone {
			return fmt.Errorf("The m= section with mid='%s' is invalid. RTCP-MUX is not enabled when it is required.", c.Name)
		}
	}
	return nil
}

// checkOfferLocked refuses a session-initiate Conversations would refuse.
func (c *PhoneCall) checkOfferLocked(j *jingle.Jingle) {
	if r := conversationsCheck(j, true); r != nil {
		c.terminateLocked(r)
	}
}

// checkAnswerLocked refuses a session-accept Conversations would refuse
// and reports whether it passed; a refused one is still kept as Answer.
func (c *PhoneCall) checkAnswerLocked(j *jingle.Jingle) bool {
	r := conversationsCheck(j, false)
	if r != nil {
		c.answer = j
		c.terminateLocked(r)
	}
	return r == nil
}

// terminateLocked ends the call here with r and tells the peer with
// session-terminate, after the iq result of what is refused (Conversations
// acknowledges, then terminates). It runs on the reader goroutine, which
// cannot wait for the result.
func (c *PhoneCall) terminateLocked(r *jingle.Reason) {
	if c.state == PhoneEnded {
		return
	}
	c.p.logf("call %s: refusing: %s (%s)", c.sid, r.Condition, r.Text)
	c.endLocked(r, true, nil)
	c.p.sendJingleAsyncLocked(c.peer, &jingle.Jingle{Action: jingle.ActionSessionTerminate, SID: c.sid, Reason: r})
}

// sendJingleAsyncLocked sends a Jingle iq set without waiting: its reply
// is taken by takeAsyncReply. p.mu is held.
func (p *Phone) sendJingleAsyncLocked(to string, j *jingle.Jingle) {
	b, err := xml.Marshal(j)
	if err != nil {
		p.logf("marshal %s: %v", j.Action, err)
		return
	}
	id := p.newID()
	p.async[id] = struct{}{}
	p.reply(&stanza.Stanza{XMLName: xml.Name{Local: string(stanza.KindIQ)}, Type: "set", To: to, ID: id, Payload: b})
}

// takeAsyncReply consumes the reply to an iq sent by sendJingleAsyncLocked.
func (p *Phone) takeAsyncReply(s *stanza.Stanza) bool {
	p.mu.Lock()
	_, ok := p.async[s.ID]
	delete(p.async, s.ID)
	p.mu.Unlock()
	if ok && s.Type == "error" {
		p.logf("iq %s: %v", s.ID, stanza.ParseError(s))
	}
	return ok
}

// jingleCandidate is a gathered candidate in XEP-0176 form; its id is
// random as Conversations' (but an NCName).
func jingleCandidate(wc webrtcpeer.Candidate) jingle.Candidate {
	jc := jingle.Candidate{Component: wc.Component, Foundation: wc.Foundation, ID: "c" + strings.ToLower(rand.Text()[:10]),
		IP: wc.Addr.Addr().String(), Port: wc.Addr.Port(), Priority: wc.Priority, Protocol: "udp", Type: wc.Type}
	if wc.RelAddr.IsValid() {
		jc.RelAddr, jc.RelPort = wc.RelAddr.Addr().String(), wc.RelAddr.Port()
	}
	return jc
}

// peerCandidate reads a received candidate for the media stack.
func peerCandidate(jc jingle.Candidate) (webrtcpeer.Candidate, error) {
	if jc.Protocol != "" && !strings.EqualFold(jc.Protocol, "udp") {
		return webrtcpeer.Candidate{}, fmt.Errorf("candidate %s: protocol %q", jc.ID, jc.Protocol)
	}
	ip, err := netip.ParseAddr(jc.IP)
	if err != nil {
		return webrtcpeer.Candidate{}, fmt.Errorf("candidate %s: %w", jc.ID, err)
	}
	wc := webrtcpeer.Candidate{Foundation: jc.Foundation, Component: jc.Component, Priority: jc.Priority,
		Addr: netip.AddrPortFrom(ip.Unmap(), jc.Port), Type: jc.Type}
	if wc.Type == "" {
		wc.Type = "host"
	}
	if rel, err := netip.ParseAddr(jc.RelAddr); err == nil {
		wc.RelAddr = netip.AddrPortFrom(rel.Unmap(), jc.RelPort)
	}
	return wc, nil
}
