package e2e

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/testkit"
)

// ports of one scenario run, distinct per XMPP server. All fixed ports of
// the suite sit below 32768, outside Linux's ephemeral range, so no
// outgoing connection of the same machine can be holding one.
type ports struct {
	c2s, component, http, extra, kamailio, sip, metrics int
}

func TestProsody(t *testing.T) {
	p := ports{c2s: 21222, component: 21347, http: 21280, extra: 21281, kamailio: 21060, sip: 21070, metrics: 21090}
	srv := testkit.StartProsody(t, testkit.ProsodyConfig{C2SPort: p.c2s, ComponentPort: p.component, HTTPPort: p.http, HTTPSPort: p.extra})
	runScenario(t, srv, p)
}

func TestEjabberd(t *testing.T) {
	p := ports{c2s: 22222, component: 22347, http: 22280, extra: 22470, kamailio: 22060, sip: 22070, metrics: 22090}
	srv := testkit.StartEjabberd(t, testkit.EjabberdConfig{C2SPort: p.c2s, ComponentPort: p.component, HTTPPort: p.http, DistPort: p.extra})
	runScenario(t, srv, p)
}

// env is what the steps of a scenario share.
type env struct {
	parent *testing.T // clients that must outlive one step log in on it
	srv    *testkit.XMPPServer
	kam    *testkit.Kamailio
	gw     *gatewayProc
	gwc    gatewayConfig
}

func runScenario(t *testing.T, srv *testkit.XMPPServer, p ports) {
	kam := testkit.StartKamailio(t, testkit.KamailioConfig{Port: p.kamailio})
	e := &env{parent: t, srv: srv, kam: kam}
	e.gwc = gatewayConfig{server: srv, sipPort: p.sip, httpPort: p.metrics, dataDir: t.TempDir(), grace: 20 * time.Second}
	e.gw = startGateway(t, e.gwc)

	steps := []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"disco", stepDisco},
		{"register via XEP-0077, online registers, offline unregisters", stepRegisterOnlineOffline},
		{"wrong SIP password is refused with not-authorized", stepWrongPassword},
		{"register via ad-hoc command and status", stepAdHoc},
		{"password changed at the provider: user is told", stepLoginFailure},
		{"gateway restart keeps and restores registrations", stepGatewayRestart},
		{"XMPP server restart: gateway reconnects and re-registers", stepServerRestart},
		{"remove deletes the account and the binding", stepRemove},
	}
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) { s.fn(t, e) }) {
			return // later steps build on earlier ones
		}
	}
}

// login logs a user in with auto-approval of the gateway's subscription
// and announces availability; the client lives as long as t.
func (e *env) login(t *testing.T, user string) *testkit.Client {
	t.Helper()
	c := e.srv.Login(t, user, testkit.AutoSubscribe(e.srv.ComponentDomain), testkit.Resource("e2e"))
	if err := c.Presence(ctxT(t, 5*time.Second), "", "", "", ""); err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) registerForm(t *testing.T, c *testkit.Client, user, password string) *stanza.Stanza {
	t.Helper()
	payload := fmt.Sprintf(`<query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="submit">`+
		`<field var="FORM_TYPE"><value>jabber:iq:register</value></field>`+
		`<field var="username"><value>%s@%s</value></field>`+
		`<field var="password"><value>%s</value></field>`+
		`<field var="sip-registrar"><value>%s</value></field>`+
		`<field var="sip-transport"><value>udp</value></field></x></query>`, user, e.kam.Domain, password, e.kam.Addr)
	return e.iq(t, c, "set", e.srv.ComponentDomain, payload)
}

func (e *env) iq(t *testing.T, c *testkit.Client, typ, to, payload string) *stanza.Stanza {
	t.Helper()
	iq := &stanza.Stanza{XMLName: xml.Name{Local: "iq"}, Type: typ, To: to, Payload: []byte(payload)}
	res, err := c.SendIQ(ctxT(t, 20*time.Second), iq)
	if res == nil && err != nil {
		t.Fatalf("iq to %s: %v", to, err)
	}
	return res
}

// contacts waits until alice's bindings satisfy cond.
func (e *env) waitContacts(t *testing.T, user, desc string, cond func([]testkit.Contact) bool) []testkit.Contact {
	t.Helper()
	cs, err := e.kam.WaitContacts(ctxT(t, 20*time.Second), user, cond)
	if err != nil {
		t.Fatalf("%s: %v (contacts %+v)\nfargo log tail:\n%s", desc, err, cs, tailLines(e.gw.logs.String(), 40))
	}
	return cs
}

func ours(e *env) func(testkit.Contact) bool {
	port := fmt.Sprintf("127.0.0.1:%d", e.gwc.sipPort)
	return func(c testkit.Contact) bool { return strings.Contains(c.URI, port) }
}

func countOurs(e *env, cs []testkit.Contact) (n int, c testkit.Contact) {
	for _, x := range cs {
		if ours(e)(x) {
			n++
			c = x
		}
	}
	return n, c
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func isResult(s *stanza.Stanza) bool { return s != nil && s.Type == "result" }

func mustResult(t *testing.T, what string, s *stanza.Stanza) {
	t.Helper()
	if !isResult(s) {
		b, _ := s.Marshal()
		t.Fatalf("%s: %s", what, b)
	}
}
