package sip

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// established is a confirmed call between the UA and a peer.
type established struct {
	ua  *UA
	p   *peer
	c   *Call
	rec *recorder
	d   *peerDialog // the peer's side
}

// establish sets up a confirmed call, placed by the UA (outbound) or by the
// peer. peerHeaders go into the peer's INVITE or 200.
func establish(t *testing.T, cfg Config, outbound bool, peerHeaders ...sipmsg.Header) *established {
	t.Helper()
	b := newInbox()
	ua := startCallUA(t, cfg, b)
	p := newPeer(t)
	e := &established{ua: ua, p: p}
	if outbound {
		p.handleFunc(sipmsg.INVITE, func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
			if toTagOf(req, "") != "" { // re-INVITE from the UA
				p.respond(req, tx, 200, []byte(answer2SD))
				return
			}
			p.respond(req, tx, 200, []byte(answerSDP), peerHeaders...)
		})
		e.rec = newRecorder()
		e.c = invite(t, ua, p.udpAddr, "", e.rec)
		inv := p.next(t, sipmsg.INVITE, wait)
		e.rec.want(t, EventAnswered, wait)
		p.next(t, sipmsg.ACK, wait)
		e.d = p.uasDialog(inv)
		return e
	}
	p.handleFunc(sipmsg.INVITE, func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		p.respond(req, tx, 200, []byte(offer2SDP))
	})
	pc := p.call(t, ua, testToken, "UDP", []byte(offerSDP), peerHeaders...)
	ic := b.next(t)
	done := answer(ic, answerSDP)
	ok := pc.final(t, wait)
	e.d = pc.ack(t, ok, nil)
	if err := result(t, done); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	e.c, e.rec = ic.Call, b.rec
	e.rec.want(t, EventAnswered, wait)
	return e
}

// hangup ends the call from our side, the peer answering the BYE.
func (e *established) hangup(t *testing.T) {
	t.Helper()
	if err := e.c.Hangup(t.Context(), ""); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
}

func direction(outbound bool) string {
	if outbound {
		return "outbound call"
	}
	return "inbound call"
}

func TestPeerOffers(t *testing.T) {
	for _, outbound := range []bool{true, false} {
		t.Run(direction(outbound), func(t *testing.T) {
			noLeaks(t)
			e := establish(t, callCfg(), outbound)
			ourSDP := answerSDP // what the UA sent last
			peerSDP := offerSDP
			if outbound {
				ourSDP, peerSDP = offerSDP, answerSDP
			}

			// A new offer goes to the handler; its answer comes back.
			res := e.d.do(t, sipmsg.INVITE, []byte(offer2SDP))
			if res.StatusCode != 200 || string(res.Body()) != answer2SD || hdr(res, "Content-Type") != "application/sdp" || hdr(res, "Contact") == "" {
				t.Fatalf("re-INVITE: %s %q", res.StartLine(), res.Body())
			}
			if got := e.rec.offered(t); got != offer2SDP {
				t.Errorf("Offer got %q", got)
			}
			ourSDP, peerSDP = answer2SD, offer2SDP

			// A refresh (same o= version) is answered with our last SDP.
			res = e.d.do(t, sipmsg.INVITE, []byte(peerSDP))
			if res.StatusCode != 200 || string(res.Body()) != ourSDP {
				t.Errorf("refresh re-INVITE: %s %q", res.StartLine(), res.Body())
			}
			// So is an offerless re-INVITE (our SDP as the offer).
			res = e.d.do(t, sipmsg.INVITE, nil)
			if res.StatusCode != 200 || string(res.Body()) != ourSDP {
				t.Errorf("offerless re-INVITE: %s %q", res.StartLine(), res.Body())
			}
			// An UPDATE without body only refreshes.
			res = e.d.do(t, sipmsg.UPDATE, nil)
			if res.StatusCode != 200 || len(res.Body()) != 0 {
				t.Errorf("UPDATE: %s %q", res.StartLine(), res.Body())
			}
			// An UPDATE with a new offer goes to the handler.
			offer3 := []byte(offer2SDP[:len("v=0\r\no=- 1000 ")] + "3" + offer2SDP[len("v=0\r\no=- 1000 2"):])
			res = e.d.do(t, sipmsg.UPDATE, offer3)
			if res.StatusCode != 200 || string(res.Body()) != answer2SD {
				t.Errorf("UPDATE with offer: %s %q", res.StartLine(), res.Body())
			}
			if got := e.rec.offered(t); got != string(offer3) {
				t.Errorf("Offer got %q", got)
			}
			select {
			case o := <-e.rec.offers:
				t.Errorf("handler asked about a refresh: %q", o)
			default:
			}

			// Refusals: a *StatusError sets the code and Warning, others 500.
			for _, tc := range []struct {
				err     error
				code    int
				warning string
			}{
				{&StatusError{Code: 488, Reason: "Not Acceptable Here", Detail: "no common codec"}, 488, `399 127.0.0.1 "no common codec"`},
				{errors.New("boom"), 500, ""},
			} {
				e.rec.onOffer(func([]byte) ([]byte, error) { return nil, tc.err })
				offer := []byte(fmt.Sprintf("v=0\r\no=- 1000 %d IN IP4 127.0.0.1\r\ns=-\r\n", 10+tc.code))
				res := e.d.do(t, sipmsg.INVITE, offer)
				if res.StatusCode != tc.code || hdr(res, "Warning") != tc.warning {
					t.Errorf("refused offer: %s Warning %q", res.StartLine(), hdr(res, "Warning"))
				}
				e.rec.offered(t)
			}
			e.rec.quiet(t, 50*time.Millisecond)
			e.hangup(t)
		})
	}
}

