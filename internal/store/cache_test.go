package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backing is a stand-in for a database behind the cache, counting reads.
type backing struct {
	mu    sync.Mutex
	accts map[string]Account
	reads atomic.Int64
}

func newBacking(as ...Account) *backing {
	b := &backing{accts: map[string]Account{}}
	for _, a := range as {
		b.accts[a.JID] = a
	}
	return b
}

func (b *backing) put(a Account) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.accts[a.JID] = a
}

func (b *backing) del(jid string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.accts, jid)
}

func (b *backing) byJID(jid string) func() (Account, error) {
	return func() (Account, error) {
		b.reads.Add(1)
		b.mu.Lock()
		defer b.mu.Unlock()
		if a, ok := b.accts[jid]; ok {
			return a, nil
		}
		return Account{}, fmt.Errorf("backing: %q: %w", jid, ErrNotFound)
	}
}

func (b *backing) byToken(tok string) func() (Account, error) {
	return func() (Account, error) {
		b.reads.Add(1)
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, a := range b.accts {
			if a.ContactToken == tok {
				return a, nil
			}
		}
		return Account{}, fmt.Errorf("backing: token: %w", ErrNotFound)
	}
}

var bg = context.Background()

func acct(jid, tok string) Account {
	return Account{JID: jid, ContactToken: tok, Password: "pw " + jid}
}

func wantReads(t *testing.T, b *backing, n int64) {
	t.Helper()
	if got := b.reads.Load(); got != n {
		t.Errorf("store reads = %d, want %d", got, n)
	}
}

func TestAccountCacheHit(t *testing.T) {
	b := newBacking(acct("alice@x", "tok-a"))
	c := NewAccountCache(10, time.Hour)
	for range 3 {
		a, err := c.Account(bg, "alice@x", b.byJID("alice@x"))
		if err != nil || a.Password != "pw alice@x" {
			t.Fatalf("Account = %+v, %v", a, err)
		}
	}
	// A read by JID also serves the token, and the other way round.
	if a, err := c.ByToken(bg, "tok-a", b.byToken("tok-a")); err != nil || a.JID != "alice@x" {
		t.Fatalf("ByToken = %+v, %v", a, err)
	}
	wantReads(t, b, 1)
}

func TestAccountCacheMissAlwaysAsks(t *testing.T) {
	b := newBacking()
	c := NewAccountCache(10, time.Hour)
	for range 3 {
		if _, err := c.Account(bg, "nobody@x", b.byJID("nobody@x")); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Account(nobody) = %v, want ErrNotFound", err)
		}
		if _, err := c.ByToken(bg, "tok-nobody", b.byToken("tok-nobody")); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ByToken(nobody) = %v, want ErrNotFound", err)
		}
	}
	wantReads(t, b, 6)
	// An account created after the misses is found at once.
	b.put(acct("nobody@x", "tok-nobody"))
	if _, err := c.ByToken(bg, "tok-nobody", b.byToken("tok-nobody")); err != nil {
		t.Fatalf("ByToken after create: %v", err)
	}
	if c.Len() != 1 {
		t.Errorf("Len = %d, want 1", c.Len())
	}
}

func TestAccountCacheInvalidateOnUpdate(t *testing.T) {
	b := newBacking(acct("alice@x", "tok-old"))
	c := NewAccountCache(10, time.Hour)
	if _, err := c.ByToken(bg, "tok-old", b.byToken("tok-old")); err != nil {
		t.Fatal(err)
	}
	// The account gets a new password and token.
	upd := acct("alice@x", "tok-new")
	upd.Password = "changed"
	b.put(upd)
	c.Invalidate("alice@x")

	if a, err := c.Account(bg, "alice@x", b.byJID("alice@x")); err != nil || a.Password != "changed" {
		t.Fatalf("Account after update = %+v, %v; want the new password", a, err)
	}
	if _, err := c.ByToken(bg, "tok-old", b.byToken("tok-old")); !errors.Is(err, ErrNotFound) {
		t.Errorf("old token after update: %v, want ErrNotFound", err)
	}
	if a, err := c.ByToken(bg, "tok-new", b.byToken("tok-new")); err != nil || a.JID != "alice@x" {
		t.Errorf("new token = %+v, %v", a, err)
	}
}

func TestAccountCacheInvalidateOnDelete(t *testing.T) {
	b := newBacking(acct("alice@x", "tok-a"), acct("bob@x", "tok-b"))
	c := NewAccountCache(10, time.Hour)
	for _, j := range []string{"alice@x", "bob@x"} {
		if _, err := c.Account(bg, j, b.byJID(j)); err != nil {
			t.Fatal(err)
		}
	}
	b.del("alice@x")
	c.Invalidate("alice@x")
	if _, err := c.ByToken(bg, "tok-a", b.byToken("tok-a")); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted account's token: %v, want ErrNotFound", err)
	}
	if _, err := c.Account(bg, "alice@x", b.byJID("alice@x")); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted account: %v, want ErrNotFound", err)
	}
	before := b.reads.Load()
	if _, err := c.ByToken(bg, "tok-b", b.byToken("tok-b")); err != nil {
		t.Fatal(err)
	}
	wantReads(t, b, before) // bob is still cached
}

