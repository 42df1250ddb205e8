package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// EventKind says what happened on a call.
type EventKind int

// Event kinds. EventFailed, EventCancelled, EventBye and EventEnded are
// final: a call delivers at most one of them, and nothing after it.
const (
	// EventProgress (outbound): a 1xx other than 100; Status, Reason, and
	// Body with the SDP if the 1xx had one.
	EventProgress EventKind = iota + 1
	// EventAnswered (outbound): a 2xx arrived and the UA ACKed it; Body is
	// the SDP answer. Inbound: the ACK to our 200 arrived; Body is its SDP
	// if it had one (delayed offer).
	EventAnswered
	// EventFailed (outbound): a final status >= 300 (Status, Reason,
	// Warning, RetryAfter), no first response in time (408, Timeout), or a
	// transport error (503, Warning says what failed). After Cancel, 487.
	EventFailed
	// EventCancelled (inbound): the caller sent CANCEL before we answered
	// (ReasonHeader); the UA already answered 200 to it and 487 to the
	// INVITE.
	EventCancelled
	// EventBye: the peer sent BYE (ReasonHeader); the UA answered 200.
	EventBye
	// EventInfo: an in-dialog INFO, already answered 200 (ContentType,
	// Body).
	EventInfo
	// EventEnded: the dialog ended for a local reason (Reason): the session
	// timer expired, our ACK never came, a request in the dialog failed with
	// 408 or 481 (Status). The UA has sent BYE where RFC 3261/4028 say so.
	EventEnded
)

var eventNames = map[EventKind]string{
	EventProgress: "progress", EventAnswered: "answered", EventFailed: "failed", EventCancelled: "cancelled",
	EventBye: "bye", EventInfo: "info", EventEnded: "ended",
}

