package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// SetIncoming installs the hook for new INVITEs whose Request-URI user is a
// known contact token (InboundPolicy.KnownToken). It must be called before
// Run. The hook runs on a SIP goroutine and must return quickly; it returns
// the call's handler, or nil to have the UA answer 480 Temporarily
// Unavailable. It may Ring or Reject, but not Answer: Answer waits for the
// ACK, which that goroutine handles once the hook returned. Unknown tokens
// get 404. Without a hook INVITEs get 405.
func (ua *UA) SetIncoming(hook func(ic *IncomingCall) CallHandler) {
	if ua.started.Load() {
		panic("sip: SetIncoming called after Run")
	}
	ua.incoming = hook
}

// What an inbound INVITE's final response was, see IncomingCall.final.
const (
	finalNone      int32 = iota
	finalAnswer          // our 200 (or its attempt)
	finalReject          // a status >= 300 of ours
	finalCancelled       // the caller's CANCEL won
	finalDropped         // 487 because the call ended unanswered
)

// errNoAck is Answer's error when the caller never ACKed our 200.
var errNoAck = errors.New("sip: no ACK for our 200 OK; call ended")

// IncomingCall is a new inbound call as the hook of SetIncoming gets it:
// the embedded *Call is the call itself. Until Answer or Reject the INVITE
// waits; a CANCEL from the caller ends it with EventCancelled.
type IncomingCall struct {
	*Call
	token     string
	from      string
	display   string
	asserted  string
	privacy   bool
	offer     []byte
	invite    *sipmsg.Request
	tx        sipmsg.ServerTransaction
	interval  time.Duration // session timer agreed in our 200
	weRefresh bool
	peerTimer bool

	// final is decided once (compare-and-swap), by us or by the CANCEL.
	final atomic.Int32
	// respMu orders our responses on the INVITE transaction: sipgo keeps
	// the last one passed to it as what Timer G retransmits, even when its
	// state machine ignored it.
	respMu       sync.Mutex
	ringing      atomic.Bool
	cancelReason atomic.Value // string, set before cancelled closes
	cancelled    chan struct{}
	cancelOnce   sync.Once
	answerCh     chan answered // Answer hands its 200 to serve
	rejected     chan struct{}
	confirmed    chan struct{} // closed when the answer is settled
	confirmOnce  sync.Once
	answerErr    error // set before confirmed closes
}

// Token returns the contact token the INVITE was addressed to: the user.
func (ic *IncomingCall) Token() string { return ic.token }

// From returns the caller's From URI ("sip:carol@sip.example.org") and
// display name.
func (ic *IncomingCall) From() (uri, display string) { return ic.from, ic.display }

// Asserted returns the P-Asserted-Identity URI (RFC 3325), "" if none.
func (ic *IncomingCall) Asserted() string { return ic.asserted }

// Privacy reports whether the caller asked for privacy (Privacy: id or
// header, RFC 3323/3325) or calls anonymously.
func (ic *IncomingCall) Privacy() bool { return ic.privacy }

// Offer returns the SDP offer, nil for a delayed-offer INVITE (then the
// answer to our offer in Answer arrives with EventAnswered).
func (ic *IncomingCall) Offer() []byte { return ic.offer }

// newInvite serves an INVITE outside any dialog when a hook is set; false
// leaves it to handleRequest (405, or 404 for unknown users).
func (ua *UA) newInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) bool {
	hook := ua.incoming
	if hook == nil {
		return false
	}
	user := req.Recipient.User
	if user == "" || !ua.knownToken(user) {
		respond(ua, tx, req, 404, "Not Found")
		return true
	}
	ic, code, reason, hs := ua.admit(req, tx)
	if ic == nil {
		respond(ua, tx, req, code, reason, hs...)
		return true
	}
	c := ic.Call
	if !ua.calls.add(c) {
		select {
		case <-ua.stopped:
			respond(ua, tx, req, 503, "Service Unavailable")
		default:
			respond(ua, tx, req, 482, "Loop Detected") // RFC 3261 §8.2.2.2: a merged request
		}
		return true
	}
	ua.stats.in.Add(1)
	c.log.Info("SIP call incoming", "from", ic.from)
	if !tx.OnCancel(ic.onCancel) {
		ic.onCancel(nil) // cancelled before we looked
	}
	h := ic.callHook(hook)
	if h == nil {
		c.setHandler(nil)
		if err := ic.Reject(480, "Temporarily Unavailable", "", 0); err != nil && !errors.Is(err, ErrCallEnded) {
			c.log.Debug("480 not sent", "err", err)
		}
		c.end(nil) // if the 480 could not be sent

		return true
	}
	c.setHandler(h)
	ic.serve()
	return true
}

