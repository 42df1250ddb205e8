package gateway

import (
	"fmt"
	"strings"
	"time"

	"fargo.dev/fargo/internal/address"
	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/jinglesdp"
	"fargo.dev/fargo/internal/reason"
	"fargo.dev/fargo/internal/stanza"
)

// sessionInitiate starts (or, after JMI, continues) an outgoing call.
func (u *user) sessionInitiate(req *stanza.Stanza, j *jingle.Jingle, contact string, c *call, arrived time.Time) {
	if c != nil && (c.dir != outgoing || c.state != stateProposed || c.peer != req.From || c.contact != contact) {
		u.g.replyError(u.ctx, req, errOutOfOrder("a session with this sid exists already"))
		return
	}
	if c == nil {
		if serr := u.callable(); serr != nil {
			u.g.replyError(u.ctx, req, serr)
			return
		}
		c = newCall(u, j.SID, outgoing, contact)
		c.peer = req.From
		if serr := u.addCall(c); serr != nil {
			u.g.replyError(u.ctx, req, serr)
			return
		}
	}
	// XEP-0166 §6.3: acknowledge first; problems with the offer are
	// session-terminate reasons, not iq errors.
	u.g.reply(u.ctx, req)
	c.userContents, c.userGroup, c.phaseStart = j.Contents, j.Group, arrived
	if r := checkUserOffer(j.Contents); r != nil {
		c.log.Info("offer refused", "reason", r.Condition, "text", r.Text)
		c.state = stateCalling
		c.tellUser(r)
		c.close()
		return
	}
	if c.isEcho() {
		c.answerEcho()
		return
	}
	if u.g.relay != nil && u.g.cfg.Media.relayOutgoing(j.Contents) {
		if err := c.useRelay(false); err != nil {
			c.log.Info("offer refused: no relay", "err", err)
			c.state = stateCalling
			c.tellUser(jingle.NewReason(jingle.GeneralError, err.Error()))
			c.close()
			return
		}
	}
	c.log.Info("outgoing call", "device", req.From, "codecs", strings.Join(jinglesdp.Codecs(j.Contents), ", "), "relayed", c.media.Relayed())
	// The relay takes trickled candidates whenever they come; only a
	// direct offer must wait for them before the SDP can be written.
	if !c.media.Relayed() && needsCandidates(j.Contents) {
		c.state, c.phaseStart = stateGathering, time.Time{} // the client's candidates are not ours to count
		c.arm(u.g.cfg.Calls.GatherTimeout, c.invite)
		return
	}
	c.invite()
}

// checkUserOffer refuses offers the SIP side can never take.
func checkUserOffer(contents []jingle.Content) *jingle.Reason {
	audio := false
	for _, ct := range contents {
		if !ct.Description.IsRTP() {
			return jingle.NewReason(jingle.UnsupportedApplications, "only RTP calls can be bridged to SIP")
		}
		if ct.Transport != nil && !ct.Transport.IsICE() && !ct.Transport.IsRawUDP() {
			return jingle.NewReason(jingle.UnsupportedTransports, "use ICE-UDP or raw UDP")
		}
		if ct.Description.Media == "audio" && len(ct.Description.PayloadTypes) > 0 {
			audio = true
		}
	}
	if !audio {
		return jingle.NewReason(jingle.IncompatibleParameters, "the offer has no audio codec")
	}
	return nil
}

// needsCandidates: an ICE content without candidates (Conversations
// trickles every one) waits for transport-info before SDP can be built.
func needsCandidates(contents []jingle.Content) bool {
	for _, ct := range contents {
		if ct.Transport.IsICE() && len(ct.Transport.Candidates) == 0 && ct.Senders.Normalize() != jingle.SendersNone {
			return true
		}
	}
	return false
}

