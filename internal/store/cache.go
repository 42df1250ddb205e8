package store

import (
	"context"
	"sync"
	"time"
)

// AccountCache keeps accounts a Store has read in memory, by JID and by
// contact token, so that the lookups made for every call (the caller's
// account for each Jingle request, the callee's token for each inbound SIP
// request) do not reach the database. A Store implementation uses it
// inside its own methods: reads go through Account or ByToken, and every
// write to an account (successful or not) is followed by Invalidate.
//
// It is exact for one process that makes every write through the store
// holding the cache: a write removes the entry, a read that raced with a
// write never puts back what it read before it (see Account), and a miss,
// including for an account that does not exist, always asks the store; no
// absence is cached. It is not exact across processes: when several
// gateway instances share one database (PostgreSQL), or a tool edits the
// file, another writer's change is seen only when the entry expires after
// maxAge, so a deleted account's token may route calls for up to maxAge.
// A store shared that way must use a short maxAge, or a change feed
// (LISTEN/NOTIFY) calling Invalidate, before it enables the cache.
//
// Entries hold plaintext passwords, like the gateway's own actors do.
// It is safe for concurrent use.
type AccountCache struct {
	max    int
	maxAge time.Duration
	now    func() time.Time

	mu      sync.RWMutex
	gen     uint64 // bumped by every Invalidate; a fill from an older read is dropped
	byJID   map[string]*cachedAccount
	byToken map[string]*cachedAccount
}

type cachedAccount struct {
	a       Account
	expires time.Time
}

// NewAccountCache returns a cache of at most maxEntries accounts, each
// served for at most maxAge after it was read from the store.
func NewAccountCache(maxEntries int, maxAge time.Duration) *AccountCache {
	return &AccountCache{
		max: max(1, maxEntries), maxAge: maxAge, now: time.Now,
		byJID:   make(map[string]*cachedAccount),
		byToken: make(map[string]*cachedAccount),
	}
}

// Account returns the account of jid from the cache, or from load (the
// store's query), keeping what load found. A done ctx skips the cache, so
// that a canceled caller gets the store's context error as it would
// without the cache.
func (c *AccountCache) Account(ctx context.Context, jid string, load func() (Account, error)) (Account, error) {
	return c.lookup(ctx, c.byJID, jid, load)
}

// ByToken is Account keyed by contact token.
func (c *AccountCache) ByToken(ctx context.Context, token string, load func() (Account, error)) (Account, error) {
	return c.lookup(ctx, c.byToken, token, load)
}

// Invalidate forgets jid's account. Call it after every write to it,
// whether the write succeeded or not: a failed or canceled write may still
// have committed.
func (c *AccountCache) Invalidate(jid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if e := c.byJID[jid]; e != nil {
		c.removeLocked(e)
	}
}

// Len is the number of cached accounts.
func (c *AccountCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.byJID)
}

// lookup reads m, which is byJID or byToken; the maps are only read under
// mu, so passing one is safe.
func (c *AccountCache) lookup(ctx context.Context, m map[string]*cachedAccount, key string, load func() (Account, error)) (Account, error) {
	if ctx.Err() == nil {
		c.mu.RLock()
		e := m[key]
		gen := c.gen
		c.mu.RUnlock()
		if e != nil && c.now().Before(e.expires) {
			return e.a, nil
		}
		// The generation is taken before the query: a write that lands
		// between the query and the fill bumps it, and the fill is dropped.
		a, err := load()
		if err == nil {
			c.fill(gen, a)
		}
		return a, err
	}
	return load()
}

func (c *AccountCache) fill(gen uint64, a Account) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	// Entries are always in both maps; replacing what either key names
	// keeps them consistent when a token moved.
	if e := c.byJID[a.JID]; e != nil {
		c.removeLocked(e)
	}
	if e := c.byToken[a.ContactToken]; e != nil {
		c.removeLocked(e)
	}
	if len(c.byJID) >= c.max {
		c.evictLocked()
	}
	e := &cachedAccount{a: a, expires: c.now().Add(c.maxAge)}
	c.byJID[a.JID] = e
	c.byToken[a.ContactToken] = e
}

func (c *AccountCache) removeLocked(e *cachedAccount) {
	if c.byJID[e.a.JID] == e {
		delete(c.byJID, e.a.JID)
	}
	if c.byToken[e.a.ContactToken] == e {
		delete(c.byToken, e.a.ContactToken)
	}
}

// evictLocked drops one entry, whichever map iteration yields first: an
// evicted account costs one store read, which does not justify an LRU list.
func (c *AccountCache) evictLocked() {
	for _, e := range c.byJID {
		c.removeLocked(e)
		return
	}
}