// callHook runs the gateway's hook; a panic counts as no handler.
func (ic *IncomingCall) callHook(hook func(*IncomingCall) CallHandler) (h CallHandler) {
	defer func() {
		if p := recover(); p != nil {
			ic.log.Error("incoming call hook panicked", "panic", p)
			h = nil
		}
	}()
	return hook(ic)
}

// admit checks a new INVITE and makes its call, or returns the error
// response to send.
func (ua *UA) admit(req *sipmsg.Request, tx sipmsg.ServerTransaction) (*IncomingCall, int, string, []sipmsg.Header) {
	callID, from, to, contact := req.CallID(), req.From(), req.To(), req.Contact()
	fromTag := ""
	if from != nil {
		fromTag, _ = from.Params.Get("tag")
	}
	switch {
	case callID == nil || from == nil || to == nil || fromTag == "" || req.CSeq() == nil:
		return nil, 400, "Bad Request", nil
	case contact == nil || contact.Address.Host == "":
		return nil, 400, "Missing Contact", nil
	}
	if bad := unsupportedRequire(req); len(bad) > 0 {
		return nil, 420, "Bad Extension", []sipmsg.Header{sipmsg.NewHeader("Unsupported", strings.Join(bad, ", "))}
	}
	if len(req.Body()) > 0 && contentType(req) != sdpType {
		return nil, 415, "Unsupported Media Type", []sipmsg.Header{sipmsg.NewHeader("Accept", sdpType)}
	}
	interval, weRefresh, tooSmall := uasTimer(req, ua.cfg.MinSE, 0)
	if tooSmall {
		return nil, 422, "Session Interval Too Small", []sipmsg.Header{sipmsg.NewHeader("Min-SE", seconds(ua.cfg.MinSE))}
	}
	transport := strings.ToUpper(req.Transport())
	d := dialog{
		localURI:   *to.Address.Clone(),
		localName:  to.DisplayName,
		localTag:   sipmsg.GenerateTagN(16),
		remoteURI:  *from.Address.Clone(),
		remoteName: from.DisplayName,
		remoteTag:  fromTag,
		remoteSeq:  req.CSeq().SeqNo,
		target:     *contact.Address.Clone(),
		transport:  transport,
		contact:    ua.contactURI(req.Recipient.User, transport),
		peerUpdate: hasToken(req, "Allow", "", "UPDATE"),
	}
	for _, h := range req.GetHeaders("Record-Route") {
		if r, ok := h.(*sipmsg.RecordRouteHeader); ok {
			d.routes = append(d.routes, *r.Address.Clone())
		}
	}
	c := ua.newCall(callID.Value(), false, to.Address.User+"@"+to.Address.Host, d)
	ic := &IncomingCall{
		Call:      c,
		token:     req.Recipient.User,
		from:      cleanHeader(uriText(&from.Address)),
		display:   cleanHeader(from.DisplayName),
		asserted:  addrURI(headerValue(req, "P-Asserted-Identity", "")),
		privacy:   privacyAsked(req, from),
		offer:     sdpBody(req),
		invite:    req,
		tx:        tx,
		interval:  interval,
		weRefresh: weRefresh,
		peerTimer: hasToken(req, "Supported", "k", supported),
		cancelled: make(chan struct{}),
		answerCh:  make(chan answered, 1),
		rejected:  make(chan struct{}),
		confirmed: make(chan struct{}),
	}
	c.in = ic
	c.remoteSDP = ic.offer
	return ic, 0, "", nil
}

// privacyAsked reads RFC 3323/3325 privacy: Privacy: id or header, or an
// anonymous From (RFC 3323 §4.1.1.3).
func privacyAsked(req *sipmsg.Request, from *sipmsg.FromHeader) bool {
	for _, v := range strings.FieldsFunc(headerValue(req, "Privacy", ""), func(r rune) bool { return r == ';' || r == ',' || r == ' ' }) {
		if strings.EqualFold(v, "id") || strings.EqualFold(v, "header") {
			return true
		}
	}
	return strings.EqualFold(from.Address.User, "anonymous") ||
		strings.EqualFold(from.Address.Host, "anonymous.invalid") ||
		strings.EqualFold(strings.TrimSpace(from.DisplayName), "anonymous")
}

// onCancel is sipgo's CANCEL callback. It runs inside the transaction's
// state machine, which has answered the CANCEL and is about to send 487,
// so it must neither block nor touch the transaction: serve takes over.
func (ic *IncomingCall) onCancel(r *sipmsg.Request) {
	reason := ""
	if r != nil {
		reason = cleanHeader(headerValue(r, "Reason", ""))
	}
	ic.final.CompareAndSwap(finalNone, finalCancelled)
	ic.cancelOnce.Do(func() {
		ic.cancelReason.Store(reason)
		close(ic.cancelled)
	})
}

