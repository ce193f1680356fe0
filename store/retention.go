package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"
)

// Retention bounds the audit trail. Zero fields do not limit.
type Retention struct {
	// MaxAge deletes events older than this, and resolved alerts whose
	// last time is older. Open and acknowledged alerts are never deleted:
	// someone still has to look at them (their evidence is inside them).
	MaxAge time.Duration
	// MaxBytes: when the data in the file (pages in use, WAL not counted)
	// exceeds MaxBytes, the oldest events are deleted until it fits in 90%
	// of it, so that a store at its cap is pruned in steps rather than by a
	// few rows on every run. Alerts and engine state are never deleted for
	// size.
	MaxBytes int64
	// Now is the reference time for MaxAge; zero means time.Now().
	Now time.Time
}

// PruneResult says what Prune deleted.
type PruneResult struct {
	Events    int64 `json:"events"`     // events deleted
	Alerts    int64 `json:"alerts"`     // resolved alerts deleted
	UsedBytes int64 `json:"used_bytes"` // data in the file afterwards
}

// pruneChunk is how many events one delete transaction removes at most:
// small enough that the daemon's AppendEvents and the CLI, waiting on the
// write lock, are held up for milliseconds, not for the whole prune.
const pruneChunk = 5000

// Prune applies r: it deletes old events and resolved alerts, then the
// oldest events until the store fits in r.MaxBytes, in short transactions,
// and gives the freed pages back to the file system (incremental vacuum,
// WAL truncation).
func (s *Store) Prune(ctx context.Context, r Retention) (PruneResult, error) {
	var res PruneResult
	if r.MaxAge > 0 {
		now := r.Now
		if now.IsZero() {
			now = time.Now()
		}
		cutoff := nanos(now.Add(-r.MaxAge))
		for {
			n, err := s.deleteOldest(ctx, "WHERE ts < ?", []any{cutoff}, pruneChunk)
			res.Events += n
			if err != nil {
				return res, opErr("prune by age", err)
			}
			if n < pruneChunk {
				break
			}
		}
		err := s.writeTx(ctx, func(tx *sql.Tx) error {
			x, err := tx.ExecContext(ctx, `DELETE FROM alerts WHERE status = ? AND last_time < ?`, StatusResolved, cutoff)
			if err != nil {
				return err
			}
			res.Alerts, err = x.RowsAffected()
			return err
		})
		if err != nil {
			return res, opErr("prune alerts by age", err)
		}
	}
	if r.MaxBytes > 0 {
		used, err := s.usedBytes(ctx)
		if err != nil {
			return res, opErr("prune by size", err)
		}
		target := r.MaxBytes - r.MaxBytes/10
		var pruned int64
		for used > r.MaxBytes || pruned > 0 && used > target {
			// Estimate the share of events to drop from the share of bytes
			// over the cap; the loop corrects the estimate.
			var lo, hi sql.NullInt64
			if err := s.w.QueryRowContext(ctx, `SELECT min(seq), max(seq) FROM events`).Scan(&lo, &hi); err != nil {
				return res, fmt.Errorf("store: prune by size: %w", wrapErr(err))
			}
			if !lo.Valid {
				break // no events left; alerts and state are kept
			}
			rows := hi.Int64 - lo.Int64 + 1
			n := int64(float64(rows)*float64(used-target)/float64(used)) + 1
			n = max(min(n, pruneChunk), 100)
			d, err := s.deleteOldest(ctx, "", nil, int(n))
			res.Events += d
			pruned += d
			if err != nil {
				return res, opErr("prune by size", err)
			}
			if d == 0 {
				break
			}
			if used, err = s.usedBytes(ctx); err != nil {
				return res, opErr("prune by size", err)
			}
		}
	}
	if res.Events > 0 || res.Alerts > 0 {
		// Both are best effort: a reader holding an old snapshot may keep
		// the WAL from being truncated now; the next prune will.
		if _, err := s.w.ExecContext(ctx, `PRAGMA incremental_vacuum`); err != nil {
			return res, fmt.Errorf("store: prune: vacuum: %w", wrapErr(err))
		}
		if _, err := s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			return res, fmt.Errorf("store: prune: checkpoint: %w", wrapErr(err))
		}
	}
	used, err := s.usedBytes(ctx)
	if err != nil {
		return res, fmt.Errorf("store: prune: %w", err)
	}
	res.UsedBytes = used
	return res, nil
}

// deleteOldest deletes at most n of the oldest events matching where.
func (s *Store) deleteOldest(ctx context.Context, where string, args []any, n int) (int64, error) {
	var deleted int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		x, err := tx.ExecContext(ctx, `DELETE FROM events WHERE seq IN (SELECT seq FROM events `+where+` ORDER BY ts LIMIT ?)`,
			append(args, n)...)
		if err != nil {
			return err
		}
		deleted, err = x.RowsAffected()
		return err
	})
	return deleted, err
}

// usedBytes is the size of the pages in use in the main file.
func (s *Store) usedBytes(ctx context.Context) (int64, error) { return usedBytes(ctx, s.w) }

func usedBytes(ctx context.Context, db *sql.DB) (int64, error) {
	var pages, free, size int64
	err := db.QueryRowContext(ctx, `SELECT p.page_count, f.freelist_count, s.page_size
		FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s`).Scan(&pages, &free, &size)
	if err != nil {
		return 0, wrapErr(err)
	}
	return (pages - free) * size, nil
}

// Stats is a summary of the store for /metrics and `vigil status`.
type Stats struct {
	Events      int64            `json:"events"`
	OldestEvent time.Time        `json:"oldest_event,omitzero"`
	NewestEvent time.Time        `json:"newest_event,omitzero"`
	Alerts      map[string]int64 `json:"alerts"`     // by status: open, ack, resolved (all three present)
	FileBytes   int64            `json:"file_bytes"` // vigil.db plus its WAL, on disk
	UsedBytes   int64            `json:"used_bytes"` // pages in use in vigil.db
}

// Stats counts the events and the alerts by status and measures the files.
// Counting events reads an index, so its cost grows with the store; call it
// at scrape intervals, not per event.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Alerts: map[string]int64{StatusOpen: 0, StatusAck: 0, StatusResolved: 0}}
	var oldest, newest sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT count(*), min(ts), max(ts) FROM events`).Scan(&st.Events, &oldest, &newest); err != nil {
		return st, fmt.Errorf("store: stats: %w", err)
	}
	st.OldestEvent, st.NewestEvent = fromNanos(oldest.Int64), fromNanos(newest.Int64)
	rows, err := s.r.QueryContext(ctx, `SELECT status, count(*) FROM alerts GROUP BY status`)
	if err != nil {
		return st, fmt.Errorf("store: stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int64
		if err := rows.Scan(&status, &n); err != nil {
			return st, fmt.Errorf("store: stats: %w", err)
		}
		st.Alerts[status] = n
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("store: stats: %w", err)
	}
	for _, p := range []string{s.path, s.path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			st.FileBytes += fi.Size()
		}
	}
	if st.UsedBytes, err = usedBytes(ctx, s.r); err != nil {
		return st, fmt.Errorf("store: stats: %w", err)
	}
	return st, nil
}
