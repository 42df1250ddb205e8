package sip

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// InviteRequest is an outbound call.
type InviteRequest struct {
	// Account is the caller's account: From is its AOR (and DisplayName),
	// digest challenges are answered with its credentials, the first hop is
	// its OutboundProxy, else its Registrar (default the AOR host), over its
	// Transport. Its ContactToken makes our Contact.
	Account Account
	// Target is the callee, "sip:bob@example.org" (sip: or sips:; sips
	// needs a tls account): the Request-URI and To.
	Target string
	// SDP is the offer (Content-Type application/sdp).
	SDP []byte
	// SessionExpires is the RFC 4028 session interval to ask for; 0 means
	// 1800 s, less than Config.MinSE means MinSE.
	SessionExpires time.Duration
	// Handler receives the call's events.
	Handler CallHandler
}

// outCall is the state of an outbound call's INVITE transaction.
type outCall struct {
	t        *target
	want     time.Duration // the Session-Expires we ask for
	finished chan struct{} // closed when the INVITE is over (answered or failed)

	mu           sync.Mutex
	over         bool // the INVITE's outcome is decided; Cancel hangs up instead
	cancelled    bool
	cancelReason string
	cancelCh     chan struct{}              // closed by the first Cancel
	strays       map[string]*sipmsg.Request // ACKs of 2xx from other forks, by To tag
}

// cancel asks for the INVITE to be cancelled; false if its outcome is
// already decided.
func (o *outCall) cancel(reason string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.over {
		return false
	}
	if !o.cancelled {
		o.cancelled, o.cancelReason = true, reason
		close(o.cancelCh)
	}
	return true
}

// decide fixes the INVITE's outcome and reports whether Cancel was called
// before.
func (o *outCall) decide() (cancelled bool, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.over = true
	return o.cancelled, o.cancelReason
}

// Invite places a call: it sends the INVITE and returns at once; what
// happens next arrives as events. 401/407 challenges are answered with the
// account's digest credentials (once per challenge; a refusal ends the
// call with EventFailed and that status), a 422 is retried once with the
// peer's Min-SE. ctx bounds only the wait for the UA to be ready; the call
// lives until it ends. Errors are returned only for invalid input or a UA
// that is not running.
func (ua *UA) Invite(ctx context.Context, r InviteRequest) (*Call, error) {
	if r.Handler == nil {
		return nil, errors.New("sip: Invite needs a handler")
	}
	if len(r.SDP) == 0 {
		return nil, errors.New("sip: Invite needs an SDP offer")
	}
	t, err := parseAccount(r.Account)
	if err != nil {
		return nil, err
	}
	to, err := parseTarget(r.Target, t.transport)
	if err != nil {
		return nil, err
	}
	if err := ua.waitReady(ctx); err != nil {
		return nil, err
	}
	want := r.SessionExpires
	if want <= 0 {
		want = DefaultSessionExpires
	}
	want = time.Duration(expirySeconds(max(want, ua.cfg.MinSE))) * time.Second

	d := dialog{
		localURI:  t.aor,
		localName: t.display,
		localTag:  sipmsg.GenerateTagN(16),
		remoteURI: sipmsg.Uri{Scheme: to.Scheme, User: to.User, Host: to.Host, Port: to.Port},
		target:    to,
		transport: t.transport,
		contact:   ua.contactURI(t.token, t.transport),
		creds:     t,
	}
	if to.IsEncrypted() {
		d.contact.Scheme, d.contact.UriParams = "sips", nil
	}
	// Loose routing through the first hop (RFC 3261 §8.1.2) unless the
	// target itself is the first hop. The dialog's route set replaces it
	// once the 2xx brings Record-Route.
	hop := t.ruri
	if t.proxy != nil {
		hop = *t.proxy
	}
	if !sameHop(hop, to, t.transport) {
		hop.UriParams = sipmsg.HeaderParams{{K: "lr", V: ""}}
		d.routes = []sipmsg.Uri{hop}
	}
	c := ua.newCall(newCallID(), true, t.aor.User+"@"+t.aor.Host, d)
	c.localSDP = r.SDP
	c.out = &outCall{t: t, want: want, finished: make(chan struct{}), cancelCh: make(chan struct{})}
	c.setHandler(r.Handler)
	if !ua.calls.add(c) || !ua.goTracked(c.runOutbound) {
		ua.calls.remove(c)
		return nil, ErrClosed
	}
	ua.stats.out.Add(1)
	c.log.Info("SIP call placed", "target", to.Addr())
	return c, nil
}

