package mysqlaudit

import (
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
)

// MySQL Enterprise Audit, audit_log_format=JSON: one array of
// pretty-printed objects (layout from the MySQL 8.4 manual).
const enterpriseJSON = `[
  {
    "timestamp": "2026-11-25 09:50:01",
    "id": 0,
    "class": "audit",
    "event": "startup",
    "connection_id": 0,
    "startup_data": { "server_id": 1, "os_version": "x86_64-Linux", "mysql_version": "8.4.3-commercial" }
  },
  {
    "timestamp": "2026-11-25 09:50:02",
    "id": 0,
    "class": "connection",
    "event": "connect",
    "connection_id": 12,
    "account": { "user": "app", "host": "10.0.0.5" },
    "login": { "user": "app", "os": "", "ip": "10.0.0.5", "proxy": "" },
    "connection_data": { "connection_type": "ssl", "status": 0, "db": "shop",
      "connection_attributes": { "_pid": "4242", "_client_name": "libmysql", "program_name": "sqlmap" } }
  },
  {
    "timestamp": "2026-11-25 09:50:03",
    "id": 1,
    "class": "general",
    "event": "status",
    "connection_id": 12,
    "account": { "user": "app", "host": "10.0.0.5" },
    "login": { "user": "app", "os": "", "ip": "10.0.0.5", "proxy": "" },
    "general_data": { "command": "Query", "sql_command": "create_user", "query": "CREATE USER 'x'@'%' IDENTIFIED BY 'Sup3rSecret!'", "status": 0 }
  },
  {
    "timestamp": "2026-11-25 09:50:04",
    "id": 0,
    "class": "table_access",
    "event": "read",
    "connection_id": 12,
    "table_access_data": { "db": "shop", "table": "customers", "query": "SELECT * FROM customers", "sql_command": "select" }
  },
  {
    "timestamp": "2026-11-25 09:50:04",
    "id": 1,
    "class": "general",
    "event": "status",
    "connection_id": 12,
    "account": { "user": "app", "host": "10.0.0.5" },
    "login": { "user": "app", "os": "", "ip": "10.0.0.5", "proxy": "" },
    "general_data": { "command": "Query", "sql_command": "drop_table", "query": "DROP TABLE customers", "status": 1142 },
    "query_statistics": { "query_time": 0.0012, "rows_sent": 0, "rows_examined": 0, "bytes_received": 20, "bytes_sent": 80 }
  },
  {
    "timestamp": "2026-11-25 09:50:05",
    "id": 0,
    "class": "connection",
    "event": "connect",
    "connection_id": 13,
    "account": { "user": "root", "host": "203.0.113.9" },
    "login": { "user": "root", "os": "", "ip": "203.0.113.9", "proxy": "" },
    "connection_data": { "connection_type": "tcp/ip", "status": 1045, "db": "" }
  },
  {
    "timestamp": "2026-11-25 09:50:06",
    "id": 0,
    "class": "connection",
    "event": "disconnect",
    "connection_id": 12,
    "account": { "user": "app", "host": "10.0.0.5" },
    "login": { "user": "app", "os": "", "ip": "10.0.0.5", "proxy": "" },
    "connection_data": { "connection_type": "ssl" }
  }
]
`

