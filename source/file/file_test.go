package file

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const waitLimit = 10 * time.Second

// got is one delivered line, copied.
type got struct {
	Text   string
	File   string
	Offset int64
	No     int64
	ID     Identity
}

// collector is a Handler that records lines and lets tests wait for them.
type collector struct {
	mu      sync.Mutex
	lines   []got
	batches []Batch // copies of the checkpoints only
	changed chan struct{}
	gate    chan struct{} // when set, each batch waits for a token
	errs    []string
}

func newCollector() *collector {
	return &collector{changed: make(chan struct{}, 1)}
}

func (c *collector) handle(ctx context.Context, b Batch) error {
	if c.gate != nil {
		select {
		case <-c.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	for _, l := range b.Lines {
		c.lines = append(c.lines, got{Text: string(l.Text), File: l.File, Offset: l.Offset, No: l.No, ID: b.Identity})
	}
	c.batches = append(c.batches, Batch{Identity: b.Identity, Checkpoint: b.Checkpoint, Final: b.Final})
	c.mu.Unlock()
	select {
	case c.changed <- struct{}{}:
	default:
	}
	return nil
}

// let lets one batch through the gate, or fails the test.
func (c *collector) let(t *testing.T) {
	t.Helper()
	select {
	case c.gate <- struct{}{}:
	case <-time.After(waitLimit):
		t.Fatal("timed out: no batch at the gate")
	}
}

func (c *collector) onError(path string, err error) {
	c.mu.Lock()
	c.errs = append(c.errs, path+": "+err.Error())
	c.mu.Unlock()
}

func (c *collector) snapshot() []got {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]got(nil), c.lines...)
}

func (c *collector) texts() []string {
	var out []string
	for _, g := range c.snapshot() {
		out = append(out, g.Text)
	}
	return out
}

// waitFor waits until the delivered lines satisfy cond, or fails the test
// after waitLimit. It waits on deliveries, never on the clock.
func (c *collector) waitFor(t *testing.T, what string, cond func([]got) bool) []got {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		s := c.snapshot()
		if cond(s) {
			return s
		}
		select {
		case <-c.changed:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s; have %d lines, last: %v", what, len(s), tail(s, 5))
		}
	}
}

func (c *collector) waitN(t *testing.T, n int) []got {
	t.Helper()
	return c.waitFor(t, fmt.Sprintf("%d lines", n), func(s []got) bool { return len(s) >= n })
}

func tail(s []got, n int) []got {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

type harness struct {
	t      *testing.T
	c      *collector
	tl     *Tailer
	cancel context.CancelFunc
	done   chan error
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// start runs a Tailer with opts (Handler and OnError filled in) until the
// test ends or stop is called.
func start(t *testing.T, c *collector, opts Options) *harness {
	t.Helper()
	opts.Handler = c.handle
	opts.OnError = c.onError
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 20 * time.Millisecond
	}
	tl, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, c: c, tl: tl, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- tl.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	h.cancel()
	if err := <-h.done; err != nil {
		h.t.Errorf("Run: %v", err)
	}
	h.done <- nil // later stops return at once
	h.tl.Close()
}

// waitTracking waits until the tailer has n files open (checks the
// observable state every few ms; fails after waitLimit).
func (h *harness) waitTracking(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for len(h.tl.Checkpoints()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("tailer has %d files open, want %d", len(h.tl.Checkpoints()), n)
		}
		<-tick.C
	}
}

func appendFile(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(lines, "")); err != nil {
		t.Fatal(err)
	}
}

func lines(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%s%d\n", prefix, i))
	}
	return out
}

