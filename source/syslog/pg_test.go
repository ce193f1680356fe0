package syslog

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// pgSplit mirrors write_syslog in PostgreSQL's elog.c: the record is cut
// into one chunk per line, lines longer than limit cut before the last
// whitespace that fits (or hard, at a character boundary).
func pgSplit(seq uint64, rec string, limit int) []string {
	isspace := func(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }
	var out []string
	n := 0
	for len(rec) > 0 {
		if rec[0] == '\n' {
			rec = rec[1:]
			continue
		}
		buflen := len(rec)
		if nl := strings.IndexByte(rec, '\n'); nl >= 0 {
			buflen = nl
		}
		buflen = min(buflen, limit)
		for buflen > 0 && buflen < len(rec) && !utf8.RuneStart(rec[buflen]) {
			buflen--
		}
		buf := rec[:buflen]
		if buflen < len(rec) && !isspace(rec[buflen]) {
			i := buflen - 1
			for i > 0 && !isspace(buf[i]) {
				i--
			}
			if i > 0 {
				buflen = i
				buf = buf[:i]
			}
		}
		n++
		out = append(out, fmt.Sprintf("[%d-%d] %s", seq, n, buf))
		rec = rec[buflen:]
	}
	return out
}

func pgRecord() string {
	var words []string
	for i := range 400 {
		words = append(words, fmt.Sprintf("w%03d", i))
	}
	return "app@db LOG:  statement: SELECT a,\n" +
		"\tb FROM t WHERE x IN ('" + strings.Join(words, "', '") + "')\n" +
		"\tAND y = '" + strings.Repeat("Z", 2000) + "é" + strings.Repeat("q", 950) + "'\n" +
		"app@db DETAIL:  parameters: $1 = 'x'\n"
}

