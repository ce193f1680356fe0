package azure

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
)

// benchLines is a mixed Azure stream: Cosmos data-plane requests with
// their query texts, MySQL audit records, PostgreSQL log records and
// Activity Log records, one per line, n records in all.
func benchLines(n int) [][]byte {
	var out [][]byte
	for i := 0; len(out) < n; i++ {
		act := fmt.Sprintf("a%07d-0000-4000-8000-000000000000", i)
		out = append(out,
			[]byte(dpRec("2026-11-25T10:00:00.1234567Z", "Query", "Document", act, nil)),
			[]byte(qrsRec("2026-11-25T10:00:00.2Z", act, "SELECT * FROM c WHERE c.id = @id")),
			[]byte(dpRec("2026-11-25T10:00:00.3Z", "Read", "Document", act+"r", nil)),
			[]byte(myRec("MySqlAuditLogs", map[string]any{"event_class": "general_log", "event_subclass": "LOG", "error_code": 0, "thread_id": i, "ip": "10.0.0.1", "user": "app[app] @  [10.0.0.1]", "sql_text": "SELECT name FROM customer WHERE id = 42"})),
			[]byte(pgRec("2026-11-25T09:43:25.000Z", fmt.Sprintf("2026-11-25 09:43:25 UTC-6564a2ff.%x-LOG:  statement: SELECT id FROM orders WHERE customer_id = %d", i%50, i), "LOG", "00000", "")),
			[]byte(actRec("2026-11-25T11:00:01Z", "MICROSOFT.DOCUMENTDB/DATABASEACCOUNTS/READ", "/subscriptions/0/resourceGroups/r/providers/Microsoft.DocumentDB/databaseAccounts/a", "Success")),
		)
	}
	return out[:n]
}

// BenchmarkParse reports records/s for the mixed stream, one record per
// line (storage blobs), and for the same records as one {"records":[...]}
// document per 100 records (Event Hubs).
func BenchmarkParse(b *testing.B) {
	lines := benchLines(6000)
	var size int64
	for _, l := range lines {
		size += int64(len(l)) + 1
	}
	emit := func(*event.Event) {}
	b.Run("ndjson", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			p := New(Options{})
			var off int64
			for i, l := range lines {
				_ = p.Parse(parse.Line{Text: l, File: "bench", Offset: off, No: int64(i + 1)}, emit)
				off += int64(len(l)) + 1
			}
			p.Flush(emit)
		}
		b.ReportMetric(float64(len(lines))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	var docs [][]byte
	for i := 0; i < len(lines); i += 100 {
		var sb strings.Builder
		sb.WriteString(`{"records":[`)
		for j := i; j < i+100 && j < len(lines); j++ {
			if j > i {
				sb.WriteByte(',')
			}
			sb.Write(lines[j])
		}
		sb.WriteString("]}")
		docs = append(docs, []byte(sb.String()))
	}
	b.Run("records", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			p := New(Options{})
			for i, d := range docs {
				_ = p.Parse(parse.Line{Text: d, File: "bench", Offset: int64(i), No: int64(i + 1)}, emit)
			}
			p.Flush(emit)
		}
		b.ReportMetric(float64(len(lines))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}
