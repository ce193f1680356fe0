package mysqlaudit

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/event"
)

func TestServerAuditSessionsSample(t *testing.T) {
	evs, bad := run(t, NewServerAudit(), "server_audit.sessions.log", readSample(t, "server_audit.sessions.log"))
	if bad != 0 {
		t.Fatalf("%d lines refused", bad)
	}
	// 9 CONNECT, 14 FAILED_CONNECT, 23 DISCONNECT of which 14 follow a
	// failed connect, 61 QUERY; every TABLE record folds into its QUERY.
	if got := len(evs); got != 9+14+9+61 {
		t.Errorf("%d events, want 93", got)
	}
	if n := count(evs, action(event.ActionLogin)); n != 9 {
		t.Errorf("%d logins, want 9", n)
	}
	if n := count(evs, action(event.ActionLogout)); n != 9 {
		t.Errorf("%d logouts, want 9", n)
	}
	failed := 0
	byUser := map[string]int{}
	for _, ev := range evs {
		if ev.Event.Action != event.ActionLoginFailed {
			continue
		}
		failed++
		byUser[ev.User.Name+"@"+ev.Client.Address+" "+ev.DB.Response.StatusCode]++
		if ev.Event.Outcome != event.OutcomeFailure || ev.Event.Category != event.CategoryAuthentication {
			t.Errorf("failed login %+v", ev.Event)
		}
	}
	if failed != 14 {
		t.Errorf("%d failed logins, want 14", failed)
	}
	want := map[string]int{
		"app@localhost 1045": 5, "nosuchuser@localhost 1045": 1, "root@localhost 1698": 1,
		"app@127.0.0.1 1045": 1, "nosuchuser@127.0.0.1 1045": 1, "app@127.0.0.1 1044": 2, "admin@127.0.0.1 1045": 3,
	}
	for k, n := range want {
		if byUser[k] != n {
			t.Errorf("failed logins %s: %d, want %d (all: %v)", k, byUser[k], n, byUser)
		}
	}
	var drop, outfile, grant *event.Event
	for _, ev := range evs {
		switch ev.DB.Query.Text {
		case "DROP TABLE customers":
			drop = ev
		case "SELECT * FROM customers INTO OUTFILE '/tmp/mdbcap/out.csv'":
			outfile = ev
		case "GRANT ALL PRIVILEGES ON *.* TO 'app'@'127.0.0.1' WITH GRANT OPTION":
			grant = ev
		}
	}
	switch {
	case drop == nil:
		t.Error("no DROP TABLE customers event")
	case drop.User.Name != "app" || drop.Client.Address != "127.0.0.1" || drop.DB.Response.StatusCode != "1142" ||
		drop.Event.Outcome != event.OutcomeFailure || drop.Event.Action != event.ActionError || drop.DB.Namespace != "shop" ||
		drop.Session.ID != "9":
		t.Errorf("DROP TABLE by app: %+v", drop)
	}
	if outfile == nil || outfile.User.Name != "root" || outfile.Event.Outcome != event.OutcomeSuccess ||
		!slices.Equal(outfile.SQL.Audit.Classes, []string{"READ"}) {
		t.Errorf("INTO OUTFILE: %+v", outfile)
	}
	if grant == nil || grant.Log.Line != 73 || grant.Time != time.Date(2026, 11, 25, 9, 43, 57, 0, time.UTC) {
		t.Errorf("GRANT: %+v", grant)
	}
	uniqueIDs(t, evs)
	noSecrets(t, evs, "NewAppPass456", "wrongpass")
	for _, ev := range evs {
		if ev.DB.System.Name != "mariadb" || ev.Source.Kind != "mariadb_audit" || ev.Server.Address != "vm" {
			t.Fatalf("event %+v", ev)
		}
	}
}

func TestServerAuditFullSample(t *testing.T) {
	evs, bad := run(t, NewServerAudit(), "server_audit.full.log", readSample(t, "server_audit.full.log"))
	if bad != 0 {
		t.Fatalf("%d lines refused", bad)
	}
	if n := count(evs, action(event.ActionLoginFailed)); n != 14 {
		t.Errorf("%d failed logins, want 14", n)
	}
	if n := count(evs, func(ev *event.Event) bool { return ev.DB.Query.Text != "" }); n != 70 {
		t.Errorf("%d statements, want 70", n)
	}
	// The bootstrap (user boot) wrote TABLE records without QUERY records:
	// they come out on their own, and nothing is lost.
	table := count(evs, func(ev *event.Event) bool { return ev.DB.Query.Text == "" && len(ev.SQL.Audit.Classes) > 0 })
	if table == 0 {
		t.Error("no standalone TABLE events")
	}
	multi := 0
	for _, ev := range evs {
		if strings.Contains(ev.DB.Query.Text, "\n") {
			multi++
		}
	}
	if multi == 0 {
		t.Error("escaped newlines were not decoded")
	}
	uniqueIDs(t, evs)
}

