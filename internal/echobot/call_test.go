package echobot

import (
	"bytes"
	"context"
	"net/netip"
	"testing"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/stanza"
)

func propose(sid string, media ...string) string {
	s := `<message type="chat" id="jm-propose-` + sid + `" from="alice@example.org/phone" to="echo@example.net"><propose xmlns="urn:xmpp:jingle-message:0" id="` + sid + `">`
	for _, m := range media {
		s += `<description xmlns="urn:xmpp:jingle:apps:rtp:1" media="` + m + `"/>`
	}
	return s + `</propose><store xmlns="urn:xmpp:hints"/></message>`
}

func jmiTo(kind string) func(*stanza.Stanza) bool {
	return func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindMessage && s.To == alice && has(s, "<"+kind+" xmlns=\"urn:xmpp:jingle-message:0\"")
	}
}

// TestJMIRawUDPCallIsEchoed: propose → ringing, proceed → session-initiate
// → ack and session-accept; RTP sent to the answered address comes back.
func TestJMIRawUDPCallIsEchoed(t *testing.T) {
	h := newBot(t, Config{})
	h.in(propose("s1", "audio"))
	h.expect("ringing", jmiTo("ringing"))
	h.expect("proceed", jmiTo("proceed"))
	phone := udp(t)
	local := phone.LocalAddr().(interface{ String() string })
	ap := netip.MustParseAddrPort(local.String())
	h.in(jingleIQ(t, "si1", initiate("s1", content("audio", "audio", rawTransport(ap), pcmu, dtmf101))))
	h.expect("session-initiate ack", iqTo("result", "si1"))
	acc := decodeJingle(t, h.expect("session-accept", jingleSet(jingle.ActionSessionAccept)))
	if acc.SID != "s1" || acc.Responder != botJID || acc.Initiator != alice {
		t.Fatalf("accept %+v", acc)
	}
	tr := acc.Contents[0].Transport
	if !tr.IsRawUDP() || len(tr.Candidates) == 0 {
		t.Fatalf("answer transport %+v: want raw UDP", tr)
	}
	leg := netip.AddrPortFrom(netip.MustParseAddr(tr.Candidates[0].IP), tr.Candidates[0].Port)
	pkt := []byte{0x80, 0, 0, 1, 0, 0, 0, 160, 0xca, 0xfe, 0xba, 0xbe, 1, 2, 3, 4}
	if _, err := phone.WriteToUDPAddrPort(pkt, leg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	_ = phone.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, _, err := phone.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("nothing echoed: %v", err)
	}
	if !bytes.Equal(buf[12:n], pkt[12:]) {
		t.Fatalf("echo % x, sent % x", buf[:n], pkt)
	}
	if st := h.bot.Stats(); st.CallsAnswered != 1 || st.CallsActive != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The caller hangs up: acked, released, no terminate of ours.
	h.in(jingleIQ(t, "st1", &jingle.Jingle{Action: jingle.ActionSessionTerminate, SID: "s1", Reason: jingle.NewReason(jingle.Success, "")}))
	h.expect("terminate ack", iqTo("result", "st1"))
	h.waitActive(0)
	h.quiet(100 * time.Millisecond)
	// Now the sid is unknown.
	h.in(jingleIQ(t, "ti1", &jingle.Jingle{Action: jingle.ActionTransportInfo, SID: "s1"}))
	if res := h.expect("unknown-session", iqTo("error", "ti1")); !has(res, "unknown-session") {
		t.Fatalf("transport-info after the end: %s", res.Payload)
	}
}

