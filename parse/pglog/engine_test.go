package pglog

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
)

// deb formats a stderr line with the Debian prefix.
func deb(sec float64, pid int, who, sev, msg string) string {
	t := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC).Add(time.Duration(sec * float64(time.Second)))
	if who != "" {
		who += " "
	}
	return fmt.Sprintf("%s UTC [%d] %s%s:  %s", t.Format("2006-01-02 15:04:05.000"), pid, who, sev, msg)
}

func stderrRun(t *testing.T, o Options, lines ...string) runResult {
	t.Helper()
	p, err := NewWithOptions(FormatStderr, "%m [%p] %q%u@%d ", o)
	if err != nil {
		t.Fatal(err)
	}
	return feed(p, "t.log", linesOf(lines...))
}

func actions(evs []*event.Event) []string {
	var out []string
	for _, e := range evs {
		a := e.Event.Action
		if e.Event.Category != "" {
			a = e.Event.Category + "/" + a
		}
		out = append(out, a)
	}
	return out
}

func TestMultiStatementString(t *testing.T) {
	res := stderrRun(t, Options{},
		deb(0, 7, "bob@db", "LOG", "statement: INSERT INTO t VALUES (1); DELETE FROM t;"),
		deb(0, 7, "bob@db", "LOG", `AUDIT: SESSION,1,1,WRITE,INSERT,TABLE,public.t,INSERT INTO t VALUES (1); DELETE FROM t;,<none>`),
		deb(0, 7, "bob@db", "LOG", `AUDIT: SESSION,2,1,WRITE,DELETE,TABLE,public.t,INSERT INTO t VALUES (1); DELETE FROM t;,<none>`),
		deb(0, 7, "bob@db", "LOG", "duration: 1.500 ms"),
	)
	if len(res.events) != 2 || res.events[0].DB.Operation.Name != "INSERT" || res.events[1].DB.Operation.Name != "DELETE" {
		t.Fatalf("events %v", actions(res.events))
	}
	if res.events[0].Event.Duration != 0 || res.events[1].Event.Duration != 1500000 {
		t.Errorf("durations %d %d", res.events[0].Event.Duration, res.events[1].Event.Duration)
	}
	if res.events[0].Log.Line != 1 || res.events[1].Log.Line != 3 {
		t.Errorf("lines %d %d", res.events[0].Log.Line, res.events[1].Log.Line)
	}
}

func TestPreviouslyLogged(t *testing.T) {
	res := stderrRun(t, Options{},
		deb(0, 7, "bob@db", "LOG", "statement: CALL p();"),
		deb(0, 7, "bob@db", "LOG", `AUDIT: SESSION,1,1,FUNCTION,EXECUTE,FUNCTION,public.p,<previously logged>,<not logged>`),
		deb(0, 7, "bob@db", "LOG", `AUDIT: SESSION,1,2,WRITE,DELETE,TABLE,public.t,<previously logged>,<not logged>,3`),
		deb(0, 7, "bob@db", "LOG", `AUDIT: SESSION,1,3,MISC,CALL,,,<previously logged>,<not logged>,0`),
		deb(1, 7, "bob@db", "LOG", "duration: 2 ms"),
	)
	if len(res.events) != 1 {
		t.Fatalf("events %v", actions(res.events))
	}
	e := res.events[0]
	if e.DB.Query.Text != "CALL p();" || e.DB.Response.ReturnedRows != 3 || !slices.Equal(e.SQL.Routines, []string{"public.p"}) ||
		e.Event.Duration != 2000000 || e.SQL.Audit.Parameter != "<not logged>" {
		t.Errorf("event = %+v %+v %+v", e.DB, e.SQL, e.Event)
	}
}

