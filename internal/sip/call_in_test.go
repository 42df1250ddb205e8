package sip

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// inbox is an incoming-call hook for tests: it hands each call to the test
// and gives it rec as handler (nil if reject is set).
type inbox struct {
	calls  chan *IncomingCall
	rec    *recorder
	reject atomic.Bool
	hold   chan struct{} // if not nil, the hook returns once it is closed
}

func newInbox() *inbox { return &inbox{calls: make(chan *IncomingCall, 10), rec: newRecorder()} }

func (b *inbox) hook(ic *IncomingCall) CallHandler {
	b.calls <- ic
	if b.hold != nil {
		<-b.hold
	}
	if b.reject.Load() {
		return nil
	}
	return b.rec
}

func (b *inbox) next(t testing.TB) *IncomingCall {
	t.Helper()
	select {
	case ic := <-b.calls:
		return ic
	case <-time.After(wait):
		t.Fatal("no incoming call")
		return nil
	}
}

// startCallUA runs a UA whose incoming calls go to b.
func startCallUA(t testing.TB, cfg Config, b *inbox) *UA {
	t.Helper()
	return startUAWith(t, cfg, func(ua *UA) { ua.SetIncoming(b.hook) })
}

// incoming runs a UA and a peer, and has the peer call the UA with sdp
// (nil: delayed offer).
func incoming(t *testing.T, cfg Config, sdp []byte) (*inbox, *UA, *peer, *peerCall, *IncomingCall) {
	t.Helper()
	noLeaks(t)
	b := newInbox()
	ua := startCallUA(t, cfg, b)
	p := newPeer(t)
	pc := p.call(t, ua, testToken, "UDP", sdp)
	return b, ua, p, pc, b.next(t)
}

// answer answers ic in the background and returns Answer's result.
func answer(ic *IncomingCall, sdp string) <-chan error {
	ch := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ch <- ic.Answer(ctx, []byte(sdp))
	}()
	return ch
}

func result(t testing.TB, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(wait):
		t.Fatal("Answer did not return")
		return nil
	}
}

