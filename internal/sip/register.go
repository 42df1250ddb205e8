package sip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// maxRequests bounds one Register exchange: the first request, one answer
// each to a 407 and a 401, one stale-nonce retry and one 423 retry.
const maxRequests = 6

// maxCSeq keeps CSeq below 2^31 (RFC 3261 §8.1.1.5) with room for one
// exchange; a binding that got there starts over with a new Call-ID.
const maxCSeq = 1<<31 - 1 - maxRequests

// Register performs one REGISTER exchange for a, answering digest challenges
// and one 423, and returns the expiry the registrar granted. expires 0
// removes our Contact (and only ours). b carries the Call-ID and last CSeq;
// an empty Call-ID gets a new random one. next is b after the requests sent,
// also on error, so the caller can persist it. The whole exchange is bounded
// by Config.RequestTimeout. Register is safe for concurrent use, but
// requests for one binding must not overlap (their CSeqs would collide).
func (ua *UA) Register(ctx context.Context, a Account, b Binding, expires time.Duration) (granted time.Duration, next Binding, err error) {
	if b.CallID == "" || b.CSeq > maxCSeq {
		b = Binding{CallID: newCallID()}
	}
	t, err := parseAccount(a)
	if err != nil {
		return 0, b, err
	}
	if err := ua.waitReady(ctx); err != nil {
		return 0, b, err
	}
	reqCtx, cancel := context.WithTimeout(ctx, ua.cfg.RequestTimeout)
	defer cancel()
	ex := &exchange{
		ua:      ua,
		t:       t,
		parent:  ctx,
		fromTag: sipmsg.GenerateTagN(16),
		expires: expirySeconds(expires),
		log:     ua.log.With("aor", t.aor.User+"@"+t.aor.Host, "sip_call_id", b.CallID),
	}
	granted, err = ex.run(reqCtx, &b)
	return granted, b, err
}

// exchange is one Register call: the requests of one REGISTER transaction
// chain sharing From tag and Call-ID.
type exchange struct {
	ua      *UA
	t       *target
	parent  context.Context
	fromTag string
	expires uint32
	log     *slog.Logger

	auth       authState // challenges being answered
	minExpUsed bool
}

func (ex *exchange) run(ctx context.Context, b *Binding) (time.Duration, error) {
	for range maxRequests {
		b.CSeq++
		req, err := ex.build(*b)
		if err != nil {
			return 0, err
		}
		res, err := ex.ua.do(ctx, req)
		if err != nil {
			return 0, ex.txError(ctx, err)
		}
		ex.log.Debug("REGISTER answered", "cseq", b.CSeq, "status", res.StatusCode, "expires", ex.expires)
		switch code := res.StatusCode; {
		case code >= 200 && code < 300:
			return ex.granted(res)
		case code == 401 || code == 407:
			if err := ex.takeChallenge(res); err != nil {
				return 0, err
			}
		case code == 423:
			if err := ex.takeMinExpires(res); err != nil {
				return 0, err
			}
		default:
			return 0, ex.statusError(res, "")
		}
	}
	return 0, fmt.Errorf("%s kept challenging after %d requests", ex.t.peer, maxRequests)
}

// takeChallenge records the challenge of a 401/407 for the next request.
func (ex *exchange) takeChallenge(res *sipmsg.Response) error {
	if giveUp := ex.auth.take(res); giveUp != "" {
		return ex.authError(res, giveUp)
	}
	return nil
}

// takeMinExpires applies a 423 Interval Too Brief once (RFC 3261 §10.2.8).
func (ex *exchange) takeMinExpires(res *sipmsg.Response) error {
	min, ok := headerUint(res, "Min-Expires")
	if ex.minExpUsed || ex.expires == 0 || !ok || min <= ex.expires {
		return ex.statusError(res, "")
	}
	ex.expires, ex.minExpUsed = min, true
	return nil
}

