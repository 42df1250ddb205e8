package gateway

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

func TestTokenIndex(t *testing.T) {
	var idx tokenIndex
	u1, u2 := &user{jid: "u1@x"}, &user{jid: "u2@x"}
	if idx.get("tok") != nil {
		t.Fatal("empty index hit")
	}
	idx.put("tok", u1)
	if idx.get("tok") != u1 || idx.get("other") != nil {
		t.Fatal("put/get")
	}
	// Only the user an entry names removes it: a late removal by the
	// token's former owner must not drop the new owner's entry.
	idx.put("tok", u2)
	idx.remove("tok", u1)
	if idx.get("tok") != u2 {
		t.Fatal("removal by a former owner dropped the entry")
	}
	idx.remove("tok", u2)
	if idx.get("tok") != nil || idx.len() != 0 {
		t.Fatal("removed entry still served")
	}
}

func TestTokenIndexConcurrent(t *testing.T) {
	var idx tokenIndex
	users := make([]*user, 8)
	for i := range users {
		users[i] = &user{jid: strconv.Itoa(i)}
	}
	var wg sync.WaitGroup
	for i, u := range users {
		tok := "tok-" + strconv.Itoa(i)
		wg.Go(func() {
			for range 500 {
				idx.put(tok, u)
				if got := idx.get(tok); got != nil && got != u {
					t.Errorf("token %s served another user", tok)
				}
				idx.remove(tok, u)
			}
		})
		wg.Go(func() {
			for range 500 {
				_ = idx.get(tok)
				_ = idx.len()
			}
		})
	}
	wg.Wait()
	if idx.len() != 0 {
		t.Errorf("%d entries left", idx.len())
	}
}

// accountReads runs fn and returns how many account lookups reached the store.
func accountReads(h *harness, fn func()) int64 {
	before := h.store.accountReads.Load()
	fn()
	return h.store.accountReads.Load() - before
}

func contactPing(id string) string {
	return `<iq type="get" id="` + id + `" from="` + aliceRes + `" to="` + bobFull + `"><ping xmlns="urn:xmpp:ping"/></iq>`
}