// TestDirectICECallIsAnswered: a Conversations-like offer (ICE + DTLS,
// no candidates) sent directly gets an ICE answer with candidates and a
// fingerprint; trickled candidates are acked; the bundled video is
// answered on the same transport.
func TestDirectICECallIsAnswered(t *testing.T) {
	h := newBot(t, Config{})
	si := initiate("s2", content("0", "audio", iceTransport(), opus, dtmf101), content("1", "video", iceTransport(), jingle.PayloadType{ID: 96, Name: "VP8", Clockrate: 90000}))
	si.Group = &jingle.Group{Semantics: "BUNDLE", Contents: []jingle.GroupContent{{Name: "0"}, {Name: "1"}}}
	h.in(jingleIQ(t, "si2", si))
	h.expect("ack", iqTo("result", "si2"))
	acc := decodeJingle(t, h.expect("session-accept", jingleSet(jingle.ActionSessionAccept)))
	a := acc.Content("0")
	if a == nil || !a.Transport.IsICE() || a.Transport.Ufrag == "" || len(a.Transport.Candidates) == 0 {
		t.Fatalf("audio answer %+v: want ICE with credentials and candidates", a)
	}
	if fp := a.Transport.Fingerprints; len(fp) != 1 || fp[0].Setup != "active" || fp[0].Value == "" {
		t.Fatalf("fingerprint %+v: want ours, setup active", fp)
	}
	if pts := a.Description.PayloadTypes; len(pts) == 0 || pts[0].Name != "opus" || a.Description.RTCPMux == nil {
		t.Fatalf("audio description %+v", a.Description)
	}
	v := acc.Content("1")
	if v == nil || v.Senders == jingle.SendersNone || !v.Transport.IsICE() || v.Transport.Ufrag != a.Transport.Ufrag {
		t.Fatalf("video answer %+v: want it echoed on the audio's transport", v)
	}
	if pts := v.Description.PayloadTypes; len(pts) != 1 || pts[0].Name != "VP8" || len(v.Description.Sources) != 1 {
		t.Fatalf("video description %+v: want VP8 and the echo's SSRC", v.Description)
	}
	if acc.Group == nil || len(acc.Group.Contents) != 2 {
		t.Fatalf("group %+v: want the offer's BUNDLE", acc.Group)
	}
	tr := jingle.NewTransport(jingle.NSICEUDP)
	tr.Ufrag, tr.Pwd = "Abcd", "0123456789abcdefghijkl"
	tr.Candidates = []jingle.Candidate{{Component: 1, Foundation: "1", ID: "c1", IP: "127.0.0.1", Port: 25999, Priority: 2113937151, Protocol: "udp", Type: "host"}}
	h.in(jingleIQ(t, "ti2", &jingle.Jingle{Action: jingle.ActionTransportInfo, SID: "s2", Contents: []jingle.Content{{Creator: jingle.RoleInitiator, Name: "0", Transport: tr}}}))
	h.expect("transport-info ack", iqTo("result", "ti2"))
	h.in(jingleIQ(t, "inf", &jingle.Jingle{Action: jingle.ActionSessionInfo, SID: "s2", Info: []jingle.Element{jingle.RTPInfo(jingle.InfoMute)}}))
	h.expect("session-info ack", iqTo("result", "inf"))
	h.in(jingleIQ(t, "ping", &jingle.Jingle{Action: jingle.ActionSessionInfo, SID: "s2"}))
	h.expect("session ping ack", iqTo("result", "ping"))
	// A duplicate session-initiate loses the tie.
	h.in(jingleIQ(t, "si2b", si))
	if res := h.expect("tie-break", iqTo("error", "si2b")); !has(res, "conflict") || !has(res, "tie-break") {
		t.Fatalf("duplicate session-initiate: %s", res.Payload)
	}
	// Shutdown ends the call with a session-terminate.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.bot.Close(ctx)
	term := decodeJingle(t, h.expect("terminate", jingleSet(jingle.ActionSessionTerminate)))
	if term.SID != "s2" || term.Reason == nil || term.Reason.Condition != jingle.Success {
		t.Fatalf("shutdown terminate %+v", term)
	}
}

func TestUnknownSessionAndOffers(t *testing.T) {
	h := newBot(t, Config{})
	for _, a := range []jingle.Action{jingle.ActionTransportInfo, jingle.ActionSessionInfo, jingle.ActionSessionTerminate} {
		h.in(jingleIQ(t, "u", &jingle.Jingle{Action: a, SID: "nope"}))
		if res := h.expect("unknown-session", iqTo("error", "u")); !has(res, "unknown-session") || !has(res, "item-not-found") {
			t.Fatalf("%s for an unknown sid: %s", a, res.Payload)
		}
	}
	// ICE without DTLS, and no audio at all: answered, then terminated
	// with the reason.
	plain := iceTransport()
	plain.Fingerprints = nil
	for _, tc := range []struct {
		sid  string
		ct   jingle.Content
		want jingle.Condition
	}{
		{"nodtls", content("a", "audio", plain, pcmu), jingle.IncompatibleParameters},
		{"video", content("v", "video", rawTransport(netip.MustParseAddrPort("127.0.0.1:25998")), jingle.PayloadType{ID: 96, Name: "VP8", Clockrate: 90000}), jingle.UnsupportedApplications},
	} {
		h.in(jingleIQ(t, tc.sid, initiate(tc.sid, tc.ct)))
		h.expect("ack", iqTo("result", tc.sid))
		term := decodeJingle(t, h.expect("terminate", jingleSet(jingle.ActionSessionTerminate)))
		if term.SID != tc.sid || term.Reason == nil || term.Reason.Condition != tc.want {
			t.Fatalf("%s: terminate %+v, want %s", tc.sid, term.Reason, tc.want)
		}
	}
	h.waitActive(0)
	// A video-only proposal is rejected.
	h.in(propose("pv", "video"))
	if rej := h.expect("reject", jmiTo("reject")); !has(rej, "unsupported-applications") {
		t.Fatalf("video proposal: %s", rej.Payload)
	}
}

