package gateway

import (
	"context"
	"errors"
	"time"

	"fargo.dev/fargo/internal/stanza"
	"fargo.dev/fargo/internal/store"
)

// register creates or updates the user's account after checking the
// credentials with a real REGISTER (protocol-map §5.3.1): a registration
// that cannot log in is refused with the reason instead of failing later.
// The caller answers the request, then calls afterRegister(isNew).
func (u *user) register(in accountInput) (isNew bool, serr *stanza.Error) {
	isNew = u.account == nil
	if wait := u.checkThrottle(); wait > 0 {
		return false, stanza.Errorf(stanza.TypeWait, stanza.PolicyViolation,
			"too many refused SIP credentials; try again in %s", wait.Round(time.Second))
	}
	a := store.Account{
		JID: u.jid, SIPAddress: in.SIPAddress, AuthUser: in.AuthUser, Password: in.Password,
		Registrar: in.Registrar, OutboundProxy: in.Proxy, Transport: store.Transport(in.Transport),
		DisplayName: in.DisplayName,
	}
	binding := Binding{}
	if isNew {
		if a.Password == "" {
			return false, stanza.NewError(stanza.TypeModify, stanza.NotAcceptable, "the SIP password is required")
		}
		a.ContactToken = newContactToken()
	} else {
		a.ContactToken = u.account.ContactToken
		a.CreatedAt = u.account.CreatedAt
		if a.Password == "" {
			a.Password = u.account.Password
		}
		if a.SIPAddress == u.account.SIPAddress {
			binding = u.regState.Binding
		}
	}
	ctx, cancel := context.WithTimeout(u.ctx, u.g.cfg.ValidateTimeout)
	defer cancel()
	start := time.Now()
	granted, next, err := u.g.sip.Register(ctx, a, binding, u.g.cfg.RegisterExpiry)
	if err != nil {
		u.g.stats.validationsFailed.Add(1)
		u.noteFailedCheck(err)
		u.log.Info("registration refused: SIP check failed", "aor", a.SIPAddress, "err", errText(err))
		return false, stanzaError(err)
	}
	if !isNew && u.reg != nil && a.SIPAddress != u.account.SIPAddress {
		// A different AOR: the old binding must go before the new loop starts.
		u.stopLoop(ctx)
	}
	if err := u.g.store.PutAccount(u.ctx, a); err != nil {
		u.log.Error("save account", "err", err)
		return false, stanza.NewError(stanza.TypeWait, stanza.InternalServerError, "could not save the account")
	}
	u.setAccount(&a)
	u.log.Info("SIP account saved", "aor", a.SIPAddress, "new", isNew)
	u.regEvent(RegEvent{Phase: PhaseRegistered, ExpiresAt: time.Now().Add(granted), Binding: next, Latency: time.Since(start)})
	return isNew, nil
}

// afterRegister hands the fresh binding to the presence-driven loop. The
// gateway usually cannot see the user's presence yet (the XEP-0100
// subscription starts now), so an offline-looking user gets the presence
// grace to show up before the binding is removed again.
func (u *user) afterRegister(isNew bool) {
	switch {
	case len(u.resources) > 0 && u.reg != nil:
		u.reg.Update(*u.account)
	case len(u.resources) > 0:
		u.login(false)
	default:
		u.resync()
		if !isNew {
			u.probe()
		}
	}
	if isNew {
		// XEP-0100 §4.1 steps 9–12: the gateway asks to see the user's
		// presence, which is what drives the SIP login from now on; it
		// probes once the user approves.
		u.g.send(u.ctx, presence("subscribe", u.g.cfg.Domain, u.jid))
	}
}

// stopLoop un-registers and forgets the running loop.
func (u *user) stopLoop(ctx context.Context) {
	if u.reg == nil {
		return
	}
	if err := u.reg.Unregister(ctx); err != nil {
		u.log.Warn("SIP un-REGISTER failed", "err", err)
	}
	u.reg = nil
	u.setState(RegEvent{Phase: PhaseUnregistered})
}

// remove cancels the registration (XEP-0077 §3.2, XEP-0100 §4.3): the SIP
// binding goes, the credentials are deleted, then the subscriptions.
func (u *user) remove(req *stanza.Stanza) {
	if u.account == nil {
		u.g.replyError(u.ctx, req, stanza.NewError(stanza.TypeAuth, stanza.RegistrationRequired, "there is no SIP account registered for you"))
		return
	}
	if err := u.removeAccount(); err != nil {
		u.g.replyError(u.ctx, req, stanza.NewError(stanza.TypeWait, stanza.InternalServerError, "could not delete the account"))
		return
	}
	u.g.reply(u.ctx, req)
	u.afterRemove()
}

// removeAccount un-registers and deletes the account.
func (u *user) removeAccount() error {
	ctx, cancel := context.WithTimeout(u.ctx, u.g.cfg.ValidateTimeout)
	defer cancel()
	if u.reg != nil {
		u.stopLoop(ctx)
	} else if u.regState.Phase == PhaseRegistered {
		if _, _, err := u.g.sip.Register(ctx, *u.account, u.regState.Binding, 0); err != nil {
			u.log.Warn("SIP un-REGISTER failed", "err", err)
		}
	}
	if err := u.g.store.DeleteAccount(u.ctx, u.jid); err != nil && !errors.Is(err, store.ErrNotFound) {
		u.log.Error("delete account", "err", err)
		return err
	}
	u.log.Info("SIP account removed", "aor", u.account.SIPAddress)
	u.setAccount(nil)
	u.setState(RegEvent{})
	return nil
}

// afterRemove ends the XEP-0100 subscriptions in both directions.
func (u *user) afterRemove() {
	for _, typ := range []string{"unsubscribe", "unsubscribed", "unavailable"} {
		u.g.send(u.ctx, presence(typ, u.g.cfg.Domain, u.jid))
	}
}

// Credential checks are REGISTERs at someone's SIP provider: a user may not
// turn the gateway into a password-guessing machine against it.
const (
	maxFailedChecks = 5
	failedCheckSpan = 15 * time.Minute
)

// checkThrottle is how long the user must wait before the next check.
func (u *user) checkThrottle() time.Duration {
	now := time.Now()
	recent := u.failedChecks[:0]
	for _, t := range u.failedChecks {
		if now.Sub(t) < failedCheckSpan {
			recent = append(recent, t)
		}
	}
	u.failedChecks = recent
	if len(recent) < maxFailedChecks {
		return 0
	}
	return failedCheckSpan - now.Sub(recent[0])
}

// noteFailedCheck counts refused credentials (not timeouts: those are the
// provider's trouble, not a guess).
func (u *user) noteFailedCheck(err error) {
	var se *SIPError
	if errors.As(err, &se) && se.Kind == SIPAuthFailed {
		u.failedChecks = append(u.failedChecks, time.Now())
	}
}
