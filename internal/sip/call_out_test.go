package sip

import (
	"context"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/google/go-cmp/cmp"
)

// callCfg shortens the call timers for tests.
func callCfg() Config {
	return Config{
		InviteTimeout: 2 * time.Second,
		MinSE:         time.Second,
		t1x64:         2 * time.Second,
		glareWait:     func(bool) time.Duration { return 50 * time.Millisecond },
	}
}

const wait = 5 * time.Second

func hdr(m sipmsg.Message, name string) string {
	if hs := m.GetHeaders(name); len(hs) > 0 {
		return hs[0].Value()
	}
	return ""
}

// invite places a call from alice through the peer (registrar and callee
// at once) to bob.
func invite(t *testing.T, ua *UA, addr, transport string, h CallHandler) *Call {
	t.Helper()
	c, err := ua.Invite(t.Context(), InviteRequest{
		Account: aliceAt(addr, transport),
		Target:  "sip:bob@" + addr,
		SDP:     []byte(offerSDP),
		Handler: h,
	})
	if err != nil {
		t.Fatalf("Invite: %v", err)
	}
	return c
}

func TestOutboundCall(t *testing.T) {
	for _, tc := range []struct {
		name        string
		transport   string
		byeFromPeer bool
	}{
		{"hangup by us over UDP", "udp", false},
		{"BYE from the peer over UDP", "udp", true},
		{"hangup by us over TCP", "tcp", false},
		{"BYE from the peer over TCP", "tcp", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			ua := startUA(t, callCfg())
			p := newPeer(t)
			p.handleFunc(sipmsg.INVITE, func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
				p.respond(req, tx, 180, nil)
				time.Sleep(20 * time.Millisecond) // sipgo may reorder back-to-back responses
				p.respond(req, tx, 200, []byte(answerSDP), sipmsg.NewHeader("Allow", "INVITE, ACK, BYE"))
			})
			addr := p.udpAddr
			if tc.transport == "tcp" {
				addr = p.tcpAddr
			}
			rec := newRecorder()
			c := invite(t, ua, addr, tc.transport, rec)
			if !c.Outbound() || c.CallID() == "" {
				t.Errorf("Outbound %v, CallID %q", c.Outbound(), c.CallID())
			}

			inv := p.next(t, sipmsg.INVITE, wait)
			if inv.CallID().Value() != c.CallID() {
				t.Errorf("Call-ID %q, want %q", inv.CallID().Value(), c.CallID())
			}
			if tag, _ := inv.From().Params.Get("tag"); tag == "" {
				t.Error("From without tag")
			}
			if got := inv.From().Address.String(); got != "sip:alice@sip.example.org" || inv.From().DisplayName != "Alice" {
				t.Errorf("From %q %q", inv.From().DisplayName, got)
			}
			if got := inv.Recipient.String(); got != "sip:bob@"+addr {
				t.Errorf("Request-URI %s", got)
			}
			if hdr(inv, "Route") != "" {
				t.Errorf("Route %q although the target is the first hop", hdr(inv, "Route"))
			}
			wantContact := "sip:" + testToken + "@" + ua.Addr().String() + ";transport=" + tc.transport
			for name, want := range map[string]string{
				"Allow":           "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE",
				"Supported":       "timer",
				"Session-Expires": "1800",
				"Min-SE":          "1",
				"Content-Type":    "application/sdp",
				"User-Agent":      "fargo-test/0.1",
				"Contact":         "<" + wantContact + ">",
			} {
				if name == "Allow" {
					want = allowNoCalls // no SetIncoming hook on this UA
				}
				if got := hdr(inv, name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			if string(inv.Body()) != offerSDP {
				t.Errorf("body %q", inv.Body())
			}

			if e := rec.want(t, EventProgress, wait); e.Status != 180 || e.Reason != "Ringing" || e.Body != nil {
				t.Errorf("progress %+v", e)
			}
			e := rec.want(t, EventAnswered, wait)
			if e.Status != 200 || string(e.Body) != answerSDP || e.ContentType != "application/sdp" {
				t.Errorf("answered %+v", e)
			}
			ack := p.next(t, sipmsg.ACK, wait)
			if ack.CSeq().SeqNo != inv.CSeq().SeqNo || toTagOf(ack, "") != p.tag(c.CallID()) {
				t.Errorf("ACK CSeq %d, To tag %q", ack.CSeq().SeqNo, toTagOf(ack, ""))
			}
			if ack.Recipient.User != "bob" {
				t.Errorf("ACK Request-URI %s, want the peer's Contact", ack.Recipient.String())
			}

			if tc.byeFromPeer {
				res := p.uasDialog(inv).do(t, sipmsg.BYE, nil, sipmsg.NewHeader("Reason", "Q.850;cause=16"))
				if res.StatusCode != 200 {
					t.Errorf("BYE answered %d", res.StatusCode)
				}
				if e := rec.want(t, EventBye, wait); e.ReasonHeader != "Q.850;cause=16" {
					t.Errorf("bye %+v", e)
				}
			} else {
				if err := c.Hangup(t.Context(), "Q.850;cause=16"); err != nil {
					t.Fatalf("Hangup: %v", err)
				}
				bye := p.next(t, sipmsg.BYE, wait)
				if hdr(bye, "Reason") != "Q.850;cause=16" || bye.CSeq().SeqNo <= inv.CSeq().SeqNo {
					t.Errorf("BYE Reason %q CSeq %d", hdr(bye, "Reason"), bye.CSeq().SeqNo)
				}
				if err := c.Hangup(t.Context(), ""); err != nil {
					t.Errorf("second Hangup: %v", err)
				}
			}
			<-c.Done()
			rec.quiet(t, 100*time.Millisecond)
			if st := ua.Stats(); st.CallsOut != 1 || st.CallsAnswered != 1 || st.CallsFailed != 0 || st.CallsActive != 0 {
				t.Errorf("stats %+v", st)
			}
			c.Close()
		})
	}
}

