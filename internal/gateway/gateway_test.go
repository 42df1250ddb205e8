package gateway

import (
	"fmt"
	"strings"
	"testing"

	"fargo.dev/fargo/internal/stanza"
)

const alice = "alice@example.test"

func registerForm(id, from, addr, password string, extra ...string) string {
	fields := fmt.Sprintf(`<field var="FORM_TYPE"><value>jabber:iq:register</value></field>
<field var="username"><value>%s</value></field><field var="password"><value>%s</value></field>%s`, addr, password, strings.Join(extra, ""))
	return fmt.Sprintf(`<iq type="set" id="%s" from="%s" to="%s"><query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="submit">%s</x></query></iq>`,
		id, from, gwDomain, fields)
}

func field(v, val string) string {
	return fmt.Sprintf(`<field var="%s"><value>%s</value></field>`, v, val)
}

// registerAlice registers alice's account (she is not online yet).
func registerAlice(h *harness) {
	h.t.Helper()
	h.in(registerForm("r1", alice+"/phone", "alice@sip.example.org", "alicepw"))
	if r := h.reply("r1"); r.Type != "result" {
		b, _ := r.Marshal()
		h.t.Fatalf("register: %s", b)
	}
}

func TestDiscoInfoAdvertisesGateway(t *testing.T) {
	h := newHarness(t)
	h.in(`<iq type="get" id="d1" from="alice@example.test/phone" to="sip.example.test"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
	r := h.reply("d1")
	for _, want := range []string{`category="gateway" type="sip"`, `jabber:iq:register`, `jabber:iq:gateway`, `jid\20escaping`,
		`http://jabber.org/protocol/commands`, `urn:xmpp:ping`, `jabber:iq:version`} {
		if !strings.Contains(string(r.Payload), want) {
			t.Errorf("disco#info lacks %s: %s", want, r.Payload)
		}
	}
}

func TestCapsNodeAnswersSameAsDomain(t *testing.T) {
	h := newHarness(t)
	node := capsNode + "#" + h.gw.caps.ver
	h.in(`<iq type="get" id="d2" from="alice@example.test/phone" to="sip.example.test"><query xmlns="http://jabber.org/protocol/disco#info" node="` + node + `"/></iq>`)
	if r := h.reply("d2"); r.Type != "result" || !strings.Contains(string(r.Payload), "jabber:iq:register") {
		t.Fatalf("caps node: %s", r.Payload)
	}
	h.in(`<iq type="get" id="d3" from="alice@example.test/phone" to="sip.example.test"><query xmlns="http://jabber.org/protocol/disco#info" node="nope"/></iq>`)
	h.expectError("d3", stanza.ItemNotFound)
}

func TestDiscoItemsListsCommands(t *testing.T) {
	h := newHarness(t)
	h.in(`<iq type="get" id="i1" from="alice@example.test/phone" to="sip.example.test"><query xmlns="http://jabber.org/protocol/disco#items" node="http://jabber.org/protocol/commands"/></iq>`)
	r := h.reply("i1")
	for _, n := range []string{`node="register"`, `node="unregister"`, `node="status"`} {
		if !strings.Contains(string(r.Payload), n) {
			t.Errorf("commands list lacks %s: %s", n, r.Payload)
		}
	}
}

func TestVersionAndPing(t *testing.T) {
	h := newHarness(t)
	h.in(`<iq type="get" id="v1" from="alice@example.test/phone" to="sip.example.test"><query xmlns="jabber:iq:version"/></iq>`)
	if r := h.reply("v1"); !strings.Contains(string(r.Payload), "<name>Fargo</name>") {
		t.Fatalf("version: %s", r.Payload)
	}
	h.in(`<iq type="get" id="p1" from="alice@example.test/phone" to="sip.example.test"><ping xmlns="urn:xmpp:ping"/></iq>`)
	if r := h.reply("p1"); r.Type != "result" {
		t.Fatalf("ping: %+v", r)
	}
}