func (k EventKind) String() string {
	if s, ok := eventNames[k]; ok {
		return s
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one thing that happened on a call; which fields are set depends
// on Kind.
type Event struct {
	Kind         EventKind
	Status       int
	Reason       string        // status phrase, or the local reason for EventEnded
	Warning      string        // Warning header value of a failure response, if any
	ReasonHeader string        // RFC 3326 Reason header value, if any (BYE, CANCEL)
	RetryAfter   time.Duration // Retry-After of a failure response, if any
	Timeout      bool
	ContentType  string
	Body         []byte
}

// CallHandler receives one call's events. The calls for one Call (CallEvent
// and Offer) are serialised, in order, on a goroutine of the UA; they must
// not block for long. They may call the Call's methods.
type CallHandler interface {
	CallEvent(c *Call, e Event)
	// Offer is the peer's in-dialog re-INVITE (or UPDATE) carrying a new SDP
	// offer. Return the SDP answer, or an error: a *StatusError sets the
	// response code (e.g. 488; its Detail becomes a Warning), any other
	// error gives 500. ctx is bounded (a few seconds). Session refreshes
	// (the same o= session id and version as the previous remote SDP) and
	// offerless re-INVITEs are answered by the UA with the last local SDP
	// without calling Offer.
	Offer(ctx context.Context, c *Call, offer []byte) ([]byte, error)
}

// callState is where a call's INVITE dialog stands.
type callState int

const (
	stateEarly     callState = iota // INVITE sent or received, no final response yet
	stateAnswered                   // inbound: our 2xx is out, its ACK not yet in
	stateConfirmed                  // the dialog is confirmed
	stateEnded
)

// ErrCallEnded is returned by Call methods that need a live call.
var ErrCallEnded = errors.New("sip: call has ended")

// errOfferPending refuses an offer while another offer/answer exchange of
// the dialog is under way (RFC 3261 §14.1).
var errOfferPending = &StatusError{Code: 491, Reason: "Request Pending", Peer: "SIP user agent", Detail: "another offer is pending"}

// Call is one INVITE dialog, in either direction. Its methods are safe for
// concurrent use.
type Call struct {
	ua       *UA
	id       string // Call-ID
	outbound bool
	log      *slog.Logger
	done     chan struct{} // closed when the call ended

	// Event delivery, see post.
	qmu     sync.Mutex
	handler CallHandler
	// handlerSet: setHandler ran. Until then (an inbound call while the
	// incoming hook runs) events wait in the queue: the hook's owner may
	// already ring or answer from another goroutine, and the peer's
	// BYE or CANCEL that follows must not be lost.
	handlerSet bool
	queue      []func(CallHandler)
	qbusy      bool
	qclosed    bool

	mu        sync.Mutex
	state     callState
	answered  bool // a dialog was established (stats)
	d         dialog
	timer     sessionTimer
	localSDP  []byte        // what answers refreshes
	remoteSDP []byte        // to tell refreshes from new offers
	offering  bool          // an offer/answer exchange is under way…
	inOffer   bool          // …and the peer started it
	offerSeq  uint64        // which exchange holds the slot, see beginOffer
	offerFree chan struct{} // closed when that exchange ends
	acks      map[uint32]chan *sipmsg.Request

	out *outCall      // outbound only
	in  *IncomingCall // inbound only
}

func (ua *UA) newCall(id string, outbound bool, aor string, d dialog) *Call {
	return &Call{
		ua:       ua,
		id:       id,
		outbound: outbound,
		log:      ua.log.With("aor", aor, "sip_call_id", id),
		done:     make(chan struct{}),
		d:        d,
		timer:    sessionTimer{minSE: ua.cfg.MinSE},
		acks:     map[uint32]chan *sipmsg.Request{},
	}
}

// CallID returns the SIP Call-ID.
func (c *Call) CallID() string { return c.id }

// Outbound reports whether we placed the call.
func (c *Call) Outbound() bool { return c.outbound }

// Done is closed when the call has ended or was closed.
func (c *Call) Done() <-chan struct{} { return c.done }

// Close releases the call's resources without signalling: no BYE, no
// CANCEL, no further events. It is meant for calls that ended; an inbound
// INVITE still unanswered gets 487 so the caller is not left waiting.
// Idempotent.
func (c *Call) Close() {
	c.end(nil)
	c.qmu.Lock()
	c.qclosed, c.queue = true, nil
	c.qmu.Unlock()
}

// end moves the call to ended, once: the session timer stops, whatever
// waits on done wakes, the UA forgets the call. final, if not nil, is
// queued as the last event; without it the call ends silently or the
// caller queues one itself. It reports whether this call did it.
func (c *Call) end(final *Event) bool {
	c.mu.Lock()
	if c.state == stateEnded {
		c.mu.Unlock()
		return false
	}
	c.state = stateEnded
	c.timer.stop()
	answered := c.answered
	if final != nil {
		c.enqueue(*final)
	}
	c.mu.Unlock()
	if !answered {
		c.ua.stats.failed.Add(1)
	}
	close(c.done)
	c.ua.calls.remove(c)
	return true
}

// endWithBye ends the call for a local reason: it starts a BYE (best
// effort, on its own goroutine: a dead peer would hold it for a whole
// transaction timeout) and delivers ev.
func (c *Call) endWithBye(ev Event, reasonHeader string) {
	if !c.end(nil) {
		return
	}
	c.log.Info("SIP call ended", "reason", ev.Reason, "status", ev.Status)
	c.ua.goTracked(func() {
		ctx, cancel := c.ua.txContext(context.Background())
		defer cancel()
		if err := c.sendBye(ctx, reasonHeader); err != nil {
			c.log.Debug("BYE failed", "err", err)
		}
	})
	c.enqueue(ev)
}

// emit queues a non-final event unless the call has ended.
func (c *Call) emit(e Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateEnded {
		c.enqueue(e)
	}
}

func (c *Call) enqueue(e Event) {
	c.post(func(h CallHandler) { h.CallEvent(c, e) })
}

// setHandler gives the call its handler and delivers what waited for it;
// nil drops it (a call nobody handles gets no events).
func (c *Call) setHandler(h CallHandler) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	c.handler, c.handlerSet = h, true
	if h == nil {
		c.queue = nil
		return
	}
	c.startDrainLocked()
}

// post queues f for the handler. Deliveries run one at a time and in order
// on a goroutine that exists only while the queue is not empty, so an idle
// call costs no goroutine and a slow handler delays only its own call.
func (c *Call) post(f func(CallHandler)) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.qclosed || (c.handlerSet && c.handler == nil) {
		return
	}
	c.queue = append(c.queue, f)
	if c.handlerSet {
		c.startDrainLocked()
	}
}

