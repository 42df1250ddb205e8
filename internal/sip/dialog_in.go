package sip

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// serveCall handles the requests that belong to calls: new INVITEs when a
// hook is set, and ACK, BYE, INFO, UPDATE and re-INVITEs of our dialogs.
// It reports false for what handleRequest answers as before. It runs on
// the request's sipgo goroutine and may block until the request is done
// (an INVITE until its 2xx is ACKed).
func (ua *UA) serveCall(req *sipmsg.Request, tx sipmsg.ServerTransaction) bool {
	toTag := ""
	if to := req.To(); to != nil {
		toTag, _ = to.Params.Get("tag")
	}
	switch req.Method {
	case sipmsg.INVITE:
		if toTag == "" {
			return ua.newInvite(req, tx)
		}
	case sipmsg.ACK, sipmsg.BYE, sipmsg.INFO, sipmsg.UPDATE:
	default:
		return false
	}
	c := ua.findDialog(req, toTag)
	switch {
	case req.IsAck():
		if c != nil {
			c.onAck(req)
		}
	case c == nil:
		respond(ua, tx, req, 481, "Call/Transaction Does Not Exist")
	case req.Method == sipmsg.BYE:
		c.onBye(req, tx)
	case req.Method == sipmsg.INFO:
		c.onInfo(req, tx)
	default:
		c.onOffer(req, tx)
	}
	return true
}

// findDialog returns the call whose dialog req belongs to (RFC 3261
// §12.2.2: Call-ID, our tag in To, the peer's in From), or nil.
func (ua *UA) findDialog(req *sipmsg.Request, toTag string) *Call {
	id, from := req.CallID(), req.From()
	if id == nil || from == nil || toTag == "" {
		return nil
	}
	c := ua.calls.get(id.Value())
	if c == nil {
		return nil
	}
	fromTag, _ := from.Params.Get("tag")
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.d.localTag != toTag || (c.d.remoteTag != "" && c.d.remoteTag != fromTag) {
		return nil
	}
	return c
}

// respond answers req on tx, logging what cannot be sent.
func respond(ua *UA, tx sipmsg.ServerTransaction, req *sipmsg.Request, code int, reason string, headers ...sipmsg.Header) {
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	res.AppendHeader(sipmsg.NewHeader("Server", ua.cfg.UserAgent))
	for _, h := range headers {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		ua.log.Debug("SIP response not sent", "method", string(req.Method), "status", code, "err", err)
	}
}

// checkSeq applies RFC 3261 §12.2.2: a request with a lower CSeq than the
// last one is out of order (500). c.mu must be held.
func (c *Call) checkSeq(req *sipmsg.Request) bool {
	seq := req.CSeq().SeqNo
	if c.d.remoteSeq != 0 && seq < c.d.remoteSeq {
		return false
	}
	c.d.remoteSeq = seq
	return true
}

// inDialog reports whether the dialog can take requests: confirmed, or
// answered by us and waiting for the ACK.
func (c *Call) inDialog() bool {
	return c.state == stateConfirmed || c.state == stateAnswered
}

