package detect

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vigildb/vigil/event"
)

// randomEvents makes events that vary every field the bench rules look at,
// so that each prefilter is exercised on both sides.
func randomEvents(n int, seed uint64) []*event.Event {
	r := rand.New(rand.NewPCG(seed, 2))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	opsVocab := []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "DROP TABLE", "DROP VIEW", "DROP DATABASE",
		"DROP MATERIALIZED VIEW", "DROP ROLE", "DROP USER", "DROP INDEX", "ALTER TABLE", "ALTER SYSTEM", "ALTER ROLE",
		"CREATE TABLE", "CREATE ROLE", "CREATE USER", "CREATE EXTENSION", "CREATE FUNCTION", "LOAD", "COPY", "CALL",
		"GRANT", "REVOKE", "SET", "Delete"}
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	evs := make([]*event.Event, n)
	for i := range evs {
		e := &event.Event{Time: base.Add(time.Duration(i) * 7 * time.Second)}
		e.Source.Name = pick("a", "b", "c")
		e.Server.Address = pick("db1", "db2")
		e.User.Name = pick("app", "postgres", "alice", "bob", "Rdsadmin", "")
		e.Client.Address = pick("10.0.0.1", "203.0.113.7", "198.51.100.2", "[local]")
		e.Client.Geo.Country = pick("", "FR", "US", "KP")
		e.Client.Cloud.Region = pick("", "westeurope", "eastus")
		e.App.Name = pick("psql", "sqlmap/1.7", "Nmap NSE", "", "myapp")
		e.DB.Namespace = pick("sales", "hr")
		e.Event.Category = pick("authentication", "query", "dml", "ddl", "dcl", "admin", "error", "data_plane")
		e.Event.Action = pick("login", "login_failed", "statement", "error",
			"MICROSOFT.AUTHORIZATION/LOCKS/DELETE", "MICROSOFT.DOCUMENTDB/DATABASEACCOUNTS/LISTKEYS/ACTION", "CreateUpdateSqlContainer")
		k := r.IntN(3)
		for j := 0; j < k; j++ {
			e.SQL.Operations = append(e.SQL.Operations, pick(opsVocab...))
		}
		if len(e.SQL.Operations) > 0 {
			e.DB.Operation.Name = e.SQL.Operations[0]
		} else if r.IntN(2) == 0 {
			e.DB.Operation.Name = pick(opsVocab...)
		}
		e.SQL.NoWhere = r.IntN(4) == 0
		e.SQL.Untrusted = r.IntN(8) == 0
		e.SQL.DynamicExec = r.IntN(8) == 0
		e.SQL.Library = pick("", "", "", "/tmp/x.so")
		if r.IntN(3) == 0 {
			e.SQL.Routines = []string{pick("pg_read_file", "lo_export", "public.f", "lo_import")}
		}
		e.SQL.Role.Login = r.IntN(2) == 0
		if r.IntN(3) == 0 {
			e.SQL.Role.Attributes = []string{pick("SUPERUSER", "LOGIN", "CREATEDB")}
		}
		e.SQL.Copy.Direction = pick("", "to", "from")
		e.SQL.Copy.Target = pick("", "file", "program", "stdout")
		e.SQL.Setting.Name = pick("", "pgaudit.log", "search_path", "log_statement")
		e.SQL.Setting.Value = pick("", "none", "all", "off")
		e.SQL.Setting.Reset = r.IntN(5) == 0
		e.SQL.Grant.All = r.IntN(5) == 0
		e.SQL.Grant.Revoke = r.IntN(5) == 0
		if r.IntN(4) == 0 {
			e.SQL.Grant.Roles = []string{pick("pg_read_server_files", "reporting")}
		}
		if r.IntN(6) == 0 {
			e.SQL.Injection = []string{"tautology"}
		}
		e.DB.Response.ReturnedRows = int64(pick3(r, 0, 500, 200000))
		evs[i] = e
	}
	return evs
}

func pick3(r *rand.Rand, xs ...int) int { return xs[r.IntN(len(xs))] }