func TestMySQLEnterpriseJSON(t *testing.T) {
	evs, bad := run(t, NewMySQLJSON(), "audit.log", enterpriseJSON)
	if bad != 0 {
		t.Fatalf("%d lines refused", bad)
	}
	if len(evs) != 6 {
		t.Fatalf("%d events, want 6 (startup, connect, 2 statements, failed connect, disconnect)", len(evs))
	}
	if evs[0].Event.Action != event.ActionServer || evs[0].Log.Line != 2 {
		t.Errorf("startup: %+v", evs[0])
	}
	c := evs[1]
	if c.Event.Action != event.ActionLogin || c.User.Name != "app" || c.Client.Address != "10.0.0.5" ||
		c.App.Name != "sqlmap" || c.DB.Namespace != "shop" || c.Session.ID != "12" ||
		!c.Time.Equal(time.Date(2026, 11, 25, 9, 50, 2, 0, time.UTC)) {
		t.Errorf("connect: %+v", c)
	}
	if q := evs[2]; q.DB.Query.Text != "CREATE USER 'x'@'%' IDENTIFIED BY '***'" || q.Event.Outcome != event.OutcomeSuccess {
		t.Errorf("create user: %+v", q)
	}
	if q := evs[3]; q.DB.Response.StatusCode != "1142" || q.Event.Outcome != event.OutcomeFailure || q.Event.Category != event.CategoryError ||
		q.DB.Response.Bytes != 80 || q.Event.Duration != int64(1.2*float64(time.Millisecond)) {
		t.Errorf("drop: %+v", q)
	}
	if f := evs[4]; f.Event.Action != event.ActionLoginFailed || f.User.Name != "root" || f.DB.Response.StatusCode != "1045" {
		t.Errorf("failed connect: %+v", f)
	}
	if d := evs[5]; d.Event.Action != event.ActionLogout {
		t.Errorf("disconnect: %+v", d)
	}
	for _, ev := range evs {
		if ev.DB.System.Name != "mysql" || ev.Source.Kind != "mysql_audit" {
			t.Fatalf("event %+v", ev)
		}
	}
	uniqueIDs(t, evs)
	noSecrets(t, evs, "Sup3rSecret")

	// One compact object per line (JSONL, audit_log_filter) gives the same.
	var compact []string
	for _, ev := range strings.Split(enterpriseJSON, "\n  },") {
		compact = append(compact, strings.Join(strings.Fields(ev), " "))
	}
	evs2, bad := run(t, NewMySQLJSON(), "audit.log", strings.Join(compact, "},\n"))
	if bad != 0 || len(evs2) != 6 {
		t.Errorf("compact: %d events, %d refused", len(evs2), bad)
	}
}

// Percona Server audit_log_format=JSON (records from the Percona manual).
const perconaJSON = `{"audit_record":{"name":"Connect","record":"1_2026-11-25T09:00:00","timestamp":"2026-11-25T09:55:00 UTC","connection_id":"7","status":0,"user":"app","priv_user":"app","os_login":"","proxy_user":"","host":"localhost","ip":"10.0.0.8","db":"shop"}}
{"audit_record":{"name":"Query","record":"2_2026-11-25T09:00:00","timestamp":"2026-11-25T09:55:01 UTC","command_class":"select","connection_id":"7","status":0,"sqltext":"SELECT * FROM customers INTO OUTFILE '/tmp/c.csv'","user":"app[app] @ localhost [10.0.0.8]","host":"localhost","os_user":"","ip":"10.0.0.8","db":"shop"}}
{"audit_record":{"name":"Query","record":"3_2026-11-25T09:00:00","timestamp":"2026-11-25T09:55:02 UTC","command_class":"set_option","connection_id":"7","status":1227,"sqltext":"SET PASSWORD FOR root = 'Hunter2!'","user":"app[app] @ localhost [10.0.0.8]","host":"localhost","os_user":"","ip":"10.0.0.8","db":"shop"}}
{"audit_record":{"name":"Connect","record":"4_2026-11-25T09:00:00","timestamp":"2026-11-25T09:55:03 UTC","connection_id":"8","status":1045,"user":"root","priv_user":"","os_login":"","proxy_user":"","host":"","ip":"198.51.100.4","db":""}}
{"audit_record":{"name":"Quit","record":"5_2026-11-25T09:00:00","timestamp":"2026-11-25T09:55:04 UTC","connection_id":"7","status":0,"user":"app","priv_user":"app","os_login":"","proxy_user":"","host":"localhost","ip":"10.0.0.8","db":""}}
`

