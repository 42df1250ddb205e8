package echobot

import (
	"context"
	"encoding/xml"

	"fargo.dev/fargo/internal/stanza"
)

type rosterItem struct {
	JID          string `xml:"jid,attr"`
	Subscription string `xml:"subscription,attr"`
	Ask          string `xml:"ask,attr"`
}

type rosterQuery struct {
	XMLName xml.Name     `xml:"jabber:iq:roster query"`
	Items   []rosterItem `xml:"item"`
}

// status is the text our presence shows under the bot's name.
type status struct {
	XMLName xml.Name `xml:"status"`
	Text    string   `xml:",chardata"`
}

const statusText = "Call me or write to me: you get your own audio and words back."

// OnConnect starts a session on a fresh connection: the roster first (RFC
// 6121 §2.2: then the server redelivers pending subscription requests
// after our presence), then available presence with caps, then a
// subscription request to every contact who sees us and whom we do not
// see yet. It waits for the network: run it beside the reader, never on
// it.
func (b *Bot) OnConnect(ctx context.Context) {
	items, err := b.fetchRoster(ctx)
	if err != nil {
		b.log.Warn("roster fetch failed", "err", err)
	}
	b.sendNew(ctx, stanza.KindPresence, "", "", "", status{Text: statusText}, b.capsElement())
	for _, it := range items {
		if it.Subscription == "from" && it.Ask == "" {
			b.sendNew(ctx, stanza.KindPresence, "subscribe", bare(it.JID), "")
		}
	}
	b.log.Info("echo bot online", "jid", b.out.JID(), "contacts", len(items))
}

func (b *Bot) fetchRoster(ctx context.Context) ([]rosterItem, error) {
	iq := b.build(stanza.KindIQ, "get", "", newID(), rosterQuery{})
	if iq == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.IQTimeout)
	defer cancel()
	res, err := b.out.SendIQ(ctx, iq)
	if err != nil {
		return nil, err
	}
	if serr := stanza.ParseError(res); serr != nil {
		return nil, serr
	}
	var q rosterQuery
	if _, err := res.Decode(nsRoster, "query", &q); err != nil {
		return nil, err
	}
	return q.Items, nil
}

// rosterPush acknowledges the server's roster changes (RFC 6121 §2.1.6);
// pushes from anyone else are refused (§2.1.6 security note).
func (b *Bot) rosterPush(ctx context.Context, s *stanza.Stanza) {
	if s.From != "" && s.From != b.self() {
		b.replyError(ctx, s, stanza.NewError(stanza.TypeCancel, stanza.ServiceUnavailable, ""))
		return
	}
	b.reply(ctx, s)
}

// handlePresence mirrors subscriptions: a request is approved and asked
// back, an unsubscription is returned. A caller's device going away ends
// its calls (XEP-0166 §6.7).
func (b *Bot) handlePresence(ctx context.Context, s *stanza.Stanza) {
	if b.isSelf(s.From) || !hasLocalpart(s.From) {
		return
	}
	who := bare(s.From)
	switch s.Type {
	case "subscribe":
		b.sendNew(ctx, stanza.KindPresence, "subscribed", who, "")
		// Asking back lets the user see the bot online and try their
		// client's side of a subscription request too.
		b.sendNew(ctx, stanza.KindPresence, "subscribe", who, "")
		b.stats.subscriptions.Add(1)
		b.log.Info("subscription approved", "contact", who)
	case "unsubscribe":
		b.sendNew(ctx, stanza.KindPresence, "unsubscribed", who, "")
		b.sendNew(ctx, stanza.KindPresence, "unsubscribe", who, "")
		b.log.Info("unsubscribed", "contact", who)
	case "unavailable":
		b.peerGone(s.From)
	}
}
