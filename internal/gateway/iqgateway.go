package gateway

import (
	"context"
	"encoding/xml"
	"errors"
	"strings"

	"fargo.dev/fargo/internal/address"
	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/store"
)

type iqGatewayQuery struct {
	XMLName xml.Name `xml:"jabber:iq:gateway query"`
	Desc    string   `xml:"desc,omitempty"`
	Prompt  *string  `xml:"prompt"`
	JID     string   `xml:"jid,omitempty"`
}

const (
	iqGatewayDesc   = "Enter a SIP address (user@domain), a phone number in international form (+14155550100), or an extension of your own SIP domain."
	iqGatewayPrompt = "SIP address or phone number"
)

// handleIQGateway implements XEP-0100 §6.3: the client asks how to address
// a legacy user and the gateway translates input into a JID.
func (g *Gateway) handleIQGateway(ctx context.Context, r *iqRequest) {
	if r.Type == "get" {
		p := iqGatewayPrompt
		g.reply(ctx, r.Stanza, iqGatewayQuery{Desc: iqGatewayDesc, Prompt: &p})
		return
	}
	var q iqGatewayQuery
	if _, err := r.Decode(nsIQGateway, "query", &q); err != nil || q.Prompt == nil || strings.TrimSpace(*q.Prompt) == "" {
		g.replyError(ctx, r.Stanza, stanza.NewError(stanza.TypeModify, stanza.BadRequest, "a <prompt/> with the address to translate is required"))
		return
	}
	remote, err := address.ParseUserInput(*q.Prompt)
	if err != nil {
		g.replyError(ctx, r.Stanza, stanza.Errorf(stanza.TypeModify, stanza.JIDMalformed, "%q is not a SIP address or phone number: %v", *q.Prompt, err))
		return
	}
	accountDomain := ""
	if a, err := g.accountOf(ctx, r.bare); err == nil {
		accountDomain = hostOf(a.SIPAddress)
	} else if !errors.Is(err, store.ErrNotFound) {
		g.replyError(ctx, r.Stanza, stanza.NewError(stanza.TypeWait, stanza.InternalServerError, ""))
		return
	}
	j, err := address.ToJID(remote, g.cfg.Domain, accountDomain)
	if err != nil {
		g.replyError(ctx, r.Stanza, stanza.Errorf(stanza.TypeModify, stanza.JIDMalformed, "%q cannot be written as a JID: %v", *q.Prompt, err))
		return
	}
	g.reply(ctx, r.Stanza, iqGatewayQuery{JID: j})
}

func hostOf(aor string) string {
	_, host, _ := strings.Cut(aor, "@")
	return host
}