// onBye ends the call at the peer's request. A BYE on our inbound call
// before we answered it ends the call too; the INVITE then gets 487 from
// the goroutine that holds it. A BYE that overtook the ACK to our 200
// confirms the dialog first (the Answer race of dependencies.md §5.1).
func (c *Call) onBye(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	c.mu.Lock()
	early := c.state == stateEarly
	if early && c.outbound {
		c.mu.Unlock()
		respond(c.ua, tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	if !c.checkSeq(req) {
		c.mu.Unlock()
		respond(c.ua, tx, req, 500, "CSeq Out of Order")
		return
	}
	if c.state == stateAnswered {
		c.confirm(nil)
	}
	c.mu.Unlock()
	respond(c.ua, tx, req, 200, "OK")
	ev := Event{Kind: EventBye, ReasonHeader: cleanHeader(headerValue(req, "Reason", ""))}
	if c.end(&ev) {
		c.log.Info("SIP call ended by peer", "reason", ev.ReasonHeader)
	}
}

// onInfo answers an INFO and hands its body to the handler.
func (c *Call) onInfo(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	c.mu.Lock()
	ok := c.inDialog()
	inOrder := ok && c.checkSeq(req)
	c.mu.Unlock()
	switch {
	case !ok:
		respond(c.ua, tx, req, 481, "Call/Transaction Does Not Exist")
		return
	case !inOrder:
		respond(c.ua, tx, req, 500, "CSeq Out of Order")
		return
	}
	respond(c.ua, tx, req, 200, "OK")
	c.emit(Event{Kind: EventInfo, ContentType: cleanHeader(headerValue(req, "Content-Type", "c")), Body: req.Body()})
}

// onAck hands the ACK of one of our 2xx to whoever waits for it.
func (c *Call) onAck(req *sipmsg.Request) {
	c.mu.Lock()
	ch := c.acks[req.CSeq().SeqNo]
	c.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case ch <- req:
	default: // a retransmitted ACK
	}
}

// expectAck registers a wait for the ACK with sequence number seq.
// c.mu must be held; the returned func ends the wait.
func (c *Call) expectAck(seq uint32) (<-chan *sipmsg.Request, func()) {
	ch := make(chan *sipmsg.Request, 1)
	c.acks[seq] = ch
	return ch, func() {
		c.mu.Lock()
		delete(c.acks, seq)
		c.mu.Unlock()
	}
}

// awaitAck passes res, a 2xx to an INVITE, to the transport until its ACK
// arrives on ch: RFC 3261 §13.3.1.4 has the UAS core retransmit it at T1,
// doubling up to T2, whatever the transport, for 64*T1. It returns the
// ACK, or nil if none came (timedOut), the call ended or the UA stopped.
func (c *Call) awaitAck(tx sipmsg.ServerTransaction, res *sipmsg.Response, ch <-chan *sipmsg.Request) (ack *sipmsg.Request, timedOut bool) {
	interval := sipmsg.T1
	resend := time.NewTimer(interval)
	defer resend.Stop()
	limit := time.NewTimer(c.ua.cfg.t1x64)
	defer limit.Stop()
	for {
		select {
		case ack := <-ch:
			return ack, false
		case ack := <-tx.Acks(): // an ACK that reused the INVITE's branch
			return ack, false
		case <-resend.C:
			if err := tx.Respond(res); err != nil {
				c.log.Debug("2xx retransmission failed", "err", err)
			}
			interval = min(2*interval, sipmsg.T2)
			resend.Reset(interval)
		case <-limit.C:
			return nil, true
		case <-c.done:
			return nil, false
		case <-c.ua.stopped:
			return nil, false
		}
	}
}

// confirm moves an answered dialog to confirmed on its ACK (nil when a
// BYE overtook it) and delivers EventAnswered. c.mu must be held.
func (c *Call) confirm(ack *sipmsg.Request) {
	c.state, c.answered = stateConfirmed, true
	c.ua.stats.answered.Add(1)
	ev := Event{Kind: EventAnswered, Status: 200, Reason: "OK"}
	if ack != nil {
		if sdp := sdpBody(ack); sdp != nil {
			c.remoteSDP = sdp
			ev.ContentType, ev.Body = sdpType, sdp
		}
	}
	c.enqueue(ev)
}

// onOffer serves a re-INVITE or UPDATE: a session refresh, a new offer for
// the handler, or (re-INVITE without body) a request for our offer. A
// re-INVITE holds this goroutine until its 2xx is ACKed.
func (c *Call) onOffer(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	isInvite := req.IsInvite()
	offer := req.Body()
	// An UPDATE without body only refreshes the session; it takes no part
	// in offer/answer.
	release, no := c.admitOffer(req, isInvite || len(offer) > 0)
	if no != nil {
		respond(c.ua, tx, req, no.code, no.reason, no.headers...)
		return
	}
	defer release()
	c.mu.Lock()
	prevRemote, local, prevInterval := c.remoteSDP, c.localSDP, c.timer.interval
	c.mu.Unlock()
	// Refusals free the slot before they leave: the peer may retry at once.
	refuse := func(code int, reason string, hs ...sipmsg.Header) {
		release()
		respond(c.ua, tx, req, code, reason, hs...)
	}

	if bad := unsupportedRequire(req); len(bad) > 0 {
		refuse(420, "Bad Extension", sipmsg.NewHeader("Unsupported", strings.Join(bad, ", ")))
		return
	}
	interval, weRefresh, tooSmall := uasTimer(req, c.ua.cfg.MinSE, prevInterval)
	if tooSmall {
		refuse(422, "Session Interval Too Small", sipmsg.NewHeader("Min-SE", seconds(c.ua.cfg.MinSE)))
		return
	}
	var answer []byte
	switch {
	case len(offer) == 0 && !isInvite:
		// An UPDATE without body only refreshes the session.
	case len(offer) == 0:
		answer = local // offerless re-INVITE: our offer in the 2xx, the answer in the ACK
	case contentType(req) != sdpType:
		refuse(415, "Unsupported Media Type", sipmsg.NewHeader("Accept", sdpType))
		return
	case sameSession(prevRemote, offer):
		answer = local // a session refresh (RFC 4028) repeats the last SDP
	default:
		var err error
		if answer, err = c.askOffer(offer); err != nil {
			code, reason, hs := c.offerRefusal(err)
			refuse(code, reason, hs...)
			return
		}
	}

	res := c.okResponse(req, answer, interval, weRefresh, hasToken(req, "Supported", "k", supported))
	// The dialog takes the new state before the 2xx leaves: the peer may
	// send its next request as soon as it has it.
	c.mu.Lock()
	c.d.takeTarget(req)
	if len(req.GetHeaders("Allow")) > 0 {
		c.d.peerUpdate = hasToken(req, "Allow", "", "UPDATE")
	}
	if len(offer) > 0 {
		c.remoteSDP, c.localSDP = offer, answer
	}
	c.armTimer(interval, weRefresh)
	var ackCh <-chan *sipmsg.Request
	stop := func() {}
	if isInvite {
		ackCh, stop = c.expectAck(req.CSeq().SeqNo)
	}
	c.mu.Unlock()
	defer stop()
	if len(offer) > 0 {
		// Our answer completes the exchange; only an offerless re-INVITE
		// waits for the ACK, which carries the answer to our offer.
		release()
	}
	if err := tx.Respond(res); err != nil {
		c.log.Debug("answer to re-INVITE/UPDATE not sent", "err", err)
		return
	}
	if !isInvite {
		return
	}
	ack, timedOut := c.awaitAck(tx, res, ackCh)
	switch {
	case ack != nil:
		if sdp := sdpBody(ack); sdp != nil && len(offer) == 0 {
			c.mu.Lock()
			c.remoteSDP = sdp
			c.mu.Unlock()
		}
	case timedOut:
		c.endWithBye(Event{Kind: EventEnded, Status: 408, Reason: "no ACK for re-INVITE", Timeout: true}, "")
	}
}

// refusal is a response that turns a request away.
type refusal struct {
	code    int
	reason  string
	headers []sipmsg.Header
}

// admitOffer checks that the dialog can take the peer's re-INVITE or
// UPDATE now and, if it takes part in offer/answer, claims the slot. A
// slot still held by the peer's own previous exchange is waited for up to
// T1: a peer sends its next request only after its ACK, but sipgo handles
// each datagram on its own goroutine, so the ACK may be processed later.
func (c *Call) admitOffer(req *sipmsg.Request, takesPart bool) (func(), *refusal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for waited := false; ; waited = true {
		switch {
		case !c.inDialog():
			// Before we answered: RFC 3311 §5.2 and RFC 3261 §14.2 say
			// "not now" with 500 and Retry-After.
			return nil, &refusal{500, "Server Internal Error", []sipmsg.Header{retryAfterHeader()}}
		case !c.checkSeq(req):
			return nil, &refusal{500, "CSeq Out of Order", nil}
		case !takesPart:
			return func() {}, nil
		case c.offering && c.inOffer && !waited:
			free := c.offerFree
			c.mu.Unlock()
			t := time.NewTimer(sipmsg.T1)
			select {
			case <-free:
			case <-t.C:
			case <-c.done:
			}
			t.Stop()
			c.mu.Lock()
			continue
		case c.offering && c.inOffer:
			return nil, &refusal{500, "Server Internal Error", []sipmsg.Header{retryAfterHeader()}}
		case c.offering:
			return nil, &refusal{491, "Request Pending", nil} // glare with ours
		}
		return c.beginOffer(true), nil
	}
}

// beginOffer claims the dialog's offer/answer slot (RFC 3261 §14, RFC
// 3311 §5); the returned func releases it, once. c.mu must be held.
func (c *Call) beginOffer(theirs bool) func() {
	c.offering, c.inOffer = true, theirs
	c.offerSeq++
	seq, free := c.offerSeq, make(chan struct{})
	c.offerFree = free
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			if c.offerSeq == seq {
				c.offering, c.inOffer = false, false
			}
			c.mu.Unlock()
			close(free)
		})
	}
}

