package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"fargo.dev/fargo/internal/secret"
	"fargo.dev/fargo/internal/store"
	"fargo.dev/fargo/internal/store/migrate"
	"modernc.org/sqlite"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Store is the SQLite store.Store. It is safe for concurrent use.
type Store struct {
	w      *sql.DB // one connection: the only writer
	r      *sql.DB // read-only connections; WAL lets them run beside w
	q      stmts   // prepared once: SQLite's parser showed in call profiles
	cache  *store.AccountCache
	sealer *secret.Sealer
	log    *slog.Logger
	now    func() time.Time
}

var _ store.Store = (*Store)(nil)

// Connection parameters. busy_timeout comes first in the driver's apply
// order (it sorts it so), so the pragmas after it wait for a lock held by
// another process instead of failing. journal_mode(WAL) and synchronous
// (NORMAL) are set on the writer only: WAL is persistent in the file, and
// synchronous matters only where commits happen. _txlock=immediate makes
// BEGIN take the write lock up front; a deferred transaction that upgrades
// to a writer mid-way fails with SQLITE_BUSY without waiting for
// busy_timeout.
const (
	writeParams = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	readParams  = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=query_only(1)"
)

// timeLayout is RFC 3339 with fixed-width nanoseconds, so stored times sort
// as text and read back with time.RFC3339Nano exactly.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// sqliteConstraintUnique is SQLITE_CONSTRAINT_UNIQUE, part of SQLite's
// stable C ABI; named here to avoid importing the driver's generated lib.
const sqliteConstraintUnique = 2067

// Open opens or creates the SQLite database at path and migrates its schema.
// The parent directory is created with mode 0700 if missing; the database
// file (and its -wal and -shm files) get mode 0600, tightened if they were
// looser. Passwords are sealed with sealer, which must be non-nil. log may be
// nil.
//
// Open refuses a database whose schema is newer than this binary knows
// (see migrate.SchemaTooNewError).
func Open(ctx context.Context, path string, sealer *secret.Sealer, log *slog.Logger) (*Store, error) {
	if sealer == nil {
		return nil, errors.New("sqlite: open: nil sealer")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open: path %q: want a file path", path)
	}
	// The driver takes everything after '?' as connection parameters.
	if strings.Contains(path, "?") {
		return nil, fmt.Errorf("sqlite: open: path %q must not contain '?'", path)
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	if err := prepareFile(path, log); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}

	s := &Store{sealer: sealer, log: log, now: time.Now,
		cache: store.NewAccountCache(accountCacheSize, accountCacheAge)}
	s.w, err = sql.Open("sqlite", path+"?"+writeParams)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	// One writer connection, kept forever: SQLite serialises writers
	// anyway, and queueing in database/sql is cheaper and never "locked".
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)

	if err := s.init(ctx, path); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) init(ctx context.Context, path string) error {
	var mode string
	if err := s.w.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		// Happens on file systems without shared memory support (some
		// network mounts). Still correct, thanks to busy_timeout, but
		// readers and the writer then block each other.
		s.log.Warn("sqlite: WAL journal mode unavailable; concurrency reduced", "path", path, "journal_mode", mode)
	}

	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	applied, err := migrate.Up(ctx, s.w, sub, migrate.Question)
	for _, m := range applied {
		s.log.Info("sqlite: applied schema migration", "path", path, "version", m.Version, "name", m.Name)
	}
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	s.r, err = sql.Open("sqlite", path+"?"+readParams)
	if err != nil {
		return fmt.Errorf("sqlite: open: %w", err)
	}
	s.r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
	s.r.SetMaxIdleConns(max(4, runtime.GOMAXPROCS(0)))
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := s.q.prepare(ctx, s.r, s.w); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return nil
}