func TestPGSplitReassembled(t *testing.T) {
	rec := pgRecord()
	chunks := pgSplit(7, rec, 900)
	if len(chunks) < 8 {
		t.Fatalf("only %d chunks", len(chunks))
	}
	c := newCollector()
	rr := start(t, Options{Listen: []string{"tcp://127.0.0.1:0"}, Handler: c.handler, PGFlushAfter: 20 * time.Millisecond})
	conn := dial(t, "tcp", rr.addr(t, "tcp"))
	var s strings.Builder
	for i, ch := range chunks {
		fmt.Fprintf(&s, "<134>Nov 25 09:42:20 db1 postgres[4242]: %s\n", ch)
		if i == 2 { // another process interleaves
			s.WriteString("<134>Nov 25 09:42:20 db1 postgres[99]: [1-1] LOG:  other\n")
		}
	}
	// The next record of the same process completes the first one.
	s.WriteString("<134>Nov 25 09:42:21 db1 postgres[4242]: [8-1] app@db LOG:  next\n")
	// syslog_split_messages=off form.
	s.WriteString("<134>Nov 25 09:42:22 db1 postgres[4242]: [9] app@db LOG:  whole\n")
	write(t, conn, s.String())
	want := strings.Split(strings.TrimSuffix(rec, "\n"), "\n")
	g := c.wait(t, len(want)+3)
	var mine []got
	for _, l := range g {
		if l.msg.ProcID == "4242" {
			mine = append(mine, l)
		} else if l.text != "LOG:  other" {
			t.Fatalf("other process: %+v", l)
		}
	}
	if len(mine) != len(want)+2 {
		t.Fatalf("%d lines for pid 4242, want %d", len(mine), len(want)+2)
	}
	for i, w := range want {
		if mine[i].text != w {
			t.Fatalf("line %d:\n got %q\nwant %q", i, mine[i].text, w)
		}
		m := mine[i].msg
		if m.Seq != 7 || m.Parts != len(chunks) || m.RecordLine != i || mine[i].file != "syslog:db1/postgres" {
			t.Fatalf("line %d: %+v", i, mine[i])
		}
	}
	if mine[len(want)].text != "app@db LOG:  next" || mine[len(want)].msg.Seq != 8 ||
		mine[len(want)+1].text != "app@db LOG:  whole" || mine[len(want)+1].msg.Seq != 9 {
		t.Fatalf("tail %+v", mine[len(want):])
	}
	for i, l := range mine {
		if i > 0 && l.off != mine[i-1].off+1 && g[0].file == l.file {
			// offsets are per File, and pid 99 shares the File: only check growth
			if l.off <= mine[i-1].off {
				t.Fatalf("offsets not increasing at %d", i)
			}
		}
	}
	if st := rr.r.Stats(); st.SeqGaps != 0 || st.PGLostParts != 0 || st.Duplicates != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPGSeqGapAndTimeoutFlush(t *testing.T) {
	c := newCollector()
	rr := start(t, Options{Listen: []string{"udp://127.0.0.1:0"}, Handler: c.handler, PGFlushAfter: 20 * time.Millisecond})
	conn := dial(t, "udp", rr.addr(t, "udp"))
	send := func(s string) { write(t, conn, "<134>Nov 25 09:42:20 db1 postgres[5]: "+s) }
	send("[10-1] LOG:  a")
	send("[11-1] LOG:  b")
	send("[15-1] LOG:  c") // 12, 13, 14 lost
	send("[15-1] LOG:  c") // duplicate
	send("[16-2] #011continued without its start")
	g := c.wait(t, 5) // the last record is delivered by the idle timeout
	texts := []string{"LOG:  a", "LOG:  b", "LOG:  c", "LOG:  c", "\tcontinued without its start"}
	for i, w := range texts {
		if g[i].text != w {
			t.Fatalf("line %d: %q want %q", i, g[i].text, w)
		}
	}
	st := rr.r.Stats()
	if st.SeqGaps != 3 || st.Duplicates != 1 || st.PGLostParts != 1 {
		t.Fatalf("stats %+v", st)
	}
	if g[2].msg.Seq != 15 || g[4].msg.Seq != 16 {
		t.Fatalf("seqs %+v", g)
	}
}

func TestPGNoSequenceNumbers(t *testing.T) {
	c := newCollector()
	rr := start(t, Options{Listen: []string{"tcp://127.0.0.1:0"}, Handler: c.handler, PGNoSequenceNumbers: true,
		PGFlushAfter: 20 * time.Millisecond})
	conn := dial(t, "tcp", rr.addr(t, "tcp"))
	write(t, conn, octet(
		"<134>Nov 25 09:42:20 db1 postgres[5]: [1] LOG:  statement: SELECT 1,",
		"<134>Nov 25 09:42:20 db1 postgres[5]: [2] \t2",
		"<134>Nov 25 09:42:20 db1 postgres[5]: [1] LOG:  next",
	))
	g := c.wait(t, 3)
	if g[0].text != "LOG:  statement: SELECT 1," || g[1].text != "\t2" || g[2].text != "LOG:  next" {
		t.Fatalf("got %+v", g)
	}
	if st := rr.r.Stats(); st.SeqGaps != 0 || st.Duplicates != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPGPrefix(t *testing.T) {
	cases := []struct {
		in      string
		a       uint64
		part, n int
	}{
		{"[3-1] LOG", 3, 1, 6}, {"[3] LOG", 3, 0, 4}, {"[12-34] x", 12, 34, 8}, {"[3-1]", 3, 1, 5},
		{"[3-0] x", 0, 0, 0}, {"[-1] x", 0, 0, 0}, {"[a-1] x", 0, 0, 0}, {"[3-1]x", 0, 0, 0},
		{"[] x", 0, 0, 0}, {"[3-] x", 0, 0, 0}, {"[+3] x", 0, 0, 0}, {"LOG", 0, 0, 0},
	}
	for _, c := range cases {
		a, part, n := pgPrefix([]byte(c.in))
		if a != c.a || part != c.part || n != c.n {
			t.Errorf("%q: %d %d %d", c.in, a, part, n)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"<165>1 2026-11-25T09:42:20.804Z db1 postgres 12345 ID47 [a@1 b=\"c\\]\"] LOG:  hi",
		"<134>Nov 25 09:42:20 dbhost postgres[12345]: [3-1] LOG:  x",
		"<134>Nov  5 09:42:20 postgres[7]: [1-2] \tx",
		"<14>2026-11-25T09:42:20.5+00:00 vm app[1]: m",
		"<13>1 - - - - - -", "plain", "<999>", "[3-1] x",
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, _ := ParseHeader(b, now, time.UTC)
		if len(h.Body) > len(b) {
			t.Fatalf("body longer than input")
		}
		if h.Facility < 0 || h.Facility > 23 || h.Severity < 0 || h.Severity > 7 {
			t.Fatalf("bad PRI %d/%d", h.Facility, h.Severity)
		}
		a, part, n := pgPrefix(h.Body)
		if n > len(h.Body) || (n == 0 && (a != 0 || part != 0)) {
			t.Fatalf("pgPrefix %d %d %d", a, part, n)
		}
		// Reassembly must not panic on arbitrary chunk sequences.
		p := &pump{o: &Options{PGSyslogLimit: 900, PGMaxBytes: 1 << 20, PGFlushAfter: time.Second, Logger: discardLogger()},
			stats: &counters{}, now: func() time.Time { return now }, pg: map[pgKey]*pgState{}, offsets: map[string]int64{}}
		m := Message{Header: h}
		m.Body = h.Body
		p.pgProcess(m)
		p.pgProcess(m)
		p.pgFlushDue(true)
		if p.npend != 0 {
			t.Fatalf("npend %d", p.npend)
		}
	})
}