// TestPrefilterMatchesExpr checks every condition of the bench pack and
// some extra shapes: the Go test never rejects an event expr accepts, and
// an exact test agrees with expr on every event.
func TestPrefilterMatchesExpr(t *testing.T) {
	rs := benchRules(t)
	extra := rules(t, `
- list: tools
  items: [sqlmap, nmap]
- rule: x.shapes
  title: shapes
  severity: low
  condition: |
    (event.action != "statement" || !(db.operation.name in ["SELECT", "INSERT"]))
    && not (user.name in ["alice"]) && app.name endsWith "1.7" == false
    && (len(sql.routines) >= 1 || db.response.returned_rows <= 500 || 1000 < db.response.returned_rows)
    && (any(sql.operations, # == "DROP TABLE") || db.operation.name startsWith "DROP" || sql.no_where == true || client.address contains ".0.")
- rule: x.fused_any
  title: fused any
  severity: low
  condition: |
    any(sql.operations, # in ["DROP TABLE"]) or any(sql.operations, # startsWith "DROP ")
    or any(sql.operations, # endsWith "VIEW")
- rule: x.any_and
  title: any with and
  severity: low
  condition: |
    any(sql.operations, # startsWith "DROP" && # endsWith "TABLE")
- rule: x.memo
  title: memo
  severity: low
  condition: lower(app.name) in tools || user.name matches "^a"
`)
	var conds []*cond
	for _, set := range []*RuleSet{rs, extra} {
		for _, r := range set.Rules {
			for _, p := range r.c.steps {
				conds = append(conds, p...)
			}
			for _, x := range r.c.escalate {
				conds = append(conds, x.c...)
			}
		}
	}
	e := NewEngine(rs, Options{})
	e.memo = make([]map[string]bool, 1000)
	rt := e.rules[0]
	exact := 0
	for _, c := range conds {
		if c.exact {
			exact++
		}
	}
	if exact < len(conds)/2 {
		t.Errorf("only %d of %d conditions exact", exact, len(conds))
	}
	for i, ev := range randomEvents(20000, 3) {
		for _, c := range conds {
			want := e.run(c, ev, rt)
			got := e.eval(c, ev, rt)
			if c.test != nil && want && !c.test.eval(ev) {
				t.Fatalf("event %d: test of %q rejects an event expr accepts", i, c.src)
			}
			if got != want {
				t.Fatalf("event %d: %q: prefiltered %v, expr %v", i, c.src, got, want)
			}
		}
	}
	if st := e.Stats(); st[0].Errors != 0 {
		t.Errorf("expr errors: %+v", st[0])
	}
}

// TestEngineMatchesPlain runs streams through the indexed engine and one
// that evaluates every rule with expr: the alerts must be the same.
func TestEngineMatchesPlain(t *testing.T) {
	rs := benchRules(t)
	for _, stream := range [][]*event.Event{benchEvents(30000, 11), randomEvents(30000, 5)} {
		fast := NewEngine(rs, Options{KeepAlerts: true, LearnUntil: stream[len(stream)/3].Time})
		plain := NewEngine(rs, Options{KeepAlerts: true, LearnUntil: stream[len(stream)/3].Time})
		plain.noPrefilter()
		for _, ev := range stream {
			a, b := fast.Process(ev), plain.Process(ev)
			if len(a) != len(b) {
				t.Fatalf("at %s: %d vs %d alerts", ev.Time, len(a), len(b))
			}
		}
		fa, pa := summary(fast.Alerts()), summary(plain.Alerts())
		if fa != pa {
			t.Fatalf("alerts differ:\n%s\n---\n%s", fa, pa)
		}
		if !strings.Contains(fa, "auth.failed_login_burst") {
			t.Errorf("stream raised no burst alert:\n%s", fa)
		}
	}
}

