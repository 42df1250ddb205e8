package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/stanza"
)

func online(h *harness, full string) {
	h.in(`<presence from="` + full + `" to="sip.example.test"/>`)
}

func offline(h *harness, full string) {
	h.in(`<presence type="unavailable" from="` + full + `" to="sip.example.test"/>`)
}

// probeAnswersOffline plays the user's server answering the gateway's
// probe for a user without available resources.
func probeAnswersOffline(h *harness) {
	h.t.Helper()
	h.expect("probe confirming the user is offline", isPresence("probe", alice))
	h.in(`<presence type="unavailable" from="alice@example.test" to="sip.example.test"/>`)
}

// loggedIn registers alice and brings one resource online, returning the
// registration loop the gateway started.
func loggedIn(h *harness, full string) *fakeLoop {
	h.t.Helper()
	registerAlice(h)
	online(h, full)
	h.expect("gateway available to alice", func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindPresence && s.Type == "" && s.From == gwDomain && s.To == alice && strings.Contains(string(s.Payload), "caps")
	})
	var loop *fakeLoop
	eventually(h.t, "a registration loop", func() bool {
		ls := h.sip.allLoops()
		if len(ls) == 0 {
			return false
		}
		loop = ls[len(ls)-1]
		return true
	})
	return loop
}

func TestPresenceDrivesSIPLogin(t *testing.T) {
	h := newHarness(t)
	loop := loggedIn(h, alice+"/phone")
	if s, _, _, _ := loop.counts(); s != 1 {
		t.Fatalf("loop started %d times", s)
	}
	online(h, alice+"/laptop")
	h.expect("presence to the second resource", isPresence("", alice+"/laptop"))
	offline(h, alice+"/phone")
	time.Sleep(50 * time.Millisecond)
	if _, _, u, _ := loop.counts(); u != 0 {
		t.Fatal("un-registered while a resource is still online")
	}
	offline(h, alice+"/laptop")
	probeAnswersOffline(h)
	h.expect("gateway unavailable after logout", isPresence("unavailable", alice))
	eventually(t, "un-REGISTER of the last resource", func() bool { _, _, u, _ := loop.counts(); return u == 1 })
	if st := h.gw.Stats(); st.SIPRegistered != 0 {
		t.Fatalf("registrations gauge %d after logout", st.SIPRegistered)
	}
	// Coming back starts a new loop that continues the same binding.
	online(h, alice+"/phone")
	eventually(t, "second loop", func() bool { return len(h.sip.allLoops()) == 2 })
	if l2 := h.sip.allLoops()[1]; l2.binding.CallID != loop.binding.CallID {
		t.Fatalf("new loop uses Call-ID %q, want %q", l2.binding.CallID, loop.binding.CallID)
	}
}

func TestOtherJIDsCannotTouchAccount(t *testing.T) {
	h := newHarness(t)
	loop := loggedIn(h, alice+"/phone")
	// Mallory's presence, removal and registration act on mallory only.
	offline(h, "mallory@example.test/x")
	h.in(`<presence type="unsubscribed" from="mallory@example.test" to="sip.example.test"/>`)
	h.in(`<iq type="set" id="m1" from="mallory@example.test/x" to="sip.example.test"><query xmlns="jabber:iq:register"><remove/></query></iq>`)
	h.expectError("m1", stanza.RegistrationRequired)
	h.in(`<iq type="set" id="m2" from="mallory@evil.test/x" to="sip.example.test"><command xmlns="http://jabber.org/protocol/commands" node="unregister" action="execute"/></iq>`)
	if r := h.reply("m2"); !strings.Contains(string(r.Payload), "no SIP account") {
		t.Fatalf("mallory's unregister: %s", r.Payload)
	}
	h.in(`<iq type="get" id="m3" from="mallory@example.test/x" to="sip.example.test"><query xmlns="jabber:iq:register"/></iq>`)
	if p := string(h.reply("m3").Payload); strings.Contains(p, "alice@sip.example.org") || strings.Contains(p, "<registered") {
		t.Fatalf("mallory sees alice's account: %s", p)
	}
	if _, _, u, _ := loop.counts(); u != 0 {
		t.Fatal("another JID's stanza un-registered alice")
	}
	if _, err := h.store.Account(t.Context(), alice); err != nil {
		t.Fatal("alice's account gone:", err)
	}
}

