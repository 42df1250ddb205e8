package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/testkit"
)

// TestSHA256DigestOverTCP registers against a Kamailio that challenges with
// SHA-256 digest (RFC 8760), over TCP, including a bad-input registration.
func TestSHA256DigestOverTCP(t *testing.T) {
	srv := testkit.StartProsody(t, testkit.ProsodyConfig{C2SPort: 23222, ComponentPort: 23347, HTTPPort: 23280, HTTPSPort: 23281})
	kam := testkit.StartKamailio(t, testkit.KamailioConfig{Port: 23060, Algorithm: testkit.DigestSHA256})
	e := &env{parent: t, srv: srv, kam: kam}
	e.gwc = gatewayConfig{server: srv, sipPort: 23070, httpPort: 23090, dataDir: t.TempDir(), grace: 10 * time.Second}
	e.gw = startGateway(t, e.gwc)

	c := e.login(t, "alice")
	// Malformed input gets the right stanza error, not a hang or a crash.
	bad := e.iq(t, c, "set", srv.ComponentDomain, `<query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="submit">`+
		`<field var="username"><value>not-an-address</value></field><field var="password"><value>x</value></field></x></query>`)
	if se := stanza.ParseError(bad); se == nil || se.Condition != stanza.NotAcceptable {
		t.Fatalf("malformed SIP address: %s", bad.Payload)
	}

	form := fmt.Sprintf(`<query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="submit">`+
		`<field var="username"><value>alice@%s</value></field><field var="password"><value>alicepw</value></field>`+
		`<field var="sip-registrar"><value>%s</value></field><field var="sip-transport"><value>tcp</value></field></x></query>`, kam.Domain, kam.Addr)
	mustResult(t, "registration with SHA-256 digest over TCP", e.iq(t, c, "set", srv.ComponentDomain, form))
	if err := c.Presence(ctxT(t, 5*time.Second), "subscribe", srv.ComponentDomain, "", ""); err != nil {
		t.Fatal(err)
	}
	cs := e.waitContacts(t, "alice", "REGISTERed with SHA-256 over TCP", func(cs []testkit.Contact) bool { n, _ := countOurs(e, cs); return n == 1 })
	_, contact := countOurs(e, cs)
	if !strings.Contains(contact.URI, "transport=tcp") || !strings.HasPrefix(contact.Socket, "tcp:") {
		t.Errorf("binding not over TCP: %+v", contact)
	}
	_ = c.Close()
	e.waitContacts(t, "alice", "un-REGISTERed over TCP", func(cs []testkit.Contact) bool { n, _ := countOurs(e, cs); return n == 0 })
}
