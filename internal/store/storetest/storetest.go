package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"fargo.dev/fargo/internal/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Run runs the store.Store contract as named subtests of t.
//
// newStore must return a new, empty store for each call; it is called from
// parallel subtests, each with its own *testing.T (use it for t.TempDir and
// t.Cleanup). Run closes every store it gets and fails if Close fails, so
// newStore must not close it.
//
// Times are compared to the microsecond where the caller chose them
// (ExpiresAt), which is what PostgreSQL timestamps keep; implementations
// that keep more should test that themselves.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"PutGet", testPutGet},
		{"UpdatedAtSetByStore", testUpdatedAtSetByStore},
		{"Replace", testReplace},
		{"ReplaceKeepsRegistration", testReplaceKeepsRegistration},
		{"AccountByToken", testAccountByToken},
		{"TokenUnique", testTokenUnique},
		{"DeleteCascades", testDeleteCascades},
		{"NotFound", testNotFound},
		{"AccountsOrdered", testAccountsOrdered},
		{"RegistrationDefault", testRegistrationDefault},
		{"RegistrationRoundTrip", testRegistrationRoundTrip},
		{"ConcurrentWriters", testConcurrentWriters},
		{"UnicodeJIDs", testUnicodeJIDs},
		{"DistinctKeys", testDistinctKeys},
		{"CanceledContext", testCanceledContext},
		{"ReadsFollowWrites", testReadsFollowWrites},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// timeSlack bounds how far a store-set time may be from the test's clock:
// generous, because the point is "set to now", not clock precision.
const timeSlack = 5 * time.Second

// ignoreStoreTimes leaves out the fields the store sets itself.
var (
	ignoreAccountTimes = cmpopts.IgnoreFields(store.Account{}, "CreatedAt", "UpdatedAt")
	ignoreRegTime      = cmpopts.IgnoreFields(store.Registration{}, "UpdatedAt")
)

func account(jid, token string) store.Account {
	return store.Account{
		JID:           jid,
		SIPAddress:    "alice@sip.example.org",
		AuthUser:      "alice-auth",
		Password:      "pw for " + jid,
		Registrar:     "sip.example.org:5061",
		OutboundProxy: "sip:proxy.example.org;lr",
		Transport:     store.TransportTLS,
		DisplayName:   "Alice Example",
		ContactToken:  token,
	}
}

func put(t *testing.T, s store.Store, a store.Account) {
	t.Helper()
	if err := s.PutAccount(context.Background(), a); err != nil {
		t.Fatalf("PutAccount(%q): %v", a.JID, err)
	}
}

func get(t *testing.T, s store.Store, jid string) store.Account {
	t.Helper()
	a, err := s.Account(context.Background(), jid)
	if err != nil {
		t.Fatalf("Account(%q): %v", jid, err)
	}
	return a
}

func putReg(t *testing.T, s store.Store, r store.Registration) {
	t.Helper()
	if err := s.PutRegistration(context.Background(), r); err != nil {
		t.Fatalf("PutRegistration(%q): %v", r.JID, err)
	}
}

func getReg(t *testing.T, s store.Store, jid string) store.Registration {
	t.Helper()
	r, err := s.Registration(context.Background(), jid)
	if err != nil {
		t.Fatalf("Registration(%q): %v", jid, err)
	}
	return r
}

func checkNear(t *testing.T, what string, got, lo, hi time.Time) {
	t.Helper()
	if got.IsZero() || got.Before(lo.Add(-timeSlack)) || got.After(hi.Add(timeSlack)) {
		t.Errorf("%s = %v, want about now (%v .. %v)", what, got, lo, hi)
	}
}

func testPutGet(t *testing.T, s store.Store) {
	for _, tc := range []struct {
		name string
		a    store.Account
	}{
		{name: "full", a: account("full@example.org", "tok-full")},
		{name: "minimal", a: store.Account{
			JID: "min@example.org", SIPAddress: "min@sip.example.org",
			Transport: store.TransportUDP, ContactToken: "tok-min",
		}},
		{name: "awkward text", a: store.Account{
			JID: "odd@example.org", SIPAddress: "o'brien@sip.example.org",
			AuthUser: `a"b\c`, Password: "pässwörd 🔑 ' \" ; -- \x00 end",
			Registrar: "[2001:db8::1]:5060", Transport: store.TransportTCP,
			DisplayName: "Ö'Brien \"the\" 📞", ContactToken: "tok-odd",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now()
			put(t, s, tc.a)
			after := time.Now()
			got := get(t, s, tc.a.JID)
			if diff := cmp.Diff(tc.a, got, ignoreAccountTimes); diff != "" {
				t.Errorf("Account mismatch (-put +got):\n%s", diff)
			}
			checkNear(t, "CreatedAt", got.CreatedAt, before, after)
			checkNear(t, "UpdatedAt", got.UpdatedAt, before, after)
			if got.UpdatedAt.Before(got.CreatedAt) {
				t.Errorf("UpdatedAt %v before CreatedAt %v", got.UpdatedAt, got.CreatedAt)
			}
		})
	}
}

