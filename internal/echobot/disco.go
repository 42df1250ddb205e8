package echobot

import (
	"context"
	"encoding/xml"

	"fargo.dev/fargo/internal/disco"
	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

// Namespaces the bot answers besides Jingle's.
const (
	nsCaps      = disco.NSCaps
	nsDiscoInfo = disco.NSInfo
	nsDiscoItem = disco.NSItems
	nsPing      = "urn:xmpp:ping"
	nsVersion   = "jabber:iq:version"
	nsRoster    = "jabber:iq:roster"
	nsHints     = "urn:xmpp:hints"

	// CapsNode is the XEP-0115 node the bot announces.
	CapsNode = "https://fargo.dev/echo"
)

// Features are what the bot's disco#info lists: what clients look for
// before they show a call button (protocol-map §5.5). Video is among them:
// the echo sends back video bundled with the audio, which is how
// Conversations, Movim and browsers offer it (an unbundled video content
// is answered senders none).
var Features = []string{
	nsCaps, nsDiscoInfo, nsPing, nsVersion,
	jingle.NS, jingle.NSRTP, jingle.NSRTPAudio, jingle.NSRTPVideo,
	jingle.NSICEUDP, jingle.NSRawUDP, jingle.NSDTLS, jingle.NSJMI,
	jingle.NSRTCPFB, jingle.NSHdrExt,
	"urn:ietf:rfc:5888", // BUNDLE: the answer keeps the offer's group
	"urn:ietf:rfc:5576", // SSMA: the answer declares the echo's SSRC
}

type (
	identity    = disco.Identity
	discoInfo   = disco.Info
	discoItems  = disco.Items
	capsElement = disco.Caps
)

// botIdentity is client/bot: XEP-0030's registry type for automated
// clients, which clients render as a contact like any other.
func botIdentity(name string) identity {
	return identity{Category: "client", Type: "bot", Name: name}
}

// capsVer is the XEP-0115 §5.1 verification string of our disco#info.
func capsVer(name string) string { return disco.CapsVer([]identity{botIdentity(name)}, Features) }

func (b *Bot) capsElement() capsElement {
	return capsElement{Hash: "sha-1", Node: CapsNode, Ver: b.caps}
}

// CapsVer is the XEP-0115 ver the bot's presence carries.
func (b *Bot) CapsVer() string { return b.caps }

func (b *Bot) discoInfo(ctx context.Context, s *stanza.Stanza) {
	var q discoInfo
	if _, err := s.Decode(nsDiscoInfo, "query", &q); err != nil {
		b.replyError(ctx, s, stanza.NewError(stanza.TypeModify, stanza.BadRequest, err.Error()))
		return
	}
	if q.Node != "" && q.Node != CapsNode+"#"+b.caps {
		b.replyError(ctx, s, stanza.NewError(stanza.TypeCancel, stanza.ItemNotFound, "no such node"))
		return
	}
	b.reply(ctx, s, disco.NewInfo(q.Node, []identity{botIdentity(b.cfg.Name)}, Features))
}

func (b *Bot) discoItems(ctx context.Context, s *stanza.Stanza) {
	var q discoItems
	if _, err := s.Decode(nsDiscoItem, "query", &q); err != nil {
		b.replyError(ctx, s, stanza.NewError(stanza.TypeModify, stanza.BadRequest, err.Error()))
		return
	}
	b.reply(ctx, s, discoItems{Node: q.Node})
}

type versionQuery struct {
	XMLName xml.Name `xml:"jabber:iq:version query"`
	Name    string   `xml:"name"`
	Version string   `xml:"version"`
}

// handleIQ answers iq requests; results and errors are the link's (our
// own SendIQ) or late, and are dropped.
func (b *Bot) handleIQ(ctx context.Context, s *stanza.Stanza) {
	if !s.IsIQRequest() {
		return
	}
	name, _ := s.Element("")
	switch {
	case s.Type == "get" && name.Space == nsDiscoInfo && name.Local == "query":
		b.discoInfo(ctx, s)
	case s.Type == "get" && name.Space == nsDiscoItem && name.Local == "query":
		b.discoItems(ctx, s)
	case s.Type == "get" && name.Space == nsPing && name.Local == "ping":
		b.reply(ctx, s)
	case s.Type == "get" && name.Space == nsVersion && name.Local == "query":
		b.reply(ctx, s, versionQuery{Name: b.cfg.Name, Version: b.cfg.Version})
	case s.Type == "set" && name.Space == nsRoster && name.Local == "query":
		b.rosterPush(ctx, s)
	case s.Type == "set" && name.Space == jingle.NS && name.Local == "jingle":
		b.handleJingle(ctx, s)
	default:
		b.replyError(ctx, s, stanza.NewError(stanza.TypeCancel, stanza.ServiceUnavailable, ""))
	}
}
