package rules_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/pipeline"
	"github.com/vigildb/vigil/rules"
)

// needClassifier skips a fixture run while the pipeline does not classify
// statements yet (most fixtures are statement lines that only the SQL
// classifier turns into sql.operations, sql.grant, sql.setting ...).
func needClassifier(t *testing.T) {
	t.Helper()
	const line = "2026-11-25 09:42:31.973 UTC [10648] postgres@appdb LOG:  statement: DROP TABLE dyn_table;\n"
	classified := false
	opts := pipeline.Options{InputFormat: "stderr", LogLinePrefix: "%m [%p] %q%u@%d ", Workers: 1,
		OnEvent: func(ev *event.Event) {
			if len(ev.SQL.Operations) > 0 {
				classified = true
			}
		}}
	if _, err := pipeline.Replay(context.Background(), opts, pipeline.Input{Name: "canary", R: strings.NewReader(line), Size: -1}); err != nil {
		t.Fatal(err)
	}
	if !classified {
		t.Skip("the pipeline does not classify statements yet (pipeline/classify.go): fixtures not run")
	}
}

// TestFixtures runs every fixture of the built-in pack through the whole
// pipeline (parse, classify, detect), as `vigil rules test` does.
func TestFixtures(t *testing.T) {
	needClassifier(t)
	rs, err := pipeline.LoadRules(nil)
	if err != nil {
		t.Fatal(err)
	}
	results, err := pipeline.RunRuleTests(context.Background(), rs, pipeline.TestSource{FS: rules.Tests})
	if err != nil {
		t.Fatal(err)
	}
	report(t, results)
}

// TestUserFixtures runs testdata/*/test.yaml with testdata/*/rules.yaml
// loaded after the built-in pack (fixtures that need a list filled in).
func TestUserFixtures(t *testing.T) {
	needClassifier(t)
	for _, dir := range userFixtureDirs(t) {
		rs, err := pipeline.LoadRules([]string{filepath.Join(dir, "rules.yaml")})
		if err != nil {
			t.Fatal(err)
		}
		results, err := pipeline.RunRuleTests(context.Background(), rs, pipeline.TestSource{Path: filepath.Join(dir, "test.yaml")})
		if err != nil {
			t.Fatal(err)
		}
		report(t, results)
	}
}

func report(t *testing.T, results []pipeline.TestResult) {
	t.Helper()
	if len(results) == 0 {
		t.Fatal("no fixtures ran")
	}
	for _, r := range results {
		if r.Passed() {
			continue
		}
		t.Errorf("%s: %s", r.File, r.Name)
		for _, f := range r.Failures {
			t.Logf("    %s", f)
		}
	}
}
