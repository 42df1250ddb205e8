package gateway

import (
	"strings"
	"testing"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

const (
	bobContact = `bob\40sip.example.org@sip.example.test`
	bobFull    = bobContact + "/sip"
	aliceRes   = alice + "/phone"
)

// callHarness is a harness with calls enabled and alice logged in.
func callHarness(t testing.TB, mutate ...func(*Config)) (*harness, *fakeCalls, *fakeIQ) {
	h := newHarness(t, mutate...)
	calls := newFakeCalls()
	iq := &fakeIQ{out: h.out, features: map[string][]string{}}
	h.gw.EnableCalls(iq, calls)
	loggedIn(h, aliceRes)
	return h, calls, iq
}

func rawUDPInitiate(id, sid, to string) string {
	return `<iq type="set" id="` + id + `" from="` + aliceRes + `" to="` + to + `">
<jingle xmlns="urn:xmpp:jingle:1" action="session-initiate" sid="` + sid + `" initiator="` + aliceRes + `">
<content creator="initiator" name="audio" senders="both">
<description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio">
<payload-type id="0" name="PCMU" clockrate="8000"/><payload-type id="8" name="PCMA" clockrate="8000"/>
<payload-type id="101" name="telephone-event" clockrate="8000"><parameter name="" value="0-15"/></payload-type>
</description>
<transport xmlns="urn:xmpp:jingle:transports:raw-udp:1"><candidate component="1" generation="0" id="c1" ip="127.0.0.1" port="40000"/></transport>
</content></jingle></iq>`
}

func jingleTo(to string, action jingle.Action) func(*stanza.Stanza) bool {
	return func(s *stanza.Stanza) bool {
		var j jingle.Jingle
		ok, _ := s.Decode(jingle.NS, "jingle", &j)
		return ok && s.To == to && j.Action == action
	}
}

func decodeJingle(t *testing.T, s *stanza.Stanza) *jingle.Jingle {
	t.Helper()
	var j jingle.Jingle
	if ok, err := s.Decode(jingle.NS, "jingle", &j); !ok || err != nil {
		t.Fatalf("no jingle: %v", err)
	}
	return &j
}

const sipAnswer = "v=0\r\no=bob 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 50000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n"

func TestContactIsCallable(t *testing.T) {
	h, _, _ := callHarness(t)
	h.in(`<presence type="subscribe" from="` + alice + `" to="` + bobContact + `"/>`)
	h.expect("subscribed", isPresence("subscribed", alice))
	av := h.expect("contact available with caps", func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindPresence && s.Type == "" && s.From == bobFull
	})
	if !strings.Contains(string(av.Payload), h.gw.contactCapsInfo.ver) {
		t.Fatalf("no caps: %s", av.Payload)
	}
	h.in(`<iq type="get" id="d1" from="` + aliceRes + `" to="` + bobFull + `"><query xmlns="http://jabber.org/protocol/disco#info" node="https://fargo.dev/caps#` + h.gw.contactCapsInfo.ver + `"/></iq>`)
	res := h.reply("d1")
	for _, f := range []string{jingle.NS, jingle.NSRTP, jingle.NSRTPAudio, jingle.NSICEUDP, jingle.NSDTLS, jingle.NSJMI} {
		if !strings.Contains(string(res.Payload), f) {
			t.Errorf("disco#info lacks %s", f)
		}
	}
	if strings.Contains(string(res.Payload), jingle.NSRTPVideo) {
		t.Error("video advertised")
	}
	h.in(`<presence type="probe" from="` + alice + `" to="` + bobContact + `"/>`)
	h.expect("probe answered", func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindPresence && s.Type == "" && s.From == bobFull
	})
	h.in(`<presence type="subscribe" from="mallory@example.test" to="` + bobContact + `"/>`)
	h.expect("stranger refused", isPresence("unsubscribed", "mallory@example.test"))
}

