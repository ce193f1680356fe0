// Command livebench measures `vigil run` in live mode (issue 3): the
// sustained events/s it stores, the detection latency from "line appended"
// to "alert stored", and the daemon's CPU and memory.
//
// It starts the given vigil binary on a temporary directory, appends
// realistic pgaudit stderr lines (a pgbench TPC-B mix, event time = now) at
// each rate of -rates, and every -marker-every appends a marker: a
// `DROP TABLE` by a new user mkN, which raises a new ddl.drop_table alert.
// A poller reads the store (store.Open, as `vigil alerts list` does) every
// -poll and notes when each marker's alert appears.
//
//	go build -o bin/vigil ./cmd/vigil && go run ./internal/tools/livebench -vigil bin/vigil
//	scripts/bench-live.sh -duration 15s -rates 1000,10000,max
//
// The latency resolution is the poll period (2 ms by default) plus the
// query time; the poller and the writer run on the same machine as the
// daemon and take some of its CPU.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vigildb/vigil/store"
)

const prefix = "%m [%p] %q%u@%d %h %a "

var (
	maxBacklog  int64
	markerClose bool
)

const clkTck = 100 // USER_HZ, the unit of /proc/<pid>/stat utime and stime

func main() {
	vigil := flag.String("vigil", "bin/vigil", "vigil binary to run")
	rates := flag.String("rates", "1000,10000,max", "comma-separated lines/s to write (max: as fast as possible)")
	duration := flag.Duration("duration", 20*time.Second, "how long each rate runs")
	markerEvery := flag.Duration("marker-every", 100*time.Millisecond, "marker (DROP TABLE by a new user) period")
	poll := flag.Duration("poll", 2*time.Millisecond, "store poll period")
	drainWait := flag.Duration("drain-wait", 10*time.Second, "how long to wait for the daemon to catch up after each rate")
	keep := flag.Bool("keep", false, "keep the temporary directory")
	flag.BoolVar(&markerClose, "marker-close", false, "append a trailing line after every marker so that the stderr framer releases it without waiting for the next batch of traffic")
	flag.Int64Var(&maxBacklog, "max-backlog", 8<<20, "at rate max, pause writing while the daemon has more than this many bytes unread (0: never pause)")
	flag.Parse()
	if err := run(*vigil, *rates, *duration, *markerEvery, *poll, *drainWait, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "livebench:", err)
		os.Exit(1)
	}
}

type phaseResult struct {
	target      string
	lines       int64
	bytes       int64
	writeSecs   float64
	events      int64
	eventSecs   float64
	lat         []time.Duration
	missed      int
	cpuPct      float64
	rssMiB      float64
	hwmMiB      float64
	drain       time.Duration
	drained     bool
	readLagB    int64 // bytes written but not read by the daemon when the drain ended
	alertsAfter int64
}