// prepareFile creates the parent directory (0700) and the database file
// (0600) before SQLite does: SQLite would create the file with 0644 less
// umask, and it gives -wal and -shm files the mode of the database file.
// Existing files with group or other access are tightened, since the file
// holds who uses the gateway and (sealed) credentials.
func prepareFile(path string, log *slog.Logger) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			log.Warn("sqlite: tightening database file mode to 0600", "path", p, "mode", fmt.Sprintf("%04o", perm))
			if err := os.Chmod(p, perm&0o700|0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close releases the store. The writer is closed last so that SQLite, on
// closing the last connection, checkpoints the WAL into the main file.
func (s *Store) Close() error {
	errs := []error{s.q.close()}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		// Cheap on a small database; keeps query plans good over time.
		// Best effort: a failure here must not fail Close.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if _, err := s.w.ExecContext(ctx, `PRAGMA optimize`); err != nil {
			s.log.Debug("sqlite: pragma optimize", "err", err)
		}
		cancel()
		errs = append(errs, s.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// Account returns the account of jid or an error wrapping store.ErrNotFound.
// It is served from the account cache when it can be.
func (s *Store) Account(ctx context.Context, jid string) (store.Account, error) {
	return s.cache.Account(ctx, jid, func() (store.Account, error) {
		a, err := s.scanAccount(s.q.account.QueryRowContext(ctx, jid))
		if errors.Is(err, sql.ErrNoRows) {
			return store.Account{}, fmt.Errorf("sqlite: get account %q: %w", jid, store.ErrNotFound)
		}
		if err != nil {
			return store.Account{}, fmt.Errorf("sqlite: get account: %w", err)
		}
		return a, nil
	})
}

// AccountByToken returns the account whose ContactToken is token or an error
// wrapping store.ErrNotFound. It is served from the account cache when it
// can be.
func (s *Store) AccountByToken(ctx context.Context, token string) (store.Account, error) {
	return s.cache.ByToken(ctx, token, func() (store.Account, error) {
		a, err := s.scanAccount(s.q.accountByToken.QueryRowContext(ctx, token))
		if errors.Is(err, sql.ErrNoRows) {
			// The token is left out: it routes calls to a user.
			return store.Account{}, fmt.Errorf("sqlite: get account by token: %w", store.ErrNotFound)
		}
		if err != nil {
			return store.Account{}, fmt.Errorf("sqlite: get account by token: %w", err)
		}
		return a, nil
	})
}

// Accounts lists every account, ordered by JID (byte order).
func (s *Store) Accounts(ctx context.Context) ([]store.Account, error) {
	rows, err := s.q.accounts.QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list accounts: %w", err)
	}
	defer rows.Close()
	var out []store.Account
	for rows.Next() {
		a, err := s.scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list accounts: %w", err)
	}
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

func (s *Store) scanAccount(sc scanner) (store.Account, error) {
	var (
		a                    store.Account
		sealed               []byte
		transport            string
		createdAt, updatedAt string
	)
	if err := sc.Scan(&a.JID, &a.SIPAddress, &a.AuthUser, &sealed, &a.Registrar, &a.OutboundProxy,
		&transport, &a.DisplayName, &a.ContactToken, &createdAt, &updatedAt); err != nil {
		return store.Account{}, err
	}
	a.Transport = store.Transport(transport)
	var err error
	if a.CreatedAt, err = parseTime(createdAt); err != nil {
		return store.Account{}, fmt.Errorf("account %q: created_at: %w", a.JID, err)
	}
	if a.UpdatedAt, err = parseTime(updatedAt); err != nil {
		return store.Account{}, fmt.Errorf("account %q: updated_at: %w", a.JID, err)
	}
	pw, err := s.sealer.Open(sealed, []byte(a.JID))
	if err != nil {
		// Neither the sealed bytes nor anything derived from them go in
		// the error.
		return store.Account{}, fmt.Errorf("account %q: stored password does not decrypt with the configured secret key (was the key changed, or the row copied from another account?): %w", a.JID, err)
	}
	a.Password = string(pw)
	return a, nil
}

// PutAccount creates or replaces the account of a.JID. The store owns
// CreatedAt and UpdatedAt: both are set to now on create, and on replace
// CreatedAt is kept and UpdatedAt set to now; the values in a are ignored.
// Replacing an account keeps its registration state.
//
// A ContactToken already used by another account is an error.
func (s *Store) PutAccount(ctx context.Context, a store.Account) error {
	if a.JID == "" {
		return errors.New("sqlite: put account: empty JID")
	}
	if a.ContactToken == "" {
		return fmt.Errorf("sqlite: put account %q: empty contact token", a.JID)
	}
	// The JID is the associated data: a sealed password moved to another
	// row does not open.
	sealed, err := s.sealer.Seal([]byte(a.Password), []byte(a.JID))
	if err != nil {
		return fmt.Errorf("sqlite: put account: %w", err)
	}
	now := formatTime(s.now())
	defer s.cache.Invalidate(a.JID)
	_, err = s.q.putAccount.ExecContext(ctx,
		a.JID, a.SIPAddress, a.AuthUser, sealed, a.Registrar, a.OutboundProxy,
		string(a.Transport), a.DisplayName, a.ContactToken, now, now)
	if err != nil {
		if isUnique(err) {
			return fmt.Errorf("sqlite: put account %q: contact token already used by another account: %w", a.JID, err)
		}
		return fmt.Errorf("sqlite: put account %q: %w", a.JID, err)
	}
	return nil
}

// DeleteAccount removes the account of jid and, by ON DELETE CASCADE, its
// registration. A missing account is an error wrapping store.ErrNotFound.
func (s *Store) DeleteAccount(ctx context.Context, jid string) error {
	defer s.cache.Invalidate(jid)
	res, err := s.q.deleteAccount.ExecContext(ctx, jid)
	if err != nil {
		return fmt.Errorf("sqlite: delete account %q: %w", jid, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: delete account %q: %w", jid, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: delete account %q: %w", jid, store.ErrNotFound)
	}
	return nil
}

// Registration returns the registration state of jid: a zero Registration
// with JID set and State store.RegStateNone if none was saved, an error
// wrapping store.ErrNotFound if the account does not exist.
func (s *Store) Registration(ctx context.Context, jid string) (store.Registration, error) {
	// One query, one snapshot: the account's existence and its
	// registration are read together.
	var (
		state, callID, expiresAt, lastError, updatedAt sql.NullString
		cseq                                           sql.NullInt64
	)
	err := s.q.registration.QueryRowContext(ctx, jid).
		Scan(&state, &callID, &cseq, &expiresAt, &lastError, &updatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Registration{}, fmt.Errorf("sqlite: get registration %q: %w", jid, store.ErrNotFound)
	}
	if err != nil {
		return store.Registration{}, fmt.Errorf("sqlite: get registration %q: %w", jid, err)
	}
	r := store.Registration{JID: jid, State: store.RegStateNone}
	if !state.Valid {
		return r, nil
	}
	r.State = store.RegState(state.String)
	r.CallID = callID.String
	r.LastError = lastError.String
	if cseq.Int64 < 0 || cseq.Int64 > int64(^uint32(0)) {
		return store.Registration{}, fmt.Errorf("sqlite: get registration %q: cseq %d out of range", jid, cseq.Int64)
	}
	r.CSeq = uint32(cseq.Int64)
	if expiresAt.Valid {
		if r.ExpiresAt, err = parseTime(expiresAt.String); err != nil {
			return store.Registration{}, fmt.Errorf("sqlite: get registration %q: expires_at: %w", jid, err)
		}
	}
	if r.UpdatedAt, err = parseTime(updatedAt.String); err != nil {
		return store.Registration{}, fmt.Errorf("sqlite: get registration %q: updated_at: %w", jid, err)
	}
	return r, nil
}

// PutRegistration saves r, keyed by r.JID; an error wrapping
// store.ErrNotFound if the account does not exist. UpdatedAt is set by the
// store; an empty State is saved as store.RegStateNone.
func (s *Store) PutRegistration(ctx context.Context, r store.Registration) error {
	if r.State == "" {
		r.State = store.RegStateNone
	}
	var expiresAt sql.NullString
	if !r.ExpiresAt.IsZero() {
		// RFC 3339 has four-digit years; anything else would not read back.
		if y := r.ExpiresAt.UTC().Year(); y < 1 || y > 9999 {
			return fmt.Errorf("sqlite: put registration %q: expiry year %d out of range", r.JID, y)
		}
		expiresAt = sql.NullString{String: formatTime(r.ExpiresAt), Valid: true}
	}
	res, err := s.q.putRegistration.ExecContext(ctx,
		string(r.State), r.CallID, int64(r.CSeq), expiresAt, r.LastError, formatTime(s.now()), r.JID)
	if err != nil {
		return fmt.Errorf("sqlite: put registration %q: %w", r.JID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: put registration %q: %w", r.JID, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: put registration %q: %w", r.JID, store.ErrNotFound)
	}
	return nil
}

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

func isUnique(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqliteConstraintUnique
}
