package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigildb/vigil/detect"
	"github.com/vigildb/vigil/event"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// mkEvent is a realistic pgaudit event of about 650 bytes of JSON.
func mkEvent(i int, user, client string) *event.Event {
	return &event.Event{
		ID:     fmt.Sprintf("f1:%d", 1000+i*137),
		Time:   t0.Add(time.Duration(i) * time.Second),
		Source: event.Source{Name: "pg-main", Kind: "pgaudit"},
		DB: event.DB{
			System:     event.Name{Name: "postgresql"},
			Namespace:  "sales",
			Operation:  event.Name{Name: "SELECT"},
			Collection: event.Names{Name: []string{"public.orders"}},
			Query: event.Query{
				Text:    fmt.Sprintf("SELECT id, total FROM public.orders WHERE id = %d", i),
				Summary: "SELECT id, total FROM public.orders WHERE id = ?",
			},
			Response: event.Response{StatusCode: "00000", ReturnedRows: 1},
		},
		Server:  event.Server{Address: "db1.example.net"},
		User:    event.User{Name: user},
		Client:  event.Client{Address: client, Port: 51000 + i%1000},
		App:     event.App{Name: "psql"},
		Session: event.Session{ID: fmt.Sprintf("%d", 4000+i%7)},
		Event:   event.Kind{Category: event.CategoryQuery, Action: event.ActionStatement, Outcome: event.OutcomeSuccess, Duration: 1200000},
		Log:     event.Log{Level: "LOG", File: "/var/log/postgresql/pg.log", Line: int64(i + 1)},
		SQL:     event.SQL{Audit: event.Audit{Type: "SESSION", Classes: []string{"READ"}, StatementID: int64(i)}},
	}
}

func mkEvents(from, n int) []*event.Event {
	out := make([]*event.Event, n)
	for i := range out {
		out[i] = mkEvent(from+i, "alice", "198.51.100.10")
	}
	return out
}

func open(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// count counts the rows of table; for "events", the events in the blocks,
// checked against the running count Stats reports.
func count(t testing.TB, s *Store, table string) int {
	t.Helper()
	var n int
	if table == "events" {
		var c int
		if err := s.r.QueryRow("SELECT coalesce(sum(n), 0), (SELECT n FROM event_count) FROM event_blocks").Scan(&n, &c); err != nil {
			t.Fatal(err)
		}
		if n != c {
			t.Fatalf("blocks hold %d events, event_count says %d", n, c)
		}
		return n
	}
	if err := s.r.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOpenCreatesSchema(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := open(t, dir)
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := s.r.QueryRow("SELECT version FROM schema_version").Scan(&v); err != nil || v != schemaVersion {
		t.Fatalf("version = %d, %v; want %d", v, err, schemaVersion)
	}
	var mode string
	if err := s.r.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v", mode, err)
	}
	for pragma, want := range map[string]int{"cache_size": -32768, "wal_autocheckpoint": 4000, "auto_vacuum": 2, "foreign_keys": 1, "busy_timeout": 10000} {
		var got int
		if err := s.w.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil || got != want {
			t.Errorf("writer %s = %d, %v; want %d", pragma, got, err, want)
		}
	}
	s.Close()

	// Reopening is a no-op migration; a newer schema is refused.
	s2 := open(t, dir)
	if _, err := s2.w.Exec("UPDATE schema_version SET version = ?", schemaVersion+1); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema: %v", err)
	}
}