func run(vigil, rates string, duration, markerEvery, poll, drainWait time.Duration, keep bool) error {
	bin, err := filepath.Abs(vigil)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("vigil binary: %w", err)
	}
	dir, err := os.MkdirTemp("", "livebench-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	} else {
		defer fmt.Fprintln(os.Stderr, "livebench: kept", dir)
	}
	logPath := filepath.Join(dir, "postgresql.log")
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close()
	dataDir := filepath.Join(dir, "data")
	errPath := filepath.Join(dir, "vigil.stderr")
	ef, err := os.Create(errPath)
	if err != nil {
		return err
	}
	defer ef.Close()

	cmd := exec.Command(bin, "run", "--watch", filepath.Join(dir, "*.log"), "--data-dir", dataDir, "--log-line-prefix", prefix)
	cmd.Stdout, cmd.Stderr = ef, ef
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start vigil: %w", err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
	}()
	fmt.Fprintf(os.Stderr, "livebench: vigil pid %d, dir %s\n", pid, dir)

	// Let the daemon create its store before opening it here.
	time.Sleep(500 * time.Millisecond)
	st, err := store.Open(dataDir, store.Options{})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()

	b := &bench{st: st, f: lf, logPath: logPath, pid: pid, poll: poll, g: newGen(1), seen: map[string]time.Time{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.start = time.Now().Add(-time.Minute)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); b.pollLoop(ctx) }()

	// Warm-up: one marker, which also checks that a marker raises an alert.
	t0 := time.Now()
	mk, err := b.marker(true)
	if err != nil {
		return err
	}
	if _, ok := b.waitSeen(mk, 30*time.Second); !ok {
		return fmt.Errorf("warm-up marker %s raised no ddl.drop_table alert within 30s (see %s)", mk, errPath)
	}
	fmt.Fprintf(os.Stderr, "livebench: warm-up marker seen after %v\n", time.Since(t0).Round(time.Millisecond))

	var results []phaseResult
	for _, r := range strings.Split(rates, ",") {
		r = strings.TrimSpace(r)
		rate := 0.0
		if r != "max" {
			if rate, err = strconv.ParseFloat(r, 64); err != nil || rate <= 0 {
				return fmt.Errorf("bad rate %q", r)
			}
		}
		fmt.Fprintf(os.Stderr, "livebench: rate %s for %v ...\n", r, duration)
		res, err := b.phase(r, rate, duration, markerEvery, drainWait)
		if err != nil {
			return err
		}
		results = append(results, res)
		select {
		case err := <-exited:
			stopped = true
			return fmt.Errorf("vigil exited during the run: %v (see %s)", err, errPath)
		default:
		}
	}
	cancel()
	wg.Wait()

	_ = cmd.Process.Signal(syscall.SIGTERM)
	stopped = true
	var exitErr error
	select {
	case exitErr = <-exited:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		exitErr = errors.New("did not stop within 60s of SIGTERM (killed)")
	}

	fmt.Printf("vigil run live benchmark: %d cores, prefix %q, %v per rate, marker every %v, poll %v (latency resolution ~%v), max backlog %d MiB, marker-close %v\n",
		numCPU(), prefix, duration, markerEvery, poll, poll, maxBacklog>>20, markerClose)
	fmt.Printf("%-7s %10s %10s %8s %8s %8s %8s %8s %7s %7s %8s %8s %s\n",
		"target", "lines/s", "events/s", "p50ms", "p90ms", "p99ms", "maxms", "markers", "cpu%", "rssMiB", "hwmMiB", "drain", "note")
	for _, r := range results {
		note := ""
		if r.missed > 0 {
			note += fmt.Sprintf("%d markers unseen; ", r.missed)
		}
		drain := fmt.Sprintf("%.3fs", r.drain.Seconds())
		if !r.drained {
			drain = ">" + drain
			note += fmt.Sprintf("not drained: %.1f MiB not committed; ", float64(r.readLagB)/(1<<20))
		}
		fmt.Printf("%-7s %10.0f %10.0f %8s %8s %8s %8s %8d %7.1f %7.1f %8.1f %8s %s\n",
			r.target, float64(r.lines)/r.writeSecs, float64(r.events)/r.eventSecs,
			ms(pct(r.lat, 50)), ms(pct(r.lat, 90)), ms(pct(r.lat, 99)), ms(pct(r.lat, 100)), len(r.lat),
			r.cpuPct, r.rssMiB, r.hwmMiB, drain, strings.TrimSuffix(note, "; "))
	}
	fmt.Println("lines/s: lines appended during the rate's duration; events/s: store events added from the rate's start to its drain, over that time;")
	fmt.Println("latency: marker write returned -> its alert listed by the poller; cpu%: daemon utime+stime over the writing time, % of one core;")
	fmt.Println("rss: VmRSS at the end of the writing; hwm: VmHWM (peak) so far; drain: end of writing -> the closing marker's alert stored.")
	if exitErr != nil {
		return fmt.Errorf("vigil run did not exit 0 on SIGTERM: %v (see %s)", exitErr, errPath)
	}
	fmt.Println("vigil run exited 0 on SIGTERM")
	return nil
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

func ms(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64)
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return -1
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

type bench struct {
	st         *store.Store
	f          *os.File
	logPath    string
	pid        int
	poll       time.Duration
	g          *gen
	start      time.Time
	nMarker    int
	written    int64 // bytes appended
	lastCommit int64

	mu      sync.Mutex
	pending map[string]time.Time // marker user -> write time, not yet seen
	seen    map[string]time.Time // marker user -> first seen
}

// marker appends a DROP TABLE by a new user; closing adds a line after it
// so that the stderr framer releases the marker's last record without
// waiting for more traffic. It returns the marker's user name.
func (b *bench) marker(closing bool) (string, error) {
	b.nMarker++
	user := "mk" + strconv.Itoa(b.nMarker)
	buf := b.g.markerLines(nil, user, 900000+b.nMarker, closing)
	if err := b.write(buf); err != nil {
		return "", err
	}
	now := time.Now()
	b.mu.Lock()
	if b.pending == nil {
		b.pending = map[string]time.Time{}
	}
	b.pending[user] = now
	b.mu.Unlock()
	return user, nil
}