func TestBadIQs(t *testing.T) {
	h := newHarness(t)
	cases := []errorCase{
		{"unknown type", `<iq type="fetch" id="b1" from="alice@example.test/a" to="sip.example.test"><ping xmlns="urn:xmpp:ping"/></iq>`, stanza.BadRequest},
		{"no payload", `<iq type="get" id="b2" from="alice@example.test/a" to="sip.example.test"/>`, stanza.BadRequest},
		{"two payloads", `<iq type="get" id="b3" from="alice@example.test/a" to="sip.example.test"><ping xmlns="urn:xmpp:ping"/><ping xmlns="urn:xmpp:ping"/></iq>`, stanza.BadRequest},
		{"unknown namespace", `<iq type="get" id="b4" from="alice@example.test/a" to="sip.example.test"><query xmlns="urn:example:nope"/></iq>`, stanza.ServiceUnavailable},
		{"disco set", `<iq type="set" id="b5" from="alice@example.test/a" to="sip.example.test"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`, stanza.BadRequest},
		{"contact unregistered", `<iq type="get" id="b6" from="alice@example.test/a" to="bob\40example.org@sip.example.test"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`, stanza.RegistrationRequired},
		{"malformed contact", `<iq type="get" id="b7" from="alice@example.test/a" to="\20bob\40example.org@sip.example.test"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`, stanza.JIDMalformed},
		{"message to unregistered contact", `<message type="chat" id="b8" from="alice@example.test/a" to="bob\40example.org@sip.example.test"><body>hi</body></message>`, stanza.RegistrationRequired},
		{"bad presence type", `<presence type="online" id="b9" from="alice@example.test/a" to="sip.example.test"/>`, stanza.BadRequest},
	}
	runErrorCases(t, h, cases)
}

func TestErrorsAndResultsAreNeverAnswered(t *testing.T) {
	h := newHarness(t)
	h.in(`<iq type="error" id="e1" from="alice@example.test/a" to="sip.example.test"><error type="cancel"><item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></iq>`)
	h.in(`<iq type="result" id="e2" from="alice@example.test/a" to="sip.example.test"/>`)
	h.in(`<message type="error" id="e3" from="alice@example.test/a" to="sip.example.test"/>`)
	h.in(`<iq type="get" id="e4" from="alice@example.test/a" to="sip.example.test"><ping xmlns="urn:xmpp:ping"/></iq>`)
	if r := h.expect("any", func(*stanza.Stanza) bool { return true }); r.ID != "e4" {
		t.Fatalf("answered an error or result: %+v", r)
	}
}

func TestRegisterFormGet(t *testing.T) {
	h := newHarness(t)
	h.in(`<iq type="get" id="g1" from="alice@example.test/a" to="sip.example.test"><query xmlns="jabber:iq:register"/></iq>`)
	r := h.reply("g1")
	p := string(r.Payload)
	for _, want := range []string{"<instructions>", `var="username"`, `var="password"`, `var="sip-transport"`, `var="sip-registrar"`, `var="sip-outbound-proxy"`, `var="sip-auth-user"`, "<username></username>"} {
		if !strings.Contains(p, want) {
			t.Errorf("register form lacks %s", want)
		}
	}
	if strings.Contains(p, "<registered") {
		t.Error("unregistered user told <registered/>")
	}
	registerAlice(h)
	h.in(`<iq type="get" id="g2" from="alice@example.test/a" to="sip.example.test"><query xmlns="jabber:iq:register"/></iq>`)
	p = string(h.reply("g2").Payload)
	if !strings.Contains(p, "<registered></registered>") || !strings.Contains(p, "alice@sip.example.org") || strings.Contains(p, "alicepw") {
		t.Fatalf("registered form wrong (or echoes the password): %s", p)
	}
}