func TestLoginFailureTellsUser(t *testing.T) {
	h := newHarness(t)
	registerAlice(h)
	h.sip.mu.Lock()
	h.sip.password["alice@sip.example.org"] = "changed-at-provider"
	h.sip.mu.Unlock()
	online(h, alice+"/phone")
	p := h.expect("presence error", isPresence("error", alice+"/phone"))
	if e := stanza.ParseError(p); e == nil || e.Condition != stanza.NotAuthorized {
		t.Fatalf("presence error: %s", p.Payload)
	}
	m := h.expect("message with the reason", func(s *stanza.Stanza) bool { return s.Kind() == stanza.KindMessage && s.To == alice })
	if !strings.Contains(string(m.Payload), "403") {
		t.Fatalf("message does not say why: %s", m.Payload)
	}
	h.in(`<iq type="set" id="s1" from="alice@example.test/phone" to="sip.example.test"><command xmlns="http://jabber.org/protocol/commands" node="status" action="execute"/></iq>`)
	r := string(h.reply("s1").Payload)
	for _, want := range []string{"failed", "403", "sip:alice@sip.example.org"} {
		if !strings.Contains(r, want) {
			t.Errorf("status lacks %q: %s", want, r)
		}
	}
	reg, _ := h.store.Registration(t.Context(), alice)
	if !strings.Contains(reg.LastError, "403") {
		t.Errorf("last error not persisted: %+v", reg)
	}
}

func TestRemoveUnregistersAndUnsubscribes(t *testing.T) {
	h := newHarness(t)
	loop := loggedIn(h, alice+"/phone")
	h.in(`<iq type="set" id="x1" from="alice@example.test/phone" to="sip.example.test"><query xmlns="jabber:iq:register"><remove/></query></iq>`)
	if r := h.reply("x1"); r.Type != "result" {
		t.Fatalf("remove: %+v", r)
	}
	for _, typ := range []string{"unsubscribe", "unsubscribed", "unavailable"} {
		h.expect(typ, isPresence(typ, alice))
	}
	if _, _, u, _ := loop.counts(); u != 1 {
		t.Fatal("not un-registered")
	}
	if _, err := h.store.Account(t.Context(), alice); err == nil {
		t.Fatal("credentials not deleted")
	}
	h.in(`<iq type="set" id="x2" from="alice@example.test/phone" to="sip.example.test"><query xmlns="jabber:iq:register"><remove/></query></iq>`)
	h.expectError("x2", stanza.RegistrationRequired)
}

func TestUpdateKeepsPasswordAndToken(t *testing.T) {
	h := newHarness(t)
	registerAlice(h)
	before, _ := h.store.Account(t.Context(), alice)
	h.in(registerForm("u1", alice+"/a", "alice@sip.example.org", "", field("sip-display-name", "Alice A.")))
	if r := h.reply("u1"); r.Type != "result" {
		t.Fatalf("update: %s", r.Payload)
	}
	after, _ := h.store.Account(t.Context(), alice)
	if after.Password != "alicepw" || after.ContactToken != before.ContactToken || after.DisplayName != "Alice A." {
		t.Fatalf("update: before %+v after %+v", before, after)
	}
}

