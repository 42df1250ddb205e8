package gateway

import (
	"context"
	"fmt"
	"sync"
	"time"

	"fargo.dev/fargo/internal/store"
)

// The gateway answers the account lookups made for every call from memory:
// the read loop checks that the sender of each Jingle iq to a contact has an
// account, and every inbound INVITE names its user by contact token. Both
// used to be store reads (a fifth of the gateway's CPU per call under load,
// docs/performance.md). The user's actor owns the account; it publishes
// each change to the two structures below, and only when it has not yet
// said anything about a user does a lookup ask the store.
//
// This is exact because the actor is the only writer of its user's account
// (register, remove) and publishes after the store write succeeded. With
// several gateway instances on one shared store it would not be: an
// instance does not see another's writes to a user it holds in memory. That
// is already true of the actor's own copy, which drives SIP registration and
// calls, so instances sharing a store must also partition users among them.

// accountView is what goroutines other than a user's actor know of the
// user's account. acct nil: the user has none. The account it points to is
// never modified (the actor replaces u.account, it does not edit it).
type accountView struct{ acct *store.Account }

// setAccount replaces the user's account and publishes it: every change of
// u.account goes through here, after the store has it.
func (u *user) setAccount(a *store.Account) {
	old := u.account
	u.account = a
	u.view.Store(&accountView{acct: a})
	if old != nil && (a == nil || a.ContactToken != old.ContactToken) {
		u.g.tokens.remove(old.ContactToken, u)
	}
	if a != nil {
		u.g.tokens.put(a.ContactToken, u)
	}
}

// knownAccount is the account as the actor last published it; known is
// false while the actor has not said (not loaded at start, never registered
// or removed here), and then the store must be asked.
func (u *user) knownAccount() (acct *store.Account, known bool) {
	v := u.view.Load()
	if v == nil {
		return nil, false
	}
	return v.acct, true
}

// accountOf returns the account of bare JID j, or an error wrapping
// store.ErrNotFound: from its actor when the actor knows, else from the
// store. Safe to call from any goroutine.
func (g *Gateway) accountOf(ctx context.Context, j string) (*store.Account, error) {
	if u := g.existingUser(j); u != nil {
		if a, known := u.knownAccount(); known {
			if a == nil {
				return nil, fmt.Errorf("gateway: account %q: %w", j, store.ErrNotFound)
			}
			return a, nil
		}
	}
	a, err := g.store.Account(ctx, j)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// tokenLookupTimeout bounds the store read for a token the index misses;
// the SIP side is waiting for the INVITE's answer.
const tokenLookupTimeout = 2 * time.Second

// userByToken returns the actor of the user whose contact token is token,
// nil if there is none: from the index, else (a user not loaded yet, an
// unknown token) from the store.
func (g *Gateway) userByToken(token string) *user {
	if u := g.tokens.get(token); u != nil {
		return u
	}
	ctx, cancel := context.WithTimeout(g.ctx, tokenLookupTimeout)
	defer cancel()
	a, err := g.store.AccountByToken(ctx, token)
	if err != nil {
		return nil
	}
	return g.user(a.JID)
}

// tokenIndex maps contact tokens to the actors whose accounts carry them.
// Users' actors add their token when their account is loaded or saved and
// remove it when the account is removed or the token replaced; an entry is
// only ever removed by the user it names, so a late removal cannot drop
// another user's token. The actor checks the token again when the call
// reaches it (ringIn), so a lookup racing a removal is refused there.
// Safe for concurrent use.
type tokenIndex struct {
	mu sync.RWMutex
	m  map[string]*user
}

func (t *tokenIndex) get(token string) *user {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.m[token]
}

func (t *tokenIndex) put(token string, u *user) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]*user)
	}
	t.m[token] = u
}

func (t *tokenIndex) remove(token string, u *user) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m[token] == u {
		delete(t.m, token)
	}
}

func (t *tokenIndex) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m)
}
