package sip

import (
	"context"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// What the UA accepts, and how long an InboundPolicy may take. Allow is
// ua.allow(): MESSAGE and, without an incoming-call hook, INVITE get 405.
const (
	acceptTypes   = "application/sdp"
	policyTimeout = 2 * time.Second
)

// handleRequest answers every request the listeners receive. It runs on a
// goroutine of sipgo's transaction layer, so it must not block long and
// must never panic on what a peer sent.
func (ua *UA) handleRequest(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if !ua.enterInbound() {
		return
	}
	defer ua.inflight.Done()
	defer func() {
		if p := recover(); p != nil {
			ua.log.Error("SIP request handler panicked", "method", string(req.Method), "panic", p)
		}
	}()
	if ua.serveCall(req, tx) {
		return
	}
	if ua.hook != nil && ua.hook(req, tx) {
		return
	}
	if req.IsAck() {
		return // ACKs to our error responses are absorbed by the transaction; stray ones need no answer
	}
	code, reason := ua.route(req)
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	res.AppendHeader(sipmsg.NewHeader("Server", ua.cfg.UserAgent))
	if code == 200 || code == 405 {
		res.AppendHeader(sipmsg.NewHeader("Allow", ua.allow()))
	}
	if code == 200 {
		res.AppendHeader(sipmsg.NewHeader("Accept", acceptTypes))
	}
	if err := tx.Respond(res); err != nil {
		ua.log.Debug("SIP response not sent", "method", string(req.Method), "status", code, "err", err)
	}
}

// route decides the answer: OPTIONS to us or a known token is 200; an
// unknown user is 404; an unmatched CANCEL (a matched one never gets here)
// is 481; anything else aimed at a known user or the gateway is 405.
func (ua *UA) route(req *sipmsg.Request) (int, string) {
	if req.IsCancel() {
		return 481, "Call/Transaction Does Not Exist"
	}
	user := req.Recipient.User
	if user != "" && !ua.knownToken(user) {
		return 404, "Not Found"
	}
	if req.Method == sipmsg.OPTIONS {
		return 200, "OK"
	}
	return 405, "Method Not Allowed"
}

func (ua *UA) knownToken(token string) bool {
	if ua.policy == nil || !validToken(token) {
		return false
	}
	ctx, cancel := context.WithTimeout(ua.runCtx, policyTimeout)
	defer cancel()
	return ua.policy.KnownToken(ctx, token)
}

// enterInbound registers a running handler unless Run is shutting down.
func (ua *UA) enterInbound() bool {
	ua.inMu.Lock()
	defer ua.inMu.Unlock()
	if ua.inClosed {
		return false
	}
	ua.inflight.Add(1)
	return true
}

// waitInbound stops new handlers and waits for running ones.
func (ua *UA) waitInbound() {
	ua.inMu.Lock()
	ua.inClosed = true
	ua.inMu.Unlock()
	ua.inflight.Wait()
}