func TestCallsDoNotReadTheStore(t *testing.T) {
	h, calls, iq := callHarness(t)
	iq.features[aliceRes] = plainPhone
	a, err := h.store.Account(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	n := accountReads(h, func() {
		// Outgoing: session-initiate, answer, terminate.
		h.in(rawUDPInitiate("si1", "S1", bobFull))
		h.reply("si1")
		c := <-calls.ch
		c.h.CallEvent(SIPEvent{Kind: SIPAnswered, Status: 200, Body: []byte(sipAnswer)})
		h.expect("session-accept", jingleTo(aliceRes, jingle.ActionSessionAccept))
		h.in(`<iq type="set" id="t1" from="` + aliceRes + `" to="` + bobFull + `"><jingle xmlns="urn:xmpp:jingle:1" action="session-terminate" sid="S1"><reason><success/></reason></jingle></iq>`)
		h.reply("t1")
		// Incoming: routed by token, cancelled while ringing.
		in := &fakeCall{id: "in-1", token: a.ContactToken, from: "sip:carol@sip.example.org", offer: sipOffer}
		if in.h = h.gw.IncomingCall(in); in.h == nil {
			t.Fatal("incoming call refused")
		}
		h.expect("session-initiate", jingleTo(aliceRes, jingle.ActionSessionInitiate))
		in.h.CallEvent(SIPEvent{Kind: SIPCancelled})
		h.expect("session-terminate", jingleTo(aliceRes, jingle.ActionSessionTerminate))
	})
	if n != 0 {
		t.Errorf("%d account reads from the store during two calls, want 0", n)
	}
}

// After removal the user's actor answers for it at once: no registration,
// no calls by the old token, and the store is not asked for it.
func TestRemovedAccountNotServed(t *testing.T) {
	h, _, _ := callHarness(t)
	a, err := h.store.Account(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	h.in(`<iq type="set" id="x1" from="` + aliceRes + `" to="sip.example.test"><query xmlns="jabber:iq:register"><remove/></query></iq>`)
	if r := h.reply("x1"); r.Type != "result" {
		t.Fatalf("remove: %+v", r)
	}
	n := accountReads(h, func() {
		h.in(contactPing("p1"))
		h.expectError("p1", stanza.RegistrationRequired)
		h.in(rawUDPInitiate("si1", "S1", bobFull))
		h.expectError("si1", stanza.RegistrationRequired)
	})
	if n != 0 {
		t.Errorf("%d store reads for a user the actor knows has no account", n)
	}
	if c := h.gw.IncomingCall(&fakeCall{id: "in-1", token: a.ContactToken, offer: sipOffer}); c != nil {
		t.Error("a call to the removed account's token was taken")
	}
	if h.gw.tokens.len() != 0 {
		t.Errorf("token index holds %d entries after removal", h.gw.tokens.len())
	}

	// Registering again gives a new token; the old one stays dead.
	registerAlice(h)
	b, err := h.store.Account(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	if b.ContactToken == a.ContactToken {
		t.Fatal("re-registration kept the old token")
	}
	if c := h.gw.IncomingCall(&fakeCall{id: "in-2", token: a.ContactToken, offer: sipOffer}); c != nil {
		t.Error("a call to the old token was taken after re-registration")
	}
	if u := h.gw.tokens.get(b.ContactToken); u == nil || u.jid != alice {
		t.Errorf("new token not indexed: %v", u)
	}
}

// An updated account is what the read loop serves from then on.
func TestUpdatedAccountServedAtOnce(t *testing.T) {
	h := newHarness(t)
	registerAlice(h)
	h.in(registerForm("r2", aliceRes, "bob@sip.example.org", "bobpw"))
	if r := h.reply("r2"); r.Type != "result" {
		t.Fatalf("update: %+v", r)
	}
	var r *stanza.Stanza
	n := accountReads(h, func() {
		h.in(`<iq type="get" id="g1" from="` + aliceRes + `" to="sip.example.test"><query xmlns="jabber:iq:register"/></iq>`)
		r = h.reply("g1")
	})
	if !strings.Contains(string(r.Payload), "bob@sip.example.org") {
		t.Errorf("registration form after update does not show the new address: %s", r.Payload)
	}
	if n != 0 {
		t.Errorf("%d store reads for the form of a user in memory", n)
	}
	if h.gw.tokens.len() != 1 {
		t.Errorf("token index holds %d entries, want 1", h.gw.tokens.len())
	}
}

// Accounts loaded at start-up are indexed; until a user's load has run, a
// lookup falls back to the store.
func TestLoadedAccountsIndexed(t *testing.T) {
	st := newMemStore()
	for i := range 3 {
		j := "u" + strconv.Itoa(i) + "@example.test"
		if err := st.PutAccount(t.Context(), testAccount(j, "u@sip.example.org")); err != nil {
			t.Fatal(err)
		}
	}
	g := New(Config{Domain: gwDomain, PresenceGrace: time.Hour}, &fakeSender{ch: make(chan *stanza.Stanza, 64)},
		&fakeSIP{}, st, slog.New(slog.DiscardHandler))
	if u := g.userByToken("tok-u1@example.test"); u == nil || u.jid != "u1@example.test" {
		t.Fatalf("lookup before start = %v", u)
	}
	if err := g.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		g.Shutdown(ctx)
	})
	eventually(t, "accounts loaded", func() bool { return g.tokens.len() == 3 })
	before := st.accountReads.Load()
	for i := range 3 {
		j := "u" + strconv.Itoa(i) + "@example.test"
		if u := g.userByToken("tok-" + j); u == nil || u.jid != j {
			t.Errorf("userByToken(%s) = %v", j, u)
		}
		if a, err := g.accountOf(t.Context(), j); err != nil || a.JID != j {
			t.Errorf("accountOf(%s) = %v, %v", j, a, err)
		}
	}
	if g.userByToken("tok-nobody") != nil {
		t.Error("unknown token found")
	}
	if n := st.accountReads.Load() - before; n != 1 {
		t.Errorf("%d store reads, want 1 (the unknown token)", n)
	}
}