// The caller's UpdatedAt is not what gets stored: the store sets it.
func testUpdatedAtSetByStore(t *testing.T, s store.Store) {
	a := account("alice@example.org", "tok-a")
	a.UpdatedAt = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	before := time.Now()
	put(t, s, a)
	checkNear(t, "UpdatedAt", get(t, s, a.JID).UpdatedAt, before, time.Now())
}

func testReplace(t *testing.T, s store.Store) {
	ctx := context.Background()
	put(t, s, account("alice@example.org", "tok-old"))
	first := get(t, s, "alice@example.org")

	// Make sure the clock moves, even on coarse clocks.
	time.Sleep(20 * time.Millisecond)
	next := store.Account{
		JID: "alice@example.org", SIPAddress: "alice@other.example.net",
		Password: "new password", Transport: store.TransportUDP,
		DisplayName: "Alice Two", ContactToken: "tok-new",
		// Left zero, as a caller building a fresh Account would.
	}
	put(t, s, next)
	got := get(t, s, "alice@example.org")
	if diff := cmp.Diff(next, got, ignoreAccountTimes); diff != "" {
		t.Errorf("replaced Account mismatch (-put +got):\n%s", diff)
	}
	if !got.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("CreatedAt = %v after replace, want it kept at %v", got.CreatedAt, first.CreatedAt)
	}
	if !got.UpdatedAt.After(first.UpdatedAt) {
		t.Errorf("UpdatedAt = %v after replace, want after %v", got.UpdatedAt, first.UpdatedAt)
	}

	if _, err := s.AccountByToken(ctx, "tok-old"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AccountByToken(old token) error = %v, want ErrNotFound", err)
	}
	if a, err := s.AccountByToken(ctx, "tok-new"); err != nil || a.JID != "alice@example.org" {
		t.Errorf("AccountByToken(new token) = %q, %v; want alice@example.org", a.JID, err)
	}
	all, err := s.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 {
		t.Errorf("Accounts has %d entries after replace, want 1", len(all))
	}
}

// Editing an account (new password, say) must not lose the binding's
// Call-ID and CSeq: the registration manager decides when to start over.
func testReplaceKeepsRegistration(t *testing.T, s store.Store) {
	put(t, s, account("alice@example.org", "tok-a"))
	reg := store.Registration{JID: "alice@example.org", State: store.RegStateRegistered, CallID: "c1@gw", CSeq: 7}
	putReg(t, s, reg)
	a := account("alice@example.org", "tok-a")
	a.Password = "changed"
	put(t, s, a)
	if diff := cmp.Diff(reg, getReg(t, s, "alice@example.org"), ignoreRegTime); diff != "" {
		t.Errorf("Registration after account replace (-want +got):\n%s", diff)
	}
}

func testAccountByToken(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, jid := range []string{"alice@example.org", "bob@example.org", "carol@example.net"} {
		put(t, s, account(jid, "tok-"+jid))
	}
	for _, tc := range []struct {
		name    string
		token   string
		wantJID string
	}{
		{name: "alice", token: "tok-alice@example.org", wantJID: "alice@example.org"},
		{name: "bob", token: "tok-bob@example.org", wantJID: "bob@example.org"},
		{name: "carol", token: "tok-carol@example.net", wantJID: "carol@example.net"},
		{name: "unknown", token: "tok-nobody"},
		{name: "empty", token: ""},
		{name: "prefix", token: "tok-alice"},
		{name: "other case", token: "TOK-alice@example.org"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.AccountByToken(ctx, tc.token)
			if tc.wantJID == "" {
				if !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("AccountByToken(%q) = %q, %v; want ErrNotFound", tc.token, got.JID, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("AccountByToken(%q): %v", tc.token, err)
			}
			want := get(t, s, tc.wantJID)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("AccountByToken differs from Account (-Account +ByToken):\n%s", diff)
			}
		})
	}
}

