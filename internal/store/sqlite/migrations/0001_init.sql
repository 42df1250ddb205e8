-- Accounts: one SIP account per XMPP user (bare JID).
-- STRICT makes SQLite enforce column types instead of storing anything
-- anywhere. Times are RFC 3339 text in UTC with nanoseconds, readable with
-- the sqlite3 shell and exact on round trip.
CREATE TABLE accounts (
	jid             TEXT NOT NULL PRIMARY KEY,
	sip_address     TEXT NOT NULL,
	auth_user       TEXT NOT NULL DEFAULT '',
	password_sealed BLOB NOT NULL, -- secret.Sealer output, associated data = jid
	registrar       TEXT NOT NULL DEFAULT '',
	outbound_proxy  TEXT NOT NULL DEFAULT '',
	transport       TEXT NOT NULL,
	display_name    TEXT NOT NULL DEFAULT '',
	contact_token   TEXT NOT NULL UNIQUE,
	created_at      TEXT NOT NULL,
	updated_at      TEXT NOT NULL
) STRICT;

-- Registrations: persisted SIP binding state, so Call-ID and CSeq survive a
-- restart (RFC 3261 §10.2). Deleting the account deletes it.
CREATE TABLE registrations (
	jid        TEXT NOT NULL PRIMARY KEY REFERENCES accounts (jid) ON DELETE CASCADE,
	state      TEXT NOT NULL,
	call_id    TEXT NOT NULL DEFAULT '',
	cseq       INTEGER NOT NULL DEFAULT 0 CHECK (cseq BETWEEN 0 AND 4294967295),
	expires_at TEXT, -- NULL when not registered
	last_error TEXT NOT NULL DEFAULT '',
	updated_at TEXT NOT NULL
) STRICT;
