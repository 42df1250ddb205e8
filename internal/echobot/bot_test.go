package echobot

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"sort"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/stanza"
)

func TestSubscriptionsAreMirrored(t *testing.T) {
	h := newBot(t, Config{})
	h.in(`<presence type="subscribe" from="alice@example.org" to="echo@example.net"/>`)
	presence := func(typ string) func(*stanza.Stanza) bool {
		return func(s *stanza.Stanza) bool {
			return s.Kind() == stanza.KindPresence && s.Type == typ && s.To == aliceBar
		}
	}
	h.expect("subscribed", presence("subscribed"))
	h.expect("subscribe back", presence("subscribe"))
	if got := h.bot.Stats().Subscriptions; got != 1 {
		t.Fatalf("subscriptions %d, want 1", got)
	}
	h.in(`<presence type="unsubscribe" from="alice@example.org" to="echo@example.net"/>`)
	h.expect("unsubscribed", presence("unsubscribed"))
	h.expect("unsubscribe back", presence("unsubscribe"))
	// Our own account and the server are never answered.
	h.in(`<presence type="subscribe" from="echo@example.net" to="echo@example.net"/>`)
	h.in(`<presence type="subscribe" from="example.net" to="echo@example.net"/>`)
	h.quiet(100 * time.Millisecond)
}

func TestMessagesAreEchoed(t *testing.T) {
	h := newBot(t, Config{})
	h.in(`<message type="chat" id="m1" from="alice@example.org/phone" to="echo@example.net" xml:lang="de"><body>hallo &amp; so</body><thread>t1</thread><active xmlns="http://jabber.org/protocol/chatstates"/></message>`)
	got := h.expect("chat echo", func(s *stanza.Stanza) bool { return s.Kind() == stanza.KindMessage })
	if got.Type != "chat" || got.To != alice || got.Lang != "de" || !has(got, "<body>hallo &amp; so</body>") || !has(got, "t1</thread>") || has(got, "chatstates") {
		b, _ := got.Marshal()
		t.Fatalf("echo %s: want the body and thread back in a chat message to the sender", b)
	}
	h.in(`<message id="m2" from="alice@example.org/phone" to="echo@example.net"><body>plain</body></message>`)
	got = h.expect("normal echo", func(s *stanza.Stanza) bool { return s.Kind() == stanza.KindMessage })
	if got.Type != "normal" || !has(got, "plain") {
		t.Fatalf("echo of a typeless message: type %q payload %s", got.Type, got.Payload)
	}
	for _, raw := range []string{
		`<message type="chat" from="alice@example.org/phone"><composing xmlns="http://jabber.org/protocol/chatstates"/></message>`,
		`<message type="chat" from="alice@example.org/phone"><received xmlns="urn:xmpp:receipts" id="x"/></message>`,
		`<message type="error" from="alice@example.org/phone"><body>bounced</body><error type="cancel"><service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></message>`,
		`<message type="chat" from="echo@example.net/other"><body>mine</body></message>`,
		`<message type="groupchat" from="room@muc.example.org/alice"><body>room</body></message>`,
		`<message type="headline" from="alice@example.org"><body>news</body></message>`,
		`<message type="chat" from="example.net"><body>welcome</body></message>`,
	} {
		h.in(raw)
	}
	h.quiet(100 * time.Millisecond)
	if got := h.bot.Stats().Messages; got != 2 {
		t.Fatalf("messages echoed %d, want 2", got)
	}
}

// TestDiscoAndCaps checks disco#info against what clients need for a call
// button, and recomputes the caps ver of the presence from the disco
// answer (XEP-0115 §5.1), as a client verifying it would.
func TestDiscoAndCaps(t *testing.T) {
	h := newBot(t, Config{})
	h.bot.OnConnect(context.Background())
	h.expect("roster get", func(s *stanza.Stanza) bool { return s.Type == "get" && has(s, "jabber:iq:roster") })
	pres := h.expect("initial presence", func(s *stanza.Stanza) bool { return s.Kind() == stanza.KindPresence && s.Type == "" })
	var c capsElement
	if ok, err := pres.Decode(nsCaps, "c", &c); !ok || err != nil {
		t.Fatalf("presence without caps: %s", pres.Payload)
	}
	if c.Node != CapsNode || c.Hash != "sha-1" {
		t.Fatalf("caps %+v", c)
	}
	for _, node := range []string{"", c.Node + "#" + c.Ver} {
		h.in(`<iq type="get" id="d1" from="alice@example.org/phone" to="echo@example.net/bot"><query xmlns="http://jabber.org/protocol/disco#info" node="` + node + `"/></iq>`)
		res := h.expect("disco result", iqTo("result", "d1"))
		var q discoInfo
		if ok, err := res.Decode(nsDiscoInfo, "query", &q); !ok || err != nil {
			t.Fatalf("disco result %s: %v", res.Payload, err)
		}
		if q.Node != node {
			t.Fatalf("node %q, want %q", q.Node, node)
		}
		if len(q.Identities) != 1 || q.Identities[0].Category != "client" || q.Identities[0].Type != "bot" {
			t.Fatalf("identities %+v", q.Identities)
		}
		vars := map[string]bool{}
		for _, f := range q.Features {
			vars[f.Var] = true
		}
		for _, need := range []string{
			"urn:xmpp:jingle:1", "urn:xmpp:jingle:apps:rtp:1", "urn:xmpp:jingle:apps:rtp:audio",
			"urn:xmpp:jingle:apps:rtp:video", // bundled video is echoed too
			"urn:xmpp:jingle:transports:ice-udp:1", "urn:xmpp:jingle:transports:raw-udp:1",
			"urn:xmpp:jingle:apps:dtls:0", "urn:xmpp:jingle-message:0", "urn:xmpp:ping",
			"http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/caps",
		} {
			if !vars[need] {
				t.Errorf("disco#info lacks %s", need)
			}
		}
		if ver := verOf(q); ver != c.Ver {
			t.Fatalf("caps ver %s, recomputed from disco %s", c.Ver, ver)
		}
	}
	h.in(`<iq type="get" id="d2" from="alice@example.org/phone"><query xmlns="http://jabber.org/protocol/disco#info" node="other"/></iq>`)
	if res := h.expect("disco error", iqTo("error", "d2")); !has(res, "item-not-found") {
		t.Fatalf("unknown node: %s", res.Payload)
	}
}

