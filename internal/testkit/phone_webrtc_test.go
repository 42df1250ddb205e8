package testkit

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/leakcheck"
	"fargo.dev/fargo/internal/rtpprobe"
	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/testkit/webrtcpeer"
)

// noMedia is the local address a WebRTC phone ignores.
var noMedia netip.AddrPort

// checkConversationsContent: one ICE-UDP content with ufrag, pwd and a
// fingerprint set up as setup says, rtcp-mux, and no candidate.
func checkConversationsContent(t *testing.T, what string, j *jingle.Jingle, setup string) {
	t.Helper()
	if j == nil || len(j.Contents) != 1 || j.Group == nil || j.Group.Semantics != "BUNDLE" {
		t.Fatalf("%s: %+v", what, j)
	}
	c := j.Contents[0]
	tr := c.Transport
	switch {
	case c.Name != "0" || c.Creator != jingle.RoleInitiator || c.Senders != jingle.SendersBoth:
		t.Fatalf("%s: content %q creator %s senders %s", what, c.Name, c.Creator, c.Senders)
	case !tr.IsICE() || len(tr.Ufrag) < 4 || len(tr.Pwd) < 22:
		t.Fatalf("%s: transport %+v", what, tr)
	case len(tr.Fingerprints) != 1 || tr.Fingerprints[0].Hash != "sha-256" || tr.Fingerprints[0].Setup != setup:
		t.Fatalf("%s: fingerprints %+v, want sha-256 %s", what, tr.Fingerprints, setup)
	case len(tr.Candidates) != 0:
		t.Fatalf("%s carries candidates %+v: they belong in transport-info", what, tr.Candidates)
	case c.Description.RTCPMux == nil || len(c.Description.PayloadTypes) == 0:
		t.Fatalf("%s: description %+v", what, c.Description)
	}
}

// webrtcTones sends freqA from a and freqB from b at once and checks what
// the other side heard, and that each side got candidates by
// transport-info only.
func webrtcTones(t *testing.T, a, b *PhoneCall, freqA, freqB float64) {
	t.Helper()
	ma, mb := a.Media(), b.Media()
	if ma == nil || mb == nil {
		t.Fatal("no media on an accepted WebRTC call")
	}
	for _, m := range []*webrtcpeer.Peer{ma, mb} {
		must(t, "connected", m.Connected(withTimeout(t)))
	}
	errs := make(chan error, 2)
	go func() { errs <- ma.SendTone(withTimeout(t), freqA, time.Second) }()
	go func() { errs <- mb.SendTone(withTimeout(t), freqB, time.Second) }()
	for range 2 {
		must(t, "tone", <-errs)
	}
	time.Sleep(100 * time.Millisecond) // the last packets are on their way
	for _, c := range []struct {
		name string
		call *PhoneCall
		want float64
	}{{"caller hears", a, freqB}, {"callee hears", b, freqA}} {
		pcm := c.call.Media().Received()
		got := rtpprobe.DominantFrequency(pcm, 8000)
		if len(pcm) < 4000 || math.Abs(got-c.want) > 2 {
			t.Fatalf("%s %.1f Hz in %d samples, want %.0f Hz", c.name, got, len(pcm), c.want)
		}
		if n := len(c.call.TrickledCandidates()); n == 0 || c.call.Media().RemoteCandidates() != n {
			t.Fatalf("%s: %d candidates came by transport-info, ICE got %d", c.name, n, c.call.Media().RemoteCandidates())
		}
	}
}

