// Package sqlite owns the embedded SQLite implementation of store.Store, the
// gateway's default store: one file on disk, pure Go (modernc.org/sqlite,
// database/sql driver "sqlite"), no cgo. It owns the SQLite schema (the
// embedded migrations/ directory) and the sealing of passwords at rest via
// internal/secret.
//
// Tier 1 (file I/O). It may import the standard library, internal/store,
// internal/store/migrate, internal/secret and modernc.org/sqlite.
//
// Concurrency: SQLite allows one writer at a time. Writes go through a
// handle with a single connection, so they queue in database/sql instead of
// failing with "database is locked"; reads go through a separate handle with
// several read-only connections, which WAL mode lets run alongside the
// writer. busy_timeout and BEGIN IMMEDIATE (_txlock=immediate) cover another
// process using the same file.
package sqlite
