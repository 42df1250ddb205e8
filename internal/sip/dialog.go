package sip

import (
	"context"
	"fmt"
	"slices"

	sipmsg "github.com/emiago/sipgo/sip"
)

// dialog is what RFC 3261 §12 keeps for one dialog, seen from our side.
// The Call's mutex guards it.
type dialog struct {
	localURI, remoteURI   sipmsg.Uri
	localName, remoteName string
	localTag, remoteTag   string
	localSeq, remoteSeq   uint32       // remoteSeq 0: none seen yet
	target                sipmsg.Uri   // remote target: the peer's Contact
	routes                []sipmsg.Uri // route set, first hop first
	transport             string       // of the INVITE that made the dialog
	contact               sipmsg.Uri   // ours
	peerUpdate            bool         // the peer allows UPDATE (RFC 3311)
	creds                 *target      // outbound: the account, for digest challenges
}

// peer names the other end in error texts.
func (d *dialog) peer() string {
	hop := d.target
	if len(d.routes) > 0 {
		hop = d.routes[0]
	}
	return "SIP peer " + hopOf(hop, d.transport)
}

// takeTarget applies a target refresh (RFC 3261 §12.2): a Contact in a
// re-INVITE, UPDATE or their 2xx replaces the remote target.
func (d *dialog) takeTarget(m sipmsg.Message) {
	var ct *sipmsg.ContactHeader
	switch m := m.(type) {
	case *sipmsg.Request:
		ct = m.Contact()
	case *sipmsg.Response:
		ct = m.Contact()
	}
	if ct != nil && ct.Address.Host != "" {
		d.target = *ct.Address.Clone()
	}
}

// newRequest builds an in-dialog request with sequence number seq (RFC 3261
// §12.2.1.1). c.mu must be held.
func (c *Call) newRequest(method sipmsg.RequestMethod, seq uint32) *sipmsg.Request {
	d := &c.d
	ruri, routes := d.target, d.routes
	if len(routes) > 0 && !routes[0].UriParams.Has("lr") {
		// A strict router gets the Request-URI; the remote target goes
		// last in Route.
		ruri = routes[0]
		routes = append(slices.Clone(routes[1:]), d.target)
	}
	hop := d.target
	if len(d.routes) > 0 {
		hop = d.routes[0]
	}
	transport := transportOf(hop, d.transport)
	req := sipmsg.NewRequest(method, *ruri.Clone())
	c.ua.address(req, transport, hopOf(hop, transport))
	req.AppendHeader(c.ua.newVia(transport))
	for _, r := range routes {
		req.AppendHeader(&sipmsg.RouteHeader{Address: *r.Clone()})
	}
	maxFwd := sipmsg.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.AppendHeader(&sipmsg.FromHeader{DisplayName: d.localName, Address: *d.localURI.Clone(), Params: sipmsg.HeaderParams{{K: "tag", V: d.localTag}}})
	to := &sipmsg.ToHeader{DisplayName: d.remoteName, Address: *d.remoteURI.Clone()}
	if d.remoteTag != "" {
		to.Params = sipmsg.HeaderParams{{K: "tag", V: d.remoteTag}}
	}
	req.AppendHeader(to)
	callID := sipmsg.CallIDHeader(c.id)
	req.AppendHeader(&callID)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: seq, MethodName: method})
	if method == sipmsg.INVITE || method == sipmsg.UPDATE || method == sipmsg.ACK {
		req.AppendHeader(&sipmsg.ContactHeader{Address: *d.contact.Clone()})
	}
	req.AppendHeader(sipmsg.NewHeader("User-Agent", c.ua.cfg.UserAgent))
	req.SetBody(nil) // Content-Length: 0, which stream transports need
	return req
}

// transact sends one in-dialog request of ours and returns its final
// response. build adds what the method needs; it runs with c.mu held, once
// per attempt, each with a new CSeq. Digest challenges are answered once
// per kind (outbound calls only: we hold no credentials for inbound ones),
// a 422 once with the peer's Min-SE. The transaction is returned alive
// for an INVITE, whose 2xx retransmissions it must keep matching.
func (c *Call) transact(ctx context.Context, method sipmsg.RequestMethod, build func(*sipmsg.Request)) (*sipmsg.Response, sipmsg.ClientTransaction, error) {
	var auth authState
	used422 := false
	creds := c.d.creds // set when the call was made, never changed
	for range maxRequests {
		c.mu.Lock()
		c.d.localSeq++
		req := c.newRequest(method, c.d.localSeq)
		build(req)
		var err error
		if creds != nil {
			err = auth.apply(req, creds.authUser, creds.password)
		}
		peer := c.d.peer()
		c.mu.Unlock()
		if err != nil {
			return nil, nil, err
		}
		res, tx, err := c.ua.request(ctx, req, peer)
		if err != nil {
			return nil, nil, err
		}
		switch code := res.StatusCode; {
		case (code == 401 || code == 407) && creds != nil && auth.take(res) == "":
			continue
		case code == 422 && !used422 && c.raiseInterval(res):
			used422 = true
			continue
		}
		return res, tx, nil
	}
	return nil, nil, fmt.Errorf("SIP peer kept challenging %s after %d requests", method, maxRequests)
}