func TestOutgoingJMICallAnsweredAndHungUp(t *testing.T) {
	h, calls, _ := callHarness(t)
	h.in(`<message type="chat" id="jm-propose-S1" from="` + aliceRes + `" to="` + bobContact + `"><propose xmlns="urn:xmpp:jingle-message:0" id="S1"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio"/></propose></message>`)
	h.expect("proceed to the device", func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindMessage && s.To == aliceRes && s.From == bobFull && strings.Contains(string(s.Payload), "proceed")
	})
	h.in(rawUDPInitiate("si1", "S1", bobFull))
	if r := h.reply("si1"); r.Type != "result" {
		t.Fatalf("session-initiate answered %s", r.Type)
	}
	c := <-calls.ch
	if c.target != "sip:bob@sip.example.org" || !strings.Contains(c.offer, "m=audio 40000 RTP/AVP 0 8 101") || !strings.Contains(c.offer, "c=IN IP4 127.0.0.1") {
		t.Fatalf("INVITE to %s with\n%s", c.target, c.offer)
	}
	c.h.CallEvent(SIPEvent{Kind: SIPProgress, Status: 180, Reason: "Ringing"})
	ringing := h.expect("ringing", jingleTo(aliceRes, jingle.ActionSessionInfo))
	if !strings.Contains(string(ringing.Payload), "ringing") {
		t.Fatalf("%s", ringing.Payload)
	}
	c.h.CallEvent(SIPEvent{Kind: SIPAnswered, Status: 200, Body: []byte(sipAnswer)})
	acc := decodeJingle(t, h.expect("session-accept", jingleTo(aliceRes, jingle.ActionSessionAccept)))
	tr := acc.Contents[0].Transport
	if acc.Contents[0].Name != "audio" || !tr.IsRawUDP() || tr.Candidates[0].Port != 50000 || acc.Contents[0].Description.PayloadTypes[0].Name != "PCMU" {
		t.Fatalf("session-accept %+v", acc.Contents[0])
	}
	h.in(`<iq type="set" id="t1" from="` + aliceRes + `" to="` + bobFull + `"><jingle xmlns="urn:xmpp:jingle:1" action="session-terminate" sid="S1"><reason><success/></reason></jingle></iq>`)
	h.reply("t1")
	eventually(t, "BYE", func() bool {
		return strings.Contains(c.get(func(c *fakeCall) string { return c.hungUp }), "Q.850;cause=16")
	})
	h.expect("JMI finish", func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindMessage && s.To == aliceRes && strings.Contains(string(s.Payload), "finish")
	})
}

func TestOutgoingCallFailuresMapToReasons(t *testing.T) {
	for _, tc := range []struct {
		status int
		phrase string
		cond   jingle.Condition
	}{{486, "Busy Here", jingle.Busy}, {603, "Decline", jingle.Decline}, {488, "Not Acceptable Here", jingle.IncompatibleParameters}, {404, "Not Found", jingle.GeneralError}, {480, "Temporarily Unavailable", jingle.Timeout}} {
		t.Run(tc.phrase, func(t *testing.T) {
			h, calls, _ := callHarness(t)
			h.in(rawUDPInitiate("si", "S2", bobFull))
			h.reply("si")
			c := <-calls.ch
			c.h.CallEvent(SIPEvent{Kind: SIPFailed, Status: tc.status, Reason: tc.phrase})
			term := decodeJingle(t, h.expect("terminate", jingleTo(aliceRes, jingle.ActionSessionTerminate)))
			if term.Reason == nil || term.Reason.Condition != tc.cond || !strings.Contains(term.Reason.Text, tc.phrase) {
				t.Fatalf("reason %+v", term.Reason)
			}
		})
	}
}

