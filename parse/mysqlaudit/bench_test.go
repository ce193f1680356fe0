package mysqlaudit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
)

// BenchmarkServerAudit parses the captured server_audit log (4381 lines,
// bootstrap included) and reports events and lines per second.
func BenchmarkServerAudit(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(samples, "server_audit.full.log"))
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	bl := make([][]byte, len(lines))
	for i, l := range lines {
		bl[i] = []byte(l)
	}
	n := 0
	emit := func(*event.Event) { n++ }
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		p := NewServerAudit()
		var off int64
		for i, l := range bl {
			_ = p.Parse(parse.Line{Text: l, File: "server_audit.log", Offset: off, No: int64(i + 1)}, emit)
			off += int64(len(l)) + 1
		}
		p.Flush(emit)
	}
	b.StopTimer()
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(n)/sec, "events/s")
	b.ReportMetric(float64(len(bl)*b.N)/sec, "lines/s")
}
