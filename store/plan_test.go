package store

import (
	"strings"
	"testing"
)

// TestQueryPlansUseIndexes guards the indexes searches, retention and stats
// rely on: none of them may scan the whole audit trail.
func TestQueryPlansUseIndexes(t *testing.T) {
	s := open(t, t.TempDir())
	seed(t, s)
	for _, tt := range []struct {
		query string
		want  []string
	}{
		// A search by user or client: its buckets, then their blocks.
		{`SELECT bucket FROM event_keys WHERE k = ? AND bucket >= ? AND bucket <= ? ORDER BY bucket LIMIT ?`, []string{"USING PRIMARY KEY (k=? AND bucket>? AND bucket<?)"}},
		{`SELECT id, min_ts, max_ts, keys FROM event_blocks WHERE bucket = ? AND max_ts >= ? AND min_ts <= ?`, []string{"INDEX event_blocks_bucket (bucket=? AND max_ts>?)"}},
		// A time range: the next bucket with blocks.
		{`SELECT min(bucket) FROM event_blocks WHERE bucket > ? AND bucket <= ?`, []string{"INDEX event_blocks_bucket (bucket>? AND bucket<?)"}},
		{`SELECT max(bucket) FROM event_blocks WHERE bucket >= ? AND bucket < ?`, []string{"INDEX event_blocks_bucket (bucket>? AND bucket<?)"}},
		// Retention.
		{`SELECT id FROM event_blocks WHERE bucket < ? ORDER BY bucket LIMIT ?`, []string{"INDEX event_blocks_bucket (bucket<?)"}},
		{`SELECT id FROM event_blocks ORDER BY bucket, max_ts LIMIT ?`, []string{"SCAN event_blocks USING COVERING INDEX event_blocks_bucket"}},
		// Dedup: the blocks a write overlaps.
		{overlapSQL, []string{"INDEX event_blocks_bucket (bucket=? AND max_ts>?)"}},
		// Stats.
		{`SELECT min(min_ts) FROM event_blocks WHERE bucket = (SELECT min(bucket) FROM event_blocks)`, []string{"INDEX event_blocks_bucket (bucket=?)"}},
	} {
		n := strings.Count(tt.query, "?")
		args := make([]any, n)
		for i := range args {
			args[i] = "x"
		}
		rows, err := s.r.Query("EXPLAIN QUERY PLAN "+tt.query, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		for _, ix := range tt.want {
			if !strings.Contains(text, ix) || strings.Contains(text, "SCAN ") && !strings.Contains(text, "SCAN event_blocks USING COVERING INDEX") {
				t.Errorf("%s\nplan:\n%s\nwant index %s", tt.query, text, ix)
			}
		}
	}
}
