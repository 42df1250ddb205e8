package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"fargo.dev/fargo/internal/secret"
	"fargo.dev/fargo/internal/store"
	"fargo.dev/fargo/internal/store/migrate"
	"fargo.dev/fargo/internal/store/sqlite"
	"fargo.dev/fargo/internal/store/storetest"
	"github.com/google/go-cmp/cmp"
)

func sealer(t testing.TB, b byte) *secret.Sealer {
	t.Helper()
	s, err := secret.NewSealer(bytes.Repeat([]byte{b}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func open(t testing.TB, path string, key byte) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, sealer(t, key), nil)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return s
}

func mustClose(t testing.TB, s *sqlite.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// rawDB opens the file behind the store's back, as an attacker with the
// file (or a curious operator with the sqlite3 shell) would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "fargo.db"), 1)
	})
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fargo.db")
	s := open(t, path, 1)
	a := store.Account{JID: "alice@example.org", SIPAddress: "alice@sip.example.org", Password: "hunter2",
		Transport: store.TransportTLS, ContactToken: "tok-a"}
	if err := s.PutAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	// Nanoseconds and a zone: the sqlite store keeps times exactly.
	r := store.Registration{JID: a.JID, State: store.RegStateRegistered, CallID: "c@gw", CSeq: 42,
		ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 987654321, time.FixedZone("X", -7*3600))}
	if err := s.PutRegistration(ctx, r); err != nil {
		t.Fatal(err)
	}
	wantA, err := s.Account(ctx, a.JID)
	if err != nil {
		t.Fatal(err)
	}
	wantR, err := s.Registration(ctx, a.JID)
	if err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)

	s = open(t, path, 1)
	defer mustClose(t, s)
	gotA, err := s.Account(ctx, a.JID)
	if err != nil {
		t.Fatal(err)
	}
	gotR, err := s.Registration(ctx, a.JID)
	if err != nil {
		t.Fatal(err)
	}
	// cmp uses time.Time.Equal, so this is an exact instant comparison.
	if diff := cmp.Diff(wantA, gotA); diff != "" {
		t.Errorf("Account after reopen (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(wantR, gotR); diff != "" {
		t.Errorf("Registration after reopen (-before +after):\n%s", diff)
	}
	if !gotR.ExpiresAt.Equal(r.ExpiresAt) {
		t.Errorf("ExpiresAt = %v, want exactly %v", gotR.ExpiresAt, r.ExpiresAt)
	}
}

func TestMigrationIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fargo.db")
	for range 3 {
		mustClose(t, open(t, path, 1))
	}
	var n, maxV int
	if err := rawDB(t, path).QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &maxV); err != nil {
		t.Fatal(err)
	}
	if n != maxV || n == 0 {
		t.Errorf("schema_migrations has %d rows up to version %d; want each migration recorded once", n, maxV)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fargo.db")
	mustClose(t, open(t, path, 1))
	db := rawDB(t, path)
	var known int
	if err := db.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&known); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 'future')`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := sqlite.Open(context.Background(), path, sealer(t, 1), nil)
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded on a database from a newer fargo")
	}
	var tooNew *migrate.SchemaTooNewError
	if !errors.As(err, &tooNew) {
		t.Fatalf("Open error = %v, want *migrate.SchemaTooNewError", err)
	}
	want := fmt.Sprintf("database schema version 9999 is newer than this fargo (%d); upgrade fargo", known)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Open error = %q, want it to contain %q", err, want)
	}
}

func TestPasswordEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "fargo.db")
	const password = "correct-horse-battery-staple"
	s := open(t, path, 1)
	if err := s.PutAccount(ctx, store.Account{JID: "alice@example.org", SIPAddress: "alice@sip.example.org",
		Password: password, Transport: store.TransportUDP, ContactToken: "tok-a"}); err != nil {
		t.Fatal(err)
	}

	// While open: the row, and every file SQLite has written (db, -wal).
	var sealed []byte
	if err := rawDB(t, path).QueryRowContext(ctx, `SELECT password_sealed FROM accounts WHERE jid = 'alice@example.org'`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if len(sealed) == 0 || bytes.Contains(sealed, []byte(password)) {
		t.Errorf("password_sealed (%d bytes) is empty or contains the plaintext", len(sealed))
	}
	checkFiles := func(when string) {
		t.Helper()
		files, _ := filepath.Glob(path + "*")
		if len(files) == 0 {
			t.Fatalf("%s: no database files", when)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(password)) {
				t.Errorf("%s: %s contains the plaintext password", when, filepath.Base(f))
			}
		}
	}
	checkFiles("open")
	mustClose(t, s)
	checkFiles("closed")
}

func TestWrongKey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fargo.db")
	s := open(t, path, 1)
	if err := s.PutAccount(ctx, store.Account{JID: "alice@example.org", Password: "pw", ContactToken: "tok-a"}); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)

	s = open(t, path, 2)
	defer mustClose(t, s)
	for _, tc := range []struct {
		name string
		op   func() error
	}{
		{"Account", func() error { _, err := s.Account(ctx, "alice@example.org"); return err }},
		{"AccountByToken", func() error { _, err := s.AccountByToken(ctx, "tok-a"); return err }},
		{"Accounts", func() error { _, err := s.Accounts(ctx); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.op()
			if err == nil {
				t.Fatal("read with the wrong key succeeded")
			}
			if errors.Is(err, store.ErrNotFound) {
				t.Errorf("error = %v; must not look like a missing account", err)
			}
			if !errors.Is(err, secret.ErrOpen) || !strings.Contains(err.Error(), "secret key") {
				t.Errorf("error = %q, want a secret.ErrOpen that mentions the secret key", err)
			}
		})
	}
	// Registration state does not need the key.
	if _, err := s.Registration(ctx, "alice@example.org"); err != nil {
		t.Errorf("Registration with another key: %v", err)
	}
}

// The JID is the associated data: a sealed password copied onto another
// account's row must not open there.
func TestSealedPasswordBoundToJID(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fargo.db")
	s := open(t, path, 1)
	defer mustClose(t, s)
	for _, jid := range []string{"alice@example.org", "mallory@example.org"} {
		if err := s.PutAccount(ctx, store.Account{JID: jid, Password: "pw of " + jid, ContactToken: "tok-" + jid}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rawDB(t, path).ExecContext(ctx, `UPDATE accounts
		SET password_sealed = (SELECT password_sealed FROM accounts WHERE jid = 'alice@example.org')
		WHERE jid = 'mallory@example.org'`); err != nil {
		t.Fatal(err)
	}
	if a, err := s.Account(ctx, "mallory@example.org"); !errors.Is(err, secret.ErrOpen) {
		t.Errorf("Account(mallory) with alice's sealed password = %q, %v; want secret.ErrOpen", a.Password, err)
	}
	if _, err := s.Account(ctx, "alice@example.org"); err != nil {
		t.Errorf("Account(alice): %v", err)
	}
}

func TestFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes on Windows")
	}
	t.Run("created", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "state", "fargo") // parents missing
		path := filepath.Join(dir, "fargo.db")
		s := open(t, path, 1)
		// Write something so -wal and -shm exist.
		if err := s.PutAccount(context.Background(), store.Account{JID: "a@b", ContactToken: "t"}); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(path + "*")
		if len(files) < 2 {
			t.Errorf("files = %v, want the db and its WAL files", files)
		}
		for _, f := range files {
			checkMode(t, f, 0o600)
		}
		checkMode(t, dir, 0o700)
		mustClose(t, s)
	})
	t.Run("tightened", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "fargo.db")
		mustClose(t, open(t, path, 1))
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		s := open(t, path, 1)
		checkMode(t, path, 0o600)
		mustClose(t, s)
	})
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s mode = %04o, want %04o", filepath.Base(path), got, want)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		path    string
		sealer  *secret.Sealer
		wantErr string
	}{
		{name: "nil sealer", path: filepath.Join(dir, "a.db"), wantErr: "nil sealer"},
		{name: "empty path", path: "", sealer: sealer(t, 1), wantErr: "want a file path"},
		{name: "memory", path: ":memory:", sealer: sealer(t, 1), wantErr: "want a file path"},
		{name: "uri", path: "file:x.db", sealer: sealer(t, 1), wantErr: "want a file path"},
		{name: "question mark", path: filepath.Join(dir, "a?.db"), sealer: sealer(t, 1), wantErr: "must not contain '?'"},
		{name: "parent is a file", path: filepath.Join(notDir, "a.db"), sealer: sealer(t, 1), wantErr: "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sqlite.Open(context.Background(), tc.path, tc.sealer, nil)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Open error = %q, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestPutValidation(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "fargo.db"), 1)
	defer mustClose(t, s)
	for _, tc := range []struct {
		name    string
		op      func() error
		wantErr string
	}{
		{"account empty JID", func() error { return s.PutAccount(ctx, store.Account{ContactToken: "t"}) }, "empty JID"},
		{"account empty token", func() error { return s.PutAccount(ctx, store.Account{JID: "a@b"}) }, "empty contact token"},
		{"registration year out of range", func() error {
			if err := s.PutAccount(ctx, store.Account{JID: "y@b", ContactToken: "ty"}); err != nil {
				return err
			}
			return s.PutRegistration(ctx, store.Registration{JID: "y@b", State: store.RegStateRegistered,
				ExpiresAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
		}, "out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// The contract leaves the empty State alone; this store saves it as none.
func TestEmptyStateSavedAsNone(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "fargo.db"), 1)
	defer mustClose(t, s)
	if err := s.PutAccount(ctx, store.Account{JID: "a@b", ContactToken: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRegistration(ctx, store.Registration{JID: "a@b", CallID: "c"}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Registration(ctx, "a@b")
	if err != nil {
		t.Fatal(err)
	}
	if r.State != store.RegStateNone || r.CallID != "c" {
		t.Errorf("Registration = %+v, want State %q and Call-ID c", r, store.RegStateNone)
	}
}

// Two stores on one file, as two processes would have: busy_timeout and
// BEGIN IMMEDIATE must make them wait for each other, not fail.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fargo.db")
	a, b := open(t, path, 1), open(t, path, 1)
	defer mustClose(t, a)
	defer mustClose(t, b)
	if err := a.PutAccount(ctx, store.Account{JID: "u@x", ContactToken: "t"}); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for _, s := range []*sqlite.Store{a, b} {
		go func() {
			for n := range 100 {
				if err := s.PutRegistration(ctx, store.Registration{JID: "u@x", State: store.RegStateRegistering, CSeq: uint32(n)}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("PutRegistration: %v", err)
		}
	}
}

func BenchmarkPutRegistration(b *testing.B) {
	ctx := context.Background()
	s := open(b, filepath.Join(b.TempDir(), "fargo.db"), 1)
	defer mustClose(b, s)
	if err := s.PutAccount(ctx, store.Account{JID: "alice@example.org", Password: "pw", ContactToken: "tok"}); err != nil {
		b.Fatal(err)
	}
	r := store.Registration{JID: "alice@example.org", State: store.RegStateRegistered, CallID: "a84b4c76e66710@gw.example.org",
		ExpiresAt: time.Now().Add(time.Hour)}
	b.ReportAllocs()
	for b.Loop() {
		r.CSeq++
		if err := s.PutRegistration(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

// benchAccount is a typical account, its contact token set to token.
func benchAccount(token string) store.Account {
	return store.Account{JID: "alice@example.org", SIPAddress: "alice@sip.example.org",
		Password: "a typical sip password", Transport: store.TransportTLS, ContactToken: token}
}

// storeWith opens a store in a temporary directory holding a, closed when
// the benchmark ends.
func storeWith(b *testing.B, a store.Account) *sqlite.Store {
	b.Helper()
	s := open(b, filepath.Join(b.TempDir(), "fargo.db"), 1)
	b.Cleanup(func() { mustClose(b, s) })
	if err := s.PutAccount(context.Background(), a); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkAccount(b *testing.B) {
	ctx := context.Background()
	s := storeWith(b, benchAccount("tok"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Account(ctx, "alice@example.org"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAccountParallel(b *testing.B) {
	ctx := context.Background()
	s := storeWith(b, store.Account{JID: "alice@example.org", Password: "pw", ContactToken: "tok"})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Account(ctx, "alice@example.org"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAccountUncached is BenchmarkAccount with the cache emptied
// before every read: the prepared query, the row scan and the password's
// decryption.
func BenchmarkAccountUncached(b *testing.B) {
	ctx := context.Background()
	s := storeWith(b, benchAccount("tok"))
	b.ReportAllocs()
	for b.Loop() {
		sqlite.ForgetCached(s, "alice@example.org")
		if _, err := s.Account(ctx, "alice@example.org"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAccountByToken is the lookup made for every inbound SIP request.
func BenchmarkAccountByToken(b *testing.B) {
	ctx := context.Background()
	s := storeWith(b, benchAccount("0123456789abcdef01234567"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.AccountByToken(ctx, "0123456789abcdef01234567"); err != nil {
			b.Fatal(err)
		}
	}
}
