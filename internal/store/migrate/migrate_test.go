package migrate_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"fargo.dev/fargo/internal/store/migrate"
	_ "modernc.org/sqlite"
)

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "m.db") + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func versions(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fs      fstest.MapFS
		want    []int
		wantErr string
	}{
		{name: "empty", fs: fstest.MapFS{}, want: nil},
		{name: "sorted by number not name", fs: fstest.MapFS{
			"0010_b.sql": file("SELECT 1;"),
			"0002_a.sql": file("SELECT 1;"),
			"0001_z.sql": file("SELECT 1;"),
		}, want: []int{1, 2, 10}},
		{name: "ignores other files", fs: fstest.MapFS{
			"0001_a.sql":     file("SELECT 1;"),
			"README.md":      file("hi"),
			"sub/0002_x.sql": file("SELECT 1;"),
		}, want: []int{1}},
		{name: "no number", fs: fstest.MapFS{"init.sql": file("SELECT 1;")}, wantErr: "NNNN_name.sql"},
		{name: "zero", fs: fstest.MapFS{"0000_init.sql": file("SELECT 1;")}, wantErr: "NNNN > 0"},
		{name: "duplicate", fs: fstest.MapFS{
			"0001_a.sql": file("SELECT 1;"),
			"001_b.sql":  file("SELECT 1;"),
		}, wantErr: "same version"},
		{name: "empty file", fs: fstest.MapFS{"0001_a.sql": file(" \n")}, wantErr: "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := migrate.Load(tc.fs)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("versions = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("versions = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestUpAppliesOnceInOrder(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	fsys := fstest.MapFS{
		// 0002 depends on 0001: order matters.
		"0001_t.sql": file("CREATE TABLE t (a INTEGER);\nINSERT INTO t VALUES (1);"),
		"0002_u.sql": file("ALTER TABLE t ADD COLUMN b TEXT; INSERT INTO t (a, b) VALUES (2, 'x');"),
	}
	applied, err := migrate.Up(ctx, db, fsys, migrate.Question)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	if len(applied) != 2 {
		t.Fatalf("applied %d migrations, want 2", len(applied))
	}
	// Again: nothing to do, and the INSERTs did not run twice.
	applied, err = migrate.Up(ctx, db, fsys, migrate.Question)
	if err != nil {
		t.Fatalf("second Up: %v", err)
	}
	if len(applied) != 0 {
		t.Fatalf("second Up applied %d migrations, want 0", len(applied))
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("t has %d rows, want 2", n)
	}
	if got := versions(t, db); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("schema_migrations = %v, want [1 2]", got)
	}

	// A later binary adds 0003: only it runs.
	fsys["0003_v.sql"] = file("CREATE TABLE v (c INTEGER);")
	applied, err = migrate.Up(ctx, db, fsys, migrate.Question)
	if err != nil {
		t.Fatalf("third Up: %v", err)
	}
	if len(applied) != 1 || applied[0].Version != 3 {
		t.Errorf("third Up applied %v, want only 3", applied)
	}
}

// A failing migration must leave neither its DDL nor its version behind.
func TestUpFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	fsys := fstest.MapFS{
		"0001_ok.sql":  file("CREATE TABLE t (a INTEGER);"),
		"0002_bad.sql": file("CREATE TABLE u (a INTEGER); THIS IS NOT SQL;"),
	}
	applied, err := migrate.Up(ctx, db, fsys, migrate.Question)
	if err == nil || !strings.Contains(err.Error(), "0002_bad.sql") {
		t.Fatalf("Up error = %v, want one naming 0002_bad.sql", err)
	}
	if len(applied) != 1 {
		t.Errorf("applied %d before failing, want 1", len(applied))
	}
	if got := versions(t, db); len(got) != 1 || got[0] != 1 {
		t.Errorf("schema_migrations = %v, want [1]", got)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'u'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("table u of the failed migration exists")
	}

	// Fixed file: the retry applies it.
	fsys["0002_bad.sql"] = file("CREATE TABLE u (a INTEGER);")
	if _, err := migrate.Up(ctx, db, fsys, migrate.Question); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got := versions(t, db); len(got) != 2 {
		t.Errorf("schema_migrations = %v, want [1 2]", got)
	}
}

func TestUpRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	newer := fstest.MapFS{
		"0001_a.sql": file("CREATE TABLE a (x INTEGER);"),
		"0002_b.sql": file("CREATE TABLE b (x INTEGER);"),
		"0007_c.sql": file("CREATE TABLE c (x INTEGER);"),
	}
	if _, err := migrate.Up(ctx, db, newer, migrate.Question); err != nil {
		t.Fatal(err)
	}
	older := fstest.MapFS{
		"0001_a.sql": newer["0001_a.sql"],
		"0002_b.sql": newer["0002_b.sql"],
	}
	_, err := migrate.Up(ctx, db, older, migrate.Question)
	var tooNew *migrate.SchemaTooNewError
	if !errors.As(err, &tooNew) {
		t.Fatalf("Up error = %v, want *SchemaTooNewError", err)
	}
	if tooNew.DB != 7 || tooNew.Known != 2 {
		t.Errorf("SchemaTooNewError = %+v, want DB 7 Known 2", tooNew)
	}
	if want := "database schema version 7 is newer than this fargo (2); upgrade fargo"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestUpCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := migrate.Up(ctx, openDB(t), fstest.MapFS{"0001_a.sql": file("CREATE TABLE a (x INTEGER);")}, migrate.Question)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Up error = %v, want context.Canceled", err)
	}
}