func TestLimits(t *testing.T) {
	h := newBot(t, Config{MaxCalls: 1, MaxCallDuration: 300 * time.Millisecond})
	raw := rawTransport(netip.MustParseAddrPort("127.0.0.1:25997"))
	h.in(jingleIQ(t, "a", initiate("a", content("audio", "audio", raw, pcmu))))
	h.expect("ack", iqTo("result", "a"))
	h.expect("accept", jingleSet(jingle.ActionSessionAccept))
	// A second call while the first runs: busy.
	h.in(jingleIQ(t, "b", initiate("b", content("audio", "audio", raw, pcmu))))
	h.expect("ack", iqTo("result", "b"))
	busy := decodeJingle(t, h.expect("busy terminate", jingleSet(jingle.ActionSessionTerminate)))
	if busy.SID != "b" || busy.Reason.Condition != jingle.Busy || busy.Reason.Text == "" {
		t.Fatalf("second call: %+v", busy.Reason)
	}
	h.in(propose("c", "audio"))
	if rej := h.expect("busy reject", jmiTo("reject")); !has(rej, "<busy") {
		t.Fatalf("proposal over the limit: %s", rej.Payload)
	}
	// The first call reaches its time limit.
	end := decodeJingle(t, h.expect("time limit", jingleSet(jingle.ActionSessionTerminate)))
	if end.SID != "a" || end.Reason.Condition != jingle.Success || end.Reason.Text != "echo time limit" {
		t.Fatalf("time limit: %+v", end.Reason)
	}
	h.waitActive(0)
	if st := h.bot.Stats(); st.CallsRefused != 2 || st.CallsAnswered != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestJMIRetractAndTimeout(t *testing.T) {
	h := newBot(t, Config{ProposeTimeout: 200 * time.Millisecond})
	h.in(propose("r1", "audio"))
	h.expect("proceed", jmiTo("proceed"))
	h.in(`<message type="chat" from="alice@example.org/phone"><retract xmlns="urn:xmpp:jingle-message:0" id="r1"><reason xmlns="urn:xmpp:jingle:1"><cancel/></reason></retract></message>`)
	h.waitActive(0)
	h.in(propose("r2", "audio"))
	h.expect("proceed", jmiTo("proceed"))
	fin := h.expect("finish after the timeout", jmiTo("finish"))
	if !has(fin, "timeout") {
		t.Fatalf("finish %s", fin.Payload)
	}
	h.waitActive(0)
	// A proposal resent while it runs is ignored.
	h.in(propose("r3", "audio"))
	h.expect("proceed", jmiTo("proceed"))
	h.in(propose("r3", "audio"))
	h.quiet(100 * time.Millisecond)
}

// TestSessionAcceptRefused: a caller that errors our session-accept has
// its call ended.
func TestSessionAcceptRefused(t *testing.T) {
	h := newBot(t, Config{})
	h.out.mu.Lock()
	h.out.answer = func(iq *stanza.Stanza) *stanza.Stanza {
		return stanza.ErrorReply(&stanza.Stanza{XMLName: iq.XMLName, ID: iq.ID, From: iq.To}, stanza.NewError(stanza.TypeCancel, stanza.BadRequest, "no"))
	}
	h.out.mu.Unlock()
	raw := rawTransport(netip.MustParseAddrPort("127.0.0.1:25996"))
	h.in(jingleIQ(t, "x", initiate("x", content("audio", "audio", raw, pcmu))))
	h.expect("accept", jingleSet(jingle.ActionSessionAccept))
	term := decodeJingle(t, h.expect("terminate", jingleSet(jingle.ActionSessionTerminate)))
	if term.Reason.Condition != jingle.GeneralError {
		t.Fatalf("terminate %+v", term.Reason)
	}
	h.waitActive(0)
}