func names(prefix string, from, to int) []string {
	var out []string
	for _, l := range lines(prefix, from, to) {
		out = append(out, strings.TrimSuffix(l, "\n"))
	}
	return out
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func TestAppendAndRead(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pg.log")
	appendFile(t, p, "one\n", "two\r\n", "three\n")
	c := newCollector()
	start(t, c, Options{Patterns: []string{filepath.Join(dir, "*.log")}})
	c.waitN(t, 3)
	appendFile(t, p, "four\n", "five\n")
	s := c.waitN(t, 5)
	equal(t, "texts", c.texts(), []string{"one", "two", "three", "four", "five"})
	wantOff := []int64{0, 4, 9, 15, 20}
	for i, g := range s {
		if g.File != p || g.Offset != wantOff[i] || g.No != int64(i+1) {
			t.Errorf("line %d: %+v, want offset %d no %d", i, g, wantOff[i], i+1)
		}
	}
}

func TestGlobPicksUpNewFile(t *testing.T) {
	dir := t.TempDir()
	appendFile(t, filepath.Join(dir, "a.csv"), "a1\n")
	appendFile(t, filepath.Join(dir, "ignored.txt"), "no\n")
	c := newCollector()
	start(t, c, Options{Patterns: []string{filepath.Join(dir, "*.csv")}})
	c.waitN(t, 1)
	appendFile(t, filepath.Join(dir, "b.csv"), "b1\n", "b2\n")
	s := c.waitN(t, 3)
	equal(t, "texts", c.texts(), []string{"a1", "b1", "b2"})
	if s[1].File != filepath.Join(dir, "b.csv") || s[1].No != 1 || s[2].Offset != 3 {
		t.Errorf("b.csv lines: %+v", s[1:])
	}
}

func TestStartOrderOldestFirst(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	for i, n := range []string{"c.log", "a.log", "b.log"} {
		p := filepath.Join(dir, n)
		appendFile(t, p, n+"\n")
		if err := os.Chtimes(p, old, old.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	c := newCollector()
	start(t, c, Options{Patterns: []string{filepath.Join(dir, "*.log")}})
	c.waitN(t, 3)
	equal(t, "order", c.texts(), []string{"c.log", "a.log", "b.log"})
}

func TestPartialLineWaitedFor(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	appendFile(t, a, "first\n", "sec")
	c := newCollector()
	start(t, c, Options{Patterns: []string{filepath.Join(dir, "*.log")}})
	c.waitN(t, 1)
	// The round that delivered "first" also read "sec". A file created now
	// is read in a later round: once its line is in, "sec" has been seen
	// at least twice without its newline.
	appendFile(t, filepath.Join(dir, "b.log"), "b\n")
	c.waitN(t, 2)
	equal(t, "before newline", c.texts(), []string{"first", "b"})
	appendFile(t, a, "ond\n")
	s := c.waitN(t, 3)
	equal(t, "after newline", c.texts(), []string{"first", "b", "second"})
	if s[2].Offset != 6 || s[2].No != 2 {
		t.Errorf("second: %+v", s[2])
	}
}

// rotateRename does what logrotate "create" does, with a writer that keeps
// writing the old fd for a while.
func TestRenameRotation(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pg.log")
	w, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	io.WriteString(w, strings.Join(lines("old", 1, 3), ""))
	c := newCollector()
	start(t, c, Options{Patterns: []string{filepath.Join(dir, "*.log")}, RotateGrace: 2 * time.Second})
	c.waitN(t, 3)
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, strings.Join(lines("old", 4, 5), ""))
	appendFile(t, p, lines("new", 1, 2)...)
	io.WriteString(w, strings.Join(lines("old", 6, 7), "")+"old-partial")
	s := c.waitN(t, 10)
	want := append(names("old", 1, 7), "old-partial")
	want = append(want, names("new", 1, 2)...)
	equal(t, "texts", c.texts(), want)
	if s[7].File != p || s[8].File != p || s[8].No != 1 || s[8].Offset != 0 {
		t.Errorf("files: %+v", s[7:])
	}
	if s[0].ID == s[8].ID {
		t.Errorf("same identity for both files")
	}
}

// copyTruncate does what logrotate "copytruncate" does.
func copyTruncate(t *testing.T, p, to string) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
}

// With logrotate "compress" and no "delaycompress" the copy is gzipped
// before the tailer notices the truncation: the rest is read from the .gz.
func TestCopyTruncateCompressedCopy(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pg.log")
	appendFile(t, p, lines("a", 1, 3)...)
	c := newCollector()
	h := start(t, c, Options{Patterns: []string{filepath.Join(dir, "*.log")}})
	c.waitN(t, 3)
	h.cancel() // stopped while the rotation happens, so it cannot read a4-a6 first
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
	h.done <- nil
	cp := h.tl.Checkpoints()[0]
	appendFile(t, p, lines("a", 4, 6)...)
	data, _ := os.ReadFile(p)
	writeGzip(t, p+".1.gz", string(data))
	os.Truncate(p, 0)
	appendFile(t, p, lines("b", 1, 2)...)
	c2 := newCollector()
	start(t, c2, Options{Patterns: []string{filepath.Join(dir, "*.log")}, Checkpoints: []Checkpoint{cp}})
	c2.waitN(t, 5)
	equal(t, "texts", c2.texts(), append(names("a", 4, 6), names("b", 1, 2)...))
}

func TestCopyTruncate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pg.log")
	appendFile(t, p, lines("a", 1, 3)...)
	c := newCollector()
	start(t, c, Options{Patterns: []string{filepath.Join(dir, "*.log")}})
	c.waitN(t, 3)
	// Lines written just before the rotation may not have been read: they
	// must come from the copy.
	appendFile(t, p, lines("a", 4, 6)...)
	copyTruncate(t, p, p+".1")
	appendFile(t, p, lines("b", 1, 2)...)
	s := c.waitN(t, 8)
	equal(t, "texts", c.texts(), append(names("a", 1, 6), names("b", 1, 2)...))
	if s[6].Offset != 0 || s[6].No != 1 || s[6].ID.Gen != s[0].ID.Gen+1 {
		t.Errorf("after truncation: %+v (before %+v)", s[6], s[0])
	}
}

