package notify

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigildb/vigil/config"
	"github.com/vigildb/vigil/detect"
	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/rules"
	"github.com/vigildb/vigil/store"
)

// dispatcher builds a service whose dispatcher the test drives step by
// step on a fake clock (no senders run).
func dispatcher(t *testing.T, routes ...config.Route) (*Service, *fakeClock) {
	t.Helper()
	st := openStore(t, t.TempDir())
	clk := &fakeClock{t: t0}
	opts := fastOpts(nil)
	opts.Now = clk.Now
	seen := map[string]bool{}
	var ns []config.Notifier
	for _, r := range routes {
		for _, n := range r.Notifiers {
			if !seen[n] {
				seen[n] = true
				ns = append(ns, webhookNotifierCfg(n, "http://127.0.0.1:1/"+n))
			}
		}
	}
	return mustNew(t, Config{Notifiers: ns, Routes: routes}, st, opts), clk
}

func dispatchAll(t *testing.T, s *Service) {
	t.Helper()
	for {
		n, err := s.dispatch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n < s.opts.BatchSize {
			return
		}
	}
}

// TestStorm: 10,000 matching events in one minute, for two clients, give
// one message per route, rule and client in the throttle window, and one
// summary with the right count when the window ends.
func TestStorm(t *testing.T) {
	slow := newRoute("slow", "chat")
	slow.Continue = true
	fast := newRoute("fast", "siem")
	fast.Throttle = 5 * time.Minute
	s, clk := dispatcher(t, slow, fast)
	const events, perUpsert = 10000, 20
	clients := []string{"198.51.100.1", "198.51.100.2"}
	// The engine stores each alert again as its count grows: 500
	// updates per alert over 60 s, dispatched as they come.
	for i := perUpsert; i <= events; i += perUpsert {
		var batch []*event.Alert
		for j, c := range clients {
			batch = append(batch, testAlert(fmt.Sprintf("storm-%d", j), "auth.failed_login_burst", c, int64(i), t0.Add(time.Duration(i)*6*time.Millisecond)))
		}
		upsert(t, s.st, batch...)
		if i%(100*perUpsert) == 0 {
			clk.Add(12 * time.Second)
			dispatchAll(t, s)
		}
	}
	dispatchAll(t, s)
	rows := outbox(t, s.st)
	if len(rows) != 4 { // 2 routes x 2 clients
		for _, r := range rows {
			t.Logf("%s %s %s count %d", r.Route, r.Notifier, r.AlertID, r.Msg.Alert.Count)
		}
		t.Fatalf("%d messages during the storm minute, want 4", len(rows))
	}
	for _, r := range rows {
		if r.Msg.Held != nil || r.Kind != KindTrigger {
			t.Errorf("first message %+v", r)
		}
	}
	// The fast route's window ends: one summary per client, with the
	// alert's whole count and how many updates it stands for.
	clk.Add(5 * time.Minute)
	dispatchAll(t, s)
	rows = outbox(t, s.st)
	if len(rows) != 6 {
		t.Fatalf("%d messages after 6 minutes, want 6", len(rows))
	}
	for _, r := range rows[4:] {
		// 500 updates per alert: the first was sent, the other 499 are summarized.
		if r.Route != "fast" || r.Msg.Alert.Count != events || r.Msg.Held == nil || r.Msg.Held.Alerts != 1 ||
			r.Msg.Held.Changes != events/perUpsert-1 {
			t.Errorf("summary %s %s: count %d held %+v", r.Route, r.AlertID, r.Msg.Alert.Count, r.Msg.Held)
		}
	}
	// And the slow route's at 15 minutes.
	clk.Add(10 * time.Minute)
	dispatchAll(t, s)
	rows = outbox(t, s.st)
	if len(rows) != 8 {
		t.Fatalf("%d messages after 16 minutes, want 8", len(rows))
	}
	for _, r := range rows[6:] {
		if r.Route != "slow" || r.Msg.Alert.Count != events || r.Msg.Held == nil {
			t.Errorf("summary %s: count %d held %+v", r.Route, r.Msg.Alert.Count, r.Msg.Held)
		}
	}
	// Quiet afterwards: nothing more without new events.
	clk.Add(time.Hour)
	dispatchAll(t, s)
	if n := len(outbox(t, s.st)); n != 8 {
		t.Errorf("%d messages after an idle hour", n)
	}
	// A new alert of the same rule and client after the window: sent at once.
	upsert(t, s.st, testAlert("storm-next", "auth.failed_login_burst", clients[0], 6, t0.Add(2*time.Hour)))
	dispatchAll(t, s)
	if n := len(outbox(t, s.st)); n != 10 {
		t.Errorf("%d messages after a new alert, want 10", n)
	}
}