func TestPerconaJSON(t *testing.T) {
	evs, bad := run(t, NewPerconaJSON(), "audit.log", perconaJSON)
	if bad != 0 || len(evs) != 5 {
		t.Fatalf("%d events, %d refused", len(evs), bad)
	}
	if ev := evs[0]; ev.Event.Action != event.ActionLogin || ev.User.Name != "app" || ev.Client.Address != "10.0.0.8" {
		t.Errorf("connect: %+v", ev)
	}
	if ev := evs[1]; ev.User.Name != "app" || ev.Event.Outcome != event.OutcomeSuccess || !strings.Contains(ev.DB.Query.Text, "OUTFILE") {
		t.Errorf("query: %+v", ev)
	}
	if ev := evs[2]; ev.Event.Outcome != event.OutcomeFailure || ev.DB.Response.StatusCode != "1227" {
		t.Errorf("denied: %+v", ev)
	}
	if ev := evs[3]; ev.Event.Action != event.ActionLoginFailed || ev.Client.Address != "198.51.100.4" {
		t.Errorf("failed: %+v", ev)
	}
	if ev := evs[4]; ev.Event.Action != event.ActionLogout {
		t.Errorf("quit: %+v", ev)
	}
	if !evs[0].Time.Equal(time.Date(2026, 11, 25, 9, 55, 0, 0, time.UTC)) {
		t.Errorf("time %v", evs[0].Time)
	}
	noSecrets(t, evs, "Hunter2")
	uniqueIDs(t, evs)
}

const generalLog = `/usr/sbin/mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:
Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock
Time                 Id Command    Argument
2026-11-25T10:00:00.100000Z	    8 Connect	app@10.0.0.5 on shop using TCP/IP
2026-11-25T10:00:00.200000Z	    8 Query	SELECT * FROM customers
WHERE id = 1 OR 1=1
2026-11-25T10:00:00.300000Z	    9 Connect	Access denied for user 'root'@'203.0.113.9' (using password: YES)
2026-11-25T10:00:00.400000Z	    8 Query	CREATE USER 'x'@'%' IDENTIFIED BY 'Gen3ralPass'
2026-11-25T10:00:00.500000Z	    8 Init DB	other
2026-11-25T10:00:00.600000Z	    8 Query	DROP TABLE t
2026-11-25T10:00:00.700000Z	    8 Quit	
`

const generalLogMariaDB = `/usr/sbin/mariadbd, Version: 10.11.19-MariaDB-0+deb12u1-log (Debian 12). started with:
Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock
Time		    Id Command	Argument
261125  9:44:16	    8 Connect	root@localhost on shop using Socket
		    8 Query	SELECT 1
261125  9:44:17	    9 Connect	app@127.0.0.1 on shop using TCP/IP
		    9 Connect	Access denied for user 'app'@'127.0.0.1' (using password: YES)
		    8 Quit	
`

func TestGeneralLog(t *testing.T) {
	evs, bad := run(t, NewGeneral(), "general.log", generalLog)
	if bad != 0 {
		t.Fatalf("%d refused", bad)
	}
	var acts []string
	for _, ev := range evs {
		acts = append(acts, ev.Event.Action)
	}
	want := "login statement login_failed statement statement logout"
	if got := strings.Join(acts, " "); got != want {
		t.Fatalf("actions %q, want %q", got, want)
	}
	if ev := evs[1]; ev.DB.Query.Text != "SELECT * FROM customers\nWHERE id = 1 OR 1=1" || ev.User.Name != "app" ||
		ev.Client.Address != "10.0.0.5" || ev.DB.Namespace != "shop" || ev.Session.ID != "8" {
		t.Errorf("multi-line query: %+v", ev)
	}
	if ev := evs[2]; ev.User.Name != "root" || ev.Client.Address != "203.0.113.9" || ev.DB.Response.StatusCode != "1045" {
		t.Errorf("denied: %+v", ev)
	}
	if ev := evs[4]; ev.DB.Namespace != "other" {
		t.Errorf("Init DB not followed: %+v", ev)
	}
	noSecrets(t, evs, "Gen3ralPass")
	uniqueIDs(t, evs)

	evs, bad = run(t, NewGeneral(), "general.log", generalLogMariaDB)
	if bad != 0 {
		t.Fatalf("%d refused", bad)
	}
	acts = acts[:0]
	for _, ev := range evs {
		acts = append(acts, ev.Event.Action)
		if ev.DB.System.Name != "mariadb" {
			t.Errorf("system %q", ev.DB.System.Name)
		}
	}
	// The Connect of 9 followed by Access denied is one failed login.
	if got := strings.Join(acts, " "); got != "login statement login_failed logout" {
		t.Fatalf("actions %q", got)
	}
	if ev := evs[1]; !ev.Time.Equal(time.Date(2026, 11, 25, 9, 44, 16, 0, time.UTC)) || ev.User.Name != "root" {
		t.Errorf("untimed record: %+v", ev)
	}
}

