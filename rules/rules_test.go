package rules_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/vigildb/vigil/detect"
	"github.com/vigildb/vigil/rules"
)

// catalog is every rule id of SPEC §3 that PostgreSQL logs can support.
// access.unusual_location and access.unusual_cloud_datacenter (GeoIP and
// cloud ranges) and azure.* (Azure sources) are not in the pack yet.
var catalog = []string{
	"auth.failed_login_burst",
	"auth.password_spray",
	"auth.bruteforce_success",
	"errors.burst_from_ip",
	"access.unfamiliar_principal",
	"access.harmful_application",
	"ddl.alter_burst",
	"ddl.alter_table",
	"ddl.drop_burst",
	"ddl.drop_table",
	"ddl.view_dropped",
	"ddl.table_created",
	"ddl.tables_created_burst",
	"dml.delete_burst",
	"dml.mass_delete",
	"dcl.grant",
	"iam.user_created",
	"iam.user_dropped",
	"iam.privileged_operation",
	"defense_evasion.audit_disabled",
	"code.routine_executed",
	"code.routine_tampered",
	"code.obfuscated_object",
	"exfil.copy_out",
	"exfil.large_read",
	"sqli.suspected",
	"logs.absent",
}

func loadBuiltin(t *testing.T) *detect.RuleSet {
	t.Helper()
	rs, errs := detect.Lint(detect.FSSource("builtin", rules.Builtin))
	for _, e := range errs {
		if rs == nil {
			t.Error(e)
		} else {
			t.Log("warning: ", e)
		}
	}
	if rs == nil {
		t.Fatal("the built-in pack does not load")
	}
	return rs
}

// TestBuiltinLoads loads the embedded pack with the engine's loader and
// reports every error with its file:line:column.
func TestBuiltinLoads(t *testing.T) {
	loadBuiltin(t)
}

// TestCatalog checks that every catalog id exists and carries what the
// person who receives the alert needs.
func TestCatalog(t *testing.T) {
	rs := loadBuiltin(t)
	for _, id := range catalog {
		r := rs.Rule(id)
		if r == nil {
			t.Errorf("catalog rule %s is missing", id)
			continue
		}
		if !r.Enabled {
			t.Errorf("%s: disabled by default", id)
		}
		for field, v := range map[string]string{
			"title": r.Title, "severity": r.Severity, "mitre.tactic": r.Mitre.Tactic,
			"mitre.technique": r.Mitre.Technique, "description": r.Description,
			"impact": r.Impact, "mitigation": r.Mitigation,
		} {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s: no %s", id, field)
			}
		}
		if detect.TacticName(r.Mitre.Tactic) == "" {
			t.Logf("%s: tactic %s is not in detect's MITRE table", id, r.Mitre.Tactic)
		}
		if detect.TechniqueName(r.Mitre.Technique) == "" {
			t.Logf("%s: technique %s is not in detect's MITRE table", id, r.Mitre.Technique)
		}
		if len(r.Tags) == 0 {
			t.Errorf("%s: no tags", id)
		}
	}
}

// testFile is the part of a rule test file this test reads.
type testFile struct {
	Tests []struct {
		Name   string   `yaml:"name"`
		Rules  []string `yaml:"rules"`
		Expect []struct {
			Rule string `yaml:"rule"`
		} `yaml:"expect"`
	} `yaml:"tests"`
}

// coverage counts, per rule id, the tests that expect an alert from it
// (positive) and the tests that check it and expect none from it
// (negative).
func coverage(t *testing.T, name string, data []byte, pos, neg map[string]int) {
	t.Helper()
	var tf testFile
	if err := yaml.Unmarshal(data, &tf); err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	if len(tf.Tests) == 0 {
		t.Errorf("%s: no tests", name)
	}
	for _, tc := range tf.Tests {
		expected := map[string]bool{}
		for _, e := range tc.Expect {
			expected[e.Rule] = true
		}
		for _, id := range tc.Rules {
			if expected[id] {
				pos[id]++
			} else {
				neg[id]++
			}
		}
	}
}

// TestEveryRuleHasFixtures checks that every rule of the pack has at least
// one positive and one negative fixture (in tests/, or in testdata/ for
// fixtures that need a user file, such as a filled sensitive_routines).
func TestEveryRuleHasFixtures(t *testing.T) {
	rs := loadBuiltin(t)
	pos, neg := map[string]int{}, map[string]int{}
	err := fs.WalkDir(rules.Tests, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(rules.Tests, p)
		if err != nil {
			return err
		}
		coverage(t, "tests/"+p, b, pos, neg)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range userFixtureDirs(t) {
		b, err := os.ReadFile(filepath.Join(dir, "test.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		coverage(t, dir, b, pos, neg)
	}
	var ids []string
	for _, r := range rs.Rules {
		ids = append(ids, r.ID)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if pos[id] == 0 {
			t.Errorf("%s: no positive fixture", id)
		}
		if neg[id] == 0 {
			t.Errorf("%s: no negative fixture", id)
		}
	}
	for id := range pos {
		if rs.Rule(id) == nil {
			t.Errorf("fixtures test unknown rule %s", id)
		}
	}
}

// userFixtureDirs lists testdata/*/: each holds rules.yaml (a user file
// loaded after the built-in pack) and test.yaml (tests run against both).
func userFixtureDirs(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob("testdata/*/test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range dirs {
		dirs[i] = filepath.Dir(d)
	}
	return dirs
}
