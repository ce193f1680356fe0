package notify

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/vigildb/vigil/config"
	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/store"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// testAlert is an alert of rule with a client group.
func testAlert(id, rule, client string, count int64, last time.Time) *event.Alert {
	ev := event.Event{Time: last}
	ev.DB.Query.Text = "DROP TABLE customers"
	return &event.Alert{
		ID: id, RuleID: rule, Title: "Table dropped", Severity: event.SeverityHigh,
		Mitre:     event.Mitre{Tactic: "TA0040", TacticName: "Impact", Technique: "T1485", TechniqueName: "Data Destruction"},
		FirstTime: t0, LastTime: last, Count: count,
		Group:    map[string]string{"client.address": client},
		Entity:   event.Entity{User: "mallory", Client: client, Server: "db1:5432", Database: "shop", App: "psql"},
		Evidence: []event.Event{ev}, Impact: "Data is gone.", Mitigation: "Restore from backup.",
		Tags: []string{"ddl"},
	}
}

func upsert(t *testing.T, st *store.Store, as ...*event.Alert) {
	t.Helper()
	if err := st.UpsertAlerts(context.Background(), as); err != nil {
		t.Fatal(err)
	}
}

// fakeClock is an injectable clock for the dispatcher tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuf is a log sink safe for concurrent writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func fastOpts(logs io.Writer) Options {
	if logs == nil {
		logs = io.Discard
	}
	return Options{
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		PollInterval: 10 * time.Millisecond,
		RetryBase:    10 * time.Millisecond,
		RetryMax:     50 * time.Millisecond,
		Version:      "1.2.3",
		Hostname:     "vigil-test",
	}
}

func newRoute(name string, notifiers ...string) config.Route {
	return config.Route{Name: name, Notifiers: notifiers, Throttle: config.DefaultThrottle}
}

func webhookNotifierCfg(name, url string) config.Notifier {
	return config.Notifier{Name: name, Type: config.NotifierWebhook, URL: config.NewSecret(url),
		Timeout: 2 * time.Second, MaxAge: time.Hour, Concurrency: 2}
}

// receiver is an httptest server recording the requests it takes; the
// handler decides the answer (nil: 200).
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []received
	arrived chan received
	handler func(n int, w http.ResponseWriter, r *http.Request) bool // false: the request is not counted as taken
}

type received struct {
	Time   time.Time
	Header http.Header
	Body   []byte
	Path   string
}

func newReceiver(t *testing.T, handler func(n int, w http.ResponseWriter, r *http.Request) bool) *receiver {
	rc := &receiver{arrived: make(chan received, 10000), handler: handler}
	n := 0
	var nmu sync.Mutex
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		nmu.Lock()
		n++
		i := n
		nmu.Unlock()
		got := received{Time: time.Now(), Header: r.Header.Clone(), Body: body, Path: r.URL.Path}
		if rc.handler != nil && !rc.handler(i, w, r) {
			return
		}
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, got)
		rc.mu.Unlock()
		rc.arrived <- got
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) wait(t *testing.T, n int) []received {
	t.Helper()
	var out []received
	timeout := time.After(20 * time.Second)
	for len(out) < n {
		select {
		case r := <-rc.arrived:
			out = append(out, r)
		case <-timeout:
			t.Fatalf("received %d of %d messages", len(out), n)
		}
	}
	return out
}

// none checks that nothing more arrives before the service has settled:
// it waits until the outbox has no pending deliveries.
func (rc *receiver) none(t *testing.T, st *store.Store) {
	t.Helper()
	waitFor(t, "outbox drained", func() bool { return countOutbox(t, st, "status = 'pending'") == 0 })
	select {
	case r := <-rc.arrived:
		t.Fatalf("unexpected message: %s", r.Body)
	default:
	}
}

// waitFor polls cond until it holds. Only for conditions that depend on a
// real network peer or a goroutine of the service.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func countOutbox(t *testing.T, st *store.Store, where string, args ...any) int {
	t.Helper()
	var n int
	if err := st.Reader().QueryRow(`SELECT count(*) FROM notify_outbox WHERE `+where, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

type outboxRow struct {
	ID, AlertID, Route, Notifier, Kind, Status, LastError string
	Attempts                                              int
	Msg                                                   Message
}

func outbox(t *testing.T, st *store.Store) []outboxRow {
	t.Helper()
	rows, err := st.Reader().Query(`SELECT id, alert_id, route, notifier, kind, status, last_error, attempts, body FROM notify_outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		var body string
		if err := rows.Scan(&r.ID, &r.AlertID, &r.Route, &r.Notifier, &r.Kind, &r.Status, &r.LastError, &r.Attempts, &body); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(body), &r.Msg); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// runService runs s until the test ends (or stop is called).
func runService(t *testing.T, s *Service) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func mustNew(t *testing.T, cfg Config, st *store.Store, opts Options) *Service {
	t.Helper()
	s, err := New(cfg, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type sqlTx = sql.Tx
