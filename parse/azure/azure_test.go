package azure

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
)

const (
	pgRID = "/SUBSCRIPTIONS/0000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.DBFORPOSTGRESQL/FLEXIBLESERVERS/PG1"
	myRID = "/SUBSCRIPTIONS/0000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.DBFORMYSQL/FLEXIBLESERVERS/MY1"
	coRID = "/SUBSCRIPTIONS/0000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.DOCUMENTDB/DATABASEACCOUNTS/ACCT1"
)

// run feeds lines (one parse.Line each) and flushes; it returns the events
// and the errors of each line.
func run(t *testing.T, p *Parser, lines ...string) ([]*event.Event, []error) {
	t.Helper()
	var evs []*event.Event
	var errs []error
	emit := func(ev *event.Event) { evs = append(evs, ev) }
	var off int64
	for i, l := range lines {
		if err := p.Parse(parse.Line{Text: []byte(l), File: "in.json", Offset: off, No: int64(i + 1)}, emit); err != nil {
			errs = append(errs, err)
		}
		off += int64(len(l)) + 1
	}
	p.Flush(emit)
	return evs, errs
}

func parseAll(t *testing.T, lines ...string) []*event.Event {
	t.Helper()
	evs, errs := run(t, New(Options{}), lines...)
	for _, err := range errs {
		t.Errorf("unexpected error: %v", err)
	}
	return evs
}

func pgRec(ts, msg, level, code, detail string) string {
	b, _ := json.Marshal(map[string]any{
		"time": ts, "resourceId": pgRID, "category": "PostgreSQLLogs", "operationName": "LogEvent",
		"properties": map[string]any{"prefix": "", "message": msg, "detail": detail, "errorLevel": level, "sqlerrcode": code, "processId": 6912},
	})
	return string(b)
}

func myRec(cat string, props map[string]any) string {
	b, _ := json.Marshal(map[string]any{
		"LogicalServerName": "my1", "time": "2026-11-25T09:10:05Z", "resourceId": myRID, "category": cat, "operationName": "LogEvent", "properties": props,
	})
	return string(b)
}

func dpRec(ts, op, rtype, act string, extra map[string]any) string {
	props := map[string]any{
		"activityId": act, "requestResourceType": rtype, "statusCode": "200", "duration": "2.5", "userAgent": "sdk/1.0",
		"clientIpAddress": "52.1.2.3", "requestCharge": "1.0", "requestLength": "0", "responseLength": "1024",
		"keyType": "PrimaryMasterKey", "databaseName": "db1", "collectionName": "c1",
	}
	for k, v := range extra {
		props[k] = v
	}
	b, _ := json.Marshal(map[string]any{"time": ts, "resourceId": coRID, "category": "DataPlaneRequests", "operationName": op, "properties": props})
	return string(b)
}

func qrsRec(ts, act, query string) string {
	q, _ := json.Marshal(map[string]any{"query": query, "parameters": []any{}})
	b, _ := json.Marshal(map[string]any{"time": ts, "resourceId": coRID, "category": "QueryRuntimeStatistics", "operationName": "QueryRuntimeStatistics",
		"properties": map[string]any{"activityId": act, "databasename": "db1", "collectionname": "c1", "partitionkeyrangeid": "0", "querytext": string(q)}})
	return string(b)
}

func actRec(ts, op, rid, result string) string {
	b, _ := json.Marshal(map[string]any{
		"time": ts, "resourceId": rid, "operationName": op, "category": "Administrative", "resultType": result,
		"resultSignature": "Succeeded.OK", "callerIpAddress": "185.220.101.34", "correlationId": "corr-1", "level": "Information",
		"identity": map[string]any{
			"authorization": map[string]any{"evidence": map[string]any{"principalId": "a1b2", "principalType": "User"}},
			"claims":        map[string]any{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "mallory@contoso.example"},
		},
		"properties": map[string]any{"statusCode": "OK"},
	})
	return string(b)
}

