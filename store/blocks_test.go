package store

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/event"
)

// refEvent is an event as the reference model knows it: its place in
// insertion order, for ties of time.
type refEvent struct {
	ev  *event.Event
	seq int
}

// randomTrail makes n events from 3 sources over ~5 minutes (millisecond
// times, so some collide), a few of unknown time, with users, clients,
// sessions, databases, operations and texts drawn from small sets.
func randomTrail(r *rand.Rand, n int) []*event.Event {
	users := []string{"alice", "bob", "carol", "dave", "eve", "mallory", "", "svc_app", `o'<b>&"x`, "zoë"}
	clients := []string{"10.0.0.1", "10.0.0.2", "198.51.100.7", "2001:db8::5", "", "[local]"}
	ops := []string{"SELECT", "select", "DROP TABLE", "INSERT", "GRANT", ""}
	out := make([]*event.Event, n)
	for i := range out {
		src := fmt.Sprintf("src%d", r.IntN(3))
		ev := &event.Event{
			ID:      fmt.Sprintf("%s:%d", src, i),
			Source:  event.Source{Name: src},
			User:    event.User{Name: users[r.IntN(len(users))]},
			Client:  event.Client{Address: clients[r.IntN(len(clients))]},
			Session: event.Session{ID: fmt.Sprint(4000 + r.IntN(12))},
			Server:  event.Server{Address: fmt.Sprintf("db%d", r.IntN(2))},
			DB: event.DB{
				Namespace: []string{"sales", "hr", ""}[r.IntN(3)],
				Operation: event.Name{Name: ops[r.IntN(len(ops))]},
				Query:     event.Query{Text: fmt.Sprintf("SELECT * FROM T%d WHERE Secret = %d%s", r.IntN(5), r.IntN(100), []string{"", ` AND n = '<Tag>&"Zoë"'`, " -- Ünïcode\\"}[r.IntN(3)])},
			},
			Event: event.Kind{Category: []string{event.CategoryQuery, event.CategoryAuthentication}[r.IntN(2)], Action: event.ActionStatement},
		}
		if r.IntN(100) > 0 {
			ev.Time = t0.Add(time.Duration(r.IntN(300000)) * time.Millisecond)
		}
		if r.IntN(50) == 0 {
			ev.ID = "" // never deduplicated
		}
		out[i] = ev
	}
	return out
}

// TestBlocksMatchReference writes a random trail in random batches, some
// events again (re-reads), and compares every search with a brute-force
// reference: the same events, exactly once, in the same order.
func TestBlocksMatchReference(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			s := open(t, t.TempDir())
			ctx := context.Background()
			trail := randomTrail(r, 3000)
			var ref []refEvent
			stored := map[string]bool{} // time|source|id of events stored
			seq := 0
			write := func(batch []*event.Event) {
				if err := s.AppendEvents(ctx, batch, nil); err != nil {
					t.Fatal(err)
				}
				// The store sorts a write by time, stably.
				sorted := slices.Clone(batch)
				slices.SortStableFunc(sorted, func(a, b *event.Event) int { return cmp.Compare(nanos(a.Time), nanos(b.Time)) })
				for _, ev := range sorted {
					k := fmt.Sprint(nanos(ev.Time), "|", ev.Source.Name, "|", ev.ID)
					if ev.ID != "" && stored[k] {
						continue
					}
					stored[k] = true
					ref = append(ref, refEvent{ev, seq})
					seq++
				}
			}
			// Batches of 1 to 700, sometimes repeating earlier events.
			for i := 0; i < len(trail); {
				n := 1 + r.IntN(700)
				batch := slices.Clone(trail[i:min(i+n, len(trail))])
				if i > 0 && r.IntN(3) == 0 {
					from := r.IntN(i)
					batch = append(batch, trail[from:min(from+1+r.IntN(200), i)]...)
				}
				r.Shuffle(len(batch), func(a, b int) { batch[a], batch[b] = batch[b], batch[a] })
				write(batch)
				i += n
			}
			write(trail[1000:1500]) // a whole re-read
			if n := count(t, s, "events"); n != len(ref) {
				t.Fatalf("stored %d events, reference %d", n, len(ref))
			}
			filters := []EventFilter{
				{Limit: 100000},
				{Limit: 37},
				{Limit: 37, Order: NewestFirst},
				{User: "alice", Limit: 100000},
				{User: "mallory", Limit: 5, Order: NewestFirst},
				{Client: "10.0.0.2", Limit: 100000},
				{User: "bob", Client: "198.51.100.7", Limit: 100000},
				{Session: "4003", Limit: 100000},
				{Session: "4003", Server: "db1", Limit: 100000},
				{Source: "src1", Database: "hr", Limit: 100000},
				{Operation: "select", Limit: 100000},
				{Category: event.CategoryAuthentication, Action: event.ActionStatement, Limit: 100000},
				{Text: "secret = 4", Limit: 100000},
				{Text: "T3 WHERE", User: "eve", Limit: 100000},
				{Text: `<tag>&"zoë"`, Limit: 100000},
				{Text: "ÜnïCODE\\", Limit: 100000},
				{Text: "ÜNÏCODE", Limit: 100000}, // ASCII case only: matches nothing
				{User: `o'<b>&"x`, Limit: 100000},
				{User: "zoë", Order: NewestFirst, Limit: 100000},
				{Since: t0.Add(time.Minute), Until: t0.Add(2*time.Minute + 5*time.Second + 1), Limit: 100000},
				{Since: t0.Add(90 * time.Second), Limit: 50},
				{Until: t0.Add(90 * time.Second), Limit: 50, Order: NewestFirst},
				{Since: t0.Add(30 * time.Second), Until: t0.Add(4 * time.Minute), User: "carol", Limit: 20, Order: NewestFirst},
				{Since: t0.Add(time.Hour), Limit: 10},
			}
			for _, f := range filters {
				got, err := s.SearchEvents(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				want := reference(ref, f)
				if len(want) == 0 && f.Text != "ÜNÏCODE" && f.Since.Before(t0.Add(time.Hour)) {
					t.Errorf("filter %+v: the reference finds nothing; the case tests nothing", f)
				}
				if g, w := idList(got), idList(want); g != w {
					t.Errorf("filter %+v:\n got %d events %.300s\nwant %d events %.300s", f, len(got), g, len(want), w)
				}
			}
		})
	}
}

