package posture

import (
	"strings"
	"testing"
	"time"
)

func TestMaskDSN(t *testing.T) {
	cases := []struct{ in, want, secret string }{
		{"postgres://auditor:s3cr3t@db1:5432/postgres", "postgres://auditor:*****@db1:5432/postgres", "s3cr3t"},
		{"postgres://auditor@db1/postgres?sslmode=require", "postgres://auditor@db1/postgres?sslmode=require", ""},
		{"postgres://db1/postgres?user=a&password=s3cr3t", "postgres://db1/postgres?password=xxxxx&user=a", "s3cr3t"},
		{"mysql://root:p%40ss@127.0.0.1:3306/?tls=true", "mysql://root:*****@127.0.0.1:3306/?tls=true", "p%40ss"},
		{"host=db1 user=a password=s3cr3t dbname=x", "host=db1 user=a password=***** dbname=x", "s3cr3t"},
		{"host=db1 password='s3 cr3t' dbname=x", "host=db1 password=***** dbname=x", "cr3t"},
	}
	for _, c := range cases {
		got := MaskDSN(c.in)
		if got != c.want {
			t.Errorf("MaskDSN(%q) = %q, want %q", c.in, got, c.want)
		}
		if c.secret != "" && strings.Contains(got, c.secret) {
			t.Errorf("MaskDSN(%q) leaks the password", c.in)
		}
	}
	if got := Redact("failed for user a with s3cr3t", "s3cr3t"); strings.Contains(got, "s3cr3t") {
		t.Error(got)
	}
}

func report(fs ...Finding) *Report {
	r := &Report{Findings: fs}
	r.Finish()
	return r
}

func TestFinishAndFailing(t *testing.T) {
	r := report(
		Finding{ID: "a", Status: Pass, Severity: SevHigh},
		Finding{ID: "b", Status: Fail, Severity: SevLow},
		Finding{ID: "c", Status: Fail, Severity: SevCritical},
		Finding{ID: "d", Status: NotAssessable, Severity: SevCritical},
	)
	if r.Findings[0].ID != "c" || r.Findings[1].ID != "b" || r.Findings[2].ID != "d" {
		t.Errorf("order: %v", r.Findings)
	}
	if r.Summary.Fail != 2 || r.Summary.Pass != 1 || r.Summary.NotAssessable != 1 || r.Summary.FailBySev[SevCritical] != 1 {
		t.Errorf("summary %+v", r.Summary)
	}
	if n := len(r.Failing(SevHigh)); n != 1 {
		t.Errorf("failing at high: %d", n)
	}
	if n := len(r.Failing(SevInfo)); n != 2 {
		t.Errorf("failing at info: %d (not_assessable must not count)", n)
	}
}

func TestCompare(t *testing.T) {
	base := report(
		Finding{ID: "fixed", Status: Fail, Severity: SevHigh},
		Finding{ID: "broke", Status: Pass, Severity: SevMedium},
		Finding{ID: "hidden", Status: Pass, Severity: SevLow},
		Finding{ID: "removed", Status: Pass, Severity: SevLow},
		Finding{ID: "same", Status: Fail, Severity: SevLow},
	)
	base.ScannedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cur := report(
		Finding{ID: "fixed", Status: Pass, Severity: SevHigh},
		Finding{ID: "broke", Status: Fail, Severity: SevMedium},
		Finding{ID: "hidden", Status: NotAssessable, Severity: SevLow},
		Finding{ID: "added", Status: Fail, Severity: SevLow},
		Finding{ID: "same", Status: Fail, Severity: SevLow},
	)
	d := Compare(base, cur, "last.json")
	ids := func(cs []Change) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.ID)
		}
		return strings.Join(s, ",")
	}
	for name, got := range map[string]string{"better": ids(d.Better), "worse": ids(d.Worse), "changed": ids(d.Changed), "new": ids(d.New), "gone": ids(d.Gone)} {
		want := map[string]string{"better": "fixed", "worse": "broke", "changed": "hidden", "new": "added", "gone": "removed"}[name]
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestEvaluateRecoversPanics(t *testing.T) {
	defs := []Def[int]{{Check: Check{ID: "x", Severity: SevLow}, Eval: func(int) Result { panic("boom") }}}
	fs := Evaluate(defs, 0, "")
	if fs[0].Status != Error || !strings.Contains(fs[0].Observed, "boom") {
		t.Errorf("%+v", fs[0])
	}
}