// A read that began before a write and finishes after it must not put
// back what it read: that would serve a deleted account.
func TestAccountCacheReadRacingWrite(t *testing.T) {
	b := newBacking(acct("alice@x", "tok-a"))
	c := NewAccountCache(10, time.Hour)
	stale := func() (Account, error) {
		a, err := b.byJID("alice@x")()
		// The delete commits and invalidates while this query is out.
		b.del("alice@x")
		c.Invalidate("alice@x")
		return a, err
	}
	if _, err := c.Account(bg, "alice@x", stale); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ByToken(bg, "tok-a", b.byToken("tok-a")); !errors.Is(err, ErrNotFound) {
		t.Errorf("token after racing delete: %v, want ErrNotFound", err)
	}
}

func TestAccountCacheExpiry(t *testing.T) {
	b := newBacking(acct("alice@x", "tok-a"))
	c := NewAccountCache(10, time.Minute)
	now := time.Unix(1e9, 0)
	c.now = func() time.Time { return now }
	read := func() {
		t.Helper()
		if _, err := c.Account(bg, "alice@x", b.byJID("alice@x")); err != nil {
			t.Fatal(err)
		}
	}
	read()
	now = now.Add(59 * time.Second)
	read()
	wantReads(t, b, 1)
	now = now.Add(2 * time.Second)
	read()
	wantReads(t, b, 2)
}

func TestAccountCacheCanceledContext(t *testing.T) {
	b := newBacking(acct("alice@x", "tok-a"))
	c := NewAccountCache(10, time.Hour)
	if _, err := c.Account(bg, "alice@x", b.byJID("alice@x")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	load := func() (Account, error) { return Account{}, ctx.Err() }
	if _, err := c.Account(ctx, "alice@x", load); !errors.Is(err, context.Canceled) {
		t.Errorf("Account with a canceled context = %v, want the store's context.Canceled", err)
	}
}

func TestAccountCacheBounded(t *testing.T) {
	b := newBacking()
	c := NewAccountCache(3, time.Hour)
	for i := range 10 {
		j := "u" + strconv.Itoa(i) + "@x"
		b.put(acct(j, "tok-"+j))
		if _, err := c.Account(bg, j, b.byJID(j)); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.RLock()
	nj, nt := len(c.byJID), len(c.byToken)
	c.mu.RUnlock()
	if nj != 3 || nt != 3 {
		t.Errorf("entries by JID %d, by token %d; want 3 and 3", nj, nt)
	}
}

// Concurrent readers and writers: a read that starts after a write (and
// its Invalidate) finished never returns anything older. Run with -race.
func TestAccountCacheConcurrent(t *testing.T) {
	const users, writes = 4, 200
	b := newBacking()
	var done [users]atomic.Int64 // the last version of each user fully written
	for i := range users {
		b.put(Account{JID: jidOf(i), ContactToken: "tok-" + jidOf(i), DisplayName: "v0"})
	}
	c := NewAccountCache(users, time.Hour)
	ctx, cancel := context.WithCancel(bg)
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			for v := int64(1); v <= writes; v++ {
				b.put(Account{JID: jidOf(i), ContactToken: "tok-" + jidOf(i), DisplayName: "v" + strconv.FormatInt(v, 10)})
				c.Invalidate(jidOf(i))
				done[i].Store(v)
			}
		})
	}
	errs := make(chan error, 4)
	for r := range 4 {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				i := (n + r) % users
				floor := done[i].Load()
				var a Account
				var err error
				if n%2 == 0 {
					a, err = c.Account(bg, jidOf(i), b.byJID(jidOf(i)))
				} else {
					a, err = c.ByToken(bg, "tok-"+jidOf(i), b.byToken("tok-"+jidOf(i)))
				}
				if err != nil {
					errs <- err
					return
				}
				if v, _ := strconv.ParseInt(strings.TrimPrefix(a.DisplayName, "v"), 10, 64); v < floor || a.JID != jidOf(i) {
					errs <- fmt.Errorf("read %s %s after version %d was written", a.JID, a.DisplayName, floor)
					return
				}
			}
		})
	}
	go func() {
		for i := range users {
			for done[i].Load() < writes {
				time.Sleep(time.Millisecond)
			}
		}
		cancel()
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func jidOf(i int) string { return "u" + strconv.Itoa(i) + "@x" }

func BenchmarkAccountCacheHit(b *testing.B) {
	bk := newBacking(acct("alice@x", "tok-a"))
	c := NewAccountCache(10, time.Hour)
	load := bk.byToken("tok-a")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.ByToken(bg, "tok-a", load); err != nil {
			b.Fatal(err)
		}
	}
}
