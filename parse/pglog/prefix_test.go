package pglog

import (
	"strings"
	"testing"
	"time"
)

func TestPrefixMatch(t *testing.T) {
	type want struct {
		user, db, app, host string
		port                int
		pid                 int64
		sid                 string
		time                string
		sev                 severity
		msg                 string
		nonSession          bool
	}
	cases := []struct {
		prefix string
		line   string
		ok     bool
		w      want
	}{
		{`'%m [%p] %q%u@%d '`, `2026-11-25 09:42:20.849 UTC [9818] alice@appdb FATAL:  password authentication failed for user "alice"`, true,
			want{user: "alice", db: "appdb", pid: 9818, time: "2026-11-25T09:42:20.849Z", sev: sevFatal, msg: `password authentication failed for user "alice"`}},
		{`'%m [%p] %q%u@%d '`, `2026-11-25 09:42:20.804 UTC [9816] [unknown]@[unknown] LOG:  connection received: host=127.0.0.1 port=39076`, true,
			want{user: "", db: "", pid: 9816, time: "2026-11-25T09:42:20.804Z", sev: sevLog, msg: "connection received: host=127.0.0.1 port=39076"}},
		{`'%m [%p] %q%u@%d '`, `2026-11-25 09:42:11.364 UTC [9331] LOG:  starting PostgreSQL 15.20`, true,
			want{pid: 9331, time: "2026-11-25T09:42:11.364Z", sev: sevLog, msg: "starting PostgreSQL 15.20", nonSession: true}},
		{`'%m [%p] %q%u@%d '`, "2026-11-25 09:42:20.890 UTC [9820] nosuchuser@appdb DETAIL:  Role \"nosuchuser\" does not exist.", true,
			want{user: "nosuchuser", db: "appdb", pid: 9820, time: "2026-11-25T09:42:20.89Z", sev: sevDetail, msg: `Role "nosuchuser" does not exist.`}},
		{`'%m [%p] %q%u@%d '`, `2026-11-25 09:42:54 UTC::@:[9331]:LOG:  parameter "x" changed to "y"`, false, want{}},
		{`%m [%p] `, `2026-11-25 09:42:11.364 UTC [9331] LOG:  database system is ready`, true,
			want{pid: 9331, time: "2026-11-25T09:42:11.364Z", sev: sevLog, msg: "database system is ready"}},
		{`%m [%p] `, `2026-11-25 09:42:11.364 UTC [9331] postgres@appdb LOG:  x`, false, want{}},
		{`'%t:%r:%u@%d:[%p]:'`, `2026-11-25 09:42:56 UTC:[local]:postgres@appdb:[11384]:LOG:  statement: SELECT 1;`, true,
			want{user: "postgres", db: "appdb", host: "[local]", pid: 11384, time: "2026-11-25T09:42:56Z", sev: sevLog, msg: "statement: SELECT 1;"}},
		{`'%t:%r:%u@%d:[%p]:'`, `2026-11-25 09:42:56 UTC:10.1.2.3(51234):app_user@shop:[11384]:ERROR:  permission denied for table t`, true,
			want{user: "app_user", db: "shop", host: "10.1.2.3", port: 51234, pid: 11384, time: "2026-11-25T09:42:56Z", sev: sevError, msg: "permission denied for table t"}},
		{`'%t:%r:%u@%d:[%p]:'`, `2026-11-25 09:42:56 UTC:::1(51234):app_user@shop:[11384]:LOG:  x`, true,
			want{user: "app_user", db: "shop", host: "::1", port: 51234, pid: 11384, time: "2026-11-25T09:42:56Z", sev: sevLog, msg: "x"}},
		{`'%t:%r:%u@%d:[%p]:'`, `2026-11-25 09:42:54 UTC::@:[9331]:LOG:  parameter "log_statement" changed to "ddl"`, true,
			want{pid: 9331, time: "2026-11-25T09:42:54Z", sev: sevLog, msg: `parameter "log_statement" changed to "ddl"`}},
		{`'%t-%c-'`, `2026-11-25 09:43:07 UTC-6b06adab.2f2b-FATAL:  28P01: password authentication failed for user "postgres"`, true,
			want{sid: "6b06adab.2f2b", time: "2026-11-25T09:43:07Z", sev: sevFatal, msg: `28P01: password authentication failed for user "postgres"`}},
		{`'%t-%c-'`, "2026-11-25 09:43:07 UTC-6b06adab.2f2b-LOCATION:  auth_failed, auth.c:334", true,
			want{sid: "6b06adab.2f2b", time: "2026-11-25T09:43:07Z", sev: sevLocation, msg: "auth_failed, auth.c:334"}},
		{`'%m [%p] %q%u@%d/%a '`, `2026-11-25 09:43:20.195 UTC [12914] alice@appdb/sqlmap LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1;,<not logged>`, true,
			want{user: "alice", db: "appdb", app: "sqlmap", pid: 12914, time: "2026-11-25T09:43:20.195Z", sev: sevLog, msg: "AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1;,<not logged>"}},
		{`'%m [%p] %q%u@%d/%a '`, `2026-11-25 09:43:20.195 UTC [12914] alice@appdb/DBeaver 23.1.0 - Main LOG:  statement: SELECT 1`, true,
			want{user: "alice", db: "appdb", app: "DBeaver 23.1.0 - Main", pid: 12914, time: "2026-11-25T09:43:20.195Z", sev: sevLog, msg: "statement: SELECT 1"}},
		{`'%m [%p] %q%u@%d/%a '`, `2026-11-25 09:43:20.170 UTC [12914] [unknown]@[unknown]/[unknown] LOG:  connection received: host=127.0.0.1 port=58932`, true,
			want{pid: 12914, time: "2026-11-25T09:43:20.17Z", sev: sevLog, msg: "connection received: host=127.0.0.1 port=58932"}},
		{`'%m [%p] %q%u@%d %h %a '`, `2026-11-25 09:43:20.195 UTC [12914] alice@appdb 10.0.0.5 DBeaver 23.1.0 - Main ERROR:  syntax error at or near "x" at character 8`, true,
			want{user: "alice", db: "appdb", host: "10.0.0.5", app: "DBeaver 23.1.0 - Main", pid: 12914, time: "2026-11-25T09:43:20.195Z", sev: sevError, msg: `syntax error at or near "x" at character 8`}},
		{`'%m [%p] %q%u@%d %h %a '`, `2026-11-25 09:43:20.195 UTC [12914] alice@appdb [local] psql LOG:  statement: SELECT 'ERROR:  not a severity'`, true,
			want{user: "alice", db: "appdb", host: "[local]", app: "psql", pid: 12914, time: "2026-11-25T09:43:20.195Z", sev: sevLog, msg: "statement: SELECT 'ERROR:  not a severity'"}},
		{`'%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h '`, `2026-11-25 09:43:20 UTC [12914]: [3-1] user=alice,db=appdb,app=psql,client=10.0.0.5 LOG:  statement: SELECT 1`, true,
			want{user: "alice", db: "appdb", app: "psql", host: "10.0.0.5", pid: 12914, time: "2026-11-25T09:43:20Z", sev: sevLog, msg: "statement: SELECT 1"}},
		{`'%a|%u|%d|%r|%h|%b|%p|%P|%t|%m|%n|%i|%e|%c|%l|%s|%v|%x|%Q|%%|'`,
			`psql|alice|appdb|10.0.0.5(5432)|10.0.0.5|client backend|123||2026-11-25 09:42:14 UTC|2026-11-25 09:42:14.946 UTC|1764063734.946|CREATE TABLE|00000|6b06ad76.7b|3|2026-11-25 09:42:14 UTC|3/8|0|-42|%|LOG:  statement: SELECT 1`, true,
			want{user: "alice", db: "appdb", app: "psql", host: "10.0.0.5", port: 5432, pid: 123, sid: "6b06ad76.7b", time: "2026-11-25T09:42:14.946Z", sev: sevLog, msg: "statement: SELECT 1"}},
		{`'%n %-10u %5p '`, `1764063734.946 alice        123 LOG:  x`, true,
			want{user: "alice", pid: 123, time: "2025-11-25T09:42:14.946Z", sev: sevLog, msg: "x"}},
		{`'%m %e %v '`, `2026-11-25 09:42:14.946 +05:30 42501  ERROR:  permission denied`, true,
			want{time: "2026-11-25T04:12:14.946Z", sev: sevError, msg: "permission denied"}},
		{`''`, `LOG:  x`, true, want{sev: sevLog, msg: "x"}},
		{`'%m [%p] '`, `garbage`, false, want{}},
	}
	for _, c := range cases {
		p, err := CompilePrefix(c.prefix)
		if err != nil {
			t.Fatalf("%s: %v", c.prefix, err)
		}
		var m prefixMatch
		var tc timeCache
		line := []byte(c.line)
		ok := p.match(line, &m, &tc, time.UTC)
		if ok != c.ok {
			t.Errorf("%s\n  %s\n  match = %v, want %v", c.prefix, c.line, ok, c.ok)
			continue
		}
		if !ok {
			continue
		}
		got := want{
			user: string(clean(m.user.of(line))), db: string(clean(m.db.of(line))), app: string(clean(m.app.of(line))),
			host: string(m.host.of(line)), port: m.port, pid: m.pid, sid: string(m.sid.of(line)),
			sev: m.sev, msg: string(line[m.msg:]), nonSession: m.nonSession,
		}
		if m.hasTime {
			got.time = m.t.Format(time.RFC3339Nano)
		}
		if got != c.w {
			t.Errorf("%s\n  %s\n  got  %+v\n  want %+v", c.prefix, c.line, got, c.w)
		}
	}
}

