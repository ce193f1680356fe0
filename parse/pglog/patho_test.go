package pglog

import (
	"bytes"
	"testing"
	"time"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
)

// Long hostile lines cost linear time (no backtracking blow-up).
func TestPathologicalLinesAreLinear(t *testing.T) {
	long := func(head string, fill byte) []byte {
		b := append([]byte(head), bytes.Repeat([]byte{fill}, 1<<20)...)
		return b
	}
	lines := [][]byte{
		long("2026-11-25 09:42:20.841 UTC [1] ", ' '),
		long("2026-11-25 09:42:20.841 UTC [1] a@", '@'),
		long("2026-11-25 09:42:20.841 UTC [1] a@b ", 'L'),
		long("2026-11-25 09:42:20.841 UTC:", ':'),
		long("2026-11-25 09:42:20.841 UTC [1] a@b LOG:  AUDIT: ", ','),
		long("2026-11-25 09:42:20.841 UTC [1] a@b LOG:  AUDIT: \"", '"'),
	}
	for _, pre := range []string{"%m [%p] %q%u@%d ", "%t:%r:%u@%d:[%p]:", "%m [%p] %q%u@%d %h %a "} {
		p, _ := New(FormatStderr, pre)
		start := time.Now()
		for i, l := range lines {
			_ = p.Parse(parse.Line{Text: l, File: "x", No: int64(i + 1)}, func(*event.Event) {})
		}
		p.Flush(func(*event.Event) {})
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: %v for %d MiB", pre, d, len(lines))
		}
	}
}