func TestReinviteFromUs(t *testing.T) {
	for _, outbound := range []bool{true, false} {
		t.Run(direction(outbound), func(t *testing.T) {
			noLeaks(t)
			e := establish(t, callCfg(), outbound)
			answer, err := e.c.Reinvite(t.Context(), []byte(offer2SDP))
			if err != nil {
				t.Fatal(err)
			}
			want := answer2SD // the peer's in-dialog answer in establish
			if !outbound {
				want = offer2SDP
			}
			if string(answer) != want {
				t.Errorf("answer %q", answer)
			}
			inv := e.p.next(t, sipmsg.INVITE, wait)
			if string(inv.Body()) != offer2SDP || toTagOf(inv, "") == "" || hdr(inv, "Supported") != "timer" || inv.Contact() == nil {
				t.Errorf("re-INVITE %q To tag %q", inv.Body(), toTagOf(inv, ""))
			}
			ack := e.p.next(t, sipmsg.ACK, wait)
			if ack.CSeq().SeqNo != inv.CSeq().SeqNo {
				t.Errorf("ACK CSeq %d for re-INVITE %d", ack.CSeq().SeqNo, inv.CSeq().SeqNo)
			}
			// The peer's refresh repeating its answer gets our new offer back.
			res := e.d.do(t, sipmsg.INVITE, answer)
			if string(res.Body()) != offer2SDP {
				t.Errorf("refresh answered with %q", res.Body())
			}
			select {
			case o := <-e.rec.offers:
				t.Errorf("handler asked about a refresh: %q", o)
			default:
			}
			e.hangup(t)
		})
	}
}

