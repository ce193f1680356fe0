package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigildb/vigil/internal/pgtest"
)

const azDir = "../../posture/testdata/azure/"

func azArgs(files ...string) []string {
	var a []string
	for _, f := range files {
		a = append(a, "--azure-resource", azDir+f)
	}
	return a
}

var (
	azWeak = azArgs("cosmos-weak.json", "cosmos-atp.json", "pg-weak.json", "pg-weak-params.json", "pg-weak-firewall.json",
		"mysql-weak.json", "mysql-weak-params.json", "mysql-weak-firewall.json", "pricing-free.json")
	azHard = azArgs("cosmos-hardened.json", "cosmos-atp.json", "cosmos-diagnostics.json", "pg-hardened.json", "pg-hardened-params.json",
		"pg-hardened-diagnostics.json", "pg-hardened-admins.json", "mysql-hardened-admins.json", "mysql-hardened.json", "mysql-hardened-params.json", "mysql-hardened-diagnostics.json", "pricing-standard.json")
)

func scanArgs(extra []string, args ...string) []string {
	return append(append([]string{"scan"}, args...), extra...)
}

func TestScanListChecks(t *testing.T) {
	out, errOut, code := run(t, "", "scan", "--list-checks", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var checks []map[string]any
	if err := json.Unmarshal([]byte(out), &checks); err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	ids := map[string]bool{}
	for _, c := range checks {
		n[c["engine"].(string)]++
		id := c["id"].(string)
		if ids[id] {
			t.Errorf("duplicate check id %s", id)
		}
		ids[id] = true
		for _, k := range []string{"title", "severity", "expected", "why", "fix"} {
			if s, _ := c[k].(string); s == "" {
				t.Errorf("%s: empty %s", id, k)
			}
		}
		if refs, _ := c["references"].([]any); len(refs) == 0 {
			t.Errorf("%s: no references", id)
		}
	}
	azure := n["azure-cosmosdb"] + n["azure-postgres-flexible"] + n["azure-mysql-flexible"]
	if n["postgres"] < 95 || n["mysql"] < 45 || azure < 35 || n["azure-cosmosdb"] < 15 {
		t.Errorf("catalog too small: %v", n)
	}
	t.Logf("checks: postgres %d, mysql/mariadb %d, azure %d (cosmos %d)", n["postgres"], n["mysql"], azure, n["azure-cosmosdb"])
}

// TestScanDocsCatalog keeps the catalog in docs/posture.md generated from
// the code. VIGIL_UPDATE_DOCS=1 rewrites it.
func TestScanDocsCatalog(t *testing.T) {
	out, _, code := run(t, "", "scan", "--list-checks", "--format", "markdown")
	if code != 0 {
		t.Fatal(code)
	}
	const path = "../../docs/posture.md"
	const begin, end = "<!-- BEGIN CHECKS (generated: vigil scan --list-checks --format markdown) -->\n", "<!-- END CHECKS -->"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the catalog markers", path)
	}
	cur := doc[i+len(begin) : j]
	if cur == out {
		return
	}
	if os.Getenv("VIGIL_UPDATE_DOCS") != "" {
		if err := os.WriteFile(path, []byte(doc[:i+len(begin)]+out+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: the check catalog is out of date; run VIGIL_UPDATE_DOCS=1 go test ./cmd/vigil -run TestScanDocsCatalog", path)
}

func TestScanFailOn(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"weak fails high", scanArgs(azWeak, "--format", "json", "--fail-on", "high"), 3},
		{"weak fails critical", scanArgs(azWeak, "--format", "json", "--fail-on", "critical"), 3},
		{"hardened passes high", scanArgs(azHard, "--format", "json", "--fail-on", "high"), 0},
		{"hardened, no --fail-on", scanArgs(azHard), 0},
		{"weak, no --fail-on", scanArgs(azWeak), 0},
		{"bad severity", scanArgs(azWeak, "--fail-on", "bogus"), 2},
		{"bad format", scanArgs(azWeak, "--format", "xml"), 2},
		{"nothing to scan", []string{"scan"}, 2},
		{"unknown engine", []string{"scan", "oracle://u:pw@h/db"}, 2},
		{"both targets", scanArgs(azWeak, "postgres://u@h/db"), 2},
		{"bad json", []string{"scan", "--azure-resource", "scan_test.go"}, 1},
		{"missing file", []string{"scan", "--azure-resource", "/nonexistent.json"}, 1},
		{"bad versions table", scanArgs(azHard, "--versions", "scan_test.go"), 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errOut, code := run(t, "", c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d: %s", code, c.code, errOut)
			}
			if c.code == 3 && !strings.Contains(errOut, "--fail-on") {
				t.Errorf("stderr: %s", errOut)
			}
		})
	}
}

