package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes vigil in-process with args and returns stdout, stderr and
// the exit code main would use.
func run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.Execute()
	code := 0
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
			errb.WriteString(ee.msg)
		} else {
			code = 1
			errb.WriteString(err.Error())
		}
	}
	return out.String(), errb.String(), code
}

const demoLog = "../../testdata/demo/attack.log"

func learnUntil(t *testing.T) string {
	b, err := os.ReadFile("../../testdata/demo/learn_until")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestReplayNDJSON checks the alert JSON contract of SPEC §3 on the demo log.
func TestReplayNDJSON(t *testing.T) {
	out, errOut, code := run(t, "", "replay", "--format", "ndjson", "--learn-until", learnUntil(t), demoLog)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 20 {
		t.Fatalf("only %d alerts", len(lines))
	}
	rules := map[string]bool{}
	for _, l := range lines {
		var a map[string]any
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("not JSON: %s", l)
		}
		for _, k := range []string{"id", "rule_id", "title", "severity", "mitre", "first_time", "last_time", "count", "entity", "evidence"} {
			if _, ok := a[k]; !ok {
				t.Errorf("alert lacks %q: %s", k, l)
			}
		}
		m := a["mitre"].(map[string]any)
		if !strings.HasPrefix(m["tactic"].(string), "TA") || !strings.HasPrefix(m["technique"].(string), "T") {
			t.Errorf("mitre: %v", m)
		}
		rules[a["rule_id"].(string)] = true
	}
	for _, id := range []string{"auth.failed_login_burst", "auth.password_spray", "auth.bruteforce_success", "access.unfamiliar_principal", "access.harmful_application"} {
		if !rules[id] {
			t.Errorf("demo raised no %s", id)
		}
	}
	if strings.Contains(out, "Zq9-SECRET") {
		t.Error("a secret of the demo log reached the output")
	}
	if !strings.Contains(errOut, "replayed 1 input(s)") || !strings.Contains(errOut, "alerts:") {
		t.Errorf("summary: %s", errOut)
	}
}

func TestReplayStdinAndFailOn(t *testing.T) {
	log, err := os.ReadFile(demoLog)
	if err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run(t, string(log), "replay", "--format", "json", "--fail-on", "high", "-")
	if code != 3 || !strings.Contains(errOut, "--fail-on") {
		t.Errorf("fail-on high: exit %d, %s", code, errOut)
	}
	if _, _, code := run(t, string(log), "replay", "--format", "json", "--fail-on", "bogus", "-"); code != 2 {
		t.Errorf("bad --fail-on: exit %d", code)
	}
}

func TestReplayUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"replay", "--input-format", "xml", demoLog}, 2, "--input-format"},
		{[]string{"replay", "--format", "yaml", demoLog}, 2, "--format"},
		{[]string{"replay", "--learn-until", "yesterday", demoLog}, 2, "cannot read"},
		{[]string{"replay", "no-such-file.log"}, 1, "no such file"},
		{[]string{"replay", "no-such-*.log"}, 1, "no file matches"},
		{[]string{"replay", "."}, 1, "is a directory"},
		{[]string{"rules", "show", "no.such_rule"}, 1, "no rule"},
	}
	for _, tc := range tests {
		_, errOut, code := run(t, "", tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) {
			t.Errorf("%v: exit %d (want %d), %q (want %q)", tc.args, code, tc.code, errOut, tc.msg)
		}
	}
}

func TestReplayCustomPrefixError(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "odd.log")
	os.WriteFile(f, []byte("<<2026-11-25 09:42:11 UTC>> LOG:  hello\n"), 0o644)
	_, errOut, code := run(t, "", "replay", "--format", "json", f)
	if code != 1 || !strings.Contains(errOut, "--log-line-prefix") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	out, errOut, code := run(t, "", "replay", "--format", "json", "--log-line-prefix", "<<%t>> ", f)
	if code != 0 || strings.TrimSpace(out) != "[]" || strings.Contains(errOut, "unparsed") {
		t.Errorf("with the prefix: exit %d, %s %s", code, out, errOut)
	}
	// A wrong prefix: every line is reported with file:line and the line
	// itself, and the summary says what to do.
	_, errOut, code = run(t, "", "replay", "--format", "json", "--log-line-prefix", "%m|", f)
	if code != 0 || !strings.Contains(errOut, f+":1:") || !strings.Contains(errOut, "<<2026-11-25 09:42:11 UTC>> LOG:  hello") ||
		!strings.Contains(errOut, "SHOW log_line_prefix") {
		t.Errorf("wrong prefix: exit %d\n%s", code, errOut)
	}
}