func TestPostgreSQLLogs(t *testing.T) {
	// Azure's default prefix %t-%c- carries no user or client: they come
	// from the session's connection lines (same %c).
	evs := parseAll(t,
		pgRec("2026-11-25T09:42:10.001Z", "2026-11-25 09:42:10 UTC-6564a200.1b00-LOG:  connection received: host=203.0.113.50 port=40000", "LOG", "00000", ""),
		pgRec("2026-11-25T09:42:10.006Z", `2026-11-25 09:42:10 UTC-6564a200.1b00-FATAL:  password authentication failed for user "alice"`, "FATAL", "28P01",
			`Connection matched file "/datadrive/pg/data/pg_hba.conf" line 12: "host all all 0.0.0.0/0 scram-sha-256"`),
		pgRec("2026-11-25T09:43:20.000Z", "2026-11-25 09:43:20 UTC-6564a2ff.1bff-LOG:  connection received: host=10.1.2.3 port=40099", "LOG", "00000", ""),
		pgRec("2026-11-25T09:43:20.008Z", "2026-11-25 09:43:20 UTC-6564a2ff.1bff-LOG:  connection authorized: user=bob database=orders application_name=psql", "LOG", "00000", ""),
		pgRec("2026-11-25T09:43:25.000Z", "2026-11-25 09:43:25 UTC-6564a2ff.1bff-LOG:  statement: ALTER ROLE bob PASSWORD 'Sup3rS3cret'\nVALID UNTIL 'infinity';", "LOG", "00000", ""),
		pgRec("2026-11-25T09:43:26.000Z", `2026-11-25 09:43:26 UTC-6564a2ff.1bff-ERROR:  relation "nope" does not exist at character 15`, "ERROR", "42P01", ""),
	)
	if len(evs) != 3 {
		for _, ev := range evs {
			t.Logf("%+v", ev)
		}
		t.Fatalf("%d events, want 3 (failed login, login, statement with its error merged)", len(evs))
	}
	f := evs[0]
	if f.Event.Action != event.ActionLoginFailed || f.User.Name != "alice" || f.Client.Address != "203.0.113.50" ||
		f.DB.Response.StatusCode != "28P01" || !strings.Contains(f.Error.Detail, "pg_hba.conf") {
		t.Errorf("failed login: %+v", f)
	}
	for _, ev := range evs {
		if ev.Server.Address != pgRID || ev.Source.Kind != KindResource || ev.DB.System.Name != "postgresql" || ev.ID == "" || ev.Log.File != "in.json" {
			t.Errorf("stamps: %+v", ev)
		}
	}
	st := evs[2]
	if st.User.Name != "bob" || st.Client.Address != "10.1.2.3" || st.DB.Namespace != "orders" {
		t.Errorf("statement did not get its session's user/client: %+v", st)
	}
	if strings.Contains(st.DB.Query.Text, "Sup3rS3cret") || !strings.Contains(st.DB.Query.Text, "VALID UNTIL") {
		t.Errorf("statement text %q: want masked, continuation kept", st.DB.Query.Text)
	}
	if st.Event.Category != event.CategoryError || st.DB.Response.StatusCode != "42P01" || st.Error.Message != `relation "nope" does not exist` {
		t.Errorf("the ERROR of the statement (SQLSTATE from sqlerrcode) is not merged into it: %+v", st)
	}
	ids := map[string]bool{}
	for _, ev := range evs {
		if ids[ev.ID] {
			t.Errorf("duplicate id %s", ev.ID)
		}
		ids[ev.ID] = true
	}
}

func TestPostgreSQLSingleServerPrefix(t *testing.T) {
	// single server: prefix apart, message without severity
	b, _ := json.Marshal(map[string]any{
		"time": "2021-08-05T05:51:47Z", "resourceId": "/SUBSCRIPTIONS/0/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.DBFORPOSTGRESQL/SERVERS/PGS", "category": "PostgreSQLLogs", "operationName": "LogEvent",
		"properties": map[string]any{"prefix": "2021-08-05 05:51:47 UTC-610b6e2b.faec-", "message": "connection authorized: user=app database=shop", "detail": "", "errorLevel": "LOG"},
	})
	evs := parseAll(t, string(b))
	if len(evs) != 1 || evs[0].Event.Action != event.ActionLogin || evs[0].User.Name != "app" || evs[0].Session.ID != "610b6e2b.faec" {
		t.Fatalf("single server login: %+v", evs)
	}
	// a message whose prefix pglog cannot read is rebuilt from the record
	evs = parseAll(t, pgRec("2026-11-25T09:00:00Z", "weird-prefix>> FATAL:  password authentication failed for user \"x\"", "FATAL", "28P01", ""))
	if len(evs) != 1 || evs[0].Event.Action != event.ActionLoginFailed || evs[0].User.Name != "x" {
		t.Fatalf("rebuilt line: %+v", evs)
	}
}

