package pglog

import (
	"fmt"
	"testing"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
)

// The hot path: one pgaudit record per statement (each line ends the
// previous statement, so every line emits one event).
const benchStmt = `INSERT INTO customers VALUES (1,'Ann','123-45-6789','ann@example.com'),(2,'Bo','987-65-4321','bo@example.com');`

func benchLines(format string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		ms := i % 1000
		id := i + 1
		audit := fmt.Sprintf(`AUDIT: SESSION,%d,1,WRITE,INSERT,TABLE,public.customers,"%s",<none>`, id, benchStmt)
		switch format {
		case FormatStderr:
			out[i] = []byte(fmt.Sprintf("2026-11-25 09:42:31.%03d UTC [10648] postgres@appdb LOG:  %s", ms, audit))
		case FormatCSV:
			out[i] = []byte(fmt.Sprintf(`2026-11-25 09:42:31.%03d UTC,"postgres","appdb",10648,"127.0.0.1:39076",6b06ad87.2998,%d,"INSERT",2026-11-25 09:42:31 UTC,3/46,0,LOG,00000,"%s",,,,,,,,,"psql","client backend",,0`,
				ms, id, csvQuote(audit)))
		case FormatJSON:
			out[i] = []byte(fmt.Sprintf(`{"timestamp":"2026-11-25 09:42:31.%03d UTC","user":"postgres","dbname":"appdb","pid":10648,"remote_host":"127.0.0.1","remote_port":39076,"session_id":"6b06ad87.2998","line_num":%d,"ps":"INSERT","session_start":"2026-11-25 09:42:31 UTC","vxid":"3/46","txid":0,"error_severity":"LOG","message":"%s","application_name":"psql","backend_type":"client backend","query_id":0}`,
				ms, id, jsonQuote(audit)))
		}
	}
	return out
}

func csvQuote(s string) string {
	b := []byte{}
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return string(b)
}

func jsonQuote(s string) string {
	b := []byte{}
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(b)
}

func benchFormat(b *testing.B, format string) {
	lines := benchLines(format, 4096)
	p, err := New(format, "%m [%p] %q%u@%d ")
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	emit := func(*event.Event) { n++ }
	var bytes int64
	for _, l := range lines {
		bytes += int64(len(l))
	}
	b.SetBytes(bytes / int64(len(lines)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l := lines[i%len(lines)]
		if err := p.Parse(parse.Line{Text: l, File: "postgresql.log", Offset: int64(i) * 200, No: int64(i + 1)}, emit); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	p.Flush(emit)
	if n < b.N-2 {
		b.Fatalf("%d events for %d lines", n, b.N)
	}
}

func BenchmarkStderrAudit(b *testing.B) { benchFormat(b, FormatStderr) }
func BenchmarkCSVAudit(b *testing.B)    { benchFormat(b, FormatCSV) }
func BenchmarkJSONAudit(b *testing.B)   { benchFormat(b, FormatJSON) }
