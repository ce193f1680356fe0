package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/internal/pgtest"
)

// writeDemo copies the stderr log of a run to testdata/demo/attack.log and
// writes the README that says how it was made.
func writeDemo(t *testing.T, stderrLog string, o pgtest.Options, sc *Scenario) {
	t.Helper()
	b, err := os.ReadFile(stderrLog)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > demoMaxSize {
		t.Fatalf("demo log is %d bytes, over the %d limit: shorten the scenario", len(b), demoMaxSize)
	}
	if err := os.MkdirAll(demoDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(demoDir, demoLog), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(demoDir, "README.md"), []byte(demoReadme(len(b), o, sc)), 0o644); err != nil {
		t.Fatal(err)
	}
	// make demo reads the learning cutoff from this file.
	learn := sc.LearnUntil.UTC().Format("2006-01-02T15:04:05.000Z07:00") + "\n"
	if err := os.WriteFile(filepath.Join(demoDir, "learn_until"), []byte(learn), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes), its README and learn_until", filepath.Join(demoDir, demoLog), len(b))
}

func demoReadme(size int, o pgtest.Options, sc *Scenario) string {
	var b strings.Builder
	learn := sc.LearnUntil.Format("2006-01-02T15:04:05.000Z07:00")
	fmt.Fprintf(&b, `# Demo log

`+"`attack.log`"+` is a real PostgreSQL stderr log (%d bytes) of the attack scenario in
`+"`integration/scenario_test.go`"+`, played over real connections from several loopback addresses
against a throwaway server started by `+"`internal/pgtest`"+`. `+"`make demo`"+` replays it; no database
is needed.

- Captured: %s (UTC) with PostgreSQL %s and pgaudit %s (extension version; Debian package
  postgresql-15-pgaudit %s).
- Settings: logging_collector = on, log_destination = 'stderr,csvlog,jsonlog' (this is the stderr
  file), log_line_prefix = '%s', log_connections = on, log_disconnections = on,
  log_statement = '%s', log_timezone = 'UTC', lc_messages = 'C', shared_preload_libraries = 'pgaudit',
  pgaudit.log = '%s', pgaudit.log_relation = %s, pgaudit.log_parameter = %s, pgaudit.log_rows = %s;
  pg_hba: `+"`host all all 127.0.0.0/8 scram-sha-256`"+`.
- The set-up (database, roles and their passwords, tables) went to another log file and is not
  here: the log starts with the server's restart, then a normal phase, then the attack.
- Learning cutoff: replay with `+"`--learn-until %s`"+` (between the normal phase and
  the attack), or access.unfamiliar_principal cannot tell the new login (newbie) from the others.
- Secrets: the statements carry fake secrets `+"`%s1`"+` ... `+"`%s5`"+` in clear, as PostgreSQL
  and pgaudit write them: `+"`statement:`"+` lines, an ERROR's `+"`STATEMENT:`"+` line, and the AUDIT
  lines of CREATE USER MAPPING, dblink_connect and pgp_sym_encrypt (pgaudit redacts only role
  passwords). Nothing was scrubbed: Vigil must mask them, and the integration test checks that it
  does.

Regenerate (needs `+"`apt-get install postgresql-15 postgresql-15-pgaudit`"+`; about 10 s):

    go test ./integration -run TestAttackScenario -update-demo

## Alerts the scenario expects

With the built-in rules. code.routine_executed needs the test's tuning file
(`+"`integration/testdata/rules.yaml`"+`, sensitive_routines: [refresh_stats]) and does not fire without it.
Count "any": not checked by the test.

| rule | group | count |
|---|---|---|
`, size, time.Now().UTC().Format("2006-01-02"), sc.ServerVersion, sc.PgauditVersion, debVersion("postgresql-15-pgaudit"),
		o.LogLinePrefix, o.LogStatement, o.PgauditLog, onoff(o.PgauditLogRelation), onoff(o.PgauditLogParameter),
		onoff(o.PgauditLogRows), learn, secretPrefix, secretPrefix)
	for _, e := range sc.Expects() {
		if e.Absent {
			continue
		}
		count := fmt.Sprint(e.Count)
		if e.Count == anyCount {
			count = "any"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", e.Rule, groupText(e.Group), count)
	}
	b.WriteString("\nBelow-threshold controls that must stay silent:\n\n")
	for _, e := range sc.Expects() {
		if e.Absent {
			fmt.Fprintf(&b, "- %s for %s (%s)\n", e.Rule, groupText(e.Group), e.Steps[0])
		}
	}
	b.WriteString("\n## Steps\n\n")
	for i, s := range sc.Steps {
		fmt.Fprintf(&b, "%d. %s\n", i+1, s)
	}
	return b.String()
}

// debVersion is an installed Debian package's version, or "unknown".
func debVersion(pkg string) string {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", pkg).Output()
	if err != nil || len(out) == 0 {
		return "unknown"
	}
	return string(out)
}

func groupText(g map[string]string) string {
	var parts []string
	for _, k := range []string{"client.address", "user.name", "app.name", "sql.setting.name"} {
		if v, ok := g[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, ", ")
}

func onoff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// TestDemoLog checks the committed demo log without a database: present,
// small, complete (ends with the scenario's marker and the shutdown), and
// not scrubbed.
func TestDemoLog(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(demoDir, demoLog))
	if err != nil {
		t.Fatalf("%v (regenerate: go test ./integration -run TestAttackScenario -update-demo)", err)
	}
	if len(b) > demoMaxSize {
		t.Errorf("%s is %d bytes, over %d", demoLog, len(b), demoMaxSize)
	}
	s := string(b)
	for _, want := range []string{doneMarker, "database system is shut down", secretPrefix + "1", "sqlmap/1.7"} {
		if !strings.Contains(s, want) {
			t.Errorf("%s lacks %q", demoLog, want)
		}
	}
	readme, err := os.ReadFile(filepath.Join(demoDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "--learn-until ") {
		t.Errorf("README.md does not give the learning cutoff")
	}
	learn, err := os.ReadFile(filepath.Join(demoDir, "learn_until"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "--learn-until "+strings.TrimSpace(string(learn))) {
		t.Errorf("learn_until (%s) and README.md disagree", strings.TrimSpace(string(learn)))
	}
}
