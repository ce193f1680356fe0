package pipeline

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
	_ "github.com/vigildb/vigil/parse/azure" // the azure input format
)

// TestAzureReplay replays the Azure samples (MySQL flexible server audit and
// slow logs as a pretty-printed records document, PostgreSQL flexible server
// logs as NDJSON, Cosmos DB resource logs as Event Hubs message bodies, the
// Activity Log as NDJSON) in one run, as `vigil replay testdata/azure/*`
// does, and checks the alerts each rule of the Azure story raises.
func TestAzureReplay(t *testing.T) {
	paths, err := filepath.Glob("../testdata/azure/*")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no Azure samples: %v", err)
	}
	sort.Strings(paths)
	var inputs []Input
	for _, p := range paths {
		// every sample is detected as azure among all registered formats
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 64<<10 {
			b = b[:64<<10]
		}
		if f, ok := parse.Detect(b); !ok || f.Name != "azure" {
			t.Errorf("%s detected as %q", p, f.Name)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		inputs = append(inputs, Input{Name: filepath.Base(p), R: f, Size: -1})
	}
	var events []*event.Event
	opts := Options{OnEvent: func(ev *event.Event) { events = append(events, ev) }}
	res, err := Replay(context.Background(), opts, inputs...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != "azure" {
		t.Errorf("format detected as %q, want azure", res.Format)
	}
	for _, u := range res.Unparsed {
		t.Errorf("unparsed %s:%d: %s", u.File, u.Line, u.Reason)
	}

	const (
		pgServer = "/SUBSCRIPTIONS/6B1D2C3A-0F4E-4B5A-9C8D-7E6F5A4B3C2D/RESOURCEGROUPS/RG-DATA/PROVIDERS/MICROSOFT.DBFORPOSTGRESQL/FLEXIBLESERVERS/PG-ORDERS-PROD"
		myServer = "/SUBSCRIPTIONS/6B1D2C3A-0F4E-4B5A-9C8D-7E6F5A4B3C2D/RESOURCEGROUPS/RG-DATA/PROVIDERS/MICROSOFT.DBFORMYSQL/FLEXIBLESERVERS/MYSQL-SHOP-PROD"
		cosmos   = "/SUBSCRIPTIONS/6B1D2C3A-0F4E-4B5A-9C8D-7E6F5A4B3C2D/RESOURCEGROUPS/RG-DATA/PROVIDERS/MICROSOFT.DOCUMENTDB/DATABASEACCOUNTS/COSMOS-CATALOG-PROD"
	)
	type want struct {
		rule  string
		group map[string]string
	}
	for _, w := range []want{
		{"azure.cosmos.keys_viewed", map[string]string{"server.address": cosmos, "user.name": "mallory@contoso.example"}},
		{"azure.cosmos.connection_strings_viewed", map[string]string{"server.address": cosmos}},
		{"azure.cosmos.deletion_protection_disabled", map[string]string{"server.address": cosmos}},
		{"azure.cosmos.backup_deleted", nil},
		{"azure.cosmos.item_deleted", map[string]string{"server.address": cosmos, "client.address": "185.220.101.34"}},
		{"defense_evasion.audit_disabled", map[string]string{"server.address": cosmos}},
		// failed logins on Azure PostgreSQL (client from the %c session's connection line) and MySQL
		{"auth.failed_login_burst", map[string]string{"client.address": "203.0.113.50"}},
		{"auth.failed_login_burst", map[string]string{"client.address": "198.51.100.23"}},
		{"auth.password_spray", map[string]string{"client.address": "203.0.113.50"}},
		{"auth.password_spray", map[string]string{"client.address": "198.51.100.23"}},
		{"auth.bruteforce_success", map[string]string{"client.address": "203.0.113.50"}},
		{"auth.bruteforce_success", map[string]string{"client.address": "198.51.100.23"}},
		{"errors.burst_from_ip", map[string]string{"client.address": "198.51.100.77"}},
		{"errors.burst_from_ip", map[string]string{"client.address": "198.51.100.23"}},
		// Cosmos containers: through the data plane (key) and through ARM (Activity Log)
		{"ddl.tables_created_burst", map[string]string{"user.name": "PrimaryMasterKey"}},
		{"ddl.tables_created_burst", map[string]string{"user.name": "mallory@contoso.example"}},
		{"exfil.large_read_bytes", map[string]string{"user.name": "PrimaryMasterKey", "client.address": "185.220.101.34"}},
		{"sqli.suspected", map[string]string{"user.name": "PrimaryMasterKey", "client.address": "185.220.101.34"}},
		{"logs.absent", map[string]string{"server.address": myServer}},
	} {
		found := false
		for _, a := range res.Alerts {
			if a.RuleID != w.rule {
				continue
			}
			ok := true
			for k, v := range w.group {
				if a.Group[k] != v {
					ok = false
				}
			}
			if ok {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no %s alert with group %v", w.rule, w.group)
		}
	}
	for _, a := range res.Alerts {
		if a.RuleID == "logs.absent" && a.Group["server.address"] != myServer {
			t.Errorf("unexpected logs.absent %v", a.Group)
		}
	}
	if t.Failed() {
		for _, k := range alertKeys(res.Alerts) {
			t.Log(k)
		}
	}

	// masked everywhere, and the joins did their work
	raw, _ := json.Marshal(events)
	if strings.Contains(string(raw), "S3cret") {
		t.Error("a MySQL password from sql_text reached the events")
	}
	var pgFailed, joined int
	for _, ev := range events {
		if ev.Server.Address == pgServer && ev.Event.Action == event.ActionLoginFailed {
			pgFailed++
			if ev.Client.Address != "203.0.113.50" || ev.DB.Response.StatusCode != "28P01" || ev.Error.Detail == "" {
				t.Errorf("Azure PostgreSQL failed login without its session's client, code or detail: %+v", ev)
			}
		}
		if ev.DB.System.Name == "cosmosdb" && ev.DB.Query.Text != "" && ev.Client.Address != "" {
			joined++
		}
	}
	if pgFailed != 6 {
		t.Errorf("%d Azure PostgreSQL failed logins, want 6", pgFailed)
	}
	if joined != 3 {
		t.Errorf("%d Cosmos queries joined with their request, want 3", joined)
	}
}

// TestAzureRuleFixtures runs rules/tests/azure.yaml here too, where the
// azure format is registered by this package's import.
func TestAzureRuleFixtures(t *testing.T) {
	rs, err := LoadRules(nil)
	if err != nil {
		t.Fatal(err)
	}
	results, err := RunRuleTests(context.Background(), rs, TestSource{Path: "../rules/tests/azure.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) == 0 {
		t.Fatal("no Azure fixtures ran")
	}
	for _, r := range results {
		if !r.Passed() {
			t.Errorf("%s: %s", r.File, r.Name)
			for _, f := range r.Failures {
				t.Logf("    %s", f)
			}
		}
	}
}