// run1 reads the file and returns the checkpoint carried by the batch that
// ends at line commit (BatchLines is 1, so there is one per line).
func run1(t *testing.T, pattern string, n, commit int) Checkpoint {
	t.Helper()
	c := newCollector()
	h := start(t, c, Options{Patterns: []string{pattern}, BatchLines: 1})
	c.waitN(t, n)
	h.stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.batches {
		if b.Checkpoint.LineNo == int64(commit) {
			return b.Checkpoint
		}
	}
	t.Fatalf("no checkpoint at line %d", commit)
	return Checkpoint{}
}

func TestRestartFromCheckpoints(t *testing.T) {
	for _, kind := range []string{"none", "rename", "copytruncate"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "pg.log")
			appendFile(t, p, lines("a", 1, 10)...)
			// Lines 8-10 were delivered but their checkpoint not committed.
			cp := run1(t, filepath.Join(dir, "*.log"), 10, 7)
			appendFile(t, p, lines("a", 11, 12)...)
			want := names("a", 8, 12)
			switch kind {
			case "rename":
				if err := os.Rename(p, p+".1"); err != nil {
					t.Fatal(err)
				}
				appendFile(t, p, lines("b", 1, 2)...)
				want = append(want, names("b", 1, 2)...)
			case "copytruncate":
				copyTruncate(t, p, p+".1")
				appendFile(t, p, lines("b", 1, 2)...)
				want = append(want, names("b", 1, 2)...)
			}
			c := newCollector()
			start(t, c, Options{Patterns: []string{filepath.Join(dir, "*.log")}, Checkpoints: []Checkpoint{cp}, RotateGrace: 50 * time.Millisecond})
			s := c.waitN(t, len(want))
			// Wait for one more file's line, proving nothing else comes first.
			appendFile(t, filepath.Join(dir, "z.log"), "z\n")
			c.waitN(t, len(want)+1)
			equal(t, "resumed", c.texts(), append(want, "z"))
			if s[0].No != 8 || s[0].Offset != cp.Offset || s[0].ID != cp.Identity {
				t.Errorf("first resumed line %+v, checkpoint %+v", s[0], cp)
			}
		})
	}
}