func TestInboundCall(t *testing.T) {
	for _, tc := range []struct {
		name        string
		transport   string
		byeFromPeer bool
	}{
		{"BYE from the peer over UDP", "UDP", true},
		{"hangup by us over UDP", "UDP", false},
		{"BYE from the peer over TCP", "TCP", true},
		{"hangup by us over TCP", "TCP", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			b := newInbox()
			ua := startCallUA(t, callCfg(), b)
			p := newPeer(t)
			pc := p.call(t, ua, testToken, tc.transport, []byte(offerSDP))
			ic := b.next(t)
			if ic.Outbound() || ic.CallID() != pc.invite.CallID().Value() || ic.Token() != testToken || string(ic.Offer()) != offerSDP {
				t.Errorf("call: outbound %v, Call-ID %q, token %q, offer %q", ic.Outbound(), ic.CallID(), ic.Token(), ic.Offer())
			}
			if uri, name := ic.From(); uri != "sip:carol@sip.example.org" || name != "Carol" || ic.Asserted() != "" || ic.Privacy() {
				t.Errorf("From %q %q, asserted %q, privacy %v", uri, name, ic.Asserted(), ic.Privacy())
			}
			if err := ic.Ring(); err != nil {
				t.Fatalf("Ring: %v", err)
			}
			ringing := pc.response(t, wait)
			for ringing.StatusCode == 100 {
				ringing = pc.response(t, wait)
			}
			if ringing.StatusCode != 180 || toTagOf2(ringing) == "" || ringing.Contact() == nil {
				t.Fatalf("ringing %s, tag %q", ringing.StartLine(), toTagOf2(ringing))
			}
			done := answer(ic, answerSDP)
			ok := pc.final(t, wait)
			if ok.StatusCode != 200 || string(ok.Body()) != answerSDP || hdr(ok, "Content-Type") != "application/sdp" {
				t.Fatalf("final %s %q", ok.StartLine(), ok.Body())
			}
			if toTagOf2(ok) != toTagOf2(ringing) {
				t.Errorf("To tag %q in 200, %q in 180", toTagOf2(ok), toTagOf2(ringing))
			}
			wantContact := "<sip:" + testToken + "@" + ua.Addr().String() + ";transport=" + strings.ToLower(tc.transport) + ">"
			if hdr(ok, "Contact") != wantContact || hdr(ok, "Allow") != allowCalls || hdr(ok, "Supported") != "timer" || hdr(ok, "Session-Expires") != "" {
				t.Errorf("200: Contact %q, Allow %q, Supported %q, Session-Expires %q", hdr(ok, "Contact"), hdr(ok, "Allow"), hdr(ok, "Supported"), hdr(ok, "Session-Expires"))
			}
			select {
			case err := <-done:
				t.Fatalf("Answer returned before the ACK: %v", err)
			case <-time.After(50 * time.Millisecond):
			}
			d := pc.ack(t, ok, nil)
			if err := result(t, done); err != nil {
				t.Fatalf("Answer: %v", err)
			}
			if e := b.rec.want(t, EventAnswered, wait); e.Status != 200 || e.Body != nil {
				t.Errorf("answered %+v", e)
			}
			if tc.byeFromPeer {
				if res := d.do(t, sipmsg.BYE, nil, sipmsg.NewHeader("Reason", `Q.850;cause=16;text="Normal call clearing"`)); res.StatusCode != 200 {
					t.Errorf("BYE answered %d", res.StatusCode)
				}
				if e := b.rec.want(t, EventBye, wait); e.ReasonHeader != `Q.850;cause=16;text="Normal call clearing"` {
					t.Errorf("bye %+v", e)
				}
			} else {
				if err := ic.Hangup(t.Context(), "Q.850;cause=16"); err != nil {
					t.Fatal(err)
				}
				bye := p.next(t, sipmsg.BYE, wait)
				if bye.Recipient.User != "bob" || fromTag(bye) != toTagOf2(ok) || toTagOf(bye, "") != fromTag(pc.invite) || hdr(bye, "Reason") != "Q.850;cause=16" {
					t.Errorf("BYE %s From tag %q To tag %q", bye.Recipient.String(), fromTag(bye), toTagOf(bye, ""))
				}
				if bye.Transport() != tc.transport {
					t.Errorf("BYE over %s", bye.Transport())
				}
			}
			b.rec.quiet(t, 100*time.Millisecond)
			if st := ua.Stats(); st.CallsIn != 1 || st.CallsAnswered != 1 || st.CallsFailed != 0 || st.CallsActive != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func toTagOf2(res *sipmsg.Response) string {
	tag, _ := res.To().Params.Get("tag")
	return tag
}

func TestInboundCancel(t *testing.T) {
	b, ua, _, pc, ic := incoming(t, callCfg(), []byte(offerSDP))
	if err := ic.Ring(); err != nil {
		t.Fatal(err)
	}
	if res := pc.cancel(t, `SIP;cause=200;text="Call completed elsewhere"`); res.StatusCode != 200 {
		t.Errorf("CANCEL answered %d", res.StatusCode)
	}
	if res := pc.final(t, wait); res.StatusCode != 487 {
		t.Errorf("INVITE answered %d, want 487", res.StatusCode)
	}
	if e := b.rec.want(t, EventCancelled, wait); e.ReasonHeader != `SIP;cause=200;text="Call completed elsewhere"` {
		t.Errorf("event %+v", e)
	}
	if err := ic.Answer(t.Context(), []byte(answerSDP)); !errors.Is(err, ErrCallEnded) {
		t.Errorf("Answer after CANCEL: %v", err)
	}
	if err := ic.Reject(486, "Busy Here", "", 0); !errors.Is(err, ErrCallEnded) {
		t.Errorf("Reject after CANCEL: %v", err)
	}
	if err := ic.Ring(); !errors.Is(err, ErrCallEnded) {
		t.Errorf("Ring after CANCEL: %v", err)
	}
	b.rec.quiet(t, 100*time.Millisecond)
	if st := ua.Stats(); st.CallsIn != 1 || st.CallsFailed != 1 || st.CallsActive != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestInboundReject(t *testing.T) {
	noLeaks(t)
	b := newInbox()
	ua := startCallUA(t, callCfg(), b)
	p := newPeer(t)
	for _, tc := range []struct {
		code       int
		reason     string
		warning    string
		retryAfter time.Duration
	}{
		{486, "Busy Here", "", 0},
		{603, "Decline", "declined by the user", 0},
		{480, "Temporarily Unavailable", "", 90 * time.Second},
		{488, "Not Acceptable Here", `no "common" codec`, 0},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			pc := p.call(t, ua, testToken, "UDP", []byte(offerSDP))
			ic := b.next(t)
			if err := ic.Reject(tc.code, tc.reason, tc.warning, tc.retryAfter); err != nil {
				t.Fatal(err)
			}
			res := pc.final(t, wait)
			if res.StatusCode != tc.code || res.Reason != tc.reason {
				t.Errorf("got %s", res.StartLine())
			}
			wantWarning := ""
			if tc.warning != "" {
				wantWarning = `399 127.0.0.1 "` + strings.ReplaceAll(tc.warning, `"`, "") + `"`
			}
			if got := hdr(res, "Warning"); got != wantWarning {
				t.Errorf("Warning %q, want %q", got, wantWarning)
			}
			wantRA := ""
			if tc.retryAfter > 0 {
				wantRA = "90"
			}
			if got := hdr(res, "Retry-After"); got != wantRA {
				t.Errorf("Retry-After %q, want %q", got, wantRA)
			}
			<-ic.Done()
			if err := ic.Reject(500, "Again", "", 0); err == nil {
				t.Error("second Reject succeeded")
			}
			if err := ic.Answer(t.Context(), []byte(answerSDP)); err == nil {
				t.Error("Answer after Reject succeeded")
			}
		})
	}
	b.rec.quiet(t, 50*time.Millisecond)
	ic := &IncomingCall{}
	for _, code := range []int{100, 200, 299, 700} {
		if err := ic.Reject(code, "X", "", 0); err == nil {
			t.Errorf("Reject(%d) accepted", code)
		}
	}
}

func TestInboundRefused(t *testing.T) {
	noLeaks(t)
	b := newInbox()
	ua := startCallUA(t, callCfg(), b)
	p := newPeer(t)
	for _, tc := range []struct {
		name    string
		user    string
		reject  bool
		headers []sipmsg.Header
		body    []byte
		want    int
		check   func(t *testing.T, res *sipmsg.Response)
	}{
		{name: "unknown token", user: "tok-mallory", want: 404},
		{name: "no user part", user: "", want: 404},
		{name: "hook returns nil", user: testToken, reject: true, want: 480},
		{name: "required extension", user: testToken, headers: []sipmsg.Header{sipmsg.NewHeader("Require", "100rel, timer")}, want: 420,
			check: func(t *testing.T, res *sipmsg.Response) {
				if hdr(res, "Unsupported") != "100rel" {
					t.Errorf("Unsupported %q", hdr(res, "Unsupported"))
				}
			}},
		{name: "body is not SDP", user: testToken, headers: []sipmsg.Header{sipmsg.NewHeader("Content-Type", "text/plain")}, body: []byte("hello"), want: 415},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.reject.Store(tc.reject)
			pc := p.call(t, ua, tc.user, "UDP", tc.body, tc.headers...)
			res := pc.final(t, wait)
			if res.StatusCode != tc.want {
				t.Fatalf("got %s, want %d", res.StartLine(), tc.want)
			}
			if tc.check != nil {
				tc.check(t, res)
			}
			if tc.reject {
				b.next(t)
			}
		})
	}
	select {
	case ic := <-b.calls:
		t.Errorf("hook called for %s", ic.Token())
	default:
	}
	// The UA counts a rejected call as ended just after it sent the
	// final response, which may reach the test first.
	waitStats(t, ua, func(st Stats) bool { return st.CallsIn == 1 && st.CallsFailed == 1 && st.CallsActive == 0 })
}

