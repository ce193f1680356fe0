package detect

import (
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// TestLoadInvalid checks that each invalid fixture is refused with every
// problem it has, each at the right file:line:column.
func TestLoadInvalid(t *testing.T) {
	tests := map[string][]string{
		"bad_yaml.yaml": {
			"2:10: mapping value is not allowed in this context",
		},
		"unknown_field.yaml": {
			`4:3: unknown field "conditon" in rule (did you mean "condition"?)`,
		},
		"bad_duration.yaml": {
			`6:11: window: bad duration "10 minutes": want e.g. 90s, 10m, 4h, 7d`,
		},
		"unknown_kind.yaml": {
			`4:9: unknown kind "counter": want match, count, distinct, sequence, absence or first_seen`,
		},
		"unknown_fields.yaml": {
			`6:14: unknown field "client.adress" in group_by (did you mean "client.address"?)`,
			"7:13: unknown field \"user\" in distinct (see `vigil rules fields`)",
			`13:9: unknown field "usr.name" in exception (did you mean "user.name"?)`,
		},
		"bad_severity.yaml": {
			`3:13: unknown severity "urgent": want info, low, medium, high or critical`,
			`7:17: unknown severity "severe": want info, low, medium, high or critical`,
		},
		"bad_mitre.yaml": {
			`4:19: bad MITRE tactic "TA06": want TAnnnn (e.g. TA0006)`,
			`4:36: bad MITRE technique "T1110.1": want Tnnnn or Tnnnn.nnn (e.g. T1110.001)`,
			`10:5: unknown field "tactics" in mitre (did you mean "tactic"?)`,
		},
		"duplicate_id.yaml": {
			"5:9: duplicate rule id \"test.dup\" (first defined at testdata/invalid/duplicate_id.yaml:1:3); use `override: true` to change it",
		},
		"override_unknown.yaml": {
			`1:9: override of unknown rule "test.no_such_rule"`,
		},
		"unknown_list.yaml": {
			"6:33: condition: unknown name attack_tools (not an event field, a list or a builtin)",
			`10:37: unknown list "dbas" in exception "admins"`,
		},
		"condition_typo.yaml": {
			"4:46: condition: type event.User has no field nmae",
			"10:17: condition: type event.Client has no field adress",
			"14:21: condition: type event.Kind has no field actoin",
		},
		"condition_type.yaml": {
			"4:27: condition: invalid operation: == (mismatched types string and int)",
			"8:14: condition: expected bool, but got string",
			"12:39: condition: unexpected token EOF",
			"16:21: condition: unknown name now (now() is not available: rules see event time only, e.g. the field `time`)",
		},
		"kind_fields.yaml": {
			"5:14: threshold is not used by match rules",
			"6:3: rule test.count_without_threshold: count rules need `threshold`",
			"18:5: rule test.sequence_one_step: sequence rules need exactly two steps",
		},
		"list_errors.yaml": {
			`1:9: append to unknown list "extra_tools"`,
			`4:9: list name "user" is reserved (an event field or a builtin of conditions)`,
			`6:9: bad list name "bad-name": use letters, digits and _ (it is an identifier in conditions)`,
			"10:9: duplicate list \"tools\" (first defined at testdata/invalid/list_errors.yaml:8:3); use `append: true` to extend it",
		},
		"bad_cidr.yaml": {
			`8:26: bad CIDR "10.0.0.0/33" for client.address`,
		},
		"not_a_list.yaml": {
			"1:1: a rule file is a list of `- rule:` and `- list:` entries, not a mapping",
		},
		"bad_sum.yaml": {
			`5:8: sum field "user.name" is a string field, not an integer one: want one of client.port, db.response.bytes, db.response.returned_rows, event.duration, log.line, sql.audit.statement_id`,
			`13:8: unknown field "db.response.returned_row" in sum (did you mean "db.response.returned_rows"?)`,
			"20:8: sum is not used by match rules",
			"28:8: sum is not used by distinct rules",
		},
		"comment_in_condition.yaml": {
			"6:83: condition: unexpected token EOF (a '#' after a space starts a YAML comment: quote the condition or write it as a | block)",
		},
	}
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("%d fixtures, %d tests: keep them in step", len(files), len(tests))
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "invalid", name)
			rs, err := Load(PathSource(path))
			if err == nil {
				t.Fatalf("loaded %d rules, want errors", len(rs.Rules))
			}
			errs, ok := err.(Errors)
			if !ok {
				t.Fatalf("error %T, want Errors", err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			for i := range want {
				want[i] = path + ":" + want[i]
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestLintAllFiles checks that lint reports problems of several files in
// one run, in source order, and warnings only when there is no error.
func TestLintAllFiles(t *testing.T) {
	_, errs := Lint(PathSource("testdata/invalid/unknown_kind.yaml"), PathSource("testdata/invalid/bad_cidr.yaml"))
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "unknown_kind.yaml") || !strings.Contains(errs[1].Error(), "bad_cidr.yaml") {
		t.Errorf("got %v", errs)
	}
	fsys := fstest.MapFS{"a.yaml": {Data: []byte(`
- rule: t.slow
  title: Evaluated for every event
  severity: low
  mitre: {tactic: TA0001, technique: T9999}
  condition: lower(app.name) == "x"
`)}}
	rs, errs := Lint(FSSource("user", fsys))
	if rs == nil {
		t.Fatalf("errors: %v", errs)
	}
	want := []string{
		"user/a.yaml:5:38: warning: MITRE technique T9999 is not in Vigil's ATT&CK table",
		"user/a.yaml:6:14: warning: rule t.slow: no part of the condition can be indexed (like event.action == \"login\" or \"DROP TABLE\" in sql.operations), so it is evaluated for every event",
	}
	if len(errs) != len(want) {
		t.Fatalf("got %v", errs)
	}
	for i := range want {
		if errs[i].Error() != want[i] {
			t.Errorf("got %s\nwant %s", errs[i], want[i])
		}
	}
}

const builtinPack = `
- list: admin_users
  items: [postgres]
- list: attack_tools
  items: [sqlmap, havij]
- rule: auth.failed_login_burst
  title: Failed-login burst from one address
  severity: high
  mitre: {tactic: TA0006, technique: T1110}
  kind: count
  condition: event.action == "login_failed"
  group_by: [client.address]
  window: 10m
  threshold: 5
  exceptions:
    - name: admins
      match: {user.name: ["@admin_users"]}
- rule: access.harmful_application
  title: Attack tool
  severity: high
  condition: |
    event.action == "login" && any(attack_tools, {lower(app.name) contains #})
  group_by: [app.name]
- rule: ddl.drop_table
  title: Table dropped
  severity: medium
  condition: '"DROP TABLE" in sql.operations'
  group_by: [user.name]
`

const userPack = `
- list: attack_tools
  items: [nmap]
  append: true
- rule: auth.failed_login_burst
  override: true
  threshold: 10
  exceptions:
    - name: monitoring
      match: {client.address: [10.1.0.0/16]}
- rule: ddl.drop_table
  override: true
  enabled: false
- rule: access.harmful_application
  title: Attack tool (my version)
  severity: critical
  condition: event.action == "login" && app.name == "evil"
`

func loadPacks(t *testing.T, packs ...string) *RuleSet {
	t.Helper()
	var srcs []Source
	for i, p := range packs {
		srcs = append(srcs, FSSource([]string{"builtin", "user", "user2"}[i], fstest.MapFS{"rules.yaml": {Data: []byte(p)}}))
	}
	rs, err := Load(srcs...)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return rs
}

func TestOverrideAppendDisable(t *testing.T) {
	rs := loadPacks(t, builtinPack, userPack)
	burst := rs.Rule("auth.failed_login_burst")
	if burst.Threshold != 10 || burst.Window.Minutes() != 10 || burst.Title != "Failed-login burst from one address" {
		t.Errorf("override: %+v", burst)
	}
	if len(burst.Exceptions) != 2 || burst.Exceptions[0].Name != "admins" || burst.Exceptions[1].Name != "monitoring" {
		t.Errorf("exceptions not appended: %+v", burst.Exceptions)
	}
	if len(burst.Overrides) != 1 || burst.Overrides[0].Pos.String() != "user/rules.yaml:5:3" ||
		strings.Join(burst.Overrides[0].Fields, ",") != "threshold,exceptions" {
		t.Errorf("overrides: %+v", burst.Overrides)
	}
	if rs.Rule("ddl.drop_table").Enabled {
		t.Error("ddl.drop_table still enabled")
	}
	h := rs.Rule("access.harmful_application")
	if h.Severity != "critical" || h.Pos.String() != "user/rules.yaml:14:3" || len(h.Overrides) != 1 || !h.Overrides[0].Replace {
		t.Errorf("replace: %+v", h)
	}
	if got := rs.List("attack_tools").Items; strings.Join(got, ",") != "sqlmap,havij,nmap" {
		t.Errorf("list append: %v", got)
	}
	var b strings.Builder
	if err := rs.Show(&b, "auth.failed_login_burst"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# defined at builtin/rules.yaml:6:3\n",
		"# overridden at user/rules.yaml:5:3: threshold, exceptions\n",
		"# T1110: Brute Force\n",
		"- rule: auth.failed_login_burst\n",
		"  threshold: 10\n",
		"  - name: monitoring\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("show lacks %q:\n%s", want, b.String())
		}
	}
	// What Show prints loads back as the same rule.
	again, err := Load(FSSource("shown", fstest.MapFS{"r.yaml": {Data: []byte(
		"- list: admin_users\n  items: [postgres]\n" + b.String())}}))
	if err != nil {
		t.Fatalf("show output does not load: %v\n%s", err, b.String())
	}
	if r := again.Rule("auth.failed_login_burst"); r.Threshold != 10 || len(r.Exceptions) != 2 {
		t.Errorf("round trip: %+v", r)
	}
	infos := rs.ListRules()
	if len(infos) != 3 || infos[0].ID != "access.harmful_application" || infos[2].Enabled {
		t.Errorf("list: %+v", infos)
	}
}

func TestOverrideErrorsAcrossSources(t *testing.T) {
	_, err := Load(
		FSSource("builtin", fstest.MapFS{"a.yaml": {Data: []byte(builtinPack)}}),
		FSSource("user", fstest.MapFS{"b.yaml": {Data: []byte(`
- rule: auth.nope
  override: true
  enabled: false
- list: nothing
  items: [a]
  append: true
- rule: auth.failed_login_burst
  override: true
  kind: distinct
`)}}))
	want := "builtin/a.yaml:6:3: rule auth.failed_login_burst: distinct rules need `distinct` (as overridden at user/b.yaml:8:3)\n" +
		"user/b.yaml:2:9: override of unknown rule \"auth.nope\"\n" +
		"user/b.yaml:5:9: append to unknown list \"nothing\""
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

// A directory of user rules may hold rule test files: they are skipped.
func TestTestFilesSkipped(t *testing.T) {
	rs, err := Load(FSSource("user", fstest.MapFS{
		"rules.yaml":      {Data: []byte(builtinPack)},
		"rules_test.yaml": {Data: []byte("tests:\n  - name: x\n    input: ''\n    expect: []\n")},
	}))
	if err != nil || len(rs.Rules) != 3 {
		t.Fatalf("%v", err)
	}
}

func TestDurations(t *testing.T) {
	for in, want := range map[string]string{"10m": "10m0s", "7d": "168h0m0s", "1d12h": "36h0m0s", "90s": "1m30s"} {
		d, err := parseDuration(in)
		if err != nil || d.String() != want {
			t.Errorf("%s: %v %v", in, d, err)
		}
	}
	for _, in := range []string{"", "0s", "10", "d", "-5m", "5 m"} {
		if _, err := parseDuration(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	for d, want := range map[string]string{"10m": "10m", "4h": "4h", "7d": "7d", "1h30m": "1h30m", "90s": "1m30s"} {
		x, _ := parseDuration(d)
		if got := formatDuration(x); got != want {
			t.Errorf("format %s: %s", d, got)
		}
	}
}
