package app

import (
	"context"
	"errors"
	"time"

	"fargo.dev/fargo/internal/gateway"
	"fargo.dev/fargo/internal/sip"
	"fargo.dev/fargo/internal/store"
)

// sipAdapter presents the SIP user agent as the gateway's SIP interface.
type sipAdapter struct{ ua *sip.UA }

func sipAccount(a store.Account) sip.Account {
	return sip.Account{
		AOR: a.SIPAddress, AuthUser: a.AuthUser, Password: a.Password, Registrar: a.Registrar,
		OutboundProxy: a.OutboundProxy, Transport: string(a.Transport), DisplayName: a.DisplayName,
		ContactToken: a.ContactToken,
	}
}

func (s sipAdapter) Register(ctx context.Context, a store.Account, b gateway.Binding, expires time.Duration) (time.Duration, gateway.Binding, error) {
	granted, next, err := s.ua.Register(ctx, sipAccount(a), sip.Binding{CallID: b.CallID, CSeq: b.CSeq}, expires)
	return granted, gateway.Binding{CallID: next.CallID, CSeq: next.CSeq}, sipError(err)
}

func (s sipAdapter) NewRegistration(a store.Account, b gateway.Binding, onState func(gateway.RegEvent)) gateway.Registration {
	r := s.ua.NewRegistration(sipAccount(a), sip.Binding{CallID: b.CallID, CSeq: b.CSeq}, func(st sip.State) {
		onState(gateway.RegEvent{
			Phase: gateway.RegPhase(st.Phase), Err: sipError(st.Err),
			ExpiresAt: st.ExpiresAt, RetryAt: st.RetryAt, Latency: st.Latency,
			Binding: gateway.Binding{CallID: st.Binding.CallID, CSeq: st.Binding.CSeq},
		})
	})
	return registration{r}
}

type registration struct{ r *sip.Registration }

func (r registration) Start()                               { r.r.Start() }
func (r registration) Update(a store.Account)               { r.r.Update(sipAccount(a)) }
func (r registration) Unregister(ctx context.Context) error { return sipError(r.r.Unregister(ctx)) }
func (r registration) Close()                               { r.r.Close() }

// sipError classifies a SIP failure for the gateway.
func sipError(err error) error {
	if err == nil {
		return nil
	}
	kind := gateway.SIPRejected
	code := 0
	var se *sip.StatusError
	if errors.As(err, &se) {
		code = se.Code
	}
	switch {
	case sip.IsAuthFailure(err):
		kind = gateway.SIPAuthFailed
	case sip.IsTimeout(err), errors.Is(err, context.DeadlineExceeded):
		kind = gateway.SIPTimeout
	}
	return &gateway.SIPError{Kind: kind, Code: code, Text: err.Error(), Err: err}
}

// tokenPolicy tells the SIP user agent which contact tokens are ours. It
// is asked for every INVITE and every out-of-dialog request, before the
// gateway (which keeps its own token index) is: the SQLite store answers
// known tokens from its account cache (store.AccountCache), which drops an
// account's entry when the account is changed or deleted; an unknown token
// always reaches the database.
type tokenPolicy struct{ st store.Store }

func (p tokenPolicy) KnownToken(ctx context.Context, token string) bool {
	_, err := p.st.AccountByToken(ctx, token)
	return err == nil
}