func TestCompilePrefixConfSyntax(t *testing.T) {
	for in, want := range map[string]string{
		`'%m [%p] %q%u@%d '`: "%m [%p] %q%u@%d ",
		`%m [%p] `:           "%m [%p] ",
		`'it''s %p '`:        "it's %p ",
		`'%t\t%p '`:          "%t\t%p ",
	} {
		p, err := CompilePrefix(in)
		if err != nil || p.String() != want {
			t.Errorf("CompilePrefix(%q) = %q, %v; want %q", in, p, err, want)
		}
	}
	if _, err := CompilePrefix(`'a'b'`); err == nil {
		t.Error("unbalanced quote accepted")
	}
	p, _ := CompilePrefix("%m %z%u ") // unknown escape prints nothing
	if !p.Has('u') || p.Has('z') || p.Has('d') {
		t.Error("Has")
	}
}

func TestDetectPrefix(t *testing.T) {
	for file, want := range map[string]string{
		"postgresql-phase1.log": "%m [%p] %q%u@%d ",
		"postgresql-phase2.log": "%t:%r:%u@%d:[%p]:",
		"postgresql-phase3.log": "%t-%c-",
		"postgresql-phase4.log": "%m [%p] %q%u@%d/%a ",
	} {
		got, ok := DetectPrefix(sampleLines(t, file))
		if !ok || got != want {
			t.Errorf("%s: DetectPrefix = %q %v, want %q", file, got, ok, want)
		}
	}
	got, ok := DetectPrefix(linesOf(
		"2026-11-25 09:43:20.195 UTC [1] alice@appdb 10.0.0.5 DBeaver 23.1.0 - Main LOG:  statement: SELECT 1",
		"2026-11-25 09:43:20.195 UTC [1] alice@appdb 10.0.0.5 DBeaver 23.1.0 - Main LOG:  duration: 1 ms",
	))
	if !ok || got != "%m [%p] %q%u@%d %h %a " {
		t.Errorf("host+app prefix detected as %q", got)
	}
	if f, _, err := Detect(linesOf(`{"id":"x","time":"2026-11-25T10:00:00Z","event":{"action":"login"}}`)); err == nil {
		t.Errorf("NDJSON events detected as %q", f)
	}
	if _, ok := DetectPrefix(linesOf("hello", "world")); ok {
		t.Error("garbage detected as a prefix")
	}
	if f, _, err := Detect(linesOf("", "hello world")); err == nil || f != FormatStderr {
		t.Errorf("Detect of garbage: %q %v", f, err)
	} else if !strings.Contains(err.Error(), "hello world") {
		t.Errorf("error does not show the line: %v", err)
	}
}