func TestThrottleCountsNewAlertsOfSameKey(t *testing.T) {
	s, clk := dispatcher(t, newRoute("r", "hook"))
	// Three alerts (three windows of the rule) for one client within 15 minutes.
	for i := range 3 {
		upsert(t, s.st, testAlert(fmt.Sprintf("w%d", i), "auth.failed_login_burst", "10.9.9.9", 6, t0.Add(time.Duration(i)*time.Minute)))
		dispatchAll(t, s)
		clk.Add(time.Minute)
	}
	clk.Add(15 * time.Minute)
	dispatchAll(t, s)
	rows := outbox(t, s.st)
	if len(rows) != 2 || rows[0].AlertID != "w0" || rows[1].AlertID != "w2" || rows[1].Msg.Held.Alerts != 2 || rows[1].Msg.Held.Changes != 2 {
		for _, r := range rows {
			t.Logf("%+v held %+v", r.AlertID, r.Msg.Held)
		}
		t.Errorf("want the first alert, then a summary of 2 more")
	}
}

func TestQuietHours(t *testing.T) {
	r := newRoute("night", "hook")
	r.Throttle = 0
	r.QuietHours = &config.QuietHours{Start: 22 * 60, End: 7 * 60, Location: time.UTC, Except: "critical"}
	s, clk := dispatcher(t, r)
	clk.t = time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC)
	high := testAlert("q1", "ddl.drop_table", "10.0.0.1", 1, clk.t)
	crit := testAlert("q2", "iam.user_created", "10.0.0.2", 1, clk.t)
	crit.Severity = event.SeverityCritical
	upsert(t, s.st, high, crit)
	dispatchAll(t, s)
	rows := outbox(t, s.st)
	if len(rows) != 1 || rows[0].AlertID != "q2" {
		t.Fatalf("in quiet hours: %+v, want only the critical alert", rows)
	}
	clk.Add(7 * time.Hour) // 06:00: still quiet
	dispatchAll(t, s)
	if n := len(outbox(t, s.st)); n != 1 {
		t.Fatalf("%d messages at 06:00", n)
	}
	clk.Add(time.Hour + time.Minute) // 07:01
	dispatchAll(t, s)
	rows = outbox(t, s.st)
	if len(rows) != 2 || rows[1].AlertID != "q1" || rows[1].Msg.Held == nil || !rows[1].Msg.Held.Quiet || rows[1].Msg.Held.Changes != 1 {
		t.Fatalf("after quiet hours: %+v", rows)
	}
}

func TestRouting(t *testing.T) {
	pager := config.Route{Name: "pager", Notifiers: []string{"pd"}, MinSeverity: "critical", Continue: true}
	iam := config.Route{Name: "iam", Notifiers: []string{"iamhook"}, Rules: []string{"iam.*"}, Servers: []string{"prod-*"}}
	tagged := config.Route{Name: "tagged", Notifiers: []string{"dbteam"}, Tags: []string{"ddl"}, Databases: []string{"shop"}}
	def := config.Route{Name: "default", Notifiers: []string{"chat"}}
	s, _ := dispatcher(t, pager, iam, tagged, def)
	mk := func(id, rule, sev, server, db string, tags ...string) *event.Alert {
		a := testAlert(id, rule, "10.0.0.1", 1, t0)
		a.Severity, a.Entity.Server, a.Entity.Database, a.Tags = sev, server, db, tags
		return a
	}
	upsert(t, s.st,
		mk("a", "iam.user_created", "critical", "prod-db1", "shop"),  // pager + iam
		mk("b", "iam.user_created", "high", "test-db1", "shop"),      // default (server does not match iam, no ddl tag)
		mk("c", "ddl.drop_table", "high", "prod-db1", "shop", "ddl"), // tagged
		mk("d", "ddl.drop_table", "low", "prod-db1", "hr", "ddl"),    // default (database)
	)
	dispatchAll(t, s)
	got := map[string]string{}
	for _, r := range outbox(t, s.st) {
		got[r.AlertID] += r.Route + ":" + r.Notifier + " "
	}
	want := map[string]string{"a": "pager:pd iam:iamhook ", "b": "default:chat ", "c": "tagged:dbteam ", "d": "default:chat "}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("alert %s went to %q, want %q", id, got[id], w)
		}
	}
}