func (b *bench) write(buf []byte) error {
	n, err := b.f.Write(buf)
	b.written += int64(n)
	return err
}

// waitSeen waits until the marker's alert is seen; it returns the latency.
func (b *bench) waitSeen(user string, timeout time.Duration) (time.Duration, bool) {
	deadline := time.Now().Add(timeout)
	for {
		b.mu.Lock()
		s, ok := b.seen[user]
		w := b.pending[user]
		b.mu.Unlock()
		if ok {
			return s.Sub(w), true
		}
		if time.Now().After(deadline) {
			return 0, false
		}
		time.Sleep(time.Millisecond)
	}
}

// pollLoop lists the recent ddl.drop_table alerts every b.poll and notes
// when each marker's alert first appears.
func (b *bench) pollLoop(ctx context.Context) {
	tk := time.NewTicker(b.poll)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		b.mu.Lock()
		var oldest time.Time
		npend := 0
		for u, w := range b.pending {
			if _, ok := b.seen[u]; !ok {
				npend++
				if oldest.IsZero() || w.Before(oldest) {
					oldest = w
				}
			}
		}
		b.mu.Unlock()
		if npend == 0 {
			continue
		}
		// Event times are the write times (ms precision): list only the
		// alerts from shortly before the oldest unseen marker.
		alerts, err := b.st.ListAlerts(ctx, store.AlertFilter{RuleID: "ddl.drop_table", Since: oldest.Add(-2 * time.Second), Limit: 100 + npend})
		now := time.Now()
		if err != nil {
			if ctx.Err() == nil {
				fmt.Fprintln(os.Stderr, "livebench: list alerts:", err)
			}
			continue
		}
		b.mu.Lock()
		for _, a := range alerts {
			u := a.Group["user.name"]
			if u == "" {
				u = a.Entity.User
			}
			if _, ok := b.pending[u]; ok {
				if _, done := b.seen[u]; !done {
					b.seen[u] = now
				}
			}
		}
		b.mu.Unlock()
	}
}

func (b *bench) phase(target string, rate float64, duration, markerEvery, drainWait time.Duration) (phaseResult, error) {
	res := phaseResult{target: target}
	ctx := context.Background()
	st0, err := b.st.Stats(ctx)
	if err != nil {
		return res, err
	}
	cpu0 := cpuTicks(b.pid)
	start := time.Now()
	var markers []string
	nextMarker := start.Add(markerEvery)
	var buf []byte
	const tick = 10 * time.Millisecond
	const maxChunk = 2000
	for {
		now := time.Now()
		el := now.Sub(start)
		if el >= duration {
			break
		}
		var due int64
		if rate > 0 {
			due = int64(rate*el.Seconds()) - res.lines
		} else if maxBacklog <= 0 || b.written-b.committed(maxBacklog) <= maxBacklog {
			due = maxChunk
		} else {
			time.Sleep(2 * time.Millisecond)
		}
		if due > 0 {
			buf = buf[:0]
			buf, due = b.g.lines(buf, due)
			if err := b.write(buf); err != nil {
				return res, err
			}
			res.lines += due
			res.bytes += int64(len(buf))
		}
		if !now.Before(nextMarker) {
			u, err := b.marker(markerClose)
			if err != nil {
				return res, err
			}
			markers = append(markers, u)
			nextMarker = nextMarker.Add(markerEvery)
			if nextMarker.Before(now) { // fell behind: do not burst
				nextMarker = now.Add(markerEvery)
			}
		}
		if rate > 0 {
			// Batches every tick (and at each marker).
			wake := start.Add((time.Since(start)/tick + 1) * tick)
			if nextMarker.Before(wake) {
				wake = nextMarker
			}
			if d := time.Until(wake); d > 0 {
				time.Sleep(d)
			}
		}
	}
	end := time.Now()
	res.writeSecs = end.Sub(start).Seconds()
	cpu1 := cpuTicks(b.pid)
	res.cpuPct = float64(cpu1-cpu0) / clkTck / res.writeSecs * 100
	res.rssMiB, res.hwmMiB = memMiB(b.pid)

	// The closing marker: once its alert is stored, everything written
	// before it has been processed.
	closer, err := b.marker(true)
	if err != nil {
		return res, err
	}
	if _, ok := b.waitSeen(closer, drainWait); ok {
		res.drained = true
	} else {
		res.readLagB = b.written - b.committed(0)
		// Wait (unreported) for the backlog before the next rate.
		b.waitSeen(closer, 10*time.Minute)
	}
	b.mu.Lock()
	res.drain = b.seen[closer].Sub(end)
	b.mu.Unlock()
	if !res.drained {
		res.drain = drainWait
	}
	st1, err := b.st.Stats(ctx)
	if err != nil {
		return res, err
	}
	res.events = st1.Events - st0.Events
	b.mu.Lock()
	res.eventSecs = b.seen[closer].Sub(start).Seconds()
	for _, u := range markers {
		s, ok := b.seen[u]
		if !ok {
			res.missed++
			continue
		}
		res.lat = append(res.lat, s.Sub(b.pending[u]))
	}
	b.mu.Unlock()
	return res, nil
}