func verOf(q discoInfo) string {
	var ids, fs []string
	for _, id := range q.Identities {
		ids = append(ids, id.Category+"/"+id.Type+"//"+id.Name)
	}
	for _, f := range q.Features {
		fs = append(fs, f.Var)
	}
	sort.Strings(ids)
	sort.Strings(fs)
	s := strings.Join(ids, "<") + "<" + strings.Join(fs, "<") + "<"
	sum := sha1.Sum([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestOnConnectSubscribesBack(t *testing.T) {
	h := newBot(t, Config{})
	h.out.mu.Lock()
	h.out.answer = func(iq *stanza.Stanza) *stanza.Stanza {
		s, _ := stanza.New(stanza.KindIQ, "result", "", botJID, iq.ID, rosterQuery{Items: []rosterItem{
			{JID: "bob@example.org", Subscription: "from"},
			{JID: "carol@example.org", Subscription: "both"},
			{JID: "dave@example.org", Subscription: "from", Ask: "subscribe"},
		}})
		return s
	}
	h.out.mu.Unlock()
	h.bot.OnConnect(context.Background())
	var subs []string
	for {
		select {
		case s := <-h.out.out:
			if s.Kind() == stanza.KindPresence && s.Type == "subscribe" {
				subs = append(subs, s.To)
			}
			continue
		case <-time.After(100 * time.Millisecond):
		}
		break
	}
	if len(subs) != 1 || subs[0] != "bob@example.org" {
		t.Fatalf("subscribed to %v, want only the from-only contact bob", subs)
	}
}

func TestIQs(t *testing.T) {
	h := newBot(t, Config{Version: "1.2"})
	h.in(`<iq type="get" id="p1" from="alice@example.org/phone"><ping xmlns="urn:xmpp:ping"/></iq>`)
	h.expect("ping result", iqTo("result", "p1"))
	h.in(`<iq type="get" id="v1" from="alice@example.org/phone"><query xmlns="jabber:iq:version"/></iq>`)
	if res := h.expect("version", iqTo("result", "v1")); !has(res, "1.2") {
		t.Fatalf("version %s", res.Payload)
	}
	h.in(`<iq type="get" id="u1" from="alice@example.org/phone"><vCard xmlns="vcard-temp"/></iq>`)
	if res := h.expect("error", iqTo("error", "u1")); !has(res, "service-unavailable") {
		t.Fatalf("unknown get: %s", res.Payload)
	}
	h.in(`<iq type="set" id="u2" from="alice@example.org/phone"><query xmlns="jabber:iq:private"/></iq>`)
	if res := h.expect("error", iqTo("error", "u2")); !has(res, "service-unavailable") {
		t.Fatalf("unknown set: %s", res.Payload)
	}
	h.in(`<iq type="set" id="r1"><query xmlns="jabber:iq:roster"><item jid="bob@example.org" subscription="from"/></query></iq>`)
	h.expect("roster push ack", iqTo("result", "r1"))
	h.in(`<iq type="set" id="r2" from="mallory@example.org/x"><query xmlns="jabber:iq:roster"/></iq>`)
	h.expect("forged roster push refused", iqTo("error", "r2"))
	h.in(`<iq type="result" id="zz" from="alice@example.org/phone"/>`)
	h.quiet(50 * time.Millisecond)
}

func TestNewChecksConfig(t *testing.T) {
	if _, err := New(Config{}, &fakeSender{}); err == nil {
		t.Fatal("a bot without relay was made")
	}
}
