package gateway

import (
	"context"
	"encoding/xml"
	"strings"

	"mellium.im/xmpp/jid"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/store"
)

const (
	nsHints         = "urn:xmpp:hints"
	nsReceipts      = "urn:xmpp:receipts"
	proposeIDPrefix = "jm-propose-"
)

type storeHint struct {
	XMLName xml.Name `xml:"urn:xmpp:hints store"`
}

// handleContactMessage takes a message from a user to a contact: JMI
// elements drive calls; errors may answer our own proposals.
func (g *Gateway) handleContactMessage(ctx context.Context, s *stanza.Stanza, from, to jid.JID) bool {
	bare := from.Bare().String()
	contact := to.Bare().String()
	if s.Type == "error" {
		if u := g.existingUser(bare); u != nil && strings.HasPrefix(s.ID, proposeIDPrefix) {
			sid, serr := strings.TrimPrefix(s.ID, proposeIDPrefix), stanza.ParseError(s)
			u.post(func() { u.proposeFailed(sid, serr) })
		}
		return true
	}
	name, ok := s.Element(jingle.NSJMI)
	if !ok {
		return false
	}
	var m jingle.JMI
	if _, err := s.Decode(jingle.NSJMI, name.Local, &m); err != nil || m.ID == "" {
		g.replyError(ctx, s, stanza.NewError(stanza.TypeModify, stanza.BadRequest, "malformed Jingle Message Initiation element"))
		return true
	}
	u := g.existingUser(bare)
	if u == nil || g.calls == nil {
		g.replyError(ctx, s, stanza.NewError(stanza.TypeCancel, stanza.ServiceUnavailable, "calls are not available on this gateway"))
		return true
	}
	u.post(func() { u.onJMI(s, &m, contact) })
	return true
}

// onJMI runs a JMI element from one of the user's devices.
func (u *user) onJMI(s *stanza.Stanza, m *jingle.JMI, contact string) {
	c := u.callBySID(m.ID)
	if m.Kind() == jingle.JMIPropose {
		u.propose(s, m, contact, c)
		return
	}
	if c == nil || c.contact != contact {
		return // late or duplicate: JMI messages get no error replies
	}
	switch c.dir {
	case outgoing:
		if m.Kind() == jingle.JMIRetract && s.From == c.peer {
			c.userTerminated(s.From, orReason(m.Reason, jingle.Cancel))
		}
	case incoming:
		c.deviceJMI(s.From, m)
	}
}

func orReason(r *jingle.Reason, def jingle.Condition) *jingle.Reason {
	if r == nil || r.Condition == "" {
		return jingle.NewReason(def, "")
	}
	return r
}

// propose answers a user's JMI propose: the gateway "proceeds" at once
// (the SDP offer only comes with the session-initiate that follows,
// protocol-map §2.2 step 3), or refuses with a message error.
func (u *user) propose(s *stanza.Stanza, m *jingle.JMI, contact string, existing *call) {
	if existing != nil {
		return // a resent propose
	}
	if serr := u.callable(); serr != nil {
		u.g.replyError(u.ctx, s, serr)
		return
	}
	if !hasAudio(m.Descriptions) {
		u.g.replyError(u.ctx, s, stanza.NewError(stanza.TypeModify, stanza.NotAcceptable, "SIP calls carry audio; propose an audio call"))
		return
	}
	c := newCall(u, m.ID, outgoing, contact)
	c.jmi, c.peer, c.state = true, s.From, stateProposed
	if serr := u.addCall(c); serr != nil {
		u.g.replyError(u.ctx, s, serr)
		return
	}
	c.log.Info("call proposed (JMI)", "device", s.From)
	c.sendJMI(s.From, jingle.JMIProceed, nil)
	c.arm(u.g.cfg.Calls.ProposeTimeout, func() {
		c.log.Info("no session-initiate after proceed")
		c.tellUser(jingle.NewReason(jingle.Timeout, "no session-initiate followed the proposal"))
		c.close()
	})
}

func hasAudio(ds []jingle.Description) bool {
	for _, d := range ds {
		if d.Media == "audio" {
			return true
		}
	}
	return false
}

// callable says whether the user can place a call now, or why not.
func (u *user) callable() *stanza.Error {
	switch {
	case u.account == nil:
		return accountError(store.ErrNotFound)
	case u.regState.Phase != PhaseRegistered:
		text := "not logged in to your SIP provider"
		if u.regState.Err != nil {
			text += ": " + errText(u.regState.Err)
		}
		return stanza.NewError(stanza.TypeWait, stanza.RemoteServerTimeout, text)
	}
	return nil
}

// sendJMI sends a JMI element from the contact to to (a full JID, or the
// bare JID for an incoming propose) with a store hint (XEP-0353 §5).
func (c *call) sendJMI(to, kind string, r *jingle.Reason) {
	m := jingle.NewJMI(kind, c.sid)
	m.Reason = r
	id := newID()
	if kind == jingle.JMIPropose {
		id = proposeIDPrefix + c.sid
		for _, ct := range c.offerToUser {
			if ct.Description != nil {
				m.Descriptions = append(m.Descriptions, *jingle.NewDescription(ct.Description.Media))
			}
		}
	}
	msg, err := stanza.New(stanza.KindMessage, "chat", c.contactFull, to, id, m, storeHint{})
	if err != nil {
		c.log.Error("build JMI message", "err", err)
		return
	}
	c.u.g.send(c.u.ctx, msg)
}

// proposeFailed handles an error bounced back for our propose.
func (u *user) proposeFailed(sid string, serr *stanza.Error) {
	c := u.callBySID(sid)
	if c == nil || c.dir != incoming || !c.proposed {
		return
	}
	c.proposed = false
	c.deviceGone("", serr)
}