// TestPhoneWebRTCJMICall: two Conversations-like phones, JMI, tones both
// ways over ICE + DTLS-SRTP, hangup.
func TestPhoneWebRTCJMICall(t *testing.T) {
	r := newPhoneRouter(t)
	_, alice := phoneDial(t, r, "alice@example.test/conversations", &PhoneOptions{WebRTC: true, JMI: true})
	_, bob := phoneDial(t, r, "bob@example.test/conversations", &PhoneOptions{WebRTC: true, JMI: true})
	want := []string{nsDiscoInfo, nsCaps, jingle.NS, jingle.NSRTP, jingle.NSRTPAudio, jingle.NSICEUDP, jingle.NSDTLS, jingle.NSJMI, jingle.NSDTMF, nsReceipts}
	if !slices.Equal(alice.Features(), want) {
		t.Fatalf("features %v, want %v", alice.Features(), want)
	}

	type result struct {
		call *PhoneCall
		err  error
	}
	placed := make(chan result, 1)
	go func() {
		call, err := alice.Call(withTimeout(t), "bob@example.test", noMedia)
		placed <- result{call, err}
	}()
	in := incoming(t, bob)
	must(t, "proceed", in.Proceed(withTimeout(t)))
	must(t, "session-initiate", in.WaitSessionInitiate(withTimeout(t)))
	res := <-placed
	must(t, "call", res.err)
	out := res.call
	checkConversationsContent(t, "session-initiate", in.Offer(), "actpass")
	if out.Media() == nil || in.Media() != nil {
		t.Fatal("media: the caller's must exist at session-initiate, the callee's only at accept")
	}

	must(t, "accept", in.Accept(withTimeout(t), noMedia))
	must(t, "accepted", out.WaitAccepted(withTimeout(t)))
	checkConversationsContent(t, "session-accept", out.Answer(), "active")
	if pt, ok := out.Codec(); !ok || pt.Name != "PCMU" {
		t.Fatalf("codec %+v %v", pt, ok)
	}
	webrtcTones(t, out, in, 1000, 600)

	must(t, "hangup", out.Hangup(withTimeout(t), jingle.Success, ""))
	if reason, err := in.WaitEnded(withTimeout(t)); err != nil || reason.Condition != jingle.Success {
		t.Fatalf("callee's end: %+v %v", reason, err)
	}
	for _, call := range []*PhoneCall{out, in} {
		select {
		case <-call.Media().Done():
		case <-withTimeout(t).Done():
			t.Fatal("media still up after the end")
		}
		if len(call.Media().Received()) == 0 {
			t.Fatal("what was received is gone with the media")
		}
	}
}