func TestInviteInvalid(t *testing.T) {
	ua := startUA(t, callCfg())
	rec := newRecorder()
	good := InviteRequest{Account: aliceAt("127.0.0.1:5060", ""), Target: "sip:bob@example.org", SDP: []byte(offerSDP), Handler: rec}
	for _, tc := range []struct {
		name   string
		modify func(*InviteRequest)
	}{
		{"no handler", func(r *InviteRequest) { r.Handler = nil }},
		{"no SDP", func(r *InviteRequest) { r.SDP = nil }},
		{"bad account", func(r *InviteRequest) { r.Account.ContactToken = "a b" }},
		{"tel target", func(r *InviteRequest) { r.Target = "tel:+14155550100" }},
		{"no host", func(r *InviteRequest) { r.Target = "sip:" }},
		{"header injection", func(r *InviteRequest) { r.Target = "sip:bob@example.org\r\nX: y" }},
		{"sips over udp", func(r *InviteRequest) { r.Target = "sips:bob@example.org" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := good
			tc.modify(&r)
			if c, err := ua.Invite(t.Context(), r); err == nil {
				c.Close()
				t.Fatal("Invite succeeded")
			}
		})
	}
	stopped, err := NewUA(Config{ListenAddr: "127.0.0.1:0"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := stopped.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := stopped.Invite(t.Context(), good); err != ErrClosed {
		t.Errorf("Invite on a stopped UA: %v, want ErrClosed", err)
	}
	if !strings.Contains(allowCalls, "INVITE") {
		t.Error("allowCalls lacks INVITE")
	}
}

func TestOutboundDigest(t *testing.T) {
	for _, tc := range []struct {
		name     string
		proxy    bool
		alg, qop string
		password string
		want     int // final status: 200, or the challenge repeated
	}{
		{"407 MD5", true, "MD5", "auth", testPassword, 200},
		{"401 SHA-256", false, "SHA-256", "auth", testPassword, 200},
		{"407 SHA-256 auth-int hashes the SDP", true, "SHA-256", "auth-int", testPassword, 200},
		{"401 without qop", false, "MD5", "", testPassword, 200},
		{"wrong password", true, "MD5", "auth", wrongPassword, 407},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			ua := startUA(t, callCfg())
			p := newPeer(t)
			auth := newAuth("alice", testPassword, tc.alg)
			auth.proxy, auth.qop = tc.proxy, tc.qop
			p.handleFunc(sipmsg.INVITE, func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
				if r := auth.check(req); r != nil {
					p.respond(req, tx, r.code, nil, r.headers...)
					return
				}
				p.respond(req, tx, 200, []byte(answerSDP))
			})
			rec := newRecorder()
			a := aliceAt(p.udpAddr, "")
			a.Password = tc.password
			c, err := ua.Invite(t.Context(), InviteRequest{Account: a, Target: "sip:bob@" + p.udpAddr, SDP: []byte(offerSDP), Handler: rec})
			if err != nil {
				t.Fatal(err)
			}
			first := p.next(t, sipmsg.INVITE, wait)
			second := p.next(t, sipmsg.INVITE, wait)
			if second.CallID().Value() != first.CallID().Value() || second.CSeq().SeqNo != first.CSeq().SeqNo+1 ||
				toTagOf(second, "") != "" || fromTag(second) != fromTag(first) {
				t.Errorf("retry: Call-ID %s/%s CSeq %d/%d", first.CallID().Value(), second.CallID().Value(), first.CSeq().SeqNo, second.CSeq().SeqNo)
			}
			if tc.want != 200 {
				e := rec.want(t, EventFailed, wait)
				if e.Status != tc.want {
					t.Errorf("failed with %d, want %d", e.Status, tc.want)
				}
				if n := len(p.got); n != 0 {
					t.Errorf("%d more requests after the refusal", n)
				}
				return
			}
			rec.want(t, EventAnswered, wait)
			if cred := auth.lastCred(); cred.QOP != tc.qop || !strings.EqualFold(cred.Algorithm, tc.alg) {
				t.Errorf("credentials qop %q algorithm %q", cred.QOP, cred.Algorithm)
			}
			if err := c.Hangup(t.Context(), ""); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func fromTag(m sipmsg.Message) string {
	tag, _ := m.From().Params.Get("tag")
	return tag
}

func TestOutboundFailures(t *testing.T) {
	noLeaks(t)
	ua := startUA(t, callCfg())
	p := newPeer(t)
	for _, tc := range []struct {
		name    string
		code    int
		headers []sipmsg.Header
		want    Event
	}{
		{"busy with Retry-After", 486, []sipmsg.Header{sipmsg.NewHeader("Retry-After", "60 (in a meeting);duration=30")},
			Event{Kind: EventFailed, Status: 486, Reason: "Busy Here", RetryAfter: time.Minute}},
		{"decline", 603, nil, Event{Kind: EventFailed, Status: 603, Reason: "Decline"}},
		{"not acceptable with Warning", 488, []sipmsg.Header{sipmsg.NewHeader("Warning", `305 bob.example.org "Incompatible media format"`)},
			Event{Kind: EventFailed, Status: 488, Reason: "Not Acceptable Here", Warning: `305 bob.example.org "Incompatible media format"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.handleFunc(sipmsg.INVITE, func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
				p.respond(req, tx, 183, []byte(answerSDP))
				time.Sleep(20 * time.Millisecond)
				p.respond(req, tx, tc.code, nil, tc.headers...)
			})
			rec := newRecorder()
			c := invite(t, ua, p.udpAddr, "", rec)
			if e := rec.want(t, EventProgress, wait); e.Status != 183 || string(e.Body) != answerSDP {
				t.Errorf("early media progress %+v", e)
			}
			if diff := cmp.Diff(tc.want, rec.want(t, EventFailed, wait)); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
			<-c.Done()
			if err := c.Hangup(t.Context(), ""); err != nil {
				t.Errorf("Hangup after failure: %v", err)
			}
			c.Cancel("")
			if _, err := c.Reinvite(t.Context(), []byte(offer2SDP)); err != ErrCallEnded {
				t.Errorf("Reinvite after failure: %v", err)
			}
			rec.quiet(t, 50*time.Millisecond)
		})
	}
	if st := ua.Stats(); st.CallsOut != 3 || st.CallsFailed != 3 || st.CallsAnswered != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestOutboundTransportError(t *testing.T) {
	noLeaks(t)
	ua := startUA(t, callCfg())
	p := newPeer(t)
	closed := p.tcpAddr
	p.cancel() // nothing listens there any more
	p.wg.Wait()
	rec := newRecorder()
	invite(t, ua, closed, "tcp", rec)
	e := rec.want(t, EventFailed, wait)
	if e.Status != 503 || !strings.Contains(e.Warning, "cannot reach SIP registrar "+closed) || e.Timeout {
		t.Errorf("event %+v", e)
	}
}

func TestOutboundTimeout(t *testing.T) {
	noLeaks(t)
	cfg := callCfg()
	cfg.InviteTimeout = 800 * time.Millisecond
	ua := startUA(t, cfg)
	raw := newRawPeer(t, ua)
	rec := newRecorder()
	start := time.Now()
	invite(t, ua, raw.addr, "", rec)
	if raw.next(t, sipmsg.INVITE, wait) == nil {
		t.Fatal("no INVITE")
	}
	e := rec.want(t, EventFailed, wait)
	if e.Status != 408 || e.Reason != "Request Timeout" || !e.Timeout {
		t.Errorf("event %+v", e)
	}
	if d := time.Since(start); d < 700*time.Millisecond || d > 3*time.Second {
		t.Errorf("timed out after %v, want about 800ms", d)
	}
}

func TestCancelDeferredUntilProvisional(t *testing.T) {
	noLeaks(t)
	cfg := callCfg()
	cfg.InviteTimeout = time.Second
	ua := startUA(t, cfg)

	t.Run("CANCEL after the first 1xx", func(t *testing.T) {
		raw := newRawPeer(t, ua)
		rec := newRecorder()
		c := invite(t, ua, raw.addr, "", rec)
		c.Cancel(`Q.850;cause=16;text="Normal call clearing"`)
		c.Cancel("ignored: idempotent")
		inv := raw.next(t, sipmsg.INVITE, wait)
		if r := raw.next(t, sipmsg.CANCEL, 300*time.Millisecond); r != nil {
			t.Fatal("CANCEL before any provisional response (RFC 3261 §9.1)")
		}
		raw.reply(t, inv, 180, "callee", nil)
		cancel := raw.next(t, sipmsg.CANCEL, wait)
		if cancel == nil {
			t.Fatal("no CANCEL after 180")
		}
		ib, _ := inv.Via().Params.Get("branch")
		cb, _ := cancel.Via().Params.Get("branch")
		if ib != cb || cancel.CSeq().SeqNo != inv.CSeq().SeqNo || cancel.Recipient.String() != inv.Recipient.String() || toTagOf(cancel, "") != "" {
			t.Errorf("CANCEL does not match the INVITE: branch %s/%s, CSeq %d/%d", ib, cb, inv.CSeq().SeqNo, cancel.CSeq().SeqNo)
		}
		if got := hdr(cancel, "Reason"); got != `Q.850;cause=16;text="Normal call clearing"` {
			t.Errorf("Reason %q", got)
		}
		raw.reply(t, cancel, 200, "callee", nil)
		raw.reply(t, inv, 487, "callee", nil)
		if ack := raw.next(t, sipmsg.ACK, wait); ack == nil {
			t.Error("487 not ACKed")
		}
		if e := rec.want(t, EventFailed, wait); e.Status != 487 {
			t.Errorf("event %+v", e)
		}
	})

	t.Run("no provisional: the INVITE times out", func(t *testing.T) {
		raw := newRawPeer(t, ua)
		rec := newRecorder()
		c := invite(t, ua, raw.addr, "", rec)
		c.Cancel("")
		if e := rec.want(t, EventFailed, wait); e.Status != 408 || !e.Timeout {
			t.Errorf("event %+v", e)
		}
		if raw.next(t, sipmsg.CANCEL, 100*time.Millisecond) != nil {
			t.Error("CANCEL sent without a provisional response")
		}
	})

	t.Run("no 487 after the CANCEL", func(t *testing.T) {
		raw := newRawPeer(t, ua)
		rec := newRecorder()
		c := invite(t, ua, raw.addr, "", rec)
		inv := raw.next(t, sipmsg.INVITE, wait)
		raw.reply(t, inv, 100, "", nil)
		if err := c.Hangup(t.Context(), ""); err != nil { // unanswered: cancels and waits
			t.Fatal(err)
		}
		if raw.next(t, sipmsg.CANCEL, wait) == nil {
			t.Fatal("no CANCEL")
		}
		if e := rec.want(t, EventFailed, wait); e.Status != 487 {
			t.Errorf("event %+v", e)
		}
	})
}

func TestCancelAfterRinging(t *testing.T) {
	noLeaks(t)
	ua := startUA(t, callCfg())
	p := newPeer(t)
	released := make(chan struct{})
	p.handleFunc(sipmsg.INVITE, func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		p.respond(req, tx, 180, nil)
		select { // sipgo answers the CANCEL (200) and the INVITE (487) itself
		case <-tx.Done():
		case <-released:
		}
	})
	defer close(released)
	rec := newRecorder()
	c := invite(t, ua, p.udpAddr, "", rec)
	rec.want(t, EventProgress, wait)
	c.Cancel("SIP;cause=487")
	select {
	case cancel := <-p.cancels:
		if hdr(cancel, "Reason") != "SIP;cause=487" {
			t.Errorf("CANCEL Reason %q", hdr(cancel, "Reason"))
		}
	case <-time.After(wait):
		t.Fatal("peer got no CANCEL")
	}
	if e := rec.want(t, EventFailed, wait); e.Status != 487 || e.Reason != "Request Terminated" {
		t.Errorf("event %+v", e)
	}
	rec.quiet(t, 100*time.Millisecond)
	if st := ua.Stats(); st.CallsFailed != 1 || st.CallsActive != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestAnswerCrossingCancel(t *testing.T) {
	noLeaks(t)
	ua := startUA(t, callCfg())
	raw := newRawPeer(t, ua)
	rec := newRecorder()
	c := invite(t, ua, raw.addr, "", rec)
	inv := raw.next(t, sipmsg.INVITE, wait)
	raw.reply(t, inv, 180, "callee", nil)
	rec.want(t, EventProgress, wait)
	c.Cancel("Q.850;cause=16")
	cancel := raw.next(t, sipmsg.CANCEL, wait)
	// The callee answered before it saw the CANCEL.
	raw.reply(t, inv, 200, "callee", []byte(answerSDP))
	raw.reply(t, cancel, 200, "callee", nil)
	ack := raw.next(t, sipmsg.ACK, wait)
	if ack == nil || toTagOf(ack, "") != "callee" || ack.Recipient.User != "bob" {
		t.Fatalf("2xx not ACKed in its dialog: %v", ack)
	}
	bye := raw.next(t, sipmsg.BYE, wait)
	if bye == nil || toTagOf(bye, "") != "callee" || hdr(bye, "Reason") != "Q.850;cause=16" {
		t.Fatalf("BYE %v", bye)
	}
	raw.reply(t, bye, 200, "callee", nil)
	if e := rec.want(t, EventFailed, wait); e.Status != 487 {
		t.Errorf("event %+v", e)
	}
	rec.quiet(t, 100*time.Millisecond)
}

func TestForkedAnswers(t *testing.T) {
	noLeaks(t)
	ua := startUA(t, callCfg())
	raw := newRawPeer(t, ua)
	rec := newRecorder()
	c := invite(t, ua, raw.addr, "", rec)
	inv := raw.next(t, sipmsg.INVITE, wait)
	raw.reply(t, inv, 200, "fork-a", []byte(answerSDP))
	if ack := raw.next(t, sipmsg.ACK, wait); ack == nil || toTagOf(ack, "") != "fork-a" {
		t.Fatalf("first 2xx not ACKed: %v", ack)
	}
	rec.want(t, EventAnswered, wait)
	raw.reply(t, inv, 200, "fork-a", []byte(answerSDP)) // a retransmission: ACKed again
	if ack := raw.again(t, sipmsg.ACK, wait); ack == nil || toTagOf(ack, "") != "fork-a" {
		t.Fatalf("retransmitted 2xx not ACKed: %v", ack)
	}
	raw.reply(t, inv, 200, "fork-b", []byte(answer2SD))
	var ackB, byeB *sipmsg.Request
	if ackB = raw.next(t, sipmsg.ACK, wait); ackB == nil || toTagOf(ackB, "") != "fork-b" {
		t.Fatalf("second 2xx not ACKed: %v", ackB)
	}
	if byeB = raw.next(t, sipmsg.BYE, wait); byeB == nil || toTagOf(byeB, "") != "fork-b" {
		t.Fatalf("second dialog not BYEd: %v", byeB)
	}
	raw.reply(t, byeB, 200, "fork-b", nil)
	rec.quiet(t, 100*time.Millisecond) // the call goes on with fork a
	go func() {
		if bye := raw.next(t, sipmsg.BYE, wait); bye != nil {
			raw.reply(t, bye, 200, toTagOf(bye, ""), nil)
		}
	}()
	if err := c.Hangup(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
}

func TestOutbound422(t *testing.T) {
	noLeaks(t)
	ua := startUA(t, callCfg())
	p := newPeer(t)
	p.handleFunc(sipmsg.INVITE, func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		if se, _, _ := sessionExpires(req); se < 3*time.Second {
			p.respond(req, tx, 422, nil, sipmsg.NewHeader("Min-SE", "3"))
			return
		}
		p.respond(req, tx, 200, []byte(answerSDP), sipmsg.NewHeader("Session-Expires", "3;refresher=uac"), sipmsg.NewHeader("Require", "timer"))
	})
	rec := newRecorder()
	c, err := ua.Invite(t.Context(), InviteRequest{Account: aliceAt(p.udpAddr, ""), Target: "sip:bob@" + p.udpAddr, SDP: []byte(offerSDP), SessionExpires: 2 * time.Second, Handler: rec})
	if err != nil {
		t.Fatal(err)
	}
	first := p.next(t, sipmsg.INVITE, wait)
	second := p.next(t, sipmsg.INVITE, wait)
	if hdr(first, "Session-Expires") != "2" || hdr(second, "Session-Expires") != "3" || hdr(second, "Min-SE") != "3" || second.CSeq().SeqNo != first.CSeq().SeqNo+1 {
		t.Errorf("Session-Expires %q then %q, Min-SE %q", hdr(first, "Session-Expires"), hdr(second, "Session-Expires"), hdr(second, "Min-SE"))
	}
	rec.want(t, EventAnswered, wait)
	c.mu.Lock()
	interval, we := c.timer.interval, c.timer.weRefresh
	c.mu.Unlock()
	if interval != 3*time.Second || !we {
		t.Errorf("session timer %v, we refresh %v", interval, we)
	}
	if err := c.Hangup(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
}

func TestOutboundRoute(t *testing.T) {
	for _, tc := range []struct {
		name  string
		proxy bool
	}{
		{"outbound proxy", true},
		{"registrar as first hop", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			ua := startUA(t, callCfg())
			p := newPeer(t)
			rr := "<sip:" + p.udpAddr + ";lr>"
			p.handleFunc(sipmsg.INVITE, func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
				p.respond(req, tx, 200, []byte(answerSDP), sipmsg.NewHeader("Record-Route", rr))
			})
			a := aliceAt(p.udpAddr, "")
			if tc.proxy {
				a.Registrar, a.OutboundProxy = "sip.example.org", "sip:"+p.udpAddr
			}
			rec := newRecorder()
			c, err := ua.Invite(t.Context(), InviteRequest{Account: a, Target: "sip:+14155550100@carrier.example.net;user=phone", SDP: []byte(offerSDP), Handler: rec})
			if err != nil {
				t.Fatal(err)
			}
			inv := p.next(t, sipmsg.INVITE, wait)
			if inv.Recipient.String() != "sip:+14155550100@carrier.example.net;user=phone" || hdr(inv, "Route") != "<sip:"+p.udpAddr+";lr>" {
				t.Errorf("Request-URI %s, Route %q", inv.Recipient.String(), hdr(inv, "Route"))
			}
			if inv.To().Address.String() != "sip:+14155550100@carrier.example.net" {
				t.Errorf("To %s", inv.To().Address.String())
			}
			rec.want(t, EventAnswered, wait)
			if err := c.Hangup(t.Context(), ""); err != nil {
				t.Fatal(err)
			}
			bye := p.next(t, sipmsg.BYE, wait)
			if bye.Recipient.User != "bob" || hdr(bye, "Route") != rr {
				t.Errorf("BYE Request-URI %s, Route %q; want the Contact via the Record-Route", bye.Recipient.String(), hdr(bye, "Route"))
			}
		})
	}
}

func TestCancelAfterAnswer(t *testing.T) {
	noLeaks(t)
	e := establish(t, callCfg(), true)
	e.c.Cancel("Q.850;cause=31")
	bye := e.p.next(t, sipmsg.BYE, wait)
	if hdr(bye, "Reason") != "Q.850;cause=31" {
		t.Errorf("BYE Reason %q", hdr(bye, "Reason"))
	}
	<-e.c.Done()
	e.rec.quiet(t, 100*time.Millisecond) // our own hangup: no event
}
