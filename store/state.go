package store

import (
	"context"
	"fmt"
)

// SaveState stores data under name, replacing what was there. The
// detection engine saves its State here (detect.Engine.SaveState writes
// JSON) so that windows, open alerts and first_seen baselines survive a
// restart; the store does not look inside. The daemon should rather save
// it with Write, in the transaction of the checkpoints it matches.
func (s *Store) SaveState(ctx context.Context, name string, data []byte) error {
	return s.Write(ctx, Batch{States: map[string][]byte{name: data}})
}

func saveState(ctx context.Context, tx wtx, name string, data []byte, now int64) error {
	if data == nil {
		data = []byte{}
	}
	_, err := tx.ExecContext(ctx, saveStateSQL, name, data, now)
	if err != nil {
		return fmt.Errorf("state %q: %w", name, err)
	}
	return nil
}

const saveStateSQL = `INSERT INTO state (name, data, updated) VALUES (?, ?, ?)
	ON CONFLICT (name) DO UPDATE SET data = excluded.data, updated = excluded.updated`

// LoadState returns the data last saved under name, or an error wrapping
// ErrNotFound if none was (a first start).
func (s *Store) LoadState(ctx context.Context, name string) ([]byte, error) {
	var data []byte
	err := s.r.QueryRowContext(ctx, `SELECT data FROM state WHERE name = ?`, name).Scan(&data)
	if isNoRows(err) {
		return nil, fmt.Errorf("%w: state %q", ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("store: load state %q: %w", name, err)
	}
	return data, nil
}
