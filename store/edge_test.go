package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vigildb/vigil/event"
)

// invalidSource is a source name holding an invalid UTF-8 byte: in replay,
// source.name is the file name, and file names are bytes.
const invalidSource = "replay-\xff.log"

// TestPruneRewriteKeepsDedup: the blocks an age cutoff cuts are rewritten
// from their decoded JSON, where invalid UTF-8 reads back as U+FFFD; the
// ids are hashed in that stored form everywhere, so a re-read of the kept
// events still finds them.
func TestPruneRewriteKeepsDedup(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	evs := mkEvents(0, 20) // one per second: two buckets
	for _, ev := range evs {
		ev.Source.Name = invalidSource
	}
	if err := s.AppendEvents(ctx, evs, nil); err != nil {
		t.Fatal(err)
	}
	// Before any prune, a re-read is deduplicated.
	if err := s.AppendEvents(ctx, evs, nil); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "events"); n != 20 {
		t.Fatalf("re-read before prune: %d events, want 20", n)
	}
	cutoff := t0.Add(15*time.Second + 500*time.Millisecond) // inside the second bucket
	if _, err := s.Prune(ctx, Retention{MaxAge: time.Hour, Now: cutoff.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "events"); n != 4 {
		t.Fatalf("after prune: %d events, want 4 (16 s to 19 s)", n)
	}
	if err := s.AppendEvents(ctx, evs[16:], nil); err != nil { // re-read of the kept events
		t.Fatal(err)
	}
	if n := count(t, s, "events"); n != 4 {
		t.Fatalf("re-read after prune stored the kept events again: %d events, want 4", n)
	}
}

