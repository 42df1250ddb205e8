package e2e

import (
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/testkit"
)

func stepDisco(t *testing.T, e *env) {
	c := e.srv.Login(t, "alice")
	res := e.iq(t, c, "get", e.srv.ComponentDomain, `<query xmlns="http://jabber.org/protocol/disco#info"/>`)
	mustResult(t, "disco#info", res)
	for _, want := range []string{`category="gateway"`, `type="sip"`, "jabber:iq:register", "jabber:iq:gateway", `jid\20escaping`, "http://jabber.org/protocol/commands"} {
		if !strings.Contains(norm(res.Payload), want) {
			t.Errorf("disco#info through %s lacks %s: %s", e.srv.Name, want, res.Payload)
		}
	}
	res = e.iq(t, c, "get", e.srv.ComponentDomain, `<query xmlns="jabber:iq:version"/>`)
	mustResult(t, "version", res)
	res = e.iq(t, c, "get", e.srv.ComponentDomain, `<ping xmlns="urn:xmpp:ping"/>`)
	mustResult(t, "ping", res)
	res = e.iq(t, c, "set", e.srv.ComponentDomain, `<query xmlns="jabber:iq:gateway"><prompt>bob@sip.example.org</prompt></query>`)
	if !isResult(res) || !strings.Contains(norm(res.Payload), `bob\40sip.example.org@`+e.srv.ComponentDomain) {
		t.Errorf("jabber:iq:gateway: %s", res.Payload)
	}
	// A stanza for a contact from a user without an account.
	res = e.iq(t, c, "get", `bob\40sip.example.org@`+e.srv.ComponentDomain, `<query xmlns="http://jabber.org/protocol/disco#info"/>`)
	if err := stanza.ParseError(res); err == nil || err.Condition != stanza.RegistrationRequired {
		t.Errorf("contact iq from unregistered user: %s", res.Payload)
	}
}

func stepRegisterOnlineOffline(t *testing.T, e *env) {
	c := e.login(t, "alice")
	e.register(t, c, "alice", "alicepw")
	e.waitContacts(t, "alice", "online user REGISTERed", func(cs []testkit.Contact) bool { n, _ := countOurs(e, cs); return n == 1 })

	_ = c.Close()
	e.waitContacts(t, "alice", "offline user un-REGISTERed", func(cs []testkit.Contact) bool { n, _ := countOurs(e, cs); return n == 0 })

	e.login(e.parent, "alice") // stays online for the restart steps
	e.waitContacts(t, "alice", "online again", func(cs []testkit.Contact) bool { n, _ := countOurs(e, cs); return n == 1 })
}

func stepWrongPassword(t *testing.T, e *env) {
	c := e.login(t, "bob")
	res := e.registerForm(t, c, "bob", "not-bobs-password")
	err := stanza.ParseError(res)
	if err == nil || err.Condition != stanza.NotAuthorized {
		t.Fatalf("wrong password: want not-authorized, got %s", res.Payload)
	}
	if !strings.Contains(err.Text, "401") && !strings.Contains(err.Text, "403") {
		t.Errorf("error text does not say what the registrar answered: %q", err.Text)
	}
	if cs, _ := e.kam.Contacts(ctxT(t, 5*time.Second), "bob"); len(cs) != 0 {
		t.Errorf("bob has bindings after a refused registration: %+v", cs)
	}
}

func stepAdHoc(t *testing.T, e *env) {
	c := e.login(t, "bob")
	res := e.iq(t, c, "set", e.srv.ComponentDomain, `<command xmlns="http://jabber.org/protocol/commands" node="register" action="execute"/>`)
	mustResult(t, "ad-hoc register stage 1", res)
	var cmd struct {
		SessionID string `xml:"sessionid,attr"`
		Status    string `xml:"status,attr"`
	}
	if _, err := res.Decode("http://jabber.org/protocol/commands", "command", &cmd); err != nil || cmd.Status != "executing" || cmd.SessionID == "" {
		t.Fatalf("stage 1: %s", res.Payload)
	}
	res = e.iq(t, c, "set", e.srv.ComponentDomain, `<command xmlns="http://jabber.org/protocol/commands" node="register" action="complete" sessionid="`+cmd.SessionID+`">`+
		`<x xmlns="jabber:x:data" type="submit"><field var="username"><value>bob@`+e.kam.Domain+`</value></field>`+
		`<field var="password"><value>bobpw</value></field><field var="sip-registrar"><value>`+e.kam.Addr+`</value></field></x></command>`)
	if !isResult(res) || !strings.Contains(norm(res.Payload), `status="completed"`) {
		t.Fatalf("ad-hoc register: %s", res.Payload)
	}
	e.waitContacts(t, "bob", "bob REGISTERed after ad-hoc registration", func(cs []testkit.Contact) bool { n, _ := countOurs(e, cs); return n == 1 })
	res = e.iq(t, c, "set", e.srv.ComponentDomain, `<command xmlns="http://jabber.org/protocol/commands" node="status" action="execute"/>`)
	if p := norm(res.Payload); !strings.Contains(p, "sip:bob@"+e.kam.Domain) || !strings.Contains(p, "registered") {
		t.Fatalf("status: %s", p)
	}
}

