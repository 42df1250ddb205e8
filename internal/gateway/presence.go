package gateway

import (
	"context"
	"strings"

	"mellium.im/xmpp/jid"

	"fargo.dev/fargo/internal/address"
	"fargo.dev/fargo/internal/stanza"
)

// handlePresence tracks the resources of registered users from the presence
// they send to the gateway JID (broadcast once the gateway is subscribed,
// or directed), and runs the XEP-0100 subscription exchange.
func (g *Gateway) handlePresence(ctx context.Context, s *stanza.Stanza, from, to jid.JID) {
	bare := from.Bare().String()
	if to.Localpart() != "" {
		g.contactPresence(ctx, s, bare, to)
		return
	}
	switch s.Type {
	case "", "unavailable":
		u := g.existingUser(bare)
		if u == nil {
			return // not a user of ours: nothing to drive
		}
		full := from.String()
		switch {
		case s.Type == "" && from.Resourcepart() != "":
			caps := capsOf(s)
			u.post(func() { u.available(full); u.setCaps(full, caps) })
		case s.Type == "unavailable":
			u.post(func() { u.unavailable(full); u.deviceOffline(full) })
		}
	case "probe":
		if u := g.existingUser(bare); u != nil {
			u.post(func() { u.answerProbe(from.String()) })
			return
		}
		g.send(ctx, presence("unavailable", g.cfg.Domain, from.String()))
	case "subscribe":
		if u := g.existingUser(bare); u != nil {
			u.post(u.subscribeRequest)
			return
		}
		// Only registered users may see the gateway (XEP-0100 §4.1).
		g.send(ctx, presence("unsubscribed", g.cfg.Domain, bare))
	case "subscribed":
		// Now the user's server will answer a probe (some servers, ejabberd
		// among them, do not push the current presence on approval).
		g.log.Debug("user approved the gateway's subscription", "jid", bare)
		if u := g.existingUser(bare); u != nil {
			u.post(u.probe)
		}
	case "unsubscribe":
		g.send(ctx, presence("unsubscribed", g.cfg.Domain, bare))
	case "unsubscribed":
		// The gateway can no longer see the user's presence: they count as offline.
		if u := g.existingUser(bare); u != nil {
			u.post(u.allGone)
		}
	case "error":
		g.log.Debug("presence error from user's server", "from", s.From, "err", stanza.ParseError(s))
	default:
		g.replyError(ctx, s, stanza.Errorf(stanza.TypeModify, stanza.BadRequest, "presence type %q is not defined (RFC 6121 §4.7.1)", s.Type))
	}
}

// answerProbe tells a probing server whether the gateway is available to
// this user: available while their SIP registration stands.
func (u *user) answerProbe(to string) {
	if u.account != nil && u.regState.Phase == PhaseRegistered && len(u.resources) > 0 {
		u.g.send(u.ctx, u.gatewayPresence(to))
		return
	}
	u.g.send(u.ctx, presence("unavailable", u.g.cfg.Domain, to))
}

// subscribeRequest approves a registered user's subscription to the
// gateway (XEP-0100 §4.1 step 11) and sends the current presence.
func (u *user) subscribeRequest() {
	if u.account == nil {
		u.g.send(u.ctx, presence("unsubscribed", u.g.cfg.Domain, u.jid))
		return
	}
	u.g.send(u.ctx, presence("subscribed", u.g.cfg.Domain, u.jid))
	if u.regState.Phase == PhaseRegistered && len(u.resources) > 0 {
		u.broadcastPresence()
	}
}

// allGone treats every resource as offline.
func (u *user) allGone() {
	for full := range u.resources {
		u.unavailable(full)
	}
}

// handleMessage answers messages. Messages to SIP contacts are relayed by
// the messaging feature; until it exists the sender gets an error rather
// than silence.
func (g *Gateway) handleMessage(ctx context.Context, s *stanza.Stanza, from, to jid.JID) {
	if to.Localpart() != "" && g.handleContactMessage(ctx, s, from, to) {
		return
	}
	if s.Type == "error" {
		return
	}
	if to.Localpart() == "" {
		g.replyError(ctx, s, stanza.NewError(stanza.TypeCancel, stanza.ServiceUnavailable, "the gateway itself does not take messages"))
		return
	}
	if strings.EqualFold(to.Bare().String(), g.EchoJID()) {
		g.echoMessage(ctx, s)
		return
	}
	if _, err := address.FromLocalpart(to.Localpart()); err != nil {
		g.replyError(ctx, s, stanza.Errorf(stanza.TypeModify, stanza.JIDMalformed, "%s is not a SIP address: %v", to.Localpart(), err))
		return
	}
	if _, err := g.accountOf(ctx, from.Bare().String()); err != nil {
		g.replyError(ctx, s, accountError(err))
		return
	}
	g.replyError(ctx, s, stanza.NewError(stanza.TypeCancel, stanza.ServiceUnavailable, "messages to SIP contacts are not supported by this gateway version"))
}