func TestDedupAfterRestart(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pg.log")
	appendFile(t, p, lines("a", 1, 10)...)
	stale := run1(t, p, 10, 4)     // what the tailer is restarted from
	committed := run1(t, p, 10, 9) // what the consumer had committed
	var d Dedup
	d.Commit("pg", committed)
	appendFile(t, p, lines("a", 11, 11)...)

	var mu sync.Mutex
	var out []string
	changed := make(chan struct{}, 1)
	h := func(_ context.Context, b Batch) error {
		d.Filter(&b)
		mu.Lock()
		for _, l := range b.Lines {
			out = append(out, string(l.Text))
		}
		mu.Unlock()
		d.Commit(b.Source, b.Checkpoint)
		select {
		case changed <- struct{}{}:
		default:
		}
		return nil
	}
	tl, err := New(Options{Source: "pg", Patterns: []string{p}, Handler: h, Checkpoints: []Checkpoint{stale}, Logger: quiet(), PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- tl.Run(context.Background()) }()
	deadline := time.After(waitLimit)
	for {
		mu.Lock()
		n := len(out)
		mu.Unlock()
		if n >= 2 {
			break
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatal("timed out")
		}
	}
	tl.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	equal(t, "deduplicated", out, []string{"a10", "a11"})
	if !d.Delivered("pg", committed.Identity, 0) || d.Delivered("pg", committed.Identity, 1<<20) || d.Delivered("other", committed.Identity, 0) {
		t.Error("Delivered")
	}
}

// The same inode with other content at the checkpointed path (the inode was
// reused, or the file rewritten in place) is a new file: read from 0.
func TestInodeReuseDetectedByFingerprint(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pg.log")
	appendFile(t, p, lines("old", 1, 3)...)
	cp := run1(t, p, 3, 2)
	// Rewrite in place: same device and inode, longer than the checkpoint
	// offset, so only the fingerprint can tell.
	if err := os.WriteFile(p, []byte(strings.Join(lines("fresh", 1, 4), "")), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if dev, ino := devIno(fi); dev != cp.Identity.Dev || ino != cp.Identity.Ino {
		t.Fatalf("inode changed by rewrite")
	}
	c := newCollector()
	start(t, c, Options{Patterns: []string{p}, Checkpoints: []Checkpoint{cp}})
	s := c.waitN(t, 4)
	equal(t, "texts", c.texts(), names("fresh", 1, 4))
	if s[0].ID.Fingerprint == cp.Identity.Fingerprint || s[0].No != 1 {
		t.Errorf("identity %+v vs checkpoint %+v", s[0].ID, cp.Identity)
	}
}

func writeGzip(t *testing.T, path string, text string) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	io.WriteString(zw, text)
	zw.Close()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(path, old, old)
}

func TestGzipIgnoredUnlessAsked(t *testing.T) {
	for _, read := range []bool{false, true} {
		t.Run(fmt.Sprint("read=", read), func(t *testing.T) {
			dir := t.TempDir()
			writeGzip(t, filepath.Join(dir, "pg.log.1.gz"), "gz1\ngz2\n")
			writeGzip(t, filepath.Join(dir, "pg.log.2"), "magic1\n") // no suffix, gzip magic
			appendFile(t, filepath.Join(dir, "pg.log"), "plain\n")
			c := newCollector()
			start(t, c, Options{Patterns: []string{filepath.Join(dir, "pg.log*")}, ReadGzip: read})
			if !read {
				// Compressed files are older, so considered first.
				c.waitN(t, 1)
				appendFile(t, filepath.Join(dir, "pg.log.3"), "later\n")
				c.waitN(t, 2)
				equal(t, "texts", c.texts(), []string{"plain", "later"})
				return
			}
			c.waitN(t, 4)
			got := c.texts()
			if strings.Join(got, " ") != "gz1 gz2 magic1 plain" && strings.Join(got, " ") != "magic1 gz1 gz2 plain" {
				t.Fatalf("got %q", got)
			}
		})
	}
}

func TestLongLinesTruncated(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pg.log")
	long := strings.Repeat("x", 300_000)
	appendFile(t, p, "short\n", long+"\n", "after\n")
	var mu sync.Mutex
	var trunc []int
	c := newCollector()
	h := c.handle
	tl, err := New(Options{Patterns: []string{p}, MaxLineBytes: 1000, Logger: quiet(), PollInterval: 20 * time.Millisecond,
		Handler: func(ctx context.Context, b Batch) error {
			mu.Lock()
			trunc = append(trunc, b.Truncated...)
			mu.Unlock()
			return h(ctx, b)
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	s := c.waitN(t, 3)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(s[1].Text) != 1000 || s[2].Text != "after" || s[2].Offset != int64(6+300_001) || s[2].No != 3 {
		t.Errorf("got %d bytes, then %+v", len(s[1].Text), s[2])
	}
	mu.Lock()
	defer mu.Unlock()
	if len(trunc) != 1 || trunc[0] != 1 {
		t.Errorf("Truncated = %v", trunc)
	}
}

// A consumer that blocks holds the tailer up; nothing is lost meanwhile,
// and the checkpoint covers only what the consumer accepted.
func TestBackPressure(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pg.log")
	c := newCollector()
	c.gate = make(chan struct{})
	h := start(t, c, Options{Patterns: []string{p}, BatchLines: 10})
	const n = 5000
	appendFile(t, p, lines("l", 1, n)...)
	c.let(t)
	c.let(t)
	c.waitN(t, 20)
	// The tailer is blocked handing over the third batch. The handler has
	// taken the second batch's lines; the tailer records its checkpoint just
	// after the handler returns, so wait for that, then check it stays there.
	var cps []Checkpoint
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		cps = h.tl.Checkpoints()
		if len(cps) == 1 && cps[0].LineNo >= 20 || time.Now().After(deadline) {
			break
		}
	}
	if len(cps) != 1 || cps[0].LineNo != 20 || cps[0].Offset != int64(len(strings.Join(lines("l", 1, 20), ""))) {
		t.Fatalf("Checkpoints() = %+v", cps)
	}
	close(c.gate)
	c.waitN(t, n)
	equal(t, "texts", c.texts(), names("l", 1, n))
}

func TestHandlerErrorStops(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pg.log")
	appendFile(t, p, "x\n")
	boom := errors.New("boom")
	tl, err := New(Options{Patterns: []string{p}, Logger: quiet(), Handler: func(context.Context, Batch) error { return boom }})
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.Run(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("Run = %v", err)
	}
	if cps := tl.Checkpoints(); len(cps) != 1 || cps[0].Offset != 0 {
		t.Fatalf("checkpoint advanced: %+v", cps)
	}
}

// A file that cannot be read is reported; the others go on. As root
// (permissions do not apply) a symlink loop stands in.
func TestUnreadableFileReported(t *testing.T) {
	dir := t.TempDir()
	bad, want := filepath.Join(dir, "secret.log"), "permission denied"
	if os.Geteuid() == 0 {
		want = "too many levels of symbolic links"
		if err := os.Symlink(bad, bad); err != nil {
			t.Fatal(err)
		}
	} else {
		appendFile(t, bad, "s\n")
		if err := os.Chmod(bad, 0); err != nil {
			t.Fatal(err)
		}
	}
	appendFile(t, filepath.Join(dir, "ok.log"), "ok\n")
	c := newCollector()
	start(t, c, Options{Patterns: []string{filepath.Join(dir, "*.log")}})
	c.waitN(t, 1)
	appendFile(t, filepath.Join(dir, "ok.log"), "ok2\n")
	c.waitN(t, 2)
	equal(t, "texts", c.texts(), []string{"ok", "ok2"})
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) != 1 || !strings.Contains(c.errs[0], want) {
		t.Errorf("errors (reported once): %q", c.errs)
	}
}

func TestFromEnd(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pg.log")
	appendFile(t, p, "old1\n", "old2\n", "par")
	c := newCollector()
	h := start(t, c, Options{Patterns: []string{filepath.Join(dir, "*.log")}, FromEnd: true})
	h.waitTracking(t, 1)                                   // the startup scan is done
	appendFile(t, filepath.Join(dir, "later.log"), "l1\n") // new files: from the start
	c.waitN(t, 1)
	appendFile(t, p, "tial\n", "new\n")
	s := c.waitN(t, 3)
	equal(t, "texts", c.texts(), []string{"l1", "partial", "new"})
	if s[1].No != 3 || s[1].Offset != 10 {
		t.Errorf("partial: %+v", s[1])
	}
}

// Only the stat poll: fsnotify off, default interval.
func TestPollOnly(t *testing.T) {
	dir := t.TempDir()
	c := newCollector()
	start(t, c, Options{Patterns: []string{filepath.Join(dir, "*.log")}, NoNotify: true, PollInterval: -1})
	appendFile(t, filepath.Join(dir, "a.log"), "a1\n")
	c.waitN(t, 1)
	appendFile(t, filepath.Join(dir, "a.log"), "a2\n")
	c.waitN(t, 2)
	equal(t, "texts", c.texts(), []string{"a1", "a2"})
}

func openFDs(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(l, dir) {
			n++
		}
	}
	return n
}

func TestCloseReleasesFiles(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.log", "b.log", "c.log"} {
		appendFile(t, filepath.Join(dir, n), n+"\n")
	}
	c := newCollector()
	tl, err := New(Options{Patterns: []string{filepath.Join(dir, "*.log")}, Handler: c.handle, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- tl.Run(context.Background()) }()
	c.waitN(t, 3)
	if n := openFDs(t, dir); n != 3 {
		t.Errorf("%d files open while running, want 3", n)
	}
	tl.Close()
	if err := <-done; err != nil {
		t.Fatalf("Run after Close: %v", err)
	}
	if n := openFDs(t, dir); n != 0 {
		t.Errorf("%d files still open after Close", n)
	}
}

// A checkpointed file that is gone is reported; the other files go on.
func TestVanishedCheckpointReported(t *testing.T) {
	dir := t.TempDir()
	gone := filepath.Join(dir, "gone.log")
	appendFile(t, gone, lines("g", 1, 3)...)
	cp := run1(t, gone, 3, 2)
	done := filepath.Join(dir, "done.log") // read to the end: gone quietly
	appendFile(t, done, lines("d", 1, 2)...)
	cpDone := run1(t, done, 2, 2)
	for _, p := range []string{gone, done} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	appendFile(t, filepath.Join(dir, "ok.log"), "ok\n")
	c := newCollector()
	start(t, c, Options{Patterns: []string{filepath.Join(dir, "*.log")}, Checkpoints: []Checkpoint{cp, cpDone}})
	c.waitN(t, 1)
	equal(t, "texts", c.texts(), []string{"ok"})
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) != 1 || !strings.Contains(c.errs[0], "not found") {
		t.Errorf("errors: %q", c.errs)
	}
}

