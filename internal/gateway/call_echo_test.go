package gateway

import (
	"strings"
	"testing"

	"fargo.dev/fargo/internal/disco"
	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

// TestEchoContactAdvertisesVideo: the echo contact, which sends bundled
// video back, lists video in its disco#info under caps of its own; an
// ordinary SIP contact's stay audio only.
func TestEchoContactAdvertisesVideo(t *testing.T) {
	h, _, _, _ := relayHarness(t)
	echo := h.gw.EchoJID()
	ver := h.gw.echoCapsInfo.ver
	if ver == h.gw.contactCapsInfo.ver {
		t.Fatal("the echo contact has a SIP contact's caps")
	}
	h.in(`<presence type="subscribe" from="` + aliceRes + `" to="` + echo + `"/>`)
	av := h.expect("echo available", func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindPresence && s.Type == "" && strings.HasPrefix(s.From, echo+"/")
	})
	if !strings.Contains(string(av.Payload), ver) {
		t.Fatalf("echo presence without its caps %s: %s", ver, av.Payload)
	}
	for i, node := range []string{"", capsNode + "#" + ver} {
		id := "de" + string(rune('0'+i))
		h.in(`<iq type="get" id="` + id + `" from="` + aliceRes + `" to="` + echo + `/sip"><query xmlns="http://jabber.org/protocol/disco#info" node="` + node + `"/></iq>`)
		res := h.reply(id)
		var q discoInfoQuery
		if ok, err := res.Decode(nsDiscoInfo, "query", &q); !ok || err != nil {
			t.Fatalf("disco#info of the echo: %v %s", err, res.Payload)
		}
		var fs []string
		for _, f := range q.Features {
			fs = append(fs, f.Var)
		}
		if !strings.Contains(strings.Join(fs, " "), jingle.NSRTPVideo) {
			t.Errorf("node %q: the echo does not list video: %v", node, fs)
		}
		if got := disco.CapsVer(q.Identities, fs); got != ver {
			t.Errorf("node %q: caps ver %s, recomputed from disco#info %s", node, ver, got)
		}
	}
	h.in(`<iq type="get" id="dx" from="` + aliceRes + `" to="` + echo + `/sip"><query xmlns="http://jabber.org/protocol/disco#info" node="` + capsNode + "#" + h.gw.contactCapsInfo.ver + `"/></iq>`)
	if res := h.reply("dx"); res.Type != "error" {
		t.Errorf("the echo answered a SIP contact's caps node: %s", res.Payload)
	}
}
