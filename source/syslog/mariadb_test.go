package syslog

import (
	"testing"
	"time"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
	_ "github.com/vigildb/vigil/parse/mysqlaudit" // registers mariadb_audit
)

// TestMariaDBAudit: server_audit records sent over syslog
// (server_audit_output_type=syslog) come out as server_audit file lines,
// which the mariadb_audit format detects and parses, with the syslog
// timestamp as the event time and server_audit_syslog_info dropped.
func TestMariaDBAudit(t *testing.T) {
	c := newCollector()
	rr := start(t, Options{Source: "s", Listen: []string{"udp://127.0.0.1:0"}, Handler: c.handler, Location: time.UTC})
	conn := dial(t, "udp", rr.addr(t, "udp"))
	write(t, conn, `<190>1 2026-11-25T09:42:20.804Z db1 mysql-server_auditing 77 - - db1,app,127.0.0.2,31,0,FAILED_CONNECT,shop,,1045`)
	write(t, conn, `<190>Nov 25 09:42:21 db1 mysql-server_auditing: myinfo db1,app,127.0.0.2,32,0,CONNECT,shop,,0`)
	g := c.wait(t, 2)
	want := []string{
		"20261125 09:42:20,db1,app,127.0.0.2,31,0,FAILED_CONNECT,shop,,1045",
		"20261125 09:42:21,db1,app,127.0.0.2,32,0,CONNECT,shop,,0",
	}
	for i, w := range want {
		if g[i].text != w {
			t.Fatalf("line %d = %q, want %q", i, g[i].text, w)
		}
	}
	head := []byte(g[0].text + "\n" + g[1].text + "\n")
	f, ok := parse.Detect(head)
	if !ok || f.Name != "mariadb_audit" {
		t.Fatalf("detected %q, %v; want mariadb_audit", f.Name, ok)
	}
	p, err := f.New(parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var evs []*event.Event
	emit := func(ev *event.Event) { evs = append(evs, ev) }
	for i, gl := range g[:2] {
		if err := p.Parse(parse.Line{Text: []byte(gl.text), File: gl.file, Offset: int64(i), No: int64(i + 1)}, emit); err != nil {
			t.Fatal(err)
		}
	}
	p.Flush(emit)
	if len(evs) == 0 || evs[0].Event.Action != event.ActionLoginFailed || evs[0].Client.Address != "127.0.0.2" || evs[0].User.Name != "app" {
		t.Fatalf("events: %+v", evs)
	}
}