// TestPhoneWebRTCDirectCall: a session-initiate straight to a full JID;
// the callee takes the caller's candidates before it accepts, has PCMA
// only (so the answer picks it although the offer prefers PCMU), and
// hangs up.
func TestPhoneWebRTCDirectCall(t *testing.T) {
	r := newPhoneRouter(t)
	_, alice := phoneDial(t, r, "alice@example.test/conversations", &PhoneOptions{WebRTC: true})
	_, bob := phoneDial(t, r, "bob@example.test/desk", &PhoneOptions{WebRTC: true, JMI: true, Codecs: []jingle.PayloadType{
		{ID: 8, Name: "PCMA", Clockrate: 8000},
		{ID: 101, Name: "telephone-event", Clockrate: 8000, Params: []jingle.Parameter{{Value: "0-15"}}},
	}})

	out, err := alice.Call(withTimeout(t), "bob@example.test/desk", noMedia)
	must(t, "call", err)
	in := incoming(t, bob)
	if in.State() != PhonePending || in.Peer() != "alice@example.test/conversations" {
		t.Fatalf("incoming: %s %s", in.State(), in.Peer())
	}
	checkConversationsContent(t, "session-initiate", in.Offer(), "actpass")
	// Let the caller's candidates arrive first: the callee keeps them.
	deadline := time.Now().Add(3 * time.Second)
	for len(in.TrickledCandidates()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	must(t, "ringing", in.Ringing(withTimeout(t)))
	must(t, "accept", in.Accept(withTimeout(t), noMedia))
	must(t, "accepted", out.WaitAccepted(withTimeout(t)))
	checkConversationsContent(t, "session-accept", out.Answer(), "active")
	webrtcTones(t, out, in, 600, 1000)
	for _, call := range []*PhoneCall{in, out} {
		if name, pt, ok := call.Media().SendCodec(); !ok || name != "PCMA" || pt != 8 {
			t.Fatalf("sending %s %d %v, want PCMA, the callee's only codec", name, pt, ok)
		}
	}
	if pts := out.Answer().Contents[0].Description.PayloadTypes; len(pts) != 2 || pts[0].Name != "PCMA" || pts[1].Name != "telephone-event" {
		t.Fatalf("answered codecs %+v", pts)
	}

	must(t, "hangup", in.Hangup(withTimeout(t), jingle.Success, ""))
	if reason, err := out.WaitEnded(withTimeout(t)); err != nil || reason.Condition != jingle.Success {
		t.Fatalf("caller's end: %+v %v", reason, err)
	}
}

// TestPhoneWebRTCRefusals: what Conversations refuses, a WebRTC phone
// refuses the same way: iq result, then session-terminate with its reason.
func TestPhoneWebRTCRefusals(t *testing.T) {
	r := newPhoneRouter(t)
	_, raw := phoneDial(t, r, "dino@example.test/raw", &PhoneOptions{})
	gw, _ := phoneDial(t, r, "gw@example.test/sip", nil)
	bobc, bob := phoneDial(t, r, "bob@example.test/conversations", &PhoneOptions{WebRTC: true, JMI: true})

	// A raw-UDP phone calls: unsupported-transports.
	out, err := raw.Call(withTimeout(t), bobc.JID(), aliceMedia)
	must(t, "raw-UDP call", err)
	reason, err := out.WaitEnded(withTimeout(t))
	if err != nil || reason.Condition != jingle.UnsupportedTransports || reason.Text != "Content does not contain ICE-UDP transport" {
		t.Fatalf("raw-UDP offer ended with %+v %v", reason, err)
	}
	in := incoming(t, bob)
	var ended *PhoneEndedError
	if err := in.Accept(withTimeout(t), noMedia); !errors.As(err, &ended) || !ended.Local || ended.Reason.Condition != jingle.UnsupportedTransports {
		t.Fatalf("Accept of a refused offer: %v", err)
	}

	// Hand-written ICE offers, as a gateway might get them wrong.
	desc := `<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='0' name='PCMU' clockrate='8000'/>%s</description>`
	ice := `<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='abcd' pwd='abcdefghijklmnopqrstuvwx'>%s</transport>`
	fp := `<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256'%s>6B:8F:1A:3C:77:D2:90:4E:2A:B5:C1:0F:E8:33:9D:47:5A:62:0C:D9:14:AE:7B:F3:28:96:C4:01:5E:8D:B2:7F</fingerprint>`
	for _, c := range []struct {
		name, content string
		cond          jingle.Condition
		text          string // prefix
	}{
		{"no fingerprint", sprintf(desc, "<rtcp-mux/>") + sprintf(ice, ""), jingle.SecurityError, "Use of DTLS-SRTP (XEP-0320) is required for content a"},
		{"no setup", sprintf(desc, "<rtcp-mux/>") + sprintf(ice, sprintf(fp, "")), jingle.SecurityError, "Use of DTLS-SRTP (XEP-0320) is required for content a but missing setup"},
		{"setup active", sprintf(desc, "<rtcp-mux/>") + sprintf(ice, sprintf(fp, " setup='active'")), jingle.SecurityError, "Initiator needs to offer ACTPASS"},
		{"file transfer", `<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'/>` + sprintf(ice, sprintf(fp, " setup='actpass'")), jingle.UnsupportedApplications, "Content does not contain rtp description"},
		{"no rtcp-mux", sprintf(desc, "") + sprintf(ice, sprintf(fp, " setup='actpass'")), jingle.FailedApplication, "The m= section with mid='a' is invalid. RTCP-MUX"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sid := phoneUUID()
			_, err := gw.SendIQ(withTimeout(t), &stanza.Stanza{Type: "set", To: bobc.JID(), Payload: []byte(
				`<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='` + sid + `' initiator='` + gw.JID() + `'>` +
					`<content creator='initiator' name='a' senders='both'>` + c.content + `</content></jingle>`)})
			must(t, "session-initiate acknowledged", err)
			in := incoming(t, bob)
			accepted := make(chan error, 1)
			if c.cond == jingle.FailedApplication { // refused by the media stack, at Accept
				go func() { accepted <- in.Accept(withTimeout(t), noMedia) }()
			} else {
				accepted <- errors.New("refused on arrival")
			}
			iq, err := gw.Expect(withTimeout(t), func(s *stanza.Stanza) bool {
				return s.IsIQRequest() && strings.Contains(string(s.Payload), sid)
			})
			must(t, "session-terminate", err)
			var j jingle.Jingle
			if _, err := iq.Decode(jingle.NS, "jingle", &j); err != nil || j.Action != jingle.ActionSessionTerminate ||
				j.Reason == nil || j.Reason.Condition != c.cond || !strings.HasPrefix(j.Reason.Text, c.text) {
				t.Fatalf("got %s, want session-terminate %s %q", iq.Payload, c.cond, c.text)
			}
			ack, _ := stanza.Result(iq)
			must(t, "ack", gw.Send(ack))
			if err := <-accepted; err == nil {
				t.Fatal("accepted")
			}
			if reason, err := in.WaitEnded(withTimeout(t)); err != nil || reason.Condition != c.cond {
				t.Fatalf("callee's end %+v %v", reason, err)
			}
		})
	}
	// The gateway's ack of the last session-terminate may still be on its
	// way to bob's phone, which takes it off the queue when it arrives.
	deadline := time.Now().Add(5 * time.Second)
	for len(bobc.Pending()) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if left := bobc.Pending(); len(left) != 0 {
		t.Fatalf("stanzas left unconsumed, such as the results of the session-terminates: %v", left)
	}
}

