package echobot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

// body and thread are a message's <body/> and <thread/>, which arrive
// without a namespace of their own (the stream's default).
type body struct {
	XMLName xml.Name `xml:"body"`
	Text    string   `xml:",chardata"`
}

type thread struct {
	XMLName xml.Name `xml:"thread"`
	Parent  string   `xml:"parent,attr,omitempty"`
	ID      string   `xml:",chardata"`
}

type messageParts struct {
	Bodies  []body   `xml:"body"`
	Threads []thread `xml:"thread"`
}

// handleMessage echoes bodies and hands JMI elements to the calls.
// Groupchat and headline messages are never answered: an echo in a room
// would loop with the room's own reflection of it, and headlines are
// announcements, not conversation.
func (b *Bot) handleMessage(ctx context.Context, s *stanza.Stanza) {
	if s.Type == "error" || b.isSelf(s.From) || !hasLocalpart(s.From) {
		return
	}
	if name, ok := s.Element(jingle.NSJMI); ok {
		b.handleJMI(ctx, s, name.Local)
		return
	}
	switch s.Type {
	case "", "normal", "chat":
		b.echoMessage(ctx, s)
	}
}

// echoMessage sends a message's body back in a message of the same type
// and thread; chat states, receipts and other bodiless messages get
// nothing.
func (b *Bot) echoMessage(ctx context.Context, s *stanza.Stanza) {
	var m messageParts
	wrapped := append(append([]byte("<m>"), s.Payload...), "</m>"...)
	if err := xml.Unmarshal(wrapped, &m); err != nil || len(m.Bodies) == 0 {
		return
	}
	typ := s.Type
	if typ == "" {
		typ = "normal"
	}
	payload := []any{m.Bodies[0]}
	if len(m.Threads) > 0 {
		payload = append(payload, m.Threads[0])
	}
	reply := b.build(stanza.KindMessage, typ, s.From, newID(), payload...)
	if reply == nil {
		return
	}
	reply.Lang = s.Lang
	b.send(ctx, reply)
	b.stats.messages.Add(1)
}

// newID is a random stanza id (and nothing guessable for a stranger to
// answer in our name).
func newID() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return "echo-" + hex.EncodeToString(b[:])
}