func TestEventRoundTrip(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	full := mkEvent(1, "alice", "198.51.100.10")
	full.Time = t0.Add(123456789 * time.Nanosecond)
	full.SQL.Grant = event.Grant{Privileges: []string{"ALL"}, All: true, WithGrantOption: true, Grantees: []string{"bob"}, ObjectType: "TABLE"}
	full.SQL.Role = event.Role{Names: []string{"bob"}, Login: true, Attributes: []string{"SUPERUSER"}, Password: true}
	full.SQL.Copy = event.Copy{Direction: "to", Target: "program", Path: "curl ***"}
	full.SQL.Injection = []string{"tautology"}
	full.Client.Cloud = event.Cloud{Provider: "azure", Region: "westeurope"}
	full.Error = event.Error{Message: "permission denied", Detail: "x"}
	minimal := &event.Event{ID: "m1", Time: t0, Source: event.Source{Name: "pg-main"}}
	in := []*event.Event{full, minimal}
	if err := s.AppendEvents(ctx, in, nil); err != nil {
		t.Fatal(err)
	}
	out, err := s.SearchEvents(ctx, EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	// minimal is older (t0), so it comes first.
	want := mustJSON(t, []*event.Event{minimal, full})
	if got := mustJSON(t, out); got != want {
		t.Fatalf("round trip:\n got %s\nwant %s", got, want)
	}
}

func TestAppendDedup(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	batch := mkEvents(0, 50)
	noID := &event.Event{Time: t0, Source: event.Source{Name: "http"}}
	for range 2 {
		if err := s.AppendEvents(ctx, append(batch, noID), nil); err != nil {
			t.Fatal(err)
		}
	}
	// The same id from another source is a different event.
	other := mkEvent(0, "alice", "198.51.100.10")
	other.Source.Name = "pg-replica"
	if err := s.AppendEvents(ctx, []*event.Event{other}, nil); err != nil {
		t.Fatal(err)
	}
	// 50 deduplicated + 2 without id (never deduplicated) + 1 other source.
	if n := count(t, s, "events"); n != 53 {
		t.Fatalf("events = %d, want 53", n)
	}
}

func TestCheckpoints(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	steps := [][]Checkpoint{
		{{Source: "pg", File: "1:100", Data: json.RawMessage(`{"offset":10}`)}, {Source: "maria", File: "", Data: json.RawMessage(`{"offset":1}`)}},
		{{Source: "pg", File: "1:100", Data: json.RawMessage(`{"offset":20}`)}, {Source: "pg", File: "1:101", Data: json.RawMessage(`{"offset":5}`)}},
	}
	for _, cps := range steps {
		if err := s.AppendEvents(ctx, nil, cps); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Checkpoints(ctx, "pg")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].File != "1:100" || string(got[0].Data) != `{"offset":20}` || got[1].File != "1:101" || got[0].Updated.IsZero() {
		t.Fatalf("checkpoints = %+v", got)
	}
	if got, _ := s.Checkpoints(ctx, "none"); len(got) != 0 {
		t.Fatalf("unknown source: %+v", got)
	}
	if err := s.AppendEvents(ctx, nil, []Checkpoint{{File: "x", Data: json.RawMessage(`{}`)}}); err == nil {
		t.Fatal("checkpoint without source accepted")
	}
}

// TestAppendAtomic checks that a batch that fails midway leaves neither its
// events nor its checkpoints behind.
func TestAppendAtomic(t *testing.T) {
	tests := []struct {
		name string
		cp   json.RawMessage
		hook func(cancel context.CancelFunc) func(context.Context) error
	}{
		{name: "constraint error on checkpoint", cp: json.RawMessage(`{not json`)},
		{name: "context canceled between events and checkpoints", cp: json.RawMessage(`{"offset":2}`),
			hook: func(cancel context.CancelFunc) func(context.Context) error {
				return func(context.Context) error { cancel(); return nil }
			}},
		{name: "crash between events and checkpoints", cp: json.RawMessage(`{"offset":2}`),
			hook: func(context.CancelFunc) func(context.Context) error {
				return func(context.Context) error { return errors.New("simulated crash") }
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, t.TempDir())
			if err := s.AppendEvents(context.Background(), mkEvents(0, 10), []Checkpoint{{Source: "pg-main", File: "f1", Data: json.RawMessage(`{"offset":1}`)}}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.hook != nil {
				testHookAfterEvents = tt.hook(cancel)
				defer func() { testHookAfterEvents = nil }()
			}
			err := s.AppendEvents(ctx, mkEvents(10, 500), []Checkpoint{{Source: "pg-main", File: "f1", Data: tt.cp}})
			if err == nil {
				t.Fatal("AppendEvents succeeded")
			}
			t.Logf("error: %v", err)
			if n := count(t, s, "events"); n != 10 {
				t.Errorf("events = %d after failed batch, want 10", n)
			}
			cps, err := s.Checkpoints(context.Background(), "pg-main")
			if err != nil || len(cps) != 1 || string(cps[0].Data) != `{"offset":1}` {
				t.Errorf("checkpoints = %+v, %v; want the previous one", cps, err)
			}
		})
	}
}

// TestWriteBatch stores events, checkpoints, alerts and state together,
// and checks that a batch failing midway keeps none of them.
func TestWriteBatch(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	batch := func(n int, offset string) Batch {
		return Batch{
			Events:      mkEvents(n*10, 10),
			Checkpoints: []Checkpoint{{Source: "pg-main", File: "f1", Data: json.RawMessage(offset)}},
			Alerts:      []*event.Alert{mkAlert(fmt.Sprint("a", n), "r", "high", t0, t0)},
			States:      map[string][]byte{"engine": []byte(offset)},
		}
	}
	if err := s.Write(ctx, batch(0, `{"offset":1}`)); err != nil {
		t.Fatal(err)
	}
	testHookAfterEvents = func(context.Context) error { return errors.New("simulated crash") }
	err := s.Write(ctx, batch(1, `{"offset":2}`))
	testHookAfterEvents = nil
	if err == nil || !strings.Contains(err.Error(), "write 10 events, 1 checkpoints, 1 alerts, 1 states") {
		t.Fatalf("failed write: %v", err)
	}
	state, err := s.LoadState(ctx, "engine")
	if err != nil {
		t.Fatal(err)
	}
	cps, err := s.Checkpoints(ctx, "pg-main")
	if err != nil {
		t.Fatal(err)
	}
	if n, m := count(t, s, "events"), count(t, s, "alerts"); n != 10 || m != 1 || string(state) != `{"offset":1}` || string(cps[0].Data) != `{"offset":1}` {
		t.Fatalf("after a failed write: %d events, %d alerts, state %s, checkpoint %s", n, m, state, cps[0].Data)
	}
}

func TestDiskFullIsRetryable(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	if err := s.AppendEvents(ctx, mkEvents(0, 10), nil); err != nil {
		t.Fatal(err)
	}
	// Cap the file a few pages above its size: the writer pool has one
	// connection, so the per-connection pragma holds for the next append.
	var pages int
	if err := s.w.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages+2)); err != nil {
		t.Fatal(err)
	}
	batch := mkEvents(10, 1000)
	cp := []Checkpoint{{Source: "pg-main", File: "f1", Data: json.RawMessage(`{"offset":9}`)}}
	err := s.AppendEvents(ctx, batch, cp)
	if !errors.Is(err, ErrDiskFull) || !strings.HasPrefix(err.Error(), "store: disk full: ") {
		t.Fatalf("err = %v, want ErrDiskFull", err)
	}
	t.Logf("error: %v", err)
	if n := count(t, s, "events"); n != 10 {
		t.Fatalf("events = %d after a full disk, want 10", n)
	}
	if _, err := s.w.Exec("PRAGMA max_page_count = 1073741823"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the retry, and a duplicate delivery of it
		if err := s.AppendEvents(ctx, batch, cp); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, s, "events"); n != 1010 {
		t.Fatalf("events = %d after retry, want 1010", n)
	}
}

