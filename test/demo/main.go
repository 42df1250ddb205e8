// Command demo is the client side of scripts/demo.sh: it plays an XMPP
// user who registers a SIP account with the gateway and comes online and
// goes offline, showing the SIP registrar's location table at each step.
// It talks to real servers only; it is not part of the gateway.
package main

import (
	"context"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/testkit"
)

func main() {
	c2s := flag.String("c2s", "127.0.0.1:7222", "XMPP client address")
	jid := flag.String("jid", "alice@example.test", "XMPP account")
	password := flag.String("password", "alicepass", "XMPP password")
	gateway := flag.String("gateway", "sip.example.test", "gateway component domain")
	sipAddr := flag.String("sip", "alice@sip.example.org", "SIP address to register")
	sipPassword := flag.String("sip-password", "alicepw", "SIP password")
	registrar := flag.String("registrar", "127.0.0.1:7060", "SIP registrar")
	ulCmd := flag.String("ul", "scripts/peers/kamailio.sh ul brief", "command printing the registrar's location table")
	flag.Parse()
	if err := run(*c2s, *jid, *password, *gateway, *sipAddr, *sipPassword, *registrar, *ulCmd); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run(c2s, jid, password, gw, sipAddr, sipPassword, registrar, ulCmd string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	say("1. %s logs in to the XMPP server and goes online", jid)
	c, err := testkit.Dial(ctx, c2s, jid, password, testkit.AutoSubscribe(gw), testkit.Resource("demo"))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Presence(ctx, "", "", "", ""); err != nil {
		return err
	}

	say("2. %s registers the SIP account %s with the gateway %s (XEP-0077)", jid, sipAddr, gw)
	form := fmt.Sprintf(`<query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="submit">`+
		`<field var="username"><value>%s</value></field><field var="password"><value>%s</value></field>`+
		`<field var="sip-registrar"><value>%s</value></field></x></query>`, sipAddr, sipPassword, registrar)
	res, err := c.SendIQ(ctx, &stanza.Stanza{XMLName: xml.Name{Local: "iq"}, Type: "set", To: gw, Payload: []byte(form)})
	if err != nil {
		return fmt.Errorf("registration refused: %w", err)
	}
	if res.Type != "result" {
		return fmt.Errorf("registration refused: %s", res.Payload)
	}
	if err := c.Presence(ctx, "subscribe", gw, "", ""); err != nil {
		return err
	}
	p, err := c.Expect(ctx, func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindPresence && s.From == gw && (s.Type == "" || s.Type == "error")
	})
	if err != nil {
		return err
	}
	if p.Type == "error" {
		return fmt.Errorf("SIP login failed: %v", stanza.ParseError(p))
	}
	var status struct {
		Text string `xml:"status"`
	}
	_ = xml.Unmarshal(append(append([]byte("<p>"), p.Payload...), "</p>"...), &status)
	say("   the gateway is online for %s: %q", jid, status.Text)

	say("3. the SIP registrar now has the gateway's contact for %s:", sipAddr)
	if err := waitTable(ctx, ulCmd, true); err != nil {
		return err
	}
	say("4. the gateway's status command (XEP-0050) says:")
	res, err = c.SendIQ(ctx, &stanza.Stanza{XMLName: xml.Name{Local: "iq"}, Type: "set", To: gw,
		Payload: []byte(`<command xmlns="http://jabber.org/protocol/commands" node="status" action="execute"/>`)})
	if err != nil {
		return err
	}
	var cmd struct {
		Note string `xml:"note"`
	}
	_, _ = res.Decode("http://jabber.org/protocol/commands", "command", &cmd)
	say("   %s", cmd.Note)

	say("5. %s goes offline: the gateway un-REGISTERs", jid)
	if err := c.Presence(ctx, "unavailable", "", "", ""); err != nil {
		return err
	}
	if err := waitTable(ctx, ulCmd, false); err != nil {
		return err
	}
	say("demo finished: presence-driven SIP registration works end to end")
	return nil
}

// waitTable polls the registrar's location table until it does (or does
// not) hold a gateway contact, then prints it.
func waitTable(ctx context.Context, ulCmd string, registered bool) error {
	f := strings.Fields(ulCmd)
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := exec.CommandContext(ctx, f[0], f[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w: %s", ulCmd, err, out)
		}
		has := strings.Contains(string(out), "Records: 1")
		if has == registered || time.Now().After(deadline) {
			fmt.Print(indent(string(out)))
			if has != registered {
				return fmt.Errorf("the registrar's table does not show what it should (registered=%v)", registered)
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

func say(format string, args ...any) { fmt.Printf(format+"\n", args...) }