// writeSchema2 creates a store of schema version 2 in dir holding evs, a
// row each, as the row-per-event build wrote them.
func writeSchema2(t *testing.T, dir string, evs []*event.Event) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName)+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range append(slices.Clone(migrations[:2]), `CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (2)`) {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for _, ev := range evs {
		if _, err := db.Exec(`INSERT INTO events (source, event_id, ts, user, body) VALUES (?, ?, ?, ?, ?)`,
			ev.Source.Name, nullStr(ev.ID), nanos(ev.Time), nullStr(ev.User.Name), mustJSON(t, ev)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigrateInvalidUTF8ReRead: migrated events hash their (source, id) as
// later writes do, so a source re-reading its last lines after the upgrade
// stores nothing twice, invalid UTF-8 in the source name or not.
func TestMigrateInvalidUTF8ReRead(t *testing.T) {
	dir := t.TempDir()
	evs := mkEvents(0, 10)
	for _, ev := range evs {
		ev.Source.Name = invalidSource
	}
	writeSchema2(t, dir, evs)
	s := open(t, dir)
	ctx := context.Background()
	if n := count(t, s, "events"); n != 10 {
		t.Fatalf("%d events after the migration, want 10", n)
	}
	if err := s.AppendEvents(ctx, evs[5:], nil); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "events"); n != 10 {
		t.Fatalf("migrated events stored again on re-read: %d events, want 10", n)
	}
}

// TestMigrateKeepsDistinctRows: two rows of a schema 2 store that differ
// only in an invalid byte of their source name (replayed files "x\xfe.log"
// and "x\xff.log", same offsets) were distinct for the old unique key and
// are both migrated, although they read back alike.
func TestMigrateKeepsDistinctRows(t *testing.T) {
	dir := t.TempDir()
	a, b := mkEvent(0, "alice", "10.0.0.1"), mkEvent(0, "bob", "10.0.0.2")
	a.Source.Name, b.Source.Name = "x\xfe.log", "x\xff.log"
	writeSchema2(t, dir, []*event.Event{a, b})
	s := open(t, dir)
	if n := count(t, s, "events"); n != 2 {
		t.Fatalf("%d events after the migration, want 2 (one was dropped as a duplicate)", n)
	}
}

// TestSearchReplacementChar: a field that held invalid UTF-8 reads back
// with U+FFFD, which is what an analyst copies into the next search; the
// stored JSON holds it as the escape \ufffd, so the JSON prefilter must not
// look for the character itself.
func TestSearchReplacementChar(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	ev := mkEvent(0, "j\xf6rg", "10.0.0.1") // Latin-1 user name in a UTF-8 log
	ev.DB.Query.Text = "SELECT * FROM caf\xe9"
	if err := s.AppendEvents(ctx, []*event.Event{ev}, nil); err != nil {
		t.Fatal(err)
	}
	all, err := s.SearchEvents(ctx, EventFilter{})
	if err != nil || len(all) != 1 {
		t.Fatalf("all: %d, %v", len(all), err)
	}
	stored := all[0]
	if stored.User.Name != "j\uFFFDrg" || stored.DB.Query.Text != "SELECT * FROM caf\uFFFD" {
		t.Fatalf("stored user %q text %q", stored.User.Name, stored.DB.Query.Text)
	}
	for name, f := range map[string]EventFilter{
		"text":     {Text: "caf\uFFFD"},
		"user":     {User: stored.User.Name},
		"database": {Database: "sales", User: stored.User.Name},
	} {
		got, err := s.SearchEvents(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Errorf("%s: %+v found %d events, want 1", name, f, len(got))
		}
	}
}

// TestAroundReplacementChar: Around takes its users from the alert's JSON,
// where invalid UTF-8 reads back as U+FFFD; it still finds their events.
func TestAroundReplacementChar(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	evs := []*event.Event{mkEvent(0, "j\xf6rg", "10.0.0.1"), mkEvent(1, "j\xf6rg", "10.0.0.2")}
	if err := s.AppendEvents(ctx, evs, nil); err != nil {
		t.Fatal(err)
	}
	a := mkAlert("a1", "r", "low", evs[0].Time, evs[0].Time)
	a.Group, a.Entity = map[string]string{"user.name": "j\xf6rg"}, event.Entity{User: "j\xf6rg"}
	if err := s.UpsertAlerts(ctx, []*event.Alert{a}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Around(ctx, "a1", time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("Around: %d events, want 2 (both of the alert's user)", len(got))
	}
}

// TestIDHashNoRunTogether: (source "a\x00b", id "c") and (source "a", id
// "b\x00c") are different events with different dedup hashes.
func TestIDHashNoRunTogether(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	a, b := mkEvent(0, "alice", "10.0.0.1"), mkEvent(0, "bob", "10.0.0.2")
	a.Source.Name, a.ID = "a\x00b", "c"
	b.Source.Name, b.ID = "a", "b\x00c"
	if err := s.AppendEvents(ctx, []*event.Event{a, b}, nil); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "events"); n != 2 {
		t.Fatalf("%d events stored, want 2", n)
	}
}

// TestBucketPagingManyBuckets: the union of several keys' buckets is
// fetched 512 at a time; with more than 512 buckets per key, in both
// orders, nothing is skipped or repeated (Around with a user and a client,
// SearchEvents by user).
func TestBucketPagingManyBuckets(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	const n = 1300 // one event per bucket: alice in the even ones, client X in the odd ones
	var evs []*event.Event
	for i := range n {
		ev := mkEvent(i, "bob", "10.9.9.9")
		ev.Time = t0.Add(time.Duration(i) * 10 * time.Second)
		ev.ID = fmt.Sprint("p:", i)
		if i%2 == 0 {
			ev.User.Name = "alice"
		} else {
			ev.Client.Address = "203.0.113.7"
		}
		evs = append(evs, ev)
	}
	if err := s.AppendEvents(ctx, evs, nil); err != nil {
		t.Fatal(err)
	}
	a := mkAlert("a1", "r", "low", t0, t0.Add(n*10*time.Second))
	a.Group, a.Entity = map[string]string{"user.name": "alice"}, event.Entity{User: "alice", Client: "203.0.113.7"}
	if err := s.UpsertAlerts(ctx, []*event.Alert{a}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Around(ctx, "a1", time.Minute, 100000)
	if err != nil {
		t.Fatal(err)
	}
	if idList(got) != idList(evs) {
		t.Fatalf("Around: %d events, want %d", len(got), len(evs))
	}
	var alice, rev []*event.Event
	for _, ev := range evs {
		if ev.User.Name == "alice" {
			alice = append(alice, ev)
		}
	}
	for i := len(alice) - 1; i >= 0; i-- {
		rev = append(rev, alice[i])
	}
	for _, c := range []struct {
		f    EventFilter
		want []*event.Event
	}{
		{EventFilter{User: "alice", Limit: 100000}, alice},
		{EventFilter{User: "alice", Limit: 100000, Order: NewestFirst}, rev},
		{EventFilter{User: "alice", Limit: 600, Order: NewestFirst}, rev[:600]},
		{EventFilter{User: "alice", Since: t0.Add(3000 * time.Second), Limit: 100000, Order: NewestFirst}, rev[:len(rev)-150]},
	} {
		got, err := s.SearchEvents(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		if idList(got) != idList(c.want) {
			t.Errorf("%+v: %d events, want %d", c.f, len(got), len(c.want))
		}
	}
}

// TestSubMinuteZoneOffset: JSON times keep whole-minute offsets, so an
// event in a zone with an offset in seconds (local mean time) is stored at
// its instant in UTC; searches by time find it where it is.
func TestSubMinuteZoneOffset(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	ev := mkEvent(0, "alice", "10.0.0.1")
	ev.Time = time.Date(1930, 1, 1, 12, 0, 0, 0, time.FixedZone("LMT", 19*60+32))
	if err := s.AppendEvents(ctx, []*event.Event{ev}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.SearchEvents(ctx, EventFilter{Since: ev.Time, Until: ev.Time.Add(time.Nanosecond)})
	if err != nil || len(got) != 1 || !got[0].Time.Equal(ev.Time) {
		t.Fatalf("search at the event's instant: %v, %v", idList(got), err)
	}
	if err := s.AppendEvents(ctx, []*event.Event{ev}, nil); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "events"); n != 1 {
		t.Fatalf("%d events after a re-read, want 1", n)
	}
	if _, off := ev.Time.Zone(); off != 19*60+32 {
		t.Fatal("the caller's event was changed")
	}
}

// nullStr is how schema 2 stored "" (unknown): NULL.
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}