func testTokenUnique(t *testing.T, s store.Store) {
	ctx := context.Background()
	put(t, s, account("alice@example.org", "tok-shared"))
	put(t, s, account("bob@example.org", "tok-bob"))

	// A new account taking a used token.
	err := s.PutAccount(ctx, account("mallory@example.org", "tok-shared"))
	if err == nil {
		t.Fatal("PutAccount with another account's token succeeded")
	}
	if errors.Is(err, store.ErrNotFound) {
		t.Errorf("PutAccount duplicate token error = %v; must not be ErrNotFound", err)
	}
	if _, err := s.Account(ctx, "mallory@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Account(mallory) error = %v, want ErrNotFound: the failed put must not create it", err)
	}

	// An existing account switching to a used token.
	bob := account("bob@example.org", "tok-shared")
	bob.Password = "changed"
	if err := s.PutAccount(ctx, bob); err == nil {
		t.Fatal("PutAccount switching to another account's token succeeded")
	}
	if got := get(t, s, "bob@example.org"); got.ContactToken != "tok-bob" || got.Password == "changed" {
		t.Errorf("bob after failed replace = token %q, password changed %v; want unchanged", got.ContactToken, got.Password == "changed")
	}

	a, err := s.AccountByToken(ctx, "tok-shared")
	if err != nil || a.JID != "alice@example.org" {
		t.Errorf("AccountByToken(tok-shared) = %q, %v; want alice@example.org", a.JID, err)
	}
}

func testDeleteCascades(t *testing.T, s store.Store) {
	ctx := context.Background()
	const jid = "alice@example.org"
	put(t, s, account(jid, "tok-a"))
	put(t, s, account("bob@example.org", "tok-b"))
	putReg(t, s, store.Registration{JID: jid, State: store.RegStateRegistered, CallID: "c@gw", CSeq: 3,
		ExpiresAt: time.Now().Add(time.Hour).Truncate(time.Microsecond)})
	putReg(t, s, store.Registration{JID: "bob@example.org", State: store.RegStateRegistered, CallID: "b@gw", CSeq: 9})

	if err := s.DeleteAccount(ctx, jid); err != nil {
		t.Fatalf("DeleteAccount: %v", err)
	}
	if _, err := s.Account(ctx, jid); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Account after delete: %v, want ErrNotFound", err)
	}
	if _, err := s.AccountByToken(ctx, "tok-a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AccountByToken after delete: %v, want ErrNotFound", err)
	}
	if _, err := s.Registration(ctx, jid); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Registration after delete: %v, want ErrNotFound", err)
	}
	if err := s.DeleteAccount(ctx, jid); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteAccount: %v, want ErrNotFound", err)
	}

	// The registration is really gone, not just hidden: an account
	// re-created under the same JID starts with none.
	put(t, s, account(jid, "tok-a"))
	want := store.Registration{JID: jid, State: store.RegStateNone}
	if diff := cmp.Diff(want, getReg(t, s, jid)); diff != "" {
		t.Errorf("Registration of re-created account (-want +got):\n%s", diff)
	}
	// Bob's state is untouched.
	if got := getReg(t, s, "bob@example.org"); got.CallID != "b@gw" || got.CSeq != 9 {
		t.Errorf("bob's registration = %+v, want untouched", got)
	}
}

func testNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	put(t, s, account("present@example.org", "tok-present"))
	for _, tc := range []struct {
		name string
		op   func() error
	}{
		{"Account", func() error { _, err := s.Account(ctx, "absent@example.org"); return err }},
		{"Account empty JID", func() error { _, err := s.Account(ctx, ""); return err }},
		{"AccountByToken", func() error { _, err := s.AccountByToken(ctx, "tok-absent"); return err }},
		{"DeleteAccount", func() error { return s.DeleteAccount(ctx, "absent@example.org") }},
		{"Registration", func() error { _, err := s.Registration(ctx, "absent@example.org"); return err }},
		{"PutRegistration", func() error {
			return s.PutRegistration(ctx, store.Registration{JID: "absent@example.org", State: store.RegStateRegistering, CallID: "x", CSeq: 1})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("error = %v, want errors.Is ErrNotFound", err)
			}
		})
	}
	// And the failed PutRegistration created nothing a later account
	// would inherit.
	put(t, s, account("absent@example.org", "tok-absent"))
	if got := getReg(t, s, "absent@example.org"); got.CallID != "" || got.State != store.RegStateNone {
		t.Errorf("Registration of new account = %+v, want none", got)
	}
}

