// Command loggen writes a large, realistic PostgreSQL 15 + pgaudit log for
// benchmarks (never committed: generated at bench time). The workload
// mirrors the research corpus (../shared/research/perf.md §2): pgbench
// TPC-B transactions audited with pgaudit.log='all', connection churn,
// permission and syntax errors, failed logins, some DDL/GRANT/ROLE
// statements, and multi-line statements with TAB continuations.
//
//	go run ./internal/tools/loggen -size 1GiB -format stderr -o /tmp/bench.log
//	go run ./internal/tools/loggen -size 1GiB -format csvlog -o /tmp/bench.csv
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
)

// Prefix is the log_line_prefix of the stderr output (the research corpus's).
const Prefix = "%m [%p] %q%u@%d %h %a "

func main() {
	size := flag.String("size", "1GiB", "approximate output size (e.g. 200MiB, 1GiB)")
	format := flag.String("format", "stderr", "stderr or csvlog")
	out := flag.String("o", "", "output file (default stdout)")
	seed := flag.Uint64("seed", 1, "random seed")
	start := flag.String("start", "2026-11-25T09:00:00Z", "time of the first record (RFC 3339)")
	flag.Parse()
	t0, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loggen: -start:", err)
		os.Exit(2)
	}
	limit, err := parseSize(*size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loggen:", err)
		os.Exit(2)
	}
	w := os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loggen:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	g := newGen(*format, *seed)
	g.now = t0.UTC()
	var n int64
	for n < limit {
		n += g.step(bw)
	}
	if err := bw.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "loggen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "loggen: wrote %d bytes, %d records (%d AUDIT statements)\n", n, g.records, g.audits)
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suf, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "KB": 1e3, "MB": 1e6, "GB": 1e9} {
		if strings.HasSuffix(s, suf) {
			s, mult = strings.TrimSuffix(s, suf), m
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(v * float64(mult)), nil
}

type session struct {
	pid    int
	id     string
	user   string
	db     string
	host   string
	port   int
	app    string
	stmtID int
	line   int
	start  time.Time
	left   int // transactions left before disconnect
}

type gen struct {
	format  string
	rnd     *rand.Rand
	now     time.Time
	nextPID int
	sess    []*session
	records int64
	audits  int64
	buf     []byte
}

func newGen(format string, seed uint64) *gen {
	g := &gen{format: format, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		now: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC), nextPID: 20000}
	return g
}

var users = []struct{ user, app string }{
	{"app_rw", "pgbench"}, {"app_rw", "pgbench"}, {"app_rw", "pgbench"}, {"app_ro", "DBeaver 23.1.0 - Main"},
	{"reporting", "metabase"}, {"alice", "psql"},
}

func (g *gen) connect(w *bufio.Writer) (*session, int64) {
	u := users[g.rnd.IntN(len(users))]
	g.nextPID++
	s := &session{pid: g.nextPID, user: u.user, db: "bench", app: u.app,
		host: "127.0.0." + strconv.Itoa(2+g.rnd.IntN(20)), port: 30000 + g.rnd.IntN(30000),
		start: g.now, left: 50 + g.rnd.IntN(400)}
	s.id = fmt.Sprintf("%x.%x", g.now.Unix(), s.pid)
	var n int64
	n += g.write(w, s, "[unknown]", "[unknown]", "", "LOG", "00000", fmt.Sprintf("connection received: host=%s port=%d", s.host, s.port), "", "")
	n += g.write(w, s, s.user, s.db, s.app, "LOG", "00000", fmt.Sprintf("connection authorized: user=%s database=%s application_name=%s", s.user, s.db, s.app), "", "")
	g.sess = append(g.sess, s)
	return s, n
}

func (g *gen) tick() { g.now = g.now.Add(time.Duration(40+g.rnd.IntN(70)) * time.Microsecond) }

