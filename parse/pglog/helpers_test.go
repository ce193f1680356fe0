package pglog

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
)

const samplesDir = "../../../shared/samples/postgresql"

// sampleLines reads a sample file; a missing sample fails the test (the
// samples are part of the contract, ../shared/samples).
func sampleLines(t testing.TB, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		t.Fatalf("sample not available (it is in ../shared/samples/postgresql): %v", err)
	}
	return splitLines(b)
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

type runResult struct {
	events []*event.Event
	errs   []error
	stats  Stats
	p      *Parser
}

// run feeds lines to a new parser (format/prefix detected when empty) and
// flushes it.
func run(t testing.TB, format, prefix string, lines [][]byte) runResult {
	t.Helper()
	if format == "" {
		f, pre, err := Detect(lines)
		if err != nil {
			t.Fatalf("detect: %v", err)
		}
		format, prefix = f, pre
	}
	p, err := New(format, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return feed(p, "sample", lines)
}

func feed(p *Parser, file string, lines [][]byte) runResult {
	var res runResult
	res.p = p
	emit := func(ev *event.Event) { res.events = append(res.events, ev) }
	var off int64
	for i, l := range lines {
		if err := p.Parse(parse.Line{Text: l, File: file, Offset: off, No: int64(i + 1)}, emit); err != nil {
			res.errs = append(res.errs, err)
		}
		off += int64(len(l)) + 1
	}
	p.Flush(emit)
	res.stats = p.Stats()
	return res
}

func linesOf(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i := range s {
		out[i] = []byte(s[i])
	}
	return out
}
