package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/pipeline"
	"github.com/vigildb/vigil/source/file"
	"github.com/vigildb/vigil/store"
)

// buildVigil builds the vigil binary once per test binary.
var buildVigil = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "vigil-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "vigil")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/vigil").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ../cmd/vigil: %v\n%s", err, out)
	}
	return bin, nil
})

func vigilBin(t *testing.T) string {
	t.Helper()
	bin, err := buildVigil()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// genLog writes about size bytes of a pgaudit stderr log with the bench
// generator (sessions, TPC-B statements, DDL/GRANT/DROP, failed logins).
func genLog(t *testing.T, size string, seed int) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "gen.log")
	// Event times start a minute ago: the daemon's clock also follows the
	// wall clock (for logs.absent), which must not overtake the log's.
	start := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond).Format(time.RFC3339Nano)
	cmd := exec.Command("go", "run", "../internal/tools/loggen", "-size", size, "-seed", fmt.Sprint(seed), "-start", start, "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("loggen: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// entries splits a stderr log into whole entries (a line and its TAB
// continuations), so that the writer never rotates inside one.
func entries(data []byte) [][]byte {
	var out [][]byte
	start := 0
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		if i < len(data) && data[i] == '\t' {
			continue
		}
		out = append(out, data[start:i])
		start = i
	}
	return out
}

// daemon is a `vigil run` child process.
type daemon struct {
	t       *testing.T
	cmd     *exec.Cmd
	log     *bytes.Buffer
	logPath string
	n       int
	exited  chan error
}

func startDaemon(t *testing.T, bin string, args []string, logDir string, n int) *daemon {
	t.Helper()
	d := &daemon{t: t, log: new(bytes.Buffer), n: n, exited: make(chan error, 1)}
	d.logPath = filepath.Join(logDir, fmt.Sprintf("vigil-run-%02d.log", n))
	f, err := os.Create(d.logPath)
	if err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command(bin, args...)
	d.cmd.Stdout, d.cmd.Stderr = f, f
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.exited <- d.cmd.Wait()
		f.Close()
	}()
	return d
}

// waitLog waits until the daemon's log has text (it is up to that point).
func (d *daemon) waitLog(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		b, _ := os.ReadFile(d.logPath)
		if bytes.Contains(b, []byte(text)) {
			return
		}
		select {
		case err := <-d.exited:
			t.Fatalf("vigil run exited (%v) before logging %q; its log:\n%s", err, text, b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("vigil run did not log %q within a minute; its log:\n%s", text, b)
		}
		time.Sleep(20 * time.Millisecond) // polling another process's log
	}
}

func (d *daemon) kill() {
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.exited
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		if err != nil {
			t.Errorf("vigil run (start %d) exited with %v; its log:\n%s", d.n, err, readTail(d.logPath))
		}
	case <-time.After(60 * time.Second):
		d.cmd.Process.Signal(syscall.SIGKILL)
		t.Fatalf("vigil run did not stop within 60s of SIGTERM; its log:\n%s", readTail(d.logPath))
	}
}

func readTail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

// waitRead polls the store until the checkpoint of path says the whole
// file (size bytes) was read and stored.
func waitRead(t *testing.T, dataDir, source, path string, size int64, d *daemon) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if done := readUpTo(t, dataDir, source, path) >= size; done {
			return
		}
		select {
		case err := <-d.exited:
			t.Fatalf("vigil run exited (%v) before reading %s; its log:\n%s", err, path, readTail(d.logPath))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("vigil run did not read %s to its end (%d bytes) in 2 minutes; its log:\n%s", path, size, readTail(d.logPath))
		}
		time.Sleep(100 * time.Millisecond) // polling a separate process's progress
	}
}

// waitSeen waits until the store holds a checkpoint of the file now at
// path (same inode and generation), saved after genStart with something read.
func waitSeen(dataDir, path string, gen uint32, genStart time.Time) error {
	deadline := time.Now().Add(time.Minute)
	for ; time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) { // polling another process's progress
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		ino := fi.Sys().(*syscall.Stat_t).Ino
		if _, err := os.Stat(filepath.Join(dataDir, store.FileName)); err != nil {
			continue
		}
		st, err := store.Open(dataDir, store.Options{})
		if err != nil {
			return err
		}
		cps, err := st.Checkpoints(context.Background(), "file")
		st.Close()
		if err != nil {
			return err
		}
		for _, c := range cps {
			var cp file.Checkpoint
			if json.Unmarshal(c.Data, &cp) == nil && cp.Identity.Ino == ino && cp.Identity.Gen == gen && max(cp.Offset, cp.Read) > 0 && c.Updated.After(genStart) {
				return nil
			}
		}
	}
	return fmt.Errorf("the daemon did not read %s within a minute", path)
}