// serve holds the INVITE's sipgo goroutine until the INVITE is settled:
// sipgo terminates a server transaction whose handler returned without a
// final response. Meanwhile it repeats 180 every minute (RFC 3261
// §13.3.1.1) and, after Answer, retransmits the 200 until its ACK.
func (ic *IncomingCall) serve() {
	c, ua := ic.Call, ic.ua
	tick := time.NewTicker(ua.cfg.ringRepeat)
	defer tick.Stop()
	for {
		select {
		case <-ic.cancelled:
			reason, _ := ic.cancelReason.Load().(string)
			if c.end(&Event{Kind: EventCancelled, ReasonHeader: reason}) {
				c.log.Info("SIP call cancelled by caller", "reason", reason)
			}
			return
		case a := <-ic.answerCh:
			ic.awaitConfirm(a)
			return
		case <-ic.rejected:
			return
		case <-tick.C:
			if ic.ringing.Load() {
				if err := ic.provisional(180, "Ringing"); err != nil {
					c.log.Debug("180 not repeated", "err", err)
				}
			}
		case <-ic.tx.Done():
			c.end(&Event{Kind: EventEnded, Reason: "INVITE transaction ended"})
			return
		case <-c.done:
			// Ended unanswered (a BYE in the early dialog, Close): the
			// INVITE still needs its final response.
			if ic.final.CompareAndSwap(finalNone, finalDropped) {
				ic.respMu.Lock()
				_ = ic.send(ic.response(487, "Request Terminated"))
				ic.respMu.Unlock()
			}
			return
		case <-ua.stopped:
			return
		}
	}
}

// response builds a response to the INVITE with our To tag (the same on
// every response but 100, RFC 3261 §8.2.6.2).
func (ic *IncomingCall) response(code int, reason string) *sipmsg.Response {
	res := sipmsg.NewResponseFromRequest(ic.invite, code, reason, nil)
	ic.mu.Lock()
	res.To().Params.Add("tag", ic.d.localTag)
	ic.mu.Unlock()
	res.AppendHeader(sipmsg.NewHeader("Server", ic.ua.cfg.UserAgent))
	return res
}

// send passes res to the INVITE transaction; respMu must be held. If the
// CANCEL won, sipgo has sent 487 but took res as the response Timer G
// retransmits; handing it the 487 again puts that right.
func (ic *IncomingCall) send(res *sipmsg.Response) error {
	err := ic.tx.Respond(res)
	if errors.Is(err, sipmsg.ErrTransactionCanceled) {
		_ = ic.tx.Respond(ic.response(487, "Request Terminated"))
		return ErrCallEnded
	}
	return err
}

// provisional sends a 1xx with our Contact (for the early dialog) unless a
// final response was decided.
func (ic *IncomingCall) provisional(code int, reason string) error {
	ic.respMu.Lock()
	defer ic.respMu.Unlock()
	if ic.final.Load() != finalNone {
		return ErrCallEnded
	}
	res := ic.response(code, reason)
	ic.mu.Lock()
	res.AppendHeader(&sipmsg.ContactHeader{Address: *ic.d.contact.Clone()})
	ic.mu.Unlock()
	res.AppendHeader(sipmsg.NewHeader("Allow", ic.ua.allow()))
	res.AppendHeader(sipmsg.NewHeader("Supported", supported))
	return ic.send(res)
}

// Ring sends 180 Ringing; while the call is unanswered the UA repeats it
// every minute (RFC 3261 §13.3.1.1).
func (ic *IncomingCall) Ring() error {
	if err := ic.provisional(180, "Ringing"); err != nil {
		return err
	}
	ic.ringing.Store(true)
	return nil
}

// Reject answers the INVITE with a final status >= 300. warning, if set,
// becomes `Warning: 399 <host> "<warning>"`; retryAfter > 0 adds
// Retry-After. No event follows; the call has ended.
func (ic *IncomingCall) Reject(status int, reason, warning string, retryAfter time.Duration) error {
	if status < 300 || status > 699 {
		return fmt.Errorf("sip: Reject with status %d", status)
	}
	if reason == "" || hasCtl(reason) {
		return errors.New("sip: Reject needs a printable reason phrase")
	}
	if !ic.final.CompareAndSwap(finalNone, finalReject) {
		return ic.decided()
	}
	res := ic.response(status, reason)
	if warning != "" {
		res.AppendHeader(ic.ua.warning(warning))
	}
	if retryAfter > 0 {
		res.AppendHeader(sipmsg.NewHeader("Retry-After", seconds(retryAfter)))
	}
	ic.respMu.Lock()
	err := ic.send(res)
	ic.respMu.Unlock()
	if errors.Is(err, ErrCallEnded) {
		return err // the CANCEL won; serve delivers EventCancelled
	}
	close(ic.rejected)
	if ic.end(nil) {
		ic.log.Info("SIP call rejected", "status", status)
	}
	return err
}

