package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/vigildb/vigil/parse"
)

const (
	chunkSize = 64 << 10
	// readBudget bounds what one file reads per round, so a file being
	// written fast cannot starve the others.
	readBudget = 4 << 20
)

type fileKey struct{ dev, ino uint64 }

// tracked is one open file. Only the Run goroutine touches it, except cp and
// done, which Checkpoints reads under Tailer.mu.
type tracked struct {
	path     string // current name (for an orphan: its last known name)
	origPath string // for an orphan or a copy: the pattern-matched name it was read under
	f        *os.File
	r        io.ReaderAt // f, or its decompressed stream
	key      fileKey
	id       Identity

	readOff   int64  // next byte to read
	lineStart int64  // offset of the line being assembled in buf
	lineNo    int64  // lines delivered
	buf       []byte // the partial line (at most MaxLineBytes)
	over      int64  // bytes of the partial line dropped beyond MaxLineBytes

	size       int64
	mod        time.Time
	live       bool      // a pattern still matches this file under path
	orphanAt   time.Time // when it stopped being live (or its last write, at startup)
	successor  time.Time // when another file appeared at origPath
	lastGrowth time.Time
	oneShot    bool // a static file (gzip, copy): read to EOF once
	verify     bool // check the fingerprint at the next round (resumed)
	// handedOut: the identity was given to the Handler or came from a
	// checkpoint, so it is fixed (event ids and checkpoints are keyed by
	// it) even while lineStart is 0 (a resume from offset 0).
	handedOut bool
	after     *tracked // not read before this one is done (rotation order)

	cp   Checkpoint // guarded by Tailer.mu
	done bool       // guarded by Tailer.mu
}

// Tailer reads the files matched by Options.Patterns. Create it with New,
// run it with Run, stop it by cancelling Run's context or with Close.
type Tailer struct {
	opts Options

	mu    sync.Mutex
	files []*tracked

	ignored  map[string]fileKey // gzip files skipped (logged once)
	finished map[fileKey]Checkpoint
	reported map[string]string // last error reported per path (no log floods)
	watched  map[string]bool
	wake     chan struct{}
	arena    []byte
	spans    [][2]int
	lines    []parse.Line
	trunc    []int

	chunk []byte

	started bool
	cancel  context.CancelFunc // set by Run, under mu
	stopped chan struct{}      // closed when Run returns
}

// New checks the options and returns a Tailer ready to Run.
func New(opts Options) (*Tailer, error) {
	if opts.Handler == nil {
		return nil, errors.New("file source: no Handler")
	}
	if len(opts.Patterns) == 0 {
		return nil, errors.New("file source: no Patterns")
	}
	for _, p := range opts.Patterns {
		if _, err := filepath.Match(p, ""); err != nil {
			return nil, fmt.Errorf("file source: pattern %q: %w", p, err)
		}
	}
	opts.defaults()
	return &Tailer{
		opts:     opts,
		ignored:  map[string]fileKey{},
		finished: map[fileKey]Checkpoint{},
		reported: map[string]string{},
		watched:  map[string]bool{},
		wake:     make(chan struct{}, 1),
	}, nil
}

// Checkpoints returns the checkpoint of every file being read, as of the
// batches accepted so far. A file that was drained and closed (rotated away)
// is no longer listed: there is nothing left to resume in it.
func (t *Tailer) Checkpoints() []Checkpoint {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Checkpoint, 0, len(t.files))
	for _, f := range t.files {
		if !f.done {
			out = append(out, f.cp)
		}
	}
	return out
}

// Close stops a running Run, waits for it to return, and releases every fd.
func (t *Tailer) Close() error {
	t.mu.Lock()
	cancel, stopped := t.cancel, t.stopped
	t.mu.Unlock()
	if cancel != nil {
		cancel()
		<-stopped
	}
	t.closeAll()
	return nil
}

func (t *Tailer) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range t.files {
		if f.f != nil {
			f.f.Close()
			f.f = nil
		}
	}
}

// Run reads until ctx is cancelled (it then returns nil) or the Handler
// returns an error (returned as is). It may be called once.
func (t *Tailer) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t.mu.Lock()
	if t.started {
		t.mu.Unlock()
		return errors.New("file source: Run called twice")
	}
	t.started, t.cancel, t.stopped = true, cancel, make(chan struct{})
	t.mu.Unlock()
	defer close(t.stopped)
	defer t.closeAll()
	err := t.run(ctx)
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		err = nil
	}
	return err
}

