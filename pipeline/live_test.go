package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vigildb/vigil/detect"
	"github.com/vigildb/vigil/parse"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigildb/vigil/source/file"
	"github.com/vigildb/vigil/store"
)

const demoAttack = "../testdata/demo/attack.log"

// startLive runs the live pipeline on dataDir's store in the background;
// stop cancels it and waits for its final write. mod, if given, adjusts the
// pipeline before it starts (test hooks).
func startLive(t *testing.T, dataDir string, patterns []string, mod ...func(*live)) (st *store.Store, stop func() error) {
	t.Helper()
	st, err := store.Open(dataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	l, err := newLive(LiveOptions{
		Options:      Options{SourceName: "test"},
		Patterns:     patterns,
		Store:        st,
		Logger:       slog.New(slog.NewTextHandler(&logs, nil)),
		TickEvery:    -1, // old log: the wall clock must not overtake event time
		IdleFlush:    -1,
		PollInterval: 20 * time.Millisecond,
		RetryMin:     10 * time.Millisecond,
		RetryMax:     50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mod {
		m(l)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.run(ctx) }()
	stopped := false
	var runErr error
	stop = func() error {
		if stopped {
			return runErr
		}
		stopped = true
		cancel()
		select {
		case runErr = <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("Live did not stop")
		}
		if err := st.Close(); err != nil {
			t.Error(err)
		}
		if testing.Verbose() {
			t.Logf("live log:\n%s", logs.String())
		}
		return runErr
	}
	t.Cleanup(func() { stop() })
	return st, stop
}

// mustStop stops a live run that must end without error.
func mustStop(t *testing.T, stop func() error) {
	t.Helper()
	if err := stop(); err != nil {
		t.Errorf("Live: %v", err)
	}
}

// waitOffset polls the store until the source's checkpoint of the file at
// path reaches off.
func waitOffset(t *testing.T, st *store.Store, path string, off int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		cps, err := st.Checkpoints(context.Background(), "test")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cps {
			var cp file.Checkpoint
			if err := json.Unmarshal(c.Data, &cp); err != nil {
				t.Fatal(err)
			}
			if cp.Path == path && max(cp.Offset, cp.Read) >= off {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint of %s did not reach offset %d: %v", path, off, cps)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func appendFile(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLiveRestartSameAsReplay tails the demo attack log in two halves, split
// in the middle of the failed-login burst, with a restart in between: the
// store ends up with every event once and the alerts a one-shot replay
// raises, so the burst's window survived the restart in the saved state.
func TestLiveRestartSameAsReplay(t *testing.T) {
	data, err := os.ReadFile(demoAttack)
	if err != nil {
		t.Fatal(err)
	}
	// Split after the third of the six failed logins from 127.0.0.2.
	marker := []byte(`password authentication failed for user "ops_admin"`)
	cut := 0
	for range 3 {
		i := bytes.Index(data[cut:], marker)
		if i < 0 {
			t.Fatal("demo log without the ops_admin burst")
		}
		cut += i + len(marker)
	}
	cut += bytes.IndexByte(data[cut:], '\n') + 1
	cut += bytes.IndexByte(data[cut:], '\n') + 1 // the DETAIL line
	first, second := data[:cut], data[cut:]

	dir := t.TempDir()
	logPath := filepath.Join(dir, "logs", "postgresql.log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	patterns := []string{filepath.Join(dir, "logs", "*.log")}

	appendFile(t, logPath, first)
	st, stop := startLive(t, dataDir, patterns)
	waitOffset(t, st, logPath, int64(len(first)))
	mustStop(t, stop)

	// The burst must not be complete yet: the alert needs the state.
	st, stop = startLive(t, dataDir, patterns)
	if as, err := st.ListAlerts(context.Background(), store.AlertFilter{RuleID: "auth.failed_login_burst"}); err != nil || len(as) != 0 {
		t.Fatalf("burst alert before the second half: %v %v", as, err)
	}
	appendFile(t, logPath, second)
	waitOffset(t, st, logPath, int64(len(data)))
	mustStop(t, stop)

	got := checkLikeReplay(t, dataDir, logPath, data, true)
	if !strings.Contains(strings.Join(got, "\n"), "auth.failed_login_burst") {
		t.Errorf("no auth.failed_login_burst alert: %v", got)
	}
}

// checkLikeReplay checks that the store in dataDir holds every event of
// data (the whole content of the file at logPath) exactly once, as many as
// a one-shot replay gives, and, if alerts, the replay's alerts (ids and
// counts). It returns the stored alerts as "rule id count=n".
func checkLikeReplay(t *testing.T, dataDir, logPath string, data []byte, alerts bool) []string {
	t.Helper()
	st, err := store.Open(dataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	evs, err := st.SearchEvents(ctx, store.EventFilter{Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, ev := range evs {
		ids[ev.ID]++
		if ev.Log.File != logPath {
			t.Errorf("event %s: log.file %q, want %q", ev.ID, ev.Log.File, logPath)
			break
		}
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("event %s stored %d times", id, n)
		}
	}

	res, err := Replay(ctx, Options{SourceName: "test"}, Input{Name: logPath, R: bytes.NewReader(data), Size: int64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(evs)) != res.Events {
		t.Errorf("store holds %d events, replay gives %d", len(evs), res.Events)
	}
	stored, err := st.ListAlerts(ctx, store.AlertFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, a := range stored {
		got = append(got, fmt.Sprintf("%s %s count=%d", a.RuleID, a.ID, a.Count))
	}
	for _, a := range res.Alerts {
		want = append(want, fmt.Sprintf("%s %s count=%d", a.RuleID, a.ID, a.Count))
	}
	sort.Strings(got)
	sort.Strings(want)
	if alerts && strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stored alerts differ from replay's:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	return got
}

// liveFiles makes the directories of a live test: the log file's path (not
// created), the data directory and the watch patterns.
func liveFiles(t *testing.T) (logPath, dataDir string, patterns []string) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "logs", "postgresql.log"), filepath.Join(dir, "data"), []string{filepath.Join(dir, "logs", "*.log")}
}

// TestLiveWriteFailures: while the store cannot write (disk full) nothing
// is accepted: a stop then leaves no checkpoint, no state and no event, and
// the next run reads everything; writes that fail a few times are retried
// until they succeed, and nothing is lost or stored twice.
func TestLiveWriteFailures(t *testing.T) {
	data, err := os.ReadFile(demoAttack)
	if err != nil {
		t.Fatal(err)
	}
	logPath, dataDir, patterns := liveFiles(t)
	appendFile(t, logPath, data)

	failed := make(chan struct{}, 1)
	_, stop := startLive(t, dataDir, patterns, func(l *live) {
		l.storeWrite = func(context.Context, store.Batch) error {
			select {
			case failed <- struct{}{}:
			default:
			}
			return fmt.Errorf("%w: test", store.ErrDiskFull)
		}
	})
	for range 3 {
		select {
		case <-failed:
		case <-time.After(30 * time.Second):
			t.Fatal("no write attempted")
		}
	}
	if err := stop(); !errors.Is(err, store.ErrDiskFull) {
		t.Errorf("Live after failed writes: %v, want ErrDiskFull", err)
	}
	st, err := store.Open(dataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cps, err := st.Checkpoints(ctx, "test")
	if err != nil || len(cps) != 0 {
		t.Errorf("checkpoints after failed writes: %v %v", cps, err)
	}
	if _, err := st.LoadState(ctx, StateName); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("state after failed writes: %v", err)
	}
	if s, err := st.Stats(ctx); err != nil || s.Events != 0 {
		t.Errorf("events after failed writes: %+v %v", s, err)
	}
	st.Close()

	var fails atomic.Int32
	fails.Store(3)
	st, stop = startLive(t, dataDir, patterns, func(l *live) {
		w := l.storeWrite
		l.storeWrite = func(ctx context.Context, b store.Batch) error {
			if fails.Add(-1) >= 0 {
				return fmt.Errorf("%w: test", store.ErrDiskFull)
			}
			return w(ctx, b)
		}
	})
	waitOffset(t, st, logPath, int64(len(data)))
	mustStop(t, stop)
	checkLikeReplay(t, dataDir, logPath, data, true)
}

// TestLiveRedelivery: lines delivered again (simulated by rolling the
// checkpoint back to 0) are not stored twice, even after the file was
// renamed by a rotation: event ids depend on the file's identity and the
// line's offset, not on its name.
func TestLiveRedelivery(t *testing.T) {
	data, err := os.ReadFile(demoAttack)
	if err != nil {
		t.Fatal(err)
	}
	logPath, dataDir, patterns := liveFiles(t)
	appendFile(t, logPath, data)
	st, stop := startLive(t, dataDir, patterns)
	waitOffset(t, st, logPath, int64(len(data)))
	mustStop(t, stop)

	st, err = store.Open(dataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cps, err := st.Checkpoints(ctx, "test")
	if err != nil || len(cps) != 1 {
		t.Fatalf("checkpoints: %v %v", cps, err)
	}
	var cp file.Checkpoint
	if err := json.Unmarshal(cps[0].Data, &cp); err != nil {
		t.Fatal(err)
	}
	cp.Offset, cp.LineNo = 0, 0
	cps[0].Data, _ = json.Marshal(cp)
	if err := st.Write(ctx, store.Batch{Checkpoints: cps}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// Rotated meanwhile: the ids follow the file, not its name.
	rotated := logPath + ".1"
	if err := os.Rename(logPath, rotated); err != nil {
		t.Fatal(err)
	}

	st, stop = startLive(t, dataDir, patterns)
	waitOffset(t, st, rotated, int64(len(data)))
	mustStop(t, stop)
	checkLikeReplay(t, dataDir, logPath, data, false)
}

// TestLiveAbsence: the clock ticks move the engine to the wall clock, so
// logs.absent fires for a source that went silent, and the alert is stored.
func TestLiveAbsence(t *testing.T) {
	data, err := os.ReadFile(demoAttack)
	if err != nil {
		t.Fatal(err)
	}
	logPath, dataDir, patterns := liveFiles(t)
	appendFile(t, logPath, data)
	later := time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC) // the demo log ends at 11:23:51
	st, stop := startLive(t, dataDir, patterns, func(l *live) {
		l.opts.TickEvery = 20 * time.Millisecond
		l.opts.Now = func() time.Time { return later }
	})
	waitOffset(t, st, logPath, int64(len(data)))
	deadline := time.Now().Add(30 * time.Second)
	for {
		as, err := st.ListAlerts(context.Background(), store.AlertFilter{RuleID: "logs.absent"})
		if err != nil {
			t.Fatal(err)
		}
		if len(as) == 1 && as[0].Group["source.name"] == "test" {
			break
		}
		if len(as) > 1 || time.Now().After(deadline) {
			t.Fatalf("logs.absent alerts: %d", len(as))
		}
		time.Sleep(20 * time.Millisecond)
	}
	mustStop(t, stop)
}

// TestLiveQuarantine: malformed and binary garbage lines interleaved with
// a real log are counted and quarantined (masked), and everything else is
// read as if they were not there: the same events and alerts as a replay
// of the clean log.
func TestLiveQuarantine(t *testing.T) {
	clean, err := os.ReadFile("../testdata/demo/attack.log")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var dirty bytes.Buffer
	garbage := 0
	lines := bytes.SplitAfter(clean, []byte("\n"))
	for i, ln := range lines {
		// Garbage goes before a line that starts a new entry, so no
		// multi-line entry is cut in two.
		if i%25 == 0 && len(ln) > 0 && ln[0] != '\t' {
			if garbage%2 == 0 {
				b := make([]byte, 20+rng.IntN(200))
				for j := range b {
					b[j] = byte(rng.IntN(256))
					if b[j] == '\n' || b[j] == '\r' || j == 0 && b[j] == '\t' {
						b[j] = 0
					}
				}
				dirty.Write(b)
			} else {
				dirty.WriteString("garbage ALTER ROLE x PASSWORD 'hunter2' <- not a log line")
			}
			dirty.WriteByte('\n')
			garbage++
		}
		dirty.Write(ln)
	}
	logPath, dataDir, patterns := liveFiles(t)
	appendFile(t, logPath, dirty.Bytes())
	st, stop := startLive(t, dataDir, patterns)
	waitOffset(t, st, logPath, int64(dirty.Len()))
	mustStop(t, stop)

	checkLikeReplay(t, dataDir, logPath, clean, true)
	st, err = store.Open(dataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	qs, err := st.ListQuarantine(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != garbage {
		t.Errorf("quarantined %d lines, want the %d garbage lines", len(qs), garbage)
	}
	for _, q := range qs {
		if bytes.Contains(q.Data, []byte("hunter2")) || strings.Contains(q.Reason, "hunter2") {
			t.Errorf("quarantined line %s:%d keeps a password in clear: %q", q.File, q.Line, q.Data)
		}
		if q.File != logPath || q.Size == 0 {
			t.Errorf("quarantined line: file %q size %d", q.File, q.Size)
		}
	}
}

// lagRecorder is a LiveMetrics with the LagMetrics extension.
type lagRecorder struct {
	mu    sync.Mutex
	lag   map[string]int64
	queue map[string]int
}

func (r *lagRecorder) AddEvents(string, int)        {}
func (r *lagRecorder) AddParseFailures(string, int) {}
func (r *lagRecorder) SetCheckpointLag(source, file string, bytes int64, seconds float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lag[source+" "+file] = bytes
}
func (r *lagRecorder) ForgetCheckpoint(source, file string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.lag, source+" "+file)
}
func (r *lagRecorder) SetQueueDepth(stage string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queue[stage] = n
}

// TestLiveReloadRetentionLag: rules reload between batches (a broken rule
// file leaves the running rules alone; a new rule applies to what follows
// and the windows of the others carry over), the retention runs on its own
// schedule, and the checkpoint lag and queue depth are reported.
func TestLiveReloadRetentionLag(t *testing.T) {
	data, err := os.ReadFile("../testdata/demo/attack.log")
	if err != nil {
		t.Fatal(err)
	}
	half := bytes.Index(data[len(data)/2:], []byte("\n2026-")) + len(data)/2 + 1
	logPath, dataDir, patterns := liveFiles(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(bad, []byte("- rule: x.broken\n  kind: match\n  condition: event.nope == 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, []byte(`- rule: custom.any_drop
  title: Any DROP
  severity: low
  description: any drop
  impact: i
  mitigation: m
  kind: match
  condition: db.operation.name startsWith "DROP"
  group_by: [user.name]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := &lagRecorder{lag: map[string]int64{}, queue: map[string]int{}}
	var lv *live
	pruned := make(chan struct{}, 1)
	appendFile(t, logPath, data[:half])
	st, stop := startLive(t, dataDir, patterns, func(l *live) {
		lv = l
		l.opts.Metrics = rec
		// Everything is older than a day: the first retention pass prunes
		// what is stored then; the test only checks it ran on schedule.
		l.opts.Retention = store.Retention{MaxAge: 1000 * 24 * time.Hour}
		l.opts.RetentionEvery = 10 * time.Millisecond
		now := time.Now
		l.opts.Now = func() time.Time {
			select {
			case pruned <- struct{}{}:
			default:
			}
			return now()
		}
	})
	waitOffset(t, st, logPath, int64(half))
	select {
	case <-pruned:
	case <-time.After(10 * time.Second):
		t.Fatal("the retention never ran")
	}
	before := len(lv.rules.Rules)
	if _, err := lv.reloadRules([]detect.Source{detect.PathSource(bad)}); err == nil {
		t.Fatal("reload with a broken rule file succeeded")
	}
	if len(lv.rules.Rules) != before {
		t.Fatalf("a failed reload changed the rules: %d -> %d", before, len(lv.rules.Rules))
	}
	n, err := lv.reloadRules([]detect.Source{detect.PathSource(good)})
	if err != nil || n != before+1 {
		t.Fatalf("reload = %d, %v; want %d rules", n, err, before+1)
	}
	appendFile(t, logPath, data[half:])
	waitOffset(t, st, logPath, int64(len(data)))
	rec.mu.Lock()
	if lag, ok := rec.lag["test "+logPath]; !ok || lag != 0 {
		t.Errorf("checkpoint lag of %s = %d, %v; want 0 once read", logPath, lag, ok)
	}
	if q, ok := rec.queue["store"]; !ok || q != 0 {
		t.Errorf("store queue depth = %d, %v; want 0 after a stored batch", q, ok)
	}
	rec.mu.Unlock()
	mustStop(t, stop)

	// The built-in rules' alerts are those of a replay of the whole log
	// (windows carried over the reload), and the new rule fired.
	got := checkLikeReplay(t, dataDir, logPath, data, false)
	res, err := Replay(context.Background(), Options{SourceName: "test"}, Input{Name: logPath, R: bytes.NewReader(data), Size: int64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	var builtin, want []string
	drops := 0
	for _, a := range got {
		if strings.HasPrefix(a, "custom.any_drop ") {
			drops++
		} else {
			builtin = append(builtin, a)
		}
	}
	for _, a := range res.Alerts {
		want = append(want, fmt.Sprintf("%s %s count=%d", a.RuleID, a.ID, a.Count))
	}
	sort.Strings(want)
	if strings.Join(builtin, "\n") != strings.Join(want, "\n") {
		t.Errorf("built-in alerts across the reload differ from a replay's:\n got %s\nwant %s", strings.Join(builtin, "\n     "), strings.Join(want, "\n     "))
	}
	if drops == 0 {
		t.Errorf("the rule added by the reload never fired: %v", got)
	}
}

// TestLiveRedeliveredStreamAfterRestart: a Kafka-like stream re-delivers,
// after a restart, records the previous run had processed (their commit
// was lost). The saved stream positions keep them from the engine: the
// burst counts each failed login once.
func TestLiveRedeliveredStreamAfterRestart(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	line := func(i int) parse.Line {
		text := fmt.Sprintf(`{"time":"2026-11-25T10:00:%02dZ","source":{"name":"k"},"db":{"system":{"name":"postgresql"}},"user":{"name":"u%d"},"client":{"address":"203.0.113.9"},"event":{"category":"authentication","action":"login_failed","outcome":"failure"}}`, i, i)
		return parse.Line{Text: []byte(text), File: "kafka:t/0", Offset: int64(i), No: int64(i + 1)}
	}
	run := func(lines []parse.Line) {
		t.Helper()
		st, err := store.Open(dataDir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		r, err := NewLive(LiveOptions{Store: st, Streams: []StreamSource{{Name: "k", InputFormat: "events", Redelivers: true}},
			TickEvery: -1, IdleFlush: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		if err := r.Feed(context.Background(), "k", lines); err != nil {
			t.Fatal(err)
		}
		if off, ok := r.Committable("k", "kafka:t/0"); !ok || off != lines[len(lines)-1].Offset {
			t.Errorf("Committable = %d, %v; want %d", off, ok, lines[len(lines)-1].Offset)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	run([]parse.Line{line(0), line(1), line(2), line(3)})
	// After the restart: 0-3 again (their commit was lost), then 4 and 5.
	run([]parse.Line{line(0), line(1), line(2), line(3), line(4), line(5)})

	st, err := store.Open(dataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	as, err := st.ListAlerts(context.Background(), store.AlertFilter{RuleID: "auth.failed_login_burst"})
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].Count != 6 {
		var got []string
		for _, a := range as {
			got = append(got, fmt.Sprintf("%s count=%d", a.RuleID, a.Count))
		}
		t.Fatalf("burst alerts %v, want one with count 6 (each login once)", got)
	}
	evs, err := st.SearchEvents(context.Background(), store.EventFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 6 {
		t.Fatalf("%d events stored, want 6", len(evs))
	}
}
