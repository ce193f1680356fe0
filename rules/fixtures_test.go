package rules_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vigildb/vigil/pipeline"
	"github.com/vigildb/vigil/rules"
)

// TestFixtures runs every fixture of the built-in pack through the whole
// pipeline (parse, classify, detect), as `vigil rules test` does.
func TestFixtures(t *testing.T) {
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
