package pipeline

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/event"
)

const mariadbSamples = "../../shared/samples/mariadb"

// TestMariaDBSessionsReplay replays the captured server_audit log through
// the whole pipeline: the format is detected, every line is understood,
// the statements are classified by the MySQL classifier, and exactly the
// expected alerts fire.
func TestMariaDBSessionsReplay(t *testing.T) {
	res, events := replayFile(t, filepath.Join(mariadbSamples, "server_audit.sessions.log"), Options{})
	if res.Format != "mariadb_audit" {
		t.Fatalf("format %q, want mariadb_audit", res.Format)
	}
	if res.UnparsedCount != 0 {
		t.Errorf("%d unparsed lines: %v", res.UnparsedCount, res.Unparsed)
	}
	if len(events) != 93 {
		t.Errorf("%d events, want 93", len(events))
	}
	keys := alertKeys(res.Alerts)
	if os.Getenv("DUMP") != "" {
		for _, k := range keys {
			t.Log(k)
		}
	}
	want := []string{
		"auth.bruteforce_success map[client.address:localhost] count=8",
		"auth.failed_login_burst map[client.address:127.0.0.1] count=7",
		"auth.failed_login_burst map[client.address:localhost] count=7",
		"dcl.grant map[db.namespace:mysql user.name:root] count=1",
		"dcl.grant map[db.namespace:shop user.name:root] count=3",
		"ddl.alter_table map[db.namespace:shop user.name:root] count=1",
		"ddl.drop_burst map[user.name:root] count=7",
		"ddl.drop_table map[db.namespace:shop user.name:app] count=1",
		"ddl.drop_table map[db.namespace:shop user.name:root] count=4",
		"ddl.table_created map[db.namespace:shop user.name:root] count=2",
		"ddl.view_dropped map[db.namespace:shop user.name:root] count=1",
		"defense_evasion.audit_disabled map[server.address:vm sql.setting.name:server_audit_excl_users] count=1",
		"defense_evasion.audit_disabled map[server.address:vm sql.setting.name:server_audit_logging] count=1",
		"dml.mass_delete map[db.namespace:shop user.name:root] count=1",
		"errors.burst_from_ip map[client.address:127.0.0.1] count=4",
		"exfil.copy_out map[db.namespace:shop user.name:root] count=1",
		"iam.privileged_operation map[db.namespace:shop user.name:root] count=3",
		"iam.user_created map[user.name:root] count=3",
		"iam.user_dropped map[user.name:root] count=3",
		"sqli.suspected map[client.address:127.0.0.1 user.name:app] count=2",
	}
	if !slices.Equal(keys, want) {
		t.Errorf("alerts:\n  %s\nwant:\n  %s", strings.Join(keys, "\n  "), strings.Join(want, "\n  "))
	}
	severity := map[string]string{}
	for _, a := range res.Alerts {
		severity[a.RuleID+" "+a.Group["user.name"]+a.Group["sql.setting.name"]] = a.Severity
	}
	for k, s := range map[string]string{
		"ddl.drop_table app":  "medium", // refused (1142)
		"ddl.drop_table root": "critical",
		"exfil.copy_out root": "high",
		"defense_evasion.audit_disabled server_audit_logging": "critical",
		"sqli.suspected app": "high",
		"dcl.grant root":     "high", // ALL PRIVILEGES ... WITH GRANT OPTION
	} {
		if severity[k] != s {
			t.Errorf("%s: severity %q, want %q", k, severity[k], s)
		}
	}
	noSecretsIn(t, events, res.Alerts, "NewAppPass456", "wrongpass")
}

// TestMySQLLogsReplay: every MySQL format is detected from its first
// bytes and replays without unparsed lines.
func TestMySQLLogsReplay(t *testing.T) {
	res, events := replayFile(t, filepath.Join(mariadbSamples, "server_audit.full.log"), Options{})
	if res.Format != "mariadb_audit" || res.UnparsedCount != 0 {
		t.Errorf("full log: format %q, %d unparsed %v", res.Format, res.UnparsedCount, res.Unparsed)
	}
	noSecretsIn(t, events, res.Alerts, "NewAppPass456", "wrongpass")

	res, _ = replayFile(t, filepath.Join(mariadbSamples, "mariadb-error.log"), Options{})
	if res.Format != "mysql_error" || res.UnparsedCount != 0 {
		t.Errorf("error log: format %q, %d unparsed %v", res.Format, res.UnparsedCount, res.Unparsed)
	}
	keys := alertKeys(res.Alerts)
	if !slices.Contains(keys, "auth.failed_login_burst map[client.address:127.0.0.1] count=7") {
		t.Errorf("error log alerts: %v", keys)
	}

	for name, in := range map[string]string{
		"mysql_general": "/usr/sbin/mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:\n" +
			"Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock\nTime                 Id Command    Argument\n" +
			"2026-11-25T10:00:00.100000Z\t    8 Connect\tapp@10.0.0.5 on shop using TCP/IP\n" +
			"2026-11-25T10:00:00.200000Z\t    8 Query\tSELECT * FROM customers INTO OUTFILE '/tmp/x.csv'\n",
		"percona_audit_json": `{"audit_record":{"name":"Query","record":"2_2026-11-25T09:00:00","timestamp":"2026-11-25T09:55:01 UTC","command_class":"select","connection_id":"7","status":0,"sqltext":"SELECT * FROM customers INTO OUTFILE '/tmp/c.csv'","user":"app[app] @ localhost [10.0.0.8]","host":"localhost","os_user":"","ip":"10.0.0.8","db":"shop"}}` + "\n",
		"mysql_audit_json": "[\n {\n  \"timestamp\": \"2026-11-25 09:50:03\",\n  \"id\": 1,\n  \"class\": \"general\",\n  \"event\": \"status\",\n  \"connection_id\": 12,\n" +
			"  \"account\": { \"user\": \"app\", \"host\": \"10.0.0.5\" },\n  \"login\": { \"user\": \"app\", \"os\": \"\", \"ip\": \"10.0.0.5\", \"proxy\": \"\" },\n" +
			"  \"general_data\": { \"command\": \"Query\", \"sql_command\": \"select\", \"query\": \"SELECT * FROM customers INTO OUTFILE '/tmp/y'\", \"status\": 0 }\n }\n]\n",
	} {
		var evs []*event.Event
		r, err := Replay(context.Background(), Options{OnEvent: func(ev *event.Event) { evs = append(evs, ev) }},
			Input{Name: name, R: strings.NewReader(in), Size: int64(len(in))})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Format != name || r.UnparsedCount != 0 {
			t.Errorf("%s: detected %q, %d unparsed %v", name, r.Format, r.UnparsedCount, r.Unparsed)
		}
		fired := false
		for _, a := range r.Alerts {
			fired = fired || a.RuleID == "exfil.copy_out"
		}
		if !fired {
			t.Errorf("%s: exfil.copy_out did not fire (%v)", name, alertKeys(r.Alerts))
		}
	}
}