func TestMySQL(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rec   string
		check func(*event.Event) string
	}{
		{"connect", myRec("MySqlAuditLogs", map[string]any{"event_class": "connection_log", "event_subclass": "CONNECT", "connection_id": 37115, "host": "", "ip": "40.91.226.68", "user": "mysql", "db": "mysqltestdb"}),
			func(ev *event.Event) string {
				if ev.Event.Action != event.ActionLogin || ev.Event.Outcome != event.OutcomeSuccess || ev.User.Name != "mysql" || ev.Client.Address != "40.91.226.68" || ev.Session.ID != "37115" || ev.DB.Namespace != "mysqltestdb" {
					return "bad login"
				}
				return ""
			}},
		{"failed connect (CONNECTION_V2)", myRec("MySqlAuditLogs", map[string]any{"event_class": "connection_log", "event_subclass": "CONNECT", "connection_id": 1, "ip": "198.51.100.23", "user": "root", "status": 1045}),
			func(ev *event.Event) string {
				if ev.Event.Action != event.ActionLoginFailed || ev.DB.Response.StatusCode != "1045" || ev.Event.Category != event.CategoryAuthentication {
					return "bad failed login"
				}
				return ""
			}},
		{"disconnect", myRec("MySqlAuditLogs", map[string]any{"event_class": "connection_log", "event_subclass": "DISCONNECT", "connection_id": 1, "ip": "10.0.0.1", "user": "app"}),
			func(ev *event.Event) string {
				if ev.Event.Action != event.ActionLogout {
					return "bad logout"
				}
				return ""
			}},
		{"change user failed", myRec("MySqlAuditLogs", map[string]any{"event_class": "connection_log", "event_subclass": "CHANGE USER", "connection_id": 1, "ip": "10.0.0.1", "user": "admin", "status": "1045"}),
			func(ev *event.Event) string {
				if ev.Event.Action != event.ActionLoginFailed || ev.User.Name != "admin" {
					return "bad change user"
				}
				return ""
			}},
		{"general log statement", myRec("MySqlAuditLogs", map[string]any{"event_class": "general_log", "event_subclass": "LOG", "event_time": "2021-07-19T08:19:27Z", "error_code": 0, "thread_id": 37110, "host": "", "ip": "", "user": "mysql[mysql] @  [40.91.226.68]", "sql_text": "select count(*) from customer"}),
			func(ev *event.Event) string {
				if ev.Event.Action != event.ActionStatement || ev.User.Name != "mysql" || ev.Client.Address != "40.91.226.68" || ev.DB.Query.Text != "select count(*) from customer" || ev.Session.ID != "37110" || ev.DB.System.Name != "mysql" {
					return "bad statement"
				}
				return ""
			}},
		{"general log error", myRec("MySqlAuditLogs", map[string]any{"event_class": "general_log", "event_subclass": "ERROR", "error_code": 1142, "thread_id": 5, "ip": "198.51.100.23", "user": "app[app] @  [198.51.100.23]", "sql_text": "SELECT * FROM mysql.user"}),
			func(ev *event.Event) string {
				if ev.Event.Category != event.CategoryError || ev.Event.Outcome != event.OutcomeFailure || ev.DB.Response.StatusCode != "1142" {
					return "bad error"
				}
				return ""
			}},
		{"table access", myRec("MySqlAuditLogs", map[string]any{"event_class": "table_access_log", "event_subclass": "READ", "connection_id": 9, "db": "shop", "table": "customer", "sql_text": "SELECT * FROM customer"}),
			func(ev *event.Event) string {
				if len(ev.DB.Collection.Name) != 1 || ev.DB.Collection.Name[0] != "shop.customer" || ev.Log.Level != "READ" {
					return "bad table access"
				}
				return ""
			}},
		{"slow log", myRec("MySqlSlowLogs", map[string]any{"event_class": "slow_log", "start_time": "2021-07-19T12:07:46Z", "query_time": 9.188, "lock_time": 0, "rows_sent": 62, "rows_examined": 2343249, "thread_id": 39410, "host": "mysql[mysql] @  [40.91.226.68]", "db": "mysqltestdb", "sql_text": "select * from t"}),
			func(ev *event.Event) string {
				if ev.DB.Response.ReturnedRows != 62 || ev.Event.Duration != 9188*int64(time.Millisecond) || ev.User.Name != "mysql" || ev.Client.Address != "40.91.226.68" ||
					ev.Time != time.Date(2021, 7, 19, 12, 7, 46, 0, time.UTC) || ev.Session.ID != "39410" {
					return "bad slow log"
				}
				return ""
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := parseAll(t, tc.rec)
			if len(evs) != 1 {
				t.Fatalf("%d events", len(evs))
			}
			if ev := evs[0]; ev.Server.Address != myRID || ev.Source.Kind != KindResource {
				t.Errorf("stamps: %+v", ev)
			}
			if msg := tc.check(evs[0]); msg != "" {
				t.Errorf("%s: %+v", msg, evs[0])
			}
		})
	}
}

