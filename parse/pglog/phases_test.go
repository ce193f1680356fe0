package pglog

import (
	"slices"
	"strings"
	"testing"

	"github.com/vigildb/vigil/event"
)

func find(evs []*event.Event, f func(*event.Event) bool) []*event.Event {
	var out []*event.Event
	for _, ev := range evs {
		if f(ev) {
			out = append(out, ev)
		}
	}
	return out
}

func one(t *testing.T, evs []*event.Event, what string, f func(*event.Event) bool) *event.Event {
	t.Helper()
	got := find(evs, f)
	if len(got) != 1 {
		t.Fatalf("%s: %d events, want 1", what, len(got))
	}
	return got[0]
}

var allFormats = []string{".log", ".csv", ".json"}

func TestPhase1(t *testing.T) {
	for _, ext := range allFormats {
		t.Run(ext, func(t *testing.T) {
			evs := run(t, "", "", sampleLines(t, "postgresql-phase1"+ext)).events

			// failed logins: as written, with the claimed user and the reason
			failed := find(evs, func(e *event.Event) bool { return e.Event.Action == event.ActionLoginFailed })
			type fl struct{ user, db, code, msg string }
			want := []fl{
				{"alice", "appdb", "28P01", `password authentication failed for user "alice"`},
				{"nosuchuser", "appdb", "28P01", `password authentication failed for user "nosuchuser"`},
				{"alice", "template1", "28000", `no pg_hba.conf entry for host "127.0.0.1", user "alice", database "template1", no encryption`},
				{"alice", "nosuchdb", "3D000", `database "nosuchdb" does not exist`},
				{"ghost", "appdb", "28000", `role "ghost" does not exist`},
				{"postgres", "missingdb", "3D000", `database "missingdb" does not exist`},
			}
			if len(failed) != len(want) {
				t.Fatalf("%d failed logins, want %d", len(failed), len(want))
			}
			for i, w := range want {
				e := failed[i]
				if e.User.Name != w.user || e.DB.Namespace != w.db || e.DB.Response.StatusCode != w.code || e.Error.Message != w.msg ||
					e.Event.Category != event.CategoryAuthentication || e.Event.Outcome != event.OutcomeFailure {
					t.Errorf("failed login %d = %+v %+v %+v %+v, want %+v", i, e.User, e.DB, e.Event, e.Error, w)
				}
			}
			if d := failed[1].Error.Detail; !strings.Contains(d, `Role "nosuchuser" does not exist.`+"\n"+`Connection matched pg_hba.conf line 3`) {
				t.Errorf("nosuchuser detail = %q", d)
			}
			if failed[0].Client.Address != "127.0.0.1" || failed[0].Client.Port != 39086 {
				t.Errorf("alice failed login client = %+v", failed[0].Client)
			}
			// "connection authorized" for nosuchdb/ghost/missingdb is not a success
			for _, e := range find(evs, func(e *event.Event) bool { return e.Event.Action == event.ActionLogin }) {
				if e.DB.Namespace == "nosuchdb" || e.DB.Namespace == "missingdb" || e.User.Name == "ghost" {
					t.Errorf("refused session counted as login: %+v", e)
				}
			}
			if n := len(find(evs, func(e *event.Event) bool { return e.Event.Action == event.ActionLogin })); n != 15 {
				t.Errorf("%d successful logins, want 15", n)
			}
			if n := len(find(evs, func(e *event.Event) bool { return e.Event.Action == event.ActionLogout })); n != 15 {
				t.Errorf("%d logouts, want 15", n)
			}

			// one event per pgaudit statement id per session, none extra for log_statement
			audits := find(evs, func(e *event.Event) bool { return e.Source.Kind == kindAudit })
			seen := map[string]bool{}
			for _, e := range audits {
				k := e.Session.ID + "/" + strings.Repeat("x", int(e.SQL.Audit.StatementID))
				if seen[k] {
					t.Errorf("two events for %s statement %d", e.Session.ID, e.SQL.Audit.StatementID)
				}
				seen[k] = true
				if e.Event.Duration == 0 {
					t.Errorf("audit event without the duration of its statement: %q", e.DB.Query.Text)
				}
			}
			if len(audits) != 53 {
				t.Errorf("%d pgaudit events, want 53", len(audits))
			}
			for _, e := range find(evs, func(e *event.Event) bool { return e.Source.Kind == kindLog && e.Event.Action == event.ActionStatement }) {
				for _, a := range audits {
					if a.Session.ID == e.Session.ID && a.DB.Query.Text == e.DB.Query.Text {
						t.Errorf("statement %q counted twice (log_statement and pgaudit)", e.DB.Query.Text)
					}
				}
			}
			// statements pgaudit did not log stand alone, with their duration
			unaudited := []string{"SET pgaudit.log = 'none';", "SELECT 'this should not be audited';"}
			for _, q := range unaudited {
				e := one(t, evs, q, func(e *event.Event) bool { return e.DB.Query.Text == q })
				if e.Source.Kind != kindLog || e.Event.Duration == 0 || e.Event.Outcome != event.OutcomeSuccess {
					t.Errorf("%q = %+v", q, e)
				}
			}

			// CALL: the sub-statements merge into one event
			call := one(t, evs, "CALL", func(e *event.Event) bool { return e.DB.Query.Text == "CALL purge_customers();" })
			if !slices.Equal(call.SQL.Operations, []string{"EXECUTE", "DELETE", "CALL"}) ||
				!slices.Equal(call.SQL.Routines, []string{"public.purge_customers"}) ||
				!slices.Equal(call.DB.Collection.Name, []string{"public.purge_customers", "public.customers"}) ||
				!slices.Equal(call.SQL.Audit.Classes, []string{"FUNCTION", "WRITE", "MISC"}) ||
				call.DB.Operation.Name != "EXECUTE" || call.SQL.Audit.StatementID != 16 || call.SQL.Audit.Type != "SESSION" {
				t.Errorf("CALL event = %+v %+v", call.DB, call.SQL)
			}
			// SELECT add_one(41): a function execution
			fn := one(t, evs, "add_one", func(e *event.Event) bool { return e.DB.Query.Text == "SELECT add_one(41);" })
			if !slices.Equal(fn.SQL.Routines, []string{"public.add_one"}) || !slices.Equal(fn.SQL.Operations, []string{"SELECT", "EXECUTE"}) {
				t.Errorf("add_one event = %+v", fn.SQL)
			}
			// CREATE TABLE with its index: one event, both objects
			ct := one(t, evs, "create customers", func(e *event.Event) bool { return strings.HasPrefix(e.DB.Query.Text, "CREATE TABLE customers") })
			if !slices.Equal(ct.DB.Collection.Name, []string{"public.customers", "public.customers_pkey"}) ||
				!slices.Equal(ct.SQL.ObjectTypes, []string{"TABLE", "INDEX"}) || ct.DB.Object.Type != "TABLE" {
				t.Errorf("CREATE TABLE event = %+v %+v", ct.DB, ct.SQL)
			}
			// COPY … FROM PROGRAM: pgaudit's record (WRITE, INSERT)
			cp := one(t, evs, "copy program", func(e *event.Event) bool { return e.DB.Query.Text == "COPY cmd_out FROM PROGRAM 'id';" })
			if cp.Source.Kind != kindAudit || cp.DB.Operation.Name != "INSERT" || !slices.Equal(cp.DB.Collection.Name, []string{"public.cmd_out"}) {
				t.Errorf("COPY FROM PROGRAM event = %+v", cp)
			}
			// EXECUTE of a prepared statement: pgaudit's first line is the PREPARE text
			ex := one(t, evs, "execute q", func(e *event.Event) bool { return e.SQL.Audit.StatementID == 24 })
			if !slices.Equal(ex.SQL.Operations, []string{"SELECT", "EXECUTE"}) || ex.Error.Detail == "" {
				t.Errorf("EXECUTE q(1) event = %+v %+v", ex.SQL, ex.Error)
			}
			// the view read: ??? is not an operation
			v := one(t, evs, "view read", func(e *event.Event) bool { return e.DB.Query.Text == "SELECT * FROM v_customers;" })
			if !slices.Equal(v.SQL.Operations, []string{"SELECT"}) || !slices.Equal(v.SQL.Audit.Classes, []string{"READ", "MISC"}) {
				t.Errorf("view read = %+v", v.SQL)
			}

			// errors: the syntax error (no statement line before it) and the
			// failed statements (statement line + ERROR: merged into one
			// event, so an attempt is counted once)
			syn := one(t, evs, "syntax error", func(e *event.Event) bool { return e.DB.Response.StatusCode == "42601" })
			if syn.Error.Message != `syntax error at or near "SELEC"` || syn.Event.Category != event.CategoryError || syn.DB.Query.Text != "SELEC * FROM customers;" {
				t.Errorf("syntax error = %+v %+v", syn.Error, syn.DB.Query)
			}
			for _, q := range []string{"SELECT * FROM does_not_exist;", "DROP TABLE customers;", "CREATE ROLE evil SUPERUSER;", "COPY (select 1) TO '/tmp/pgcap/x';"} {
				got := find(evs, func(e *event.Event) bool { return e.DB.Query.Text == q })
				if len(got) != 1 || got[0].Event.Action != event.ActionError || got[0].Event.Outcome != event.OutcomeFailure ||
					got[0].Event.Category != event.CategoryError || got[0].DB.Response.StatusCode == "" || got[0].Error.Message == "" {
					t.Errorf("%q: want one failed statement carrying its error, got %d events: %+v", q, len(got), got)
				}
			}
			perm := one(t, evs, "permission denied", func(e *event.Event) bool {
				return e.Event.Category == event.CategoryError && e.User.Name == "alice" && e.DB.Query.Text == "SELECT * FROM customers;"
			})
			if perm.DB.Response.StatusCode != "42501" || perm.Client.Address != "127.0.0.1" || perm.Client.Port != 43662 {
				t.Errorf("permission denied = %+v", perm)
			}
			cpe := one(t, evs, "copy error", func(e *event.Event) bool {
				return e.Event.Category == event.CategoryError && strings.HasPrefix(e.DB.Query.Text, "COPY (select 1)")
			})
			if !strings.Contains(cpe.Error.Detail, "HINT: Anyone can COPY") {
				t.Errorf("COPY error detail = %q", cpe.Error.Detail)
			}

			// configuration changes
			ls := one(t, evs, "log_statement change", func(e *event.Event) bool { return e.SQL.Setting.Name == "log_statement" })
			if ls.SQL.Setting != (event.Setting{Scope: "system", Name: "log_statement", Value: "ddl"}) || ls.Event.Category != event.CategoryAdmin || ls.Event.Action != event.ActionServer {
				t.Errorf("setting = %+v %+v", ls.SQL.Setting, ls.Event)
			}
			pa := one(t, evs, "pgaudit.log change", func(e *event.Event) bool { return e.SQL.Setting.Name == "pgaudit.log" })
			if pa.SQL.Setting.Value != "ddl,role,write,function,misc" {
				t.Errorf("pgaudit.log setting = %+v", pa.SQL.Setting)
			}
			// checkpoint noise dropped
			if len(find(evs, func(e *event.Event) bool { return strings.HasPrefix(e.Error.Message, "checkpoint") })) != 0 {
				t.Error("checkpoint noise emitted")
			}
		})
	}
}