// invite sends the INVITE built from the user's offer.
func (c *call) invite() {
	u := c.u
	target, err := c.sipTarget()
	if err != nil {
		c.end(jingle.NewReason(jingle.GeneralError, err.Error()))
		return
	}
	c.target = target
	contents, err := c.media.ToSIP(c.userContents)
	if err != nil {
		c.end(jingle.NewReason(jingle.FailedApplication, err.Error()))
		return
	}
	sdp, err := jinglesdp.BuildSDP(contents, c.sipGroup(), jingle.RoleInitiator, c.nextOrigin(contents), nil)
	if err != nil {
		c.end(jingle.NewReason(jingle.IncompatibleParameters, err.Error()))
		return
	}
	ctx, cancel := c.callContext()
	defer cancel()
	sc, err := u.g.calls.Invite(ctx, *u.account, target, sdp, &sipEvents{c: c})
	if err != nil {
		c.end(jingle.NewReason(jingle.FailedApplication, "the SIP call could not be placed: "+err.Error()))
		return
	}
	c.sip, c.state = sc, stateCalling
	u.g.observeSince(PhaseInitiateToInvite, c.phaseStart)
	c.log.Info("INVITE sent", "target", target, "sip_call_id", sc.CallID())
	c.arm(u.g.cfg.Calls.RingTimeout, func() {
		c.end(jingle.NewReason(jingle.Timeout, fmt.Sprintf("no answer within %s", u.g.cfg.Calls.RingTimeout)))
	})
}

// sipTarget is the SIP URI the contact stands for, on the user's account.
func (c *call) sipTarget() (string, error) {
	local, _, _ := strings.Cut(c.contact, "@")
	r, err := address.FromLocalpart(local)
	if err != nil {
		return "", fmt.Errorf("%s is not a SIP address: %w", c.contact, err)
	}
	_, domain, _ := strings.Cut(c.u.account.SIPAddress, "@")
	return address.SIPURI(r, domain)
}

// outgoingEvent handles the SIP side of an outgoing call.
func (c *call) outgoingEvent(e SIPEvent) {
	switch e.Kind {
	case SIPProgress:
		if !c.ringingSent && (e.Status == 180 || e.Status == 183) {
			c.ringingSent = true
			j := c.jingleFor(jingle.ActionSessionInfo)
			j.Info = []jingle.Element{jingle.RTPInfo(jingle.InfoRinging)}
			c.sendJingle(c.peer, j, nil)
		}
	case SIPAnswered:
		c.answered(e.Body)
	case SIPFailed:
		if e.Timeout {
			e.Status, e.Reason = 408, "Request Timeout"
		}
		c.sipEnded(ptr(reason.FromStatus(e.Status, e.Reason, e.Warning)))
	default:
		c.dialogEvent(e)
	}
}

func ptr[T any](v T) *T { return &v }

// answered turns the SIP answer into the user's session-accept.
func (c *call) answered(body []byte) {
	m, err := jinglesdp.ParseSDP(body, jingle.RoleResponder, contentNames(c.userContents))
	if err == nil {
		err = jinglesdp.CheckAnswer(c.userContents, m.Contents)
	}
	if err != nil {
		c.log.Info("unusable SIP answer", "err", err)
		c.state = stateActive // a confirmed dialog: BYE it
		c.end(jingle.NewReason(jingle.IncompatibleParameters, err.Error()))
		return
	}
	contents, err := c.media.ToXMPP(m.Contents)
	if err != nil {
		c.state = stateActive
		c.end(jingle.NewReason(jingle.FailedApplication, err.Error()))
		return
	}
	c.sipMedia = m
	c.disarm()
	c.state, c.answeredAt = stateActive, time.Now()
	c.u.g.stats.callsAnswered.Add(1)
	j := c.jingleFor(jingle.ActionSessionAccept)
	j.Contents = contents
	switch {
	case c.media.Relayed():
		j.Group = c.userGroup // our ICE leg bundles what the user bundled
	case c.userGroup != nil:
		j.Group = m.Group
	}
	c.sendJingle(c.peer, j, func(serr *stanza.Error) {
		c.end(jingle.NewReason(jingle.GeneralError, "the client refused the answer: "+serr.Error()))
	})
	c.u.g.observeSince(PhaseOKToAccept, c.phaseStart)
	c.log.Info("call answered", "codecs", strings.Join(jinglesdp.Codecs(m.Contents), ", "))
}

func contentNames(cs []jingle.Content) []string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return names
}