func TestAdHocRegisterAndUnregister(t *testing.T) {
	h := newHarness(t)
	h.in(`<iq type="set" id="c1" from="alice@example.test/a" to="sip.example.test"><command xmlns="http://jabber.org/protocol/commands" node="register" action="execute"/></iq>`)
	r := string(h.reply("c1").Payload)
	if !strings.Contains(r, `status="executing"`) || !strings.Contains(r, `var="username"`) {
		t.Fatalf("register stage 1: %s", r)
	}
	sid := r[strings.Index(r, `sessionid="`)+11:]
	sid = sid[:strings.Index(sid, `"`)]
	submit := func(id, pw string) string {
		h.in(`<iq type="set" id="` + id + `" from="alice@example.test/a" to="sip.example.test"><command xmlns="http://jabber.org/protocol/commands" node="register" sessionid="` + sid + `" action="complete"><x xmlns="jabber:x:data" type="submit">` +
			field("username", "alice@sip.example.org") + field("password", pw) + `</x></command></iq>`)
		return string(h.reply(id).Payload)
	}
	if r := submit("c2", "wrong"); !strings.Contains(r, `type="error"`) || !strings.Contains(r, `status="executing"`) {
		t.Fatalf("wrong password: %s", r)
	}
	if r := submit("c3", "alicepw"); !strings.Contains(r, `status="completed"`) {
		t.Fatalf("register complete: %s", r)
	}
	// The session is closed; reusing it is refused.
	h.in(`<iq type="set" id="c4" from="alice@example.test/a" to="sip.example.test"><command xmlns="http://jabber.org/protocol/commands" node="register" sessionid="` + sid + `"/></iq>`)
	h.expectError("c4", stanza.BadRequest)

	h.in(`<iq type="set" id="c5" from="alice@example.test/a" to="sip.example.test"><command xmlns="http://jabber.org/protocol/commands" node="unregister" action="execute"/></iq>`)
	r = string(h.reply("c5").Payload)
	sid = r[strings.Index(r, `sessionid="`)+11:]
	sid = sid[:strings.Index(sid, `"`)]
	h.in(`<iq type="set" id="c6" from="alice@example.test/a" to="sip.example.test"><command xmlns="http://jabber.org/protocol/commands" node="unregister" sessionid="` + sid + `" action="complete"><x xmlns="jabber:x:data" type="submit">` + field("confirm", "1") + `</x></command></iq>`)
	if r := string(h.reply("c6").Payload); !strings.Contains(r, "removed") {
		t.Fatalf("unregister: %s", r)
	}
	if _, err := h.store.Account(t.Context(), alice); err == nil {
		t.Fatal("account still stored")
	}
}

func TestCommandSessionBelongsToItsUser(t *testing.T) {
	h := newHarness(t)
	h.in(`<iq type="set" id="k1" from="alice@example.test/a" to="sip.example.test"><command xmlns="http://jabber.org/protocol/commands" node="register" action="execute"/></iq>`)
	r := string(h.reply("k1").Payload)
	sid := r[strings.Index(r, `sessionid="`)+11:]
	sid = sid[:strings.Index(sid, `"`)]
	h.in(`<iq type="set" id="k2" from="mallory@example.test/a" to="sip.example.test"><command xmlns="http://jabber.org/protocol/commands" node="register" sessionid="` + sid + `" action="complete"><x xmlns="jabber:x:data" type="submit">` +
		field("username", "bob@sip.example.org") + field("password", "bobpw") + `</x></command></iq>`)
	h.expectError("k2", stanza.BadRequest)
}