func TestServerAuditLines(t *testing.T) {
	in := strings.Join([]string{
		// 12.x host:port form, TLS version in the object of CONNECT.
		`20261125 10:00:00,db1,app,203.0.113.7:51234,21,0,CONNECT,shop,TLSv1.3,0`,
		`20261125 10:00:01,db1,app,203.0.113.7:51234,21,5,QUERY,shop,'CREATE USER \'x\'@\'%\' IDENTIFIED BY \'S3cret,Pass\'',0`,
		`20261125 10:00:02,db1,app,203.0.113.7:51234,21,6,WRITE,shop,orders,`,
		`20261125 10:00:02,db1,app,203.0.113.7:51234,21,6,QUERY,shop,'UPDATE orders SET note = \'a, b\'\nWHERE id = 1',0`,
		`20261125 10:00:03,db1,app,localhost:unavailable,22,0,FAILED_CONNECT,,,1045`,
		`20261125 10:00:03,db1,app,localhost:unavailable,22,0,DISCONNECT,,,0`,
		`20261125 10:00:04,db1,app,[2001:db8::1]:3306,23,0,CONNECT,shop,,0`,
		`20261125 10:00:05,db1,app,2001:db8::2,24,0,CONNECT,shop,,0`,
		`20261125 10:00:06,db1,app,203.0.113.7:51234,21,9,DROP,shop,t9,`,
		`20261125 10:00:07,db1,app,203.0.113.7:51234,21,0,DISCONNECT,shop,,0`,
		`20261125 10:00:07,db1,app,203.0.113.7:51234,21,7,QUERY,shop,'SELECT \'truncated`,
	}, "\n")
	evs, bad := run(t, NewServerAudit(), "t.log", in)
	if bad != 1 {
		t.Errorf("%d refused lines, want 1 (the last: no return code)", bad)
	}
	if len(evs) < 7 {
		t.Fatalf("%d events", len(evs))
	}
	if ev := evs[0]; ev.Client.Address != "203.0.113.7" || ev.Client.Port != 51234 || ev.Event.Action != event.ActionLogin {
		t.Errorf("12.x connect: %+v", ev)
	}
	if ev := evs[1]; ev.DB.Query.Text != `CREATE USER 'x'@'%' IDENTIFIED BY '***'` {
		t.Errorf("masked text %q", ev.DB.Query.Text)
	}
	if ev := evs[2]; ev.DB.Query.Text != "UPDATE orders SET note = 'a, b'\nWHERE id = 1" || !slices.Equal(ev.SQL.Audit.Classes, []string{"WRITE"}) {
		t.Errorf("update: %q %v", ev.DB.Query.Text, ev.SQL.Audit.Classes)
	}
	if ev := evs[3]; ev.Client.Address != "localhost" || ev.Client.Port != 0 || ev.Event.Action != event.ActionLoginFailed {
		t.Errorf("failed: %+v", ev)
	}
	if ev := evs[4]; ev.Client.Address != "2001:db8::1" || ev.Client.Port != 3306 {
		t.Errorf("v6 with port: %+v", ev.Client)
	}
	if ev := evs[5]; ev.Client.Address != "2001:db8::2" || ev.Client.Port != 0 {
		t.Errorf("v6: %+v", ev.Client)
	}
	// The DROP record had no QUERY: emitted on its own at the disconnect.
	if ev := evs[6]; ev.DB.Operation.Name != "DROP TABLE" || !slices.Equal(ev.DB.Collection.Name, []string{"shop.t9"}) {
		t.Errorf("standalone DROP: %+v", ev)
	}
	noSecrets(t, evs, "S3cret")
}

func TestParseSyslog(t *testing.T) {
	ts := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var evs []*event.Event
	emit := func(ev *event.Event) { evs = append(evs, ev) }
	p := NewSyslog()
	msgs := []string{
		`myinfo db1,app,127.0.0.1,3,0,FAILED_CONNECT,,,1045`,
		`db1,app,127.0.0.1,3,0,DISCONNECT,,,0`,
		`db1,root,localhost,4,2,QUERY,shop,'SET GLOBAL server_audit_logging = OFF',0`,
	}
	for i, m := range msgs {
		if err := p.Parse(ts, "host1", []byte(m), "syslog", int64(i+1), emit); err != nil {
			t.Fatal(err)
		}
	}
	p.Flush(emit)
	if len(evs) != 2 || evs[0].Event.Action != event.ActionLoginFailed || evs[0].Server.Address != "db1" ||
		evs[1].DB.Query.Text != "SET GLOBAL server_audit_logging = OFF" || !evs[1].Time.Equal(ts) {
		t.Fatalf("events %+v", evs)
	}
	evs = nil
	if err := ParseSyslog(ts, "host1", []byte(`db1,app,127.0.0.1,3,7,READ,shop,t,`), "syslog", 9, emit); err != nil || len(evs) != 0 {
		t.Fatalf("stateless TABLE record: %v %v", err, evs)
	}
	if err := ParseSyslog(ts, "host1", []byte(`not a record`), "syslog", 9, emit); err == nil {
		t.Fatal("junk accepted")
	}
}

func TestServerAuditLocation(t *testing.T) {
	p := NewServerAudit()
	p.Location = time.FixedZone("CET", 3600)
	evs, bad := run(t, p, "t.log", `20261125 10:00:00,db1,app,10.0.0.1,1,0,CONNECT,shop,,0`)
	if bad != 0 || len(evs) != 1 || !evs[0].Time.Equal(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)) || evs[0].Time.Location() != time.UTC {
		t.Fatalf("%v", evs)
	}
}