// TestClassifierDispatch: MySQL-family events are classified with the
// MySQL dialect, PostgreSQL ones with PostgreSQL's, Cosmos DB not at all.
func TestClassifierDispatch(t *testing.T) {
	cls := newClassifier()
	mk := func(system, text string) *event.Event {
		ev := &event.Event{}
		ev.DB.System.Name, ev.DB.Query.Text = system, text
		cls.Apply(ev)
		return ev
	}
	// Backticks and MySQL grant levels parse only as MySQL.
	for _, sys := range []string{"mysql", "mariadb"} {
		ev := mk(sys, "GRANT FILE ON *.* TO `app`@`%`")
		if ev.DB.Operation.Name != "GRANT" || ev.SQL.ParseError || !slices.Equal(ev.SQL.Grant.Privileges, []string{"FILE"}) {
			t.Errorf("%s: %+v", sys, ev.SQL)
		}
	}
	if ev := mk("postgresql", "COPY t TO PROGRAM 'id'"); ev.SQL.Copy.Target != "program" {
		t.Errorf("postgresql: %+v", ev.SQL)
	}
	if ev := mk("cosmosdb", "SELECT * FROM c"); ev.DB.Operation.Name != "" {
		t.Errorf("cosmosdb classified: %+v", ev.DB)
	}
}

func noSecretsIn(t *testing.T, events []*event.Event, alerts []*event.Alert, secrets ...string) {
	t.Helper()
	for _, ev := range events {
		b, _ := json.Marshal(ev)
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("secret %q in event %s", s, b)
			}
		}
	}
	for _, a := range alerts {
		b, _ := json.Marshal(a)
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("secret %q in alert %s", s, a.RuleID)
			}
		}
	}
}

// BenchmarkReplayServerAudit: the whole pipeline (parse, classify with the
// MySQL classifier, detect) over the captured server_audit logs: "full"
// is mostly bootstrap TABLE records, "sessions" mostly statements.
func BenchmarkReplayServerAudit(b *testing.B) {
	for _, name := range []string{"full", "sessions"} {
		b.Run(name, func(b *testing.B) { benchReplay(b, "server_audit."+name+".log") })
	}
}

func benchReplay(b *testing.B, file string) {
	data, err := os.ReadFile(filepath.Join(mariadbSamples, file))
	if err != nil {
		b.Fatal(err)
	}
	rs, err := LoadRules(nil)
	if err != nil {
		b.Fatal(err)
	}
	var events int64
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		res, err := ReplayRules(context.Background(), rs, Options{Workers: 1},
			Input{Name: "server_audit.log", R: strings.NewReader(string(data)), Size: int64(len(data))})
		if err != nil {
			b.Fatal(err)
		}
		events += res.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// TestTimezone: logs that write local times without a zone (server_audit,
// the MariaDB error log) are read in Options.Location; the same events,
// each moved by the zone's offset at its time.
func TestTimezone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"server_audit.full.log", "mariadb-error.log"} {
		path := filepath.Join(mariadbSamples, name)
		_, utc := replayFile(t, path, Options{})
		_, local := replayFile(t, path, Options{Location: berlin})
		if len(utc) == 0 || len(utc) != len(local) {
			t.Fatalf("%s: %d events in UTC, %d in Europe/Berlin", name, len(utc), len(local))
		}
		for i := range utc {
			_, off := utc[i].Time.In(berlin).Zone() // November: CET, +1h
			if got := utc[i].Time.Sub(local[i].Time); got != time.Duration(off)*time.Second || off != 3600 {
				t.Fatalf("%s event %d: UTC reading %v, Berlin reading %v: moved by %v, want %ds", name, i, utc[i].Time, local[i].Time, got, off)
			}
			if utc[i].ID != local[i].ID {
				t.Fatalf("%s event %d: id %s vs %s", name, i, utc[i].ID, local[i].ID)
			}
		}
	}
}
