package e2e

import (
	"context"
	"encoding/xml"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/echobot"
	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/media"
	"fargo.dev/fargo/internal/mediapath"
	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/testkit"
	"fargo.dev/fargo/internal/testlog"
	"fargo.dev/fargo/internal/xmpp"
)

// Ports of the echo bot scenario (25800–25899 is this file's range; the
// bot's media uses 25850–25899).
const (
	echobotC2S, echobotComponent, echobotHTTP, echobotHTTPS = 25822, 25847, 25880, 25881
	echobotMediaMin, echobotMediaMax                        = 25850, 25879
)

// TestEchoBot runs the XMPP echo bot in-process as bob on a real Prosody
// over its c2s client link, and has alice use it as a user would: subscribe
// (approved and asked back), chat (echoed), call it like Conversations (JMI,
// ICE + DTLS-SRTP) and like a raw-UDP phone (direct session-initiate), and
// hear her own tone back each time.
func TestEchoBot(t *testing.T) {
	srv := testkit.StartProsody(t, testkit.ProsodyConfig{C2SPort: echobotC2S, ComponentPort: echobotComponent, HTTPPort: echobotHTTP, HTTPSPort: echobotHTTPS})
	bot, logs := startEchoBot(t, srv, "bob")
	botJID := srv.Users["bob"].Address
	alice := srv.Login(t, "alice")
	if err := alice.Presence(ctxT(t, 5*time.Second), "", "", "", ""); err != nil {
		t.Fatal(err)
	}

	mustRun(t, "subscription approved and asked back", func(t *testing.T) {
		if err := alice.Presence(ctxT(t, 5*time.Second), "subscribe", botJID, "", ""); err != nil {
			t.Fatal(err)
		}
		for _, typ := range []string{"subscribed", "subscribe"} {
			if _, err := alice.Expect(ctxT(t, 10*time.Second), func(s *stanza.Stanza) bool {
				return s.Kind() == stanza.KindPresence && s.Type == typ && strings.HasPrefix(s.From, botJID)
			}); err != nil {
				t.Fatalf("no %s from the bot: %v\n%s", typ, err, logs.String())
			}
		}
		// Approving the bot's request makes its presence, with caps, reach alice.
		if err := alice.Presence(ctxT(t, 5*time.Second), "subscribed", botJID, "", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := alice.Expect(ctxT(t, 10*time.Second), func(s *stanza.Stanza) bool {
			return s.Kind() == stanza.KindPresence && s.Type == "" && strings.HasPrefix(s.From, botJID+"/") &&
				strings.Contains(string(s.Payload), bot.CapsVer())
		}); err != nil {
			t.Fatalf("no presence with caps from the bot: %v", err)
		}
	})

	mustRun(t, "message echoed", func(t *testing.T) {
		msg, err := stanza.New(stanza.KindMessage, "chat", "", botJID, "m-echo", struct {
			XMLName xml.Name `xml:"body"`
			Text    string   `xml:",chardata"`
		}{Text: "is this thing on? <3"})
		if err != nil {
			t.Fatal(err)
		}
		if err := alice.Send(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := alice.Expect(ctxT(t, 10*time.Second), func(s *stanza.Stanza) bool {
			return s.Kind() == stanza.KindMessage && s.Type == "chat" && strings.HasPrefix(s.From, botJID) &&
				strings.Contains(string(s.Payload), "is this thing on? &lt;3")
		}); err != nil {
			t.Fatalf("the message did not come back: %v", err)
		}
	})

	mustRun(t, "Conversations-like call (JMI, ICE + DTLS-SRTP) hears itself", func(t *testing.T) {
		phone, err := testkit.NewPhone(alice, testkit.PhoneOptions{JMI: true, WebRTC: true})
		if err != nil {
			t.Fatal(err)
		}
		call, err := phone.Call(ctxT(t, 20*time.Second), botJID, netip.AddrPort{})
		if err != nil {
			t.Fatalf("call: %v\n%s", err, logs.String())
		}
		if err := call.WaitAccepted(ctxT(t, 10*time.Second)); err != nil {
			t.Fatalf("the bot did not answer: %v\n%s", err, logs.String())
		}
		rtc := call.Media()
		if err := rtc.Connected(ctxT(t, 15*time.Second)); err != nil {
			t.Fatalf("ICE/DTLS with the bot: %v\n%s", err, logs.String())
		}
		if err := rtc.SendTone(ctxT(t, 10*time.Second), 700, 3*time.Second); err != nil {
			t.Fatal(err)
		}
		assertTone(t, "the WebRTC client heard itself", rtc.Received(), 700)
		if err := call.Hangup(ctxT(t, 5*time.Second), jingle.Success, ""); err != nil {
			t.Fatal(err)
		}
	})

	mustRun(t, "Conversations-like video call sees its video back", func(t *testing.T) {
		cam := srv.Login(t, "alice", testkit.Resource("cam"))
		if err := cam.Presence(ctxT(t, 5*time.Second), "", "", "", ""); err != nil {
			t.Fatal(err)
		}
		phone, err := testkit.NewPhone(cam, testkit.PhoneOptions{JMI: true, WebRTC: true, Video: true})
		if err != nil {
			t.Fatal(err)
		}
		call, err := phone.Call(ctxT(t, 20*time.Second), botJID, netip.AddrPort{})
		if err != nil {
			t.Fatalf("call: %v\n%s", err, logs.String())
		}
		checkVideoEcho(t, call, logs.String)
	})

	mustRun(t, "raw-UDP phone (direct session-initiate) hears itself", func(t *testing.T) {
		desk := srv.Login(t, "alice", testkit.Resource("desk"))
		if err := desk.Presence(ctxT(t, 5*time.Second), "", "", "", ""); err != nil {
			t.Fatal(err)
		}
		phone, err := testkit.NewPhone(desk, testkit.PhoneOptions{})
		if err != nil {
			t.Fatal(err)
		}
		full := waitBotResource(t, bot, logs)
		rtp := rtpPeer(t)
		call, err := phone.Call(ctxT(t, 20*time.Second), full, rtp.Addr())
		if err != nil {
			t.Fatalf("call: %v\n%s", err, logs.String())
		}
		if err := call.WaitAccepted(ctxT(t, 10*time.Second)); err != nil {
			t.Fatalf("the bot did not answer: %v\n%s", err, logs.String())
		}
		remote, ok := call.Remote()
		if !ok {
			t.Fatal("the bot's session-accept has no raw-UDP candidate")
		}
		if err := rtp.SendTone(ctxT(t, 10*time.Second), remote, payloadType(t, call), 900, 3*time.Second); err != nil {
			t.Fatal(err)
		}
		assertTone(t, "the raw-UDP phone heard itself", rtp.Received(), 900)
		if err := call.Hangup(ctxT(t, 5*time.Second), jingle.Success, ""); err != nil {
			t.Fatal(err)
		}
	})

	deadline := time.Now().Add(5 * time.Second)
	for bot.Stats().CallsActive != 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if st := bot.Stats(); st.CallsActive != 0 || st.CallsAnswered != 3 || st.Messages != 1 {
		t.Errorf("bot stats %+v: want 3 answered calls, none left, 1 message", st)
	}
	if n := logs.Count("level=ERROR") + logs.Count("level=WARN"); n > 0 {
		t.Errorf("the bot logged %d warnings or errors:\n%s", n, logs.String())
	}
}

// checkVideoEcho checks a WebRTC call with video to an echo, once it was
// placed: the answer has the video bundled with the audio under an SSRC
// of the echo's own; the caller hears its tone and gets its video frames
// back under that SSRC; a PLI about the echo's video reaches the caller's
// encoder as a keyframe request about its own; then it hangs up.
func checkVideoEcho(t *testing.T, call *testkit.PhoneCall, logs func() string) {
	t.Helper()
	if err := call.WaitAccepted(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("the echo did not answer: %v\n%s", err, logs())
	}
	var video *jingle.Content
	for i, ct := range call.Answer().Contents {
		if ct.Description != nil && ct.Description.Media == "video" {
			video = &call.Answer().Contents[i]
		}
	}
	if video == nil || video.Senders == jingle.SendersNone || len(video.Description.Sources) != 1 {
		t.Fatalf("video answered %+v: want it echoed under one declared SSRC", video)
	}
	if pts := video.Description.PayloadTypes; len(pts) != 1 || !strings.EqualFold(pts[0].Name, "VP8") {
		t.Fatalf("video codecs %+v: want VP8", pts)
	}
	ssrc := video.Description.Sources[0].SSRC
	rtc := call.Media()
	if err := rtc.Connected(ctxT(t, 15*time.Second)); err != nil {
		t.Fatalf("ICE/DTLS with the echo: %v\n%s", err, logs())
	}
	sent := make(chan error, 1)
	go func() { sent <- rtc.SendVideo(ctxT(t, 10*time.Second), 3*time.Second) }()
	if err := rtc.SendTone(ctxT(t, 10*time.Second), 800, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	assertTone(t, "the video caller heard itself", rtc.Received(), 800)
	// 3 s at 25 frames/s is 75 frames: most must come back.
	if err := rtc.WaitVideo(ctxT(t, 5*time.Second), ssrc, 60); err != nil {
		t.Fatalf("%v: %d video packets back under the echo's SSRC %d\n%s", err, rtc.VideoPackets(ssrc), ssrc, logs())
	}
	if err := rtc.RequestKeyframe(ssrc); err != nil {
		t.Fatal(err)
	}
	if err := rtc.WaitKeyframeRequest(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("the PLI about the echo's video did not come back to the caller's encoder: %v", err)
	}
	if err := call.Hangup(ctxT(t, 5*time.Second), jingle.Success, ""); err != nil {
		t.Fatal(err)
	}
}

// mustRun runs a step and stops the scenario at the first that fails.
func mustRun(t *testing.T, name string, f func(*testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.FailNow()
	}
}

// echoBot is the bot with the link it speaks over.
type echoBot struct {
	*echobot.Bot
	link *xmpp.Link
}

// waitBotResource is the bot's full JID once its link is up.
func waitBotResource(t *testing.T, bot echoBot, logs *testlog.Buffer) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for bot.link.JID() == "" {
		if time.Now().After(deadline) {
			t.Fatalf("the bot is not connected\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return bot.link.JID()
}

// startEchoBot runs the bot as user over c2s, as `fargo echo` does, until
// the test ends.
func startEchoBot(t *testing.T, srv *testkit.XMPPServer, user string) (echoBot, *testlog.Buffer) {
	t.Helper()
	logs := &testlog.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	lo := netip.MustParseAddr("127.0.0.1")
	relay, err := media.NewRelay(media.Config{BindAddr: lo, SIPAddr: lo, XMPPAddr: lo,
		PortMin: echobotMediaMin, PortMax: echobotMediaMax, MaxSessions: 5, IdleTimeout: 20 * time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	var bot *echobot.Bot
	u := srv.Users[user]
	link, err := xmpp.NewLink(xmpp.Config{
		Client:    &xmpp.ClientLogin{JID: u.Address + "/echo", Password: u.Password, TLS: xmpp.TLSDisabled},
		Addr:      srv.C2SAddr,
		OnConnect: func(ctx context.Context) { bot.OnConnect(ctx) },
	}, xmpp.HandlerFunc(func(ctx context.Context, s *stanza.Stanza) { bot.HandleStanza(ctx, s) }), log)
	if err != nil {
		t.Fatal(err)
	}
	bot, err = echobot.New(echobot.Config{Relay: mediapath.New(relay, log), Log: log}, link)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- link.Run(ctx) }()
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		bot.Close(cctx)
		cancel()
		<-done
		relay.Close()
	})
	return echoBot{Bot: bot, link: link}, logs
}