// seed stores events of several users, clients and sessions, one per minute.
func seed(t testing.TB, s *Store) []*event.Event {
	t.Helper()
	var evs []*event.Event
	add := func(i int, user, client, session, op, cat, text string) {
		ev := mkEvent(i, user, client)
		ev.Time = t0.Add(time.Duration(i) * time.Minute)
		ev.Session.ID = session
		ev.DB.Operation.Name = op
		ev.Event.Category = cat
		ev.DB.Query.Text = text
		evs = append(evs, ev)
	}
	add(0, "alice", "198.51.100.10", "s1", "SELECT", "query", "SELECT * FROM orders")
	add(1, "bob", "203.0.113.7", "s2", "DROP TABLE", "ddl", "DROP TABLE orders_100%_old")
	add(2, "alice", "198.51.100.10", "s1", "DELETE", "dml", "DELETE FROM Orders")
	add(3, "mallory", "203.0.113.7", "s3", "", "authentication", "")
	add(4, "bob", "192.0.2.1", "s2", "GRANT", "dcl", "GRANT ALL ON orders TO bob")
	add(30, "bob", "203.0.113.7", "s4", "SELECT", "query", "SELECT 1")
	add(5, "carol", "192.0.2.99", "s2", "SELECT", "query", "SELECT 2") // same session id, another server
	evs[6].Server.Address = "db2.example.net"
	evs[3].Event.Action = event.ActionLoginFailed
	evs[4].DB.Namespace = "hr"
	if err := s.AppendEvents(context.Background(), evs, nil); err != nil {
		t.Fatal(err)
	}
	return evs
}

