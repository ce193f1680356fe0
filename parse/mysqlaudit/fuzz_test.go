package mysqlaudit

import (
	"bytes"
	"testing"
	"time"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
)

// fuzzParser feeds data line by line: the parser must not panic, and every
// event must have an id and a UTC time.
func fuzzParser(t *testing.T, p parse.Parser, data []byte) {
	emit := func(ev *event.Event) {
		if ev.ID == "" {
			t.Fatalf("event without id: %+v", ev)
		}
		if ev.Time.Location() != time.UTC {
			t.Fatalf("time not UTC: %v", ev.Time)
		}
	}
	var off int64
	for i, line := range bytes.Split(data, []byte{'\n'}) {
		_ = p.Parse(parse.Line{Text: line, File: "fuzz", Offset: off, No: int64(i + 1)}, emit)
		off += int64(len(line)) + 1
	}
	p.Flush(emit)
}

func FuzzMariaDBAudit(f *testing.F) {
	f.Add([]byte(`20261125 09:44:16,vm,app,127.0.0.1,3,2,READ,shop,customers,
20261125 09:44:16,vm,app,127.0.0.1,3,2,QUERY,shop,'SELECT * FROM customers',0
20261125 09:44:16,vm,app,127.0.0.1:3306,4,0,FAILED_CONNECT,,,1045
20261125 09:44:16,vm,app,[::1]:3306,4,0,DISCONNECT,,,0
20261125 09:44:16,vm,root,localhost,8,14,RENAME,shop,t2|shop.t3,
20261125 09:43:49,vm,root,localhost,3,4,QUERY,mysql,'CREATE USER \'app\'@\'127.0.0.1\' IDENTIFIED BY *****',0`))
	f.Add([]byte("20261125 09:44:16,a,b,c,1,1,QUERY,d,'\\',0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParser(t, NewServerAudit(), data)
		var p SyslogParser
		p = *NewSyslog()
		for _, line := range bytes.Split(data, []byte{'\n'}) {
			_ = p.Parse(time.Unix(0, 0).UTC(), "h", line, "s", 1, func(*event.Event) {})
			_ = ParseSyslog(time.Unix(0, 0).UTC(), "h", line, "s", 1, func(*event.Event) {})
		}
	})
}

func FuzzMySQLJSON(f *testing.F) {
	f.Add([]byte(enterpriseJSON))
	f.Add([]byte(`[{"timestamp":"2026-11-25 09:50:02","class":"connection","event":"connect","connection_id":"x","connection_data":{"status":"1045"}},`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParser(t, NewMySQLJSON(), data) })
}

func FuzzPerconaJSON(f *testing.F) {
	f.Add([]byte(perconaJSON))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParser(t, NewPerconaJSON(), data) })
}

func FuzzGeneralLog(f *testing.F) {
	f.Add([]byte(generalLog))
	f.Add([]byte(generalLogMariaDB))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParser(t, NewGeneral(), data) })
}

func FuzzErrorLog(f *testing.F) {
	f.Add([]byte("2026-11-25  9:43:57 4 [Warning] Access denied for user 'app'@'localhost' (using password: YES)\n261125  9:44:16 server_audit: logging was stopped.\nVersion: 'x'"))
	f.Add([]byte("2026-11-25T10:00:00.123456Z 9 [Note] [MY-010926] [Server] Access denied for user 'root'@'h' to database 'd'"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParser(t, NewErrorLog(), data) })
}