// A statement held longer than Hold is emitted without waiting; its late
// duration line is then recognized and not counted again.
func TestHoldReleasesAndLateDurationIsNotCounted(t *testing.T) {
	res := stderrRun(t, Options{Hold: 2 * time.Second},
		deb(0, 7, "bob@db", "LOG", `AUDIT: SESSION,1,1,READ,SELECT,,,SELECT pg_sleep(10),<none>`),
		deb(5, 8, "", "LOG", "database system is ready to accept connections"),
		deb(10, 7, "bob@db", "LOG", "duration: 10000.100 ms  statement: SELECT pg_sleep(10)"),
		deb(11, 7, "bob@db", "LOG", "duration: 0.100 ms  statement: SELECT 2"),
	)
	if got := actions(res.events); !slices.Equal(got, []string{"statement", "admin/server", "statement"}) {
		t.Fatalf("events %v", got)
	}
	if res.events[0].DB.Query.Text != "SELECT pg_sleep(10)" || res.events[2].DB.Query.Text != "SELECT 2" {
		t.Errorf("texts %q %q", res.events[0].DB.Query.Text, res.events[2].DB.Query.Text)
	}
}

func TestLoginHeldUntilSettled(t *testing.T) {
	res := stderrRun(t, Options{},
		deb(0, 7, "[unknown]@[unknown]", "LOG", "connection received: host=10.0.0.9 port=5000"),
		deb(0, 7, "eve@nodb", "LOG", "connection authorized: user=eve database=nodb application_name=hydra 1.0"),
		deb(0, 7, "eve@nodb", "FATAL", `database "nodb" does not exist`),
		deb(1, 8, "[unknown]@[unknown]", "LOG", "connection received: host=10.0.0.9 port=5001"),
		deb(1, 8, "eve@db", "LOG", "connection authorized: user=eve database=db application_name=hydra 1.0"),
	)
	if got := actions(res.events); !slices.Equal(got, []string{"authentication/login_failed", "authentication/login"}) {
		t.Fatalf("events %v", got)
	}
	f, ok := res.events[0], res.events[1]
	if f.User.Name != "eve" || f.DB.Namespace != "nodb" || f.Client.Address != "10.0.0.9" || f.App.Name != "hydra 1.0" || f.DB.Response.StatusCode != "3D000" {
		t.Errorf("failed login %+v", f)
	}
	if ok.Client.Port != 5001 || ok.App.Name != "hydra 1.0" || ok.Event.Outcome != event.OutcomeSuccess {
		t.Errorf("login %+v", ok)
	}
}

func TestExtendedProtocol(t *testing.T) {
	res := stderrRun(t, Options{},
		deb(0, 7, "app@db", "LOG", "duration: 0.050 ms  parse <unnamed>: SELECT * FROM t WHERE id = $1"),
		deb(0, 7, "app@db", "LOG", "duration: 0.060 ms  bind <unnamed>: SELECT * FROM t WHERE id = $1"),
		deb(0, 7, "app@db", "LOG", "execute <unnamed>: SELECT * FROM t WHERE id = $1"),
		deb(0, 7, "app@db", "DETAIL", "parameters: $1 = '42'"),
		deb(0, 7, "app@db", "LOG", "duration: 0.300 ms"),
		deb(1, 7, "app@db", "LOG", "duration: 0.400 ms  execute S_1: UPDATE t SET x = $1"),
		deb(1, 7, "app@db", "DETAIL", "parameters: $1 = 'y'"),
		deb(2, 7, "app@db", "LOG", "duration: 0.500 ms"),
	)
	if got := actions(res.events); !slices.Equal(got, []string{"statement", "statement", "statement"}) {
		t.Fatalf("events %v", got)
	}
	e := res.events[0]
	if e.DB.Query.Text != "SELECT * FROM t WHERE id = $1" || e.Error.Detail != "parameters: $1 = '42'" || e.Event.Duration != 300000 {
		t.Errorf("execute = %+v %+v %+v", e.DB.Query, e.Error, e.Event)
	}
	if e := res.events[1]; e.DB.Query.Text != "UPDATE t SET x = $1" || e.Event.Duration != 400000 {
		t.Errorf("duration+execute = %+v", e)
	}
	if e := res.events[2]; e.DB.Query.Text != "" || e.Event.Duration != 500000 {
		t.Errorf("bare duration = %+v", e)
	}
	if res.stats.Ignored != 2 {
		t.Errorf("ignored = %d, want 2 (parse, bind)", res.stats.Ignored)
	}
}