// reference is SearchEvents by brute force.
func reference(ref []refEvent, f EventFilter) []*event.Event {
	var m []refEvent
	for _, e := range ref {
		ev := e.ev
		ts := nanos(ev.Time)
		if !f.Since.IsZero() && ts < nanos(f.Since) || !f.Until.IsZero() && ts >= nanos(f.Until) {
			continue
		}
		if f.User != "" && ev.User.Name != f.User || f.Client != "" && ev.Client.Address != f.Client ||
			f.Session != "" && ev.Session.ID != f.Session || f.Server != "" && ev.Server.Address != f.Server ||
			f.Source != "" && ev.Source.Name != f.Source || f.Database != "" && ev.DB.Namespace != f.Database ||
			f.Category != "" && ev.Event.Category != f.Category || f.Action != "" && ev.Event.Action != f.Action ||
			f.Operation != "" && !strings.EqualFold(ev.DB.Operation.Name, f.Operation) ||
			f.Text != "" && !strings.Contains(asciiLower(ev.DB.Query.Text), asciiLower(f.Text)) {
			continue
		}
		m = append(m, e)
	}
	slices.SortFunc(m, func(a, b refEvent) int {
		c := cmp.Or(cmp.Compare(nanos(a.ev.Time), nanos(b.ev.Time)), cmp.Compare(a.seq, b.seq))
		if f.Order == NewestFirst {
			return -c
		}
		return c
	})
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	var out []*event.Event
	for _, e := range m[:min(limit, len(m))] {
		out = append(out, e.ev)
	}
	return out
}

func idList(evs []*event.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "%s@%d ", ev.ID, nanos(ev.Time))
	}
	return b.String()
}