// parseTarget checks a callee URI: sip or sips with a host, no control
// characters; URI headers are dropped, they would end up in our request.
func parseTarget(s, transport string) (sipmsg.Uri, error) {
	var u sipmsg.Uri
	if hasCtl(s) || sipmsg.ParseUri(s, &u) != nil {
		return u, fmt.Errorf("sip: invalid target %q", s)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "sip" && u.Scheme != "sips" || u.Host == "" || containsAny(u.Host, " <>\"") {
		return u, fmt.Errorf("sip: target %q is not a sip: or sips: URI with a host", s)
	}
	if u.IsEncrypted() && transport != "TLS" {
		return u, fmt.Errorf("sip: target %q needs an account with transport tls", s)
	}
	u.Headers = nil
	return u, nil
}

// runOutbound drives the INVITE: digest and 422 retries, provisional
// responses, CANCEL, and the outcome. It is the call's goroutine until the
// INVITE is over.
func (c *Call) runOutbound() {
	o := c.out
	defer close(o.finished)
	var auth authState
	used422 := false
	for attempt := 1; ; attempt++ {
		c.mu.Lock()
		c.d.localSeq++
		req := c.newRequest(sipmsg.INVITE, c.d.localSeq)
		c.inviteHeaders(req)
		err := auth.apply(req, o.t.authUser, o.t.password)
		c.mu.Unlock()
		if err != nil {
			c.failOut(Event{Kind: EventFailed, Status: 500, Reason: "Server Internal Error", Warning: err.Error()})
			return
		}
		res, tx := c.awaitInvite(req)
		if res == nil {
			return // awaitInvite settled it
		}
		cancelled := c.isCancelled()
		switch code := res.StatusCode; {
		case res.IsSuccess():
			c.answeredOut(res, tx)
			return
		case cancelled || attempt >= maxRequests:
		case code == 401 || code == 407:
			giveUp := auth.take(res)
			if giveUp == "" {
				continue
			}
			c.log.Warn("SIP call not authorised", "status", code, "detail", giveUp)
		case code == 422 && !used422 && c.take422(res):
			used422 = true
			continue
		}
		c.failOut(statusEvent(EventFailed, res))
		return
	}
}

// inviteHeaders adds what an initial INVITE carries beyond newRequest's:
// capabilities, the session timer we ask for (the refresher left to the
// answerer, RFC 4028 §7.1), and the offer. c.mu must be held.
func (c *Call) inviteHeaders(req *sipmsg.Request) {
	req.AppendHeader(sipmsg.NewHeader("Allow", c.ua.allow()))
	req.AppendHeader(sipmsg.NewHeader("Supported", supported))
	req.AppendHeader(sipmsg.NewHeader("Session-Expires", seconds(c.out.want)))
	req.AppendHeader(sipmsg.NewHeader("Min-SE", seconds(c.timer.minSE)))
	req.AppendHeader(sipmsg.NewHeader("Content-Type", sdpType))
	req.SetBody(c.localSDP)
}

// take422 raises the session interval to a 422's Min-SE for one retry.
func (c *Call) take422(res *sipmsg.Response) bool {
	v, ok := minSE(res)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ok || v <= c.out.want {
		return false
	}
	c.out.want = v
	c.timer.minSE = max(c.timer.minSE, v)
	return true
}

func (c *Call) isCancelled() bool {
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	return c.out.cancelled
}

// awaitInvite sends req and waits for its final response, which it
// returns with the transaction. It handles what comes before: provisional
// responses (EventProgress), Cancel (CANCEL once a provisional arrived,
// RFC 3261 §9.1), Timer B, and transport failure. When it settles the call
// itself (failure, Close, shutdown) it returns nil.
func (c *Call) awaitInvite(req *sipmsg.Request) (*sipmsg.Response, sipmsg.ClientTransaction) {
	ua := c.ua
	if ua.isStopped() {
		return nil, nil
	}
	// The context bounds connection setup (a TCP or TLS dial) only.
	dialCtx, cancel := context.WithTimeout(ua.runCtx, ua.cfg.InviteTimeout)
	tx, err := ua.transaction(dialCtx, req)
	cancel()
	if err != nil {
		c.failTransport(err)
		return nil, nil
	}
	timerB := time.NewTimer(ua.cfg.InviteTimeout)
	defer timerB.Stop()
	var (
		provisional bool
		wantCancel  bool
		cancelCh    = c.out.cancelCh
		cancelTx    sipmsg.ClientTransaction
		cancelRes   <-chan *sipmsg.Response
		cancelDone  <-chan struct{}
		giveUp      <-chan time.Time
	)
	defer func() {
		if cancelTx != nil {
			cancelTx.Terminate()
		}
	}()
	sendCancel := func() {
		if cancelTx != nil || !provisional || !wantCancel {
			return
		}
		// RFC 3261 §9.1: without a final response 64*T1 after the
		// CANCEL, the INVITE counts as cancelled.
		giveUp = time.After(ua.cfg.t1x64)
		if cancelTx = c.sendCancel(req); cancelTx != nil {
			cancelRes, cancelDone = cancelTx.Responses(), cancelTx.Done()
		}
	}
	for {
		select {
		case res := <-tx.Responses():
			if !res.IsProvisional() {
				return res, tx
			}
			if !provisional {
				provisional = true
				timerB.Stop()
			}
			if res.StatusCode > 100 && !wantCancel {
				ev := Event{Kind: EventProgress, Status: res.StatusCode, Reason: cleanReason(res.Reason)}
				if sdp := sdpBody(res); sdp != nil {
					ev.ContentType, ev.Body = sdpType, sdp
				}
				c.emit(ev)
			}
			sendCancel()
		case <-cancelCh:
			cancelCh, wantCancel = nil, true
			sendCancel()
		case <-cancelRes:
			// The INVITE's final response (487) should follow.
		case <-cancelDone:
			cancelRes, cancelDone = nil, nil
		case <-giveUp:
			tx.Terminate()
			c.failOut(Event{Kind: EventFailed, Status: 487, Reason: "Request Terminated"})
			return nil, nil
		case <-timerB.C:
			tx.Terminate()
			c.failOut(timeoutEvent())
			return nil, nil
		case <-tx.Done():
			if errors.Is(tx.Err(), sipmsg.ErrTransactionTimeout) {
				c.failOut(timeoutEvent())
			} else {
				c.failTransport(cmp.Or(tx.Err(), errTxEnded))
			}
			return nil, nil
		case <-c.done: // Close
			tx.Terminate()
			return nil, nil
		case <-ua.stopped:
			tx.Terminate()
			return nil, nil
		}
	}
}

func timeoutEvent() Event {
	return Event{Kind: EventFailed, Status: 408, Reason: "Request Timeout", Timeout: true}
}

// sendCancel starts the CANCEL of req (RFC 3261 §9.1): the INVITE's
// Request-URI, top Via (so its branch), From, To, Call-ID, CSeq number and
// Route, plus our Reason header.
func (c *Call) sendCancel(req *sipmsg.Request) sipmsg.ClientTransaction {
	if c.ua.isStopped() {
		return nil
	}
	c.out.mu.Lock()
	reason := c.out.cancelReason
	c.out.mu.Unlock()
	cancel := sipmsg.NewRequest(sipmsg.CANCEL, *req.Recipient.Clone())
	cancel.SetTransport(req.Transport())
	cancel.SetDestination(req.Destination())
	cancel.Laddr = req.Laddr
	cancel.AppendHeader(sipmsg.HeaderClone(req.Via()))
	for _, h := range req.GetHeaders("Route") {
		cancel.AppendHeader(sipmsg.HeaderClone(h))
	}
	maxFwd := sipmsg.MaxForwardsHeader(70)
	cancel.AppendHeader(&maxFwd)
	cancel.AppendHeader(sipmsg.HeaderClone(req.From()))
	cancel.AppendHeader(sipmsg.HeaderClone(req.To()))
	cancel.AppendHeader(sipmsg.HeaderClone(req.CallID()))
	cancel.AppendHeader(&sipmsg.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sipmsg.CANCEL})
	if reason != "" {
		cancel.AppendHeader(sipmsg.NewHeader("Reason", reason))
	}
	cancel.AppendHeader(sipmsg.NewHeader("User-Agent", c.ua.cfg.UserAgent))
	cancel.SetBody(nil)
	tx, err := c.ua.transaction(c.ua.runCtx, cancel)
	if err != nil {
		c.log.Debug("CANCEL not sent", "err", err)
		return nil
	}
	c.log.Debug("CANCEL sent")
	return tx
}