// request runs one client transaction bounded by Config.RequestTimeout and
// the UA's life. Non-INVITE transactions are over when it returns; an
// INVITE's is left to end by its own timers.
func (ua *UA) request(ctx context.Context, req *sipmsg.Request, peer string) (*sipmsg.Response, sipmsg.ClientTransaction, error) {
	if ua.isStopped() {
		return nil, nil, ErrClosed
	}
	tctx, cancel := ua.txContext(ctx)
	defer cancel()
	tx, err := ua.transaction(tctx, req)
	if err != nil {
		return nil, nil, ua.txFailure(ctx, tctx, err, peer, string(req.Method)+" to")
	}
	res, err := awaitFinal(tctx, tx)
	if err != nil || !req.IsInvite() {
		tx.Terminate()
	}
	if err != nil {
		return nil, nil, ua.txFailure(ctx, tctx, err, peer, string(req.Method)+" to")
	}
	return res, tx, nil
}

// txContext bounds a transaction by Config.RequestTimeout and by Run.
func (ua *UA) txContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, ua.cfg.RequestTimeout)
	stop := context.AfterFunc(ua.runCtx, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// sendBye sends BYE with an optional Reason header (RFC 3326). The call
// has already ended; a 481 means the peer agrees.
func (c *Call) sendBye(ctx context.Context, reasonHeader string) error {
	res, _, err := c.transact(ctx, sipmsg.BYE, func(req *sipmsg.Request) {
		if reasonHeader != "" {
			req.AppendHeader(sipmsg.NewHeader("Reason", reasonHeader))
		}
	})
	switch {
	case err != nil:
		return err
	case res.IsSuccess(), res.StatusCode == 481:
		return nil
	}
	return peerError(res)
}

// ackFor builds the ACK for a 2xx to our INVITE with sequence number seq.
// It has its own branch (RFC 3261 §13.2.2.4), so it is the same message
// each time the 2xx is retransmitted. c.mu must be held.
func (c *Call) ackFor(seq uint32) *sipmsg.Request {
	ack := c.newRequest(sipmsg.ACK, seq)
	ack.SetBody(nil)
	return ack
}

// sendAck sends ack and sends it again for every retransmission of the
// 2xx that tx sees (its Accepted state lasts 64*T1). A 2xx from another
// fork of the INVITE (another To tag) is handled by stray, if set.
func (c *Call) sendAck(tx sipmsg.ClientTransaction, ack *sipmsg.Request, stray func(*sipmsg.Response)) {
	tag := ""
	if to := ack.To(); to != nil {
		tag, _ = to.Params.Get("tag")
	}
	tmpl := ack.Clone()
	tx.OnRetransmission(func(res *sipmsg.Response) {
		if !res.IsSuccess() {
			return
		}
		if c.ua.isStopped() {
			return
		}
		if t, _ := res.To().Params.Get("tag"); t != tag {
			if stray != nil {
				stray(res)
			}
			return
		}
		if err := c.ua.write(tmpl.Clone()); err != nil {
			c.log.Debug("ACK retransmission failed", "err", err)
		}
	})
	if err := c.ua.write(ack); err != nil {
		// The peer retransmits its 2xx; the hook above answers those.
		c.log.Debug("ACK not sent", "err", err)
	}
}

// offer runs an offer/answer exchange of ours: a re-INVITE (or an UPDATE)
// with sdp, nil for a session refresh by UPDATE. It returns the answer.
func (c *Call) offer(ctx context.Context, method sipmsg.RequestMethod, sdp []byte) ([]byte, error) {
	c.mu.Lock()
	switch {
	case c.state == stateEnded:
		c.mu.Unlock()
		return nil, ErrCallEnded
	case c.state != stateConfirmed:
		c.mu.Unlock()
		return nil, fmt.Errorf("sip: call not answered yet")
	case c.offering:
		c.mu.Unlock()
		return nil, errOfferPending
	}
	release := c.beginOffer(false)
	c.mu.Unlock()
	defer release()
	res, tx, err := c.transact(ctx, method, func(req *sipmsg.Request) {
		req.AppendHeader(sipmsg.NewHeader("Allow", c.ua.allow()))
		c.timerRequest(req)
		if sdp != nil {
			req.AppendHeader(sipmsg.NewHeader("Content-Type", sdpType))
		}
		req.SetBody(sdp)
	})
	if err != nil {
		return nil, c.requestFailed(string(method), nil, err)
	}
	if !res.IsSuccess() {
		return nil, c.requestFailed(string(method), res, nil)
	}
	answer := sdpBody(res)
	c.mu.Lock()
	if method == sipmsg.INVITE {
		ack := c.ackFor(res.CSeq().SeqNo)
		c.mu.Unlock()
		c.sendAck(tx, ack, nil)
		c.mu.Lock()
	}
	c.d.takeTarget(res)
	if sdp != nil {
		c.localSDP = sdp
	}
	if answer != nil {
		c.remoteSDP = answer
	}
	interval, weRefresh := uacTimer(res)
	c.armTimer(interval, weRefresh)
	c.mu.Unlock()
	return answer, nil
}
