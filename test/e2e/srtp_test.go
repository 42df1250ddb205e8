package e2e

import (
	"encoding/xml"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/testkit"
)

// Steps of TestRelayedCalls with a phone that speaks SDES-SRTP (RFC 4568):
// baresip with its srtp module, on SIP ports 23820 and 23830.
const relayBaresipSDESIn, relayBaresipSDESOut = 23820, 23830

// srtpEnabled is baresip's line once SRTP is keyed for the call's audio.
var srtpEnabled = regexp.MustCompile(`srtp: audio: SRTP is Enabled \(cryptosuite=([A-Z0-9_]+)\)`)

// sdesLines are the SDP lines that tell how SDES was negotiated.
var sdesLines = regexp.MustCompile(`(?m)^(m=audio|a=crypto).*$`)

// stepSDESCallIn: baresip calls the client offering RTP/SAVP with its
// crypto lines (SRTP required). The relay answers one of them with its own
// key, decrypts toward the client, encrypts toward baresip; the client's
// Jingle never carries baresip's keys.
func stepSDESCallIn(t *testing.T, e *callEnv) {
	bob := testkit.StartBaresip(t, testkit.BaresipConfig{Name: "bob-sdes", User: "bob", Password: "bobpw", Mode: testkit.BaresipRecord,
		SIPPort: relayBaresipSDESIn, Proxy: e.kam.Addr, Domain: e.kam.Domain, MediaEnc: testkit.BaresipSDESMandatory})
	if err := bob.Dial("sip:alice@" + e.kam.Domain); err != nil {
		t.Fatal(err)
	}
	in, err := e.phone.WaitIncoming(ctxT(t, 20*time.Second))
	if err != nil {
		t.Fatalf("no incoming call: %v\n%s\n%s", err, tailLines(e.gw.logs.String(), 40), tailLines(bob.Log(), 60))
	}
	if err := in.Proceed(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := in.WaitSessionInitiate(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("no session-initiate: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	if offer, err := xml.Marshal(in.Offer()); err != nil || strings.Contains(string(offer), "crypto") {
		t.Fatalf("the client was given SDES keys (%v): %s", err, offer)
	}
	if err := in.Accept(ctxT(t, 5*time.Second), netip.AddrPort{}); err != nil {
		t.Fatalf("accept: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	rtc := in.Media()
	if err := rtc.Connected(ctxT(t, 15*time.Second)); err != nil {
		t.Fatalf("ICE/DTLS with the relay: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	if err := rtc.SendTone(ctxT(t, 10*time.Second), 1000, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	assertTone(t, "the client heard the SRTP phone through the relay", rtc.Received(), 440)
	if err := in.Hangup(ctxT(t, 5*time.Second), jingle.Success, ""); err != nil {
		t.Fatal(err)
	}
	assertRecorded(t, bob, 1000)
	log := bob.Log()
	m := srtpEnabled.FindStringSubmatch(log)
	if m == nil || !strings.Contains(log, "RTP/SAVP") {
		t.Fatalf("baresip did not key SRTP on RTP/SAVP:\n%s", tailLines(log, 80))
	}
	t.Logf("baresip and the relay agreed on %s; SDP lines seen by baresip:\n%s", m[1], strings.Join(sdesLines.FindAllString(log, -1), "\n"))
	if strings.Contains(log, "failed to decrypt") {
		t.Errorf("baresip could not decrypt some of the relay's packets:\n%s", tailLines(log, 80))
	}
}

// stepSDESCallOut: the client calls a phone that would take SDES (best
// effort). Our offer toward SIP stays plain RTP/AVP, baresip answers
// plain, and the tones cross as on any relayed call.
func stepSDESCallOut(t *testing.T, e *callEnv) {
	bob := testkit.StartBaresip(t, testkit.BaresipConfig{Name: "bob-sdes-opt", User: "bob", Password: "bobpw", Mode: testkit.BaresipRecord,
		SIPPort: relayBaresipSDESOut, Proxy: e.kam.Addr, Domain: e.kam.Domain, MediaEnc: testkit.BaresipSDES})
	call, err := e.phone.Call(ctxT(t, 20*time.Second), e.contactFor("bob"), netip.AddrPort{})
	if err != nil {
		t.Fatalf("call: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	if err := call.WaitAccepted(ctxT(t, 20*time.Second)); err != nil {
		t.Fatalf("not answered: %v\n%s\n%s", err, tailLines(e.gw.logs.String(), 40), tailLines(bob.Log(), 60))
	}
	rtc := call.Media()
	if err := rtc.Connected(ctxT(t, 15*time.Second)); err != nil {
		t.Fatalf("ICE/DTLS with the relay: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	if err := rtc.SendTone(ctxT(t, 10*time.Second), 1000, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	assertTone(t, "the client heard the SDES-capable phone through the relay", rtc.Received(), 440)
	if err := call.Hangup(ctxT(t, 5*time.Second), jingle.Success, ""); err != nil {
		t.Fatal(err)
	}
	assertRecorded(t, bob, 1000)
	if log := bob.Log(); strings.Contains(log, "RTP/SAVP") || srtpEnabled.MatchString(log) {
		t.Errorf("the call toward SIP used SDES although outgoing calls stay plain:\n%s", tailLines(log, 80))
	}
}
