package echobot

import (
	"context"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

// handleJMI takes a Jingle Message Initiation element (XEP-0353). The bot
// never proposes, so only propose, retract and finish mean anything; JMI
// messages get no replies but those the protocol defines.
func (b *Bot) handleJMI(ctx context.Context, s *stanza.Stanza, kind string) {
	var m jingle.JMI
	if _, err := s.Decode(jingle.NSJMI, kind, &m); err != nil || m.ID == "" {
		b.replyError(ctx, s, stanza.NewError(stanza.TypeModify, stanza.BadRequest, "malformed Jingle Message Initiation element"))
		return
	}
	key := keyOf(s.From, m.ID)
	switch kind {
	case jingle.JMIPropose:
		b.propose(ctx, s, &m, key)
	case jingle.JMIRetract, jingle.JMIFinish:
		// From any of the caller's devices: the proposal or call is over.
		if c := b.proposed(key); c != nil {
			c.post(func() { c.callerEnded(kind) })
		}
	}
}

// propose answers a proposal: ringing then proceed at once, the echo
// being always ready; or a reject with the reason it cannot be taken.
func (b *Bot) propose(ctx context.Context, s *stanza.Stanza, m *jingle.JMI, key callKey) {
	if !hasAudio(m.Descriptions) {
		b.stats.refused.Add(1)
		b.reject(ctx, s.From, m.ID, jingle.NewReason(jingle.UnsupportedApplications, "the echo bot answers audio calls"))
		return
	}
	c, existing, refuse := b.admit(key, s.From, true, false)
	switch {
	case existing != nil:
		return // a resent proposal
	case refuse != nil:
		b.stats.refused.Add(1)
		b.reject(ctx, s.From, m.ID, refuse)
		b.log.Info("proposal refused", "peer", s.From, "sid", m.ID, "reason", refuse.Condition)
		return
	}
	self := s.To
	if self == "" || bare(self) == self {
		self = b.out.JID() // proposals go to our bare JID
	}
	if !c.post(func() { c.proceed(self) }) {
		b.log.Warn("proposal dropped: the call's queue is full", "sid", m.ID)
	}
}

func hasAudio(ds []jingle.Description) bool {
	for _, d := range ds {
		if d.Media == "audio" {
			return true
		}
	}
	return false
}

// reject refuses a proposal (XEP-0353 §3.5).
func (b *Bot) reject(ctx context.Context, to, sid string, r *jingle.Reason) {
	m := jingle.NewJMI(jingle.JMIReject, sid)
	m.Reason = r
	b.sendNew(ctx, stanza.KindMessage, "chat", to, newID(), m, storeHint{})
}

// proceed accepts the proposal for the device that made it: directed
// presence with caps first, so a caller who has no subscription sees our
// full JID online and callable (XEP-0353 §3.4), then ringing and proceed.
// The session-initiate must follow within ProposeTimeout.
func (c *call) proceed(self string) {
	if c.state != stateNew {
		return
	}
	c.self = self
	b := c.b
	b.sendNew(b.life, stanza.KindPresence, "", c.to, "", b.capsElement())
	c.sendJMI(jingle.JMIRinging, nil)
	c.sendJMI(jingle.JMIProceed, nil)
	c.state = stateProposed
	c.log.Info("call proposed: proceeding")
	c.arm(b.cfg.ProposeTimeout, func() {
		if c.state == stateProposed {
			c.end(jingle.NewReason(jingle.Timeout, "no session-initiate followed the proposal"))
		}
	})
}

// callerEnded takes a retract or finish from the caller.
func (c *call) callerEnded(kind string) {
	if kind == jingle.JMIRetract && c.session {
		// A session exists: retracting the proposal ends it too, and
		// the device that retracted may not be the one in the session.
		c.end(jingle.NewReason(jingle.Cancel, "the proposal was retracted"))
		return
	}
	c.end(nil)
}
