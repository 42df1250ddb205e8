// Package migrate owns schema migrations for the database/sql stores: it
// applies numbered SQL files from an fs.FS, each in its own transaction, in
// order, once, and records them in a schema_migrations table. It is shared
// by the sqlite store and the future postgres store, so it speaks only
// portable SQL and takes the placeholder style of the dialect.
//
// Tier 1 (does database I/O through the *sql.DB it is given). It may import
// only the standard library; it opens no database and knows no driver.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Placeholder is the bind-parameter style of a SQL dialect.
type Placeholder int

const (
	// Question is "?", used by SQLite (and MySQL).
	Question Placeholder = iota
	// Dollar is "$1", "$2", …, used by PostgreSQL.
	Dollar
)

func (p Placeholder) arg(n int) string {
	if p == Dollar {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// Migration is one schema step, read from a file named NNNN_name.sql.
type Migration struct {
	Version int    // NNNN, > 0, unique
	Name    string // file name, for logs and errors
	SQL     string
}

// SchemaTooNewError is returned when the database has a migration applied
// that this binary does not know: it was last opened by a newer fargo, and
// running the old code against the new schema could corrupt it.
type SchemaTooNewError struct {
	DB    int // highest version recorded in the database
	Known int // highest version this binary has
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("database schema version %d is newer than this fargo (%d); upgrade fargo", e.DB, e.Known)
}

// Load reads the migrations in the root of fsys: every file named
// NNNN_name.sql, sorted by version. Other files are ignored. Duplicate
// versions and empty files are errors, since either is a packaging mistake.
func Load(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("migrate: read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || path.Ext(name) != ".sql" {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migrate: %s: name must be NNNN_name.sql with NNNN > 0", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		if strings.TrimSpace(string(b)) == "" {
			return nil, fmt.Errorf("migrate: %s is empty", name)
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrate: %s and %s have the same version", ms[i-1].Name, ms[i].Name)
		}
	}
	return ms, nil
}

// Up applies to db every migration in fsys (see Load) not yet recorded in
// schema_migrations, and returns the ones it applied. It refuses, with a
// *SchemaTooNewError, a database that has a version newer than the newest
// in fsys.
//
// Each migration runs in one transaction together with its bookkeeping row,
// so a failed migration leaves no trace and is retried on the next start.
// That relies on the dialect having transactional DDL, which SQLite and
// PostgreSQL both have. The applied check is repeated inside the
// transaction so that two processes migrating at once apply each file once:
// the loser either waits for the winner's write lock (SQLite, with
// _txlock=immediate) or fails on the primary key (PostgreSQL).
func Up(ctx context.Context, db *sql.DB, fsys fs.FS, ph Placeholder) ([]Migration, error) {
	ms, err := Load(fsys)
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var current sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&current); err != nil {
		return nil, fmt.Errorf("migrate: read schema version: %w", err)
	}
	known := 0
	if len(ms) > 0 {
		known = ms[len(ms)-1].Version
	}
	if int(current.Int64) > known {
		return nil, &SchemaTooNewError{DB: int(current.Int64), Known: known}
	}
	var applied []Migration
	for _, m := range ms {
		done, err := apply(ctx, db, m, ph)
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, m)
		}
	}
	return applied, nil
}

// apply runs m in a transaction unless it is already recorded; it reports
// whether it ran it.
func apply(ctx context.Context, db *sql.DB, m Migration, ph Placeholder) (ran bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: %s: begin: %w", m.Name, err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations WHERE version = `+ph.arg(1), m.Version).Scan(&one)
	switch {
	case err == nil:
		return false, tx.Rollback()
	case !errors.Is(err, sql.ErrNoRows):
		return false, fmt.Errorf("migrate: %s: %w", m.Name, err)
	}
	if _, err = tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("migrate: %s: %w", m.Name, err)
	}
	if _, err = tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, applied_at) VALUES (`+ph.arg(1)+`, `+ph.arg(2)+`)`,
		m.Version, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return false, fmt.Errorf("migrate: %s: record: %w", m.Name, err)
	}
	if err = tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate: %s: commit: %w", m.Name, err)
	}
	return true, nil
}