// TestPhoneWebRTCRefusesRawAnswer: a session-accept with a raw-UDP
// transport ends an outgoing WebRTC call with unsupported-transports.
func TestPhoneWebRTCRefusesRawAnswer(t *testing.T) {
	r := newPhoneRouter(t)
	gw, _ := phoneDial(t, r, "gw@example.test/sip", nil)
	alicec, alice := phoneDial(t, r, "alice@example.test/conversations", &PhoneOptions{WebRTC: true})
	fromAlice := func(action jingle.Action) func(*stanza.Stanza) bool {
		return func(s *stanza.Stanza) bool {
			return s.IsIQRequest() && s.From == alicec.JID() && strings.Contains(string(s.Payload), `action="`+string(action)+`"`)
		}
	}
	placed := make(chan error, 1)
	var out *PhoneCall
	go func() {
		var err error
		out, err = alice.Call(withTimeout(t), gw.JID(), noMedia)
		placed <- err
	}()
	si, err := gw.Expect(withTimeout(t), fromAlice(jingle.ActionSessionInitiate))
	must(t, "session-initiate", err)
	var offer jingle.Jingle
	if _, err := si.Decode(jingle.NS, "jingle", &offer); err != nil {
		t.Fatal(err)
	}
	ack, _ := stanza.Result(si)
	must(t, "ack", gw.Send(ack))
	must(t, "call", <-placed)
	// Its candidates follow, one transport-info each.
	ti, err := gw.Expect(withTimeout(t), fromAlice(jingle.ActionTransportInfo))
	must(t, "transport-info", err)
	var info jingle.Jingle
	if _, err := ti.Decode(jingle.NS, "jingle", &info); err != nil || len(info.Contents) != 1 || info.Contents[0].Name != "0" ||
		len(info.Contents[0].Transport.Candidates) != 1 || info.Contents[0].Transport.Ufrag != offer.Contents[0].Transport.Ufrag {
		t.Fatalf("transport-info %s: %v", ti.Payload, err)
	}
	if c := info.Contents[0].Transport.Candidates[0]; c.IP != "127.0.0.1" || c.Type != "host" || c.Protocol != "udp" || c.Foundation == "" || c.ID == "" {
		t.Fatalf("candidate %+v", c)
	}
	ack, _ = stanza.Result(ti)
	must(t, "ack", gw.Send(ack))

	_, err = gw.SendIQ(withTimeout(t), &stanza.Stanza{Type: "set", To: alicec.JID(), Payload: []byte(
		`<jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='` + offer.SID + `' responder='` + gw.JID() + `'>` +
			`<content creator='initiator' name='0' senders='both'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>` +
			`<payload-type id='0' name='PCMU' clockrate='8000'/></description><transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'>` +
			`<candidate component='1' generation='0' id='r1' ip='127.0.0.1' port='40000'/></transport></content></jingle>`)})
	must(t, "session-accept acknowledged", err)
	st, err := gw.Expect(withTimeout(t), fromAlice(jingle.ActionSessionTerminate))
	must(t, "session-terminate", err)
	if !strings.Contains(string(st.Payload), "<unsupported-transports") {
		t.Fatalf("session-terminate %s", st.Payload)
	}
	ack, _ = stanza.Result(st)
	must(t, "ack", gw.Send(ack))
	var ended *PhoneEndedError
	if err := out.WaitAccepted(withTimeout(t)); !errors.As(err, &ended) || !ended.Local || ended.Reason.Condition != jingle.UnsupportedTransports {
		t.Fatalf("WaitAccepted after a raw-UDP answer: %v", err)
	}
}

// TestPhoneWebRTCNoGoroutineLeft: the media of a call ends with it.
func TestPhoneWebRTCNoGoroutineLeft(t *testing.T) {
	base := leakcheck.Count()
	t.Run("call", TestPhoneWebRTCDirectCall)
	t.Run("refusals", TestPhoneWebRTCRefusesRawAnswer)
	if err := leakcheck.Settle(base, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
