package azure

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
)

// FuzzAzure feeds arbitrary bytes, split into lines, through one parser:
// it must not panic, must emit events with a time and an id, keep its
// buffer bounded, and never let a password planted in the input through.
func FuzzAzure(f *testing.F) {
	seeds := []string{
		`{"records":[` + dpRec("2026-11-25T10:00:00Z", "Query", "Document", "A1", nil) + "," + qrsRec("2026-11-25T10:00:01Z", "A1", "SELECT * FROM c WHERE c.id = '1' OR 1=1") + `]}`,
		pgRec("2026-11-25T09:42:10.001Z", "2026-11-25 09:42:10 UTC-6564a200.1b00-LOG:  connection received: host=203.0.113.50 port=40000", "LOG", "00000", "") + "\n" +
			pgRec("2026-11-25T09:42:10.006Z", `2026-11-25 09:42:10 UTC-6564a200.1b00-FATAL:  password authentication failed for user "alice"`, "FATAL", "28P01", "x\ny"),
		myRec("MySqlAuditLogs", map[string]any{"event_class": "general_log", "event_subclass": "LOG", "error_code": 0, "thread_id": 1, "ip": "10.0.0.1", "user": "root[root] @  [10.0.0.1]", "sql_text": "CREATE USER x IDENTIFIED BY 'S3cret!'"}),
		myRec("MySqlSlowLogs", map[string]any{"query_time": "1e400", "rows_sent": -5, "sql_text": "select 1", "host": "a[a] @ ["}),
		actRec("2026-11-25T11:05:00Z", "MICROSOFT.AUTHORIZATION/LOCKS/DELETE", "/subscriptions/0/resourceGroups/r/providers/Microsoft.DocumentDB/databaseAccounts/a/providers/Microsoft.Authorization/locks/l", "Success"),
		"[\n{\"records\":[\n{\"time\":\"2026-11-25T10:00:00Z\",\"category\":\"x\"},\n{\"time\":tru}\n]}\n,\n",
		"{\"a\":\"\\\"}\n{\"b\":[[[[[[",
		"garbage\n{}\n{\"records\":{}}\n{\"records\":[1,\"x\",null,[]]}",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := New(Options{MaxDocBytes: 1 << 16, MaxPending: 8, MaxResources: 4})
		var out bytes.Buffer
		emit := func(ev *event.Event) {
			if ev.Time.IsZero() {
				t.Errorf("event without time: %+v", ev)
			}
			if ev.ID == "" {
				t.Errorf("event without id: %+v", ev)
			}
			b, _ := json.Marshal(ev)
			out.Write(b)
		}
		var off int64
		for i, l := range bytes.Split(data, []byte{'\n'}) {
			_ = p.Parse(parse.Line{Text: l, File: "fuzz", Offset: off, No: int64(i + 1)}, emit)
			off += int64(len(l)) + 1
			if len(p.buf) > 1<<16+1<<12 {
				t.Fatalf("buffer grew to %d", len(p.buf))
			}
		}
		// the whole input as one Line (a Kafka message)
		p2 := New(Options{})
		_ = p2.Parse(parse.Line{Text: data, File: "kafka", Offset: 7, No: 1}, emit)
		p2.Flush(emit)
		p.Flush(emit)
		// a password planted once, in a statement's sql_text, never comes out
		planted := []byte(`"sql_text":"CREATE USER x IDENTIFIED BY 'S3cret!'"`)
		if bytes.Count(data, []byte("S3cret!")) == 1 && bytes.Contains(data, planted) && strings.Contains(out.String(), "S3cret!") {
			t.Errorf("password leaked")
		}
	})
}