func TestReinviteFailures(t *testing.T) {
	noLeaks(t)
	e := establish(t, callCfg(), true)
	var n atomic.Int32
	script := func(codes ...int) {
		n.Store(0)
		e.p.handleFunc(sipmsg.INVITE, func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
			code := codes[min(int(n.Add(1))-1, len(codes)-1)]
			if code == 200 {
				e.p.respond(req, tx, 200, []byte(answer2SD))
				return
			}
			e.p.respond(req, tx, code, nil)
		})
	}

	script(491, 200) // glare: retried once after the back-off
	if answer, err := e.c.Reinvite(t.Context(), []byte(offer2SDP)); err != nil || string(answer) != answer2SD {
		t.Errorf("after 491: %q, %v", answer, err)
	}
	script(491, 491)
	_, err := e.c.Reinvite(t.Context(), []byte(offer2SDP))
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 491 || n.Load() != 2 {
		t.Errorf("491 twice: %v after %d requests", err, n.Load())
	}
	script(488)
	if _, err := e.c.Reinvite(t.Context(), []byte(offer2SDP)); !errors.As(err, &se) || se.Code != 488 || se.Peer != "SIP peer" {
		t.Errorf("488: %v", err)
	}
	e.rec.quiet(t, 50*time.Millisecond) // the call goes on
	if err := e.c.Info(t.Context(), "application/dtmf-relay", []byte("Signal=1\r\n")); err != nil {
		t.Errorf("INFO after failed re-INVITE: %v", err)
	}

	script(408) // the dialog is gone: BYE and EventEnded
	if _, err := e.c.Reinvite(t.Context(), []byte(offer2SDP)); !errors.As(err, &se) || se.Code != 408 {
		t.Errorf("408: %v", err)
	}
	if ev := e.rec.want(t, EventEnded, wait); ev.Status != 408 {
		t.Errorf("event %+v", ev)
	}
	e.p.next(t, sipmsg.BYE, wait)
	if _, err := e.c.Reinvite(t.Context(), []byte(offer2SDP)); !errors.Is(err, ErrCallEnded) {
		t.Errorf("Reinvite on an ended call: %v", err)
	}
}

func TestInfo(t *testing.T) {
	for _, outbound := range []bool{true, false} {
		t.Run(direction(outbound), func(t *testing.T) {
			noLeaks(t)
			e := establish(t, callCfg(), outbound)
			body := []byte("Signal=5\r\nDuration=100\r\n")
			res := e.d.do(t, sipmsg.INFO, nil, sipmsg.NewHeader("Content-Type", "application/dtmf-relay"))
			if res.StatusCode != 200 {
				t.Errorf("INFO answered %d", res.StatusCode)
			}
			e.rec.want(t, EventInfo, wait)
			req := e.d.request(sipmsg.INFO, nil, sipmsg.NewHeader("Content-Type", "application/dtmf-relay"))
			req.SetBody(body)
			if res := e.p.send(t, req); res.StatusCode != 200 {
				t.Errorf("INFO answered %d", res.StatusCode)
			}
			if ev := e.rec.want(t, EventInfo, wait); ev.ContentType != "application/dtmf-relay" || string(ev.Body) != string(body) {
				t.Errorf("event %+v", ev)
			}

			if err := e.c.Info(t.Context(), "application/dtmf-relay", body); err != nil {
				t.Fatal(err)
			}
			info := e.p.next(t, sipmsg.INFO, wait)
			if hdr(info, "Content-Type") != "application/dtmf-relay" || string(info.Body()) != string(body) || toTagOf(info, "") == "" {
				t.Errorf("INFO %q %q", hdr(info, "Content-Type"), info.Body())
			}
			if err := e.c.Info(t.Context(), "bad\r\ntype", body); err == nil {
				t.Error("INFO with a broken content type")
			}

			// 481: the peer lost the dialog; the call ends without BYE.
			e.p.handleFunc(sipmsg.INFO, func(req *sipmsg.Request, tx sipmsg.ServerTransaction) { e.p.respond(req, tx, 481, nil) })
			var se *StatusError
			if err := e.c.Info(t.Context(), "application/dtmf-relay", body); !errors.As(err, &se) || se.Code != 481 {
				t.Errorf("INFO to a lost dialog: %v", err)
			}
			if ev := e.rec.want(t, EventEnded, wait); ev.Status != 481 {
				t.Errorf("event %+v", ev)
			}
			select {
			case req := <-e.p.got:
				if req.Method == sipmsg.BYE {
					t.Error("BYE after 481")
				}
			case <-time.After(100 * time.Millisecond):
			}
		})
	}
}