func TestErrorForAnotherStatement(t *testing.T) {
	res := stderrRun(t, Options{},
		deb(0, 7, "a@db", "LOG", "statement: SELECT 1;"),
		deb(0, 7, "a@db", "ERROR", `syntax error at or near "SELEC" at character 1`),
		deb(0, 7, "a@db", "STATEMENT", "SELEC 2;"),
		deb(0, 7, "a@db", "WARNING", "there is no transaction in progress"),
		deb(0, 7, "a@db", "NOTICE", "table \"x\" does not exist, skipping"),
	)
	if got := actions(res.events); !slices.Equal(got, []string{"statement", "error/error", "admin/server"}) {
		t.Fatalf("events %v", got)
	}
	if res.events[0].Event.Outcome != event.OutcomeSuccess || res.events[1].DB.Query.Text != "SELEC 2;" ||
		res.events[1].Error.Message != `syntax error at or near "SELEC"` || res.events[1].DB.Response.StatusCode != "42601" {
		t.Errorf("%+v / %+v", res.events[0].Event, res.events[1])
	}
}

func TestSessionsBounded(t *testing.T) {
	var lines []string
	for i := 0; i < 2000; i++ {
		lines = append(lines,
			deb(float64(i)/100, 1000+i, "[unknown]@[unknown]", "LOG", "connection received: host=10.0.0.1 port=1"),
			deb(float64(i)/100, 1000+i, "u@d", "LOG", "statement: SELECT 1"))
	}
	p, _ := NewWithOptions(FormatStderr, "", Options{MaxSessions: 50})
	res := feed(p, "x", linesOf(lines...))
	if n := len(p.e.sessions); n > 50 {
		t.Errorf("%d sessions tracked, bound 50", n)
	}
	if res.stats.Evicted == 0 || len(res.events) != 2000 {
		t.Errorf("evicted %d, events %d", res.stats.Evicted, len(res.events))
	}
}

// A multi-line statement: TAB continuation lines in stderr, quoted newlines
// in csvlog; both give the same text.
func TestMultiLineRecords(t *testing.T) {
	st := stderrRun(t, Options{},
		deb(0, 7, "a@db", "LOG", `AUDIT: SESSION,1,1,DDL,CREATE FUNCTION,FUNCTION,public.f(),"CREATE FUNCTION f() RETURNS int AS $$`),
		"\tSELECT 1, \"\"x\"\";",
		`	$$ LANGUAGE sql;",<none>`,
		deb(0, 7, "a@db", "LOG", "duration: 1 ms"),
	)
	csv := "2026-11-25 10:00:00.000 UTC,\"a\",\"db\",7,\"[local]\",6b06ad76.7,1,\"CREATE FUNCTION\",2026-11-25 10:00:00 UTC,3/1,0,LOG,00000,\"AUDIT: SESSION,1,1,DDL,CREATE FUNCTION,FUNCTION,public.f(),\"\"CREATE FUNCTION f() RETURNS int AS $$\n" +
		"SELECT 1, \"\"\"\"x\"\"\"\";\n$$ LANGUAGE sql;\"\",<none>\",,,,,,,,,\"psql\",\"client backend\",,0\n" +
		"2026-11-25 10:00:00.000 UTC,\"a\",\"db\",7,\"[local]\",6b06ad76.7,2,\"CREATE FUNCTION\",2026-11-25 10:00:00 UTC,3/1,0,LOG,00000,\"duration: 1 ms\",,,,,,,,,\"psql\",\"client backend\",,0"
	p, _ := New(FormatCSV, "")
	cs := feed(p, "x.csv", splitLines([]byte(csv)))
	for _, err := range append(st.errs, cs.errs...) {
		t.Error(err)
	}
	if len(st.events) != 1 || len(cs.events) != 1 {
		t.Fatalf("events %d %d", len(st.events), len(cs.events))
	}
	want := "CREATE FUNCTION f() RETURNS int AS $$\nSELECT 1, \"x\";\n$$ LANGUAGE sql;"
	if st.events[0].DB.Query.Text != want || cs.events[0].DB.Query.Text != want {
		t.Errorf("texts\n%q\n%q", st.events[0].DB.Query.Text, cs.events[0].DB.Query.Text)
	}
	if cs.events[0].Log.Line != 1 || cs.events[0].Event.Duration != 1e6 {
		t.Errorf("csv event %+v", cs.events[0])
	}
}