func TestIQGatewayTranslates(t *testing.T) {
	h := newHarness(t)
	h.in(`<iq type="get" id="q1" from="alice@example.test/a" to="sip.example.test"><query xmlns="jabber:iq:gateway"/></iq>`)
	if r := string(h.reply("q1").Payload); !strings.Contains(r, "<prompt>") || !strings.Contains(r, "<desc>") {
		t.Fatalf("iq:gateway get: %s", r)
	}
	h.in(`<iq type="set" id="q2" from="alice@example.test/a" to="sip.example.test"><query xmlns="jabber:iq:gateway"><prompt>bob@example.org</prompt></query></iq>`)
	if r := string(h.reply("q2").Payload); !strings.Contains(r, `<jid>bob\40example.org@sip.example.test</jid>`) {
		t.Fatalf("iq:gateway set: %s", r)
	}
	h.in(`<iq type="set" id="q3" from="alice@example.test/a" to="sip.example.test"><query xmlns="jabber:iq:gateway"><prompt>tel:+1-415-555-0100</prompt></query></iq>`)
	if r := string(h.reply("q3").Payload); !strings.Contains(r, `<jid>+14155550100@sip.example.test</jid>`) {
		t.Fatalf("iq:gateway phone: %s", r)
	}
	h.in(`<iq type="set" id="q4" from="alice@example.test/a" to="sip.example.test"><query xmlns="jabber:iq:gateway"><prompt> </prompt></query></iq>`)
	h.expectError("q4", stanza.BadRequest)
}

func TestReconnectProbesAndGraceLogsOut(t *testing.T) {
	h := newHarness(t)
	loop := loggedIn(h, alice+"/phone")
	h.gw.Disconnected()
	h.gw.Connected(context.Background())
	h.expect("probe", isPresence("probe", alice))
	// Alice is back before the grace ends: the binding is refreshed, not dropped.
	online(h, alice+"/phone")
	eventually(t, "refresh after resync", func() bool { _, u, _, _ := loop.counts(); return u >= 1 })
	// A second reconnect without alice: after the grace she is logged out.
	h.gw.Connected(context.Background())
	eventually(t, "logout after grace", func() bool { _, _, u, _ := loop.counts(); return u == 1 })
}

func TestRestartKeepsBindingAndRefreshes(t *testing.T) {
	h := newHarness(t)
	loop := loggedIn(h, alice+"/phone")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	h.gw.Shutdown(ctx)
	cancel()
	if _, _, u, c := loop.counts(); u != 0 || c != 1 {
		t.Fatalf("shutdown: unregister %d close %d, want binding kept", u, c)
	}
	h.expect("unavailable at shutdown", isPresence("unavailable", alice))
	reg, _ := h.store.Registration(t.Context(), alice)
	if reg.State != "registered" || reg.CallID == "" {
		t.Fatalf("binding not persisted: %+v", reg)
	}
	// A new instance over the same store: alice online again → same Call-ID refreshed.
	h2 := &harness{t: t, out: &fakeSender{ch: make(chan *stanza.Stanza, 64)}, sip: h.sip, store: h.store}
	h2.gw = New(h.gw.cfg, h2.out, h.sip, h.store, h.gw.log)
	if err := h2.gw.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer h2.gw.Shutdown(context.Background())
	h2.gw.Connected(context.Background())
	h2.expect("probe after restart", isPresence("probe", alice))
	online(h2, alice+"/phone")
	eventually(t, "loop after restart", func() bool { return len(h.sip.allLoops()) == 2 })
	if l := h.sip.allLoops()[1]; l.binding.CallID != reg.CallID {
		t.Fatalf("restart lost the binding: %q vs %q", l.binding.CallID, reg.CallID)
	}
}

func TestRestartWithoutUserRemovesBinding(t *testing.T) {
	h := newHarness(t)
	loggedIn(h, alice+"/phone")
	h.gw.Shutdown(context.Background())
	n := len(h.sip.calls())
	h2 := &harness{t: t, out: &fakeSender{ch: make(chan *stanza.Stanza, 64)}, sip: h.sip, store: h.store}
	h2.gw = New(h.gw.cfg, h2.out, h.sip, h.store, h.gw.log)
	if err := h2.gw.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer h2.gw.Shutdown(context.Background())
	eventually(t, "un-REGISTER of the kept binding after the grace", func() bool {
		c := h.sip.calls()
		return len(c) > n && c[len(c)-1].expires == 0
	})
}