// startDrainLocked starts the delivery goroutine unless it runs or there
// is nothing to deliver. c.qmu must be held.
func (c *Call) startDrainLocked() {
	if c.qbusy || c.qclosed || len(c.queue) == 0 {
		return
	}
	if !c.ua.goTracked(c.drain) {
		c.queue = nil // the UA stopped
		return
	}
	c.qbusy = true
}

func (c *Call) drain() {
	for {
		c.qmu.Lock()
		if len(c.queue) == 0 || c.qclosed {
			c.queue, c.qbusy = nil, false
			c.qmu.Unlock()
			return
		}
		f, h := c.queue[0], c.handler
		c.queue[0] = nil
		c.queue = c.queue[1:]
		c.qmu.Unlock()
		c.deliver(f, h)
	}
}

// deliver runs one handler call; a panicking handler must not take the SIP
// stack down with it.
func (c *Call) deliver(f func(CallHandler), h CallHandler) {
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("call handler panicked", "panic", p)
		}
	}()
	f(h)
}

// askOffer has the handler answer a new SDP offer, serialised with the
// call's events.
func (c *Call) askOffer(offer []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(c.ua.runCtx, c.ua.cfg.offerTimeout)
	defer cancel()
	type result struct {
		sdp []byte
		err error
	}
	ch := make(chan result, 1)
	c.post(func(h CallHandler) {
		if ctx.Err() != nil {
			ch <- result{err: ctx.Err()}
			return
		}
		sdp, err := h.Offer(ctx, c, offer)
		ch <- result{sdp, err}
	})
	select {
	case r := <-ch:
		if r.err == nil && len(r.sdp) == 0 {
			r.err = errors.New("empty SDP answer")
		}
		return r.sdp, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.done:
		return nil, ErrCallEnded
	}
}

// Hangup ends the call: BYE (with the Reason header if non-empty) on a
// confirmed dialog, CANCEL on an outbound call not yet answered (waiting
// for it to end, bounded by ctx), 480 on an inbound call not yet answered.
// On an inbound call whose 200 still waits for its ACK it waits for that
// first (RFC 3261 §15). No event is delivered for it. Idempotent.
func (c *Call) Hangup(ctx context.Context, reasonHeader string) error {
	if hasCtl(reasonHeader) {
		return errors.New("sip: Reason header contains control characters")
	}
	c.mu.Lock()
	state := c.state
	c.mu.Unlock()
	switch {
	case state == stateEnded:
		return nil
	case state == stateEarly && c.outbound:
		c.Cancel(reasonHeader)
		select {
		case <-c.out.finished:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	case state == stateEarly:
		err := c.in.Reject(480, "Temporarily Unavailable", "", 0)
		if errors.Is(err, ErrCallEnded) {
			return nil
		}
		return err
	case state == stateAnswered:
		if err := c.in.waitConfirmed(ctx); err != nil {
			return err
		}
	}
	if !c.end(nil) {
		return nil
	}
	c.log.Info("SIP call hung up")
	ctx, cancel := c.ua.txContext(ctx)
	defer cancel()
	return c.sendBye(ctx, reasonHeader)
}

// Cancel ends an outbound call that has no final response yet: CANCEL,
// deferred until a provisional response arrived (RFC 3261 §9.1; if none
// comes the INVITE times out), with reasonHeader as its Reason header. The
// call then ends with EventFailed: 487 normally, also when a 2xx crossed
// the CANCEL (the UA ACKs and BYEs it). On an answered or inbound call it
// hangs up in the background. Idempotent.
func (c *Call) Cancel(reasonHeader string) {
	if hasCtl(reasonHeader) {
		reasonHeader = ""
	}
	if c.outbound && c.out.cancel(reasonHeader) {
		return
	}
	c.ua.goTracked(func() {
		ctx, cancel := c.ua.txContext(context.Background())
		defer cancel()
		if err := c.Hangup(ctx, reasonHeader); err != nil {
			c.log.Debug("hangup after Cancel failed", "err", err)
		}
	})
}

// Reinvite sends a re-INVITE offering sdp (its o= version is the caller's
// business) and returns the peer's SDP answer. A 491 is retried once after
// the back-off of RFC 3261 §14.1; other failures return a *StatusError and
// leave the session as it was. 408 and 481 end the call (EventEnded). On
// success sdp becomes the SDP that answers the peer's refreshes.
func (c *Call) Reinvite(ctx context.Context, sdp []byte) ([]byte, error) {
	if len(sdp) == 0 {
		return nil, errors.New("sip: Reinvite needs an SDP offer")
	}
	for attempt := 0; ; attempt++ {
		answer, err := c.offer(ctx, sipmsg.INVITE, sdp)
		var se *StatusError
		if attempt > 0 || !errors.As(err, &se) || se.Code != 491 || se == errOfferPending {
			// Only the peer's 491 is glare worth waiting out.
			return answer, err
		}
		if err := c.sleep(ctx, c.ua.cfg.glareWait(c.outbound)); err != nil {
			return nil, err
		}
	}
}

// Info sends an in-dialog INFO, e.g. application/dtmf-relay with
// "Signal=5\r\nDuration=100\r\n". A failure returns a *StatusError; 408
// and 481 end the call (EventEnded).
func (c *Call) Info(ctx context.Context, contentType string, body []byte) error {
	if contentType == "" || hasCtl(contentType) || containsAny(contentType, ",") {
		return fmt.Errorf("sip: invalid content type %q", contentType)
	}
	if err := c.live(); err != nil {
		return err
	}
	res, _, err := c.transact(ctx, sipmsg.INFO, func(req *sipmsg.Request) {
		req.AppendHeader(sipmsg.NewHeader("Content-Type", contentType))
		req.SetBody(body)
	})
	if err != nil {
		return c.requestFailed("INFO", nil, err)
	}
	if !res.IsSuccess() {
		return c.requestFailed("INFO", res, nil)
	}
	return nil
}

// live returns ErrCallEnded unless the dialog is confirmed.
func (c *Call) live() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state {
	case stateConfirmed:
		return nil
	case stateEnded:
		return ErrCallEnded
	}
	return errors.New("sip: call not answered yet")
}

