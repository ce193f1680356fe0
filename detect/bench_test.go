package detect

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigildb/vigil/event"
)

func benchRules(tb testing.TB) *RuleSet {
	tb.Helper()
	rs, errs := Lint(PathSource("testdata/bench/rules.yaml"))
	if rs == nil {
		tb.Fatalf("bench rules: %v", errs)
	}
	for _, w := range errs {
		tb.Errorf("bench rules: %v", w)
	}
	return rs
}

// benchEvents makes a stream like a busy pgaudit-logged server: 90 %
// SELECT/UPDATE/INSERT, some logins and failed logins, errors, a few DDL,
// DELETEs, grants and routine calls.
func benchEvents(n int, seed uint64) []*event.Event {
	r := rand.New(rand.NewPCG(seed, 1))
	users := []string{"app", "app", "app", "reporting", "etl", "alice", "bob", "postgres"}
	apps := []string{"psql", "myapp", "PostgreSQL JDBC Driver", "pg_dump", "metabase"}
	ips := []string{"10.0.0.5", "10.0.0.6", "10.0.1.7", "192.0.2.10", "203.0.113.7"}
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	evs := make([]*event.Event, n)
	for i := range evs {
		e := &event.Event{
			Time:   base.Add(time.Duration(i) * 3 * time.Millisecond),
			Source: event.Source{Name: "pg-prod", Kind: "pgaudit"},
			DB:     event.DB{System: event.Name{Name: "postgresql"}, Namespace: "sales"},
			Server: event.Server{Address: "pg-prod-1"},
			User:   event.User{Name: users[r.IntN(len(users))]},
			Client: event.Client{Address: ips[r.IntN(len(ips))], Port: 40000 + r.IntN(1000)},
			App:    event.App{Name: apps[r.IntN(len(apps))]},
		}
		e.Event.Outcome = event.OutcomeSuccess
		p := r.IntN(1000)
		stmt := func(cat, op string) {
			e.Event.Category, e.Event.Action = cat, event.ActionStatement
			e.DB.Operation.Name = op
			e.SQL.Operations = []string{op}
			e.DB.Query.Text = op + " ..."
			e.SQL.Audit = event.Audit{Type: "SESSION", Classes: []string{"READ"}}
		}
		switch {
		case p < 600:
			stmt(event.CategoryQuery, "SELECT")
			e.DB.Response.ReturnedRows = int64(r.IntN(500))
		case p < 780:
			stmt(event.CategoryDML, "UPDATE")
		case p < 900:
			stmt(event.CategoryDML, "INSERT")
		case p < 930:
			e.Event.Category, e.Event.Action = event.CategoryAuthentication, event.ActionLogin
		case p < 945:
			e.Event.Category, e.Event.Action, e.Event.Outcome = event.CategoryAuthentication, event.ActionLoginFailed, event.OutcomeFailure
		case p < 955:
			e.Event.Category, e.Event.Action = event.CategoryError, event.ActionError
		case p < 975:
			stmt(event.CategoryDML, "DELETE")
		case p < 985:
			stmt(event.CategoryAdmin, "SET")
			e.SQL.Setting = event.Setting{Scope: "session", Name: "search_path", Value: "public"}
		case p < 990:
			stmt(event.CategoryDDL, []string{"ALTER TABLE", "CREATE TABLE", "DROP TABLE", "CREATE INDEX"}[r.IntN(4)])
		case p < 995:
			stmt(event.CategoryQuery, "CALL")
			e.SQL.Routines = []string{"public.refresh"}
		default:
			stmt(event.CategoryDCL, "GRANT")
			e.SQL.Grant = event.Grant{Privileges: []string{"SELECT"}, Grantees: []string{"reporting"}}
		}
		evs[i] = e
	}
	return evs
}

// BenchmarkEngine measures the engine on a realistic stream with a pack
// of ~35 rules. Report: ns/op is per event.
func BenchmarkEngine(b *testing.B) {
	rs := benchRules(b)
	evs := benchEvents(1<<16, 7)
	e := NewEngine(rs, Options{})
	b.ReportAllocs()
	b.ResetTimer()
	span := evs[len(evs)-1].Time.Sub(evs[0].Time) + time.Millisecond
	for i := 0; i < b.N; i++ {
		j := i & (len(evs) - 1)
		if j == 0 && i > 0 {
			// Keep time moving forward on every pass over the stream.
			// (This rewrites events the engine may hold as evidence; it
			// only makes that evidence show later times.)
			b.StopTimer()
			for _, x := range evs {
				x.Time = x.Time.Add(span)
			}
			b.StartTimer()
		}
		e.Process(evs[j])
	}
}

// BenchmarkEngineNoIndex is the same stream with the prefilters turned
// off (every rule's condition run by expr on every event), for comparison.
func BenchmarkEngineNoIndex(b *testing.B) {
	rs := benchRules(b)
	evs := benchEvents(1<<16, 7)
	e := NewEngine(rs, Options{})
	e.noPrefilter()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Process(evs[i&(len(evs)-1)])
	}
}

func TestBenchRulesLoad(t *testing.T) {
	rs := benchRules(t)
	if n := len(rs.Rules); n < 30 {
		t.Errorf("%d bench rules, want at least 30", n)
	}
	e := NewEngine(rs, Options{})
	var always []string
	for i, rt := range e.rules {
		if e.always[i/64]&(1<<(i%64)) != 0 {
			always = append(always, rt.r.ID)
		}
	}
	if fmt.Sprint(always) != "[exfil.large_read sqli.suspected logs.absent]" {
		t.Errorf("rules looked at for every event: %v", always)
	}
}