// decided explains why a final response cannot be sent.
func (ic *IncomingCall) decided() error {
	switch ic.final.Load() {
	case finalAnswer:
		return errors.New("sip: call already answered")
	case finalReject:
		return errors.New("sip: call already rejected")
	}
	return ErrCallEnded
}

// Answer sends 200 with sdp and returns once the caller's ACK arrived (and
// EventAnswered is queued). If no ACK comes within 64*T1 the UA sends BYE,
// delivers EventEnded and Answer returns an error. A BYE that overtakes the
// ACK counts as the answer having succeeded (the call then ends with
// EventBye). If ctx ends first Answer returns its error, but the 200 stays
// answered and the call goes on.
func (ic *IncomingCall) Answer(ctx context.Context, sdp []byte) error {
	if len(sdp) == 0 {
		return errors.New("sip: Answer needs SDP")
	}
	if !ic.final.CompareAndSwap(finalNone, finalAnswer) {
		return ic.decided()
	}
	c := ic.Call
	res := c.okResponse(ic.invite, sdp, ic.interval, ic.weRefresh, ic.peerTimer)
	c.mu.Lock()
	if c.state != stateEarly {
		c.mu.Unlock()
		return ErrCallEnded
	}
	c.state = stateAnswered
	c.localSDP = sdp
	ackCh, stop := c.expectAck(ic.invite.CSeq().SeqNo)
	c.mu.Unlock()
	ic.respMu.Lock()
	err := ic.send(res)
	ic.respMu.Unlock()
	if err != nil {
		stop()
		if !errors.Is(err, ErrCallEnded) {
			c.end(&Event{Kind: EventEnded, Status: 503, Reason: "200 OK not sent: " + err.Error()})
		}
		return err
	}
	ic.answerCh <- answered{res: res, ack: ackCh, stop: stop}
	return ic.waitAnswer(ctx)
}

// answered is Answer's 200 on its way to serve, which retransmits it
// until the ACK on ack.
type answered struct {
	res  *sipmsg.Response
	ack  <-chan *sipmsg.Request
	stop func()
}

// awaitConfirm waits for the ACK of our 200 on serve's goroutine and
// settles Answer.
func (ic *IncomingCall) awaitConfirm(a answered) {
	c := ic.Call
	defer a.stop()
	ack, timedOut := c.awaitAck(ic.tx, a.res, a.ack)
	c.mu.Lock()
	if ack != nil && c.state == stateAnswered {
		c.confirm(ack)
		c.armTimer(ic.interval, ic.weRefresh)
		c.log.Info("SIP call answered")
	}
	ok := c.answered // by the ACK, or by a BYE that overtook it
	c.mu.Unlock()
	switch {
	case ok:
		ic.settle(nil)
	case timedOut:
		ic.settle(errNoAck)
		c.endWithBye(Event{Kind: EventEnded, Status: 408, Reason: "no ACK for 200 OK", Timeout: true}, "")
	default:
		select {
		case <-ic.ua.stopped:
			ic.settle(ErrClosed)
		default:
			ic.settle(ErrCallEnded)
		}
	}
}

func (ic *IncomingCall) settle(err error) {
	ic.confirmOnce.Do(func() {
		ic.answerErr = err
		close(ic.confirmed)
	})
}

// waitAnswer waits for Answer's outcome.
func (ic *IncomingCall) waitAnswer(ctx context.Context) error {
	select {
	case <-ic.confirmed:
		return ic.answerErr
	case <-ic.done:
		// serve settles before it ends a call; if it has not, it is gone.
		select {
		case <-ic.confirmed:
			return ic.answerErr
		default:
		}
		ic.mu.Lock()
		ok := ic.answered
		ic.mu.Unlock()
		if ok {
			return nil
		}
		return ErrCallEnded
	case <-ic.ua.stopped:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitConfirmed waits until our 200 was ACKed or the call ended: the
// callee must not BYE before (RFC 3261 §15).
func (ic *IncomingCall) waitConfirmed(ctx context.Context) error {
	select {
	case <-ic.confirmed:
	case <-ic.done:
	case <-ic.ua.stopped:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}