// sleep waits d unless ctx, the call or the UA ends first.
func (c *Call) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return ErrCallEnded
	case <-c.ua.stopped:
		return ErrClosed
	}
}

// statusEvent is EventFailed or EventEnded carrying a response's status.
func statusEvent(kind EventKind, res *sipmsg.Response) Event {
	e := Event{Kind: kind, Status: res.StatusCode, Reason: cleanReason(res.Reason)}
	if h := res.GetHeader("Warning"); h != nil {
		e.Warning = cleanHeader(h.Value())
	}
	if ra, ok := headerUint(res, "Retry-After"); ok {
		e.RetryAfter = time.Duration(ra) * time.Second
	}
	return e
}

// peerError is the *StatusError a failure response to one of our
// in-dialog requests becomes.
func peerError(res *sipmsg.Response) *StatusError {
	e := statusEvent(EventFailed, res)
	return &StatusError{Code: e.Status, Reason: e.Reason, Peer: "SIP peer", RetryAfter: e.RetryAfter}
}

// requestFailed handles a failed in-dialog request of ours: a timeout,
// 408 or 481 means the dialog is gone (RFC 3261 §12.2.1.2), so the call
// ends, with a BYE unless the peer said it has no such dialog. It returns
// the error for the caller.
func (c *Call) requestFailed(method string, res *sipmsg.Response, err error) error {
	var ev Event
	switch {
	case err != nil && IsTimeout(err):
		ev = Event{Kind: EventEnded, Status: 408, Reason: method + " timed out", Timeout: true}
	case err != nil:
		return err
	case res.StatusCode == 408, res.StatusCode == 481:
		ev = statusEvent(EventEnded, res)
		ev.Reason = fmt.Sprintf("%s failed: %d %s", method, res.StatusCode, ev.Reason)
		err = peerError(res)
	default:
		return peerError(res)
	}
	if ev.Status == 481 {
		if c.end(&ev) {
			c.log.Info("SIP call ended", "reason", ev.Reason)
		}
	} else {
		c.endWithBye(ev, "")
	}
	return err
}