func TestUnknownDialog(t *testing.T) {
	noLeaks(t)
	e := establish(t, callCfg(), true)
	for _, m := range []sipmsg.RequestMethod{sipmsg.BYE, sipmsg.INFO, sipmsg.UPDATE, sipmsg.INVITE} {
		for name, d := range map[string]*peerDialog{
			"unknown Call-ID": {p: e.p, callID: "nope", local: e.d.local, remote: e.d.remote, localTag: e.d.localTag, remoteTag: e.d.remoteTag, target: e.d.target, transport: "UDP"},
			"wrong tag":       {p: e.p, callID: e.d.callID, local: e.d.local, remote: e.d.remote, localTag: "other", remoteTag: e.d.remoteTag, target: e.d.target, transport: "UDP"},
		} {
			if res := e.p.send(t, d.request(m, nil)); res.StatusCode != 481 {
				t.Errorf("%s with %s: %d, want 481", m, name, res.StatusCode)
			}
		}
	}
	// Out-of-dialog BYE (no To tag).
	req := e.d.request(sipmsg.BYE, nil)
	req.To().Params.Remove("tag")
	if res := e.p.send(t, req); res.StatusCode != 481 {
		t.Errorf("BYE outside a dialog: %d", res.StatusCode)
	}
	// A request older than the last one is out of order.
	e.d.do(t, sipmsg.INFO, nil)
	e.rec.want(t, EventInfo, wait)
	e.d.seq -= 5
	if res := e.d.do(t, sipmsg.INFO, nil); res.StatusCode != 500 {
		t.Errorf("old CSeq: %d, want 500", res.StatusCode)
	}
	e.d.seq += 10
	e.hangup(t)
}

func TestPeerGlare(t *testing.T) {
	noLeaks(t)
	e := establish(t, callCfg(), true)
	release := make(chan struct{})
	e.p.handleFunc(sipmsg.INVITE, func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		<-release // our re-INVITE waits at the peer…
		e.p.respond(req, tx, 200, []byte(answer2SD))
	})
	done := make(chan error, 1)
	go func() {
		_, err := e.c.Reinvite(t.Context(), []byte(offer2SDP))
		done <- err
	}()
	e.p.next(t, sipmsg.INVITE, wait)
	// …while the peer sends its own.
	if res := e.d.do(t, sipmsg.INVITE, []byte(answer2SD)); res.StatusCode != 491 {
		t.Errorf("peer's re-INVITE during ours: %d, want 491", res.StatusCode)
	}
	if res := e.d.do(t, sipmsg.UPDATE, []byte(answer2SD)); res.StatusCode != 491 {
		t.Errorf("peer's UPDATE with offer during our re-INVITE: %d, want 491", res.StatusCode)
	}
	if res := e.d.do(t, sipmsg.UPDATE, nil); res.StatusCode != 200 {
		t.Errorf("peer's refresh UPDATE during our re-INVITE: %d, want 200", res.StatusCode)
	}
	close(release)
	if err := result(t, done); err != nil {
		t.Errorf("Reinvite: %v", err)
	}
	e.hangup(t)
}

func TestOfferTimeout(t *testing.T) {
	noLeaks(t)
	cfg := callCfg()
	cfg.offerTimeout = 200 * time.Millisecond
	e := establish(t, cfg, true)
	unblock := make(chan struct{})
	e.rec.onOffer(func([]byte) ([]byte, error) {
		<-unblock // a handler that hangs
		return []byte(answer2SD), nil
	})
	start := time.Now()
	if res := e.d.do(t, sipmsg.INVITE, []byte(offer2SDP)); res.StatusCode != 500 {
		t.Errorf("re-INVITE while the handler hangs: %d, want 500", res.StatusCode)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("answered after %v", d)
	}
	close(unblock)
	e.rec.offered(t)
	e.hangup(t)
}
