package syslog

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse/pglog"
)

// The lines a reassembled PostgreSQL record yields are what the pglog
// stderr parser reads from a log file.
func TestPGReassembledFeedsPglog(t *testing.T) {
	var cols []string
	for i := range 300 {
		cols = append(cols, fmt.Sprintf("col%03d", i))
	}
	sql := "SELECT " + strings.Join(cols, ", ") + ",\n    last_col FROM customers"
	pfx := "2026-11-25 09:42:20.804 UTC [12345] app@db "
	rec := pfx + "LOG:  statement: " + strings.ReplaceAll(sql, "\n", "\n\t") + "\n"
	c := newCollector()
	rr := start(t, Options{Listen: []string{"tcp://127.0.0.1:0"}, Handler: c.handler, PGFlushAfter: 20 * time.Millisecond})
	conn := dial(t, "tcp", rr.addr(t, "tcp"))
	chunks := pgSplit(3, rec, 900)
	if len(chunks) < 3 {
		t.Fatalf("%d chunks", len(chunks))
	}
	var s strings.Builder
	for _, ch := range chunks {
		fmt.Fprintf(&s, "<134>Nov 25 09:42:20 db1 postgres[12345]: %s\n", ch)
	}
	write(t, conn, s.String())
	g := c.wait(t, 2)

	p, err := pglog.New(pglog.FormatStderr, "%m [%p] %q%u@%d ")
	if err != nil {
		t.Fatal(err)
	}
	var evs []*event.Event
	emit := func(e *event.Event) { evs = append(evs, e) }
	for _, l := range g {
		if err := p.Parse(parseLine(l), emit); err != nil {
			t.Fatalf("pglog: %v (line %q)", err, l.text)
		}
	}
	p.Flush(emit)
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	q := evs[0].DB.Query.Text
	if !strings.Contains(q, "col000, col001") || !strings.Contains(q, "col299,\n    last_col FROM customers") {
		t.Fatalf("query text %q", q)
	}
}
