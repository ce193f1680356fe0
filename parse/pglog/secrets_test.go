package pglog

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// No password from the samples appears in any emitted event: every text
// field goes through mask.SQL. The literals are the ones the samples show in
// clear (log_statement lines, error STATEMENTs), found by grepping them for
// PASSWORD '…' as well as listed.
func TestNoSecretInEvents(t *testing.T) {
	secrets := map[string]bool{"AlicePass123!": true, "NewAlicePass456!": true, "secret": true, "CarolSecret!": true}
	files, _ := filepath.Glob(filepath.Join(samplesDir, "*"))
	if len(files) == 0 {
		t.Fatalf("no samples in %s", samplesDir)
	}
	re := regexp.MustCompile(`(?i)PASSWORD\s+'([^']*)'`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			secrets[string(m[1])] = true
		}
	}
	for _, f := range files {
		name := filepath.Base(f)
		if !strings.HasPrefix(name, "postgresql-phase") && !strings.HasPrefix(name, "pg_ctl") {
			continue
		}
		res := run(t, "", "", sampleLines(t, name))
		for _, ev := range res.events {
			js, _ := json.Marshal(ev)
			for s := range secrets {
				if strings.Contains(string(js), "'"+s+"'") || (len(s) > 6 && strings.Contains(string(js), s)) {
					t.Errorf("%s: secret %q in event %s", name, s, js)
				}
			}
		}
	}
}

// Every text field that may hold SQL is masked: statement lines, error
// statements and messages, DETAIL (parameters), pgaudit parameters.
func TestMaskedFields(t *testing.T) {
	res := stderrRun(t, Options{},
		deb(0, 7, "a@db", "LOG", "statement: ALTER ROLE a PASSWORD 'Hunter2-stmt';"),
		deb(0, 7, "a@db", "ERROR", "must be superuser to alter superuser roles or change superuser attribute"),
		deb(0, 7, "a@db", "STATEMENT", "ALTER ROLE a PASSWORD 'Hunter2-stmt';"),
		deb(1, 7, "a@db", "LOG", "duration: 3 ms  statement: CREATE USER b PASSWORD 'Hunter2-dur'"),
		deb(2, 7, "a@db", "LOG", "execute S_1: SELECT dblink_connect('host=x password=Hunter2-param')"),
		deb(2, 7, "a@db", "DETAIL", "parameters: $1 = 'password=Hunter2-detail'"),
		deb(3, 7, "a@db", "LOG", `AUDIT: SESSION,1,1,FUNCTION,EXECUTE,FUNCTION,public.f,"SELECT f($1)","password=Hunter2-auditparam"`),
		deb(4, 7, "a@db", "ERROR", `syntax error at or near "PASSWORD"`),
		deb(4, 7, "a@db", "STATEMENT", "CREATE ROLE x WITH PASSWORD 'Hunter2-err' SUPERUSERR"),
		deb(5, 7, "a@db", "LOG", "execute S_2: SELECT set_config('app.password', $1, false)"),
		deb(5, 7, "a@db", "DETAIL", "parameters: $1 = 'Hunter2-setcfg'"),
		deb(6, 7, "a@db", "LOG", `AUDIT: SESSION,2,1,READ,SELECT,,,"SELECT pgp_sym_decrypt(x, $1) FROM t",Hunter2-pgp`),
	)
	if len(res.events) == 0 {
		t.Fatal("no events")
	}
	for _, ev := range res.events {
		js, _ := json.Marshal(ev)
		if strings.Contains(string(js), "Hunter2") {
			t.Errorf("secret in %s", js)
		}
	}
}

func TestMaskedSetting(t *testing.T) {
	res := stderrRun(t, Options{},
		deb(0, 1, "", "LOG", `parameter "primary_conninfo" changed to "host=10.0.0.1 user=rep password=Hunter2-conf"`),
	)
	if len(res.events) != 1 || res.events[0].SQL.Setting.Name != "primary_conninfo" {
		t.Fatalf("events %+v", res.events)
	}
	js, _ := json.Marshal(res.events[0])
	if strings.Contains(string(js), "Hunter2") {
		t.Errorf("secret in %s", js)
	}
}
