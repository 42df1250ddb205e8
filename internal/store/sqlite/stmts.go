package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The account cache's bounds (see store.AccountCache). The size covers
// the gateway's target of 100,000 online users with room; the age only
// matters for writers outside this process (a second process on the same
// file, manual edits): within it every write invalidates the entry at once.
const (
	accountCacheSize = 1 << 17
	accountCacheAge  = time.Minute
)

const accountColumns = `jid, sip_address, auth_user, password_sealed, registrar, outbound_proxy,
	transport, display_name, contact_token, created_at, updated_at`

// The store's queries. They are prepared once at Open: preparing them per
// call put SQLite's parser at 5.7 % of the gateway's CPU under call load.
const (
	sqlAccount        = `SELECT ` + accountColumns + ` FROM accounts WHERE jid = ?`
	sqlAccountByToken = `SELECT ` + accountColumns + ` FROM accounts WHERE contact_token = ?`
	sqlAccounts       = `SELECT ` + accountColumns + ` FROM accounts ORDER BY jid`
	sqlRegistration   = `
		SELECT r.state, r.call_id, r.cseq, r.expires_at, r.last_error, r.updated_at
		FROM accounts a LEFT JOIN registrations r ON r.jid = a.jid
		WHERE a.jid = ?`

	// An upsert rather than INSERT OR REPLACE: REPLACE deletes the old row
	// first, which would cascade to the registration and lose created_at.
	sqlPutAccount = `
		INSERT INTO accounts (` + accountColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (jid) DO UPDATE SET
			sip_address     = excluded.sip_address,
			auth_user       = excluded.auth_user,
			password_sealed = excluded.password_sealed,
			registrar       = excluded.registrar,
			outbound_proxy  = excluded.outbound_proxy,
			transport       = excluded.transport,
			display_name    = excluded.display_name,
			contact_token   = excluded.contact_token,
			updated_at      = excluded.updated_at`
	sqlDeleteAccount = `DELETE FROM accounts WHERE jid = ?`

	// INSERT … SELECT FROM accounts inserts nothing when the account is
	// missing, so "no row changed" means ErrNotFound without a second
	// query or parsing a foreign-key error. (The WHERE clause also keeps
	// SQLite's parser from reading ON CONFLICT as a join constraint.)
	sqlPutRegistration = `
		INSERT INTO registrations (jid, state, call_id, cseq, expires_at, last_error, updated_at)
		SELECT jid, ?, ?, ?, ?, ?, ? FROM accounts WHERE jid = ?
		ON CONFLICT (jid) DO UPDATE SET
			state      = excluded.state,
			call_id    = excluded.call_id,
			cseq       = excluded.cseq,
			expires_at = excluded.expires_at,
			last_error = excluded.last_error,
			updated_at = excluded.updated_at`
)

// stmts are the prepared queries: reads on the read-only pool, writes on
// the writer. database/sql prepares each on a connection the first time
// that connection runs it and keeps it there.
type stmts struct {
	account, accountByToken, accounts, registration *sql.Stmt
	putAccount, deleteAccount, putRegistration      *sql.Stmt
}

func (q *stmts) prepare(ctx context.Context, r, w *sql.DB) error {
	for _, p := range []struct {
		dst *(*sql.Stmt)
		db  *sql.DB
		sql string
	}{
		{&q.account, r, sqlAccount},
		{&q.accountByToken, r, sqlAccountByToken},
		{&q.accounts, r, sqlAccounts},
		{&q.registration, r, sqlRegistration},
		{&q.putAccount, w, sqlPutAccount},
		{&q.deleteAccount, w, sqlDeleteAccount},
		{&q.putRegistration, w, sqlPutRegistration},
	} {
		st, err := p.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		*p.dst = st
	}
	return nil
}

// close closes the statements prepared so far (Open may have failed
// half-way).
func (q *stmts) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{q.account, q.accountByToken, q.accounts, q.registration,
		q.putAccount, q.deleteAccount, q.putRegistration} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}