// okResponse builds our 200 to an INVITE or UPDATE, with sdp (if any), our
// Contact and capabilities, and the session timer we agreed to (RFC 4028
// §9: Require: timer only when the peer supports it).
func (c *Call) okResponse(req *sipmsg.Request, sdp []byte, interval time.Duration, weRefresh, peerTimer bool) *sipmsg.Response {
	res := sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
	c.mu.Lock()
	if to := res.To(); to != nil {
		to.Params.Add("tag", c.d.localTag)
	}
	res.AppendHeader(&sipmsg.ContactHeader{Address: *c.d.contact.Clone()})
	c.mu.Unlock()
	res.AppendHeader(sipmsg.NewHeader("Server", c.ua.cfg.UserAgent))
	res.AppendHeader(sipmsg.NewHeader("Allow", c.ua.allow()))
	res.AppendHeader(sipmsg.NewHeader("Supported", supported))
	if interval > 0 {
		res.AppendHeader(sipmsg.NewHeader("Session-Expires", seconds(interval)+";refresher="+refresherParam(!weRefresh)))
		if peerTimer {
			res.AppendHeader(sipmsg.NewHeader("Require", supported))
		}
	}
	if sdp != nil {
		res.AppendHeader(sipmsg.NewHeader("Content-Type", sdpType))
	}
	res.SetBody(sdp)
	return res
}

// offerRefusal turns the handler's refusal of an offer into a response:
// a *StatusError's code (its Detail as Warning), else 500.
func (c *Call) offerRefusal(err error) (int, string, []sipmsg.Header) {
	var se *StatusError
	if !errors.As(err, &se) || se.Code < 300 || se.Code > 699 {
		c.log.Warn("offer not answered", "err", err)
		return 500, "Server Internal Error", nil
	}
	reason := se.Reason
	if reason == "" || hasCtl(reason) {
		reason = "Rejected"
	}
	var hs []sipmsg.Header
	if se.Detail != "" {
		hs = append(hs, c.ua.warning(se.Detail))
	}
	return se.Code, reason, hs
}

// warning is `Warning: 399 <our host> "text"` (RFC 3261 §20.43).
func (ua *UA) warning(text string) sipmsg.Header {
	return sipmsg.NewHeader("Warning", "399 "+hostPort(ua.contactHost, 0)+` "`+cleanDisplayName(text)+`"`)
}

// retryAfterHeader is a random 0–10 s Retry-After (RFC 3261 §14.2).
func retryAfterHeader() sipmsg.Header {
	return sipmsg.NewHeader("Retry-After", strconv.Itoa(rand.IntN(11)))
}