// failTransport ends the call after the INVITE could not be sent or its
// connection failed: 503, with the cause as Warning.
func (c *Call) failTransport(err error) {
	c.failOut(Event{Kind: EventFailed, Status: 503, Reason: "Service Unavailable", Warning: (&transportError{peer: c.out.t.peer, err: err}).Error()})
}

// failOut ends an outbound call that got no answer.
func (c *Call) failOut(ev Event) {
	c.out.decide()
	if c.end(&ev) {
		c.log.Info("SIP call failed", "status", ev.Status, "reason", ev.Reason)
	}
}

// answeredOut takes a 2xx: the dialog's route set, remote target and tag
// come from it (RFC 3261 §12.1.2), the ACK goes out. A 2xx that crossed
// our CANCEL is ACKed and BYEd, and the call fails with 487.
func (c *Call) answeredOut(res *sipmsg.Response, tx sipmsg.ClientTransaction) {
	cancelled, reason := c.out.decide()
	c.mu.Lock()
	c.takeAnswer(res)
	ack := c.ackFor(res.CSeq().SeqNo)
	if !cancelled && c.state == stateEarly {
		c.state, c.answered = stateConfirmed, true
		c.ua.stats.answered.Add(1)
		ev := Event{Kind: EventAnswered, Status: res.StatusCode, Reason: cleanReason(res.Reason)}
		if sdp := sdpBody(res); sdp != nil {
			c.remoteSDP = sdp
			ev.ContentType, ev.Body = sdpType, sdp
		}
		// Queued before the ACK leaves: the peer may BYE right after it.
		c.enqueue(ev)
		c.armTimer(uacTimer(res))
		c.log.Info("SIP call answered")
	}
	c.mu.Unlock()
	c.sendAck(tx, ack, c.strayAnswer)
	if cancelled {
		c.endWithBye(Event{Kind: EventFailed, Status: 487, Reason: "Request Terminated"}, reason)
	}
}