func TestUnparsedLines(t *testing.T) {
	p, _ := New(FormatStderr, "'%m [%p] '")
	var evs []*event.Event
	emit := func(e *event.Event) { evs = append(evs, e) }
	err := p.Parse(parse.Line{Text: []byte("\tstray continuation"), File: "f", No: 1}, emit)
	if err == nil || !strings.Contains(err.Error(), "f:1") {
		t.Errorf("orphan continuation: %v", err)
	}
	err = p.Parse(parse.Line{Text: []byte("this is not a log line"), File: "f", No: 2}, emit)
	if err == nil || !strings.Contains(err.Error(), "'%m [%p] '") || !strings.Contains(err.Error(), "this is not a log line") || !strings.Contains(err.Error(), "f:2") {
		t.Errorf("mismatch error = %v", err)
	}
	if err := p.Parse(parse.Line{Text: []byte(deb(0, 1, "", "LOG", "database system is ready to accept connections")), File: "f", No: 3}, emit); err != nil {
		t.Error(err)
	}
	p.Flush(emit)
	if len(evs) != 1 {
		t.Errorf("parser unusable after errors: %d events", len(evs))
	}
}

// After `parameter "log_line_prefix" changed`, lines in the new prefix are
// read, and so are stragglers in the old one.
func TestPrefixChangeInFile(t *testing.T) {
	res := stderrRun(t, Options{},
		deb(0, 1, "", "LOG", "received SIGHUP, reloading configuration files"),
		`2026-11-25 10:00:01 UTC|1|LOG:  parameter "log_line_prefix" changed to "%t|%p|"`,
		`2026-11-25 10:00:01 UTC|1|LOG:  parameter "log_statement" changed to "none"`,
		deb(2, 9, "a@db", "LOG", "statement: SELECT 1"),
	)
	for _, err := range res.errs {
		t.Error(err)
	}
	if len(res.events) != 4 || res.p.Prefix() != "%t|%p|" {
		t.Errorf("%d events, prefix %q", len(res.events), res.p.Prefix())
	}
}

func TestCSVColumnSets(t *testing.T) {
	base := `2026-11-25 10:00:00.000 UTC,"a","db",7,"10.0.0.1:5432",6b06ad76.7,1,"idle",2026-11-25 10:00:00 UTC,3/1,0,LOG,00000,"statement: SELECT 1",,,,,,,,,"psql"`
	for _, tail := range []string{"", `,"client backend"`, `,"client backend",,0`, `,"client backend",,0,extra`} {
		p, _ := New(FormatCSV, "")
		res := feed(p, "x.csv", linesOf(base+tail))
		if len(res.errs) != 0 || len(res.events) != 1 {
			t.Errorf("%d columns: %v %d", 23+strings.Count(tail, ","), res.errs, len(res.events))
			continue
		}
		e := res.events[0]
		if e.Client.Address != "10.0.0.1" || e.Client.Port != 5432 || e.App.Name != "psql" || e.Session.ID != "6b06ad76.7" {
			t.Errorf("event %+v", e)
		}
	}
	p, _ := New(FormatCSV, "")
	res := feed(p, "x.csv", linesOf(
		`2026-11-25 10:00:00.000 UTC,"a","db",7,"[local]",6b06ad76.7,1`,
		`2026-11-25 10:00:00.000 UTC,"a"x,"db"`,
		`not,a,csvlog,line,at,all,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18`,
	))
	if len(res.errs) != 3 {
		t.Errorf("errors %v", res.errs)
	}
	for _, err := range res.errs {
		if !strings.HasPrefix(err.Error(), "csvlog x.csv:") {
			t.Errorf("error without context: %v", err)
		}
	}
}