func (t *Tailer) run(ctx context.Context) error {
	var w *fsnotify.Watcher
	if !t.opts.NoNotify {
		var err error
		if w, err = fsnotify.NewWatcher(); err != nil {
			t.opts.Logger.Warn("file source: fsnotify unavailable, polling only", "err", err)
			w = nil
		} else {
			defer w.Close()
			go t.forward(ctx, w)
		}
	}
	t.watchDirs(w)
	matched := t.glob()
	if err := t.resume(ctx, matched); err != nil {
		return err
	}
	t.discover(matched, true)

	tick := time.NewTicker(t.opts.PollInterval)
	defer tick.Stop()
	lastScan := time.Now()
	for {
		progress, err := t.round(ctx)
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		if !progress {
			select {
			case <-ctx.Done():
				return nil
			case <-t.wake:
				// A write woke us: let the writer's next lines arrive so
				// that one batch carries them all (see Options.Coalesce).
				if t.opts.Coalesce > 0 {
					select {
					case <-ctx.Done():
						return nil
					case <-time.After(t.opts.Coalesce):
					}
				}
			case <-tick.C:
			}
		}
		if !progress || time.Since(lastScan) >= t.opts.PollInterval {
			t.watchDirs(w)
			t.discover(t.glob(), false)
			lastScan = time.Now()
		}
	}
}

// forward turns fsnotify events into wake-ups; the poll does the rest, so
// the events' details (which differ per platform) do not matter.
func (t *Tailer) forward(ctx context.Context, w *fsnotify.Watcher) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-w.Events:
			if !ok {
				return
			}
			select {
			case t.wake <- struct{}{}:
			default:
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			t.opts.Logger.Debug("file source: fsnotify", "err", err)
		}
	}
}

// watchDirs watches the directories of the patterns that have no
// metacharacters in their directory part (others rely on the poll). A
// directory that does not exist yet is tried again at the next scan.
func (t *Tailer) watchDirs(w *fsnotify.Watcher) {
	if w == nil {
		return
	}
	for _, p := range t.opts.Patterns {
		dir := filepath.Dir(p)
		if t.watched[dir] || hasMeta(dir) {
			continue
		}
		if err := w.Add(dir); err == nil {
			t.watched[dir] = true
		}
	}
}

