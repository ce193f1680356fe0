package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/config"
	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/notify"
	"github.com/vigildb/vigil/store"
)

func TestNotifyCommands(t *testing.T) {
	got := make(chan map[string]any, 4)
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		got <- m
	}))
	defer ok.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no_service", http.StatusNotFound)
	}))
	defer down.Close()
	dir := t.TempDir()
	t.Setenv("TEST_SLACK_URL", ok.URL+"/services/T0/B0/sl4cksecret")
	t.Setenv("TEST_BROKEN_URL", down.URL+"/services/T0/B0/br0kensecret")
	cfg := filepath.Join(dir, "vigil.yaml")
	os.WriteFile(cfg, []byte(`sources:
  - {name: pg, type: file, paths: [/var/log/postgresql/*.csv]}
alert_base_url: https://vigil.example.com
notifiers:
  - name: slack-sec
    type: slack
    url: ${env:TEST_SLACK_URL}
  - name: broken
    type: slack
    url: ${env:TEST_BROKEN_URL}
routes:
  - name: good
    notifiers: [slack-sec]
  - name: bad
    notifiers: [slack-sec, broken]
`), 0o600)

	out, errOut, code := run(t, "", "notify", "list", "-c", cfg)
	if code != 0 || !strings.Contains(out, "slack-sec (slack): url *** (from env TEST_SLACK_URL)") || strings.Contains(out, "sl4cksecret") {
		t.Errorf("notify list: exit %d\n%s%s", code, out, errOut)
	}

	out, errOut, code = run(t, "", "notify", "test", "good", "-c", cfg)
	if code != 0 || !strings.Contains(out, "slack-sec") || !strings.Contains(out, "ok") {
		t.Fatalf("notify test good: exit %d\n%s%s", code, out, errOut)
	}
	select {
	case m := <-got:
		if blocks, _ := m["blocks"].([]any); len(blocks) == 0 || !strings.Contains(m["text"].(string), "[TEST]") {
			t.Errorf("test message = %v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no test message")
	}

	out, errOut, code = run(t, "", "notify", "test", "bad", "-c", cfg)
	if code != 1 || !strings.Contains(out, "FAILED") || !strings.Contains(out, "404") || strings.Contains(out+errOut, "br0kensecret") {
		t.Errorf("notify test bad: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := run(t, "", "notify", "test", "nope", "-c", cfg); code != 2 || !strings.Contains(errOut, `no route "nope"`) {
		t.Errorf("unknown route: exit %d, %s", code, errOut)
	}
	if _, _, code := run(t, "", "notify", "test", "good"); code != 2 {
		t.Errorf("no -c: exit %d", code)
	}
}

// TestNotifyStateInAlertsShow: `vigil alerts show` lists the alert's
// deliveries per notifier.
func TestNotifyStateInAlertsShow(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := notify.New(notify.Config{
		Notifiers: []config.Notifier{{Name: "hook", Type: config.NotifierWebhook, URL: config.NewSecret(srv.URL)}},
		Routes:    []config.Route{{Name: "all", Notifiers: []string{"hook"}}},
	}, st, notify.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- svc.Run(ctx) }()
	now := time.Now().UTC()
	if err := st.UpsertAlerts(ctx, []*event.Alert{{ID: "n1", RuleID: "ddl.drop_table", Title: "Table dropped", Severity: "high",
		FirstTime: now, LastTime: now, Count: 1}}); err != nil {
		t.Fatal(err)
	}
	svc.Wake()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds, _ := notify.Deliveries(ctx, st, "n1")
		if len(ds) == 1 && ds[0].Status == "sent" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not delivered: %+v", ds)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	st.Close()
	out, errOut, code := run(t, "", "alerts", "show", "--data-dir", dir, "n1")
	if code != 0 || !strings.Contains(out, "Notifications:") || !strings.Contains(out, "hook") || !strings.Contains(out, "sent") {
		t.Errorf("alerts show: exit %d\n%s%s", code, out, errOut)
	}
	// The JSON form carries the alert (SPEC §3 fields at the top) and its deliveries.
	out, errOut, code = run(t, "", "alerts", "show", "--data-dir", dir, "--format", "json", "n1")
	var got struct {
		ID         string `json:"id"`
		RuleID     string `json:"rule_id"`
		Deliveries []struct {
			Notifier, Status string
		} `json:"deliveries"`
	}
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || got.ID != "n1" || got.RuleID == "" ||
		len(got.Deliveries) == 0 || got.Deliveries[0].Notifier != "hook" || got.Deliveries[0].Status != "sent" {
		t.Errorf("alerts show --format json: exit %d, %v\n%s%s", code, err, out, errOut)
	}
}