func TestSecretsMasked(t *testing.T) {
	evs := parseAll(t,
		myRec("MySqlAuditLogs", map[string]any{"event_class": "general_log", "event_subclass": "LOG", "error_code": 0, "thread_id": 1, "ip": "10.0.0.1", "user": "root[root] @  [10.0.0.1]", "sql_text": "CREATE USER x IDENTIFIED BY 'S3cret!'"}),
		myRec("MySqlAuditLogs", map[string]any{"event_class": "general_log", "event_subclass": "LOG", "error_code": 0, "thread_id": 1, "ip": "10.0.0.1", "user": "root[root] @  [10.0.0.1]", "sql_text": "SET PASSWORD FOR 'a'@'%' = 'S3cret!'"}),
		myRec("MySqlSlowLogs", map[string]any{"event_class": "slow_log", "query_time": 2.5, "host": "root[root] @  [10.0.0.1]", "sql_text": "ALTER USER 'a'@'%' IDENTIFIED BY 'S3cret!'"}),
		pgRec("2026-11-25T09:43:25.000Z", "2026-11-25 09:43:25 UTC-6564a2ff.1bff-LOG:  statement: CREATE ROLE x LOGIN PASSWORD 'S3cret!'", "LOG", "00000", ""),
		dpRec("2026-11-25T10:00:00Z", "Query", "Document", "act-9", nil),
		qrsRec("2026-11-25T10:00:00Z", "act-9", "SELECT * FROM c WHERE c.password = 'S3cret!'"),
	)
	if len(evs) != 5 {
		t.Fatalf("%d events, want 5", len(evs))
	}
	raw, _ := json.Marshal(evs)
	if strings.Contains(string(raw), "S3cret") {
		t.Errorf("a secret reached the events: %s", raw)
	}
}

func TestCosmosDataPlane(t *testing.T) {
	evs := parseAll(t, dpRec("2019-04-23T23:12:52.3814846Z", "Delete", "Document", "66a0c647", map[string]any{"statusCode": "204", "responseLength": "0", "aadPrincipalId": "6d6a4a1e-0000-4000-8000-00000000abcd"}))
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	ev := evs[0]
	if ev.Event.Category != event.CategoryDataPlane || ev.Event.Action != "delete" || ev.DB.Operation.Name != "Delete" || ev.DB.Object.Type != "Document" ||
		ev.Event.Outcome != event.OutcomeSuccess || ev.User.Name != "6d6a4a1e-0000-4000-8000-00000000abcd" || ev.Client.Address != "52.1.2.3" ||
		ev.App.Name != "sdk/1.0" || ev.DB.Namespace != "db1" || ev.DB.Collection.Name[0] != "c1" || ev.Session.ID != "66a0c647" ||
		ev.Event.Duration != 2500*int64(time.Microsecond) || ev.DB.System.Name != "cosmosdb" || ev.Server.Address != coRID ||
		ev.Time != time.Date(2019, 4, 23, 23, 12, 52, 381484600, time.UTC) {
		t.Errorf("data plane: %+v", ev)
	}
	evs = parseAll(t, dpRec("2019-04-23T23:12:52Z", "ReadFeed", "Document", "x1", map[string]any{"responseLength": "372", "statusCode": "429"}))
	if ev := evs[0]; ev.DB.Response.Bytes != 372 || ev.Event.Outcome != event.OutcomeFailure || ev.User.Name != "PrimaryMasterKey" {
		t.Errorf("read feed: %+v", ev)
	}
}

