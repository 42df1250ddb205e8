package gateway

import (
	"slices"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/jinglesdp"
	"fargo.dev/fargo/internal/stanza"
)

// transportInfo takes trickled candidates from the user's device. They
// complete an offer or answer still gathering; later ones cannot reach a
// SIP peer without ICE (a relay carries them).
func (c *call) transportInfo(req *stanza.Stanza, j *jingle.Jingle) {
	c.u.g.reply(c.u.ctx, req)
	for _, in := range j.Contents {
		if in.Transport == nil {
			continue
		}
		for i := range c.userContents {
			mine := &c.userContents[i]
			if mine.Name != in.Name || mine.Transport == nil {
				continue
			}
			if in.Transport.Ufrag != "" {
				mine.Transport.Ufrag, mine.Transport.Pwd = in.Transport.Ufrag, in.Transport.Pwd
			}
			if len(in.Transport.Fingerprints) > 0 {
				mine.Transport.Fingerprints = in.Transport.Fingerprints
			}
			mine.Transport.Candidates = append(slices.Clip(mine.Transport.Candidates), in.Transport.Candidates...)
		}
	}
	if err := c.media.AddXMPPCandidates(j.Contents); err != nil {
		c.log.Info("trickled candidates not usable", "err", err)
	}
}

// sessionInfo handles XEP-0167 informational messages and XEP-0181 DTMF.
func (c *call) sessionInfo(req *stanza.Stanza, j *jingle.Jingle) {
	e, ok := j.SessionInfo()
	if !ok {
		c.u.g.reply(c.u.ctx, req) // a ping (XEP-0166 §6.8)
		return
	}
	switch {
	case e.XMLName.Space == jingle.NSRTPInfo:
		c.u.g.reply(c.u.ctx, req)
		switch e.XMLName.Local {
		case jingle.InfoHold:
			c.setHold(true)
		case jingle.InfoUnhold, jingle.InfoActive:
			c.setHold(false)
		}
	case e.XMLName.Space == jingle.NSDTMF:
		d, err := jingle.ParseDTMF(e)
		if err != nil {
			c.u.g.replyError(c.u.ctx, req, stanza.NewError(stanza.TypeModify, stanza.BadRequest, err.Error()))
			return
		}
		c.u.g.reply(c.u.ctx, req)
		c.sendDTMF(d)
	default:
		c.u.g.replyError(c.u.ctx, req, errUnsupportedInfo(""))
	}
}

// contentModify: a change of senders is hold or resume (XEP-0167 §8).
func (c *call) contentModify(req *stanza.Stanza, j *jingle.Jingle) {
	if len(j.Contents) == 0 {
		c.u.g.replyError(c.u.ctx, req, stanza.NewError(stanza.TypeModify, stanza.BadRequest, "content-modify without content"))
		return
	}
	c.u.g.reply(c.u.ctx, req)
	s := j.Contents[0].Senders.Normalize()
	c.setHold(s != jingle.SendersBoth)
}

// setHold re-INVITEs the SIP side with the user's direction: sendonly
// while held (RFC 3264 §8.4), sendrecv again on resume.
func (c *call) setHold(held bool) {
	if held == c.held {
		return
	}
	c.held = held
	if c.state != stateActive || c.sip == nil { // the echo has no SIP side
		return
	}
	c.log.Info("hold changed by the user", "held", held)
	sdp, err := c.localSDP(c.offerDirection())
	if err != nil {
		c.log.Warn("hold: cannot build the re-INVITE", "err", err)
		return
	}
	sc, log := c.sip, c.log
	ctx, cancel := c.callContext()
	go func() {
		defer cancel()
		if _, err := sc.Reinvite(ctx, sdp); err != nil {
			log.Info("hold re-INVITE failed", "err", err)
		}
	}()
}

func (c *call) offerDirection() string {
	if c.held {
		return "sendonly"
	}
	return "sendrecv"
}

// localSDP renders the user's side of the media with the given direction
// (written by the gateway on the user's behalf), as a new SDP version.
func (c *call) localSDP(direction string) ([]byte, error) {
	contents := slices.Clone(c.userContents)
	senders := jinglesdp.SendersFor(direction, c.userRole())
	for i := range contents {
		if contents[i].Senders.Normalize() != jingle.SendersNone {
			contents[i].Senders = senders
		}
	}
	contents, err := c.media.ToSIP(contents)
	if err != nil {
		return nil, err
	}
	origin := c.nextOrigin(contents)
	var mirror *jinglesdp.Media
	if c.dir == incoming {
		mirror = c.sipOffer
	}
	return jinglesdp.BuildSDP(contents, c.sipGroup(), c.userRole(), origin, mirror)
}

// sendDTMF relays an XEP-0181 key to the SIP side as SIP INFO (RFC 4733
// events need no help: they travel in the media).
func (c *call) sendDTMF(d jingle.DTMF) {
	if c.state != stateActive || c.sip == nil { // the echo's tones come back in the media
		return
	}
	sc, log := c.sip, c.log
	ctx, cancel := c.callContext()
	go func() {
		defer cancel()
		if err := sc.Info(ctx, "application/dtmf-relay", dtmfRelayBody(d)); err != nil {
			log.Info("DTMF INFO failed", "err", err)
		}
	}()
}

// remoteOffer answers a SIP re-INVITE: hold and resume reach the user's
// device as session-info; the answer mirrors the new offer with the
// user's media and the complementary direction.
func (c *call) remoteOffer(offer []byte) ([]byte, error) {
	if c.state != stateActive {
		return nil, &StatusError{Status: 491, Reason: "Request Pending"}
	}
	m, err := jinglesdp.ParseSDP(offer, c.sipRole(), contentNames(c.userContents))
	if err != nil {
		return nil, &StatusError{Status: 488, Reason: "Not Acceptable Here"}
	}
	c.sipMedia = m
	if c.media.Relayed() {
		// The SIP side may move its media (new c= or port) or renumber
		// payload types: the relay's SIP leg follows.
		if _, err := c.media.ToXMPP(m.Contents); err != nil {
			return nil, &StatusError{Status: 488, Reason: "Not Acceptable Here"}
		}
	}
	if m.Hold != c.remoteHeld {
		c.remoteHeld = m.Hold
		info := jingle.InfoUnhold
		if m.Hold {
			info = jingle.InfoHold
		}
		c.log.Info("hold changed by the SIP side", "held", m.Hold)
		j := c.jingleFor(jingle.ActionSessionInfo)
		j.Info = []jingle.Element{jingle.RTPInfo(info)}
		c.sendJingle(c.peer, j, nil)
	}
	dir := answerDirection(m, c.sipRole(), c.held)
	contents := slices.Clone(c.userContents)
	senders := jinglesdp.SendersFor(dir, c.userRole())
	for i := range contents {
		contents[i].Senders = senders
	}
	contents, err = c.media.ToSIP(contents)
	if err != nil {
		return nil, err
	}
	return jinglesdp.BuildSDP(contents, c.sipGroup(), c.userRole(), c.nextOrigin(contents), m)
}

// answerDirection is the direction answering the SIP side's offer
// (RFC 3264 §6.1): the complement of theirs, limited by our own hold.
func answerDirection(m *jinglesdp.Media, author jingle.Role, held bool) string {
	theirs := "sendrecv"
	for _, ct := range m.Contents {
		if ct.Description != nil && ct.Description.Media == "audio" {
			theirs = jinglesdp.DirectionFor(ct.Senders.Normalize(), author)
			break
		}
	}
	ours := map[string]string{"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}[theirs]
	if held {
		ours = jinglesdp.HoldDirection(ours)
	}
	return ours
}
