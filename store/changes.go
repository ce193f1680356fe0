package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Kinds of alert change (AlertChange.Kind).
const (
	ChangeRaised  = "raised"  // the alert was stored for the first time
	ChangeUpdated = "updated" // the engine changed its count, times or evidence
	ChangeStatus  = "status"  // an analyst set its status (ack, resolved, open)
)

// AlertChange is one entry of the alert change journal.
type AlertChange struct {
	Seq     int64     `json:"seq"`
	AlertID string    `json:"alert_id"`
	Kind    string    `json:"kind"`
	Time    time.Time `json:"time"`
}

func logChange(ctx context.Context, tx wtx, id, kind string, now int64) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO alert_changes (alert_id, kind, time) VALUES (?, ?, ?)`, id, kind, now); err != nil {
		return fmt.Errorf("alert %s: journal %s: %w", id, kind, err)
	}
	return nil
}

// AlertChanges returns up to limit journal entries with seq > after, oldest
// first (limit <= 0: all). A consumer keeps the last seq it handled and
// asks for what follows.
func (s *Store) AlertChanges(ctx context.Context, after int64, limit int) ([]AlertChange, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.r.QueryContext(ctx, `SELECT seq, alert_id, kind, time FROM alert_changes WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: alert changes after %d: %w", after, wrapErr(err))
	}
	defer rows.Close()
	var out []AlertChange
	for rows.Next() {
		var c AlertChange
		var t int64
		if err := rows.Scan(&c.Seq, &c.AlertID, &c.Kind, &t); err != nil {
			return nil, fmt.Errorf("store: alert changes: %w", err)
		}
		c.Time = fromNanos(t)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: alert changes: %w", wrapErr(err))
	}
	return out, nil
}

// PruneAlertChanges deletes journal entries with seq <= upTo: those every
// consumer has handled.
func (s *Store) PruneAlertChanges(ctx context.Context, upTo int64) (int64, error) {
	var n int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM alert_changes WHERE seq <= ?`, upTo)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, opErr("prune alert changes", err)
	}
	return n, nil
}

// WriteTx runs fn in one write transaction of the store (BEGIN IMMEDIATE),
// for packages that keep their own tables in the same file (the notifier
// outbox): their writes then commit atomically with what they read.
// Tables they create must be prefixed with their package name.
func (s *Store) WriteTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.writeTx(ctx, fn)
}

// Reader is the store's read-only connection pool, for the same packages.
func (s *Store) Reader() *sql.DB { return s.r }
