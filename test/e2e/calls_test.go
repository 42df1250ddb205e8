package e2e

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/jingle"
	"fargo.dev/fargo/internal/rtpprobe"
	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/testkit"
)

// Ports of the calls scenario (23xxx is this file's range).
const (
	callC2S, callComponent, callHTTP, callHTTPS = 23522, 23547, 23580, 23581
	callKamailio, callSIP, callMetrics          = 23560, 23570, 23590
	callBaresip, callBaresipCaller              = 23600, 23602
	callSIPpBase                                = 23620
)

// callEnv is what the call steps share: alice is registered with the
// gateway (SIP alice@sip.example.org) and online with a JMI phone.
type callEnv struct {
	*env
	alice      *testkit.Client
	phone      *testkit.Phone
	sippPort   int
	domain     string
	contactFor func(user string) string
	// SIP ports of the baresip callee (bob) and caller (carol).
	baresipCallee, baresipCaller int
}

// callSetup is a call scenario's servers: Prosody, Kamailio (with users
// besides alice and bob), the gateway (with extraTOML) and alice's phone.
type callSetup struct {
	prosody                            testkit.ProsodyConfig
	kamailioPort, sipPort, metricsPort int
	users                              []string
	extraTOML                          string
	phone                              testkit.PhoneOptions
	baresipCallee, baresipCaller       int
}

// startCallEnv starts a scenario's servers and has alice registered and
// online with her phone.
func startCallEnv(t *testing.T, cs callSetup) *callEnv {
	t.Helper()
	srv := testkit.StartProsody(t, cs.prosody)
	kam := testkit.StartKamailio(t, testkit.KamailioConfig{Port: cs.kamailioPort})
	for _, u := range cs.users {
		kam.AddUser(t, u, u+"pw")
	}
	e := &env{parent: t, srv: srv, kam: kam}
	e.gwc = gatewayConfig{server: srv, sipPort: cs.sipPort, httpPort: cs.metricsPort, dataDir: t.TempDir(), grace: 20 * time.Second,
		extraTOML: cs.extraTOML}
	e.gw = startGateway(t, e.gwc)

	ce := &callEnv{env: e, domain: srv.ComponentDomain, baresipCallee: cs.baresipCallee, baresipCaller: cs.baresipCaller}
	ce.contactFor = func(user string) string { return user + `\40` + kam.Domain + "@" + srv.ComponentDomain }
	ce.alice = e.login(t, "alice")
	e.register(t, ce.alice, "alice", "alicepw")
	e.waitContacts(t, "alice", "alice REGISTERed", func(cs []testkit.Contact) bool { n, _ := countOurs(e, cs); return n == 1 })
	phone, err := testkit.NewPhone(ce.alice, cs.phone)
	if err != nil {
		t.Fatal(err)
	}
	ce.phone = phone
	return ce
}

func TestCalls(t *testing.T) {
	ce := startCallEnv(t, callSetup{
		prosody:      testkit.ProsodyConfig{C2SPort: callC2S, ComponentPort: callComponent, HTTPPort: callHTTP, HTTPSPort: callHTTPS},
		kamailioPort: callKamailio, sipPort: callSIP, metricsPort: callMetrics,
		users:         []string{"busy", "decline", "noanswer", "nocodec", "holder", "caller"},
		extraTOML:     "\n[calls]\nring_timeout = \"6s\"\n",
		phone:         testkit.PhoneOptions{JMI: true, RawUDP: true, Carbons: true},
		baresipCallee: callBaresip, baresipCaller: callBaresipCaller,
	})
	ce.sippPort = callSIPpBase

	steps := []struct {
		name string
		fn   func(*testing.T, *callEnv)
	}{
		{"a SIP contact is an online, callable contact", stepCallableContact},
		{"XMPP calls SIP: tones both ways through baresip", stepCallToBaresip},
		{"SIP calls XMPP: baresip rings the user, tones both ways", stepCallFromBaresip},
		{"XMPP calls SIP: busy, decline, no answer, no common codec", stepOutgoingFailures},
		{"SIP calls XMPP: cancel, busy, decline, no common codec", stepIncomingFailures},
		{"XMPP holds and sends DTMF; SIP sees it", stepHoldDTMFToSIP},
		{"two devices ring, one answers, the other is told; SIP hold and DTMF reach the user", stepTwoDevices},
	}
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) { s.fn(t, ce) }) {
			return
		}
	}
}

