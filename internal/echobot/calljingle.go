package echobot

import (
	"context"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

// Jingle error conditions (XEP-0166 §10).
func jingleError(t stanza.ErrorType, c stanza.Condition, app, text string) *stanza.Error {
	e := stanza.NewError(t, c, text)
	e.App = []byte("<" + app + " xmlns='" + jingle.NSErrors + "'/>")
	return e
}

func errUnknownSession() *stanza.Error {
	return jingleError(stanza.TypeCancel, stanza.ItemNotFound, "unknown-session", "no such Jingle session")
}

// handleJingle takes a Jingle iq. It is decoded and checked on the
// reader; what it means for a call runs on the call's actor.
func (b *Bot) handleJingle(ctx context.Context, s *stanza.Stanza) {
	var j jingle.Jingle
	if _, err := s.Decode(jingle.NS, "jingle", &j); err != nil {
		b.replyError(ctx, s, stanza.Errorf(stanza.TypeModify, stanza.BadRequest, "malformed Jingle: %v", err))
		return
	}
	if err := j.Validate(); err != nil {
		b.replyError(ctx, s, stanza.NewError(stanza.TypeModify, stanza.BadRequest, err.Error()))
		return
	}
	if j.Action == jingle.ActionSessionInitiate {
		b.sessionInitiate(ctx, s, &j)
		return
	}
	c := b.find(keyOf(s.From, j.SID), s.From)
	if c == nil {
		b.replyError(ctx, s, errUnknownSession())
		return
	}
	switch j.Action {
	case jingle.ActionTransportInfo:
		b.reply(ctx, s)
		c.post(func() { c.candidates(j.Contents) })
	case jingle.ActionSessionInfo:
		b.sessionInfo(ctx, s, &j)
	case jingle.ActionSessionTerminate:
		b.reply(ctx, s)
		c.post(func() { c.end(nil) })
	case jingle.ActionContentAdd:
		b.reply(ctx, s)
		c.post(func() { c.rejectContents(j.Contents) })
	case jingle.ActionContentRemove, jingle.ActionContentReject:
		b.reply(ctx, s)
		c.post(func() { c.contentsRemoved(j.Contents) })
	case jingle.ActionContentModify, jingle.ActionContentAccept,
		jingle.ActionDescriptionInfo, jingle.ActionSecurityInfo:
		// Hold, mute, direction changes: the echo sends back whatever
		// arrives, so there is nothing to change.
		b.reply(ctx, s)
	case jingle.ActionSessionAccept:
		// We never initiate, so there is nothing to accept.
		b.replyError(ctx, s, jingleError(stanza.TypeCancel, stanza.UnexpectedRequest, "out-of-order", "the echo bot is the responder"))
	default:
		b.replyError(ctx, s, stanza.Errorf(stanza.TypeCancel, stanza.FeatureNotImplemented, "Jingle action %s is not supported by the echo bot", j.Action))
	}
}

// sessionInfo acknowledges ringing, hold, mute and the empty ping
// (XEP-0166 §6.8); a payload of another namespace is unsupported-info.
func (b *Bot) sessionInfo(ctx context.Context, s *stanza.Stanza, j *jingle.Jingle) {
	if e, ok := j.SessionInfo(); ok && e.XMLName.Space != jingle.NSRTPInfo {
		b.replyError(ctx, s, jingleError(stanza.TypeModify, stanza.FeatureNotImplemented, "unsupported-info", ""))
		return
	}
	b.reply(ctx, s)
}

// sessionInitiate starts a call, or continues the one a JMI proposal
// announced. A sid already in a session is refused with tie-break
// (XEP-0166 §7.2.16): the bot never initiates, so it can only be a
// duplicate. A caller over the limits gets its session-initiate
// acknowledged and then terminated with the reason.
func (b *Bot) sessionInitiate(ctx context.Context, s *stanza.Stanza, j *jingle.Jingle) {
	key := keyOf(s.From, j.SID)
	c, refuse, dup := b.admitSession(key, s.From)
	switch {
	case dup:
		b.replyError(ctx, s, jingleError(stanza.TypeCancel, stanza.Conflict, "tie-break", "this session already exists"))
	case refuse != nil:
		b.reply(ctx, s)
		b.stats.refused.Add(1)
		t := &jingle.Jingle{Action: jingle.ActionSessionTerminate, SID: j.SID, Initiator: s.From, Reason: refuse}
		b.sendNew(ctx, stanza.KindIQ, "set", s.From, newID(), t)
		b.log.Info("call refused", "peer", s.From, "sid", j.SID, "reason", refuse.Condition)
	default:
		self := s.To
		if self == "" {
			self = b.out.JID()
		}
		if !c.post(func() { c.answer(s, j, self) }) {
			b.replyError(ctx, s, errUnknownSession())
		}
	}
}

// admitSession takes a session-initiate: the proposed call it continues,
// a new call, a reason to refuse, or dup for a sid already in a session.
func (b *Bot) admitSession(key callKey, from string) (c *call, refuse *jingle.Reason, dup bool) {
	c, existing, refuse := b.admit(key, from, false, true)
	if existing == nil {
		return c, refuse, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if existing.initiated || !existing.jmi {
		return nil, nil, true
	}
	// The proposal's session: it may come from another of the caller's
	// devices than the one that proposed (the one that took the call).
	existing.initiated, existing.peer = true, from
	return existing, nil, false
}

// answer acknowledges the session-initiate and answers it with the echo:
// the caller's first audio codec over the transport they offered.
func (c *call) answer(req *stanza.Stanza, j *jingle.Jingle, self string) {
	c.b.reply(c.b.life, req)
	if c.state == stateEnded {
		return
	}
	c.to, c.self, c.session = req.From, self, true
	if r := offerProblem(j.Contents); r != nil {
		c.b.stats.refused.Add(1)
		c.end(r)
		return
	}
	p, err := c.b.cfg.Relay.OpenEcho(func(err error) { c.post(func() { c.mediaEnded(err) }) })
	if err != nil {
		c.failed(mediaReason(err))
		return
	}
	c.path = p
	contents, err := p.Answer(j.Contents, j.Group)
	if err != nil {
		c.failed(jingle.NewReason(jingle.IncompatibleParameters, err.Error()))
		return
	}
	c.audio = echoedContent(contents)
	acc := c.jingle(jingle.ActionSessionAccept)
	acc.Contents, acc.Group = contents, j.Group
	// Counted before it goes: a caller that got the accept and heard the
	// echo must find the call answered in Stats.
	c.state = stateActive
	c.b.stats.answered.Add(1)
	c.request(acc, func(serr *stanza.Error) {
		c.failed(jingle.NewReason(jingle.GeneralError, "the session-accept was refused: "+serr.Error()))
	})
	c.log.Info("call answered", "media", mediaOf(contents))
	c.arm(c.b.cfg.MaxCallDuration, func() {
		c.end(jingle.NewReason(jingle.Success, "echo time limit"))
	})
}

// failed ends the call because something broke.
func (c *call) failed(r *jingle.Reason) {
	if c.state == stateEnded {
		return
	}
	c.b.stats.failed.Add(1)
	c.end(r)
}

// candidates passes trickled candidates on to the media.
func (c *call) candidates(contents []jingle.Content) {
	if c.path == nil {
		return
	}
	if err := c.path.AddXMPPCandidates(contents); err != nil {
		c.log.Warn("candidates refused", "err", err)
	}
}

// rejectContents refuses contents added mid-call: the echo keeps the
// media it answered.
func (c *call) rejectContents(contents []jingle.Content) {
	if c.state != stateActive {
		return
	}
	j := c.jingle(jingle.ActionContentReject)
	for _, ct := range contents {
		j.Contents = append(j.Contents, jingle.Content{Creator: ct.Creator, Name: ct.Name})
	}
	c.b.sendNew(c.b.life, stanza.KindIQ, "set", c.to, newID(), j)
}

// contentsRemoved ends the call when the echoed content goes.
func (c *call) contentsRemoved(contents []jingle.Content) {
	for _, ct := range contents {
		if ct.Name == c.audio {
			c.end(jingle.NewReason(jingle.Success, "the audio content was removed"))
			return
		}
	}
}