// takeAnswer sets the dialog from a 2xx to our INVITE. c.mu must be held.
func (c *Call) takeAnswer(res *sipmsg.Response) {
	d := &c.d
	d.remoteTag, _ = res.To().Params.Get("tag")
	d.takeTarget(res)
	d.routes = nil
	rr := res.GetHeaders("Record-Route")
	for _, h := range slices.Backward(rr) {
		if r, ok := h.(*sipmsg.RecordRouteHeader); ok {
			d.routes = append(d.routes, *r.Address.Clone())
		}
	}
	d.peerUpdate = hasToken(res, "Allow", "", "UPDATE")
}

// strayAnswer ACKs and BYEs a 2xx from another fork of our INVITE (RFC
// 3261 §13.2.2.4): we keep one dialog. Retransmissions of that 2xx get the
// same ACK again. Runs on sipgo's goroutine.
func (c *Call) strayAnswer(res *sipmsg.Response) {
	tag, _ := res.To().Params.Get("tag")
	o := c.out
	o.mu.Lock()
	ack, seen := o.strays[tag]
	var fork *Call
	if !seen {
		c.mu.Lock()
		fork = &Call{ua: c.ua, id: c.id, log: c.log, d: c.d, done: make(chan struct{})}
		c.mu.Unlock()
		fork.takeAnswer(res)
		ack = fork.ackFor(res.CSeq().SeqNo)
		if o.strays == nil {
			o.strays = map[string]*sipmsg.Request{}
		}
		o.strays[tag] = ack
	}
	o.mu.Unlock()
	if err := c.ua.write(ack.Clone()); err != nil {
		c.log.Debug("ACK to forked answer failed", "err", err)
	}
	if fork == nil {
		return
	}
	c.log.Info("SIP call answered by a second fork; ending that one")
	c.ua.goTracked(func() {
		ctx, cancel := c.ua.txContext(context.Background())
		defer cancel()
		if err := fork.sendBye(ctx, ""); err != nil {
			c.log.Debug("BYE to forked answer failed", "err", err)
		}
	})
}