func TestCallRefusedWhenNotRegisteredOrOverLimit(t *testing.T) {
	h, _, _ := callHarness(t, func(c *Config) { c.Calls.MaxPerUser = 1 })
	h.in(rawUDPInitiate("a", "S1", bobFull))
	h.reply("a")
	h.in(rawUDPInitiate("b", "S2", bobFull))
	e := h.expectError("b", stanza.ResourceConstraint)
	if !strings.Contains(e.Text, "1 calls") {
		t.Fatalf("%q", e.Text)
	}
	h.in(`<iq type="set" id="x" from="mallory@example.test/r" to="` + bobFull + `"><jingle xmlns="urn:xmpp:jingle:1" action="session-initiate" sid="S9"/></iq>`)
	h.expectError("x", stanza.RegistrationRequired)
	h.in(`<iq type="set" id="y" from="` + aliceRes + `" to="` + bobFull + `"><jingle xmlns="urn:xmpp:jingle:1" action="session-terminate" sid="nope"><reason><success/></reason></jingle></iq>`)
	h.expectError("y", stanza.ItemNotFound)
}

func TestHoldAndDTMFBecomeReinviteAndInfo(t *testing.T) {
	h, calls, _ := callHarness(t)
	h.in(rawUDPInitiate("si", "S3", bobFull))
	h.reply("si")
	c := <-calls.ch
	c.h.CallEvent(SIPEvent{Kind: SIPAnswered, Status: 200, Body: []byte(sipAnswer)})
	h.expect("session-accept", jingleTo(aliceRes, jingle.ActionSessionAccept))
	h.in(`<iq type="set" id="h1" from="` + aliceRes + `" to="` + bobFull + `"><jingle xmlns="urn:xmpp:jingle:1" action="session-info" sid="S3"><hold xmlns="urn:xmpp:jingle:apps:rtp:info:1"/></jingle></iq>`)
	h.reply("h1")
	eventually(t, "hold re-INVITE", func() bool {
		return strings.Contains(c.get(func(c *fakeCall) string { return strings.Join(c.reinvites, "|") }), "a=sendonly")
	})
	h.in(`<iq type="set" id="d1" from="` + aliceRes + `" to="` + bobFull + `"><jingle xmlns="urn:xmpp:jingle:1" action="session-info" sid="S3"><dtmf xmlns="urn:xmpp:jingle:dtmf:0" code="7" duration="120"/></jingle></iq>`)
	h.reply("d1")
	eventually(t, "DTMF INFO", func() bool {
		return c.get(func(c *fakeCall) string { return strings.Join(c.infos, "|") }) == "application/dtmf-relay Signal=7\r\nDuration=120\r\n"
	})
	h.in(`<iq type="set" id="u1" from="` + aliceRes + `" to="` + bobFull + `"><jingle xmlns="urn:xmpp:jingle:1" action="session-info" sid="S3"><mystery xmlns="urn:example"/></jingle></iq>`)
	h.expectError("u1", stanza.FeatureNotImplemented)
	h.in(`<iq type="set" id="h2" from="` + aliceRes + `" to="` + bobFull + `"><jingle xmlns="urn:xmpp:jingle:1" action="session-info" sid="S3"><unhold xmlns="urn:xmpp:jingle:apps:rtp:info:1"/></jingle></iq>`)
	h.reply("h2")
	eventually(t, "resume re-INVITE", func() bool {
		return c.get(func(c *fakeCall) string { return strings.Repeat("x", len(c.reinvites)) }) == "xx"
	})
	// The SIP side holds: the device hears about it; the answer is recvonly.
	hold := strings.Replace(sipAnswer, "a=sendrecv", "a=sendonly", 1)
	hold = strings.Replace(hold, "o=bob 1 1", "o=bob 1 2", 1)
	ans, err := c.h.Offer(t.Context(), []byte(hold))
	if err != nil || !strings.Contains(string(ans), "a=recvonly") {
		t.Fatalf("answer to hold: %v\n%s", err, ans)
	}
	info := h.expect("hold info", jingleTo(aliceRes, jingle.ActionSessionInfo))
	if !strings.Contains(string(info.Payload), "hold") {
		t.Fatalf("%s", info.Payload)
	}
	c.h.CallEvent(SIPEvent{Kind: SIPInfo, ContentType: "application/dtmf-relay", Body: []byte("Signal=9\r\nDuration=100\r\n")})
	d := h.expect("dtmf to the device", jingleTo(aliceRes, jingle.ActionSessionInfo))
	if !strings.Contains(string(d.Payload), `code="9"`) {
		t.Fatalf("%s", d.Payload)
	}
	c.h.CallEvent(SIPEvent{Kind: SIPBye, ReasonHeader: "Q.850;cause=16"})
	term := decodeJingle(t, h.expect("terminate", jingleTo(aliceRes, jingle.ActionSessionTerminate)))
	if term.Reason.Condition != jingle.Success {
		t.Fatalf("%+v", term.Reason)
	}
}

