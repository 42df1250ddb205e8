package demo

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"fargo.dev/fargo/internal/stanza"
)

// registerForm is the XEP-0077 data form submitting her SIP account; the
// registrar is the SIP echo's address (there is no DNS for sipDomain).
func registerForm(registrar string) []byte {
	field := func(name, value string) string {
		var b strings.Builder
		_ = xml.EscapeText(&b, []byte(value))
		return `<field var="` + name + `"><value>` + b.String() + `</value></field>`
	}
	return []byte(`<query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="submit">` +
		field("FORM_TYPE", "jabber:iq:register") +
		field("username", userName+"@"+sipDomain) + field("password", sipPassword) +
		field("sip-registrar", registrar) + `</x></query>`)
}

// register submits the form; the gateway checks it with a real REGISTER
// before it answers.
func register(ctx context.Context, cl *client, registrar string) error {
	if _, err := cl.sendIQ(ctx, "set", gwDomain, registerForm(registrar)); err != nil {
		return fmt.Errorf("the gateway refused the registration: %w", err)
	}
	return nil
}

// comeOnline sends her presence and subscribes to the gateway; the
// gateway asks back (approved by the client's handler), REGISTERs her
// SIP account and shows itself online. It returns the gateway's status
// text.
func comeOnline(ctx context.Context, cl *client) (string, error) {
	mark := cl.mark()
	cl.presence(ctx, "", "")
	cl.presence(ctx, "subscribe", gwDomain)
	p, err := cl.waitFor(ctx, mark, 20*time.Second, "presence from the gateway", func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindPresence && s.From == gwDomain && (s.Type == "" || s.Type == "error")
	})
	if err != nil {
		return "", err
	}
	if p.Type == "error" {
		return "", fmt.Errorf("the gateway could not log in to SIP: %v", stanza.ParseError(p))
	}
	var status struct {
		Text string `xml:"status"`
	}
	_ = xml.Unmarshal(append(append([]byte("<p>"), p.Payload...), "</p>"...), &status)
	return status.Text, nil
}
