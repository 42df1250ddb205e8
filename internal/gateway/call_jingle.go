package gateway

import (
	"context"
	"time"

	"mellium.im/xmpp/jid"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

// Jingle-specific error conditions (XEP-0166 §10).
var (
	errUnknownSession  = appError(stanza.TypeCancel, stanza.ItemNotFound, "unknown-session", "no such Jingle session")
	errOutOfOrder      = appError(stanza.TypeCancel, stanza.UnexpectedRequest, "out-of-order", "")
	errUnsupportedInfo = appError(stanza.TypeModify, stanza.FeatureNotImplemented, "unsupported-info", "")
)

func appError(t stanza.ErrorType, c stanza.Condition, app, text string) func(string) *stanza.Error {
	return func(more string) *stanza.Error {
		if more == "" {
			more = text
		}
		e := stanza.NewError(t, c, more)
		e.App = []byte("<" + app + " xmlns='" + jingle.NSErrors + "'/>")
		return e
	}
}

// handleJingle takes a Jingle iq from a user to a contact. It is decoded and
// checked on the read loop; the session's actor decides what it means.
func (g *Gateway) handleJingle(ctx context.Context, r *iqRequest, to jid.JID) {
	// handleContactIQ routes here only a payload that is exactly one
	// <jingle xmlns='urn:xmpp:jingle:1'/>, which is what jingle.Decode
	// reads, as xml.Unmarshal would, without encoding/xml's cost.
	j, err := jingle.Decode(r.Payload)
	if err != nil {
		g.replyError(ctx, r.Stanza, stanza.Errorf(stanza.TypeModify, stanza.BadRequest, "malformed Jingle: %v", err))
		return
	}
	if err := j.Validate(); err != nil {
		g.replyError(ctx, r.Stanza, stanza.NewError(stanza.TypeModify, stanza.BadRequest, err.Error()))
		return
	}
	u := g.existingUser(r.bare)
	if u == nil || g.calls == nil {
		g.replyError(ctx, r.Stanza, stanza.NewError(stanza.TypeCancel, stanza.ServiceUnavailable, "calls are not available on this gateway"))
		return
	}
	req, contact, arrived := r.Stanza, to.Bare().String(), time.Now()
	u.post(func() { u.onJingle(req, j, contact, arrived) })
}

// onJingle runs a Jingle action from one of the user's devices.
// arrived is when the link handed the iq over, for the setup latencies.
func (u *user) onJingle(req *stanza.Stanza, j *jingle.Jingle, contact string, arrived time.Time) {
	c := u.callBySID(j.SID)
	if j.Action == jingle.ActionSessionInitiate {
		u.sessionInitiate(req, j, contact, c, arrived)
		return
	}
	if c == nil || c.contact != contact {
		u.g.replyError(u.ctx, req, errUnknownSession(""))
		return
	}
	if c.peer != "" && c.peer != req.From && !(c.dir == incoming && c.rung[req.From]) {
		u.g.replyError(u.ctx, req, errUnknownSession("the session belongs to another device"))
		return
	}
	switch j.Action {
	case jingle.ActionSessionTerminate:
		u.g.reply(u.ctx, req)
		c.userTerminated(req.From, j.Reason)
	case jingle.ActionSessionAccept:
		c.userAccepted(req, j, arrived)
	case jingle.ActionTransportInfo:
		c.transportInfo(req, j)
	case jingle.ActionSessionInfo:
		c.sessionInfo(req, j)
	case jingle.ActionContentModify:
		c.contentModify(req, j)
	case jingle.ActionContentReject, jingle.ActionContentRemove:
		// An audio-only call has nothing to remove but its only content.
		u.g.reply(u.ctx, req)
		c.end(jingle.NewReason(jingle.Success, "content removed"))
	default:
		u.g.replyError(u.ctx, req, stanza.Errorf(stanza.TypeCancel, stanza.FeatureNotImplemented, "Jingle action %s is not supported by this gateway", j.Action))
	}
}

// sendJingle sends an iq set with j from the contact to the user's device
// and hands a failure to onErr on the actor.
func (c *call) sendJingle(to string, j *jingle.Jingle, onErr func(*stanza.Error)) {
	iq, err := stanza.New(stanza.KindIQ, "set", c.contactFull, to, newID(), j)
	if err != nil {
		c.log.Error("build jingle iq", "err", err)
		return
	}
	u := c.u
	if u.g.iq == nil {
		u.g.send(u.ctx, iq)
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(u.ctx, 30*time.Second)
		defer cancel()
		res, err := u.g.iq.SendIQ(ctx, iq)
		var serr *stanza.Error
		switch {
		case err != nil:
			serr = stanza.NewError(stanza.TypeWait, stanza.RemoteServerTimeout, err.Error())
		case res.Type == "error":
			serr = stanza.ParseError(res)
		}
		if serr != nil && onErr != nil {
			u.post(func() { onErr(serr) })
		}
	}()
}

// jingleFor starts a Jingle element of the call with action a.
func (c *call) jingleFor(a jingle.Action) *jingle.Jingle {
	j := &jingle.Jingle{Action: a, SID: c.sid}
	if c.dir == incoming {
		j.Initiator = c.contactFull
	} else {
		j.Responder = c.contactFull
	}
	return j
}

// terminateUser tells the user's device the session is over.
func (c *call) terminateUser(to string, r *jingle.Reason) {
	j := c.jingleFor(jingle.ActionSessionTerminate)
	j.Reason = r
	c.sendJingle(to, j, nil)
}