func summary(as []*event.Alert) string {
	var lines []string
	for _, a := range as {
		lines = append(lines, fmt.Sprintf("%s %s %s %d %d", a.RuleID, a.ID, a.Severity, a.Count, len(a.Evidence)))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestIndexKeys(t *testing.T) {
	cases := []struct{ cond, keys string }{
		{`event.action == "login_failed"`, `event.action=login_failed`},
		{`event.category == "ddl" && db.operation.name startsWith "ALTER"`, `event.category=ddl`},
		{`event.category == "query" && db.operation.name startsWith "ALTER"`, `db.operation.name^ALTER`},
		{`event.action == "statement" && db.operation.name == "DELETE"`, `db.operation.name=DELETE`},
		{`event.category == "dml" && event.action == "login"`, `event.action=login`},
		{`"DROP TABLE" in sql.operations || event.action == "x"`, `event.action=x sql.operations=DROP TABLE`},
		{`any(sql.operations, # in ["B", "A"])`, `sql.operations=A sql.operations=B`},
		{`event.action in ["a", "b"] && !sql.no_where`, `event.action=a event.action=b`},
		{`len(sql.injection) > 0`, ``},
		{`lower(app.name) == "x"`, ``},
		{`event.action == "x" || lower(app.name) == "x"`, ``},
		{`event.outcome == "failure" && event.action == "statement"`, `event.outcome=failure`},
		// expr fuses any(f, A) || any(f, B) into any(f, A || B): the
		// keys are still the union.
		{`any(sql.operations, # in ["DROP TABLE"]) or any(sql.operations, # startsWith "DROP ")`, `sql.operations=DROP TABLE sql.operations^DROP `},
		{`any(sql.operations, # == "A") || any(sql.operations, # == "B") || any(sql.operations, # startsWith "C")`, `sql.operations=A sql.operations=B sql.operations^C`},
		{`any(sql.operations, # == "A" || # endsWith "B")`, ``},
		{`any(sql.operations, # startsWith "DROP" && # endsWith "TABLE")`, `sql.operations^DROP`},
		{`any(sql.operations, # == "A" && upper(#) != "B")`, `sql.operations=A`},
		{`any(sql.operations, # == "A") || any(sql.routines, # == "f")`, `sql.operations=A sql.routines=f`},
	}
	for _, c := range cases {
		cd, err := compileCond(text{s: c.cond}, nil, "condition")
		if err != nil {
			t.Fatalf("%s: %v", c.cond, err)
		}
		var got []string
		if ks, ok := predKeys([]*cond{cd}); ok {
			for _, k := range ks {
				op := "="
				if k.prefix {
					op = "^"
				}
				got = append(got, k.f.name+op+k.v)
			}
		}
		sort.Strings(got)
		if strings.Join(got, " ") != c.keys {
			t.Errorf("%s: keys %q, want %q", c.cond, strings.Join(got, " "), c.keys)
		}
	}
}

// TestFieldTable checks the offset accessors against event.Field.
func TestFieldTable(t *testing.T) {
	evs := randomEvents(200, 9)
	for _, name := range event.FieldNames() {
		f := lookupField(name)
		if f == nil {
			t.Errorf("event.Field %s has no expr field", name)
			continue
		}
		acc, _ := event.Field(name)
		for _, ev := range evs {
			if got, want := f.text(ev), acc(ev); got != want {
				t.Fatalf("%s: %q, event.Field %q", name, got, want)
			}
		}
	}
}

// The rule-pack shape `any(f, A) or any(f, B)` keeps an index (expr fuses
// it into one any() before the engine sees it): the rule is not looked at
// for every event, lint does not warn, and alerts are those of expr alone.
func TestFusedAnyIndexed(t *testing.T) {
	rs, warns := Lint(FSSource("test", fstest.MapFS{"r.yaml": {Data: []byte(`
- rule: ddl.drop
  title: Drop
  severity: high
  mitre: {tactic: TA0040, technique: T1485}
  condition: |
    any(sql.operations, # in ["DROP TABLE"]) or any(sql.operations, # startsWith "DROP ")
  group_by: [user.name]
`)}}))
	if rs == nil || len(warns) != 0 {
		t.Fatalf("lint: %v", warns)
	}
	c := rs.Rule("ddl.drop").c.steps[0][0]
	if !c.exact {
		t.Errorf("%s: not exact", c.src)
	}
	stream := randomEvents(5000, 8)
	fast := NewEngine(rs, Options{KeepAlerts: true})
	if fast.always[0] != 0 {
		t.Errorf("rule looked at for every event")
	}
	plain := NewEngine(rs, Options{KeepAlerts: true})
	plain.noPrefilter()
	feed(fast, stream...)
	feed(plain, stream...)
	fa, pa := summary(fast.Alerts()), summary(plain.Alerts())
	if fa != pa || fa == "" {
		t.Errorf("alerts differ:\n%s\n---\n%s", fa, pa)
	}
	if st := fast.Stats()[0]; st.Candidates >= int64(len(stream)) {
		t.Errorf("index let every event through: %+v", st)
	}
}
