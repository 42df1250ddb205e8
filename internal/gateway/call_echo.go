package gateway

import (
	"context"
	"encoding/xml"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

// echoLocal is the contact the gateway itself answers: the user hears
// their own audio, over the transport their client offered.
const echoLocal = "echo"

// EchoJID is the gateway's echo contact.
func (g *Gateway) EchoJID() string { return echoLocal + "@" + g.cfg.Domain }

func (c *call) isEcho() bool { return c.dir == outgoing && c.contact == c.u.g.EchoJID() }

// answerEcho answers a call to the echo contact at once: no SIP side, the
// relay loops the user's media back.
func (c *call) answerEcho() {
	g := c.u.g
	if g.relay == nil {
		c.state = stateCalling
		c.tellUser(jingle.NewReason(jingle.FailedApplication, "the echo needs the media relay, which this gateway does not run (media.mode = direct)"))
		c.close()
		return
	}
	p, err := g.relay.OpenEcho(c.relayEnded)
	if err != nil {
		c.state = stateCalling
		c.tellUser(jingle.NewReason(jingle.GeneralError, err.Error()))
		c.close()
		return
	}
	c.media.Close()
	c.media = p
	contents, err := p.Answer(c.userContents, c.userGroup)
	if err != nil {
		c.state = stateCalling
		c.tellUser(jingle.NewReason(jingle.IncompatibleParameters, err.Error()))
		c.close()
		return
	}
	c.state, c.answeredAt = stateActive, time.Now()
	g.stats.callsAnswered.Add(1)
	j := c.jingleFor(jingle.ActionSessionAccept)
	j.Contents, j.Group = contents, c.userGroup
	c.sendJingle(c.peer, j, func(serr *stanza.Error) {
		c.end(jingle.NewReason(jingle.GeneralError, "the client refused the answer: "+serr.Error()))
	})
	c.log.Info("echo call answered")
}

// messageBody is a message's <body/>.
type messageBody struct {
	XMLName xml.Name `xml:"body"`
	Text    string   `xml:",chardata"`
}

// echoMessage sends a chat message to the echo contact back to its
// sender, so a user can check the message path as well as the audio one.
func (g *Gateway) echoMessage(ctx context.Context, s *stanza.Stanza) {
	var m struct {
		Body []messageBody `xml:"body"`
	}
	wrapped := append(append([]byte("<m>"), s.Payload...), "</m>"...)
	if err := xml.Unmarshal(wrapped, &m); err != nil || len(m.Body) == 0 {
		return // chat states, receipts and the like: nothing to echo
	}
	typ := s.Type
	if typ == "" {
		typ = "normal"
	}
	reply, err := stanza.New(stanza.KindMessage, typ, g.EchoJID(), s.From, "", m.Body[0])
	if err != nil {
		g.log.Error("build echo message", "err", err)
		return
	}
	g.send(ctx, reply)
}