func hasMeta(s string) bool {
	return bytes.ContainsAny([]byte(s), `*?[\`)
}

type match struct {
	key  fileKey
	size int64
	mod  time.Time
}

// glob lists the regular files the patterns match now.
func (t *Tailer) glob() map[string]match {
	out := map[string]match{}
	for _, p := range t.opts.Patterns {
		paths, _ := filepath.Glob(p)
		for _, path := range paths {
			fi, err := os.Stat(path)
			if err != nil {
				if !errors.Is(err, os.ErrNotExist) {
					t.report(path, err)
				}
				continue
			}
			if !fi.Mode().IsRegular() {
				continue
			}
			dev, ino := devIno(fi)
			out[path] = match{key: fileKey{dev, ino}, size: fi.Size(), mod: fi.ModTime()}
		}
	}
	return out
}

// report sends a per-file error to OnError, once until it changes.
func (t *Tailer) report(path string, err error) {
	if t.reported[path] == err.Error() {
		return
	}
	t.reported[path] = err.Error()
	t.opts.OnError(path, err)
}

func (t *Tailer) add(f *tracked) {
	f.cp = Checkpoint{Identity: f.id, Path: f.path, Offset: f.lineStart, LineNo: f.lineNo, Size: f.size, ModTime: f.mod}
	t.mu.Lock()
	t.files = append(t.files, f)
	t.mu.Unlock()
}

func (t *Tailer) tracking(k fileKey) *tracked {
	for _, f := range t.files {
		if !f.done && f.key == k {
			return f
		}
	}
	return nil
}

// open opens path and checks that it is still the file k.
func open(path string, k fileKey) (*os.File, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if dev, ino := devIno(fi); (fileKey{dev, ino}) != k {
		f.Close()
		return nil, nil, os.ErrNotExist // replaced between stat and open: next scan
	}
	return f, fi, nil
}

// resume re-opens the files named by the initial checkpoints. A file is
// looked for where it was, then among the matched files and the siblings a
// rotation produces (by device and inode, verified by fingerprint), then,
// for copytruncate, as a copy with the same first bytes.
func (t *Tailer) resume(ctx context.Context, matched map[string]match) error {
	for _, cp := range t.opts.Checkpoints {
		k := fileKey{cp.Identity.Dev, cp.Identity.Ino}
		cands := append([]string{cp.Path}, sortedPaths(matched)...)
		cands = append(cands, siblings(cp.Path)...)
		found := false
		for _, path := range cands {
			fi, err := os.Stat(path)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			if dev, ino := devIno(fi); (fileKey{dev, ino}) != k || t.tracking(k) != nil {
				continue
			}
			f, fi, err := open(path, k)
			if err != nil {
				continue
			}
			// At its old path a changed content is a truncation (or inode
			// reuse), which the first round detects and handles; elsewhere
			// it is someone else's file that got the inode.
			if path != cp.Path && !sameContent(f, cp.Identity) {
				f.Close()
				continue
			}
			tf := &tracked{path: path, f: f, r: f, key: k, id: cp.Identity,
				readOff: cp.Offset, lineStart: cp.Offset, lineNo: cp.LineNo, verify: true, handedOut: true,
				size: fi.Size(), mod: fi.ModTime(), lastGrowth: fi.ModTime()}
			if _, ok := matched[path]; ok {
				tf.live = true
			} else {
				tf.origPath, tf.orphanAt = cp.Path, fi.ModTime()
				if m, ok := matched[cp.Path]; ok && m.key != k {
					tf.successor = fi.ModTime()
				}
				t.opts.Logger.Info("file source: resuming rotated file", "path", path, "was", cp.Path, "offset", cp.Offset)
			}
			t.add(tf)
			found = true
			break
		}
		if found {
			continue
		}
		if r, c := t.findCopy(cp.Identity, cp.Offset, cp.Path, matched); c != nil {
			var ck fileKey
			if fi, err := c.Stat(); err == nil {
				ck.dev, ck.ino = devIno(fi)
			}
			tf := &tracked{path: c.Name(), origPath: cp.Path, f: c, r: r, key: ck, id: cp.Identity,
				readOff: cp.Offset, lineStart: cp.Offset, lineNo: cp.LineNo, oneShot: true, handedOut: true}
			t.opts.Logger.Info("file source: resuming from a copy", "path", c.Name(), "was", cp.Path, "offset", cp.Offset)
			t.add(tf)
			continue
		}
		if cp.Offset >= cp.Size {
			t.opts.Logger.Info("file source: checkpointed file is gone, it had been read to the end", "path", cp.Path, "identity", cp.Identity.String())
			continue
		}
		t.report(cp.Path, fmt.Errorf("checkpointed file %s not found: bytes %d to %d (at least) were not read and are lost", cp.Identity, cp.Offset, cp.Size))
	}
	return ctx.Err()
}

// findCopy looks for a copy of the file id (made by copytruncate) that holds
// at least off bytes: a sibling of path or a matched file, other than the
// file itself, with the same first bytes. A gzip-compressed copy (logrotate
// "compress" without "delaycompress") is compared and read decompressed.
func (t *Tailer) findCopy(id Identity, off int64, path string, matched map[string]match) (io.ReaderAt, *os.File) {
	if id.FPLen == 0 {
		return nil, nil
	}
	k := fileKey{id.Dev, id.Ino}
	for _, cand := range append(siblings(path), sortedPaths(matched)...) {
		fi, err := os.Stat(cand)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if dev, ino := devIno(fi); (fileKey{dev, ino}) == k {
			continue
		}
		f, err := os.Open(cand)
		if err != nil {
			continue
		}
		if !isGzip(cand, f) {
			if fi.Size() >= off && sameContent(f, id) {
				return f, f
			}
			f.Close()
			continue
		}
		if zr, err := newGzReaderAt(f); err == nil && sameContent(zr, id) {
			if zr, err = newGzReaderAt(f); err == nil { // from the start again
				return zr, f
			}
		}
		f.Close()
	}
	return nil, nil
}

func sortedPaths(m map[string]match) []string {
	out := make([]string, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// discover follows renames of the files being read, notices the ones that
// are gone from their names (orphans, drained before their successors), and
// opens the new files, oldest first (by mtime, then name).
func (t *Tailer) discover(matched map[string]match, initial bool) {
	now := time.Now()
	byKey := make(map[fileKey]string, len(matched))
	for _, p := range sortedPaths(matched) {
		if _, dup := byKey[matched[p].key]; !dup {
			byKey[matched[p].key] = p
		}
	}
	for _, f := range t.files {
		if f.done || f.oneShot {
			continue
		}
		if p, ok := byKey[f.key]; ok {
			if p != f.path {
				t.opts.Logger.Info("file source: renamed", "from", f.path, "to", p)
				f.path = p
			}
			f.live, f.orphanAt, f.successor = true, time.Time{}, time.Time{}
			continue
		}
		if f.live {
			f.live, f.origPath, f.orphanAt = false, f.path, now
			t.opts.Logger.Info("file source: rotated away, draining", "path", f.path)
		}
		if m, ok := matched[f.origPath]; ok && m.key != f.key && f.successor.IsZero() {
			f.successor = now
		}
	}

	var fresh []string
	for p, m := range matched {
		if t.tracking(m.key) != nil || t.ignored[p] == m.key {
			continue
		}
		fresh = append(fresh, p)
	}
	sort.Slice(fresh, func(i, j int) bool {
		a, b := matched[fresh[i]], matched[fresh[j]]
		if !a.mod.Equal(b.mod) {
			return a.mod.Before(b.mod)
		}
		return fresh[i] < fresh[j]
	})
	for _, p := range fresh {
		m := matched[p]
		if byKey[m.key] != p {
			continue // hard link or second pattern: read once
		}
		if t.tracking(m.key) != nil {
			continue
		}
		f, fi, err := open(p, m.key)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				t.report(p, err)
			}
			continue
		}
		delete(t.reported, p)
		tf := &tracked{path: p, f: f, r: f, key: m.key, id: Identity{Dev: m.key.dev, Ino: m.key.ino},
			size: fi.Size(), mod: fi.ModTime(), live: true, lastGrowth: now}
		if isGzip(p, f) {
			if !t.opts.ReadGzip {
				t.ignored[p] = m.key
				t.opts.Logger.Info("file source: skipping compressed file", "path", p)
				f.Close()
				continue
			}
			zr, err := newGzReaderAt(f)
			if err != nil {
				t.ignored[p] = m.key
				t.report(p, err)
				f.Close()
				continue
			}
			tf.r, tf.oneShot = zr, true
			tf.origPath = p
		}
		fingerprintOf(f, fi.Size(), &tf.id)
		if cp, ok := t.finished[m.key]; ok && !tf.oneShot && sameContent(f, cp.Identity) {
			tf.id, tf.readOff, tf.lineStart, tf.lineNo = cp.Identity, cp.Offset, cp.Offset, cp.LineNo
			t.opts.Logger.Info("file source: finished file is back", "path", p, "offset", cp.Offset)
		} else if initial && t.opts.FromEnd && !tf.oneShot {
			if err := tf.seekEnd(); err != nil {
				t.report(p, err)
			}
		}
		for _, o := range t.files {
			if !o.done && !o.live && o.origPath == p && o != tf {
				tf.after = o // its predecessor under this name: drain it first
			}
		}
		t.add(tf)
	}
}

// seekEnd positions f after its last complete line, counting lines so that
// line numbers stay right.
func (f *tracked) seekEnd() error {
	buf := make([]byte, chunkSize)
	var off, lines, lastNL int64
	for {
		n, err := f.r.ReadAt(buf, off)
		for i := 0; i < n; {
			j := bytes.IndexByte(buf[i:n], '\n')
			if j < 0 {
				break
			}
			lines++
			lastNL = off + int64(i+j) + 1
			i += j + 1
		}
		off += int64(n)
		if err != nil || n == 0 {
			if errors.Is(err, io.EOF) || n == 0 {
				break
			}
			return err
		}
	}
	f.readOff, f.lineStart, f.lineNo = lastNL, lastNL, lines
	return nil
}

// round reads what every file has to offer (up to readBudget each) and
// retires drained orphans. progress reports whether anything was read.
func (t *Tailer) round(ctx context.Context) (progress bool, err error) {
	now := time.Now()
	for i := 0; i < len(t.files); i++ {
		f := t.files[i]
		if f.done || (f.after != nil && !f.after.done) {
			continue
		}
		if ctx.Err() != nil {
			return progress, nil
		}
		if !f.oneShot {
			if err := t.checkTruncation(ctx, f); err != nil {
				return progress, err
			}
		}
		n, eof, err := t.read(ctx, f)
		if err != nil {
			return progress, err
		}
		if n > 0 {
			progress = true
			f.lastGrowth = now
		}
		if !eof {
			continue
		}
		switch {
		case f.oneShot:
			if err := t.finish(ctx, f); err != nil {
				return progress, err
			}
		case !f.live && (now.Sub(later(f.orphanAt, f.lastGrowth)) >= t.opts.RotateGrace ||
			(!f.successor.IsZero() && now.Sub(f.successor) >= t.opts.RotateGrace)):
			if err := t.finish(ctx, f); err != nil {
				return progress, err
			}
			progress = true // its successor may now be read
		}
	}
	t.mu.Lock()
	kept := t.files[:0]
	for _, f := range t.files {
		if !f.done {
			kept = append(kept, f)
		}
	}
	for i := len(kept); i < len(t.files); i++ {
		t.files[i] = nil
	}
	t.files = kept
	t.mu.Unlock()
	return progress, nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// finish delivers a file's last, unterminated line (the writer is done with
// it), closes it and retires it.
func (t *Tailer) finish(ctx context.Context, f *tracked) error {
	if len(f.buf) > 0 || f.over > 0 {
		t.emit(f, f.readOff)
	}
	if err := t.flush(ctx, f, true); err != nil {
		return err
	}
	t.opts.Logger.Info("file source: finished", "path", f.path, "lines", f.lineNo)
	if _, gz := f.r.(*gzReaderAt); gz {
		t.ignored[f.origPath] = f.key // read once
	} else if !f.oneShot {
		// Should the file show up under a matched name again, it goes on
		// from here rather than from 0.
		t.finished[f.key] = f.cp
	}
	t.mu.Lock()
	f.done = true
	if f.f != nil {
		f.f.Close()
		f.f = nil
	}
	t.mu.Unlock()
	for _, o := range t.files {
		if o.after == f {
			o.after = nil
		}
	}
	return nil
}

// checkTruncation notices copytruncate (and inode reuse at a name): the
// file got shorter than what was read, or its first bytes changed. The
// bytes between the last read and the truncation are read from the copy if
// one can be found; the file is then read again from 0 as a new generation.
func (t *Tailer) checkTruncation(ctx context.Context, f *tracked) error {
	fi, err := f.f.Stat()
	if err != nil {
		t.report(f.path, err)
		return nil
	}
	size, mod, prevSize := fi.Size(), fi.ModTime(), f.size
	changed := size != f.size || !mod.Equal(f.mod) || f.verify
	f.verify = false
	f.size, f.mod = size, mod
	if !f.handedOut && f.lineStart == 0 && f.id.FPLen < FingerprintSize && size >= f.readOff {
		// Nothing delivered yet, so the identity has not been handed out:
		// the fingerprint may still grow to cover the first line (or
		// FingerprintSize bytes), which makes it stronger.
		if changed || f.id.FPLen == 0 {
			fingerprintOf(f.f, size, &f.id)
		}
		return nil
	}
	truncated := size < f.readOff
	if !truncated && changed && f.id.FPLen > 0 {
		truncated = !sameContent(f.f, f.id)
	}
	if !truncated {
		return nil
	}
	t.opts.Logger.Info("file source: truncated", "path", f.path, "offset", f.readOff, "size", size)
	if r, c := t.findCopy(f.id, f.readOff, f.path, t.glob()); c != nil {
		cf := &tracked{path: c.Name(), origPath: f.path, f: c, r: r, key: f.key, id: f.id, readOff: f.readOff,
			lineStart: f.lineStart, lineNo: f.lineNo, buf: f.buf, over: f.over, oneShot: true, handedOut: true}
		for {
			n, eof, err := t.read(ctx, cf)
			if err != nil {
				c.Close()
				return err
			}
			if eof || n == 0 {
				break
			}
		}
		f.readOff, f.buf, f.over = cf.readOff, cf.buf, cf.over
		c.Close()
		t.opts.Logger.Info("file source: read the rest from the copy", "copy", cf.path, "lines", cf.lineNo-f.lineNo)
		f.lineNo, f.lineStart = cf.lineNo, cf.lineStart
	} else if prevSize > f.readOff {
		t.report(f.path, fmt.Errorf("truncated at offset %d and no copy found: bytes %d to %d are lost", f.readOff, f.readOff, prevSize))
	} else {
		t.opts.Logger.Info("file source: truncated and no copy found (lines written after the last read, if any, are lost)", "path", f.path)
	}
	if len(f.buf) > 0 || f.over > 0 {
		t.emit(f, f.readOff)
	}
	if err := t.flush(ctx, f, true); err != nil {
		return err
	}
	f.id.Gen++
	f.handedOut = false
	fingerprintOf(f.f, size, &f.id)
	f.readOff, f.lineStart, f.lineNo, f.buf, f.over = 0, 0, 0, f.buf[:0], 0
	t.mu.Lock()
	f.cp = Checkpoint{Identity: f.id, Path: f.path, Size: size, ModTime: mod}
	t.mu.Unlock()
	return nil
}

// read reads up to readBudget bytes of f and delivers its complete lines.
// eof reports that the file had nothing more.
func (t *Tailer) read(ctx context.Context, f *tracked) (n int64, eof bool, err error) {
	if t.chunk == nil {
		t.chunk = make([]byte, chunkSize)
	}
	buf := t.chunk
	for n < readBudget {
		m, rerr := f.r.ReadAt(buf, f.readOff)
		if m > 0 && !f.oneShot && f.id.FPLen > 0 && !sameContent(f.r, f.id) {
			// Truncated (and written again past readOff) since the round
			// began: these bytes may be the new content. Drop them; the
			// next round handles the truncation.
			f.verify = true
			break
		}
		if m > 0 {
			n += int64(m)
			if err := t.consume(ctx, f, buf[:m]); err != nil {
				return n, false, err
			}
		}
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			t.report(f.path, rerr)
			eof = true
			break
		}
		if m < len(buf) {
			eof = true
			break
		}
	}
	return n, eof, t.flush(ctx, f, false)
}

// consume splits data (read at f.readOff) into lines, handing over full
// batches as it goes.
func (t *Tailer) consume(ctx context.Context, f *tracked, data []byte) error {
	base := f.readOff
	f.readOff += int64(len(data))
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '\n')
		if j < 0 {
			f.appendPartial(data[i:], t.opts.MaxLineBytes)
			return nil
		}
		f.appendPartial(data[i:i+j], t.opts.MaxLineBytes)
		t.emit(f, base+int64(i+j)+1)
		i += j + 1
		if len(t.lines) >= t.opts.BatchLines || len(t.arena) >= 1<<20 {
			if err := t.flush(ctx, f, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *tracked) appendPartial(b []byte, limit int) {
	room := limit - len(f.buf)
	if room >= len(b) {
		f.buf = append(f.buf, b...)
		return
	}
	if room > 0 {
		f.buf = append(f.buf, b[:room]...)
		b = b[room:]
	}
	f.over += int64(len(b))
}

// emit queues the line in f.buf; next is the offset just past it.
func (t *Tailer) emit(f *tracked, next int64) {
	text := bytes.TrimSuffix(f.buf, []byte{'\r'})
	s := len(t.arena)
	t.arena = append(t.arena, text...)
	t.spans = append(t.spans, [2]int{s, len(t.arena)})
	f.lineNo++
	if f.over > 0 {
		t.trunc = append(t.trunc, len(t.lines))
	}
	t.lines = append(t.lines, parse.Line{File: f.path, Offset: f.lineStart, No: f.lineNo})
	f.lineStart = next
	f.buf, f.over = f.buf[:0], 0
}

// flush hands the queued lines of f to the Handler and, once accepted,
// advances f's checkpoint.
func (t *Tailer) flush(ctx context.Context, f *tracked, final bool) error {
	if len(t.lines) == 0 && !final {
		return nil
	}
	for i := range t.lines {
		t.lines[i].Text = t.arena[t.spans[i][0]:t.spans[i][1]:t.spans[i][1]]
	}
	cp := Checkpoint{Identity: f.id, Path: f.path, Offset: f.lineStart, LineNo: f.lineNo, Size: f.size, ModTime: f.mod}
	if f.origPath != "" && f.oneShot {
		cp.Path = f.origPath
	}
	b := Batch{Source: t.opts.Source, Identity: f.id, Lines: t.lines, Truncated: t.trunc, Final: final, Checkpoint: cp}
	if len(b.Lines) > 0 || final {
		f.handedOut = true
		if err := t.opts.Handler(ctx, b); err != nil {
			return err
		}
	}
	t.mu.Lock()
	f.cp = cp
	t.mu.Unlock()
	t.arena, t.spans, t.lines, t.trunc = t.arena[:0], t.spans[:0], t.lines[:0], t.trunc[:0]
	return nil
}