const sipOffer = "v=0\r\no=carol 7 7 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n"

var jmiPhone = []string{jingle.NS, jingle.NSRTP, jingle.NSRTPAudio, jingle.NSRawUDP, jingle.NSJMI}
var plainPhone = []string{jingle.NS, jingle.NSRTP, jingle.NSRTPAudio, jingle.NSRawUDP}

func incomingCall(h *harness, offer string) *fakeCall {
	a, err := h.store.Account(h.t.Context(), alice)
	if err != nil {
		h.t.Fatal(err)
	}
	c := &fakeCall{id: "in-1", token: a.ContactToken, from: "sip:carol@sip.example.org", offer: offer}
	c.h = h.gw.IncomingCall(c)
	if c.h == nil {
		h.t.Fatal("incoming call refused")
	}
	return c
}

func TestIncomingCallRingsEveryDeviceFirstAnswerWins(t *testing.T) {
	h, _, iq := callHarness(t)
	second := alice + "/laptop"
	online(h, second)
	iq.features[aliceRes] = jmiPhone
	iq.features[second] = plainPhone
	c := incomingCall(h, sipOffer)
	prop := h.expect("JMI propose to the bare JID", func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindMessage && s.To == alice && strings.Contains(string(s.Payload), "propose")
	})
	carol := "carol@sip.example.test" // the account's own domain maps to a short contact
	if prop.From != carol+"/sip" {
		t.Fatalf("propose from %s", prop.From)
	}
	si := h.expect("session-initiate to the non-JMI device", jingleTo(second, jingle.ActionSessionInitiate))
	j := decodeJingle(t, si)
	if !j.Contents[0].Transport.IsRawUDP() || j.Contents[0].Transport.Candidates[0].Port != 30000 {
		t.Fatalf("offer to device: %+v", j.Contents[0])
	}
	eventually(t, "180", func() bool { return c.get(func(c *fakeCall) string { return strings.Repeat("x", c.rings) }) == "x" })
	// The JMI device proceeds: it gets the session, the other stops ringing.
	h.in(`<message type="chat" from="` + aliceRes + `" to="` + carol + `/sip"><proceed xmlns="urn:xmpp:jingle-message:0" id="` + j.SID + `"/></message>`)
	h.expect("other device told", jingleTo(second, jingle.ActionSessionTerminate))
	si2 := decodeJingle(t, h.expect("session-initiate to the answering device", jingleTo(aliceRes, jingle.ActionSessionInitiate)))
	h.in(`<iq type="set" id="acc" from="` + aliceRes + `" to="` + carol + `/sip"><jingle xmlns="urn:xmpp:jingle:1" action="session-accept" sid="` + si2.SID + `">
<content creator="initiator" name="audio" senders="both"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio"><payload-type id="8" name="PCMA" clockrate="8000"/></description>
<transport xmlns="urn:xmpp:jingle:transports:raw-udp:1"><candidate component="1" generation="0" id="x1" ip="127.0.0.1" port="41000"/></transport></content></jingle></iq>`)
	h.reply("acc")
	eventually(t, "200 OK with the device's media", func() bool {
		a := c.get(func(c *fakeCall) string { return c.answer })
		return strings.Contains(a, "m=audio 41000 RTP/AVP 8") && strings.Contains(a, "c=IN IP4 127.0.0.1")
	})
	c.h.CallEvent(SIPEvent{Kind: SIPAnswered})
	c.h.CallEvent(SIPEvent{Kind: SIPBye})
	h.expect("terminate", jingleTo(aliceRes, jingle.ActionSessionTerminate))
}