// granted reads the expiry the registrar gave our binding: the expires
// parameter of our Contact in the 200, else its Expires header, else what
// we asked for (RFC 3261 §10.2.4).
func (ex *exchange) granted(res *sipmsg.Response) (time.Duration, error) {
	if ex.expires == 0 {
		return 0, nil
	}
	secs, ok := ex.contactExpires(res)
	if !ok {
		secs, ok = headerUint(res, "Expires")
	}
	if !ok {
		secs = ex.expires
	}
	if secs == 0 {
		return 0, fmt.Errorf("%s accepted the registration but granted no time", ex.t.peer)
	}
	return time.Duration(secs) * time.Second, nil
}

func (ex *exchange) contactExpires(res *sipmsg.Response) (uint32, bool) {
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*sipmsg.ContactHeader)
		if !ok || c.Address.User != ex.t.token || !strings.EqualFold(strings.Trim(c.Address.Host, "[]"), ex.ua.contactHost) {
			continue
		}
		if v, ok := c.Params.Get("expires"); ok {
			return parseUint32(v)
		}
	}
	return 0, false
}

func (ex *exchange) statusError(res *sipmsg.Response, detail string) *StatusError {
	e := &StatusError{Code: res.StatusCode, Reason: cleanReason(res.Reason), Peer: "SIP registrar", Detail: detail}
	if res.StatusCode == 407 {
		e.Peer = "SIP proxy" // only proxies send 407; other codes may come from either
	}
	if ra, ok := headerUint(res, "Retry-After"); ok {
		e.RetryAfter = time.Duration(ra) * time.Second
	}
	return e
}

func (ex *exchange) authError(res *sipmsg.Response, detail string) *StatusError {
	e := ex.statusError(res, detail)
	e.authFailed = true
	return e
}

// txError turns a transaction failure into ErrClosed, the caller's
// cancellation, ErrTimeout or a transport error naming the peer.
func (ex *exchange) txError(ctx context.Context, err error) error {
	return ex.ua.txFailure(ex.parent, ctx, err, ex.t.peer, "register with")
}

// txFailure turns a transaction failure into ErrClosed, the cancellation of
// parent (the caller's context), ErrTimeout (ctx bounded the transaction)
// or a transport error naming the peer. what prefixes a cancellation.
func (ua *UA) txFailure(parent, ctx context.Context, err error, peer, what string) error {
	select {
	case <-ua.stopped:
		return ErrClosed
	default:
	}
	switch {
	case parent.Err() != nil:
		return fmt.Errorf("%s %s: %w", what, peer, context.Cause(parent))
	case ctx.Err() != nil, errors.Is(err, sipmsg.ErrTransactionTimeout):
		return &timeoutError{peer: peer}
	}
	return &transportError{peer: peer, err: err}
}

// do runs one client transaction and returns its final response.
func (ua *UA) do(ctx context.Context, req *sipmsg.Request) (*sipmsg.Response, error) {
	tx, err := ua.transaction(ctx, req)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	return awaitFinal(ctx, tx)
}

var errTxEnded = errors.New("transaction ended without a final response")

// awaitFinal returns the final response of tx, skipping provisional ones.
// It leaves tx alive: an INVITE transaction must outlive its final
// response to absorb retransmissions.
func awaitFinal(ctx context.Context, tx sipmsg.ClientTransaction) (*sipmsg.Response, error) {
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			if err := tx.Err(); err != nil {
				return nil, err
			}
			// sipgo terminates transactions without an error when it
			// closes (our shutdown).
			return nil, errTxEnded
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// prebuilt stops sipgo from adding headers of its own (a second Via, a
// random CSeq, a From without our tag): build() writes all of them.
func prebuilt(*sipgo.Client, *sipmsg.Request) error { return nil }

func headerUint(res *sipmsg.Response, name string) (uint32, bool) {
	h := res.GetHeader(name)
	if h == nil {
		return 0, false
	}
	// Retry-After may carry a comment and parameters: "120 (busy);duration=60".
	v, _, _ := strings.Cut(strings.TrimSpace(h.Value()), " ")
	v, _, _ = strings.Cut(v, ";")
	return parseUint32(v)
}

func parseUint32(s string) (uint32, bool) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}

// expirySeconds rounds d up to whole seconds, as Expires counts them.
func expirySeconds(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	s := math.Ceil(d.Seconds())
	if s > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(s)
}

func newCallID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