// TestBlockShapes: a write is cut into blocks at bucket boundaries and at
// maxBlockEvents, and each block lists its keys.
func TestBlockShapes(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	var evs []*event.Event
	for i := range 1200 { // 1200 events in one bucket, then 3 in the next two
		ev := mkEvent(i, "alice", "198.51.100.10")
		ev.Time = t0.Add(time.Duration(i) * time.Millisecond)
		evs = append(evs, ev)
	}
	for i, d := range []time.Duration{10 * time.Second, 20*time.Second + 1, 25 * time.Second} {
		ev := mkEvent(2000+i, "bob\x00x", "10.0.0.9")
		ev.Time = t0.Add(d)
		evs = append(evs, ev)
	}
	if err := s.AppendEvents(ctx, evs, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := s.r.Query(`SELECT bucket, n, length(ids), keys FROM event_blocks ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var bucket, n, idLen int64
		var keys []byte
		if err := rows.Scan(&bucket, &n, &idLen, &keys); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%d:%d:%q", bucket-bucketOf(nanos(t0)), n, idLen, keys))
	}
	want := []string{
		`0:512:8192:"\x00c:198.51.100.10\x00s:4000\x00s:4001\x00s:4002\x00s:4003\x00s:4004\x00s:4005\x00s:4006\x00u:alice\x00"`,
		`0:512:8192:"\x00c:198.51.100.10\x00s:4000\x00s:4001\x00s:4002\x00s:4003\x00s:4004\x00s:4005\x00s:4006\x00u:alice\x00"`,
		`0:176:2816:"\x00c:198.51.100.10\x00s:4000\x00s:4001\x00s:4002\x00s:4003\x00s:4004\x00s:4005\x00s:4006\x00u:alice\x00"`,
		`1:1:16:"\x00c:10.0.0.9\x00s:4005\x00u:bob\x00x\x00"`,
		`2:2:32:"\x00c:10.0.0.9\x00s:4000\x00s:4006\x00u:bob\x00x\x00"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("blocks:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A user name holding the separator is still found, through its key.
	found, err := s.SearchEvents(ctx, EventFilter{User: "bob\x00x"})
	if err != nil || len(found) != 3 {
		t.Fatalf("bob\\x00x: %d events, %v", len(found), err)
	}
	var keys int
	s.r.QueryRow(`SELECT count(*) FROM event_keys WHERE k IN ('u:alice', 'c:198.51.100.10')`).Scan(&keys)
	if keys != 2 {
		t.Fatalf("event_keys rows for alice's bucket: %d, want 2 (one per key and bucket)", keys)
	}
}

// TestPruneInsideABucket: an age cutoff in the middle of a bucket keeps
// exactly the newer events of the blocks it cuts, and their dedup ids.
func TestPruneInsideABucket(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	evs := mkEvents(0, 60) // one per second: six buckets
	if err := s.AppendEvents(ctx, evs, nil); err != nil {
		t.Fatal(err)
	}
	cutoff := t0.Add(25*time.Second + 500*time.Millisecond)
	res, err := s.Prune(ctx, Retention{MaxAge: time.Hour, Now: cutoff.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != 26 {
		t.Fatalf("pruned %d events, want 26 (0 s to 25 s)", res.Events)
	}
	left, err := s.SearchEvents(ctx, EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 34 || !left[0].Time.Equal(t0.Add(26*time.Second)) {
		t.Fatalf("left %d events from %v", len(left), left[0].Time)
	}
	// Re-reading the kept events stores nothing; the pruned ones come back.
	if err := s.AppendEvents(ctx, evs[20:], nil); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "events"); n != 40 {
		t.Fatalf("after re-read: %d events, want 40", n)
	}
}

// TestMigrateRowsToBlocks opens a store of schema version 2 (a row per
// event) and finds its events, deduplicated and searchable, in blocks.
func TestMigrateRowsToBlocks(t *testing.T) {
	dir := t.TempDir()
	evs := mkEvents(0, 3000)
	evs[7].User.Name = "bob"
	writeSchema2(t, dir, evs)
	s := open(t, dir)
	ctx := context.Background()
	if n := count(t, s, "events"); n != 3000 {
		t.Fatalf("%d events after the migration, want 3000", n)
	}
	var old int
	s.r.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'events'`).Scan(&old)
	if old != 0 {
		t.Fatal("the old events table is still there")
	}
	got, err := s.SearchEvents(ctx, EventFilter{User: "bob"})
	if err != nil || len(got) != 1 || got[0].ID != evs[7].ID {
		t.Fatalf("bob: %v, %v", idList(got), err)
	}
	all, err := s.SearchEvents(ctx, EventFilter{Limit: 5000})
	if err != nil || mustJSON(t, all) != mustJSON(t, evs) {
		t.Fatalf("events differ after the migration (%d, %v)", len(all), err)
	}
	if err := s.AppendEvents(ctx, evs[100:200], nil); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "events"); n != 3000 {
		t.Fatalf("migrated events stored again: %d", n)
	}
}

// BenchmarkSearch measures searches over 500,000 stored events (50 users,
// 200 clients, 1 ms apart: about 8 minutes, 50 buckets).
func BenchmarkSearch(b *testing.B) {
	s := open(b, b.TempDir())
	ctx := context.Background()
	const total, batch = 500000, 1000
	for i := 0; i < total; i += batch {
		evs := make([]*event.Event, batch)
		for j := range evs {
			k := i + j
			evs[j] = mkEvent(k, fmt.Sprintf("user%02d", k%50), fmt.Sprintf("198.51.100.%d", k%200))
			evs[j].Time = t0.Add(time.Duration(k) * time.Millisecond)
			evs[j].ID = fmt.Sprint("f1:", k)
		}
		if err := s.AppendEvents(ctx, evs, nil); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name string
		f    EventFilter
	}{
		{"latest-100", EventFilter{Limit: 100, Order: NewestFirst}},
		{"range-1000", EventFilter{Since: t0.Add(4 * time.Minute), Limit: 1000}},
		{"user-100", EventFilter{User: "user07", Limit: 100}},
		{"user-newest-100", EventFilter{User: "user07", Limit: 100, Order: NewestFirst}},
		{"client-all", EventFilter{Client: "198.51.100.9", Limit: 100000}},
		{"text-1min", EventFilter{Since: t0.Add(2 * time.Minute), Until: t0.Add(3 * time.Minute), Text: "id = 123456", Limit: 100}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				evs, err := s.SearchEvents(ctx, bc.f)
				if err != nil {
					b.Fatal(err)
				}
				n = len(evs)
			}
			b.ReportMetric(float64(n), "events")
		})
	}
}
