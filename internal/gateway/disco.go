package gateway

import (
	"context"
	"encoding/xml"

	"fargo.dev/fargo/internal/disco"
	"fargo.dev/fargo/internal/stanza"
)

const capsNode = "https://fargo.dev/caps"

// The disco wire types, under the names the gateway has always used.
type (
	identity        = disco.Identity
	feature         = disco.Feature
	discoInfoQuery  = disco.Info
	discoItem       = disco.Item
	discoItemsQuery = disco.Items
	capsElement     = disco.Caps
)

// gatewayIdentities: gateway/sip is what existing SIP gateways announce;
// gateway/pstn (registered) makes Cheogram-style clients offer calls to
// phone numbers (protocol-map §5.2).
var gatewayIdentities = []identity{
	{Category: "gateway", Type: "sip", Name: "Fargo SIP gateway"},
	{Category: "gateway", Type: "pstn", Name: "Fargo SIP gateway"},
}

var gatewayFeatures = []string{
	nsDiscoInfo, nsDiscoItems, nsCaps, nsRegister, nsIQGateway, nsCommands,
	nsVersion, nsPing, `jid\20escaping`,
}

type capsInfo struct {
	ver string
}

// computeCaps implements the XEP-0115 §5.1 verification string.
func computeCaps(ids []identity, features []string) capsInfo {
	return capsInfo{ver: disco.CapsVer(ids, features)}
}

func (g *Gateway) capsElement() capsElement {
	return capsElement{Hash: "sha-1", Node: capsNode, Ver: g.caps.ver}
}

func (g *Gateway) discoInfo(ctx context.Context, r *iqRequest) {
	var q discoInfoQuery
	if _, err := r.Decode(nsDiscoInfo, "query", &q); err != nil {
		g.replyError(ctx, r.Stanza, stanza.NewError(stanza.TypeModify, stanza.BadRequest, err.Error()))
		return
	}
	res := discoInfoQuery{Node: q.Node}
	switch q.Node {
	case "", capsNode + "#" + g.caps.ver:
		res.Identities = gatewayIdentities
		for _, f := range gatewayFeatures {
			res.Features = append(res.Features, feature{Var: f})
		}
	case nsCommands:
		res.Identities = []identity{{Category: "automation", Type: "command-list", Name: "SIP account commands"}}
	default:
		cmd, ok := commandByNode(q.Node)
		if !ok {
			g.replyError(ctx, r.Stanza, stanza.NewError(stanza.TypeCancel, stanza.ItemNotFound, "no such node"))
			return
		}
		res.Identities = []identity{{Category: "automation", Type: "command-node", Name: cmd.name}}
		res.Features = []feature{{Var: nsCommands}, {Var: "jabber:x:data"}}
	}
	g.reply(ctx, r.Stanza, res)
}

func (g *Gateway) discoItems(ctx context.Context, r *iqRequest) {
	var q discoItemsQuery
	if _, err := r.Decode(nsDiscoItems, "query", &q); err != nil {
		g.replyError(ctx, r.Stanza, stanza.NewError(stanza.TypeModify, stanza.BadRequest, err.Error()))
		return
	}
	res := discoItemsQuery{Node: q.Node}
	switch q.Node {
	case "":
	case nsCommands:
		for _, c := range commands {
			res.Items = append(res.Items, discoItem{JID: g.cfg.Domain, Node: c.node, Name: c.name})
		}
	default:
		if _, ok := commandByNode(q.Node); !ok {
			g.replyError(ctx, r.Stanza, stanza.NewError(stanza.TypeCancel, stanza.ItemNotFound, "no such node"))
			return
		}
	}
	g.reply(ctx, r.Stanza, res)
}

type versionQuery struct {
	XMLName xml.Name `xml:"jabber:iq:version query"`
	Name    string   `xml:"name"`
	Version string   `xml:"version"`
	OS      string   `xml:"os,omitempty"`
}

func (g *Gateway) version(ctx context.Context, r *iqRequest) {
	// No <os/>: it tells an attacker more than it tells a user (XEP-0092 §4).
	g.reply(ctx, r.Stanza, versionQuery{Name: "Fargo", Version: g.cfg.Version})
}
