package store

import (
	"strings"
	"testing"
)

// TestQueryPlansUseIndexes guards the indexes the CLI relies on: a search
// by user, client or time range, and Around (the shape it builds for an
// alert with a user, a client and an evidence session), must not scan the
// whole audit trail.
func TestQueryPlansUseIndexes(t *testing.T) {
	s := open(t, t.TempDir())
	seed(t, s)
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{`SELECT body FROM events WHERE user = ? ORDER BY ts, seq LIMIT 10`, []string{"events_user_ts"}},
		{`SELECT body FROM events WHERE client = ? ORDER BY ts, seq LIMIT 10`, []string{"events_client_ts"}},
		{`SELECT body FROM events WHERE ts >= ? AND ts < ? ORDER BY ts, seq LIMIT 10`, []string{"events_ts"}},
		{`SELECT body FROM events WHERE ts >= ? AND ts <= ? AND (user IN (?) OR client IN (?) OR (user = ? AND session = ? AND server = ?)) ORDER BY ts, seq LIMIT 10`,
			[]string{"events_user_ts", "events_client_ts"}},
		{`DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE ts < ? ORDER BY ts LIMIT 10)`, []string{"events_ts"}},
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
			if !strings.Contains(text, "INDEX "+ix) || strings.Contains(text, "SCAN events\n") {
				t.Errorf("%s\nplan:\n%s\nwant index %s", tt.query, text, ix)
			}
		}
	}
}