func testAccountsOrdered(t *testing.T, s store.Store) {
	ctx := context.Background()
	all, err := s.Accounts(ctx)
	if err != nil {
		t.Fatalf("Accounts (empty): %v", err)
	}
	if len(all) != 0 {
		t.Fatalf("Accounts of empty store = %d entries, want 0", len(all))
	}
	// ASCII only, so byte order and any sane collation agree.
	jids := []string{"mike@b.example", "alice@z.example", "zed@a.example", "alice@a.example", "bob@a.example", "Zoe@a.example", "alice2@a.example"}
	want := map[string]store.Account{}
	for i, jid := range jids {
		a := account(jid, fmt.Sprintf("tok-%d", i))
		put(t, s, a)
		want[jid] = a
	}
	all, err = s.Accounts(ctx)
	if err != nil {
		t.Fatalf("Accounts: %v", err)
	}
	var got []string
	for _, a := range all {
		got = append(got, a.JID)
		if diff := cmp.Diff(want[a.JID], a, ignoreAccountTimes); diff != "" {
			t.Errorf("Accounts entry %q (-put +got):\n%s", a.JID, diff)
		}
		if a.CreatedAt.IsZero() || a.UpdatedAt.IsZero() {
			t.Errorf("Accounts entry %q has zero times", a.JID)
		}
	}
	sorted := slices.Sorted(slices.Values(jids))
	if diff := cmp.Diff(sorted, got); diff != "" {
		t.Errorf("Accounts order (-want +got):\n%s", diff)
	}
}

func testRegistrationDefault(t *testing.T, s store.Store) {
	put(t, s, account("alice@example.org", "tok-a"))
	want := store.Registration{JID: "alice@example.org", State: store.RegStateNone}
	if diff := cmp.Diff(want, getReg(t, s, "alice@example.org")); diff != "" {
		t.Errorf("Registration of a fresh account (-want +got):\n%s", diff)
	}
}

func testRegistrationRoundTrip(t *testing.T, s store.Store) {
	const jid = "alice@example.org"
	put(t, s, account(jid, "tok-a"))
	// Not UTC, and with sub-second digits, so that zone and precision
	// handling both show.
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	expires := time.Date(2031, 7, 14, 23, 59, 58, 123456000, zone)
	// The cases run in order on one row: each overwrites the previous.
	for _, tc := range []struct {
		name string
		r    store.Registration
	}{
		{name: "registering", r: store.Registration{JID: jid, State: store.RegStateRegistering, CallID: "a84b4c76e66710@gw.example.org", CSeq: 1}},
		{name: "registered", r: store.Registration{JID: jid, State: store.RegStateRegistered, CallID: "a84b4c76e66710@gw.example.org", CSeq: 2, ExpiresAt: expires}},
		{name: "refresh", r: store.Registration{JID: jid, State: store.RegStateRegistered, CallID: "a84b4c76e66710@gw.example.org", CSeq: 3, ExpiresAt: expires.Add(time.Hour)}},
		{name: "max cseq", r: store.Registration{JID: jid, State: store.RegStateRegistered, CallID: "c", CSeq: 1<<32 - 1, ExpiresAt: expires}},
		{name: "failed", r: store.Registration{JID: jid, State: store.RegStateFailed, CallID: "c2", CSeq: 4, LastError: "403 Forbidden: « bad credentials » 🙅"}},
		{name: "unregistered clears expiry", r: store.Registration{JID: jid, State: store.RegStateUnregistered, CallID: "c2", CSeq: 5}},
		{name: "far past expiry", r: store.Registration{JID: jid, State: store.RegStateRegistered, CallID: "c3", CSeq: 6, ExpiresAt: time.Date(1971, 1, 1, 0, 0, 0, 1000, time.UTC)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now()
			putReg(t, s, tc.r)
			after := time.Now()
			got := getReg(t, s, jid)
			if diff := cmp.Diff(tc.r, got, ignoreRegTime); diff != "" {
				t.Errorf("Registration (-put +got):\n%s", diff)
			}
			checkNear(t, "UpdatedAt", got.UpdatedAt, before, after)
		})
	}
}