// cpuTicks is utime+stime of pid, in clock ticks.
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	// Fields after the command name (which may hold spaces), from field 3.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64) // field 14
	k, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	return u + k
}

// memMiB is VmRSS and VmHWM of pid.
func memMiB(pid int) (rss, hwm float64) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		switch k {
		case "VmRSS":
			rss = kb / 1024
		case "VmHWM":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}

// committed is the offset up to which the daemon has stored the log file
// (its checkpoint). With a positive slack it re-reads the checkpoint only
// once the writer is that far ahead of the last value read.
func (b *bench) committed(slack int64) int64 {
	if slack > 0 && b.written-b.lastCommit <= slack {
		return b.lastCommit
	}
	cps, err := b.st.Checkpoints(context.Background(), "file")
	if err != nil {
		return b.lastCommit
	}
	for _, cp := range cps {
		var d struct {
			Path   string `json:"path"`
			Offset int64  `json:"offset"`
		}
		if json.Unmarshal(cp.Data, &d) == nil && d.Path == b.logPath {
			b.lastCommit = d.Offset
		}
	}
	return b.lastCommit
}

// --- workload: pgaudit stderr lines, as internal/tools/loggen writes them ---

type session struct {
	pid    int
	user   string
	db     string
	host   string
	port   int
	app    string
	stmtID int
	start  time.Time
	left   int // transactions left before disconnect
	queue  []string
}

type gen struct {
	rnd     *rand.Rand
	nextPID int
	sess    []*session
}

func newGen(seed uint64) *gen {
	return &gen{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), nextPID: 20000}
}

