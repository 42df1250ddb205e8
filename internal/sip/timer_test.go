package sip

import (
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

func TestUASTimer(t *testing.T) {
	min := 90 * time.Second
	for _, tc := range []struct {
		name      string
		headers   map[string]string
		prev      time.Duration
		interval  time.Duration
		weRefresh bool
		tooSmall  bool
	}{
		{"no timer", nil, 0, 0, false, false},
		{"supported, no Session-Expires", map[string]string{"Supported": "timer"}, 0, 0, false, false},
		{"refresh without Session-Expires keeps it", map[string]string{"Supported": "100rel, timer"}, 600 * time.Second, 600 * time.Second, true, false},
		{"uac refreshes", map[string]string{"Supported": "timer", "Session-Expires": "1800;refresher=uac"}, 0, 1800 * time.Second, false, false},
		{"uas asked", map[string]string{"Supported": "timer", "Session-Expires": "1800;refresher=uas"}, 0, 1800 * time.Second, true, false},
		{"left open: we refresh", map[string]string{"k": "timer", "x": "300"}, 0, 300 * time.Second, true, false},
		{"uac without timer support cannot refresh", map[string]string{"Session-Expires": "1800;refresher=uac"}, 0, 1800 * time.Second, true, false},
		{"too small", map[string]string{"Supported": "timer", "Session-Expires": "60"}, 0, 0, false, true},
		{"too small from a proxy: kept", map[string]string{"Session-Expires": "60"}, 0, 60 * time.Second, true, false},
		{"garbage", map[string]string{"Supported": "timer", "Session-Expires": "soon"}, 0, 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := sipmsg.NewRequest(sipmsg.INVITE, sipmsg.Uri{Host: "x"})
			for k, v := range tc.headers {
				req.AppendHeader(sipmsg.NewHeader(k, v))
			}
			interval, we, small := uasTimer(req, min, tc.prev)
			if interval != tc.interval || we != tc.weRefresh || small != tc.tooSmall {
				t.Errorf("got %v, we refresh %v, too small %v", interval, we, small)
			}
		})
	}
}

func TestUACTimer(t *testing.T) {
	for v, want := range map[string]struct {
		interval time.Duration
		we       bool
	}{
		"":                    {0, false},
		"1800":                {1800 * time.Second, true},
		"1800;refresher=uac":  {1800 * time.Second, true},
		"90 ; Refresher=UAS ": {90 * time.Second, false},
		"0":                   {0, false},
	} {
		res := sipmsg.NewResponse(200, "OK")
		if v != "" {
			res.AppendHeader(sipmsg.NewHeader("Session-Expires", v))
		}
		if interval, we := uacTimer(res); interval != want.interval || we != want.we {
			t.Errorf("%q: %v %v, want %v %v", v, interval, we, want.interval, want.we)
		}
	}
}