func TestPhase2(t *testing.T) {
	for _, ext := range allFormats {
		t.Run(ext, func(t *testing.T) {
			evs := run(t, "", "", sampleLines(t, "postgresql-phase2"+ext)).events
			ins := one(t, evs, "insert", func(e *event.Event) bool { return strings.HasPrefix(e.DB.Query.Text, "INSERT INTO orders") })
			if ins.Source.Kind != kindAudit || ins.DB.Response.ReturnedRows != 5 || ins.Event.Duration != 1803000 {
				t.Errorf("INSERT (pgaudit + duration line with statement) = %+v", ins)
			}
			drop := one(t, evs, "drop", func(e *event.Event) bool { return e.DB.Query.Text == "DROP TABLE orders;" })
			if len(drop.DB.Collection.Name) != 5 || !slices.Equal(drop.SQL.ObjectTypes, []string{"TABLE", "SEQUENCE", "DEFAULT VALUE", "TABLE CONSTRAINT", "INDEX"}) {
				t.Errorf("DROP TABLE = %+v %+v", drop.DB.Collection, drop.SQL.ObjectTypes)
			}
			// not audited (READ not in pgaudit.log), logged by log_min_duration_statement only
			cnt := one(t, evs, "count", func(e *event.Event) bool { return e.DB.Query.Text == "SELECT count(*) FROM orders;" })
			if cnt.Source.Kind != kindLog || cnt.Event.Duration != 315000 {
				t.Errorf("count = %+v", cnt)
			}
			role := one(t, evs, "create role", func(e *event.Event) bool { return e.DB.Operation.Name == "CREATE ROLE" })
			if role.DB.Query.Text != "CREATE ROLE carol LOGIN PASSWORD '***'" || role.Client.Address != "[local]" {
				t.Errorf("CREATE ROLE = %+v", role)
			}
			f := one(t, evs, "f_sum", func(e *event.Event) bool { return e.DB.Query.Text == "SELECT f_sum();" })
			if !slices.Equal(f.SQL.Routines, []string{"public.f_sum"}) {
				t.Errorf("f_sum = %+v", f.SQL)
			}
			if ext == ".log" {
				// the last line still has the previous prefix: matched by the fallback
				last := evs[len(evs)-1]
				if last.DB.Query.Text != "SELECT pg_reload_conf();" || last.User.Name != "postgres" {
					t.Errorf("last event = %+v", last)
				}
			}
		})
	}
}

