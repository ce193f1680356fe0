package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/vigildb/vigil/event"
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
	// 3: the audit trail in compressed blocks (blocks.go), replacing the
	// row per event. convertEvents moves the rows of an older store over.
	`
-- The events of one write and one 10-second bucket, as zstd-compressed
-- NDJSON in time order. keys lists the block's users, clients and sessions
-- ("\0u:alice\0c:10.0.0.5\0s:4711\0"), read before the body to skip it.
CREATE TABLE event_blocks (
	id     INTEGER PRIMARY KEY,      -- insertion order
	bucket INTEGER NOT NULL,         -- time / 10 s
	min_ts INTEGER NOT NULL,
	max_ts INTEGER NOT NULL,
	n      INTEGER NOT NULL,         -- events in the block
	-- Dedup: (time, hash of source.name and event.id) of each event with
	-- an id, 16 bytes each. A re-read line has the same time and id, so its
	-- stored copy is in a block of the same bucket whose times overlap.
	ids    BLOB NOT NULL,
	keys   BLOB NOT NULL,
	body   BLOB NOT NULL
);
CREATE INDEX event_blocks_bucket ON event_blocks(bucket, max_ts);
-- The buckets each user ("u:") and client address ("c:") appears in.
CREATE TABLE event_keys (
	k      TEXT NOT NULL,
	bucket INTEGER NOT NULL,
	PRIMARY KEY (k, bucket)
) WITHOUT ROWID;
CREATE TABLE event_count (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	n  INTEGER NOT NULL
);
INSERT INTO event_count (id, n) VALUES (1, 0);
`,
}

// migrationSteps are Go steps run after the SQL of the same index, in the
// same transaction.
var migrationSteps = map[int]func(context.Context, wtx) error{
	2: convertEvents,
}

// convertEvents moves the events of a version 2 store, a row each, into
// blocks, oldest first, and drops the old table.
func convertEvents(ctx context.Context, tx wtx) error {
	var last int64 = -1
	for {
		rows, err := tx.QueryContext(ctx, `SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT 5000`, last)
		if err != nil {
			return fmt.Errorf("read old events: %w", err)
		}
		var evs []*event.Event
		for rows.Next() {
			var body []byte
			if err := rows.Scan(&last, &body); err != nil {
				rows.Close()
				return fmt.Errorf("read old events: %w", err)
			}
			ev := new(event.Event)
			if err := json.Unmarshal(body, ev); err != nil {
				rows.Close()
				return fmt.Errorf("old event %d: %w", last, err)
			}
			evs = append(evs, ev)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read old events: %w", err)
		}
		if len(evs) == 0 {
			break
		}
		blocks, err := encodeBlocks(evs)
		if err != nil {
			return err
		}
		// The old rows are unique by their raw (ts, source, event_id);
		// two that differ only in invalid UTF-8 would look alike here.
		if _, err := insertBlocksDedup(ctx, tx, blocks, false); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `DROP TABLE events`)
	return err
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
			if step := migrationSteps[v]; step != nil {
				if err := step(ctx, wtx{tx, s}); err != nil {
					return fmt.Errorf("migration %d: %w", v+1, err)
				}
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