func TestSDPVersion(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{offerSDP, offerSDP, true},
		{offerSDP, offer2SDP, false},
		{"o=- 1 1 IN IP4 h\r\n", "v=0\no=x 1 1 IN IP4 other\n", true}, // id and version decide
		{"", "", false},
		{"o=broken\r\n", "o=broken\r\n", false},
	} {
		if got := sameSession([]byte(tc.a), []byte(tc.b)); got != tc.same {
			t.Errorf("sameSession(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

func TestSessionTimerWeRefresh(t *testing.T) {
	for _, tc := range []struct {
		name     string
		outbound bool
		update   bool // the peer allows UPDATE
	}{
		{"outbound, re-INVITE", true, false},
		{"outbound, UPDATE", true, true},
		{"inbound, re-INVITE", false, false},
		{"inbound, UPDATE", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			var hs []sipmsg.Header
			if tc.outbound {
				hs = append(hs, sipmsg.NewHeader("Session-Expires", "2;refresher=uac"), sipmsg.NewHeader("Require", "timer"))
			} else {
				hs = append(hs, sipmsg.NewHeader("Supported", "timer"), sipmsg.NewHeader("Session-Expires", "2"))
			}
			if tc.update {
				hs = append(hs, sipmsg.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, UPDATE"))
			}
			start := time.Now()
			e := establish(t, callCfg(), tc.outbound, hs...)
			method, ourSDP := sipmsg.INVITE, answerSDP
			if tc.outbound {
				ourSDP = offerSDP
			}
			if tc.update {
				method = sipmsg.UPDATE
			}
			// The peer confirms each refresh, leaving the refreshing to the
			// sender of the refresh (uac of that transaction): us.
			e.p.handleFunc(method, func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
				var body []byte
				if method == sipmsg.INVITE {
					body = []byte(answerSDP)
				}
				e.p.respond(req, tx, 200, body, sipmsg.NewHeader("Session-Expires", "2;refresher=uac"), sipmsg.NewHeader("Require", "timer"))
			})
			var last time.Time
			for i := range 2 {
				req := e.p.next(t, method, 3*time.Second)
				now := time.Now()
				since := now.Sub(start)
				if i > 0 {
					since = now.Sub(last)
				}
				if since < 800*time.Millisecond || since > 1500*time.Millisecond {
					t.Errorf("refresh %d after %v, want about 1s (half of 2s)", i, since)
				}
				last = now
				if got := hdr(req, "Session-Expires"); got != "2;refresher=uac" {
					t.Errorf("refresh Session-Expires %q", got)
				}
				if method == sipmsg.INVITE && string(req.Body()) != ourSDP {
					t.Errorf("refresh re-INVITE carries %q, want the unchanged last local SDP", req.Body())
				}
				if method == sipmsg.UPDATE && len(req.Body()) != 0 {
					t.Errorf("refresh UPDATE carries a body")
				}
			}
			select {
			case o := <-e.rec.offers:
				t.Errorf("handler asked about a refresh: %q", o)
			default:
			}
			e.rec.quiet(t, 50*time.Millisecond)
			e.hangup(t)
		})
	}
}

func TestSessionTimerPeerSilent(t *testing.T) {
	for _, outbound := range []bool{true, false} {
		t.Run(direction(outbound), func(t *testing.T) {
			noLeaks(t)
			var hs []sipmsg.Header
			if outbound {
				hs = append(hs, sipmsg.NewHeader("Session-Expires", "3;refresher=uas"), sipmsg.NewHeader("Require", "timer"))
			} else {
				hs = append(hs, sipmsg.NewHeader("Supported", "timer"), sipmsg.NewHeader("Session-Expires", "3;refresher=uac"))
			}
			start := time.Now()
			e := establish(t, callCfg(), outbound, hs...)
			// One refresh from the peer at 1s puts the expiry off to
			// 1s + 3s - 1s (the margin of a third).
			time.Sleep(time.Second - time.Since(start))
			res := e.d.do(t, sipmsg.UPDATE, nil, sipmsg.NewHeader("Supported", "timer"), sipmsg.NewHeader("Session-Expires", "3;refresher=uac"))
			if res.StatusCode != 200 || hdr(res, "Session-Expires") != "3;refresher=uac" || hdr(res, "Require") != "timer" {
				t.Errorf("refresh: %s Session-Expires %q", res.StartLine(), hdr(res, "Session-Expires"))
			}
			refreshed := time.Now()
			bye := e.p.next(t, sipmsg.BYE, 5*time.Second)
			if d := time.Since(refreshed); d < 1800*time.Millisecond || d > 2500*time.Millisecond {
				t.Errorf("BYE %v after the refresh, want 2s (3s - 1s)", d)
			}
			if bye.CallID().Value() != e.c.CallID() {
				t.Errorf("BYE for %s", bye.CallID().Value())
			}
			ev := e.rec.want(t, EventEnded, wait)
			if ev.Reason != "session timer expired" {
				t.Errorf("event %+v", ev)
			}
			e.rec.quiet(t, 50*time.Millisecond)
		})
	}
}

func TestSessionRefreshFails(t *testing.T) {
	for _, tc := range []struct {
		code int
		bye  bool
	}{
		{481, false},
		{408, true},
	} {
		t.Run(reasons[tc.code], func(t *testing.T) {
			noLeaks(t)
			e := establish(t, callCfg(), true, sipmsg.NewHeader("Session-Expires", "2;refresher=uac"))
			e.p.handleFunc(sipmsg.INVITE, func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
				e.p.respond(req, tx, tc.code, nil)
			})
			e.p.next(t, sipmsg.INVITE, 3*time.Second)
			ev := e.rec.want(t, EventEnded, wait)
			if ev.Status != tc.code {
				t.Errorf("event %+v", ev)
			}
			gotBye := false
			deadline := time.After(300 * time.Millisecond)
		loop:
			for {
				select {
				case req := <-e.p.got:
					gotBye = gotBye || req.Method == sipmsg.BYE
				case <-deadline:
					break loop
				}
			}
			if gotBye != tc.bye {
				t.Errorf("BYE sent: %v, want %v", gotBye, tc.bye)
			}
		})
	}
}

func TestSessionRefreshRejectedLivesOn(t *testing.T) {
	noLeaks(t)
	e := establish(t, callCfg(), true, sipmsg.NewHeader("Session-Expires", "3;refresher=uac"))
	e.p.handleFunc(sipmsg.INVITE, func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		e.p.respond(req, tx, 500, nil)
	})
	start := time.Now()
	e.p.next(t, sipmsg.INVITE, 3*time.Second) // at 1.5s, refused
	e.rec.quiet(t, 300*time.Millisecond)      // the call survives the failure…
	e.p.next(t, sipmsg.BYE, 3*time.Second)    // …until the session would expire
	if d := time.Since(start); d < 1800*time.Millisecond || d > 2600*time.Millisecond {
		t.Errorf("BYE after %v, want about 2s (3s - 1s margin)", d)
	}
	if ev := e.rec.want(t, EventEnded, wait); ev.Reason != "session timer expired" {
		t.Errorf("event %+v", ev)
	}
}