func testConcurrentWriters(t *testing.T, s store.Store) {
	const (
		writers = 20
		puts    = 50
		readers = 4
	)
	ctx := context.Background()
	jid := func(i int) string { return fmt.Sprintf("user%02d@example.org", i) }
	for i := range writers {
		put(t, s, account(jid(i), fmt.Sprintf("tok-%d", i)))
	}

	var (
		writersWG, readersWG sync.WaitGroup
		done                 = make(chan struct{})
	)
	for i := range writers {
		writersWG.Go(func() {
			for n := 1; n <= puts; n++ {
				r := store.Registration{JID: jid(i), State: store.RegStateRegistered,
					CallID: fmt.Sprintf("call-%d", i), CSeq: uint32(n)}
				if err := s.PutRegistration(ctx, r); err != nil {
					t.Errorf("writer %d: PutRegistration #%d: %v", i, n, err)
					return
				}
				// Interleave account writes: a second kind of writer.
				if n%10 == 0 {
					a := account(jid(i), fmt.Sprintf("tok-%d", i))
					a.Password = fmt.Sprintf("pw-%d-%d", i, n)
					if err := s.PutAccount(ctx, a); err != nil {
						t.Errorf("writer %d: PutAccount: %v", i, err)
						return
					}
				}
			}
		})
	}
	for i := range readers {
		readersWG.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-done:
					return
				default:
				}
				j := jid((i + n) % writers)
				if _, err := s.Registration(ctx, j); err != nil {
					t.Errorf("reader %d: Registration: %v", i, err)
					return
				}
				if _, err := s.Account(ctx, j); err != nil {
					t.Errorf("reader %d: Account: %v", i, err)
					return
				}
				if n%20 == 0 {
					if _, err := s.Accounts(ctx); err != nil {
						t.Errorf("reader %d: Accounts: %v", i, err)
						return
					}
				}
			}
		})
	}
	writersWG.Wait()
	close(done)
	readersWG.Wait()

	for i := range writers {
		r := getReg(t, s, jid(i))
		if r.CSeq != puts || r.CallID != fmt.Sprintf("call-%d", i) {
			t.Errorf("%s: CSeq %d Call-ID %q, want %d and call-%d", jid(i), r.CSeq, r.CallID, puts, i)
		}
		if a := get(t, s, jid(i)); a.Password != fmt.Sprintf("pw-%d-%d", i, puts) {
			t.Errorf("%s: password %q, want the last one written", jid(i), a.Password)
		}
	}
}

func testUnicodeJIDs(t *testing.T, s store.Store) {
	ctx := context.Background()
	jids := []string{
		"jürgen@münchen.example",
		"用户@例子.中国",
		"ωμέγα@ελληνικά.example",
		"пользователь@пример.рф",
		"o'brien@example.org",    // SQL quote
		"100%_match@example.org", // LIKE wildcards
		"user@xn--mnchen-3ya.example",
	}
	for i, jid := range jids {
		t.Run(jid, func(t *testing.T) {
			a := account(jid, fmt.Sprintf("tök-%d-✓", i))
			a.DisplayName = "名前 " + jid
			put(t, s, a)
			got := get(t, s, jid)
			if diff := cmp.Diff(a, got, ignoreAccountTimes); diff != "" {
				t.Errorf("Account (-put +got):\n%s", diff)
			}
			byTok, err := s.AccountByToken(ctx, a.ContactToken)
			if err != nil || byTok.JID != jid {
				t.Errorf("AccountByToken = %q, %v; want %q", byTok.JID, err, jid)
			}
			r := store.Registration{JID: jid, State: store.RegStateRegistered, CallID: "c-" + jid, CSeq: uint32(i + 1)}
			putReg(t, s, r)
			if diff := cmp.Diff(r, getReg(t, s, jid), ignoreRegTime); diff != "" {
				t.Errorf("Registration (-put +got):\n%s", diff)
			}
		})
	}
	all, err := s.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range all {
		got = append(got, a.JID)
	}
	if diff := cmp.Diff(jids, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("Accounts JIDs (-want +got):\n%s", diff)
	}
	for _, jid := range jids {
		if err := s.DeleteAccount(ctx, jid); err != nil {
			t.Errorf("DeleteAccount(%q): %v", jid, err)
		}
	}
}