// An incomplete csvlog record survives Flush (live tail: the rest is not
// written yet).
func TestCSVFlushKeepsPartialRecord(t *testing.T) {
	p, _ := New(FormatCSV, "")
	var evs []*event.Event
	emit := func(e *event.Event) { evs = append(evs, e) }
	l1 := "2026-11-25 10:00:00.000 UTC,\"a\",\"db\",7,\"[local]\",6b06ad76.7,1,\"idle\",2026-11-25 10:00:00 UTC,3/1,0,LOG,00000,\"statement: SELECT"
	l2 := "1\",,,,,,,,,\"psql\",\"client backend\",,0"
	if err := p.Parse(parse.Line{Text: []byte(l1), File: "f", No: 1}, emit); err != nil {
		t.Fatal(err)
	}
	p.Flush(emit)
	if err := p.Parse(parse.Line{Text: []byte(l2), File: "f", No: 2}, emit); err != nil {
		t.Fatal(err)
	}
	p.Flush(emit)
	if len(evs) != 1 || evs[0].DB.Query.Text != "SELECT\n1" {
		t.Errorf("events %+v", evs)
	}
}

func TestJSONEscapes(t *testing.T) {
	p, _ := New(FormatJSON, "")
	res := feed(p, "x.json", linesOf(
		`{"timestamp":"2026-11-25 10:00:00.000 UTC","user":"caf\u00e9","dbname":"db","pid":7,"remote_host":"::1","remote_port":5432,"session_id":"6b06ad76.7","error_severity":"LOG","message":"statement: SELECT '\ud83d\ude00\n\"x\"\\'","extra":{"a":[1,"}"]},"query_id":-12}`,
		`{"timestamp":"2026-11-25 10:00:00.000 UTC","error_severity":"LOG","message":"bad \q"}`,
		`{"timestamp":"2026-11-25 10:00:00.000 UTC","error_severity":"LOG"} trailing`,
		`   `,
	))
	if len(res.errs) != 2 {
		t.Errorf("errors: %v", res.errs)
	}
	if len(res.events) != 1 {
		t.Fatalf("%d events", len(res.events))
	}
	e := res.events[0]
	if e.User.Name != "café" || e.DB.Query.Text != "SELECT '😀\n\"x\"\\'" || e.Client.Address != "::1" || e.Client.Port != 5432 {
		t.Errorf("event %+v %+v", e.User, e.DB.Query)
	}
}

func TestMalformedAudit(t *testing.T) {
	res := stderrRun(t, Options{},
		deb(0, 7, "a@db", "LOG", `AUDIT: SESSION,x,1,READ`),
	)
	if len(res.events) != 1 || res.stats.Malformed != 1 || res.events[0].Source.Kind != kindAudit || res.events[0].DB.Query.Text != "SESSION,x,1,READ" {
		t.Errorf("events %+v stats %+v", res.events, res.stats)
	}
}

func TestDeterministicIDs(t *testing.T) {
	lines := sampleLines(t, "postgresql-phase1.log")
	a := run(t, "", "", lines).events
	b := run(t, "", "", lines).events
	for i := range a {
		if a[i].ID != b[i].ID {
			t.Fatalf("event %d: ids %s %s", i, a[i].ID, b[i].ID)
		}
	}
}

// Records of a statement that arrive after it was released (held longer
// than Hold) are not emitted again.
func TestLateAuditAfterRelease(t *testing.T) {
	res := stderrRun(t, Options{Hold: time.Second},
		deb(0, 7, "a@db", "LOG", "statement: LOCK TABLE t; DELETE FROM t;"),
		deb(3, 8, "", "LOG", "database system is ready to accept connections"),
		deb(5, 7, "a@db", "LOG", `AUDIT: SESSION,1,1,WRITE,DELETE,TABLE,public.t,LOCK TABLE t; DELETE FROM t;,<none>`),
		deb(5, 7, "a@db", "LOG", `AUDIT: SESSION,1,1,WRITE,DELETE,INDEX,public.t_pkey,LOCK TABLE t; DELETE FROM t;,<none>`),
		deb(5, 7, "a@db", "LOG", "duration: 5000 ms"),
		deb(6, 7, "a@db", "LOG", `AUDIT: SESSION,2,1,READ,SELECT,,,SELECT 1,<none>`),
	)
	if got := actions(res.events); !slices.Equal(got, []string{"statement", "admin/server", "statement"}) {
		t.Fatalf("events %v", got)
	}
	if res.events[2].DB.Query.Text != "SELECT 1" {
		t.Errorf("next statement = %q", res.events[2].DB.Query.Text)
	}
}

