package pglog

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
)

// fuzzOpts keep the bounds small so that the fuzzer can reach them.
var fuzzOpts = Options{MaxSessions: 8, MaxRecordBytes: 4096, Hold: time.Second}

// seedFile adds chunks of a sample file (a few lines each) to the corpus.
func seedFile(f *testing.F, name string) {
	b, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		return
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	for i := 0; i < len(lines); i += 6 {
		j := min(i+6, len(lines))
		f.Add(bytes.Join(lines[i:j], nil))
	}
}

// fuzzRun feeds data line by line, then checks the parser's invariants:
// it never panics, every event is complete, and the state stays bounded.
func fuzzRun(t *testing.T, p *Parser, data []byte) {
	emit := func(ev *event.Event) {
		if ev == nil || ev.ID == "" || ev.DB.System.Name != dbSystem {
			t.Fatalf("bad event %+v", ev)
		}
	}
	var off int64
	for i, l := range bytes.Split(data, []byte("\n")) {
		_ = p.Parse(parse.Line{Text: l, File: "fuzz", Offset: off, No: int64(i + 1)}, emit)
		off += int64(len(l)) + 1
		checkBounds(t, p)
	}
	p.Flush(emit)
	checkBounds(t, p)
	if p.e.pendHead != nil {
		t.Fatal("something still pending after Flush")
	}
}

func checkBounds(t *testing.T, p *Parser) {
	e := p.e
	if len(e.sessions) > e.opts.MaxSessions {
		t.Fatalf("%d sessions > %d", len(e.sessions), e.opts.MaxSessions)
	}
	n := 0
	for s := e.lruHead; s != nil; s = s.lruNext {
		n++
	}
	if n != len(e.sessions) {
		t.Fatalf("lru list has %d sessions, map %d", n, len(e.sessions))
	}
	n = 0
	for s := e.pendHead; s != nil; s = s.pendNext {
		n++
		if s.login == nil && !s.q.active {
			t.Fatal("session on the pending list holds nothing")
		}
		if e.sessions[s.key] != s {
			t.Fatal("pending session not tracked")
		}
	}
	if n > len(e.sessions) {
		t.Fatalf("%d pending > %d sessions", n, len(e.sessions))
	}
	if len(e.strs) > 8192 {
		t.Fatalf("intern table %d", len(e.strs))
	}
	max := e.opts.MaxRecordBytes + 64<<10
	if p.st != nil && (len(p.st.buf) > max || len(p.st.detail) > max || len(p.st.query) > max) {
		t.Fatal("stderr record unbounded")
	}
	if p.cs != nil && len(p.cs.buf) > max {
		t.Fatal("csv record unbounded")
	}
}

func FuzzStderr(f *testing.F) {
	for _, n := range []string{"postgresql-phase1.log", "postgresql-phase2.log", "postgresql-phase3.log", "postgresql-phase4.log", "pg_ctl-startup-stderr.log"} {
		seedFile(f, n)
	}
	f.Add([]byte("2026-11-25 09:42:20.841 UTC [1] a@b LOG:  AUDIT: SESSION,1,1,READ,\"x\n\ty\",,,\"\"\"\",<none>,5\n\tz"))
	f.Fuzz(func(t *testing.T, data []byte) {
		prefixes := []string{"%m [%p] %q%u@%d ", "%t-%c-", "%t:%r:%u@%d:[%p]:", "%m [%p] %q%u@%d/%a "}
		pre := prefixes[len(data)%len(prefixes)]
		p, err := NewWithOptions(FormatStderr, pre, fuzzOpts)
		if err != nil {
			t.Fatal(err)
		}
		fuzzRun(t, p, data)
	})
}

func FuzzCSV(f *testing.F) {
	for _, n := range []string{"postgresql-phase1.csv", "postgresql-phase2.csv", "postgresql-phase3.csv", "postgresql-phase4.csv"} {
		seedFile(f, n)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := NewWithOptions(FormatCSV, "", fuzzOpts)
		if err != nil {
			t.Fatal(err)
		}
		fuzzRun(t, p, data)
	})
}

func FuzzJSON(f *testing.F) {
	for _, n := range []string{"postgresql-phase1.json", "postgresql-phase2.json", "postgresql-phase3.json", "postgresql-phase4.json"} {
		seedFile(f, n)
	}
	f.Add([]byte(`{"timestamp":"2026-11-25 10:00:00.000 UTC","error_severity":"LOG","message":"\ud83d\ude00\u0000","x":[{"y":"}"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := NewWithOptions(FormatJSON, "", fuzzOpts)
		if err != nil {
			t.Fatal(err)
		}
		fuzzRun(t, p, data)
	})
}

// FuzzPrefix compiles arbitrary prefixes, matches arbitrary lines against
// them, and runs detection: never a panic, and a match always ends at a
// severity inside the line.
func FuzzPrefix(f *testing.F) {
	for _, p := range CommonPrefixes {
		f.Add(p, "2026-11-25 09:42:20.841 UTC [9818] alice@appdb FATAL:  password authentication failed")
	}
	f.Add("'%a|%u|%d|%r|%h|%b|%p|%P|%t|%m|%n|%i|%e|%c|%l|%s|%v|%x|%Q|%%|'", "psql|alice|appdb|10.0.0.5(5432)|10.0.0.5|client backend|123||2026-11-25 09:42:14 UTC|2026-11-25 09:42:14.946 UTC|1764063734.946|SELECT|00000|6b06ad76.7b|3|2026-11-25 09:42:14 UTC|3/8|0|0|%|LOG:  x")
	f.Add("%-10u%5p%q%a", "   alice 12LOG:  x")
	f.Fuzz(func(t *testing.T, prefix, line string) {
		p, err := CompilePrefix(prefix)
		if err != nil {
			return
		}
		var m prefixMatch
		var tc timeCache
		b := []byte(line)
		if p.match(b, &m, &tc, time.UTC) {
			if m.msg > len(b) || m.sev == sevNone {
				t.Fatalf("bad match %+v", m)
			}
			for _, s := range []span{m.user, m.db, m.app, m.host, m.btype, m.tag, m.sid, m.state} {
				if s.a < 0 || s.b > int32(len(b)) || (s.a > s.b && !s.empty()) {
					t.Fatalf("span %v out of line", s)
				}
				_ = s.of(b)
			}
		}
		DetectPrefix([][]byte{b, []byte(strings.ToUpper(line))})
		Detect([][]byte{b})
	})
}