// waitStats polls the UA's call counters until cond holds (5 s at most).
func waitStats(t *testing.T, ua *UA, cond func(Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for st := ua.Stats(); !cond(st); st = ua.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestInbound422(t *testing.T) {
	noLeaks(t)
	b := newInbox()
	ua := startCallUA(t, Config{}, b) // Min-SE 90s
	p := newPeer(t)
	for _, tc := range []struct {
		name    string
		headers []sipmsg.Header
		want    int
	}{
		{"too small, timer supported", []sipmsg.Header{sipmsg.NewHeader("Supported", "timer"), sipmsg.NewHeader("Session-Expires", "30")}, 422},
		// Without Supported: timer a proxy added the header: no 422 possible.
		{"too small, no timer support", []sipmsg.Header{sipmsg.NewHeader("x", "30;refresher=uac")}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.reject.Store(false)
			pc := p.call(t, ua, testToken, "UDP", []byte(offerSDP), tc.headers...)
			if tc.want == 200 {
				ic := b.next(t)
				done := answer(ic, answerSDP)
				ok := pc.final(t, wait)
				// The caller cannot refresh: we do, whatever it asked.
				if hdr(ok, "Session-Expires") != "30;refresher=uas" || hdr(ok, "Require") != "" {
					t.Errorf("Session-Expires %q Require %q", hdr(ok, "Session-Expires"), hdr(ok, "Require"))
				}
				pc.ack(t, ok, nil)
				if err := result(t, done); err != nil {
					t.Fatal(err)
				}
				if err := ic.Hangup(t.Context(), ""); err != nil {
					t.Fatal(err)
				}
				return
			}
			res := pc.final(t, wait)
			if res.StatusCode != tc.want || hdr(res, "Min-SE") != "90" {
				t.Errorf("got %s Min-SE %q", res.StartLine(), hdr(res, "Min-SE"))
			}
		})
	}
}

func TestInboundLoop(t *testing.T) {
	noLeaks(t)
	b := newInbox()
	ua := startCallUA(t, callCfg(), b)
	p := newPeer(t)
	first := p.call(t, ua, testToken, "UDP", []byte(offerSDP))
	ic := b.next(t)
	// The same call forked to us again (a merged request, RFC 3261 §8.2.2.2).
	again := first.invite.Clone()
	again.RemoveHeader("Via")
	tx, err := p.cli.TransactionRequest(t.Context(), p.from(again))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Terminate()
	merged := (&peerCall{p: p, invite: again, tx: tx}).final(t, wait)
	if merged.StatusCode != 482 {
		t.Errorf("merged INVITE got %d", merged.StatusCode)
	}
	if err := ic.Reject(486, "Busy Here", "", 0); err != nil {
		t.Fatal(err)
	}
	first.final(t, wait)
}

func TestInboundDelayedOffer(t *testing.T) {
	b, _, _, pc, ic := incoming(t, callCfg(), nil)
	if ic.Offer() != nil {
		t.Errorf("offer %q", ic.Offer())
	}
	done := answer(ic, offerSDP) // our offer goes in the 200
	ok := pc.final(t, wait)
	if string(ok.Body()) != offerSDP {
		t.Errorf("200 body %q", ok.Body())
	}
	d := pc.ack(t, ok, []byte(answerSDP)) // the answer comes in the ACK
	if err := result(t, done); err != nil {
		t.Fatal(err)
	}
	if e := b.rec.want(t, EventAnswered, wait); string(e.Body) != answerSDP || e.ContentType != "application/sdp" {
		t.Errorf("answered %+v", e)
	}
	d.do(t, sipmsg.BYE, nil)
	b.rec.want(t, EventBye, wait)
}

func TestInboundNoAck(t *testing.T) {
	cfg := callCfg()
	cfg.t1x64 = 1200 * time.Millisecond
	b, _, p, pc, ic := incoming(t, cfg, []byte(offerSDP))
	start := time.Now()
	done := answer(ic, answerSDP)
	retransmitted := make(chan struct{}, 10)
	pc.tx.OnRetransmission(func(*sipmsg.Response) { retransmitted <- struct{}{} })
	pc.final(t, wait) // and no ACK
	if err := result(t, done); !errors.Is(err, errNoAck) {
		t.Errorf("Answer: %v", err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("gave up after %v", d)
	}
	if e := b.rec.want(t, EventEnded, wait); e.Status != 408 || !e.Timeout || !strings.Contains(e.Reason, "no ACK") {
		t.Errorf("event %+v", e)
	}
	if bye := p.next(t, sipmsg.BYE, wait); bye.CallID().Value() != ic.CallID() {
		t.Errorf("BYE for %s", bye.CallID().Value())
	}
	select {
	case <-retransmitted:
	default:
		t.Error("200 OK was not retransmitted")
	}
}

func TestInboundByeOvertakesAck(t *testing.T) {
	b, _, _, pc, ic := incoming(t, callCfg(), []byte(offerSDP))
	done := answer(ic, answerSDP)
	ok := pc.final(t, wait)
	if res := pc.dialog(ok).do(t, sipmsg.BYE, nil); res.StatusCode != 200 {
		t.Errorf("BYE answered %d", res.StatusCode)
	}
	if err := result(t, done); err != nil {
		t.Errorf("Answer: %v, want success: the BYE confirms the dialog", err)
	}
	b.rec.want(t, EventAnswered, wait)
	b.rec.want(t, EventBye, wait)
	pc.ack(t, ok, nil) // late ACK: ignored
	b.rec.quiet(t, 100*time.Millisecond)
}

func TestInboundIdentity(t *testing.T) {
	noLeaks(t)
	b := newInbox()
	b.reject.Store(true)
	ua := startCallUA(t, callCfg(), b)
	p := newPeer(t)
	for _, tc := range []struct {
		name     string
		headers  []sipmsg.Header
		asserted string
		privacy  bool
	}{
		{"asserted identity", []sipmsg.Header{sipmsg.NewHeader("P-Asserted-Identity", `"Carol C" <sip:+14155550100@sip.example.org;user=phone>, <tel:+14155550100>`)}, "sip:+14155550100@sip.example.org;user=phone", false},
		{"privacy id", []sipmsg.Header{sipmsg.NewHeader("Privacy", "id"), sipmsg.NewHeader("P-Asserted-Identity", "<tel:+14155550100>")}, "tel:+14155550100", true},
		{"privacy header;user", []sipmsg.Header{sipmsg.NewHeader("Privacy", "header;user")}, "", true},
		{"privacy none", []sipmsg.Header{sipmsg.NewHeader("Privacy", "none")}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pc := p.call(t, ua, testToken, "UDP", []byte(offerSDP), tc.headers...)
			ic := b.next(t)
			if ic.Asserted() != tc.asserted || ic.Privacy() != tc.privacy {
				t.Errorf("asserted %q privacy %v", ic.Asserted(), ic.Privacy())
			}
			pc.final(t, wait)
		})
	}
	if !privacyAsked(sipmsg.NewRequest(sipmsg.INVITE, sipmsg.Uri{}), &sipmsg.FromHeader{DisplayName: "Anonymous", Address: sipmsg.Uri{User: "anonymous", Host: "anonymous.invalid"}}) {
		t.Error("anonymous From not private")
	}
}

func TestInboundUnanswered(t *testing.T) {
	noLeaks(t)
	b := newInbox()
	cfg := callCfg()
	cfg.ringRepeat = 150 * time.Millisecond
	ua := startCallUA(t, cfg, b)
	p := newPeer(t)

	t.Run("180 repeats while ringing", func(t *testing.T) {
		pc := p.call(t, ua, testToken, "UDP", []byte(offerSDP))
		ic := b.next(t)
		if err := ic.Ring(); err != nil {
			t.Fatal(err)
		}
		rings := 0
		for deadline := time.Now().Add(600 * time.Millisecond); time.Now().Before(deadline) && rings < 3; {
			if res := pc.response(t, wait); res.StatusCode == 180 {
				rings++
			}
		}
		if rings < 3 {
			t.Errorf("%d × 180 in 600ms, want 3", rings)
		}
		if err := ic.Hangup(t.Context(), ""); err != nil { // unanswered: 480
			t.Fatal(err)
		}
		if res := pc.final(t, wait); res.StatusCode != 480 {
			t.Errorf("got %d, want 480", res.StatusCode)
		}
	})

	t.Run("Close answers 487", func(t *testing.T) {
		pc := p.call(t, ua, testToken, "UDP", []byte(offerSDP))
		ic := b.next(t)
		ic.Close()
		ic.Close()
		if res := pc.final(t, wait); res.StatusCode != 487 {
			t.Errorf("got %d, want 487", res.StatusCode)
		}
	})

	t.Run("BYE before the answer", func(t *testing.T) {
		pc := p.call(t, ua, testToken, "UDP", []byte(offerSDP))
		ic := b.next(t)
		byeWhileRinging(t, pc, ic)
		if res := pc.final(t, wait); res.StatusCode != 487 {
			t.Errorf("INVITE got %d, want 487", res.StatusCode)
		}
		b.rec.want(t, EventBye, wait)
	})
	b.rec.quiet(t, 50*time.Millisecond)
}

func TestAllowWithHook(t *testing.T) {
	ua := startCallUA(t, callCfg(), newInbox())
	client := newTestClient(t)
	for _, tc := range []struct {
		method sipmsg.RequestMethod
		want   int
	}{
		{sipmsg.OPTIONS, 200},
		{sipmsg.MESSAGE, 405},
	} {
		req := sipmsg.NewRequest(tc.method, sipmsg.Uri{Scheme: "sip", User: testToken, Host: ua.Addr().Addr().String(), Port: int(ua.Addr().Port())})
		res, err := client.Do(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != tc.want || hdr(res, "Allow") != allowCalls {
			t.Errorf("%s: %d, Allow %q", tc.method, res.StatusCode, hdr(res, "Allow"))
		}
	}
}

// TestShutdownWithLiveCalls stops a UA with calls in every state: Run must
// return promptly, release everything without signalling, and leave no
// goroutine behind.
func TestShutdownWithLiveCalls(t *testing.T) {
	noLeaks(t)
	b := newInbox()
	ua, err := NewUA(Config{ListenAddr: "127.0.0.1:0", InviteTimeout: 10 * time.Second}, nil, tokens{testToken: true})
	if err != nil {
		t.Fatal(err)
	}
	ua.SetIncoming(b.hook)
	ctx, stop := context.WithCancel(context.Background())
	var runErr error
	done := make(chan struct{})
	go func() {
		runErr = ua.Run(ctx)
		close(done)
	}()
	<-ua.Ready()
	defer func() {
		stop()
		<-done
	}()

	p := newPeer(t)
	answered := invite(t, ua, p.udpAddr, "", newRecorder()) // confirmed
	p.next(t, sipmsg.ACK, wait)
	raw := newRawPeer(t, ua)
	pending := invite(t, ua, raw.addr, "", newRecorder()) // no answer at all
	raw.next(t, sipmsg.INVITE, wait)
	pc := p.call(t, ua, testToken, "UDP", []byte(offerSDP)) // ringing
	ringing := b.next(t)
	if err := ringing.Ring(); err != nil {
		t.Fatal(err)
	}
	pc.response(t, wait)
	pc2 := p.call(t, ua, testToken, "UDP", []byte(offerSDP)) // answered, no ACK yet
	unacked := b.next(t)
	answering := answer(unacked, answerSDP)
	pc2.final(t, wait)
	if st := ua.Stats(); st.CallsActive != 4 {
		t.Errorf("stats %+v", st)
	}

	start := time.Now()
	stop()
	<-done
	if runErr != nil {
		t.Fatal(runErr)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Run took %v to stop", d)
	}
	if err := result(t, answering); !errors.Is(err, ErrClosed) {
		t.Errorf("Answer during shutdown: %v", err)
	}
	for _, c := range []*Call{answered, pending, ringing.Call, unacked.Call} {
		select {
		case <-c.Done():
		default:
			t.Errorf("call %s not released", c.CallID())
		}
	}
	if _, err := answered.Reinvite(t.Context(), []byte(offer2SDP)); !errors.Is(err, ErrCallEnded) {
		t.Errorf("Reinvite after shutdown: %v", err)
	}
	if err := answered.Hangup(t.Context(), ""); err != nil {
		t.Errorf("Hangup after shutdown: %v", err)
	}
	select {
	case req := <-p.got:
		if req.Method == sipmsg.BYE || req.Method == sipmsg.CANCEL {
			t.Errorf("UA sent %s while stopping", req.Method)
		}
	default:
	}
	if _, err := ua.Invite(t.Context(), InviteRequest{Account: aliceAt(p.udpAddr, ""), Target: "sip:bob@" + p.udpAddr, SDP: []byte(offerSDP), Handler: newRecorder()}); !errors.Is(err, ErrClosed) {
		t.Errorf("Invite after shutdown: %v", err)
	}
}

func TestCloseOutboundPending(t *testing.T) {
	noLeaks(t)
	ua := startUA(t, callCfg())
	raw := newRawPeer(t, ua)
	rec := newRecorder()
	c := invite(t, ua, raw.addr, "", rec)
	inv := raw.next(t, sipmsg.INVITE, wait)
	raw.reply(t, inv, 180, "callee", nil)
	rec.want(t, EventProgress, wait)
	c.Close()
	c.Close()
	if raw.next(t, sipmsg.CANCEL, 300*time.Millisecond) != nil {
		t.Error("Close sent CANCEL")
	}
	rec.quiet(t, 50*time.Millisecond)
	if st := ua.Stats(); st.CallsActive != 0 || st.CallsFailed != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestHangupBeforeAck(t *testing.T) {
	b, _, p, pc, ic := incoming(t, callCfg(), []byte(offerSDP))
	answering := answer(ic, answerSDP)
	ok := pc.final(t, wait)
	hungUp := make(chan error, 1)
	go func() { hungUp <- ic.Hangup(context.Background(), "") }()
	time.Sleep(200 * time.Millisecond)
	select {
	case req := <-p.got:
		t.Fatalf("%s before the ACK (RFC 3261 §15)", req.Method)
	default:
	}
	pc.ack(t, ok, nil)
	if err := result(t, answering); err != nil {
		t.Errorf("Answer: %v", err)
	}
	if err := result(t, hungUp); err != nil {
		t.Errorf("Hangup: %v", err)
	}
	p.next(t, sipmsg.BYE, wait)
	b.rec.want(t, EventAnswered, wait)
	b.rec.quiet(t, 50*time.Millisecond)
}

// TestInboundEventsBeforeTheHookReturns: the hook's owner may ring from
// another goroutine before the hook has returned the handler; the peer's
// BYE in that window reaches the handler once it is known (it was
// dropped, which CI caught as a rare "no bye event").
func TestInboundEventsBeforeTheHookReturns(t *testing.T) {
	noLeaks(t)
	b := newInbox()
	b.hold = make(chan struct{})
	ua := startCallUA(t, callCfg(), b)
	p := newPeer(t)
	pc := p.call(t, ua, testToken, "UDP", []byte(offerSDP))
	ic := b.next(t)
	byeWhileRinging(t, pc, ic)
	close(b.hold)
	if res := pc.final(t, wait); res.StatusCode != 487 {
		t.Errorf("INVITE got %d, want 487", res.StatusCode)
	}
	b.rec.want(t, EventBye, wait)
	b.rec.quiet(t, 50*time.Millisecond)
}

// byeWhileRinging rings ic, waits for the peer to see the 180 and has the
// peer end the early dialog with BYE, which must be answered 200.
func byeWhileRinging(t *testing.T, pc *peerCall, ic *IncomingCall) {
	t.Helper()
	if err := ic.Ring(); err != nil {
		t.Fatal(err)
	}
	ringing := pc.response(t, wait)
	for ringing.StatusCode != 180 {
		ringing = pc.response(t, wait)
	}
	if res := pc.dialog(ringing).do(t, sipmsg.BYE, nil); res.StatusCode != 200 {
		t.Errorf("BYE answered %d", res.StatusCode)
	}
}