// TestResolveOnlyWhereSent: a resolve goes to notifiers that send
// resolves and only for alerts they were sent; an ack is sent once.
func TestResolveOnlyWhereSent(t *testing.T) {
	r := newRoute("r", "hook")
	s, _ := dispatcher(t, r)
	ctx := context.Background()
	upsert(t, s.st, testAlert("x1", "ddl.drop_table", "10.0.0.1", 1, t0), testAlert("x2", "ddl.drop_table", "10.0.0.1", 1, t0))
	dispatchAll(t, s) // x1 sent, x2 throttled (same rule and key)
	for _, st := range []string{store.StatusAck, store.StatusAck, store.StatusResolved} {
		for _, id := range []string{"x1", "x2"} {
			if err := s.st.SetAlertStatus(ctx, id, st, "alice", ""); err != nil {
				t.Fatal(err)
			}
		}
		dispatchAll(t, s)
	}
	var kinds []string
	for _, r := range outbox(t, s.st) {
		kinds = append(kinds, r.AlertID+":"+r.Kind)
	}
	if fmt.Sprint(kinds) != "[x1:trigger x1:acknowledge x1:resolve]" {
		t.Errorf("outbox = %v", kinds)
	}
}

func TestFirstStartSkipsOldAlerts(t *testing.T) {
	st := openStore(t, t.TempDir())
	upsert(t, st, testAlert("old", "ddl.drop_table", "10.0.0.1", 1, t0))
	r := newRoute("r", "hook")
	s := mustNew(t, Config{Notifiers: []config.Notifier{webhookNotifierCfg("hook", "http://127.0.0.1:1/")}, Routes: []config.Route{r}}, st, fastOpts(nil))
	upsert(t, st, testAlert("new", "ddl.drop_table", "10.0.0.2", 1, t0))
	dispatchAll(t, s)
	rows := outbox(t, st)
	if len(rows) != 1 || rows[0].AlertID != "new" {
		t.Errorf("outbox = %+v", rows)
	}
}

// TestStormThroughEngine drives the built-in rule auth.failed_login_burst
// with 10,000 failed logins from one address in one minute, storing the
// alerts the engine raises and updates as the daemon does: one message
// in the window, then one summary with count 10,000.
func TestStormThroughEngine(t *testing.T) {
	rs, err := detect.Load(detect.FSSource("builtin", rules.Builtin))
	if err != nil {
		t.Fatal(err)
	}
	eng := detect.NewEngine(rs, detect.Options{})
	r := newRoute("brute", "chat")
	r.Rules = []string{"auth.failed_login_burst"}
	s, clk := dispatcher(t, r)
	const events = 10000
	for i := range events {
		ev := &event.Event{Time: t0.Add(time.Duration(i) * 6 * time.Millisecond)}
		ev.Event.Category, ev.Event.Action, ev.Event.Outcome = "authentication", "login_failed", "failure"
		ev.User.Name, ev.Client.Address, ev.Server.Address = "app", "198.51.100.9", "db1:5432"
		alerts := eng.Process(ev)
		if (i+1)%100 == 0 && len(alerts) > 0 {
			upsert(t, s.st, alerts...)
		}
		if (i+1)%1000 == 0 {
			clk.Add(6 * time.Second)
			dispatchAll(t, s)
		}
	}
	upsert(t, s.st, eng.Alerts()...)
	dispatchAll(t, s)
	if rows := outbox(t, s.st); len(rows) != 1 || rows[0].Msg.Alert.RuleID != "auth.failed_login_burst" {
		t.Fatalf("%d messages in the storm minute, want 1", len(rows))
	}
	clk.Add(15 * time.Minute)
	dispatchAll(t, s)
	rows := outbox(t, s.st)
	if len(rows) != 2 || rows[1].Msg.Alert.Count != events || rows[1].Msg.Held == nil {
		t.Fatalf("after the window: %d messages, last count %d held %+v", len(rows), rows[len(rows)-1].Msg.Alert.Count, rows[len(rows)-1].Msg.Held)
	}
}

func TestGroupKey(t *testing.T) {
	a := testAlert("g", "auth.password_spray", "10.0.0.1", 1, t0)
	a.Group = map[string]string{"client.address": "10.0.0.1", "db.namespace": "shop"}
	byAlert := &route{config.Route{}}
	byUser := &route{config.Route{GroupBy: []string{"user.name"}}}
	if k := byAlert.groupKey(a); k != "client.address=10.0.0.1\x1fdb.namespace=shop" {
		t.Errorf("default key = %q", k)
	}
	if k := byUser.groupKey(a); k != "user.name=mallory" {
		t.Errorf("user key = %q", k)
	}
}