func TestErrorLogSample(t *testing.T) {
	evs, bad := run(t, NewErrorLog(), "mariadb-error.log", readSample(t, "mariadb-error.log"))
	if bad != 0 {
		t.Fatalf("%d refused", bad)
	}
	failed := map[string]int{}
	for _, ev := range evs {
		if ev.Event.Action == event.ActionLoginFailed {
			failed[ev.User.Name+"@"+ev.Client.Address+" "+ev.DB.Response.StatusCode]++
		}
		if ev.DB.System.Name != "mariadb" || ev.Source.Kind != "mysql_error_log" {
			t.Fatalf("event %+v", ev)
		}
	}
	want := map[string]int{
		"app@localhost 1045": 5, "nosuchuser@localhost 1045": 1, "root@localhost 1045": 1,
		"app@127.0.0.1 1045": 1, "nosuchuser@127.0.0.1 1045": 1, "app@127.0.0.1 1044": 2, "admin@127.0.0.1 1045": 3,
	}
	total := 0
	for k, n := range want {
		total += n
		if failed[k] != n {
			t.Errorf("%s: %d, want %d (%v)", k, failed[k], n, failed)
		}
	}
	if n := count(evs, action(event.ActionLoginFailed)); n != total {
		t.Errorf("%d failed logins, want %d", n, total)
	}
	if n := count(evs, func(ev *event.Event) bool { return ev.Event.Category == event.CategoryError }); n != 4 {
		t.Errorf("%d error events, want 4 (the skip-name-resolve warnings)", n)
	}
	uniqueIDs(t, evs)
}

func TestErrorLogMySQL8(t *testing.T) {
	in := "2026-11-25T10:00:00.123456Z 9 [Note] [MY-010926] [Server] Access denied for user 'root'@'203.0.113.9' (using password: YES)\n" +
		"2026-11-25T10:00:01.000000Z 0 [ERROR] [MY-010262] [Server] Can't start server: Bind on TCP/IP port: Address already in use\n" +
		"2026-11-25T10:00:02.000000Z 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections.\n"
	evs, bad := run(t, NewErrorLog(), "error.log", in)
	if bad != 0 || len(evs) != 3 {
		t.Fatalf("%d events, %d refused", len(evs), bad)
	}
	if ev := evs[0]; ev.Event.Action != event.ActionLoginFailed || ev.User.Name != "root" || ev.Session.ID != "9" ||
		ev.Error.Message != "Access denied for user 'root'@'203.0.113.9' (using password: YES)" {
		t.Errorf("denied: %+v", ev)
	}
	if evs[1].Event.Category != event.CategoryError || evs[1].Log.Level != "ERROR" || evs[2].Event.Action != event.ActionServer {
		t.Errorf("levels: %+v %+v", evs[1].Event, evs[2].Event)
	}
}

