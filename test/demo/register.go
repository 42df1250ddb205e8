package main

import (
	"context"
	"encoding/xml"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/testkit"
)

func (d *demo) login() error {
	d.say("%s logs in to the XMPP server and goes online", d.cfg.jid)
	c, err := testkit.Dial(d.ctx, d.cfg.c2s, d.cfg.jid, d.cfg.password,
		testkit.AutoSubscribe(d.cfg.gateway), testkit.Resource("demo"), testkit.Logf(d.tr.logf))
	if err != nil {
		return fmt.Errorf("XMPP login (is Prosody running on %s?): %w", d.cfg.c2s, err)
	}
	d.c = c
	return c.Presence(d.ctx, "", "", "", "")
}

func (d *demo) register() error {
	gw := d.cfg.gateway
	d.say("%s registers the SIP account %s with the gateway %s (XEP-0077)", d.cfg.jid, d.cfg.sipAddr, gw)
	form := fmt.Sprintf(`<query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="submit">`+
		`<field var="username"><value>%s</value></field><field var="password"><value>%s</value></field>`+
		`<field var="sip-registrar"><value>%s</value></field></x></query>`, d.cfg.sipAddr, d.cfg.sipPassword, d.cfg.registrar)
	res, err := d.c.SendIQ(d.ctx, &stanza.Stanza{XMLName: xml.Name{Local: "iq"}, Type: "set", To: gw, Payload: []byte(form)})
	if err != nil {
		return fmt.Errorf("registration refused (check the gateway log): %w", err)
	}
	if res.Type != "result" {
		return fmt.Errorf("registration refused: %s", res.Payload)
	}
	if err := d.c.Presence(d.ctx, "subscribe", gw, "", ""); err != nil {
		return err
	}
	p, err := d.c.Expect(d.ctx, func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindPresence && s.From == gw && (s.Type == "" || s.Type == "error")
	})
	if err != nil {
		return fmt.Errorf("no presence from the gateway: %w", err)
	}
	if p.Type == "error" {
		return fmt.Errorf("SIP login failed: %v", stanza.ParseError(p))
	}
	var status struct {
		Text string `xml:"status"`
	}
	_ = xml.Unmarshal(append(append([]byte("<p>"), p.Payload...), "</p>"...), &status)
	say("   the gateway is online for %s: %q", d.cfg.jid, status.Text)
	return nil
}

func (d *demo) showRegistration() error {
	d.say("the SIP registrar now has the gateway's contact for %s:", d.cfg.sipAddr)
	if err := waitTable(d.ctx, d.cfg.ulCmd, d.cfg.sipAddr, true); err != nil {
		return err
	}
	say("   and the gateway's status command (XEP-0050) says:")
	res, err := d.c.SendIQ(d.ctx, &stanza.Stanza{XMLName: xml.Name{Local: "iq"}, Type: "set", To: d.cfg.gateway,
		Payload: []byte(`<command xmlns="http://jabber.org/protocol/commands" node="status" action="execute"/>`)})
	if err != nil {
		return err
	}
	var cmd struct {
		Note string `xml:"note"`
	}
	_, _ = res.Decode("http://jabber.org/protocol/commands", "command", &cmd)
	say("   %s", cmd.Note)
	return nil
}

func (d *demo) goOffline() error {
	d.say("%s goes offline: the gateway un-REGISTERs", d.cfg.jid)
	if err := d.c.Presence(d.ctx, "unavailable", "", "", ""); err != nil {
		return err
	}
	return waitTable(d.ctx, d.cfg.ulCmd, d.cfg.sipAddr, false)
}

// waitTable polls the registrar's location table until aor has (or has
// not) a binding, then prints the table.
func waitTable(ctx context.Context, ulCmd, aor string, registered bool) error {
	f := strings.Fields(ulCmd)
	user, _, _ := strings.Cut(aor, "@")
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := exec.CommandContext(ctx, f[0], f[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w: %s", ulCmd, err, out)
		}
		has := false
		for _, l := range strings.Split(string(out), "\n") {
			if l = strings.TrimSpace(l); l == "AoR: "+user || l == "AoR: "+aor {
				has = true
			}
		}
		if has == registered || time.Now().After(deadline) {
			fmt.Print(indent(string(out)))
			if has != registered {
				return fmt.Errorf("the registrar's table does not show what it should (%s registered=%v)", aor, registered)
			}
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "     | " + l
	}
	return strings.Join(lines, "\n") + "\n"
}
