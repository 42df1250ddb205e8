package gateway

import (
	"context"
	"encoding/xml"
	"errors"

	"mellium.im/xmpp/jid"

	"fargo.dev/fargo/internal/address"
	"fargo.dev/fargo/internal/disco"
	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/store"
)

// Namespaces the gateway answers.
const (
	nsDiscoInfo  = disco.NSInfo
	nsDiscoItems = disco.NSItems
	nsRegister   = "jabber:iq:register"
	nsIQGateway  = "jabber:iq:gateway"
	nsCommands   = "http://jabber.org/protocol/commands"
	nsVersion    = "jabber:iq:version"
	nsPing       = "urn:xmpp:ping"
	nsCaps       = disco.NSCaps
)

// iqRequest is an iq get/set with its single payload element resolved.
type iqRequest struct {
	*stanza.Stanza
	from    jid.JID
	bare    string
	payload xml.Name
}

func (g *Gateway) handleIQ(ctx context.Context, s *stanza.Stanza, from, to jid.JID) {
	switch s.Type {
	case "result", "error":
		// Answers to our own requests are consumed by the link; anything
		// else is a late or unsolicited answer and needs no reaction.
		return
	case "get", "set":
	default:
		g.replyError(ctx, s, stanza.Errorf(stanza.TypeModify, stanza.BadRequest, "iq type %q is not get, set, result or error", s.Type))
		return
	}
	if s.ID == "" {
		g.replyError(ctx, s, stanza.NewError(stanza.TypeModify, stanza.BadRequest, "iq without an id"))
		return
	}
	// Every iq passes here, a browser's Jingle offer with 17 kB of
	// payload among them: jingle.ChildNames scans it in place and agrees
	// with encoding/xml's Decoder on what it accepts.
	names, err := jingle.ChildNames(s.Payload)
	if err != nil || len(names) != 1 {
		g.replyError(ctx, s, stanza.NewError(stanza.TypeModify, stanza.BadRequest, "an iq get or set carries exactly one payload element (RFC 6120 §8.2.3)"))
		return
	}
	req := &iqRequest{Stanza: s, from: from, bare: from.Bare().String(), payload: names[0]}
	if to.Localpart() != "" {
		g.handleContactIQ(ctx, req, to)
		return
	}
	g.handleGatewayIQ(ctx, req)
}

func (g *Gateway) handleGatewayIQ(ctx context.Context, r *iqRequest) {
	get := r.Type == "get"
	switch {
	case r.payload.Space == nsDiscoInfo && get:
		g.discoInfo(ctx, r)
	case r.payload.Space == nsDiscoItems && get:
		g.discoItems(ctx, r)
	case r.payload.Space == nsVersion && get:
		g.version(ctx, r)
	case r.payload.Space == nsPing && get:
		g.reply(ctx, r.Stanza)
	case r.payload.Space == nsRegister:
		g.handleRegister(ctx, r)
	case r.payload.Space == nsIQGateway:
		g.handleIQGateway(ctx, r)
	case r.payload.Space == nsCommands && r.Type == "set":
		g.handleCommand(ctx, r)
	case r.payload.Space == nsDiscoInfo, r.payload.Space == nsDiscoItems, r.payload.Space == nsVersion, r.payload.Space == nsPing, r.payload.Space == nsCommands:
		g.replyError(ctx, r.Stanza, stanza.Errorf(stanza.TypeModify, stanza.BadRequest, "%s is answered to iq type %s only", r.payload.Space, otherType(r.Type)))
	default:
		g.replyError(ctx, r.Stanza, stanza.NewError(stanza.TypeCancel, stanza.ServiceUnavailable, ""))
	}
}

func otherType(t string) string {
	if t == "get" {
		return "set"
	}
	return "get"
}

// handleContactIQ answers iqs addressed to a SIP contact JID: disco#info
// (what makes clients offer calls), ping, and Jingle for calls. Only
// registered users get more than an error.
func (g *Gateway) handleContactIQ(ctx context.Context, r *iqRequest, to jid.JID) {
	contact, ok := g.contactJID(ctx, r.Stanza, to)
	if !ok {
		return
	}
	if !g.hasAccount(ctx, r.bare) {
		g.replyError(ctx, r.Stanza, accountError(store.ErrNotFound))
		return
	}
	switch {
	case r.payload.Space == nsDiscoInfo && r.Type == "get":
		g.contactDiscoInfo(ctx, r, contact)
	case r.payload.Space == nsPing && r.Type == "get":
		g.reply(ctx, r.Stanza)
	case r.payload.Space == jingle.NS && r.payload.Local == "jingle" && r.Type == "set":
		g.handleJingle(ctx, r, to)
	default:
		g.replyError(ctx, r.Stanza, stanza.NewError(stanza.TypeCancel, stanza.ServiceUnavailable, ""))
	}
}

func remoteOf(to jid.JID) (address.Remote, error) { return address.FromLocalpart(to.Localpart()) }

// accountError maps a failed account lookup to the stanza error the
// requester sees.
func accountError(err error) *stanza.Error {
	if errors.Is(err, store.ErrNotFound) {
		return stanza.NewError(stanza.TypeAuth, stanza.RegistrationRequired, "register your SIP account with this gateway first")
	}
	return stanza.NewError(stanza.TypeWait, stanza.InternalServerError, "")
}