// waitStable polls the number of stored events until it has not changed
// for a second.
func waitStable(t *testing.T, dataDir string, d *daemon) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	last, since := int64(-1), time.Now()
	for time.Since(since) < time.Second {
		st, err := store.Open(dataDir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := st.Stats(context.Background())
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		if s.Events != last {
			last, since = s.Events, time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store kept growing for 2 minutes; vigil run's log:\n%s", readTail(d.logPath))
		}
		time.Sleep(100 * time.Millisecond) // polling another process's progress
	}
}

// readUpTo is how far the current generation of the file at path (its
// inode, the highest generation a copytruncate gave it) is read and stored.
func readUpTo(t *testing.T, dataDir, source, path string) int64 {
	if _, err := os.Stat(filepath.Join(dataDir, store.FileName)); err != nil {
		return 0
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	ino := fi.Sys().(*syscall.Stat_t).Ino
	st, err := store.Open(dataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cps, err := st.Checkpoints(context.Background(), source)
	if err != nil {
		t.Fatal(err)
	}
	var best int64
	gen := int64(-1)
	for _, c := range cps {
		var cp file.Checkpoint
		if json.Unmarshal(c.Data, &cp) != nil || cp.Identity.Ino != ino {
			continue
		}
		if g := int64(cp.Identity.Gen); g > gen {
			gen, best = g, max(cp.Offset, cp.Read)
		}
	}
	return best
}

// eventKey identifies an event by what it says, not by its id (ids of the
// live run name file identities; a replay names the input).
func eventKey(ev *event.Event) string {
	// Not session.id: a run that starts after a session's connection
	// lines names it by its pid, a replay of the whole log by %c.
	return fmt.Sprintf("%d|%s|%s|%s|%s|%s", ev.Time.UnixNano(), ev.User.Name, ev.Client.Address, ev.Event.Action, ev.DB.Operation.Name, ev.DB.Query.Text)
}

// TestRunSurvivesSIGKILL: a writer appends 200,000 lines of a pgaudit log,
// rotating the file now by rename and now by copytruncate, while `vigil run`
// is killed with SIGKILL 20 times at random points and restarted. Afterwards
// the store holds every event exactly once (the same events as a replay of
// everything written) and every alert the replay raises.
func TestRunSurvivesSIGKILL(t *testing.T) {
	const kills = 20
	totalLines := 200_000
	bin := vigilBin(t)
	data := genLog(t, "40MiB", 7)
	ents := entries(data)
	// Cut the generated log to 200k lines, at an entry boundary.
	lines, cut := 0, 0
	for i, e := range ents {
		lines += bytes.Count(e, []byte("\n"))
		if lines >= totalLines {
			cut = i + 1
			break
		}
	}
	if cut == 0 {
		t.Fatalf("the generator wrote %d lines, want %d", lines, totalLines)
	}
	ents = ents[:cut]
	written := bytes.Join(ents, nil)

	dir := t.TempDir()
	if k := os.Getenv("VIGIL_KEEP_CRASH_DIR"); k != "" {
		dir = k
	}
	logDir := filepath.Join(dir, "logs")
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	pg := filepath.Join(logDir, "postgresql.log")
	args := []string{"run", "--watch", filepath.Join(logDir, "*.log"), "--data-dir", dataDir}

	// The writer: entries in chunks, a rotation every ~25k lines
	// alternating rename and copytruncate, about 20 s in all.
	rng := rand.New(rand.NewPCG(42, 7))
	writerDone := make(chan error, 1)
	go func() {
		writerDone <- func() error {
			w, err := os.OpenFile(pg, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			defer func() { w.Close() }()
			rot, sinceRot := 0, 0
			genStart, gen := time.Now(), uint32(0) // the tailer's generation of the file at pg
			for i := 0; i < len(ents); {
				j := min(i+100+rng.IntN(400), len(ents))
				if _, err := w.Write(bytes.Join(ents[i:j], nil)); err != nil {
					return err
				}
				for _, e := range ents[i:j] {
					sinceRot += bytes.Count(e, []byte("\n"))
				}
				i = j
				if sinceRot >= 25_000 && i < len(ents) {
					// Rotations are hours apart in real life: the daemon
					// (restarted after each kill) has seen this file before
					// it is rotated. Kills still land around rotations.
					if err := waitSeen(dataDir, pg, gen, genStart); err != nil {
						return err
					}
					old := fmt.Sprintf("%s.%d", pg, rot)
					if rot%2 == 0 {
						if err := os.Rename(pg, old); err != nil {
							return err
						}
						w.Close()
						if w, err = os.OpenFile(pg, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err != nil {
							return err
						}
						gen = 0
					} else {
						if err := copyTruncate(pg, old); err != nil {
							return err
						}
						gen++
					}
					rot++
					sinceRot = 0
					genStart = time.Now()
				}
				time.Sleep(10 * time.Millisecond) // the writer's pace, not synchronization
			}
			return nil
		}()
	}()

	// The killer: start, let it run a random while, SIGKILL, 20 times.
	for n := 0; n < kills; n++ {
		d := startDaemon(t, bin, args, dir, n)
		time.Sleep(time.Duration(200+rng.IntN(1000)) * time.Millisecond) // a random point to kill at
		d.kill()
	}
	// The last start runs to the end (the writer may still be writing).
	final := startDaemon(t, bin, args, dir, kills)
	final.waitLog(t, "vigil run: watching")
	if err := <-writerDone; err != nil {
		final.stop(t)
		t.Fatalf("writer: %v", err)
	}
	fi, err := os.Stat(pg)
	if err != nil {
		t.Fatal(err)
	}
	waitRead(t, dataDir, "file", pg, fi.Size(), final)
	// The rotated files it resumed are read beside the live one: wait
	// until the store stops growing before stopping it.
	waitStable(t, dataDir, final)
	final.stop(t)

	// What a one-shot replay of everything written gives.
	res, err := pipeline.Replay(context.Background(), pipeline.Options{SourceName: "file"},
		pipeline.Input{Name: pg, R: bytes.NewReader(written), Size: int64(len(written))})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	var replayEvents int64
	collect := pipeline.Options{SourceName: "file", OnEvent: func(ev *event.Event) {
		want[eventKey(ev)]++
		replayEvents++
	}}
	if _, err := pipeline.Replay(context.Background(), collect, pipeline.Input{Name: pg, R: bytes.NewReader(written), Size: int64(len(written))}); err != nil {
		t.Fatal(err)
	}

	st, err := store.Open(dataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, err := st.SearchEvents(context.Background(), store.EventFilter{Limit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, ev := range evs {
		got[eventKey(ev)]++
	}
	var missing, doubled []string
	for k, n := range want {
		if got[k] < n {
			missing = append(missing, k)
		}
	}
	for k, n := range got {
		if n > want[k] {
			doubled = append(doubled, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(doubled)
	if len(missing) > 0 || len(doubled) > 0 || int64(len(evs)) != replayEvents {
		logs, _ := filepath.Glob(filepath.Join(dir, "vigil-run-*.log"))
		for _, lf := range logs {
			b, _ := os.ReadFile(lf)
			for _, ln := range strings.Split(string(b), "\n") {
				if strings.Contains(ln, "level=ERROR") || strings.Contains(ln, "file source") || strings.Contains(ln, "reading file") || strings.Contains(ln, "copy") {
					t.Logf("%s: %s", filepath.Base(lf), ln)
				}
			}
		}
		t.Errorf("store holds %d events, a replay of what was written gives %d: %d missing (first: %.300s), %d stored twice (first: %.300s)",
			len(evs), replayEvents, len(missing), strings.Join(first(missing, 3), " ; "), len(doubled), strings.Join(first(doubled, 3), " ; "))
	}

	// The alerts are the replay's, with the same counts: the detection
	// state is saved with the positions it stands for, so the restarts
	// neither lost nor double-counted an event in a window.
	alerts, err := st.ListAlerts(context.Background(), store.AlertFilter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]int64{}
	for _, a := range alerts {
		have[a.RuleID+" "+groupText(a.Group)] += a.Count
	}
	var lost []string
	for _, a := range res.Alerts {
		if k := a.RuleID + " " + groupText(a.Group); have[k] != a.Count {
			lost = append(lost, fmt.Sprintf("%s count=%d (stored %d)", k, a.Count, have[k]))
		}
	}
	if len(alerts) != len(res.Alerts) {
		t.Errorf("%d alerts stored, the replay raises %d", len(alerts), len(res.Alerts))
	}
	if len(res.Alerts) == 0 {
		t.Error("the replay raised no alert: the test proves nothing about alerts")
	}
	if len(lost) > 0 {
		t.Errorf("%d of the replay's %d alerts are not in the store as they are: %v", len(lost), len(res.Alerts), lost)
	}
	t.Logf("%d lines in %d entries written with rotations; %d SIGKILLs; %d events stored (replay: %d); %d alerts stored (replay: %d)",
		lines, len(ents), kills, len(evs), replayEvents, len(alerts), len(res.Alerts))
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// copyTruncate rotates like logrotate's copytruncate: copy, then truncate
// the original in place (the writer keeps its O_APPEND descriptor).
func copyTruncate(path, to string) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	return os.Truncate(path, 0)
}
