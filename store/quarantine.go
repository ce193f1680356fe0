package store

import (
	"context"
	"fmt"
	"time"
)

// MaxQuarantineBytes is how much of a quarantined line is kept.
const MaxQuarantineBytes = 4096

// Quarantined is an input line no parser understood (malformed, cut, or
// binary garbage), kept so an operator can see what was not read. Data is
// masked by the caller and cut to MaxQuarantineBytes; Size is the line's
// full length.
type Quarantined struct {
	Source string    `json:"source"`
	File   string    `json:"file"`
	Offset int64     `json:"offset"`
	Line   int64     `json:"line"`
	Reason string    `json:"reason"`
	Data   []byte    `json:"data"`
	Size   int64     `json:"size"`
	Time   time.Time `json:"time"` // when it was quarantined
}

func insertQuarantine(ctx context.Context, tx wtx, qs []Quarantined, now int64) error {
	for _, q := range qs {
		data := q.Data
		if len(data) > MaxQuarantineBytes {
			data = data[:MaxQuarantineBytes]
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO quarantine (source, file, offset, line, reason, data, size, time)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, q.Source, q.File, q.Offset, q.Line, q.Reason, data, q.Size, now); err != nil {
			return fmt.Errorf("quarantine %s:%d: %w", q.File, q.Line, err)
		}
	}
	return nil
}

// QuarantineCount is the number of quarantined lines.
func (s *Store) QuarantineCount(ctx context.Context) (int64, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM quarantine`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count quarantine: %w", wrapErr(err))
	}
	return n, nil
}

// ListQuarantine returns quarantined lines, newest first (limit <= 0: all).
func (s *Store) ListQuarantine(ctx context.Context, source string, limit int) ([]Quarantined, error) {
	if limit <= 0 {
		limit = -1
	}
	q := `SELECT source, file, offset, line, reason, data, size, time FROM quarantine`
	args := []any{}
	if source != "" {
		q += ` WHERE source = ?`
		args = append(args, source)
	}
	q += ` ORDER BY seq DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list quarantine: %w", wrapErr(err))
	}
	defer rows.Close()
	var out []Quarantined
	for rows.Next() {
		var r Quarantined
		var t int64
		if err := rows.Scan(&r.Source, &r.File, &r.Offset, &r.Line, &r.Reason, &r.Data, &r.Size, &t); err != nil {
			return nil, fmt.Errorf("store: list quarantine: %w", err)
		}
		r.Time = fromNanos(t)
		out = append(out, r)
	}
	return out, wrapErr(rows.Err())
}