func TestPhase3(t *testing.T) {
	for _, ext := range allFormats {
		t.Run(ext, func(t *testing.T) {
			evs := run(t, "", "", sampleLines(t, "postgresql-phase3"+ext)).events
			failed := find(evs, func(e *event.Event) bool { return e.Event.Action == event.ActionLoginFailed })
			if len(failed) != 5 {
				t.Fatalf("%d failed logins, want 5", len(failed))
			}
			ports := map[int]bool{}
			for _, e := range failed {
				if e.User.Name != "postgres" || e.Client.Address != "127.0.0.1" || e.DB.Response.StatusCode != "28P01" ||
					!strings.HasPrefix(e.Error.Detail, `User "postgres" has no password assigned.`) {
					t.Errorf("failed login = %+v %+v %+v %+v", e.User, e.Client, e.DB.Response, e.Error)
				}
				ports[e.Client.Port] = true
			}
			if len(ports) != 5 {
				t.Errorf("client ports %v", ports)
			}
			// %t-%c- lines carry no user: it comes from the session's connection lines
			for _, e := range find(evs, func(e *event.Event) bool { return e.Event.Action == event.ActionStatement }) {
				if e.User.Name == "" || e.DB.Namespace == "" || e.Client.Address == "" || !strings.Contains(e.Session.ID, ".") {
					t.Errorf("statement without session identity: %+v", e)
				}
			}
			perm := one(t, evs, "permission denied", func(e *event.Event) bool { return e.Event.Category == event.CategoryError })
			if perm.User.Name != "alice" || perm.DB.Namespace != "appdb" || perm.Client.Address != "127.0.0.1" || perm.Client.Port != 44794 ||
				perm.DB.Response.StatusCode != "42501" || perm.DB.Query.Text != "SELECT * FROM payroll;" || perm.App.Name != "psql" {
				t.Errorf("permission denied = %+v", perm)
			}
			// object audit: SESSION and OBJECT lines of one statement are one event
			sal := one(t, evs, "salary", func(e *event.Event) bool { return e.DB.Query.Text == "SELECT salary FROM payroll;" })
			if sal.SQL.Audit.Type != "OBJECT" || !slices.Equal(sal.DB.Collection.Name, []string{"public.payroll"}) || sal.Event.Duration != 58000 {
				t.Errorf("object audit = %+v %+v", sal.SQL.Audit, sal.DB)
			}
			// log_statement=mod + OBJECT audit: one event
			ins := one(t, evs, "insert", func(e *event.Event) bool { return strings.HasPrefix(e.DB.Query.Text, "INSERT INTO payroll") })
			if ins.Source.Kind != kindAudit || ins.Event.Duration != 1383000 {
				t.Errorf("insert = %+v", ins)
			}
			del := one(t, evs, "delete", func(e *event.Event) bool { return e.DB.Query.Text == "DELETE FROM payroll WHERE id = 2;" })
			if del.Source.Kind != kindLog || del.Event.Duration != 536000 {
				t.Errorf("delete = %+v", del)
			}
			// verbose: "LOG:  00000: received SIGHUP…" loses its SQLSTATE
			one(t, evs, "sighup", func(e *event.Event) bool { return e.Error.Message == "received SIGHUP, reloading configuration files" })
			one(t, evs, "verbosity reset", func(e *event.Event) bool { return e.SQL.Setting.Name == "log_error_verbosity" && e.SQL.Setting.Reset })
			one(t, evs, "reset", func(e *event.Event) bool { return e.SQL.Setting.Name == "pgaudit.role" && e.SQL.Setting.Reset })
		})
	}
}