func TestRulesCommands(t *testing.T) {
	out, _, code := run(t, "", "rules", "list")
	if code != 0 {
		t.Fatalf("rules list: exit %d", code)
	}
	for _, id := range catalogIDs {
		if !strings.Contains(out, id) {
			t.Errorf("rules list lacks %s", id)
		}
	}
	out, _, code = run(t, "", "rules", "show", "ddl.drop_table")
	if code != 0 || !strings.Contains(out, "rule: ddl.drop_table") || !strings.Contains(out, "mitigation") {
		t.Errorf("rules show: exit %d\n%s", code, out)
	}
	out, _, code = run(t, "", "rules", "fields")
	if code != 0 || !strings.Contains(out, "db.operation.name") || !strings.Contains(out, "client.address") {
		t.Errorf("rules fields: %s", out)
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("- rule: my.rule\n  title: x\n  severity: high\n  condition: user.nmae == \"x\"\n"), 0o644)
	out, _, code = run(t, "", "rules", "lint", bad)
	if code != 1 || !strings.Contains(out, bad+":4:") {
		t.Errorf("rules lint: exit %d\n%s", code, out)
	}
	good := filepath.Join(dir, "tune.yaml")
	os.WriteFile(good, []byte("- rule: ddl.drop_burst\n  override: true\n  threshold: 50\n"), 0o644)
	if out, _, code = run(t, "", "rules", "lint", good); code != 0 {
		t.Errorf("rules lint good: exit %d\n%s", code, out)
	}
	out, _, _ = run(t, "", "rules", "show", "ddl.drop_burst", "--rules", good)
	if !strings.Contains(out, "threshold: 50") || !strings.Contains(out, "overridden at "+good) {
		t.Errorf("override not shown:\n%s", out)
	}
}

// The catalog ids of SPEC §3 that PostgreSQL logs can support.
var catalogIDs = []string{
	"auth.failed_login_burst", "auth.password_spray", "auth.bruteforce_success", "errors.burst_from_ip",
	"access.unfamiliar_principal", "access.harmful_application", "ddl.alter_burst", "ddl.alter_table",
	"ddl.drop_burst", "ddl.drop_table", "ddl.view_dropped", "ddl.table_created", "ddl.tables_created_burst",
	"dml.delete_burst", "dml.mass_delete", "dcl.grant", "iam.user_created", "iam.user_dropped",
	"iam.privileged_operation", "defense_evasion.audit_disabled", "code.routine_executed",
	"code.routine_tampered", "code.obfuscated_object", "exfil.copy_out", "exfil.large_read",
	"sqli.suspected", "logs.absent",
}

func TestRulesTestCommand(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tune.yaml"), []byte("- rule: auth.failed_login_burst\n  override: true\n  threshold: 1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "tune_test.yaml"), []byte(`tests:
  - name: two failures now fire
    rules: [auth.failed_login_burst]
    input: |
      2026-11-25 09:42:20.849 UTC [9818] alice@appdb FATAL:  password authentication failed for user "alice"
      2026-11-25 09:42:21.849 UTC [9819] alice@appdb FATAL:  password authentication failed for user "alice"
    expect: []
`), 0o644)
	out, _, code := run(t, "", "rules", "test", dir)
	// Without a client address the group is empty but the alert fires:
	// the test expects none, so it must fail and say why.
	if code != 1 || !strings.Contains(out, "unexpected alert auth.failed_login_burst") || !strings.Contains(out, "0 passed, 1 failed") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

// TestReplayGzipSameAsPlain: a gzip'd log (a rotated file) gives the same
// alerts as the plain one.
func TestReplayGzipSameAsPlain(t *testing.T) {
	plain, _, code := run(t, "", "replay", "--format", "ndjson", demoLog)
	if code != 0 {
		t.Fatalf("plain: exit %d", code)
	}
	b, err := os.ReadFile(demoLog)
	if err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(t.TempDir(), "attack.log.1.gz")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	if err := os.WriteFile(gz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	zipped, errOut, code := run(t, "", "replay", "--format", "ndjson", gz)
	if code != 0 {
		t.Fatalf("gzip: exit %d: %s", code, errOut)
	}
	strip := func(s string) []string {
		var ids []string
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			var a struct {
				ID    string `json:"id"`
				Count int64  `json:"count"`
			}
			json.Unmarshal([]byte(l), &a)
			ids = append(ids, fmt.Sprint(a.ID, a.Count))
		}
		return ids
	}
	if p, z := strip(plain), strip(zipped); len(p) < 20 || strings.Join(p, ",") != strings.Join(z, ",") {
		t.Errorf("gzip replay differs: %d vs %d alerts", len(p), len(z))
	}
}