func TestScanJSONShape(t *testing.T) {
	out, errOut, code := run(t, "", scanArgs(azArgs("cosmos-weak.json"), "--format", "json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"target", "engine", "version", "scanned_at", "findings", "summary", "versions_table"} {
		if _, ok := r[k]; !ok {
			t.Errorf("no %q in the report", k)
		}
	}
	if r["engine"] != "azure-cosmosdb" {
		t.Errorf("engine %v", r["engine"])
	}
	fs := r["findings"].([]any)
	if len(fs) < 15 {
		t.Fatalf("%d findings", len(fs))
	}
	statuses := map[string]bool{"pass": true, "fail": true, "not_assessable": true, "error": true, "info": true}
	sevs := map[string]bool{"info": true, "low": true, "medium": true, "high": true, "critical": true}
	for _, x := range fs {
		f := x.(map[string]any)
		for _, k := range []string{"id", "title", "status", "severity", "observed", "expected", "why", "fix", "references"} {
			if _, ok := f[k]; !ok {
				t.Errorf("finding %v lacks %q", f["id"], k)
			}
		}
		if !statuses[f["status"].(string)] || !sevs[f["severity"].(string)] {
			t.Errorf("finding %v: status %v severity %v", f["id"], f["status"], f["severity"])
		}
	}
}

func TestScanSARIF(t *testing.T) {
	out, errOut, code := run(t, "", scanArgs(azWeak, "--format", "sarif")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID                   string                 `json:"id"`
						ShortDescription     struct{ Text string }  `json:"shortDescription"`
						DefaultConfiguration struct{ Level string } `json:"defaultConfiguration"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string                `json:"ruleId"`
				RuleIndex int                   `json:"ruleIndex"`
				Level     string                `json:"level"`
				Kind      string                `json:"kind"`
				Message   struct{ Text string } `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || !strings.Contains(log.Schema, "sarif") || len(log.Runs) != 1 {
		t.Fatalf("version %q schema %q runs %d", log.Version, log.Schema, len(log.Runs))
	}
	run0 := log.Runs[0]
	rules := run0.Tool.Driver.Rules
	if run0.Tool.Driver.Name != "vigil" || len(rules) < 35 {
		t.Fatalf("driver %q with %d rules", run0.Tool.Driver.Name, len(rules))
	}
	if len(run0.Results) == 0 {
		t.Fatal("no results")
	}
	levels := map[string]bool{"error": true, "warning": true, "note": true, "none": true}
	for _, res := range run0.Results {
		if res.RuleIndex < 0 || res.RuleIndex >= len(rules) || rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %s: ruleIndex %d does not point at its rule", res.RuleID, res.RuleIndex)
		}
		if !levels[res.Level] || res.Message.Text == "" || len(res.Locations) == 0 || res.Locations[0].PhysicalLocation.ArtifactLocation.URI == "" {
			t.Errorf("result %s: level %q message %q locations %v", res.RuleID, res.Level, res.Message.Text, res.Locations)
		}
	}
}

func TestScanHTMLAndOutputFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.html")
	_, errOut, code := run(t, "", scanArgs(azWeak, "--format", "html", "-o", path)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{"<!DOCTYPE html>", "az.cosmos.ip_all_azure", "az.pg.firewall_any_ip", "Failed checks", "@media print", "shop-weak"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(html, "<script") || strings.Contains(html, "http://") || strings.Contains(html, "<link") {
		t.Error("report references external assets or scripts")
	}
	if !strings.Contains(errOut, "report written to") {
		t.Errorf("stderr: %s", errOut)
	}
}

func TestScanBaseline(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "last.json")
	if _, errOut, code := run(t, "", scanArgs(azArgs("cosmos-weak.json"), "--format", "json", "-o", base)...); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// The same account fixed: read the hardened fixture under the weak
	// account's id so the findings line up.
	hb, err := os.ReadFile(azDir + "cosmos-hardened.json")
	if err != nil {
		t.Fatal(err)
	}
	fixed := strings.ReplaceAll(string(hb), "shop-prod", "shop-weak")
	fixedPath := filepath.Join(dir, "fixed.json")
	if err := os.WriteFile(fixedPath, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "scan", "--azure-resource", fixedPath, "--baseline", base, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r struct {
		Baseline struct {
			Better []struct{ ID, Before, After string } `json:"better"`
			Worse  []struct{ ID string }                `json:"worse"`
		} `json:"baseline"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	better := map[string]bool{}
	for _, c := range r.Baseline.Better {
		better[c.ID] = true
	}
	for _, id := range []string{"az.cosmos.public_network", "az.cosmos.local_auth", "az.cosmos.ip_all_azure"} {
		if !better[id] {
			t.Errorf("%s not reported better: %+v", id, r.Baseline.Better)
		}
	}
	if len(r.Baseline.Worse) != 0 {
		t.Errorf("worse: %+v", r.Baseline.Worse)
	}
	// The other way round: text output names what got worse.
	fixedJSON := filepath.Join(dir, "fixed-report.json")
	if _, _, code := run(t, "", "scan", "--azure-resource", fixedPath, "--format", "json", "-o", fixedJSON); code != 0 {
		t.Fatal(code)
	}
	out, _, _ = run(t, "", "scan", "--azure-resource", azDir+"cosmos-weak.json", "--baseline", fixedJSON)
	if !strings.Contains(out, "SINCE BASELINE") || !strings.Contains(out, "worse (") || !strings.Contains(out, "az.cosmos.public_network") {
		t.Errorf("text baseline section missing:\n%s", out)
	}
	if _, errOut, code := run(t, "", scanArgs(azHard, "--baseline", "scan_test.go")...); code != 2 || !strings.Contains(errOut, "--baseline") {
		t.Errorf("bad baseline: exit %d %s", code, errOut)
	}
}

// TestScanPostgresPasswordNeverPrinted scans a real server with a password
// in the URL and checks no output format, and no error, shows it.
func TestScanPostgresPasswordNeverPrinted(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Options{})
	ctx := context.Background()
	c, err := srv.Admin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "S3cret-Passw0rd-zz"
	if _, err := c.Exec(ctx, "CREATE ROLE auditor LOGIN PASSWORD '"+secret+"'"); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	dsn := fmt.Sprintf("postgres://auditor:%s@%s/postgres?sslmode=disable", secret, srv.Addr())
	for _, format := range []string{"text", "json", "sarif", "html"} {
		out, errOut, code := run(t, "", "scan", "--format", format, dsn)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", format, code, errOut)
		}
		if strings.Contains(out+errOut, secret) {
			t.Errorf("%s output shows the password", format)
		}
		if !strings.Contains(out, "auditor") {
			t.Errorf("%s output does not name the role", format)
		}
	}
	out, _, _ := run(t, "", "scan", "--format", "json", dsn)
	var r struct {
		Target string
		Role   string
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Role != "auditor" || !strings.Contains(r.Target, "auditor:*****@") {
		t.Errorf("target %q role %q", r.Target, r.Role)
	}
	// Wrong password and unreachable server: clear errors, no password.
	bad := strings.Replace(dsn, secret, "Wr0ng-"+secret, 1)
	_, errOut, code := run(t, "", "scan", bad)
	if code != 1 || strings.Contains(errOut, secret) || !strings.Contains(errOut, "password authentication failed") {
		t.Errorf("wrong password: exit %d: %s", code, errOut)
	}
	_, errOut, code = run(t, "", "scan", "postgres://auditor:"+secret+"@127.0.0.1:1/postgres?connect_timeout=2")
	if code != 1 || strings.Contains(errOut, secret) || !strings.Contains(errOut, "connecting to") {
		t.Errorf("unreachable: exit %d: %s", code, errOut)
	}
	_, errOut, code = run(t, "", "scan", "mysql://auditor:"+secret+"@127.0.0.1:1/?timeout=2s")
	if code != 1 || strings.Contains(errOut, secret) {
		t.Errorf("unreachable mysql: exit %d: %s", code, errOut)
	}
}