// TestDetect checks that each format claims its own input and nothing
// else: not the other MySQL formats, not PostgreSQL logs, not Azure
// resource logs, not Vigil's NDJSON events.
func TestDetect(t *testing.T) {
	pgStderr := "2026-11-25 09:42:31.030 UTC [20000] postgres@appdb LOG:  statement: SELECT 1;\n2026-11-25 09:42:31.031 UTC [20000] postgres@appdb LOG:  duration: 0.1 ms\n"
	pgCSV := `2026-11-25 09:42:14.946 UTC,"postgres","appdb",9531,"[local]",6564a1fe.253b,1,"idle",2026-11-25 09:42:14 UTC,3/2,0,LOG,00000,"statement: SELECT 1",,,,,,,,,"psql","client backend",,0` + "\n"
	pgJSON := `{"timestamp":"2026-11-25 09:42:14.946 UTC","user":"postgres","dbname":"appdb","pid":9531,"error_severity":"LOG","message":"statement: SELECT 1"}` + "\n"
	azure := `{"records":[{"time":"2026-11-25T09:10:05Z","resourceId":"/SUBSCRIPTIONS/X/PROVIDERS/MICROSOFT.DBFORMYSQL/FLEXIBLESERVERS/Y","category":"MySqlAuditLogs","operationName":"LogEvent","properties":{"event_class":"connection_log","connection_id":1,"status":1045}}]}` + "\n"
	azureNDJSON := `{"LogicalServerName":"m","time":"2026-11-25T09:10:05Z","resourceId":"/SUBSCRIPTIONS/X","category":"MySqlAuditLogs","operationName":"LogEvent","properties":{"event_class":"connection_log","connection_id":1,"timestamp":1,"event":"x","class":"y"}}` + "\n"
	events := `{"id":"1","time":"2026-11-25T09:00:00Z","event":{"action":"login"},"db":{"system":{"name":"mysql"}}}` + "\n"
	inputs := map[string]string{
		FormatMariaDBAudit: readSample(t, "server_audit.sessions.log"),
		FormatMySQLJSON:    enterpriseJSON,
		FormatPerconaJSON:  perconaJSON,
		FormatGeneral:      generalLog,
		FormatError:        readSample(t, "mariadb-error.log"),
		"general-mariadb":  generalLogMariaDB,
		"pg-stderr":        pgStderr, "pg-csv": pgCSV, "pg-json": pgJSON, "azure": azure, "azure-ndjson": azureNDJSON,
		"events": events,
	}
	want := map[string]string{"general-mariadb": FormatGeneral}
	mine := map[string]bool{FormatMariaDBAudit: true, FormatMySQLJSON: true, FormatPerconaJSON: true, FormatGeneral: true, FormatError: true}
	for name, in := range inputs {
		head := []byte(in)
		if len(head) > 64<<10 {
			head = head[:64<<10]
		}
		best, score := "", 0
		for _, f := range parse.Formats() {
			if !mine[f.Name] || f.Detect == nil {
				continue
			}
			if s := f.Detect(head); s > score {
				best, score = f.Name, s
			}
		}
		exp := ""
		if mine[name] {
			exp = name
		}
		if w, ok := want[name]; ok {
			exp = w
		}
		if best != exp {
			t.Errorf("%s detected as %q (score %d), want %q", name, best, score, exp)
		}
	}
}

// TestRegisteredLocation: the registered formats whose timestamps carry no
// zone read them in parse.Options.Location.
func TestRegisteredLocation(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ format, text string }{
		{FormatMariaDBAudit, readSample(t, "server_audit.full.log")},
		{FormatError, readSample(t, "mariadb-error.log")},
		{FormatGeneral, generalLogMariaDB},
	} {
		f, ok := parse.Lookup(tc.format)
		if !ok {
			t.Fatalf("%s not registered", tc.format)
		}
		var got [2][]*event.Event
		for i, loc := range []*time.Location{nil, tokyo} {
			p, err := f.New(parse.Options{Location: loc})
			if err != nil {
				t.Fatal(err)
			}
			got[i], _ = run(t, p, tc.format, tc.text)
		}
		if len(got[0]) == 0 || len(got[0]) != len(got[1]) {
			t.Fatalf("%s: %d and %d events", tc.format, len(got[0]), len(got[1]))
		}
		for i := range got[0] {
			if d := got[0][i].Time.Sub(got[1][i].Time); d != 9*time.Hour {
				t.Fatalf("%s event %d: %v read in UTC, %v in Asia/Tokyo: %v apart, want 9h", tc.format, i, got[0][i].Time, got[1][i].Time, d)
			}
		}
	}
}