// A prefix without %p or %c still groups the lines of one statement.
func TestNoProcessInPrefix(t *testing.T) {
	p, _ := New(FormatStderr, "%m ")
	res := feed(p, "x", linesOf(
		"2026-11-25 10:00:00.000 UTC LOG:  statement: DROP TABLE t;",
		"2026-11-25 10:00:00.001 UTC LOG:  AUDIT: SESSION,1,1,DDL,DROP TABLE,TABLE,public.t,DROP TABLE t;,<none>",
		"2026-11-25 10:00:00.001 UTC LOG:  AUDIT: SESSION,1,1,DDL,DROP TABLE,INDEX,public.t_pkey,DROP TABLE t;,<none>",
		"2026-11-25 10:00:00.002 UTC LOG:  duration: 2 ms",
		`2026-11-25 10:00:01.000 UTC LOG:  parameter "log_statement" changed to "none"`,
	))
	if len(res.events) != 2 || len(res.events[0].DB.Collection.Name) != 2 || res.events[0].Session.ID != "" {
		t.Fatalf("events %+v", res.events)
	}
	if e := res.events[1]; e.SQL.Setting.Name != "log_statement" || e.User.Name != "" {
		t.Errorf("setting event %+v", e)
	}
}

func TestSessionTime(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0:00:00.010":  10 * time.Millisecond,
		"0:00:01.465":  1465 * time.Millisecond,
		"12:03:04.5":   12*time.Hour + 3*time.Minute + 4500*time.Millisecond,
		"1:02:03":      time.Hour + 2*time.Minute + 3*time.Second,
		"x":            0,
		"1:2:3:4.000":  0,
		"0:00:00.1234": 123400 * time.Microsecond,
	} {
		if got := parseSessionTime([]byte(in)); got != int64(want) {
			t.Errorf("%s: %v, want %v", in, time.Duration(got), want)
		}
	}
}

func TestPendingPosition(t *testing.T) {
	p, err := New(FormatStderr, "%m [%p] %q%u@%d ")
	if err != nil {
		t.Fatal(err)
	}
	var out []*event.Event
	emit := func(ev *event.Event) { out = append(out, ev) }
	lines := []string{
		"2026-11-25 10:00:00.000 UTC [100] LOG:  connection received: host=10.0.0.1 port=5000",
		"2026-11-25 10:00:00.001 UTC [100] LOG:  connection authorized: user=bob database=app",
		"2026-11-25 10:00:00.002 UTC [200] alice@app LOG:  statement: SELECT 1",
	}
	var off int64
	for i, s := range lines {
		if err := p.Parse(parse.Line{Text: []byte(s), File: "f", Offset: off, No: int64(i + 1)}, emit); err != nil {
			t.Fatal(err)
		}
		off += int64(len(s)) + 1
	}
	// Held: bob's login (waiting for a FATAL that would make it a failure)
	// from line 2, alice's statement (waiting for its duration or error),
	// and the last stderr entry (waiting for continuation lines).
	o, no, ok := p.Pending()
	if !ok || no != 2 || o != int64(len(lines[0])+1) {
		t.Fatalf("Pending() = %d, %d, %v; want line 2 at offset %d", o, no, ok, len(lines[0])+1)
	}
	p.Flush(emit)
	if _, _, ok := p.Pending(); ok {
		t.Fatal("Pending() after Flush: still holding")
	}
	if len(out) != 2 {
		t.Fatalf("got %d events after Flush, want the login and the statement", len(out))
	}
}
