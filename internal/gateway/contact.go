package gateway

import (
	"context"
	"slices"
	"strings"

	"mellium.im/xmpp/jid"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

// contactResource is the one resource every SIP contact is online with;
// Jingle sessions and JMI messages come from it (protocol-map §2.2 step 3).
const contactResource = "sip"

// contactIdentities and contactFeatures are what makes clients show a call
// button for a SIP contact (protocol-map §5.5). Video is not advertised:
// Conversations fails a call whose answer drops an offered medium. The
// echo contact has echoFeatures instead.
var contactIdentities = []identity{{Category: "client", Type: "phone", Name: "SIP"}}

var contactFeatures = []string{
	nsCaps, nsDiscoInfo,
	jingle.NS, jingle.NSRTP, jingle.NSRTPAudio,
	jingle.NSICEUDP, jingle.NSRawUDP, jingle.NSDTLS,
	jingle.NSJMI, jingle.NSDTMF, jingle.NSRTCPFB, jingle.NSHdrExt,
	"urn:ietf:rfc:5888", "urn:ietf:rfc:5576", "urn:xmpp:receipts",
}

// echoFeatures are the echo contact's: a SIP contact's plus video, which
// the echo sends back when the client bundles it with the audio (as
// Conversations, Movim and browsers do).
var echoFeatures = append(slices.Clone(contactFeatures), jingle.NSRTPVideo)

// contactDisco is what a contact's disco#info lists and its caps ver.
func (g *Gateway) contactDisco(contact string) ([]string, capsInfo) {
	if strings.EqualFold(contact, g.EchoJID()) {
		return echoFeatures, g.echoCapsInfo
	}
	return contactFeatures, g.contactCapsInfo
}

func (g *Gateway) contactCaps(contact string) capsElement {
	_, caps := g.contactDisco(contact)
	return capsElement{Hash: "sha-1", Node: capsNode, Ver: caps.ver}
}

// contactPresence handles presence addressed to a SIP contact JID: the
// contact accepts subscriptions from registered users and is online (and
// callable) for them; everyone else is told unsubscribed/unavailable.
func (g *Gateway) contactPresence(ctx context.Context, s *stanza.Stanza, bare string, to jid.JID) {
	contact, ok := g.contactJID(ctx, s, to)
	if !ok {
		return
	}
	registered := g.hasAccount(ctx, bare)
	switch s.Type {
	case "subscribe":
		if !registered {
			g.send(ctx, presence("unsubscribed", contact, bare))
			return
		}
		g.send(ctx, presence("subscribed", contact, bare))
		g.send(ctx, g.contactAvailable(contact, bare))
		if strings.EqualFold(contact, g.EchoJID()) {
			// The echo mirrors the user, subscriptions included: asking
			// back lets the user check that their client shows and
			// approves a contact's request.
			g.send(ctx, presence("subscribe", contact, bare))
		}
	case "probe":
		if !registered {
			g.send(ctx, presence("unavailable", contact, bare))
			return
		}
		g.send(ctx, g.contactAvailable(contact, s.From))
	case "unsubscribe":
		g.send(ctx, presence("unsubscribed", contact, bare))
	}
}

// contactJID checks that to names a SIP contact and returns its bare JID;
// a malformed one is answered with jid-malformed.
func (g *Gateway) contactJID(ctx context.Context, s *stanza.Stanza, to jid.JID) (string, bool) {
	if _, err := remoteOf(to); err != nil {
		g.replyError(ctx, s, stanza.Errorf(stanza.TypeModify, stanza.JIDMalformed, "%s is not a SIP address: %v", to.Localpart(), err))
		return "", false
	}
	return to.Bare().String(), true
}

// hasAccount is asked by the read loop for every stanza to a contact,
// Jingle included: it is answered from the user's actor when it can be.
func (g *Gateway) hasAccount(ctx context.Context, bare string) bool {
	_, err := g.accountOf(ctx, bare)
	return err == nil
}

// contactAvailable is the contact's available presence with caps.
func (g *Gateway) contactAvailable(contact, to string) *stanza.Stanza {
	return presence("", contact+"/"+contactResource, to, g.contactCaps(contact))
}

// contactDiscoInfo answers disco#info on a contact JID (bare, full, or the
// caps node).
func (g *Gateway) contactDiscoInfo(ctx context.Context, r *iqRequest, contact string) {
	var q discoInfoQuery
	if _, err := r.Decode(nsDiscoInfo, "query", &q); err != nil {
		g.replyError(ctx, r.Stanza, stanza.NewError(stanza.TypeModify, stanza.BadRequest, err.Error()))
		return
	}
	features, caps := g.contactDisco(contact)
	if q.Node != "" && q.Node != capsNode+"#"+caps.ver {
		g.replyError(ctx, r.Stanza, stanza.NewError(stanza.TypeCancel, stanza.ItemNotFound, "no such node"))
		return
	}
	res := discoInfoQuery{Node: q.Node, Identities: contactIdentities}
	for _, f := range features {
		res.Features = append(res.Features, feature{Var: f})
	}
	g.reply(ctx, r.Stanza, res)
}