func stepCallableContact(t *testing.T, e *callEnv) {
	bob := e.contactFor("bob")
	if err := e.alice.Presence(ctxT(t, 5*time.Second), "subscribe", bob, "", ""); err != nil {
		t.Fatal(err)
	}
	p, err := e.alice.Expect(ctxT(t, 10*time.Second), func(s *stanza.Stanza) bool {
		return s.Kind() == stanza.KindPresence && s.Type == "" && strings.HasPrefix(s.From, bob+"/")
	})
	if err != nil {
		t.Fatalf("no available presence from the contact: %v", err)
	}
	if !strings.Contains(string(p.Payload), "http://jabber.org/protocol/caps") {
		t.Fatalf("contact presence without caps: %s", p.Payload)
	}
	res := e.iq(t, e.alice, "get", p.From, `<query xmlns="http://jabber.org/protocol/disco#info"/>`)
	mustResult(t, "contact disco#info", res)
	for _, f := range []string{jingle.NS, jingle.NSRTP, jingle.NSRTPAudio, jingle.NSICEUDP, jingle.NSDTLS, jingle.NSJMI} {
		if !strings.Contains(norm(res.Payload), f) {
			t.Errorf("contact disco#info lacks %s", f)
		}
	}
}

// rtpPeer opens the test client's media socket.
func rtpPeer(t *testing.T) *rtpprobe.RTPPeer {
	t.Helper()
	p, err := rtpprobe.NewRTPPeer(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// assertTone checks the dominant frequency of what was heard.
func assertTone(t *testing.T, what string, pcm []int16, want float64) {
	t.Helper()
	if len(pcm) < 8000 {
		t.Fatalf("%s: only %d samples of audio", what, len(pcm))
	}
	got := rtpprobe.DominantFrequency(pcm, 8000)
	if math.Abs(got-want) > 25 {
		t.Fatalf("%s: dominant frequency %.0f Hz, want %.0f Hz", what, got, want)
	}
	t.Logf("%s: %.0f Hz (%d samples)", what, got, len(pcm))
}

func stepCallToBaresip(t *testing.T, e *callEnv) {
	bob := testkit.StartBaresip(t, testkit.BaresipConfig{Name: "bob", User: "bob", Password: "bobpw", Mode: "record", SIPPort: e.baresipCallee, Proxy: e.kam.Addr, Domain: e.kam.Domain})
	rtp := rtpPeer(t)
	call, err := e.phone.Call(ctxT(t, 20*time.Second), e.contactFor("bob"), rtp.Addr())
	if err != nil {
		t.Fatalf("call: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	if err := call.WaitAccepted(ctxT(t, 20*time.Second)); err != nil {
		t.Fatalf("not answered: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	remote, ok := call.Remote()
	if !ok {
		t.Fatal("session-accept without a raw-UDP candidate")
	}
	pt := payloadType(t, call)
	if err := rtp.SendTone(ctxT(t, 10*time.Second), remote, pt, 1000, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	assertTone(t, "the client heard baresip", rtp.Received(), 440)
	if err := call.Hangup(ctxT(t, 5*time.Second), jingle.Success, ""); err != nil {
		t.Fatal(err)
	}
	assertRecorded(t, bob, 1000)
	if v := e.gw.metric(t, "fargo_gateway_calls_answered_total"); v == "" || v == "0" {
		t.Errorf("fargo_gateway_calls_answered_total = %q after an answered call", v)
	}
	for _, phase := range []string{"session_initiate_to_invite", "ok_to_session_accept"} {
		name := `fargo_gateway_call_setup_latency_seconds_count{phase="` + phase + `"}`
		if v := e.gw.metric(t, name); v == "" || v == "0" {
			t.Errorf("%s = %q after an answered outgoing call", name, v)
		}
	}
}

// assertRecorded checks the tone in baresip's recording of the call that
// just ended.
func assertRecorded(t *testing.T, b *testkit.Baresip, want float64) {
	t.Helper()
	wav, err := b.WaitRecording(ctxT(t, 15*time.Second))
	if err != nil {
		t.Fatalf("no recording: %v\n%s", err, b.Log())
	}
	pcm, rate, err := rtpprobe.ReadWAV(wav)
	if err != nil {
		t.Fatal(err)
	}
	got := rtpprobe.DominantFrequency(pcm, rate)
	if math.Abs(got-want) > 25 {
		t.Fatalf("baresip recorded %.0f Hz, want the client's %.0f Hz", got, want)
	}
	t.Logf("baresip heard the client: %.0f Hz", got)
}

func payloadType(t *testing.T, c *testkit.PhoneCall) uint8 {
	t.Helper()
	pt, ok := c.Codec()
	if !ok || (pt.Name != "PCMU" && pt.Name != "PCMA") {
		t.Fatalf("negotiated codec %+v", pt)
	}
	return pt.ID
}

func stepCallFromBaresip(t *testing.T, e *callEnv) {
	done := callFromBaresip(t, e, e.baresipCaller, 1000, 4*time.Second, 8)
	in, err := e.phone.WaitIncoming(ctxT(t, 20*time.Second))
	if err != nil {
		t.Fatalf("no incoming call: %v\n%s", err, tailLines(e.gw.logs.String(), 40))
	}
	if !strings.HasPrefix(in.Peer(), "carol@"+e.domain+"/") {
		t.Errorf("call from %s, want carol's contact", in.Peer())
	}
	if err := in.Proceed(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := in.WaitSessionInitiate(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	rtp := rtpPeer(t)
	if err := in.Accept(ctxT(t, 5*time.Second), rtp.Addr()); err != nil {
		t.Fatal(err)
	}
	remote, _ := in.Remote()
	if err := rtp.SendTone(ctxT(t, 10*time.Second), remote, payloadType(t, in), 600, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	r, err := in.WaitEnded(ctxT(t, 20*time.Second))
	if err != nil || r == nil || r.Condition != jingle.Success {
		t.Fatalf("end of call: %+v %v", r, err)
	}
	assertTone(t, "the client heard baresip's caller", rtp.Received(), 1000)
	assertCallerHeard(t, <-done, 600)
}

// baresipCall is the outcome of a baresip caller (testkit.BaresipCall).
type baresipCall struct {
	recv, log string
	err       error
}

// callFromBaresip starts carol's baresip calling alice with a tone of
// freq for d (hung up when the file ends, after seconds at most); the
// result comes on the channel.
func callFromBaresip(t *testing.T, e *callEnv, port int, freq float64, d time.Duration, seconds int) <-chan baresipCall {
	t.Helper()
	wav := filepath.Join(t.TempDir(), "tone.wav")
	if err := rtpprobe.WriteWAV(wav, rtpprobe.Tone(freq, d, 8000), 8000); err != nil {
		t.Fatal(err)
	}
	done := make(chan baresipCall, 1)
	go func() {
		r, l, err := testkit.BaresipCall(t, testkit.BaresipConfig{Name: "carol", User: "carol", Password: "carolpw", SIPPort: port, Proxy: e.kam.Addr, Domain: e.kam.Domain},
			"sip:alice@"+e.kam.Domain, seconds, wav)
		done <- baresipCall{r, l, err}
	}()
	return done
}

// assertCallerHeard checks the tone baresip's caller recorded.
func assertCallerHeard(t *testing.T, res baresipCall, want float64) {
	t.Helper()
	if res.err != nil {
		t.Fatalf("baresip caller: %v\n%s", res.err, res.log)
	}
	pcm, rate, err := rtpprobe.ReadWAV(res.recv)
	if err != nil {
		t.Fatal(err)
	}
	if got := rtpprobe.DominantFrequency(pcm, rate); math.Abs(got-want) > 25 {
		t.Fatalf("baresip heard %.0f Hz, want the client's %.0f Hz", got, want)
	}
}

// sippUAS runs one SIPp UAS scenario registered as user.
func (e *callEnv) sippUAS(t *testing.T, scenario, user string) *testkit.SIPpUAS {
	t.Helper()
	e.sippPort += 4 // SIPp also binds media port+2
	return testkit.StartSIPpUAS(t, testkit.SIPpConfig{Scenario: scenario, User: user, Password: user + "pw",
		Port: e.sippPort, MediaPort: e.sippPort + 1000, Proxy: e.kam.Addr, Domain: e.kam.Domain})
}

func waitSIPp(t *testing.T, u *testkit.SIPpUAS) testkit.SIPpResult {
	t.Helper()
	res, err := u.Wait(ctxT(t, 30*time.Second))
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("SIPp scenario failed (exit %d): %v\n%s", res.ExitCode, err, res.Trace)
	}
	return res
}

func stepOutgoingFailures(t *testing.T, e *callEnv) {
	for _, tc := range []struct {
		scenario, user string
		cond           jingle.Condition
		text           string
	}{
		{"uas-busy.xml", "busy", jingle.Busy, "486 Busy Here"},
		{"uas-decline.xml", "decline", jingle.Decline, "603 Decline"},
		{"uas-noanswer.xml", "noanswer", jingle.Timeout, "no answer"},
		{"uas-nocodec.xml", "nocodec", jingle.IncompatibleParameters, "488"},
	} {
		t.Run(tc.user, func(t *testing.T) {
			uas := e.sippUAS(t, tc.scenario, tc.user)
			call, err := e.phone.Call(ctxT(t, 20*time.Second), e.contactFor(tc.user), rtpPeer(t).Addr())
			if err != nil {
				t.Fatal(err)
			}
			r, err := call.WaitEnded(ctxT(t, 20*time.Second))
			if r == nil {
				t.Fatalf("no reason: %v", err)
			}
			if r.Condition != tc.cond || !strings.Contains(r.Text, tc.text) {
				t.Errorf("reason %s %q, want %s containing %q", r.Condition, r.Text, tc.cond, tc.text)
			}
			waitSIPp(t, uas)
		})
	}
}

func stepIncomingFailures(t *testing.T, e *callEnv) {
	for _, tc := range []struct {
		scenario string
		act      func(*testing.T, *testkit.PhoneCall)
		status   int
	}{
		{"uac-cancel.xml", func(t *testing.T, c *testkit.PhoneCall) {
			r, _ := c.WaitEnded(ctxT(t, 20*time.Second))
			if r == nil || r.Condition != jingle.Cancel {
				t.Errorf("caller's CANCEL reached the user as %+v", r)
			}
		}, 487},
		{"uac-busy.xml", func(t *testing.T, c *testkit.PhoneCall) {
			if err := c.Reject(ctxT(t, 5*time.Second), jingle.Busy); err != nil {
				t.Error(err)
			}
		}, 486},
		{"uac-decline.xml", func(t *testing.T, c *testkit.PhoneCall) {
			if err := c.Reject(ctxT(t, 5*time.Second), jingle.Decline); err != nil {
				t.Error(err)
			}
		}, 603},
		{"uac-nocodec.xml", nil, 488},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			e.sippPort += 4
			type out struct {
				res testkit.SIPpResult
				err error
			}
			done := make(chan out, 1)
			go func() {
				res, err := testkit.RunSIPpUAC(ctxT(t, 40*time.Second), t, testkit.SIPpConfig{Scenario: tc.scenario, User: "caller", Password: "callerpw",
					Port: e.sippPort, MediaPort: e.sippPort + 1000, Proxy: e.kam.Addr, Domain: e.kam.Domain, Target: "alice"})
				done <- out{res, err}
			}()
			if tc.act != nil {
				c, err := e.phone.WaitIncoming(ctxT(t, 20*time.Second))
				if err != nil {
					t.Fatalf("no incoming call: %v", err)
				}
				tc.act(t, c)
			}
			o := <-done
			if o.err != nil || o.res.ExitCode != 0 || !containsInt(o.res.Statuses, tc.status) {
				t.Fatalf("SIPp (exit %d, statuses %v, want %d): %v\n%s", o.res.ExitCode, o.res.Statuses, tc.status, o.err, o.res.Trace)
			}
		})
	}
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func stepHoldDTMFToSIP(t *testing.T, e *callEnv) {
	uas := e.sippUAS(t, "uas-hold-dtmf.xml", "holder")
	call, err := e.phone.Call(ctxT(t, 20*time.Second), e.contactFor("holder"), rtpPeer(t).Addr())
	if err != nil {
		t.Fatal(err)
	}
	if err := call.WaitAccepted(ctxT(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 20*time.Second)
	steps := []func() error{
		func() error { return call.Hold(ctx) },
		func() error { time.Sleep(time.Second); return call.DTMF(ctx, '5', 100*time.Millisecond) },
		func() error { time.Sleep(time.Second); return call.Unhold(ctx) },
		func() error { time.Sleep(time.Second); return call.Hangup(ctx, jingle.Success, "") },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			t.Fatal(err)
		}
	}
	res := waitSIPp(t, uas)
	t.Logf("SIPp saw %v", res.Requests)
}

func stepTwoDevices(t *testing.T, e *callEnv) {
	second := e.srv.Login(t, "alice", testkit.Resource("laptop"))
	laptop, err := testkit.NewPhone(second, testkit.PhoneOptions{RawUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Presence(ctxT(t, 5*time.Second), "", "", "", ""); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the gateway learns the second device
	e.sippPort += 4
	done := make(chan testkit.SIPpResult, 1)
	go func() {
		res, _ := testkit.RunSIPpUAC(context.WithoutCancel(t.Context()), t, testkit.SIPpConfig{Scenario: "uac-answer-hold-dtmf.xml", User: "caller", Password: "callerpw",
			Port: e.sippPort, MediaPort: e.sippPort + 1000, Proxy: e.kam.Addr, Domain: e.kam.Domain, Target: "alice"})
		done <- res
	}()
	onLaptop, err := laptop.WaitIncoming(ctxT(t, 20*time.Second))
	if err != nil {
		t.Fatalf("the second device did not ring: %v", err)
	}
	onPhone, err := e.phone.WaitIncoming(ctxT(t, 20*time.Second))
	if err != nil {
		t.Fatalf("the JMI device did not ring: %v", err)
	}
	if err := onPhone.Proceed(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := onPhone.WaitSessionInitiate(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := onPhone.Accept(ctxT(t, 5*time.Second), rtpPeer(t).Addr()); err != nil {
		t.Fatal(err)
	}
	r, _ := onLaptop.WaitEnded(ctxT(t, 10*time.Second))
	if r == nil || r.Condition != jingle.Cancel {
		t.Errorf("the other device was told %+v, want cancel", r)
	}
	if _, err := onPhone.WaitInfo(ctxT(t, 15*time.Second), func(e jingle.Element) bool { return e.XMLName.Local == jingle.InfoHold }); err != nil {
		t.Errorf("SIP hold did not reach the user: %v", err)
	}
	d, err := onPhone.WaitInfo(ctxT(t, 15*time.Second), func(e jingle.Element) bool { return e.XMLName.Space == jingle.NSDTMF })
	if err != nil || d.Attr("code") != "7" {
		t.Errorf("SIP DTMF did not reach the user: %+v %v", d, err)
	}
	if r, err := onPhone.WaitEnded(ctxT(t, 20*time.Second)); r == nil || r.Condition != jingle.Success {
		t.Errorf("BYE reached the user as %+v (%v)", r, err)
	}
	res := <-done
	if res.ExitCode != 0 {
		t.Fatalf("SIPp caller failed (exit %d)\n%s", res.ExitCode, res.Trace)
	}
}