func TestPhase4(t *testing.T) {
	for _, ext := range allFormats {
		t.Run(ext, func(t *testing.T) {
			evs := run(t, "", "", sampleLines(t, "postgresql-phase4"+ext)).events
			for _, e := range find(evs, func(e *event.Event) bool { return e.User.Name == "alice" }) {
				if e.App.Name != "sqlmap" {
					t.Errorf("alice event without app sqlmap: %+v", e)
				}
			}
			login := one(t, evs, "sqlmap login", func(e *event.Event) bool { return e.Event.Action == event.ActionLogin && e.User.Name == "alice" })
			if login.Client.Address != "127.0.0.1" || login.Client.Port != 58932 {
				t.Errorf("login = %+v", login.Client)
			}
			// the statement killed by pg_terminate_backend carries its FATAL
			term := one(t, evs, "terminated", func(e *event.Event) bool {
				return e.DB.Response.StatusCode == "57P01" && e.Event.Category == event.CategoryError
			})
			if term.User.Name != "alice" || term.Event.Action != event.ActionError || term.DB.Query.Text != "SELECT pg_sleep(30);" {
				t.Errorf("terminate = %+v", term)
			}
			sleep := term
			if sleep.Event.Outcome != event.OutcomeFailure {
				t.Errorf("killed statement outcome = %q", sleep.Event.Outcome)
			}
			slow := one(t, evs, "slow", func(e *event.Event) bool { return e.DB.Query.Text == "SELECT pg_sleep(1.1);" })
			if slow.Event.Duration != 1101802000 || slow.Source.Kind != kindAudit {
				t.Errorf("slow query = %+v", slow)
			}
			to := one(t, evs, "timeout", func(e *event.Event) bool {
				return e.DB.Response.StatusCode == "57014" && e.Event.Category == event.CategoryError
			})
			if to.Error.Message != "canceling statement due to statement timeout" {
				t.Errorf("timeout = %+v", to.Error)
			}
			ext := one(t, evs, "drop extension", func(e *event.Event) bool { return e.DB.Operation.Name == "DROP EXTENSION" })
			if !slices.Equal(ext.DB.Collection.Name, []string{"public.file_fdw_handler()", "public.file_fdw_validator(pg_catalog.text[],pg_catalog.oid)"}) {
				t.Errorf("drop extension objects = %v", ext.DB.Collection.Name)
			}
			if len(find(evs, func(e *event.Event) bool { return e.Error.Message == "received fast shutdown request" })) != 1 {
				t.Error("shutdown not reported")
			}
		})
	}
}
