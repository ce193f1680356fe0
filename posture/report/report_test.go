package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/posture"
)

func sample() *posture.Report {
	r := &posture.Report{Target: "postgres://a:*****@h/db", Engine: "postgres", Version: "15.4",
		ScannedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), Role: "a",
		Versions: posture.VersionsInfo{Date: "2026-08-22"},
		Findings: []posture.Finding{
			{ID: "pg.hba.trust", Title: "No trust <rules>", Status: posture.Fail, Severity: posture.SevCritical,
				Observed: "line 1: host all all 0.0.0.0/0 trust", Expected: "none", Why: "w", Fix: "f", References: []string{"CIS PostgreSQL 17 5.4"}},
			{ID: "pg.tls.ssl", Title: "TLS", Status: posture.Pass, Severity: posture.SevHigh, References: []string{}},
			{ID: "pg.auth.md5_hashes", Title: "MD5", Status: posture.NotAssessable, Severity: posture.SevHigh, Needs: "superuser", References: []string{}},
		}}
	r.Finish()
	return r
}

func TestText(t *testing.T) {
	var plain, color bytes.Buffer
	if err := Text(&plain, sample(), false); err != nil {
		t.Fatal(err)
	}
	if err := Text(&color, sample(), true); err != nil {
		t.Fatal(err)
	}
	s := plain.String()
	for _, want := range []string{"FAILED (1)", "NOT ASSESSABLE (1)", "needs:    superuser", "PASSED (1)", "pg.tls.ssl", "3 checks: 1 failed (1 critical)"} {
		if !strings.Contains(s, want) {
			t.Errorf("text lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "\x1b[") || !strings.Contains(color.String(), "\x1b[1;31m") {
		t.Error("colour only when asked")
	}
}

func TestHTMLEscapes(t *testing.T) {
	var b bytes.Buffer
	if err := HTML(&b, sample()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No trust &lt;rules&gt;") || strings.Contains(b.String(), "<rules>") {
		t.Error("HTML does not escape")
	}
}

func TestSARIFLevels(t *testing.T) {
	var b bytes.Buffer
	if err := SARIF(&b, sample(), "1.2.3"); err != nil {
		t.Fatal(err)
	}
	var log map[string]any
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log["runs"].([]any)[0].(map[string]any)
	results := run["results"].([]any)
	if len(results) != 2 {
		t.Fatalf("%d results (fail and not_assessable expected)", len(results))
	}
	first := results[0].(map[string]any)
	if first["ruleId"] != "pg.hba.trust" || first["level"] != "error" || first["kind"] != "fail" {
		t.Errorf("%v", first)
	}
	second := results[1].(map[string]any)
	if second["kind"] != "review" || second["level"] != "none" {
		t.Errorf("%v", second)
	}
	if SARIFLevel(posture.SevMedium) != "warning" || SARIFLevel(posture.SevLow) != "note" {
		t.Error("levels")
	}
}

func TestCatalogFormats(t *testing.T) {
	checks := []posture.Check{{ID: "x.a", Engine: "postgres", Title: "A | B", Severity: "low", References: []string{"r"}}}
	for _, f := range []string{"text", "markdown", "json"} {
		var b bytes.Buffer
		if err := Catalog(&b, f, checks); err != nil || !strings.Contains(b.String(), "x.a") {
			t.Errorf("%s: %v %s", f, err, b.String())
		}
	}
	var b bytes.Buffer
	_ = Catalog(&b, "markdown", checks)
	if !strings.Contains(b.String(), `A \| B`) {
		t.Error("markdown pipes not escaped")
	}
	if err := Catalog(&b, "yaml", checks); err == nil {
		t.Error("unknown format accepted")
	}
}