func TestProbeAnswerUnavailableEndsGraceEarly(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PresenceGrace = time.Hour })
	loop := loggedIn(h, alice+"/phone")
	h.gw.Connected(context.Background())
	h.expect("probe", isPresence("probe", alice))
	h.in(`<presence type="unavailable" from="alice@example.test" to="sip.example.test"/>`)
	eventually(t, "logout on the probe's unavailable answer", func() bool { _, _, u, _ := loop.counts(); return u == 1 })
}

func TestSubscriptionApprovalTriggersProbe(t *testing.T) {
	h := newHarness(t)
	registerAlice(h)
	h.expect("subscribe", isPresence("subscribe", alice))
	h.in(`<presence type="subscribed" from="alice@example.test" to="sip.example.test"/>`)
	h.expect("probe after approval", isPresence("probe", alice))
}

func TestFailedUnregisterAtLogoutIsNotReportedAsLoginFailure(t *testing.T) {
	h := newHarness(t)
	loop := loggedIn(h, alice+"/phone")
	loop.mu.Lock()
	loop.failUnregister = true
	loop.mu.Unlock()
	offline(h, alice+"/phone")
	probeAnswersOffline(h)
	h.expect("logout presence", isPresence("unavailable", alice))
	// A status round trip orders us after the stale event's processing.
	h.in(`<iq type="set" id="st" from="alice@example.test/phone" to="sip.example.test"><command xmlns="http://jabber.org/protocol/commands" node="status" action="execute"/></iq>`)
	if r := string(h.reply("st").Payload); !strings.Contains(r, "unregistered") {
		t.Fatalf("status after logout: %s", r)
	}
	for _, s := range h.pending {
		if s.Kind() == stanza.KindMessage || s.Type == "error" {
			b, _ := s.Marshal()
			t.Fatalf("user told about a failure after logging out: %s", b)
		}
	}
}

// A server that replaces a session may report the old session's
// unavailable after the new one's available; the probe keeps the login.
func TestReplacedSessionKeepsLogin(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.OfflineConfirm = time.Hour })
	loop := loggedIn(h, alice+"/phone")
	online(h, alice+"/phone")  // the new session
	offline(h, alice+"/phone") // the old session's late unavailable
	h.expect("probe", isPresence("probe", alice))
	online(h, alice+"/phone") // the probe's answer
	h.expect("gateway presence to the resource", isPresence("", alice+"/phone"))
	if _, u, un, _ := loop.counts(); un != 0 || u != 0 {
		t.Fatalf("replaced session: updates %d unregisters %d, want the binding left alone", u, un)
	}
}

func TestOfflineConfirmTimesOut(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.OfflineConfirm = 50 * time.Millisecond })
	loop := loggedIn(h, alice+"/phone")
	offline(h, alice+"/phone")
	eventually(t, "logout when the probe gets no answer", func() bool { _, _, u, _ := loop.counts(); return u == 1 })
}

func TestServerRestartResendsGatewayPresence(t *testing.T) {
	h := newHarness(t)
	loggedIn(h, alice+"/phone")
	h.gw.Disconnected()
	h.gw.Connected(context.Background())
	h.expect("probe", isPresence("probe", alice))
	online(h, alice+"/phone")
	h.expect("gateway presence after the reconnect", isPresence("", alice+"/phone"))
}

// An unavailable presence nobody asked for (no probe pending) does not end
// the grace after a registration: only the probe's answer may.
func TestUnsolicitedUnavailableDuringGraceIsIgnored(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PresenceGrace = time.Hour })
	registerAlice(h)
	h.in(`<presence type="unavailable" from="alice@example.test" to="sip.example.test"/>`)
	h.in(`<presence type="subscribed" from="alice@example.test" to="sip.example.test"/>`)
	h.expect("probe after approval", isPresence("probe", alice))
	online(h, alice+"/phone")
	eventually(t, "login on the probe's answer", func() bool { return len(h.sip.allLoops()) == 1 })
	for _, c := range h.sip.calls() {
		if c.expires == 0 {
			t.Fatal("un-REGISTERed on an unsolicited unavailable")
		}
	}
}