// step writes one unit of workload and returns the bytes written.
func (g *gen) step(w *bufio.Writer) int64 {
	var n int64
	if len(g.sess) < 8 {
		_, m := g.connect(w)
		return m
	}
	i := g.rnd.IntN(len(g.sess))
	s := g.sess[i]
	switch r := g.rnd.IntN(10000); {
	case r < 2: // failed login
		g.nextPID++
		bad := &session{pid: g.nextPID, user: "postgres", db: "bench", host: "127.0.0.99", port: 40000 + g.rnd.IntN(9999), start: g.now}
		bad.id = fmt.Sprintf("%x.%x", g.now.Unix(), bad.pid)
		n += g.write(w, bad, "[unknown]", "[unknown]", "", "LOG", "00000", fmt.Sprintf("connection received: host=%s port=%d", bad.host, bad.port), "", "")
		n += g.write(w, bad, "postgres", "bench", "", "FATAL", "28P01", `password authentication failed for user "postgres"`,
			`Connection matched pg_hba.conf line 3: "host    all             all             127.0.0.0/8             scram-sha-256"`, "")
		return n
	case r < 10: // error + statement
		n += g.write(w, s, s.user, s.db, s.app, "ERROR", "42501", "permission denied for table payroll", "", "SELECT * FROM payroll WHERE emp_id = "+strconv.Itoa(g.rnd.IntN(1000))+";")
		return n
	case r < 14: // multi-line statement with TAB continuations
		s.stmtID++
		q := "SELECT a.aid, a.abalance, b.bbalance\n\tFROM pgbench_accounts a\n\tJOIN pgbench_branches b ON b.bid = a.bid\n\tWHERE a.aid = " + strconv.Itoa(g.rnd.IntN(1000000)) + "\n\tORDER BY a.aid\n\tLIMIT 10;"
		n += g.audit(w, s, "READ", "SELECT", "TABLE", "public.pgbench_accounts", q)
		return n
	case r < 16: // DDL / DCL
		s.stmtID++
		t := "tmp_" + strconv.Itoa(g.rnd.IntN(1000))
		n += g.audit(w, s, "DDL", "CREATE TABLE", "TABLE", "public."+t, "CREATE TABLE "+t+" (id int, v text);")
		s.stmtID++
		n += g.audit(w, s, "ROLE", "GRANT", "TABLE", "", "GRANT SELECT ON "+t+" TO reporting;")
		s.stmtID++
		n += g.audit(w, s, "DDL", "DROP TABLE", "TABLE", "public."+t, "DROP TABLE "+t+";")
		return n
	}
	// A TPC-B transaction, simple protocol, as pgaudit logs it.
	aid, tid, bid, delta := g.rnd.IntN(1000000)+1, g.rnd.IntN(100)+1, g.rnd.IntN(10)+1, g.rnd.IntN(10001)-5000
	steps := []struct{ class, cmd, obj, q string }{
		{"MISC", "BEGIN", "", "BEGIN;"},
		{"WRITE", "UPDATE", "public.pgbench_accounts", fmt.Sprintf("UPDATE pgbench_accounts SET abalance = abalance + %d WHERE aid = %d;", delta, aid)},
		{"READ", "SELECT", "public.pgbench_accounts", fmt.Sprintf("SELECT abalance FROM pgbench_accounts WHERE aid = %d;", aid)},
		{"WRITE", "UPDATE", "public.pgbench_tellers", fmt.Sprintf("UPDATE pgbench_tellers SET tbalance = tbalance + %d WHERE tid = %d;", delta, tid)},
		{"WRITE", "UPDATE", "public.pgbench_branches", fmt.Sprintf("UPDATE pgbench_branches SET bbalance = bbalance + %d WHERE bid = %d;", delta, bid)},
		{"WRITE", "INSERT", "public.pgbench_history", fmt.Sprintf("INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (%d, %d, %d, %d, CURRENT_TIMESTAMP);", tid, bid, aid, delta)},
		{"MISC", "COMMIT", "", "END;"},
	}
	for _, st := range steps {
		s.stmtID++
		typ := ""
		if st.obj != "" {
			typ = "TABLE"
		}
		n += g.audit(w, s, st.class, st.cmd, typ, st.obj, st.q)
	}
	s.left--
	if s.left <= 0 {
		n += g.write(w, s, s.user, s.db, s.app, "LOG", "00000", fmt.Sprintf("disconnection: session time: 0:00:%02d.%03d user=%s database=%s host=%s port=%d",
			int(g.now.Sub(s.start).Seconds())%60, g.rnd.IntN(1000), s.user, s.db, s.host, s.port), "", "")
		g.sess = append(g.sess[:i], g.sess[i+1:]...)
	}
	return n
}

// audit writes one pgaudit SESSION record (pgaudit.log_parameter off).
func (g *gen) audit(w *bufio.Writer, s *session, class, cmd, objType, obj, q string) int64 {
	g.audits++
	stmt := q
	if strings.ContainsAny(stmt, ",\"\n") {
		stmt = `"` + strings.ReplaceAll(stmt, `"`, `""`) + `"`
	}
	msg := "AUDIT: SESSION," + strconv.Itoa(s.stmtID) + ",1," + class + "," + cmd + "," + objType + "," + obj + "," + stmt + ",<not logged>"
	return g.write(w, s, s.user, s.db, s.app, "LOG", "00000", msg, "", "")
}

// write emits one record in the chosen format, advancing the clock.
func (g *gen) write(w *bufio.Writer, s *session, user, db, app, sev, state, msg, detail, statement string) int64 {
	g.tick()
	g.records++
	s.line++
	b := g.buf[:0]
	ts := g.now.Format("2006-01-02 15:04:05.000") + " UTC"
	if g.format == "csvlog" {
		q := func(v string) {
			b = append(b, '"')
			b = append(b, strings.ReplaceAll(v, `"`, `""`)...)
			b = append(b, '"')
		}
		b = append(b, ts...)
		b = append(b, ',')
		if user != "[unknown]" {
			q(user)
		}
		b = append(b, ',')
		if db != "[unknown]" {
			q(db)
		}
		b = append(b, fmt.Sprintf(",%d,", s.pid)...)
		q(s.host + ":" + strconv.Itoa(s.port))
		b = append(b, fmt.Sprintf(",%s,%d,", s.id, s.line)...)
		q("idle")
		b = append(b, fmt.Sprintf(",%s UTC,3/%d,0,%s,%s,", s.start.Format("2006-01-02 15:04:05"), s.line, sev, state)...)
		q(msg)
		b = append(b, ',')
		if detail != "" {
			q(detail)
		}
		b = append(b, ",,,,,"...)
		if statement != "" {
			q(statement)
		}
		b = append(b, ",,,"...)
		if app != "" {
			q(app)
		}
		b = append(b, ",\"client backend\",,0\n"...)
	} else {
		pre := ts + " [" + strconv.Itoa(s.pid) + "] " + user + "@" + db + " " + s.host + " " + orUnknown(app) + " "
		b = append(b, pre...)
		b = append(b, sev...)
		b = append(b, ":  "...)
		b = append(b, msg...)
		b = append(b, '\n')
		if detail != "" {
			b = append(b, pre...)
			b = append(b, "DETAIL:  "...)
			b = append(b, detail...)
			b = append(b, '\n')
		}
		if statement != "" {
			b = append(b, pre...)
			b = append(b, "STATEMENT:  "...)
			b = append(b, statement...)
			b = append(b, '\n')
		}
	}
	g.buf = b
	w.Write(b)
	return int64(len(b))
}

func orUnknown(s string) string {
	if s == "" {
		return "[unknown]"
	}
	return s
}