func TestCosmosJoin(t *testing.T) {
	check := func(t *testing.T, evs []*event.Event, p *Parser) {
		t.Helper()
		if len(evs) != 1 {
			t.Fatalf("%d events, want one joined event", len(evs))
		}
		ev := evs[0]
		if ev.Client.Address != "52.1.2.3" || ev.DB.Query.Text != "SELECT * FROM c WHERE c.id = '1' OR 1=1" || ev.Event.Action != "query" ||
			len(ev.SQL.Injection) == 0 || ev.SQL.Injection[0] != "tautology" || ev.DB.Response.Bytes != 1024 {
			t.Errorf("joined: %+v", ev)
		}
		if p.Stats().Joined != 1 {
			t.Errorf("stats %+v", p.Stats())
		}
	}
	t.Run("request first", func(t *testing.T) {
		p := New(Options{})
		evs, _ := run(t, p, dpRec("2026-11-25T10:00:00Z", "Query", "Document", "A1", nil), qrsRec("2026-11-25T10:00:01Z", "A1", "SELECT * FROM c WHERE c.id = '1' OR 1=1"))
		check(t, evs, p)
	})
	t.Run("text first", func(t *testing.T) {
		p := New(Options{})
		evs, _ := run(t, p, qrsRec("2026-11-25T10:00:01Z", "A1", "SELECT * FROM c WHERE c.id = '1' OR 1=1"), dpRec("2026-11-25T10:00:00Z", "Query", "Document", "A1", nil))
		check(t, evs, p)
	})
	t.Run("one document, both orders", func(t *testing.T) {
		p := New(Options{})
		doc := `{"records":[` + qrsRec("2026-11-25T10:00:01Z", "A1", "SELECT * FROM c WHERE c.id = '1' OR 1=1") + "," + dpRec("2026-11-25T10:00:00Z", "Query", "Document", "A1", nil) + `]}`
		evs, _ := run(t, p, doc)
		check(t, evs, p)
	})
	t.Run("unmatched: released by the other side's time, then at Flush", func(t *testing.T) {
		p := New(Options{})
		var evs []*event.Event
		emit := func(ev *event.Event) { evs = append(evs, ev) }
		lines := []string{
			dpRec("2026-11-25T10:00:00Z", "Query", "Document", "Q1", nil),    // its text never comes
			qrsRec("2026-11-25T10:00:00Z", "Q2", "SELECT VALUE c.id FROM c"), // its request never comes
			qrsRec("2026-11-25T10:06:00Z", "Q3", "SELECT * FROM c"),          // the text side moves 6 min on: Q1 is released
		}
		for i, l := range lines {
			if err := p.Parse(parse.Line{Text: []byte(l), File: "f", Offset: int64(i * 1000), No: int64(i + 1)}, emit); err != nil {
				t.Fatal(err)
			}
		}
		if len(evs) != 1 || evs[0].Session.ID != "Q1" || evs[0].DB.Query.Text != "" {
			t.Fatalf("after the window: %+v", evs)
		}
		if off, no, ok := p.Pending(); !ok || off != 1000 || no != 2 {
			t.Errorf("Pending() = %d, %d, %v; want the Q2 line (1000, 2)", off, no, ok)
		}
		p.Flush(emit)
		if len(evs) != 3 || evs[1].Session.ID != "Q2" || evs[1].DB.Query.Text != "SELECT VALUE c.id FROM c" || evs[2].Session.ID != "Q3" {
			t.Fatalf("after Flush: %+v", evs)
		}
		if _, _, ok := p.Pending(); ok {
			t.Error("Pending after Flush")
		}
		if st := p.Stats(); st.Unmatched != 3 || st.Joined != 0 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("cross-partition query: one text per request, repeats dropped", func(t *testing.T) {
		p := New(Options{})
		q := "SELECT * FROM c WHERE c.id = '1' OR 1=1"
		evs, _ := run(t, p,
			dpRec("2026-11-25T10:00:00Z", "Query", "Document", "P1", nil),
			qrsRec("2026-11-25T10:00:01Z", "P1", q),
			qrsRec("2026-11-25T10:00:01Z", "P1", q),
			dpRec("2026-11-25T10:00:00Z", "Query", "Document", "P1", map[string]any{"responseLength": "2048"}),
		)
		if len(evs) != 2 || evs[0].DB.Query.Text != q || evs[1].DB.Query.Text != q || evs[1].DB.Response.Bytes != 2048 {
			t.Fatalf("%d events: %+v", len(evs), evs)
		}
		if st := p.Stats(); st.Joined != 2 || st.Repeats != 1 || st.Unmatched != 0 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		p := New(Options{MaxPending: 2})
		var lines []string
		for i := range 5 {
			lines = append(lines, dpRec("2026-11-25T10:00:00Z", "Query", "Document", fmt.Sprintf("B%d", i), nil))
		}
		var evs []*event.Event
		emit := func(ev *event.Event) { evs = append(evs, ev) }
		for i, l := range lines {
			_ = p.Parse(parse.Line{Text: []byte(l), File: "f", Offset: int64(i), No: int64(i + 1)}, emit)
		}
		if len(evs) != 3 {
			t.Errorf("%d released beyond MaxPending, want 3", len(evs))
		}
		p.Flush(emit)
		if len(evs) != 5 {
			t.Errorf("%d events after Flush, want 5", len(evs))
		}
	})
}

func TestCosmosInjection(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want string
	}{
		{"SELECT * FROM c WHERE c.id = '1' OR 1=1", "tautology"},
		{"SELECT * FROM c WHERE c.id = '1' OR '1'='1'", "tautology"},
		{`SELECT * FROM c WHERE c.id = "1" OR "a"="a"`, "tautology"},
		{"SELECT * FROM c WHERE c.owner = 'x' OR true", "tautology"},
		{"SELECT * FROM c WHERE (c.owner = 'x' OR c.id = c.id)", "tautology"},
		{"SELECT * FROM c WHERE c.tenant = 'acme'--' AND c.deleted = false", "comment_truncation"},
		{"SELECT * FROM c WHERE c.id = '1'; SELECT * FROM c", "stacked"},
		{"SELECT * FROM c WHERE c.category = @category", ""},
		{"SELECT * FROM c WHERE c.price > 10 OR c.onSale = true ORDER BY c.price", ""},
		{"SELECT c.id FROM c WHERE c.a = 1 OR c.b = 2 -- list", ""},
		{"SELECT * FROM c WHERE c.x = 1 OR false", ""},
	} {
		got := strings.Join(injection(tc.q), ",")
		if got != tc.want {
			t.Errorf("injection(%q) = %q, want %q", tc.q, got, tc.want)
		}
	}
}

func TestControlPlaneAndActivity(t *testing.T) {
	cp := `{"time":"2022-06-28T10:27:39.1366627Z","resourceId":"` + coRID + `","operationName":"AccountUpdateStart","category":"ControlPlaneRequests","properties":{"activityId":"5234b824","httpstatusCode":"202","result":"Accepted","httpMethod":"PUT","ipRangeFilter":"1.1.1.1","enableVirtualNetworkFilter":"true"}}`
	lock := actRec("2026-11-25T11:05:00.0000000Z", "MICROSOFT.AUTHORIZATION/LOCKS/DELETE",
		"/subscriptions/0000/resourceGroups/RG/providers/Microsoft.DocumentDB/databaseAccounts/acct1/providers/Microsoft.Authorization/locks/keep", "Success")
	cont := actRec("2026-11-25T11:10:00.0000000Z", "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/write",
		"/subscriptions/0000/resourceGroups/RG/providers/Microsoft.DocumentDB/databaseAccounts/acct1/sqlDatabases/Shop/containers/Orders", "Start")
	evs := parseAll(t, cp, lock, cont)
	if len(evs) != 3 {
		t.Fatalf("%d events", len(evs))
	}
	if ev := evs[0]; ev.Event.Category != event.CategoryControlPlane || ev.Event.Action != "accountupdatestart" || ev.Session.ID != "5234b824" ||
		ev.Source.Kind != KindResource || ev.DB.Response.StatusCode != "202" {
		t.Errorf("control plane: %+v", ev)
	}
	if ev := evs[1]; ev.Event.Action != "microsoft.authorization/locks/delete" || ev.Server.Address != coRID || ev.DB.System.Name != "cosmosdb" ||
		ev.User.Name != "mallory@contoso.example" || ev.Client.Address != "185.220.101.34" || ev.Event.Outcome != event.OutcomeSuccess ||
		ev.Source.Kind != KindActivity || ev.Session.ID != "corr-1" {
		t.Errorf("lock delete: %+v", ev)
	}
	if ev := evs[2]; ev.DB.Namespace != "Shop" || len(ev.DB.Collection.Name) != 1 || ev.DB.Collection.Name[0] != "Orders" || ev.Event.Outcome != "" || ev.Server.Address != coRID {
		t.Errorf("container write: %+v", ev)
	}
}

func TestEnvelopes(t *testing.T) {
	a := dpRec("2026-11-25T10:00:00Z", "Read", "Document", "E1", nil)
	b := dpRec("2026-11-25T10:00:01Z", "Read", "Document", "E2", nil)
	c := dpRec("2026-11-25T10:00:02Z", "Read", "Document", "E3", nil)
	var pretty strings.Builder
	{
		var recs []json.RawMessage
		for _, r := range []string{a, b, c} {
			recs = append(recs, json.RawMessage(r))
		}
		out, _ := json.MarshalIndent(map[string]any{"records": recs}, "", "  ")
		pretty.Write(out)
	}
	for _, tc := range []struct {
		name   string
		lines  []string
		events int
		errors int
	}{
		{"single line", []string{`{"records":[` + a + "," + b + "," + c + `]}`}, 3, 0},
		{"pretty-printed over lines", strings.Split(pretty.String(), "\n"), 3, 0},
		{"whole multi-line document in one Line (Kafka)", []string{pretty.String()}, 3, 0},
		{"NDJSON", []string{a, b, c}, 3, 0},
		{"NDJSON with commas and wrapped", []string{"[", a + ",", b + ",", c, "]"}, 3, 0},
		{"two documents on one line", []string{`{"records":[` + a + `]}{"records":[` + b + "," + c + `]}`}, 3, 0},
		{"garbage line between records", []string{a, "this is not json", b, c}, 3, 1},
		{"truncated record between records", []string{a, a[:len(a)/2], b, c}, 3, 1},
		{"unterminated string between records", []string{a, `{"time":"2026-11-25T10:00:00Z","category":"DataPlaneRequests","resourceId":"x`, b, c}, 3, 1},
		{"bad record inside a records document", []string{`{"records":[` + a + `,{"time": tru},` + b + "," + c + `]}`}, 3, 1},
		{"record without time", []string{a, `{"category":"DataPlaneRequests","resourceId":"x","operationName":"Read","properties":{}}`, b, c}, 3, 1},
		{"other categories ignored", []string{a, `{"time":"2026-11-25T10:00:00Z","resourceId":"x","category":"PartitionKeyStatistics","properties":{"sizeKb":"1"}}`, b, c}, 3, 0},
		{"AzureDiagnostics capitalized keys", []string{`{"TimeGenerated":"2026-11-25T10:00:00Z","ResourceId":"` + coRID + `","Category":"DataPlaneRequests","OperationName":"Read","properties":{"activityId":"Z","statusCode":"200"}}`}, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, errs := run(t, New(Options{}), tc.lines...)
			if len(evs) != tc.events || len(errs) != tc.errors {
				t.Errorf("%d events, %d errors (%v); want %d, %d", len(evs), len(errs), errs, tc.events, tc.errors)
			}
			ids := map[string]bool{}
			for _, ev := range evs {
				if ids[ev.ID] {
					t.Errorf("duplicate id %s", ev.ID)
				}
				ids[ev.ID] = true
			}
		})
	}
}