func TestIdentityString(t *testing.T) {
	id := Identity{Dev: 64768, Ino: 42, Fingerprint: 0xabc, FPLen: 1024}
	if got := id.String(); got != "64768:42:0000000000000abc/1024" {
		t.Errorf("String() = %q", got)
	}
	id.Gen = 2
	if got := id.String(); got != "64768:42:0000000000000abc/1024#2" {
		t.Errorf("String() = %q", got)
	}
}

func TestToChan(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pg.log")
	appendFile(t, p, lines("c", 1, 5)...)
	ch := make(chan Batch) // unbuffered: every send waits for the reader
	tl, err := New(Options{Patterns: []string{p}, Handler: ToChan(ch), BatchLines: 2, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- tl.Run(context.Background()) }()
	var got []string
	var kept []Batch
	for len(got) < 5 {
		select {
		case b := <-ch:
			kept = append(kept, b)
			for _, l := range b.Lines {
				got = append(got, string(l.Text))
			}
		case <-time.After(waitLimit):
			t.Fatalf("timed out with %q", got)
		}
	}
	tl.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	equal(t, "texts", got, names("c", 1, 5))
	if string(kept[0].Lines[0].Text) != "c1" || kept[len(kept)-1].Checkpoint.LineNo != 5 {
		t.Errorf("batches kept after the handler returned changed: %+v", kept[0])
	}
}

// TestResumeKeepsIdentity: a file resumed from a checkpoint at offset 0
// (the daemon saves the position of a line whose event a parser still
// held, which may be the first) keeps the checkpoint's identity, even one
// taken when the file was still short (an empty fingerprint right after a
// copytruncate): its lines were handed out under it, and event ids are
// made from it. Growing the fingerprint here re-read the lines as another
// file's.
func TestResumeKeepsIdentity(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pg.log")
	appendFile(t, p, lines("l", 1, 50)...)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	dev, ino := devIno(fi)
	cp := Checkpoint{Identity: Identity{Dev: dev, Ino: ino, Gen: 1}, Path: p, Offset: 0, Size: fi.Size(), ModTime: fi.ModTime()}
	c := newCollector()
	start(t, c, Options{Patterns: []string{p}, Checkpoints: []Checkpoint{cp}})
	got := c.waitN(t, 50)
	for _, g := range got {
		if g.ID != cp.Identity {
			t.Fatalf("line %q delivered under %v, want the checkpoint's %v", g.Text, g.ID, cp.Identity)
		}
	}
}