func stepLoginFailure(t *testing.T, e *env) {
	c := e.login(t, "carol")
	e.register(t, c, "carol", "carolpw")
	_ = c.Close()
	e.waitContacts(t, "carol", "carol offline", func(cs []testkit.Contact) bool { n, _ := countOurs(e, cs); return n == 0 })

	e.kam.AddUser(t, "carol", "changed-at-the-provider")
	c = e.login(t, "carol")
	p, err := c.Expect(ctxT(t, 20*time.Second), func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindPresence && s.Type == "error" && s.From == e.srv.ComponentDomain
	})
	if err != nil {
		t.Fatalf("no presence error from the gateway: %v", err)
	}
	if se := stanza.ParseError(p); se == nil || se.Condition != stanza.NotAuthorized {
		t.Fatalf("presence error: %s", p.Payload)
	}
	res := e.iq(t, c, "set", e.srv.ComponentDomain, `<command xmlns="http://jabber.org/protocol/commands" node="status" action="execute"/>`)
	if s := norm(res.Payload); !strings.Contains(s, "failed") || !(strings.Contains(s, "401") || strings.Contains(s, "403")) {
		t.Fatalf("status does not show the failure: %s", s)
	}
	e.kam.AddUser(t, "carol", "carolpw")
}

func stepGatewayRestart(t *testing.T, e *env) {
	before := e.waitContacts(t, "alice", "alice registered before restart", func(cs []testkit.Contact) bool { n, _ := countOurs(e, cs); return n == 1 })
	_, old := countOurs(e, before)
	e.gw.stop(t)
	cs, err := e.kam.Contacts(ctxT(t, 5*time.Second), "alice")
	if n, _ := countOurs(e, cs); err != nil || n != 1 {
		t.Fatalf("binding not kept across the restart: %v %+v", err, cs)
	}
	e.gw = startGateway(e.parent, e.gwc) // outlives this step
	e.waitContacts(t, "alice", "binding refreshed after restart", func(cs []testkit.Contact) bool {
		n, c := countOurs(e, cs)
		return n == 1 && c.CSeq > old.CSeq && c.CallID == old.CallID
	})
	if v := e.gw.metric(t, "fargo_sip_registrations"); v == "" || v == "0" {
		t.Errorf("fargo_sip_registrations = %q after restore", v)
	}
}

func stepServerRestart(t *testing.T, e *env) {
	before := e.waitContacts(t, "alice", "alice registered", func(cs []testkit.Contact) bool { n, _ := countOurs(e, cs); return n == 1 })
	_, old := countOurs(e, before)
	e.srv.Restart(t)
	e.gw.waitHealthy(t) // the component link is back by itself
	e.login(e.parent, "alice")
	e.waitContacts(t, "alice", "re-REGISTERed after the XMPP server restart", func(cs []testkit.Contact) bool {
		n, c := countOurs(e, cs)
		return n == 1 && c.CSeq > old.CSeq
	})
	if v := e.gw.metric(t, "fargo_xmpp_reconnects_total"); v == "" || v == "0" {
		t.Errorf("fargo_xmpp_reconnects_total = %q after a server restart", v)
	}
}

func stepRemove(t *testing.T, e *env) {
	c := e.login(t, "alice")
	e.waitContacts(t, "alice", "alice registered", func(cs []testkit.Contact) bool { n, _ := countOurs(e, cs); return n == 1 })

	// Another user's removal acts on that user only (carol has an account too).
	carol := e.srv.Login(t, "carol")
	res := e.iq(t, carol, "set", e.srv.ComponentDomain, `<query xmlns="jabber:iq:register"><remove/></query>`)
	mustResult(t, "carol's own removal", res)
	if cs, err := e.kam.Contacts(ctxT(t, 5*time.Second), "alice"); err != nil || func() bool { n, _ := countOurs(e, cs); return n != 1 }() {
		t.Fatalf("carol's removal touched alice's binding: %v %+v", err, cs)
	}
	res = e.iq(t, carol, "set", e.srv.ComponentDomain, `<query xmlns="jabber:iq:register"><remove/></query>`)
	if se := stanza.ParseError(res); se == nil || se.Condition != stanza.RegistrationRequired {
		t.Fatalf("removal without an account: %s", res.Payload)
	}
	res = e.iq(t, c, "set", e.srv.ComponentDomain, `<query xmlns="jabber:iq:register"><remove/></query>`)
	mustResult(t, "remove", res)
	e.waitContacts(t, "alice", "binding removed", func(cs []testkit.Contact) bool { n, _ := countOurs(e, cs); return n == 0 })
	res = e.iq(t, c, "get", e.srv.ComponentDomain, `<query xmlns="jabber:iq:register"/>`)
	if strings.Contains(norm(res.Payload), "<registered") {
		t.Fatalf("still registered after remove: %s", res.Payload)
	}
}

// norm makes payloads comparable whatever quotes the server serialised with.
func norm(b []byte) string { return strings.ReplaceAll(string(b), "'", `"`) }

// register registers user's SIP account through XEP-0077, subscribes to the
// gateway as XEP-0100 §4.1 says, and waits for the gateway's presence.
func (e *env) register(t *testing.T, c *testkit.Client, user, password string) {
	t.Helper()
	mustResult(t, "XEP-0077 registration", e.registerForm(t, c, user, password))
	if err := c.Presence(ctxT(t, 5*time.Second), "subscribe", e.srv.ComponentDomain, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expect(ctxT(t, 20*time.Second), func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindPresence && s.Type == "" && s.From == e.srv.ComponentDomain
	}); err != nil {
		t.Fatalf("no available presence from the gateway: %v", err)
	}
	// Only an approved subscription lets the gateway see this client go
	// offline; until then the presence grace alone would end the binding,
	// as late as the tests' waits.
	if _, err := c.Expect(ctxT(t, 20*time.Second), func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindPresence && s.Type == "subscribe" && s.From == e.srv.ComponentDomain
	}); err != nil {
		t.Fatalf("no subscription request from the gateway: %v", err)
	}
}