func ids(evs []*event.Event) string {
	var out []string
	for _, ev := range evs {
		out = append(out, fmt.Sprint(int64(ev.Time.Sub(t0)/time.Minute)))
	}
	return strings.Join(out, ",")
}

func TestSearchEvents(t *testing.T) {
	s := open(t, t.TempDir())
	seed(t, s)
	tests := []struct {
		name string
		f    EventFilter
		want string // minutes after t0 of the results
	}{
		{"all", EventFilter{}, "0,1,2,3,4,5,30"},
		{"newest first, limit", EventFilter{Order: NewestFirst, Limit: 2}, "30,5"},
		{"time range", EventFilter{Since: t0.Add(time.Minute), Until: t0.Add(4 * time.Minute)}, "1,2,3"},
		{"user", EventFilter{User: "bob"}, "1,4,30"},
		{"client", EventFilter{Client: "203.0.113.7"}, "1,3,30"},
		{"session", EventFilter{Session: "s1"}, "0,2"},
		{"database", EventFilter{Database: "hr"}, "4"},
		{"server", EventFilter{Server: "db1.example.net", Limit: 1}, "0"},
		{"other server", EventFilter{Server: "db2.example.net"}, "5"},
		{"session on any server", EventFilter{Session: "s2"}, "1,4,5"},
		{"category", EventFilter{Category: "ddl"}, "1"},
		{"action", EventFilter{Action: event.ActionLoginFailed}, "3"},
		{"operation, any case", EventFilter{Operation: "drop table"}, "1"},
		{"text, any case", EventFilter{Text: "from orders"}, "0,2"},
		{"text with LIKE metacharacters", EventFilter{Text: "100%_"}, "1"},
		{"text no match", EventFilter{Text: "100%x"}, ""},
		{"combined", EventFilter{User: "bob", Client: "203.0.113.7", Since: t0.Add(10 * time.Minute)}, "30"},
		{"source", EventFilter{Source: "other"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.SearchEvents(context.Background(), tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if ids(got) != tt.want {
				t.Errorf("got %s, want %s", ids(got), tt.want)
			}
		})
	}
	if _, err := s.SearchEvents(context.Background(), EventFilter{Order: "sideways"}); err == nil {
		t.Error("bad order accepted")
	}
}

func mkAlert(id, rule, sev string, first, last time.Time, evidence ...event.Event) *event.Alert {
	return &event.Alert{
		ID: id, RuleID: rule, Title: "title of " + rule, Severity: sev,
		Mitre:     event.Mitre{Tactic: "TA0006", TacticName: "Credential Access", Technique: "T1110.001"},
		FirstTime: first, LastTime: last, Count: int64(len(evidence)),
		Group:    map[string]string{"client.address": "203.0.113.7"},
		Entity:   event.Entity{Client: "203.0.113.7", Server: "db1.example.net"},
		Evidence: evidence, Description: "d", Impact: "i", Mitigation: "m", Tags: []string{"auth"},
	}
}

func TestAround(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	evs := seed(t, s)
	// A failed-login alert on client 203.0.113.7 at minute 3, whose
	// evidence is in session s3; and one on user alice with session s1.
	byClient := mkAlert("a1", "auth.failed_login_burst", "high", evs[3].Time, evs[3].Time, *evs[3])
	byUser := mkAlert("a2", "dml.delete_burst", "medium", evs[2].Time, evs[2].Time, *evs[2])
	byUser.Group = map[string]string{"user.name": "alice"}
	byUser.Entity = event.Entity{User: "alice"}
	bySession := mkAlert("a3", "x", "low", evs[4].Time, evs[4].Time, *evs[4])
	bySession.Group, bySession.Entity = nil, event.Entity{}
	nobody := mkAlert("a4", "logs.absent", "low", t0, t0)
	nobody.Group, nobody.Entity = nil, event.Entity{}
	anonymous := *evs[3] // an evidence event that names only its session
	anonymous.User, anonymous.Client = event.User{}, event.Client{}
	sessionOnly := mkAlert("a5", "x", "low", evs[3].Time, evs[3].Time, anonymous)
	sessionOnly.Group, sessionOnly.Entity = nil, event.Entity{}
	if err := s.UpsertAlerts(ctx, []*event.Alert{byClient, byUser, bySession, nobody, sessionOnly}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id     string
		window time.Duration
		limit  int
		want   string
	}{
		{"a1", 5 * time.Minute, 0, "1,3"}, // same client; minute 30 is outside
		{"a1", time.Hour, 0, "1,3,30"},    // wider window
		{"a1", time.Hour, 2, "1,3"},       // limit
		{"a2", 2 * time.Minute, 0, "0,2"}, // same user and session
		{"a3", time.Hour, 0, "1,4"},       // same session s2 on the same server
		{"a4", time.Hour, 0, ""},          // nothing to relate
	}
	for _, tt := range tests {
		got, err := s.Around(ctx, tt.id, tt.window, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if ids(got) != tt.want {
			t.Errorf("Around(%s, %v, %d) = %s, want %s", tt.id, tt.window, tt.limit, ids(got), tt.want)
		}
	}
	if _, err := s.Around(ctx, "missing", time.Hour, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Around(missing) = %v, want ErrNotFound", err)
	}
}

func TestAlerts(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	ev := mkEvent(1, "alice", "203.0.113.7")
	a1 := mkAlert("a1", "auth.failed_login_burst", "high", t0, t0.Add(time.Minute), *ev)
	a2 := mkAlert("a2", "ddl.alter_table", "low", t0.Add(time.Hour), t0.Add(time.Hour))
	a3 := mkAlert("a3", "dcl.grant", "critical", t0.Add(2*time.Hour), t0.Add(3*time.Hour))
	if err := s.UpsertAlerts(ctx, []*event.Alert{a1, a2, a3}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Alert(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if mustJSON(t, got.Alert) != mustJSON(t, a1) {
		t.Fatalf("round trip:\n got %s\nwant %s", mustJSON(t, got.Alert), mustJSON(t, a1))
	}
	if got.Status != StatusOpen || len(got.History) != 1 || got.History[0].Note != "raised" {
		t.Fatalf("new alert: status %q history %+v", got.Status, got.History)
	}
	// The stored JSON keeps the SPEC §3 fields at the top level.
	var top map[string]any
	if err := json.Unmarshal([]byte(mustJSON(t, got)), &top); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "rule_id", "severity", "mitre", "first_time", "last_time", "count", "group", "entity", "evidence", "status"} {
		if _, ok := top[k]; !ok {
			t.Errorf("alert JSON lacks %q", k)
		}
	}

	// An analyst acknowledges it; the engine then updates it: the status stays.
	if err := s.SetAlertStatus(ctx, "a1", StatusAck, "carol", "looking"); err != nil {
		t.Fatal(err)
	}
	upd := mkAlert("a1", "auth.failed_login_burst", "high", t0, t0.Add(2*time.Minute), *ev, *ev)
	stale := mkAlert("a1", "auth.failed_login_burst", "high", t0, t0.Add(30*time.Second))
	if err := s.UpsertAlerts(ctx, []*event.Alert{upd}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertAlerts(ctx, []*event.Alert{stale}); err != nil {
		t.Fatal(err)
	}
	got, err = s.Alert(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusAck || got.Count != 2 || !got.LastTime.Equal(upd.LastTime) || len(got.Evidence) != 2 {
		t.Fatalf("after update: status %q count %d last %v", got.Status, got.Count, got.LastTime)
	}

	tests := []struct {
		name string
		f    AlertFilter
		want string
	}{
		{"all, newest first", AlertFilter{}, "a3,a2,a1"},
		{"limit", AlertFilter{Limit: 1}, "a3"},
		{"min severity", AlertFilter{MinSeverity: "high"}, "a3,a1"},
		{"rule", AlertFilter{RuleID: "ddl.alter_table"}, "a2"},
		{"status", AlertFilter{Status: StatusAck}, "a1"},
		{"status open", AlertFilter{Status: StatusOpen}, "a3,a2"},
		{"active since", AlertFilter{Since: t0.Add(150 * time.Minute)}, "a3"},
		{"active until", AlertFilter{Until: t0.Add(time.Hour)}, "a1"},
		{"overlap", AlertFilter{Since: t0.Add(30 * time.Minute), Until: t0.Add(150 * time.Minute)}, "a3,a2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := s.ListAlerts(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range list {
				got = append(got, a.ID)
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("got %v, want %s", got, tt.want)
			}
		})
	}
	for _, f := range []AlertFilter{{MinSeverity: "urgent"}, {Status: "closed"}} {
		if _, err := s.ListAlerts(ctx, f); err == nil {
			t.Errorf("ListAlerts(%+v) accepted", f)
		}
	}
	if _, err := s.Alert(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Alert(nope) = %v", err)
	}
	if err := s.UpsertAlerts(ctx, []*event.Alert{{RuleID: "x"}}); err == nil {
		t.Error("alert without id accepted")
	}
}

func TestSetAlertStatusHistory(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	if err := s.UpsertAlerts(ctx, []*event.Alert{mkAlert("a1", "r", "low", t0, t0)}); err != nil {
		t.Fatal(err)
	}
	steps := []struct{ status, by, note string }{
		{StatusAck, "carol", "on it"},
		{StatusResolved, "carol", "expected maintenance"},
		{StatusOpen, "dave", "happened again"},
	}
	for _, st := range steps {
		if err := s.SetAlertStatus(ctx, "a1", st.status, st.by, st.note); err != nil {
			t.Fatal(err)
		}
	}
	a, err := s.Alert(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != StatusOpen || a.StatusBy != "dave" || a.StatusNote != "happened again" || a.StatusTime.IsZero() {
		t.Fatalf("status = %q by %q note %q", a.Status, a.StatusBy, a.StatusNote)
	}
	var got []string
	for _, h := range a.History {
		got = append(got, h.Previous+">"+h.Status+":"+h.By)
	}
	if want := ">open:vigil ,open>ack:carol ,ack>resolved:carol ,resolved>open:dave "; strings.Join(got, " ,")+" " != want {
		t.Errorf("history = %v", got)
	}
	if err := s.SetAlertStatus(ctx, "a1", "closed", "x", ""); err == nil {
		t.Error("unknown status accepted")
	}
	if err := s.SetAlertStatus(ctx, "zz", StatusAck, "x", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing alert: %v", err)
	}
}

func TestState(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	if _, err := s.LoadState(ctx, "engine"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("LoadState before save = %v", err)
	}
	st := detect.State{Version: detect.StateVersion, Clock: t0.UnixNano(), Rules: map[string]*detect.RuleState{
		"auth.failed_login_burst": {Groups: []*detect.GroupState{{Values: []string{"203.0.113.7"}, Touched: 1, Times: []int64{1, 2},
			Recent: []*event.Event{mkEvent(1, "a", "203.0.113.7")}, Seen: map[string]struct{}{"x": {}}}}},
	}}
	data := []byte(mustJSON(t, st))
	if err := s.SaveState(ctx, "engine", []byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveState(ctx, "engine", data); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir) // survives a restart
	got, err := s.LoadState(ctx, "engine")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("state = %s", got)
	}
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	t.Run("by age", func(t *testing.T) {
		s := open(t, t.TempDir())
		if err := s.AppendEvents(ctx, mkEvents(0, 12000), nil); err != nil { // one per second
			t.Fatal(err)
		}
		old := []*event.Alert{
			mkAlert("open", "r", "low", t0, t0), mkAlert("ack", "r", "low", t0, t0),
			mkAlert("resolved", "r", "low", t0, t0), mkAlert("recent", "r", "low", t0.Add(3*time.Hour), t0.Add(3*time.Hour)),
		}
		if err := s.UpsertAlerts(ctx, old); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"ack", "resolved", "recent"} {
			st := map[string]string{"ack": StatusAck}[id]
			if st == "" {
				st = StatusResolved
			}
			if err := s.SetAlertStatus(ctx, id, st, "x", ""); err != nil {
				t.Fatal(err)
			}
		}
		// Now is t0+4h; keep 2h: events of the first 2h (7200 s) go.
		res, err := s.Prune(ctx, Retention{MaxAge: 2 * time.Hour, Now: t0.Add(4 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Events != 7200 || res.Alerts != 1 {
			t.Fatalf("pruned %+v, want 7200 events and 1 alert", res)
		}
		st, err := s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Events != 4800 || !st.OldestEvent.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("stats after prune: %+v", st)
		}
		if st.Alerts[StatusOpen] != 1 || st.Alerts[StatusAck] != 1 || st.Alerts[StatusResolved] != 1 {
			t.Fatalf("alerts after prune: %v", st.Alerts)
		}
		var hist int
		s.r.QueryRow("SELECT count(*) FROM alert_history WHERE alert_id = 'resolved'").Scan(&hist)
		if hist != 0 {
			t.Errorf("history of a deleted alert kept: %d rows", hist)
		}
	})
	t.Run("by size", func(t *testing.T) {
		s := open(t, t.TempDir())
		for i := range 10 {
			if err := s.AppendEvents(ctx, mkEvents(i*1000, 1000), nil); err != nil {
				t.Fatal(err)
			}
		}
		before, err := s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		limit := before.UsedBytes / 3
		res, err := s.Prune(ctx, Retention{MaxBytes: limit})
		if err != nil {
			t.Fatal(err)
		}
		after, err := s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("before %d events %d B used %d B file; after %d events %d B used %d B file", before.Events, before.UsedBytes, before.FileBytes, after.Events, after.UsedBytes, after.FileBytes)
		if after.UsedBytes > limit-limit/10 || res.UsedBytes != after.UsedBytes {
			t.Fatalf("used %d B > limit %d B (result %+v)", after.UsedBytes, limit, res)
		}
		if res.Events == 0 || after.Events+res.Events != before.Events || after.Events == 0 {
			t.Fatalf("deleted %d of %d events, %d left", res.Events, before.Events, after.Events)
		}
		// The oldest went first.
		if !after.NewestEvent.Equal(before.NewestEvent) || !after.OldestEvent.After(before.OldestEvent) {
			t.Fatalf("oldest %v newest %v", after.OldestEvent, after.NewestEvent)
		}
		// Under the cap, nothing more goes.
		again, err := s.Prune(ctx, Retention{MaxBytes: limit})
		if err != nil || again.Events != 0 {
			t.Fatalf("second prune: %+v, %v", again, err)
		}
		if after.FileBytes >= before.FileBytes {
			t.Errorf("file did not shrink: %d -> %d", before.FileBytes, after.FileBytes)
		}
	})
}

// TestTwoHandles opens the same directory twice, as `vigil run` and the CLI
// do: one appends while the other searches, reads stats and acknowledges
// alerts.
func TestTwoHandles(t *testing.T) {
	dir := t.TempDir()
	daemon := open(t, dir)
	cli := open(t, dir)
	ctx := context.Background()
	if err := daemon.UpsertAlerts(ctx, []*event.Alert{mkAlert("a1", "r", "high", t0, t0)}); err != nil {
		t.Fatal(err)
	}
	const batches, size = 20, 200
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range batches {
			cp := []Checkpoint{{Source: "pg-main", File: "f1", Data: json.RawMessage(fmt.Sprintf(`{"batch":%d}`, i))}}
			if err := daemon.AppendEvents(ctx, mkEvents(i*size, size), cp); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		last := -1
		for i := 0; i < 50; i++ {
			st, err := cli.Stats(ctx)
			if err != nil {
				errs <- err
				return
			}
			// Searched after Stats, so it sees at least what Stats saw.
			evs, err := cli.SearchEvents(ctx, EventFilter{User: "alice", Order: NewestFirst, Limit: 10})
			if err != nil {
				errs <- err
				return
			}
			// Every committed batch is whole: a reader never sees half of one.
			if st.Events%size != 0 || int(st.Events) < last || (st.Events > 0 && len(evs) == 0) {
				errs <- fmt.Errorf("reader saw %d events (before: %d), %d found", st.Events, last, len(evs))
				return
			}
			last = int(st.Events)
			if err := cli.SetAlertStatus(ctx, "a1", StatusAck, "cli", fmt.Sprint(i)); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := count(t, cli, "events"); n != batches*size {
		t.Fatalf("events = %d, want %d", n, batches*size)
	}
	a, err := daemon.Alert(ctx, "a1")
	if err != nil || a.Status != StatusAck || len(a.History) != 51 {
		t.Fatalf("alert seen by the daemon: %+v, %v", a, err)
	}
}

// BenchmarkAppendEvents stores batches of realistic events (about 600 B
// of JSON each) with a checkpoint per batch, as the daemon does: 100 per
// write is the daemon at 10,000 events/s (it writes every ~10 ms), 1000
// when it catches up.
func BenchmarkAppendEvents(b *testing.B) {
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchAppend(b, batch) })
	}
}

func benchAppend(b *testing.B, batch int) {
	s := open(b, b.TempDir())
	ctx := context.Background()
	evs := make([]*event.Event, batch)
	for i := range evs {
		// 50 users, 200 clients and 500 sessions, so that blocks name many.
		evs[i] = mkEvent(i, fmt.Sprintf("user%02d", i%50), fmt.Sprintf("198.51.100.%d", i%200))
		evs[i].Session.ID = fmt.Sprint(10000 + i%500)
	}
	size := len(mustJSON(b, evs[0]))
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		for j, ev := range evs {
			// Ids are hashes of (file, offset), like the parsers' own; time
			// advances 1 ms per event.
			off := uint64(i*batch+j) * 600
			ev.ID = strconv.FormatUint((off^0xcbf29ce484222325)*1099511628211, 16)
			ev.Time = t0.Add(time.Duration(i*batch+j) * time.Millisecond)
		}
		cp := []Checkpoint{{Source: "pg-main", File: "f1", Data: json.RawMessage(fmt.Sprintf(`{"offset":%d}`, i))}}
		if err := s.AppendEvents(ctx, evs, cp); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "B/event")
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N*batch)/cpu.Seconds(), "events/cpu-s")
		b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N*batch), "cpu-µs/event")
	}
}

