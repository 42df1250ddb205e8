package gateway

import (
	"strings"
	"testing"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

// conversationsInitiate is an ICE + DTLS offer without candidates, as
// Conversations sends it (candidates follow in transport-info).
func conversationsInitiate(id, sid, to string) string {
	return `<iq type="set" id="` + id + `" from="` + aliceRes + `" to="` + to + `">
<jingle xmlns="urn:xmpp:jingle:1" action="session-initiate" sid="` + sid + `" initiator="` + aliceRes + `">
<content creator="initiator" name="0" senders="both">
<description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio"><payload-type id="111" name="opus" clockrate="48000" channels="2"/>
<payload-type id="0" name="PCMU" clockrate="8000"/><rtcp-mux/></description>
<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="cUfr" pwd="conversationspasswordxx">
<fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" hash="sha-256" setup="actpass">01:02</fingerprint></transport>
</content><group xmlns="urn:xmpp:jingle:apps:grouping:0" semantics="BUNDLE"><content name="0"/></group></jingle></iq>`
}

func relayHarness(t *testing.T) (*harness, *fakeCalls, *fakeIQ, *fakeRelay) {
	h, calls, iq := callHarness(t, func(c *Config) { c.Media = MediaPolicy{Mode: MediaModeAuto, RelayPrivate: true} })
	relay := &fakeRelay{}
	h.gw.EnableRelay(relay)
	return h, calls, iq, relay
}

func TestOutgoingICECallIsRelayed(t *testing.T) {
	h, calls, _, relay := relayHarness(t)
	h.in(conversationsInitiate("si1", "R1", bobFull))
	h.reply("si1")
	c := <-calls.ch // no wait for trickled candidates: the relay takes them later
	if !strings.Contains(c.offer, "m=audio 6000 RTP/AVP 111 0") || !strings.Contains(c.offer, "c=IN IP4 198.51.100.1") {
		t.Fatalf("INVITE not on the relay's plain leg:\n%s", c.offer)
	}
	if strings.Contains(c.offer, "BUNDLE") {
		t.Fatalf("BUNDLE offered to a plain SIP leg:\n%s", c.offer)
	}
	h.in(`<iq type="set" id="ti" from="` + aliceRes + `" to="` + bobFull + `"><jingle xmlns="urn:xmpp:jingle:1" action="transport-info" sid="R1">
<content creator="initiator" name="0"><transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="cUfr" pwd="conversationspasswordxx">
<candidate component="1" foundation="1" generation="0" id="c1" ip="192.0.2.9" port="50001" priority="2122260223" protocol="udp" type="host"/></transport></content></jingle></iq>`)
	h.reply("ti")
	p := relay.path(0)
	eventually(t, "trickled candidate reaches the relay", func() bool { return p.get(func(p *fakePath) int { return len(p.candidates) }) == 1 })
	answer := "v=0\r\no=bob 1 1 IN IP4 203.0.113.5\r\ns=-\r\nc=IN IP4 203.0.113.5\r\nt=0 0\r\nm=audio 50000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
	c.h.CallEvent(SIPEvent{Kind: SIPAnswered, Status: 200, Body: []byte(answer)})
	acc := decodeJingle(t, h.expect("session-accept", jingleTo(aliceRes, jingle.ActionSessionAccept)))
	tr := acc.Contents[0].Transport
	if !tr.IsICE() || tr.Ufrag != "relayufrag" || len(tr.Fingerprints) != 1 {
		t.Fatalf("session-accept transport %+v", tr)
	}
	if acc.Group == nil || acc.Group.Semantics != "BUNDLE" {
		t.Fatalf("session-accept without the user's BUNDLE group")
	}
	// The relay sees no media: both sides are told.
	p.ended(ErrMediaIdle)
	term := decodeJingle(t, h.expect("terminate", jingleTo(aliceRes, jingle.ActionSessionTerminate)))
	if term.Reason == nil || term.Reason.Condition != jingle.ConnectivityError {
		t.Fatalf("reason %+v", term.Reason)
	}
	eventually(t, "BYE", func() bool { return c.get(func(c *fakeCall) string { return c.hungUp }) != "" })
	eventually(t, "path closed", func() bool { return p.get(func(p *fakePath) int { return b2i(p.closed) }) == 1 })
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestOutgoingRawUDPCallStaysDirect(t *testing.T) {
	h, calls, _, relay := relayHarness(t)
	h.in(rawUDPInitiate("si1", "D1", bobFull))
	h.reply("si1")
	c := <-calls.ch
	if !strings.Contains(c.offer, "m=audio 40000 RTP/AVP") || relay.path(0) != nil {
		t.Fatalf("a raw-UDP offer at a public-enough address was relayed:\n%s", c.offer)
	}
}

func TestRelayFullRefusesTheCall(t *testing.T) {
	h, _, _, relay := relayHarness(t)
	relay.full = true
	h.in(conversationsInitiate("si1", "F1", bobFull))
	h.reply("si1")
	term := decodeJingle(t, h.expect("terminate", jingleTo(aliceRes, jingle.ActionSessionTerminate)))
	if term.Reason == nil || !strings.Contains(term.Reason.Text, "media relay") {
		t.Fatalf("reason %+v", term.Reason)
	}
}

var conversationsPhone = []string{jingle.NS, jingle.NSRTP, jingle.NSRTPAudio, jingle.NSICEUDP, jingle.NSDTLS, jingle.NSJMI}

func TestIncomingCallToICEDeviceIsRelayed(t *testing.T) {
	h, _, iq, relay := relayHarness(t)
	iq.features[aliceRes] = conversationsPhone
	c := incomingCall(h, sipOffer)
	carol := "carol@sip.example.test/sip"
	prop := h.expect("propose", func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindMessage && s.To == alice && strings.Contains(string(s.Payload), "propose")
	})
	var m jingle.JMI
	if ok, err := prop.Decode(jingle.NSJMI, jingle.JMIPropose, &m); !ok || err != nil {
		t.Fatalf("propose: %s", prop.Payload)
	}
	p := relay.path(0)
	if p == nil || !p.offerICE {
		t.Fatalf("no ICE relay leg opened for a Conversations-only user")
	}
	h.in(`<message type="chat" from="` + aliceRes + `" to="` + carol + `"><proceed xmlns="urn:xmpp:jingle-message:0" id="` + m.ID + `"/></message>`)
	si := decodeJingle(t, h.expect("session-initiate", jingleTo(aliceRes, jingle.ActionSessionInitiate)))
	sid := si.SID
	if tr := si.Contents[0].Transport; !tr.IsICE() || si.Group == nil {
		t.Fatalf("offer to the device: transport %+v group %+v", tr, si.Group)
	}
	h.in(`<iq type="set" id="acc" from="` + aliceRes + `" to="` + carol + `"><jingle xmlns="urn:xmpp:jingle:1" action="session-accept" sid="` + sid + `">
<content creator="initiator" name="audio" senders="both"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio"><payload-type id="0" name="PCMU" clockrate="8000"/><rtcp-mux/></description>
<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="cUfr" pwd="conversationspasswordxx"><fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" hash="sha-256" setup="active">01:02</fingerprint></transport></content></jingle></iq>`)
	h.reply("acc")
	eventually(t, "200 OK on the relay's plain leg at once", func() bool {
		a := c.get(func(c *fakeCall) string { return c.answer })
		return strings.Contains(a, "m=audio 6000 RTP/AVP 0") && strings.Contains(a, "c=IN IP4 198.51.100.1")
	})
}

func TestEchoContactAnswersAtOnce(t *testing.T) {
	h, calls, _, relay := relayHarness(t)
	echo := h.gw.EchoJID() + "/sip"
	h.in(conversationsInitiate("si1", "E1", echo))
	h.reply("si1")
	acc := decodeJingle(t, h.expect("session-accept from the echo", jingleTo(aliceRes, jingle.ActionSessionAccept)))
	if !acc.Contents[0].Transport.IsICE() || acc.Group == nil {
		t.Fatalf("echo answer %+v group %+v", acc.Contents[0].Transport, acc.Group)
	}
	select {
	case c := <-calls.ch:
		t.Fatalf("the echo placed a SIP call to %s", c.target)
	default:
	}
	// Hold and DTMF have no SIP side to go to: nothing breaks.
	h.in(`<iq type="set" id="h1" from="` + aliceRes + `" to="` + echo + `"><jingle xmlns="urn:xmpp:jingle:1" action="session-info" sid="E1"><hold xmlns="urn:xmpp:jingle:apps:rtp:info:1"/></jingle></iq>`)
	h.reply("h1")
	h.in(`<iq type="set" id="d1" from="` + aliceRes + `" to="` + echo + `"><jingle xmlns="urn:xmpp:jingle:1" action="session-info" sid="E1"><dtmf xmlns="urn:xmpp:jingle:dtmf:0" code="5" duration="100"/></jingle></iq>`)
	h.reply("d1")
	h.in(`<iq type="set" id="t1" from="` + aliceRes + `" to="` + echo + `"><jingle xmlns="urn:xmpp:jingle:1" action="session-terminate" sid="E1"><reason><success/></reason></jingle></iq>`)
	h.reply("t1")
	p := relay.path(0)
	eventually(t, "echo path closed", func() bool { return p.get(func(p *fakePath) int { return b2i(p.closed) }) == 1 })
}

func TestEchoContactEchoesMessages(t *testing.T) {
	h, _, _, _ := relayHarness(t)
	h.in(`<message type="chat" id="m1" from="` + aliceRes + `" to="` + h.gw.EchoJID() + `"><body>hello &amp; echo</body><active xmlns="http://jabber.org/protocol/chatstates"/></message>`)
	m := h.expect("echoed message", func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindMessage && s.To == aliceRes && s.From == h.gw.EchoJID()
	})
	if m.Type != "chat" || !strings.Contains(string(m.Payload), "hello &amp; echo") {
		t.Fatalf("echo: type %q %s", m.Type, m.Payload)
	}
	// A bodiless message (a chat state) gets nothing back.
	h.in(`<message type="chat" from="` + aliceRes + `" to="` + h.gw.EchoJID() + `"><composing xmlns="http://jabber.org/protocol/chatstates"/></message>`)
	h.in(`<message type="chat" id="m2" from="` + aliceRes + `" to="` + h.gw.EchoJID() + `"><body>second</body></message>`)
	m = h.expect("second echo", func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindMessage && s.To == aliceRes && s.From == h.gw.EchoJID()
	})
	if !strings.Contains(string(m.Payload), "second") {
		t.Fatalf("the chat state was echoed: %s", m.Payload)
	}
}

func TestEchoContactSubscribesBack(t *testing.T) {
	h, _, _, _ := relayHarness(t)
	echo := h.gw.EchoJID()
	h.in(`<presence type="subscribe" from="` + aliceRes + `" to="` + echo + `"/>`)
	for _, typ := range []string{"subscribed", "", "subscribe"} {
		h.expect("echo presence "+typ, func(s *stanza.Stanza) bool {
			return s.Kind() == stanza.KindPresence && s.Type == typ && strings.HasPrefix(s.From, echo) && bareOf(s.To) == bareOf(aliceRes)
		})
	}
}

// bareOf strips a JID's resource.
func bareOf(j string) string { b, _, _ := strings.Cut(j, "/"); return b }