func TestIDsDeterministicAndLines(t *testing.T) {
	a := dpRec("2026-11-25T10:00:00Z", "Read", "Document", "E1", nil)
	b := dpRec("2026-11-25T10:00:01Z", "Read", "Document", "E2", nil)
	lines := []string{"{", `  "records": [`, "    " + a + ",", "    " + b, "  ]", "}"}
	e1, _ := run(t, New(Options{}), lines...)
	e2, _ := run(t, New(Options{}), lines...)
	if len(e1) != 2 || e1[0].ID != e2[0].ID || e1[1].ID != e2[1].ID || e1[0].ID == e1[1].ID {
		t.Fatalf("ids %v %v", e1, e2)
	}
	if e1[0].Log.Line != 3 || e1[1].Log.Line != 4 || e1[0].Log.File != "in.json" {
		t.Errorf("lines %d %d", e1[0].Log.Line, e1[1].Log.Line)
	}
}

func TestMaxDocBytes(t *testing.T) {
	p := New(Options{MaxDocBytes: 1024})
	big := `{"records":[` + strings.Repeat(`{"a":"`+strings.Repeat("x", 100)+`"},`, 20)
	good := dpRec("2026-11-25T10:00:00Z", "Read", "Document", "E1", nil)
	evs, errs := run(t, p, big, good)
	if len(errs) != 1 || len(evs) != 1 {
		t.Errorf("oversized document: %d events, errors %v", len(evs), errs)
	}
	// one huge string on one line: dropped with one error, the next line is read
	p = New(Options{MaxDocBytes: 1024})
	evs, errs = run(t, p, `{"records":[{"time":"`+strings.Repeat("y", 5000)+`"}, `+good+`]}`, good)
	if len(errs) != 1 || len(evs) != 1 || len(p.buf) > 2048 {
		t.Errorf("oversized string: %d events, errors %v, buffer %d", len(evs), errs, len(p.buf))
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name string
		head string
		want bool
	}{
		{"records envelope", `{"records":[{"time":"2026-11-25T10:00:00Z"`, true},
		{"records envelope pretty", "{\n  \"records\": [\n    {\n", true},
		{"NDJSON resource log", dpRec("2026-11-25T10:00:00Z", "Read", "Document", "E1", nil) + "\n", true},
		{"NDJSON activity log, cut", `{"time":"2026-11-25T11:05:00.0000000Z","resourceId":"/subscriptions/0000/resourceGroups/RG/providers/Microsoft.Authorization/locks/keep","operationName":"MICROSOFT.AUTHORIZATION/LOCKS/DELETE","category":"Administrative","resultType":"Success","identity":{"claims":{"upn":"ma`, true},
		{"wrapped array", "[\n" + dpRec("2026-11-25T10:00:00Z", "Read", "Document", "E1", nil), true},
		{"Vigil NDJSON event", `{"id":"1","time":"2026-11-25T09:00:00Z","source":{"kind":"postgres_log"},"db":{"system":{"name":"postgresql"}},"event":{"category":"authentication","action":"login"}}`, false},
		{"PostgreSQL jsonlog", `{"timestamp":"2026-11-25 09:42:14.946 UTC","user":"postgres","dbname":"appdb","pid":1,"error_severity":"LOG","message":"statement: SELECT 1"}`, false},
		{"PostgreSQL csvlog", `2026-11-25 09:42:14.946 UTC,"postgres","appdb",1,"[local]",6564a1f0.1,1,"idle",2026-11-25 09:42:14 UTC,3/2,0,LOG,00000,"statement: SELECT 1",,,,,,,,,"psql","client backend",,0`, false},
		{"PostgreSQL stderr", `2026-11-25 09:42:14 UTC-6564a1f0.1a00-LOG:  connection received: host=10.0.0.1 port=5`, false},
		{"Percona audit", `{"audit_record":{"name":"Query","record":"1_2026","timestamp":"2026-11-25T09:44:06Z","command_class":"select"}}`, false},
		{"MySQL Enterprise audit", `[{"timestamp":"2026-11-25 09:44:06","id":0,"class":"connection","event":"connect","connection_id":7}]`, false},
		{"empty", "", false},
	} {
		if got := Detect([]byte(tc.head)) > 0; got != tc.want {
			t.Errorf("%s: Detect = %v, want %v", tc.name, got, tc.want)
		}
	}
	f, ok := parse.Detect([]byte(`{"records":[`))
	if !ok || f.Name != FormatName {
		t.Errorf("registry: %v %v", f.Name, ok)
	}
}

