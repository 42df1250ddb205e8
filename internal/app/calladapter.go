package app

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"fargo.dev/fargo/internal/gateway"
	"fargo.dev/fargo/internal/sip"
	"fargo.dev/fargo/internal/store"
)

// callAdapter presents the SIP user agent's calls to the gateway.
type callAdapter struct{ ua *sip.UA }

func (a callAdapter) Invite(ctx context.Context, acct store.Account, target string, sdp []byte, h gateway.SIPCallHandler) (gateway.SIPCall, error) {
	c, err := a.ua.Invite(ctx, sip.InviteRequest{Account: sipAccount(acct), Target: target, SDP: sdp, Handler: callHandler{h}})
	if err != nil {
		return nil, err
	}
	return sipCall{c}, nil
}

// sipCall adapts *sip.Call; its status errors become the gateway's.
type sipCall struct{ c *sip.Call }

func (s sipCall) CallID() string          { return s.c.CallID() }
func (s sipCall) Cancel(reasonHdr string) { s.c.Cancel(reasonHdr) }
func (s sipCall) Close()                  { s.c.Close() }
func (s sipCall) Hangup(ctx context.Context, reasonHdr string) error {
	return s.c.Hangup(ctx, reasonHdr)
}
func (s sipCall) Reinvite(ctx context.Context, sdp []byte) ([]byte, error) {
	return s.c.Reinvite(ctx, sdp)
}
func (s sipCall) Info(ctx context.Context, contentType string, body []byte) error {
	return s.c.Info(ctx, contentType, body)
}

// incomingCall adapts *sip.IncomingCall.
type incomingCall struct {
	sipCall
	ic *sip.IncomingCall
}

func (i incomingCall) Token() string                                { return i.ic.Token() }
func (i incomingCall) From() (string, string)                       { return i.ic.From() }
func (i incomingCall) Asserted() string                             { return i.ic.Asserted() }
func (i incomingCall) Privacy() bool                                { return i.ic.Privacy() }
func (i incomingCall) Offer() []byte                                { return i.ic.Offer() }
func (i incomingCall) Ring() error                                  { return i.ic.Ring() }
func (i incomingCall) Answer(ctx context.Context, sdp []byte) error { return i.ic.Answer(ctx, sdp) }
func (i incomingCall) Reject(status int, reason, warning string, retryAfter time.Duration) error {
	return i.ic.Reject(status, reason, warning, retryAfter)
}

// callHandler passes SIP call events to the gateway.
type callHandler struct{ h gateway.SIPCallHandler }

func (c callHandler) CallEvent(_ *sip.Call, e sip.Event) {
	c.h.CallEvent(gateway.SIPEvent{
		Kind: gateway.SIPEventKind(e.Kind), Status: e.Status, Reason: e.Reason, Warning: e.Warning,
		ReasonHeader: e.ReasonHeader, RetryAfter: e.RetryAfter, Timeout: e.Timeout,
		ContentType: e.ContentType, Body: e.Body,
	})
}

func (c callHandler) Offer(ctx context.Context, _ *sip.Call, offer []byte) ([]byte, error) {
	answer, err := c.h.Offer(ctx, offer)
	var se *gateway.StatusError
	if errors.As(err, &se) {
		return nil, &sip.StatusError{Code: se.Status, Reason: se.Reason}
	}
	return answer, err
}

// incomingHook routes new INVITEs to the gateway once it exists.
func incomingHook(gw *atomic.Pointer[gateway.Gateway]) func(*sip.IncomingCall) sip.CallHandler {
	return func(ic *sip.IncomingCall) sip.CallHandler {
		g := gw.Load()
		if g == nil {
			return nil
		}
		h := g.IncomingCall(incomingCall{sipCall: sipCall{ic.Call}, ic: ic})
		if h == nil {
			return nil
		}
		return callHandler{h}
	}
}