func TestIncomingCallRefusals(t *testing.T) {
	h, _, iq := callHarness(t)
	iq.features[aliceRes] = plainPhone
	c := incomingCall(h, strings.NewReplacer("0 8 101", "18", "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n", "a=rtpmap:18 G729/8000\r\n").Replace(sipOffer))
	eventually(t, "488", func() bool { return c.get(func(c *fakeCall) string { return c.warning }) != "" })
	if c.rejected != 488 || !strings.Contains(c.warning, "G729/8000") || !strings.Contains(c.warning, "PCMU/8000") {
		t.Fatalf("%d %q", c.rejected, c.warning)
	}
	// The device declines: 603 to the caller.
	c = incomingCall(h, sipOffer)
	si := decodeJingle(t, h.expect("session-initiate", jingleTo(aliceRes, jingle.ActionSessionInitiate)))
	h.in(`<iq type="set" id="dec" from="` + aliceRes + `" to="carol@sip.example.test/sip"><jingle xmlns="urn:xmpp:jingle:1" action="session-terminate" sid="` + si.SID + `"><reason><decline/></reason></jingle></iq>`)
	h.reply("dec")
	eventually(t, "603", func() bool {
		return c.get(func(c *fakeCall) string { return strings.Repeat("x", c.rejected/100) }) == "xxxxxx"
	})
	// The caller gives up: the device hears cancel.
	c = incomingCall(h, sipOffer)
	si = decodeJingle(t, h.expect("session-initiate", jingleTo(aliceRes, jingle.ActionSessionInitiate)))
	c.h.CallEvent(SIPEvent{Kind: SIPCancelled})
	term := decodeJingle(t, h.expect("cancel", jingleTo(aliceRes, jingle.ActionSessionTerminate)))
	if term.SID != si.SID || term.Reason.Condition != jingle.Cancel {
		t.Fatalf("%+v", term.Reason)
	}
	// Offline user: 480.
	offline(h, aliceRes)
	probeAnswersOffline(h)
	c = incomingCall(h, sipOffer)
	eventually(t, "480", func() bool {
		return c.get(func(c *fakeCall) string { return strings.Repeat("x", c.rejected/100) }) == "xxxx"
	})
}

// TestSetupLatencyIsMeasured checks that an answered outgoing call and an
// answered incoming call each record the gateway's own setup phases.
func TestSetupLatencyIsMeasured(t *testing.T) {
	h, calls, _ := callHarness(t)
	h.in(rawUDPInitiate("si1", "L1", bobFull))
	h.reply("si1")
	c := <-calls.ch
	c.h.CallEvent(SIPEvent{Kind: SIPAnswered, Status: 200, Body: []byte(sipAnswer)})
	h.expect("session-accept", jingleTo(aliceRes, jingle.ActionSessionAccept))
	eventually(t, "both outgoing phases observed", func() bool {
		st := h.gw.Stats()
		return total(st.Latency[PhaseInitiateToInvite].Counts) == 1 && total(st.Latency[PhaseOKToAccept].Counts) == 1
	})
	if st := h.gw.Stats(); total(st.Latency[PhaseAcceptToOK].Counts) != 0 || st.Latency[PhaseInitiateToInvite].Sum <= 0 {
		t.Fatalf("latency %+v", st.Latency)
	}
}

func total(c []uint64) (n uint64) {
	for _, v := range c {
		n += v
	}
	return n
}
