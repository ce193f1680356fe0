package notify

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/config"
	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/store"
)

const slackPath = "/services/T000/B000/XXXXsecrettokenXXXX"

// TestHTTPNotifiersEndToEnd raises an alert and resolves it, through the
// dispatcher, the outbox and the senders, and checks the payload each
// service documents.
func TestHTTPNotifiersEndToEnd(t *testing.T) {
	slack := newReceiver(t, nil)
	teams := newReceiver(t, nil)
	pd := newReceiver(t, nil)
	hook := newReceiver(t, nil)
	ndjsonPath := filepath.Join(t.TempDir(), "alerts.ndjson")
	const hmacKey = "0123456789abcdef-hmac-key"
	cfg := Config{
		BaseURL: "https://vigil.example.com/ui",
		Notifiers: []config.Notifier{
			{Name: "slack-sec", Type: config.NotifierSlack, URL: config.NewSecret(slack.srv.URL + slackPath)},
			{Name: "teams-sec", Type: config.NotifierTeams, URL: config.NewSecret(teams.srv.URL + "/workflows/abc?sig=teamssecret")},
			{Name: "pager", Type: config.NotifierPagerDuty, URL: config.NewSecret(pd.srv.URL + "/v2/enqueue"), RoutingKey: config.NewSecret("R0UTINGKEY0123456789")},
			{Name: "soar", Type: config.NotifierWebhook, URL: config.NewSecret(hook.srv.URL + "/hook"), HMACSecret: config.NewSecret(hmacKey),
				Headers: []config.Header{{Name: "Authorization", Value: config.NewSecret("Bearer hooktoken")}}},
			{Name: "file", Type: config.NotifierNDJSON, Path: ndjsonPath},
		},
		Routes: []config.Route{newRoute("all", "slack-sec", "teams-sec", "pager", "soar", "file")},
	}
	st := openStore(t, t.TempDir())
	logs := &syncBuf{}
	s := mustNew(t, cfg, st, fastOpts(logs))
	runService(t, s)

	a := testAlert("a1", "ddl.drop_table", "203.0.113.7", 1, t0)
	a.Evidence = append(a.Evidence, event.Event{}, event.Event{}, event.Event{})
	for i := 1; i < 4; i++ {
		a.Evidence[i].DB.Query.Text = "DROP TABLE t" + strings.Repeat("x", i)
	}
	upsert(t, st, a)
	s.Wake()

	// Slack: Block Kit.
	var sm struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text *struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"text"`
			Fields []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"fields"`
			Elements []map[string]any `json:"elements"`
		} `json:"blocks"`
	}
	got := slack.wait(t, 1)[0]
	if got.Path != slackPath || got.Header.Get("Content-Type") != "application/json" {
		t.Errorf("slack request: path %s, content type %s", got.Path, got.Header.Get("Content-Type"))
	}
	if err := json.Unmarshal(got.Body, &sm); err != nil {
		t.Fatal(err)
	}
	types := []string{}
	for _, b := range sm.Blocks {
		types = append(types, b.Type)
	}
	if strings.Join(types, ",") != "header,section,section,section,section,section,actions,context" {
		t.Errorf("slack block types = %v", types)
	}
	h := sm.Blocks[0]
	if h.Text.Type != "plain_text" || h.Text.Text != "[HIGH] Table dropped" || !strings.Contains(sm.Text, "Table dropped") {
		t.Errorf("slack header = %+v, text %q", h.Text, sm.Text)
	}
	fields := map[string]string{}
	for _, f := range sm.Blocks[2].Fields {
		name, val, _ := strings.Cut(strings.TrimPrefix(f.Text, "*"), "*\n")
		fields[name] = val
		if f.Type != "mrkdwn" {
			t.Errorf("field type %s", f.Type)
		}
	}
	if len(sm.Blocks[2].Fields) > 10 || fields["Severity"] != "high" || fields["Rule"] != "ddl.drop_table" ||
		fields["MITRE ATT&amp;CK"] != "TA0040 Impact / T1485 Data Destruction" || fields["Server"] != "db1:5432" ||
		fields["Database"] != "shop" || fields["User"] != "mallory" || fields["Client IP"] != "203.0.113.7" ||
		fields["Application"] != "psql" || fields["Count"] != "1" {
		t.Errorf("slack fields = %v", fields)
	}
	if ev := sm.Blocks[3].Text.Text; !strings.Contains(ev, "```DROP TABLE customers```") || !strings.Contains(ev, "and more") {
		t.Errorf("slack evidence = %q", ev)
	}
	if sm.Blocks[4].Text.Text != "*Impact*\nData is gone." || sm.Blocks[5].Text.Text != "*What to do*\nRestore from backup." {
		t.Errorf("slack impact/mitigation = %q / %q", sm.Blocks[4].Text.Text, sm.Blocks[5].Text.Text)
	}
	if btn := sm.Blocks[6].Elements[0]; btn["type"] != "button" || btn["url"] != "https://vigil.example.com/ui/alerts/a1" {
		t.Errorf("slack button = %v", btn)
	}

	// Teams: an Adaptive Card 1.4 in a message envelope.
	var tm struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string `json:"contentType"`
			Content     struct {
				Type    string           `json:"type"`
				Version string           `json:"version"`
				Schema  string           `json:"$schema"`
				Body    []map[string]any `json:"body"`
				Actions []map[string]any `json:"actions"`
			} `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(teams.wait(t, 1)[0].Body, &tm); err != nil {
		t.Fatal(err)
	}
	if tm.Type != "message" || len(tm.Attachments) != 1 || tm.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" {
		t.Fatalf("teams envelope = %+v", tm)
	}
	card := tm.Attachments[0].Content
	if card.Type != "AdaptiveCard" || card.Version != "1.4" || card.Schema != "http://adaptivecards.io/schemas/adaptive-card.json" {
		t.Errorf("teams card = %+v", card)
	}
	if card.Body[0]["type"] != "TextBlock" || card.Body[0]["text"] != "[HIGH] Table dropped" || card.Body[2]["type"] != "FactSet" {
		t.Errorf("teams body = %v", card.Body[:3])
	}
	if len(card.Actions) != 1 || card.Actions[0]["type"] != "Action.OpenUrl" || card.Actions[0]["url"] != "https://vigil.example.com/ui/alerts/a1" {
		t.Errorf("teams actions = %v", card.Actions)
	}

	// PagerDuty: Events API v2 trigger with dedup_key = alert id.
	var pe struct {
		RoutingKey  string `json:"routing_key"`
		EventAction string `json:"event_action"`
		DedupKey    string `json:"dedup_key"`
		Payload     *struct {
			Summary, Source, Severity, Timestamp, Component, Group, Class string
			CustomDetails                                                 map[string]any `json:"custom_details"`
		} `json:"payload"`
		Links []struct{ Href, Text string } `json:"links"`
	}
	if err := json.Unmarshal(pd.wait(t, 1)[0].Body, &pe); err != nil {
		t.Fatal(err)
	}
	if pe.RoutingKey != "R0UTINGKEY0123456789" || pe.EventAction != "trigger" || pe.DedupKey != "a1" || pe.Payload == nil {
		t.Fatalf("pagerduty event = %+v", pe)
	}
	p := pe.Payload
	if p.Severity != "error" || p.Source != "db1:5432" || p.Component != "shop" || p.Group != "ddl.drop_table" ||
		p.Timestamp != "2026-11-25T10:00:00Z" || !strings.Contains(p.Summary, "Table dropped") || p.CustomDetails["rule_id"] != "ddl.drop_table" ||
		len(pe.Links) != 1 || pe.Links[0].Href != "https://vigil.example.com/ui/alerts/a1" {
		t.Errorf("pagerduty payload = %+v links %v", p, pe.Links)
	}

	// Webhook: the alert JSON, signed.
	wr := hook.wait(t, 1)[0]
	sig := wr.Header.Get("X-Vigil-Signature")
	if err := VerifySignature([]byte(hmacKey), sig, wr.Body, time.Now(), 5*time.Minute); err != nil {
		t.Errorf("signature %q: %v", sig, err)
	}
	if err := VerifySignature([]byte("wrong-key-wrong-key"), sig, wr.Body, time.Now(), 5*time.Minute); err == nil {
		t.Error("signature verifies with a wrong key")
	}
	if wr.Header.Get("Authorization") != "Bearer hooktoken" || wr.Header.Get("X-Vigil-Event") != "trigger" {
		t.Errorf("webhook headers = %v", wr.Header)
	}
	var doc map[string]any
	if err := json.Unmarshal(wr.Body, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "rule_id", "title", "severity", "mitre", "first_time", "last_time", "count", "group", "entity", "evidence", "status", "url", "delivery"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("webhook body lacks %q: %s", k, wr.Body)
		}
	}
	del := doc["delivery"].(map[string]any)
	if del["id"] != wr.Header.Get("X-Vigil-Delivery") || del["kind"] != "trigger" || del["route"] != "all" || doc["id"] != "a1" {
		t.Errorf("webhook delivery = %v, header %s", del, wr.Header.Get("X-Vigil-Delivery"))
	}

	// Resolve: PagerDuty and the webhook hear of it, Slack and Teams do not.
	if err := st.SetAlertStatus(context.Background(), "a1", store.StatusResolved, "alice", "dropped by the migration"); err != nil {
		t.Fatal(err)
	}
	s.Wake()
	pe.Payload, pe.Links = nil, nil
	if err := json.Unmarshal(pd.wait(t, 1)[0].Body, &pe); err != nil {
		t.Fatal(err)
	}
	if pe.EventAction != "resolve" || pe.DedupKey != "a1" || pe.RoutingKey != "R0UTINGKEY0123456789" || pe.Payload != nil {
		t.Errorf("pagerduty resolve = %+v", pe)
	}
	if r := hook.wait(t, 1)[0]; r.Header.Get("X-Vigil-Event") != "resolve" || r.Header.Get("X-Vigil-Delivery") == wr.Header.Get("X-Vigil-Delivery") {
		t.Errorf("webhook resolve headers = %v", r.Header)
	}
	slack.none(t, st)
	teams.none(t, st)

	// NDJSON: one alert document per line, trigger then resolve.
	waitFor(t, "ndjson lines", func() bool {
		b, _ := os.ReadFile(ndjsonPath)
		return strings.Count(string(b), "\n") == 2
	})
	f, _ := os.Open(ndjsonPath)
	defer f.Close()
	sc := bufio.NewScanner(f)
	var kinds []string
	for sc.Scan() {
		var d AlertDocument
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		if d.ID != "a1" || d.RuleID != "ddl.drop_table" {
			t.Errorf("ndjson line = %s", sc.Bytes())
		}
		kinds = append(kinds, d.Delivery.Kind)
	}
	if strings.Join(kinds, ",") != "trigger,resolve" {
		t.Errorf("ndjson kinds = %v", kinds)
	}

	// Delivery state per notifier, for `vigil alerts show`.
	ds, err := Deliveries(context.Background(), st, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 8 {
		t.Errorf("deliveries = %+v", ds)
	}
	for _, d := range ds {
		if d.Status != "sent" || d.Attempts != 1 {
			t.Errorf("delivery %+v", d)
		}
	}
	// No secret in the logs.
	for _, sec := range []string{"XXXXsecrettokenXXXX", "teamssecret", "R0UTINGKEY", hmacKey, "hooktoken"} {
		if strings.Contains(logs.String(), sec) {
			t.Errorf("log holds secret %q", sec)
		}
	}
}

func TestWebhookSignatureAlgorithm(t *testing.T) {
	// The documented algorithm: hex(HMAC-SHA256(key, "<t>.<body>")); the
	// value was computed with Python's hmac module.
	got := Signature([]byte("key"), time.Unix(1700000000, 0), []byte(`{"a":1}`))
	const want = "t=1700000000,v1=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
	if got != want {
		t.Fatalf("Signature = %q", got)
	}
	if err := VerifySignature([]byte("key"), got, []byte(`{"a":1}`), time.Unix(1700000100, 0), 5*time.Minute); err != nil {
		t.Error(err)
	}
	if err := VerifySignature([]byte("key"), got, []byte(`{"a":2}`), time.Unix(1700000100, 0), 5*time.Minute); err == nil {
		t.Error("tampered body verifies")
	}
	if err := VerifySignature([]byte("key"), got, []byte(`{"a":1}`), time.Unix(1700001000, 0), 5*time.Minute); err == nil {
		t.Error("old signature verifies")
	}
}