var users = []struct{ user, app string }{
	{"app_rw", "pgbench"}, {"app_rw", "pgbench"}, {"app_rw", "pgbench"}, {"app_ro", "DBeaver 23.1.0 - Main"},
	{"reporting", "metabase"}, {"alice", "psql"},
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") + " UTC" }

func (s *session) pre(t string) string {
	return t + " [" + strconv.Itoa(s.pid) + "] " + s.user + "@" + s.db + " " + s.host + " " + s.app + " "
}

// lines appends about n lines (whole records) of workload stamped now and
// returns the buffer and the number of lines.
func (g *gen) lines(b []byte, n int64) ([]byte, int64) {
	t := ts(time.Now())
	var k int64
	for k < n {
		if len(g.sess) < 8 {
			g.nextPID++
			u := users[g.rnd.IntN(len(users))]
			s := &session{pid: g.nextPID, user: u.user, db: "bench", app: u.app,
				host: "127.0.0." + strconv.Itoa(2+g.rnd.IntN(20)), port: 30000 + g.rnd.IntN(30000),
				start: time.Now(), left: 50 + g.rnd.IntN(400)}
			b = fmt.Appendf(b, "%s [%d] [unknown]@[unknown] %s [unknown] LOG:  connection received: host=%s port=%d\n", t, s.pid, s.host, s.host, s.port)
			b = append(b, s.pre(t)...)
			b = fmt.Appendf(b, "LOG:  connection authorized: user=%s database=%s application_name=%s\n", s.user, s.db, s.app)
			g.sess = append(g.sess, s)
			k += 2
			continue
		}
		i := g.rnd.IntN(len(g.sess))
		s := g.sess[i]
		if len(s.queue) == 0 {
			if r := g.rnd.IntN(10000); r < 8 {
				b = append(b, s.pre(t)...)
				b = fmt.Appendf(b, "ERROR:  permission denied for table payroll\n")
				b = append(b, s.pre(t)...)
				b = fmt.Appendf(b, "STATEMENT:  SELECT * FROM payroll WHERE emp_id = %d;\n", g.rnd.IntN(1000))
				k += 2
				continue
			} else if r < 12 {
				s.stmtID++
				b = append(b, s.pre(t)...)
				b = fmt.Appendf(b, "LOG:  AUDIT: SESSION,%d,1,READ,SELECT,TABLE,public.pgbench_accounts,\"SELECT a.aid, a.abalance, b.bbalance\n\tFROM pgbench_accounts a\n\tJOIN pgbench_branches b ON b.bid = a.bid\n\tWHERE a.aid = %d\n\tORDER BY a.aid\n\tLIMIT 10;\",<not logged>\n",
					s.stmtID, g.rnd.IntN(1000000))
				k += 6
				continue
			} else if r < 14 {
				tn := "tmp_" + strconv.Itoa(g.rnd.IntN(1000))
				s.queue = append(s.queue,
					"DDL,CREATE TABLE,TABLE,public."+tn+",\"CREATE TABLE "+tn+" (id int, v text);\"",
					"ROLE,GRANT,TABLE,,GRANT SELECT ON "+tn+" TO reporting;")
			} else {
				if s.left <= 0 {
					b = append(b, s.pre(t)...)
					b = fmt.Appendf(b, "LOG:  disconnection: session time: 0:00:%02d.%03d user=%s database=%s host=%s port=%d\n",
						int(time.Since(s.start).Seconds())%60, g.rnd.IntN(1000), s.user, s.db, s.host, s.port)
					g.sess = slices.Delete(g.sess, i, i+1)
					k++
					continue
				}
				s.left--
				aid, tid, bid, delta := g.rnd.IntN(1000000)+1, g.rnd.IntN(100)+1, g.rnd.IntN(10)+1, g.rnd.IntN(10001)-5000
				s.queue = append(s.queue,
					"MISC,BEGIN,,,BEGIN;",
					fmt.Sprintf("WRITE,UPDATE,TABLE,public.pgbench_accounts,UPDATE pgbench_accounts SET abalance = abalance + %d WHERE aid = %d;", delta, aid),
					fmt.Sprintf("READ,SELECT,TABLE,public.pgbench_accounts,SELECT abalance FROM pgbench_accounts WHERE aid = %d;", aid),
					fmt.Sprintf("WRITE,UPDATE,TABLE,public.pgbench_tellers,UPDATE pgbench_tellers SET tbalance = tbalance + %d WHERE tid = %d;", delta, tid),
					fmt.Sprintf("WRITE,UPDATE,TABLE,public.pgbench_branches,UPDATE pgbench_branches SET bbalance = bbalance + %d WHERE bid = %d;", delta, bid),
					fmt.Sprintf("WRITE,INSERT,TABLE,public.pgbench_history,\"INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (%d, %d, %d, %d, CURRENT_TIMESTAMP);\"", tid, bid, aid, delta),
					"MISC,COMMIT,,,END;")
			}
		}
		// One statement of the session's transaction: sessions interleave.
		s.stmtID++
		b = append(b, s.pre(t)...)
		b = fmt.Appendf(b, "LOG:  AUDIT: SESSION,%d,1,%s,<not logged>\n", s.stmtID, s.queue[0])
		s.queue = s.queue[1:]
		k++
	}
	return b, k
}

// markerLines is a DROP TABLE by user in its own session (pid), then the
// session's disconnection, which ends the statement (a lone statement is
// held up to 5 s for a closing line). closing adds a background-process
// line that makes the stderr framer release the disconnection at once.
func (g *gen) markerLines(b []byte, user string, pid int, closing bool) []byte {
	t := ts(time.Now())
	s := &session{pid: pid, user: user, db: "bench", host: "10.9.0.7", app: "psql"}
	b = append(b, s.pre(t)...)
	b = fmt.Appendf(b, "LOG:  AUDIT: SESSION,1,1,DDL,DROP TABLE,TABLE,public.victim_%s,DROP TABLE victim_%s;,<not logged>\n", user, user)
	b = append(b, s.pre(t)...)
	b = fmt.Appendf(b, "LOG:  disconnection: session time: 0:00:01.000 user=%s database=bench host=10.9.0.7 port=51000\n", user)
	if closing {
		b = fmt.Appendf(b, "%s [%d] LOG:  checkpoint starting: time\n", t, 100)
	}
	return b
}