// JIDs arrive normalised; the store must compare them as given, never fold
// case or Unicode forms, or two users could share one row.
func testDistinctKeys(t *testing.T, s store.Store) {
	pairs := [][2]string{
		{"alice@example.org", "Alice@example.org"},
		{"caf\u00e9@example.org", "cafe\u0301@example.org"}, // NFC vs NFD
		{"a@example.org", "a@example.org "},
	}
	for i, p := range pairs {
		put(t, s, account(p[0], fmt.Sprintf("tok-%d-0", i)))
		put(t, s, account(p[1], fmt.Sprintf("tok-%d-1", i)))
		for j, jid := range p {
			if got := get(t, s, jid); got.JID != jid || got.ContactToken != fmt.Sprintf("tok-%d-%d", i, j) {
				t.Errorf("Account(%q) = %q token %q; keys were folded together", jid, got.JID, got.ContactToken)
			}
		}
	}
}

func testCanceledContext(t *testing.T, s store.Store) {
	put(t, s, account("alice@example.org", "tok-a"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		op   func() error
	}{
		{"Account", func() error { _, err := s.Account(ctx, "alice@example.org"); return err }},
		{"AccountByToken", func() error { _, err := s.AccountByToken(ctx, "tok-a"); return err }},
		{"PutAccount", func() error { return s.PutAccount(ctx, account("bob@example.org", "tok-b")) }},
		{"DeleteAccount", func() error { return s.DeleteAccount(ctx, "alice@example.org") }},
		{"Accounts", func() error { _, err := s.Accounts(ctx); return err }},
		{"Registration", func() error { _, err := s.Registration(ctx, "alice@example.org"); return err }},
		{"PutRegistration", func() error {
			return s.PutRegistration(ctx, store.Registration{JID: "alice@example.org", State: store.RegStateRegistering})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(); !errors.Is(err, context.Canceled) {
				t.Errorf("error = %v, want errors.Is context.Canceled", err)
			}
		})
	}
	// Nothing above took effect.
	get(t, s, "alice@example.org")
	if _, err := s.Account(context.Background(), "bob@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bob exists after a canceled PutAccount: %v", err)
	}
}

// Reads after a write see it, however often the account was read before:
// a store that caches accounts (store.AccountCache) must not serve an old
// password, a moved token or a deleted account.
func testReadsFollowWrites(t *testing.T, s store.Store) {
	ctx := context.Background()
	const jid = "alice@example.org"
	readBoth := func(token string) (byJID, byToken store.Account, errJID, errToken error) {
		byJID, errJID = s.Account(ctx, jid)
		byToken, errToken = s.AccountByToken(ctx, token)
		return
	}
	put(t, s, account(jid, "tok-1"))
	for range 2 {
		if _, _, e1, e2 := readBoth("tok-1"); e1 != nil || e2 != nil {
			t.Fatalf("reads after put: %v, %v", e1, e2)
		}
	}

	next := account(jid, "tok-2")
	next.Password = "changed"
	put(t, s, next)
	a, b, e1, e2 := readBoth("tok-2")
	if e1 != nil || e2 != nil || a.Password != "changed" || b.Password != "changed" {
		t.Errorf("after replace: by JID %q, %v; by token %q, %v; want the new password", a.Password, e1, b.Password, e2)
	}
	if _, err := s.AccountByToken(ctx, "tok-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old token after replace: %v, want ErrNotFound", err)
	}

	// A failed write (token taken) leaves what readers see unchanged.
	put(t, s, account("bob@example.org", "tok-bob"))
	taken := account(jid, "tok-bob")
	if err := s.PutAccount(ctx, taken); err == nil {
		t.Fatal("PutAccount with bob's token succeeded")
	}
	if a, err := s.AccountByToken(ctx, "tok-bob"); err != nil || a.JID != "bob@example.org" {
		t.Errorf("bob's token after a failed take-over = %q, %v", a.JID, err)
	}

	if _, _, e1, e2 := readBoth("tok-2"); e1 != nil || e2 != nil {
		t.Fatalf("reads before delete: %v, %v", e1, e2)
	}
	if err := s.DeleteAccount(ctx, jid); err != nil {
		t.Fatal(err)
	}
	if _, _, e1, e2 := readBoth("tok-2"); !errors.Is(e1, store.ErrNotFound) || !errors.Is(e2, store.ErrNotFound) {
		t.Errorf("after delete: by JID %v, by token %v; want ErrNotFound for both", e1, e2)
	}
	put(t, s, account(jid, "tok-3"))
	if a, err := s.AccountByToken(ctx, "tok-3"); err != nil || a.JID != jid {
		t.Errorf("re-created account by token = %q, %v", a.JID, err)
	}
}
