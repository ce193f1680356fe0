package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/vigildb/vigil/event"
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
		n, err := s.pruneBefore(ctx, cutoff)
		res.Events += n
		if err != nil {
			return res, opErr("prune by age", err)
		}
		err = s.writeTx(ctx, func(tx *sql.Tx) error {
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
			// Estimate the share of blocks to drop from the share of bytes
			// over the cap; the loop corrects the estimate.
			var blocks int64
			if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM event_blocks`).Scan(&blocks); err != nil {
				return res, fmt.Errorf("store: prune by size: %w", wrapErr(err))
			}
			if blocks == 0 {
				break // no events left; alerts and state are kept
			}
			n := int64(float64(blocks)*float64(used-target)/float64(used)) + 1
			n = min(n, pruneBlocks)
			d, err := s.deleteOldestBlocks(ctx, int(n))
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

// pruneBlocks is how many blocks one delete transaction removes at most:
// small enough that the daemon's writes and the CLI, waiting on the write
// lock, are held up for milliseconds, not for the whole prune.
const pruneBlocks = 200

// pruneBefore deletes the events older than cutoff: whole blocks of older
// buckets, then the older part of the blocks of cutoff's own bucket, then
// the bucket keys of the buckets gone.
func (s *Store) pruneBefore(ctx context.Context, cutoff int64) (int64, error) {
	var deleted int64
	for {
		var n int64
		err := s.writeTx(ctx, func(tx *sql.Tx) error {
			var err error
			n, err = deleteBlocks(ctx, tx, `SELECT id FROM event_blocks WHERE bucket < ? ORDER BY bucket LIMIT ?`, bucketOf(cutoff), pruneBlocks)
			return err
		})
		deleted += n
		if err != nil {
			return deleted, err
		}
		if n == 0 {
			break
		}
	}
	// The blocks that straddle the cutoff are rewritten with their newer
	// events only.
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, body FROM event_blocks WHERE bucket = ? AND min_ts < ?`, bucketOf(cutoff), cutoff)
		if err != nil {
			return err
		}
		type old struct {
			id   int64
			body []byte
		}
		var olds []old
		for rows.Next() {
			var o old
			if err := rows.Scan(&o.id, &o.body); err != nil {
				rows.Close()
				return err
			}
			olds = append(olds, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, o := range olds {
			var buf []byte
			lines, err := decodeBlock(o.body, &buf)
			if err != nil {
				return fmt.Errorf("block %d: %w", o.id, err)
			}
			var keep []*event.Event
			for _, line := range lines {
				ev := new(event.Event)
				if err := json.Unmarshal(line, ev); err != nil {
					return fmt.Errorf("block %d: %w", o.id, err)
				}
				if nanos(ev.Time) >= cutoff {
					keep = append(keep, ev)
				}
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM event_blocks WHERE id = ?`, o.id); err != nil {
				return err
			}
			gone := int64(len(lines) - len(keep))
			if _, err := tx.ExecContext(ctx, `UPDATE event_count SET n = n - ? WHERE id = 1`, gone); err != nil {
				return err
			}
			deleted += gone
			if len(keep) == 0 {
				continue
			}
			blocks, err := encodeBlocks(keep)
			if err != nil {
				return err
			}
			for _, b := range blocks {
				r := b.row()
				if _, err := tx.ExecContext(ctx, `INSERT INTO event_blocks (id, bucket, min_ts, max_ts, n, ids, keys, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
					o.id, b.bucket, r.minTS, r.maxTS, len(b.events), r.ids, r.keys, r.body); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return deleted, err
	}
	return deleted, s.pruneIndexes(ctx, cutoff)
}

// deleteBlocks deletes the blocks whose ids the query selects and returns
// how many events they held.
func deleteBlocks(ctx context.Context, tx *sql.Tx, query string, args ...any) (int64, error) {
	var n sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT sum(n) FROM event_blocks WHERE id IN (`+query+`)`, args...).Scan(&n); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM event_blocks WHERE id IN (`+query+`)`, args...); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE event_count SET n = n - ? WHERE id = 1`, n.Int64); err != nil {
		return 0, err
	}
	return n.Int64, nil
}

// deleteOldestBlocks deletes the n oldest blocks and the index rows older
// than what is left.
func (s *Store) deleteOldestBlocks(ctx context.Context, n int) (int64, error) {
	var deleted int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var err error
		deleted, err = deleteBlocks(ctx, tx, `SELECT id FROM event_blocks ORDER BY bucket, max_ts LIMIT ?`, n)
		return err
	})
	if err != nil || deleted == 0 {
		return deleted, err
	}
	var oldest sql.NullInt64
	if err := s.w.QueryRowContext(ctx, `SELECT min(min_ts) FROM event_blocks WHERE bucket = (SELECT min(bucket) FROM event_blocks)`).Scan(&oldest); err != nil {
		return deleted, err
	}
	if !oldest.Valid {
		oldest.Int64 = maxTS
	}
	return deleted, s.pruneIndexes(ctx, oldest.Int64)
}

// pruneIndexes deletes the bucket keys of buckets before cutoff's.
func (s *Store) pruneIndexes(ctx context.Context, cutoff int64) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM event_keys WHERE bucket < ?`, bucketOf(cutoff))
		return err
	})
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
// The event count is kept up to date by every write; the rest reads
// indexes.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Alerts: map[string]int64{StatusOpen: 0, StatusAck: 0, StatusResolved: 0}}
	var oldest, newest sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT (SELECT n FROM event_count),
		(SELECT min(min_ts) FROM event_blocks WHERE bucket = (SELECT min(bucket) FROM event_blocks)),
		(SELECT max(max_ts) FROM event_blocks WHERE bucket = (SELECT max(bucket) FROM event_blocks))`).Scan(&st.Events, &oldest, &newest); err != nil {
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