func TestRegisterStoresAccountAndSubscribes(t *testing.T) {
	h := newHarness(t)
	registerAlice(h)
	h.expect("subscribe from gateway", isPresence("subscribe", alice))
	a, err := h.store.Account(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	if a.SIPAddress != "alice@sip.example.org" || a.Password != "alicepw" || a.Transport != "udp" || a.ContactToken == "" {
		t.Fatalf("stored account: %+v", a)
	}
	if calls := h.sip.calls(); len(calls) == 0 || calls[0].aor != "alice@sip.example.org" || calls[0].expires <= 0 {
		t.Fatalf("credentials not checked with a REGISTER: %+v", calls)
	}
}

func TestRegisterWrongPasswordRefused(t *testing.T) {
	h := newHarness(t)
	h.in(registerForm("w1", alice+"/a", "alice@sip.example.org", "wrong"))
	e := h.expectError("w1", stanza.NotAuthorized)
	if !strings.Contains(e.Text, "403") {
		t.Errorf("error text does not say what the registrar answered: %q", e.Text)
	}
	if _, err := h.store.Account(t.Context(), alice); err == nil {
		t.Fatal("account stored despite wrong password")
	}
}

func TestRegisterUnreachableRegistrar(t *testing.T) {
	h := newHarness(t)
	h.in(registerForm("u1", alice+"/a", "alice@unreachable.example", "x"))
	h.expectError("u1", stanza.RemoteServerTimeout)
}

func TestRegisterLegacyFields(t *testing.T) {
	h := newHarness(t)
	h.in(`<iq type="set" id="l1" from="alice@example.test/a" to="sip.example.test"><query xmlns="jabber:iq:register"><username>alice@sip.example.org</username><password>alicepw</password></query></iq>`)
	if r := h.reply("l1"); r.Type != "result" {
		t.Fatalf("legacy registration: %+v", r)
	}
}

func TestRegisterValidation(t *testing.T) {
	h := newHarness(t)
	cases := []errorCase{
		{"no at sign", registerForm("v1", alice+"/a", "alice", "pw"), stanza.NotAcceptable},
		{"empty address", registerForm("v2", alice+"/a", "", "pw"), stanza.NotAcceptable},
		{"bad transport", registerForm("v3", alice+"/a", "alice@sip.example.org", "alicepw", field("sip-transport", "sctp")), stanza.NotAcceptable},
		{"bad registrar", registerForm("v4", alice+"/a", "alice@sip.example.org", "alicepw", field("sip-registrar", "127.0.0.1:99999")), stanza.NotAcceptable},
		{"bad proxy", registerForm("v5", alice+"/a", "alice@sip.example.org", "alicepw", field("sip-outbound-proxy", "sip:a b")), stanza.NotAcceptable},
		{"missing password", registerForm("v6", alice+"/a", "alice@sip.example.org", ""), stanza.NotAcceptable},
		{"form not submit", `<iq type="set" id="v7" from="alice@example.test/a" to="sip.example.test"><query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="form"/></query></iq>`, stanza.BadRequest},
		{"empty query", `<iq type="set" id="v8" from="alice@example.test/a" to="sip.example.test"><query xmlns="jabber:iq:register"/></iq>`, stanza.BadRequest},
		{"wrong FORM_TYPE", `<iq type="set" id="v9" from="alice@example.test/a" to="sip.example.test"><query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE"><value>urn:nope</value></field></x></query></iq>`, stanza.BadRequest},
		{"malformed xml inside", `<iq type="set" id="v10" from="alice@example.test/a" to="sip.example.test"><query xmlns="jabber:iq:register"><x xmlns="jabber:x:data" type="submit"><field var="username"><value><![CDATA[a@b]]></value><value/></field></x></query></iq>`, stanza.NotAcceptable},
	}
	runErrorCases(t, h, cases)
}

func TestDisallowedDomain(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AllowedDomains = []string{"other.test"} })
	h.in(registerForm("x1", alice+"/a", "alice@sip.example.org", "alicepw"))
	h.expectError("x1", stanza.NotAllowed)
}

// errorCase is a stanza (with an id attribute) and the error it must get.
type errorCase struct {
	name, raw string
	cond      stanza.Condition
}

func runErrorCases(t *testing.T, h *harness, cases []errorCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.raw[strings.Index(tc.raw, `id="`)+4:]
			id = id[:strings.Index(id, `"`)]
			h.in(tc.raw)
			h.expectError(id, tc.cond)
		})
	}
}

func TestRefusedCredentialsAreThrottled(t *testing.T) {
	h := newHarness(t)
	for i := range maxFailedChecks {
		id := fmt.Sprintf("t%d", i)
		h.in(registerForm(id, alice+"/a", "alice@sip.example.org", "guess"))
		h.expectError(id, stanza.NotAuthorized)
	}
	before := len(h.sip.calls())
	h.in(registerForm("t-last", alice+"/a", "alice@sip.example.org", "alicepw"))
	e := h.expectError("t-last", stanza.PolicyViolation)
	if !strings.Contains(e.Text, "try again in") {
		t.Errorf("throttle text: %q", e.Text)
	}
	if len(h.sip.calls()) != before {
		t.Fatal("a throttled registration still sent a REGISTER")
	}
	// Another user is not affected.
	h.in(registerForm("t-bob", "bob@example.test/a", "bob@sip.example.org", "bobpw"))
	if r := h.reply("t-bob"); r.Type != "result" {
		t.Fatalf("bob throttled by alice's guesses: %s", r.Payload)
	}
}