// cpuTime is the CPU time (user + system) the process used so far: on a
// shared machine, events per CPU second says more than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestTwoProcesses runs the writer in a child process (this test binary
// again), as `vigil run` and the CLI are: SQLite's file locks, not just its
// in-process lock sharing, must keep them out of each other's way.
func TestTwoProcesses(t *testing.T) {
	const batches, size = 10, 200
	if dir := os.Getenv("VIGIL_STORE_CHILD_DIR"); dir != "" {
		s := open(t, dir)
		for i := range batches {
			if err := s.AppendEvents(context.Background(), mkEvents(i*size, size), nil); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	if err := s.UpsertAlerts(ctx, []*event.Alert{mkAlert("a1", "r", "high", t0, t0)}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestTwoProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), "VIGIL_STORE_CHILD_DIR="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Read and acknowledge for as long as the child writes.
	acks := 0
	for running := true; running; acks++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out.String())
			}
			running = false
		default:
		}
		if _, err := s.SearchEvents(ctx, EventFilter{User: "alice", Limit: 5}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAlertStatus(ctx, "a1", StatusAck, "cli", fmt.Sprint(acks)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d acknowledgements while the child wrote", acks)
	if n := count(t, s, "events"); n != batches*size {
		t.Fatalf("events = %d, want %d", n, batches*size)
	}
	a, err := s.Alert(ctx, "a1")
	if err != nil || len(a.History) != acks+1 {
		t.Fatalf("alert history: %d entries, %v", len(a.History), err)
	}
}

// TestConcurrentOpenOfNewStore: the daemon and the CLI may open a brand-new
// data directory at the same moment; neither may fail with SQLITE_BUSY.
func TestConcurrentOpenOfNewStore(t *testing.T) {
	for i := range 20 {
		dir := filepath.Join(t.TempDir(), fmt.Sprint(i))
		errs := make(chan error, 3)
		for range 3 {
			go func() {
				s, err := Open(dir, Options{})
				if err == nil {
					err = s.Close()
				}
				errs <- err
			}()
		}
		for range 3 {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
		}
	}
}