// TestDetectSamples: none of the captured PostgreSQL and MariaDB samples
// (stderr, csvlog, jsonlog, server_audit, error log) is claimed.
func TestDetectSamples(t *testing.T) {
	for _, dir := range []string{"../../../shared/samples/postgresql", "../../../shared/samples/mariadb"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatalf("the shared samples (../shared/samples next to the repository) are missing: %v", err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > 64<<10 {
				b = b[:64<<10]
			}
			if s := Detect(b); s != 0 {
				t.Errorf("%s/%s claimed (%d)", dir, e.Name(), s)
			}
		}
	}
}

// TestPendingPostgreSQL: a login held by the PostgreSQL parser (waiting for
// a FATAL of its session) keeps its record's input position pending.
func TestPendingPostgreSQL(t *testing.T) {
	p := New(Options{})
	var evs []*event.Event
	emit := func(ev *event.Event) { evs = append(evs, ev) }
	lines := []string{
		pgRec("2026-11-25T09:43:20.000Z", "2026-11-25 09:43:20 UTC-6564a2ff.1bff-LOG:  connection received: host=10.1.2.3 port=40099", "LOG", "00000", ""),
		pgRec("2026-11-25T09:43:20.008Z", "2026-11-25 09:43:20 UTC-6564a2ff.1bff-LOG:  connection authorized: user=bob database=orders", "LOG", "00000", ""),
	}
	for i, l := range lines {
		if err := p.Parse(parse.Line{Text: []byte(l), File: "f", Offset: int64(1000 * (i + 1)), No: int64(i + 1)}, emit); err != nil {
			t.Fatal(err)
		}
	}
	if off, no, ok := p.Pending(); !ok || off != 2000 || no != 2 {
		t.Errorf("Pending() = %d, %d, %v; want 2000, 2", off, no, ok)
	}
	p.Flush(emit)
	if len(evs) != 1 || evs[0].Event.Action != event.ActionLogin {
		t.Errorf("after Flush: %+v", evs)
	}
	if _, _, ok := p.Pending(); ok {
		t.Error("still pending after Flush")
	}
}

// TestSameLineTwiceSameIDs: a line parsed twice (a Kafka record delivered
// again) yields the same event ids, which lets the store drop the copy.
func TestSameLineTwiceSameIDs(t *testing.T) {
	body, err := os.ReadFile("../../testdata/azure/03-cosmos-eventhub.json")
	if err != nil {
		t.Fatal(err)
	}
	one := bytes.Join(bytes.Fields(body), []byte(" ")) // the whole document on one line
	ids := func() []string {
		p := New(Options{})
		var out []string
		emit := func(ev *event.Event) { out = append(out, ev.ID) }
		for range 2 {
			if err := p.Parse(parse.Line{Text: one, File: "kafka:t/0", Offset: 7, No: 8}, emit); err != nil {
				t.Fatal(err)
			}
		}
		p.Flush(emit)
		return out
	}()
	seen := map[string]int{}
	for _, id := range ids {
		seen[id]++
	}
	if len(ids) == 0 || len(seen)*2 != len(ids) {
		t.Fatalf("the same line parsed twice gave %d events with %d distinct ids, want each id twice", len(ids), len(seen))
	}
}
