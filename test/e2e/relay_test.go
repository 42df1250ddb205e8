package e2e

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/testkit"
)

// Ports of the relay scenario (23700–23999 is this file's range; the
// relay's own UDP range is 23900–23999).
const (
	relayC2S, relayComponent, relayHTTP, relayHTTPS = 23722, 23747, 23780, 23781
	relayKamailio, relaySIP, relayMetrics           = 23760, 23770, 23790
	relayBaresip, relayBaresipCaller                = 23800, 23810
)

// TestRelayedCalls joins a client that behaves like Conversations (ICE +
// DTLS-SRTP only, no candidates in session-initiate or session-accept,
// every candidate trickled, actpass) to baresip, a plain RTP phone, through
// the gateway's media relay, both ways, with tones checked on both sides;
// then to baresip with SDES-SRTP (srtp_test.go).
func TestRelayedCalls(t *testing.T) {
	ce := startCallEnv(t, callSetup{
		prosody:      testkit.ProsodyConfig{C2SPort: relayC2S, ComponentPort: relayComponent, HTTPPort: relayHTTP, HTTPSPort: relayHTTPS},
		kamailioPort: relayKamailio, sipPort: relaySIP, metricsPort: relayMetrics,
		extraTOML:     "\n[media]\nmode = \"auto\"\nbind = \"127.0.0.1\"\nport_min = 23900\nport_max = 23999\nidle_timeout = \"20s\"\n",
		phone:         testkit.PhoneOptions{JMI: true, WebRTC: true},
		baresipCallee: relayBaresip, baresipCaller: relayBaresipCaller,
	})

	for _, s := range []struct {
		name string
		fn   func(*testing.T, *callEnv)
	}{
		{"Conversations-like client calls a plain RTP phone through the relay", stepRelayedCallOut},
		{"a plain RTP phone calls the Conversations-like client through the relay", stepRelayedCallIn},
		{"an SDES-SRTP phone calls the Conversations-like client through the relay", stepSDESCallIn},
		{"the client calls an SDES-capable phone: plain RTP toward SIP", stepSDESCallOut},
		{"the gateway's echo contact plays the client's own tone back", stepEchoContact},
		{"the echo contact sends a video caller's video back", stepEchoContactVideo},
		{"the echo contact answers a raw-UDP device too", stepEchoContactRawUDP},
		{"the echo contact approves, subscribes back and echoes messages", stepEchoContactChat},
		{"the relay released every call", stepRelayReleased},
	} {
		if !t.Run(s.name, func(t *testing.T) { s.fn(t, ce) }) {
			return
		}
	}
}

func stepRelayedCallOut(t *testing.T, e *callEnv) {
	bob := testkit.StartBaresip(t, testkit.BaresipConfig{Name: "bob", User: "bob", Password: "bobpw", Mode: "record", SIPPort: e.baresipCallee, Proxy: e.kam.Addr, Domain: e.kam.Domain})
	call, err := e.phone.Call(ctxT(t, 20*time.Second), e.contactFor("bob"), netip.AddrPort{})
	if err != nil {
		t.Fatalf("call: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	if err := call.WaitAccepted(ctxT(t, 20*time.Second)); err != nil {
		t.Fatalf("not answered: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	rtc := call.Media()
	if err := rtc.Connected(ctxT(t, 15*time.Second)); err != nil {
		t.Fatalf("ICE/DTLS with the relay: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	if err := rtc.SendTone(ctxT(t, 10*time.Second), 1000, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	assertTone(t, "the client heard baresip through the relay", rtc.Received(), 440)
	if err := call.Hangup(ctxT(t, 5*time.Second), jingle.Success, ""); err != nil {
		t.Fatal(err)
	}
	assertRecorded(t, bob, 1000)
	// baresip was offered the relay's plain RTP leg, not the client's ICE.
	if log := bob.Log(); !strings.Contains(log, "RTP/AVP") || strings.Contains(log, "a=fingerprint") {
		t.Errorf("baresip did not get a plain RTP offer:\n%s", tailLines(log, 60))
	}
}

func stepRelayedCallIn(t *testing.T, e *callEnv) {
	done := callFromBaresip(t, e, e.baresipCaller, 1000, 5*time.Second, 10)
	in, err := e.phone.WaitIncoming(ctxT(t, 20*time.Second))
	if err != nil {
		t.Fatalf("no incoming call: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	if err := in.Proceed(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := in.WaitSessionInitiate(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("no session-initiate: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	if err := in.Accept(ctxT(t, 5*time.Second), netip.AddrPort{}); err != nil {
		t.Fatalf("accept: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	rtc := in.Media()
	if err := rtc.Connected(ctxT(t, 15*time.Second)); err != nil {
		t.Fatalf("ICE/DTLS with the relay: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	if err := rtc.SendTone(ctxT(t, 10*time.Second), 600, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	assertTone(t, "the client heard baresip's caller through the relay", rtc.Received(), 1000)
	if err := in.Hangup(ctxT(t, 5*time.Second), jingle.Success, ""); err != nil {
		t.Fatal(err)
	}
	assertCallerHeard(t, <-done, 600)
}

func stepEchoContact(t *testing.T, e *callEnv) {
	call, err := e.phone.Call(ctxT(t, 20*time.Second), "echo@"+e.domain, netip.AddrPort{})
	if err != nil {
		t.Fatalf("call: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	if err := call.WaitAccepted(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("the echo did not answer: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	rtc := call.Media()
	if err := rtc.Connected(ctxT(t, 15*time.Second)); err != nil {
		t.Fatalf("ICE/DTLS with the echo: %v", err)
	}
	if err := rtc.SendTone(ctxT(t, 10*time.Second), 700, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	assertTone(t, "the client heard itself", rtc.Received(), 700)
	if err := call.Hangup(ctxT(t, 5*time.Second), jingle.Success, ""); err != nil {
		t.Fatal(err)
	}
}

func stepEchoContactVideo(t *testing.T, e *callEnv) {
	cam := e.srv.Login(t, "alice", testkit.Resource("cam"))
	if err := cam.Presence(ctxT(t, 5*time.Second), "", "", "", ""); err != nil {
		t.Fatal(err)
	}
	phone, err := testkit.NewPhone(cam, testkit.PhoneOptions{JMI: true, WebRTC: true, Video: true})
	if err != nil {
		t.Fatal(err)
	}
	call, err := phone.Call(ctxT(t, 20*time.Second), "echo@"+e.domain, netip.AddrPort{})
	if err != nil {
		t.Fatalf("call: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	checkVideoEcho(t, call, func() string { return tailLines(e.gw.logs.String(), 40) })
}

func stepRelayReleased(t *testing.T, e *callEnv) {
	deadline := time.Now().Add(10 * time.Second)
	for e.gw.metric(t, "fargo_media_relayed_calls") != "0" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	for name, want := range map[string]string{
		"fargo_media_relayed_calls":       "0",
		"fargo_media_relayed_calls_total": "7",
		"fargo_media_dtls_failures_total": "0",
	} {
		if got := e.gw.metric(t, name); got != want {
			t.Errorf("%s = %q, want %s", name, got, want)
		}
	}
	if v := e.gw.metric(t, "fargo_media_packets_total"); v == "" || v == "0" {
		t.Errorf("fargo_media_packets_total = %q", v)
	}
}
