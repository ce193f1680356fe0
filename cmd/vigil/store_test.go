package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/store"
)

// replayInto replays the demo log into dir and returns replay's NDJSON.
func replayInto(t *testing.T, dir string) string {
	t.Helper()
	out, errOut, code := run(t, "", "replay", "--format", "ndjson", "--learn-until", learnUntil(t), "--data-dir", dir, demoLog)
	if code != 0 {
		t.Fatalf("replay --data-dir: exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "store "+dir+":") {
		t.Errorf("replay summary does not mention the store:\n%s", errOut)
	}
	return out
}

func storedAlerts(t *testing.T, args ...string) []store.Alert {
	t.Helper()
	out, errOut, code := run(t, "", append([]string{"alerts", "list", "--format", "ndjson"}, args...)...)
	if code != 0 {
		t.Fatalf("alerts list %v: exit %d: %s", args, code, errOut)
	}
	var alerts []store.Alert
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var a store.Alert
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("alerts list: not JSON: %s", l)
		}
		alerts = append(alerts, a)
	}
	return alerts
}

func searchEvents(t *testing.T, args ...string) (string, []event.Event) {
	t.Helper()
	out, errOut, code := run(t, "", append([]string{"events", "search", "--format", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("events search %v: exit %d: %s", args, code, errOut)
	}
	var evs []event.Event
	if err := json.Unmarshal([]byte(out), &evs); err != nil {
		t.Fatalf("events search %v: not a JSON array: %v\n%s", args, err, out)
	}
	return out, evs
}

func eventCount(t *testing.T, dir string) int64 {
	t.Helper()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := st.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return s.Events
}

// TestReplayIntoStore replays the demo log into a data directory and
// investigates it with `vigil alerts` and `vigil events`.
func TestReplayIntoStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // created by replay
	replayed := replayInto(t, dir)
	var replayIDs []string
	var bruteforce string
	for _, l := range strings.Split(strings.TrimSpace(replayed), "\n") {
		var a event.Alert
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("replay: not JSON: %s", l)
		}
		replayIDs = append(replayIDs, a.ID)
		if a.RuleID == "auth.bruteforce_success" {
			bruteforce = a.ID
		}
	}
	if len(replayIDs) < 20 || bruteforce == "" {
		t.Fatalf("replay gave %d alerts, bruteforce %q", len(replayIDs), bruteforce)
	}
	events := eventCount(t, dir)
	if events < 200 {
		t.Fatalf("%d events stored", events)
	}
	dd := "--data-dir=" + dir

	t.Run("list", func(t *testing.T) {
		all := storedAlerts(t, dd, "--limit", "0")
		var ids []string
		for _, a := range all {
			ids = append(ids, a.ID)
			if a.Status != store.StatusOpen {
				t.Errorf("%s: status %q, want open", a.ID, a.Status)
			}
		}
		slices.Sort(ids)
		want := slices.Clone(replayIDs)
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Errorf("stored alert ids differ from replay's:\n%v\n%v", ids, want)
		}
		crit := storedAlerts(t, dd, "--severity", "critical")
		if len(crit) == 0 || len(crit) >= len(all) {
			t.Errorf("--severity critical: %d of %d alerts", len(crit), len(all))
		}
		for _, a := range crit {
			if a.Severity != event.SeverityCritical {
				t.Errorf("--severity critical listed a %s alert", a.Severity)
			}
		}
		if got := storedAlerts(t, dd, "--rule", "auth.bruteforce_success"); len(got) != 1 || got[0].ID != bruteforce {
			t.Errorf("--rule auth.bruteforce_success: %v", got)
		}
		if got := storedAlerts(t, dd, "--limit", "3"); len(got) != 3 {
			t.Errorf("--limit 3: %d alerts", len(got))
		}
		// Nothing started before the demo, or 100 years ago.
		for _, until := range []string{"2026-11-25T11:00:00Z", "36500d"} {
			if got := storedAlerts(t, dd, "--until", until); len(got) != 0 {
				t.Errorf("--until %s: %d alerts", until, len(got))
			}
		}
		if got := storedAlerts(t, dd, "--since", "2026-11-25T11:00:00Z", "--until", "2026-11-25 12:00:00"); len(got) != min(len(all), 100) {
			t.Errorf("--since/--until around the demo: %d alerts", len(got))
		}
		out, _, code := run(t, "", "alerts", "list", dd, "--format", "table")
		if code != 0 || !strings.Contains(out, "STATUS") || !strings.Contains(out, bruteforce) {
			t.Errorf("table: exit %d\n%s", code, out)
		}
	})

	t.Run("show", func(t *testing.T) {
		out, errOut, code := run(t, "", "alerts", "show", dd, bruteforce)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for _, s := range []string{bruteforce, "auth.bruteforce_success", "status    open", "T1110", "Mitigation:", "History:",
			"Evidence (7 events", "login_failed (failure)", "authentication/login (success)", "user=ops_admin", "password authentication failed"} {
			if !strings.Contains(out, s) {
				t.Errorf("show lacks %q:\n%s", s, out)
			}
		}
		out, _, code = run(t, "", "alerts", "show", dd, "--format", "json", bruteforce)
		var a store.Alert
		if code != 0 || json.Unmarshal([]byte(out), &a) != nil || a.ID != bruteforce || len(a.Evidence) != 7 || len(a.History) != 1 {
			t.Errorf("show --format json: exit %d\n%s", code, out)
		}
	})

	t.Run("ack", func(t *testing.T) {
		out, errOut, code := run(t, "", "alerts", "ack", dd, bruteforce, "--note", "calling ops", "--by", "alice")
		if code != 0 || !strings.Contains(out, "open -> ack") {
			t.Fatalf("ack: exit %d: %s %s", code, out, errOut)
		}
		acked := storedAlerts(t, dd, "--status", "ack")
		if len(acked) != 1 || acked[0].ID != bruteforce || acked[0].StatusBy != "alice" || acked[0].StatusNote != "calling ops" {
			t.Errorf("--status ack: %+v", acked)
		}
		out, _, _ = run(t, "", "alerts", "show", dd, bruteforce)
		if !strings.Contains(out, "open -> ack") || !strings.Contains(out, "alice") || !strings.Contains(out, "calling ops") {
			t.Errorf("show lacks the history entry:\n%s", out)
		}
		t.Setenv("USER", "bob")
		if _, errOut, code := run(t, "", "alerts", "resolve", dd, bruteforce); code != 0 {
			t.Fatalf("resolve: exit %d: %s", code, errOut)
		}
		if got := storedAlerts(t, dd, "--status", "resolved"); len(got) != 1 || got[0].StatusBy != "bob" {
			t.Errorf("resolved (by $USER): %+v", got)
		}
		if got := storedAlerts(t, dd, "--status", "ack"); len(got) != 0 {
			t.Errorf("still ack: %d", len(got))
		}
	})

	t.Run("search", func(t *testing.T) {
		_, evs := searchEvents(t, dd, "--user", "ops_admin", "--limit", "0")
		if len(evs) < 10 {
			t.Fatalf("--user ops_admin: %d events", len(evs))
		}
		for _, ev := range evs {
			if ev.User.Name != "ops_admin" {
				t.Errorf("--user ops_admin returned an event of %q", ev.User.Name)
			}
		}
		if !slices.IsSortedFunc(evs, func(a, b event.Event) int { return a.Time.Compare(b.Time) }) {
			t.Error("events not in time order")
		}
		_, some := searchEvents(t, dd, "--user", "ops_admin", "--limit", "5")
		if len(some) != 5 || !some[4].Time.Equal(evs[len(evs)-1].Time) {
			t.Errorf("--limit 5: %d events, want the latest 5", len(some))
		}
		_, failed := searchEvents(t, dd, "--client", "127.0.0.2", "--category", "authentication", "--action", "login_failed")
		if len(failed) != 6 {
			t.Errorf("failed logins from 127.0.0.2: %d", len(failed))
		}
		_, drops := searchEvents(t, dd, "--operation", "drop table", "--database", "shop")
		if len(drops) == 0 {
			t.Error("--operation 'drop table' found nothing")
		}
		for _, ev := range drops {
			if ev.DB.Operation.Name != "DROP TABLE" {
				t.Errorf("--operation 'drop table' returned %q", ev.DB.Operation.Name)
			}
		}
		out, _, code := run(t, "", "events", "search", dd, "--user", "ops_admin", "--format", "table")
		if code != 0 || !strings.HasPrefix(out, "TIME (UTC)") || !strings.Contains(out, "CATEGORY/ACTION") {
			t.Errorf("table: exit %d\n%s", code, out)
		}
	})

	t.Run("around", func(t *testing.T) {
		_, evs := searchEvents(t, dd, "--around", bruteforce, "--window", "10m")
		var failed, success int
		for _, ev := range evs {
			if ev.Client.Address == "127.0.0.2" && ev.Event.Action == event.ActionLoginFailed {
				failed++
			}
			if ev.Client.Address == "127.0.0.2" && ev.Event.Action == event.ActionLogin && ev.Event.Outcome == event.OutcomeSuccess {
				success++
			}
		}
		if failed != 6 || success < 1 {
			t.Errorf("--around: %d failed logins, %d successes among %d events", failed, success, len(evs))
		}
		if _, errOut, code := run(t, "", "events", "search", dd, "--around", "nosuchalert"); code != 1 || !strings.Contains(errOut, "no alert nosuchalert") {
			t.Errorf("--around unknown: exit %d: %s", code, errOut)
		}
	})

	t.Run("masked", func(t *testing.T) {
		var all strings.Builder
		for _, text := range []string{"SECRET", "password", "pgp_sym_encrypt", "dblink"} {
			out, evs := searchEvents(t, dd, "--text", text, "--limit", "0")
			all.WriteString(out)
			for _, ev := range evs {
				if strings.Contains(ev.DB.Query.Text, "Zq9-SECRET") {
					t.Errorf("stored in clear: %s", ev.DB.Query.Text)
				}
			}
		}
		out, evs := searchEvents(t, dd, "--limit", "0")
		all.WriteString(out)
		if int64(len(evs)) != events {
			t.Errorf("--limit 0: %d of %d events", len(evs), events)
		}
		if strings.Contains(all.String(), "Zq9-SECRET") {
			t.Error("a secret of the demo log was stored")
		}
		for _, name := range []string{store.FileName, store.FileName + "-wal"} {
			db, err := os.ReadFile(filepath.Join(dir, name))
			if err == nil && strings.Contains(string(db), "Zq9-SECRET") {
				t.Errorf("a secret of the demo log is in %s", name)
			}
		}
	})

	t.Run("replay again", func(t *testing.T) {
		again := replayInto(t, dir)
		if again != replayed {
			t.Error("the second replay printed other alerts")
		}
		if n := eventCount(t, dir); n != events {
			t.Errorf("second replay: %d events stored, want %d", n, events)
		}
		all := storedAlerts(t, dd, "--limit", "0")
		if len(all) != len(replayIDs) {
			t.Errorf("second replay: %d alerts stored, want %d", len(all), len(replayIDs))
		}
		// The analyst's status survives a replay.
		if got := storedAlerts(t, dd, "--status", "resolved"); len(got) != 1 || got[0].ID != bruteforce {
			t.Errorf("status lost by the second replay: %+v", got)
		}
	})
}

func TestStoreCommandErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nothing-here")
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"alerts", "list", "--data-dir", missing}, 1, "no Vigil data in " + missing + ": run `vigil replay --data-dir " + missing},
		{[]string{"events", "search", "--data-dir", missing}, 1, "no Vigil data in"},
		{[]string{"alerts", "show", "--data-dir", missing, "x"}, 1, "no Vigil data in"},
		{[]string{"alerts", "list", "--since", "yesterday"}, 2, "--since"},
		{[]string{"alerts", "list", "--severity", "bad"}, 2, "--severity"},
		{[]string{"alerts", "list", "--status", "closed"}, 2, "--status"},
		{[]string{"alerts", "list", "--limit", "-1"}, 2, "--limit"},
		{[]string{"alerts", "list", "--format", "xml"}, 2, "--format"},
		{[]string{"alerts", "show"}, 2, "alert ID"},
		{[]string{"alerts", "ack", "a", "b"}, 2, "alert ID"},
		{[]string{"events", "search", "--around", "x", "--user", "u"}, 2, "--around"},
		{[]string{"events", "search", "--window", "5m"}, 2, "--around"},
		{[]string{"events", "search", "--until", "soon"}, 2, "--until"},
	}
	for _, tc := range tests {
		_, errOut, code := run(t, "", tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) {
			t.Errorf("%v: exit %d (want %d), %q (want %q)", tc.args, code, tc.code, errOut, tc.msg)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("a reading command created the data directory")
	}

	// A data dir that cannot be created.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	_, errOut, code := run(t, "", "replay", "--format", "ndjson", "--data-dir", filepath.Join(file, "sub"), demoLog)
	if code != 1 || !strings.Contains(errOut, "store "+filepath.Join(file, "sub")+":") {
		t.Errorf("uncreatable data dir: exit %d: %s", code, errOut)
	}

	// An unknown alert id.
	dir := t.TempDir()
	replayInto(t, dir)
	for _, verb := range []string{"show", "ack", "resolve"} {
		if _, errOut, code := run(t, "", "alerts", verb, "--data-dir", dir, "0123"); code != 1 || !strings.Contains(errOut, "no alert 0123 in "+dir) {
			t.Errorf("%s unknown: exit %d: %s", verb, code, errOut)
		}
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                     {},
		"1h":                   now.Add(-time.Hour),
		"90m":                  now.Add(-90 * time.Minute),
		"2d":                   now.Add(-48 * time.Hour),
		"0.5d":                 now.Add(-12 * time.Hour),
		"2026-11-20T00:00:00Z": time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
		"2026-11-20 08:30:00":  time.Date(2026, 11, 20, 8, 30, 0, 0, time.UTC),
	} {
		got, err := parseWhen("since", in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"-1h", "d", "xd", "-2d", "yesterday", "1y"} {
		if _, err := parseWhen("since", bad, now); err == nil {
			t.Errorf("parseWhen(%q): no error", bad)
		}
	}
}
