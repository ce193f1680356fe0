package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are the schema, one step per version: migrations[i] brings a
// database from version i to version i+1. Append new steps; never edit a
// released one, since databases in the field already ran it.
//
// Times are INTEGER unix nanoseconds (UTC). Events and alerts keep their
// full JSON (body) so that nothing of the event schema is lost and new
// fields need no migration; the columns next to it copy only what is
// filtered on or indexed.
var migrations = []string{
	// 1: events, checkpoints, alerts and their history, engine state.
	`
CREATE TABLE events (
	seq       INTEGER PRIMARY KEY,   -- insertion order
	source    TEXT NOT NULL,         -- source.name
	event_id  TEXT,                  -- event.id, deterministic from (source, file, offset)
	ts        INTEGER NOT NULL,      -- time
	user      TEXT,                  -- user.name
	client    TEXT,                  -- client.address
	session   TEXT,                  -- session.id
	db        TEXT,                  -- db.namespace
	server    TEXT,                  -- server.address
	category  TEXT,                  -- event.category
	action    TEXT,                  -- event.action
	operation TEXT,                  -- db.operation.name
	body      TEXT NOT NULL          -- the event as JSON (masked)
);
-- One index serves time ranges and dedup. Event ids are hashes of (file,
-- offset): an index led by the id would take each insert to a random page,
-- while one led by time appends. A re-read line parses to the same time
-- and id, so UNIQUE (ts, source, event_id) suppresses it as well as
-- UNIQUE (source, event_id) would. NULL ids never collide.
CREATE UNIQUE INDEX events_ts ON events(ts, source, event_id);
-- The entity indexes are what appends pay for most: a batch dirties a leaf
-- page per distinct value, and each dirty page is a 4 KB WAL frame. user
-- and client are searched without a time bound ("everything bob did"), so
-- they are indexed. session is not (it cost 30% of the append rate, from
-- 54k to 38k events per CPU second at 200k events): a session belongs to
-- one user and client, so Around finds it through them, and a search by
-- session alone scans its time range.
CREATE INDEX events_user_ts ON events(user, ts) WHERE user IS NOT NULL;
CREATE INDEX events_client_ts ON events(client, ts) WHERE client IS NOT NULL;

CREATE TABLE checkpoints (
	source  TEXT NOT NULL,
	file    TEXT NOT NULL,           -- file identity ("" for sources without files)
	data    TEXT NOT NULL CHECK (json_valid(data)),
	updated INTEGER NOT NULL,
	PRIMARY KEY (source, file)
) WITHOUT ROWID;

CREATE TABLE alerts (
	id          TEXT PRIMARY KEY,
	rule_id     TEXT NOT NULL,
	severity    INTEGER NOT NULL,    -- event.SeverityRank
	first_time  INTEGER NOT NULL,
	last_time   INTEGER NOT NULL,
	status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'ack', 'resolved')),
	status_by   TEXT NOT NULL DEFAULT '',
	status_note TEXT NOT NULL DEFAULT '',
	status_time INTEGER NOT NULL DEFAULT 0,
	created     INTEGER NOT NULL,
	updated     INTEGER NOT NULL,
	body        TEXT NOT NULL        -- the alert as JSON, with its evidence
);
CREATE INDEX alerts_last_time ON alerts(last_time);
CREATE INDEX alerts_status ON alerts(status, last_time);

CREATE TABLE alert_history (
	seq      INTEGER PRIMARY KEY,
	alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
	time     INTEGER NOT NULL,
	status   TEXT NOT NULL,          -- the new status
	previous TEXT NOT NULL,
	by       TEXT NOT NULL,
	note     TEXT NOT NULL
);
CREATE INDEX alert_history_alert ON alert_history(alert_id, seq);

CREATE TABLE state (
	name    TEXT PRIMARY KEY,
	data    BLOB NOT NULL,
	updated INTEGER NOT NULL
) WITHOUT ROWID;
`,
	// 2: the alert change journal (what notifiers consume) and quarantined
	// input lines.
	`
-- Every change of an alert, in commit order: raised, updated by the engine
-- (count, last time, evidence), or a status change by an analyst. It is
-- written in the same transaction as the change, so a consumer that keeps
-- its cursor (the last seq it handled) in the same store misses nothing
-- across a crash. AUTOINCREMENT: a seq is never reused after a prune.
CREATE TABLE alert_changes (
	seq      INTEGER PRIMARY KEY AUTOINCREMENT,
	alert_id TEXT NOT NULL,
	kind     TEXT NOT NULL CHECK (kind IN ('raised', 'updated', 'status')),
	time     INTEGER NOT NULL
);

-- Input lines no parser understood (malformed or binary), kept masked and
-- cut to a bounded size so an operator can see what was not read.
CREATE TABLE quarantine (
	seq    INTEGER PRIMARY KEY,
	source TEXT NOT NULL,
	file   TEXT NOT NULL,
	offset INTEGER NOT NULL,
	line   INTEGER NOT NULL,
	reason TEXT NOT NULL,
	data   BLOB NOT NULL,
	size   INTEGER NOT NULL,         -- the line's full length in bytes
	time   INTEGER NOT NULL,
	UNIQUE (source, file, offset)
);
`,
}

// schemaVersion is the schema version this build writes.
var schemaVersion = len(migrations)

// migrate brings the schema to schemaVersion. Each step runs in its own
// write transaction that re-reads the version, so two processes opening a
// new directory at once do not both apply it.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("store: create schema_version in %s: %w", s.path, wrapErr(err))
	}
	for {
		done := false
		err := s.writeTx(ctx, func(tx *sql.Tx) error {
			var v int
			err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
			if err == sql.ErrNoRows {
				if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
					return err
				}
			} else if err != nil {
				return err
			}
			switch {
			case v > len(migrations):
				return fmt.Errorf("schema version %d is newer than this vigil supports (%d); upgrade vigil", v, len(migrations))
			case v == len(migrations):
				done = true
				return nil
			}
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migration %d: %w", v+1, err)
			}
			_, err = tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, v+1)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migrate %s: %w", s.path, err)
		}
		if done {
			return nil
		}
	}
}
