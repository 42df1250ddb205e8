package sip

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// sessionTimer is a call's RFC 4028 session timer. The Call's mutex guards
// it; a callback that finds gen changed was stopped or re-armed meanwhile.
type sessionTimer struct {
	interval  time.Duration // current session interval, 0: no timer
	weRefresh bool          // we are the refresher
	minSE     time.Duration // the Min-SE we send: ours, raised by a 422
	gen       uint64
	t         *time.Timer
}

func (st *sessionTimer) stop() {
	st.gen++
	if st.t != nil {
		st.t.Stop()
		st.t = nil
	}
}

// expiryMargin is how long before the session expires the side that does
// not refresh gives up: min(32 s, interval/3) (RFC 4028 §10).
func expiryMargin(interval time.Duration) time.Duration {
	return min(32*time.Second, interval/3)
}

// armTimer (re)starts the session timer after a successful refresh or the
// initial 2xx: the refresher refreshes at half the interval, the other side
// ends the call shortly before it expires. interval 0 turns it off. c.mu
// must be held.
func (c *Call) armTimer(interval time.Duration, weRefresh bool) {
	st := &c.timer
	st.stop()
	st.interval, st.weRefresh = interval, weRefresh
	if interval <= 0 || c.state == stateEnded {
		st.interval = 0
		return
	}
	if weRefresh {
		c.schedule(interval/2, c.refresh)
		return
	}
	c.schedule(interval-expiryMargin(interval), c.expire)
}

// schedule runs f(gen) after d as tracked work of the UA. c.mu must be
// held.
func (c *Call) schedule(d time.Duration, f func(gen uint64)) {
	gen := c.timer.gen
	c.timer.t = time.AfterFunc(max(d, 0), func() {
		if !c.ua.enterInbound() {
			return // the UA stopped
		}
		defer c.ua.inflight.Done()
		f(gen)
	})
}

// current reports whether the timer callback of generation gen still
// applies to a confirmed dialog. c.mu must be held.
func (c *Call) current(gen uint64) bool {
	return gen == c.timer.gen && c.state == stateConfirmed
}

// expire ends the call when the peer, the refresher, let the session
// lapse.
func (c *Call) expire(gen uint64) {
	c.mu.Lock()
	ok := c.current(gen)
	c.mu.Unlock()
	if ok {
		c.endWithBye(Event{Kind: EventEnded, Reason: "session timer expired"}, "")
	}
}

// refresh sends the session refresh we owe: an UPDATE without body if the
// peer allows UPDATE, else a re-INVITE with the unchanged last local SDP.
// A 491 is retried once after the RFC 3261 §14.1 back-off. Timeout, 408
// and 481 end the call (offer does that); after other failures the session
// lives on until it would expire.
func (c *Call) refresh(gen uint64) {
	c.mu.Lock()
	if !c.current(gen) {
		c.mu.Unlock()
		return
	}
	interval := c.timer.interval
	if c.offering {
		// Another offer/answer is under way; its success refreshes the
		// session, and if it fails we try again soon.
		c.schedule(min(2*time.Second, interval/4), c.refresh)
		c.mu.Unlock()
		return
	}
	method, sdp := sipmsg.INVITE, c.localSDP
	if c.d.peerUpdate {
		method, sdp = sipmsg.UPDATE, nil
	}
	c.mu.Unlock()
	ctx := context.Background()
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if _, err = c.offer(ctx, method, sdp); !isStatus(err, 491) || attempt > 0 {
			break
		}
		if c.sleep(ctx, c.ua.cfg.glareWait(c.outbound)) != nil {
			return
		}
	}
	if err == nil {
		c.log.Debug("SIP session refreshed", "method", string(method))
		return
	}
	c.log.Warn("SIP session refresh failed", "err", err)
	c.mu.Lock()
	if c.state == stateConfirmed && c.timer.gen == gen {
		// Half the interval is left since the last refresh.
		c.schedule(interval/2-expiryMargin(interval), c.expire)
	}
	c.mu.Unlock()
}

func isStatus(err error, code int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == code
}

// raiseInterval takes the Min-SE of a 422 (RFC 4028 §7.3) for the retry;
// false if it gives nothing to retry with.
func (c *Call) raiseInterval(res *sipmsg.Response) bool {
	v, ok := minSE(res)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ok || v <= c.timer.interval {
		return false
	}
	if c.timer.interval == 0 {
		c.timer.weRefresh = true // the peer insists on a timer we did not ask for
	}
	c.timer.minSE = max(c.timer.minSE, v)
	c.timer.interval = v
	return true
}

// timerRequest adds the RFC 4028 headers to a re-INVITE or UPDATE of ours:
// while a timer runs, Session-Expires keeps the refresher as it is (the
// refresher parameter names the role in this transaction), and Min-SE.
// c.mu must be held.
func (c *Call) timerRequest(req *sipmsg.Request) {
	req.AppendHeader(sipmsg.NewHeader("Supported", supported))
	if st := c.timer; st.interval > 0 {
		req.AppendHeader(sipmsg.NewHeader("Session-Expires", seconds(st.interval)+";refresher="+refresherParam(st.weRefresh)))
		req.AppendHeader(sipmsg.NewHeader("Min-SE", seconds(st.minSE)))
	}
}

// refresherParam names the refresher from the sender's side of a
// transaction: "uac" if the request's sender refreshes.
func refresherParam(uacRefreshes bool) string {
	if uacRefreshes {
		return "uac"
	}
	return "uas"
}

// uacTimer reads the session timer from a 2xx to our INVITE or UPDATE
// (RFC 4028 §7.2): none without Session-Expires; we refresh unless the
// answerer took the job.
func uacTimer(res *sipmsg.Response) (time.Duration, bool) {
	se, refresher, ok := sessionExpires(res)
	if !ok {
		return 0, false
	}
	return se, refresher != "uas"
}

// uasTimer decides the session timer of our 2xx to an INVITE or UPDATE
// (RFC 4028 §9). prev is the interval in force (0 for an initial INVITE).
// A Session-Expires is kept as asked (never raised); if it is below min
// and the peer supports timers, tooSmall asks for a 422. When the peer
// leaves the refresher to us, or cannot refresh (no Supported: timer), we
// refresh: that keeps a dead peer from keeping the call alive. A refresh
// without Session-Expires from a peer that supports timers keeps prev.
func uasTimer(req *sipmsg.Request, min, prev time.Duration) (interval time.Duration, weRefresh, tooSmall bool) {
	se, refresher, ok := sessionExpires(req)
	peerTimer := hasToken(req, "Supported", "k", supported)
	switch {
	case ok && se < min && peerTimer:
		return 0, false, true
	case ok:
		return se, !peerTimer || refresher != "uac", false
	case peerTimer && prev > 0:
		return prev, true, false
	}
	return 0, false, false
}

// glareWait is RFC 3261 §14.1's wait before retrying after 491: 2.1–4 s
// for the owner of the Call-ID (who placed the call), else 0–2 s.
func glareWait(owner bool) time.Duration {
	if owner {
		return 2100*time.Millisecond + rand.N(1900*time.Millisecond)
	}
	return rand.N(2 * time.Second)
}
