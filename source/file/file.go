// Package file tails log files named by glob patterns and delivers their
// physical lines, in order per file, to a consumer that may be slow.
//
// It keeps the promise "no event is lost" (SPEC §5) for file sources:
//
//   - A file is known by its Identity (device, inode and a fingerprint of its
//     first bytes), not by its name, so renames, copytruncate and inode reuse
//     are told apart.
//   - Lines are handed over in Batches; each Batch carries the Checkpoint that
//     becomes true once the consumer has accepted it. Checkpoints never move
//     past a line the consumer has not accepted, so a restart from a committed
//     checkpoint is at-least-once, and Dedup turns it into exactly-once for
//     consumers that remember what they committed.
//   - A consumer that blocks slows the tailer down (back-pressure); nothing is
//     buffered without bound and nothing is dropped.
//   - Rotation by rename (logrotate "create"): the old file is drained to EOF
//     through the fd already open, for a grace period after its successor
//     appears, before the successor is read. Rotation by copytruncate: the
//     bytes between the last read and the truncation are read from the copy
//     (found by fingerprint), then the file is read again from 0.
//
// Multi-line records (PostgreSQL's TAB continuations, quoted newlines in
// csvlog) are the parser's business: this package delivers physical lines.
//
// Limits, by design or not yet handled:
//
//   - Lines a writer appends between copytruncate's copy and its truncate
//     are lost (copytruncate's own race); when the tailer knows of unread
//     bytes that no copy holds, it reports them through OnError.
//   - Patterns should not match the copies copytruncate makes (name.1): a
//     copy is a new file (new inode) and would be read again from 0.
//   - A file created and renamed away to a name the patterns do not match
//     before the tailer looks (fsnotify makes that window a few ms, the poll
//     alone one PollInterval) is never seen.
//   - Every matched file keeps an fd open while it is matched; rotated-away
//     files are closed once drained.
//   - A renamed-away file is read for RotateGrace after its successor
//     appears (or after its last growth); a writer that keeps writing it
//     longer loses those lines.
package file

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/vigildb/vigil/parse"
)

// FingerprintSize is how many leading bytes of a file make its fingerprint.
// 1 KiB holds the first log line (with its millisecond timestamp and pid) of
// every format Vigil reads, which is what makes two files with the same inode
// (reused after a delete) or the same content before and after a truncation
// distinguishable.
const FingerprintSize = 1024

// Identity says which file (not which name) a checkpoint belongs to.
//
// Dev and Ino identify the file while it exists; Fingerprint (FNV-64a of the
// first FPLen bytes, FPLen ≤ FingerprintSize, fixed when the file is first
// seen non-empty) tells a reused inode or a truncated-and-rewritten file from
// the original. Gen counts the truncations seen on the same inode, so lines
// read again from offset 0 after a copytruncate have keys distinct from the
// lines read there before even if the new first bytes happen to repeat the old.
//
// Identity is comparable and is the key for Dedup; the store persists it as is.
type Identity struct {
	Dev         uint64 `json:"dev"`
	Ino         uint64 `json:"ino"`
	Fingerprint uint64 `json:"fp"`
	FPLen       int    `json:"fp_len"`
	Gen         uint32 `json:"gen,omitempty"`
}

// String is a stable text form of the identity, for use as a key where a
// string is wanted (the store's Checkpoint.File): dev:ino:fingerprint/len
// and, after truncations, #gen.
func (id Identity) String() string {
	s := fmt.Sprintf("%d:%d:%016x/%d", id.Dev, id.Ino, id.Fingerprint, id.FPLen)
	if id.Gen > 0 {
		s += fmt.Sprintf("#%d", id.Gen)
	}
	return s
}

// Checkpoint is where reading of one file stands. Offset is the byte offset
// just past the last accepted line (the next line starts there) and LineNo is
// the number of lines accepted so far (the next line is LineNo+1). Size and
// ModTime are the file's as last seen: a checkpoint whose file is gone at
// restart is only reported as a possible loss when Offset < Size (bytes were
// known and not read), so fully read, rotated and deleted files stay quiet.
//
// It marshals to JSON as is: the store keeps it as a source's opaque
// checkpoint data, keyed by Identity.String().
type Checkpoint struct {
	Identity Identity `json:"identity"`
	Path     string   `json:"path"`
	Offset   int64    `json:"offset"`
	LineNo   int64    `json:"line_no"`
	// Read, when set, is how far the lines were read and processed, and
	// Offset is earlier: the position of a line whose event a parser still
	// held (parse.Holder), where a restart resumes so it is not lost.
	Read    int64     `json:"read,omitempty"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
}

// Batch is a run of consecutive lines of one file.
//
// Line.Text points into a buffer that is reused after the Handler returns;
// copy what you keep (ToChan does). Line.File is the path the file had when
// the lines were read (for a rotated file, its new name if the glob still
// matches it, else its last known name).
type Batch struct {
	Source   string
	Identity Identity
	Lines    []parse.Line
	// Truncated lists the indexes in Lines of lines longer than
	// Options.MaxLineBytes: their Text holds the first MaxLineBytes bytes
	// only. The line still counts once and the next line's offset is exact.
	Truncated []int
	// Final is set on the last batch of a file that will not be read again
	// (drained after rotation, or a copy read after copytruncate).
	Final bool
	// Checkpoint is the file's checkpoint once this batch is accepted. A
	// consumer that processes batches asynchronously persists this value
	// after it has durably handled the batch (and everything before it).
	Checkpoint Checkpoint
}

// Handler receives batches in order per file. It may block as long as it
// needs (the tailer waits: back-pressure). Returning nil accepts the batch and
// advances the in-memory checkpoint; returning an error stops the tailer (Run
// returns the error) without advancing it, so the batch is delivered again
// after a restart from checkpoints.
//
// A Final batch may hold no lines: it only closes a file (or a generation
// of it, after a truncation) and carries its last checkpoint.
type Handler func(ctx context.Context, b Batch) error

// Options configure a Tailer. Zero values are sensible defaults.
type Options struct {
	// Source names the source in Batches and Dedup keys.
	Source string
	// Patterns are filepath.Match globs; every matching regular file is read.
	Patterns []string
	// Handler is required.
	Handler Handler
	// Checkpoints to resume from, as previously returned by Checkpoints or
	// carried in Batches. Files without a checkpoint are read from the start
	// (from their end if FromEnd).
	Checkpoints []Checkpoint
	// FromEnd starts files that exist at startup and have no checkpoint at
	// their end instead of their start (first run on a large old log). Files
	// that appear later are always read from the start.
	FromEnd bool
	// PollInterval is the stat-poll period, a fallback to fsnotify (which
	// misses events on NFS and some overlay file systems) and the pace of
	// rotation checks. Default 250 ms.
	PollInterval time.Duration
	// RotateGrace is how long a renamed-away file is still read after its
	// successor appears, since a writer keeps writing the old fd until it
	// reopens its log. Default 5 s.
	RotateGrace time.Duration
	// MaxLineBytes bounds a line's Text (default 8 MiB); longer lines are
	// delivered truncated and listed in Batch.Truncated, so one runaway line
	// costs bounded memory and never blocks the file.
	MaxLineBytes int
	// ReadGzip reads gzip-compressed files (by ".gz" suffix or magic bytes)
	// that match the patterns, decompressed, once. By default they are
	// skipped: they are usually rotated copies already read uncompressed.
	ReadGzip bool
	// Coalesce is how long the tailer waits after a file-system
	// notification before it reads (0: reads at once). A writer that
	// appends line by line then yields one batch per Coalesce rather than
	// one per line, at the price of that much latency.
	Coalesce time.Duration
	// BatchLines bounds the lines per Batch (default 1024).
	BatchLines int
	// OnError sees per-file problems (permission denied, vanished file,
	// truncation with possible loss); the tailer carries on with other files.
	// Default: logged with Logger.
	OnError func(path string, err error)
	// Logger for notices (rotation, truncation). Default slog.Default().
	Logger *slog.Logger
	// NoNotify disables fsnotify; only the stat poll is used.
	NoNotify bool
}

func (o *Options) defaults() {
	if o.PollInterval <= 0 {
		o.PollInterval = 250 * time.Millisecond
	}
	if o.RotateGrace <= 0 {
		o.RotateGrace = 5 * time.Second
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = 8 << 20
	}
	if o.BatchLines <= 0 {
		o.BatchLines = 1024
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.OnError == nil {
		lg := o.Logger
		o.OnError = func(path string, err error) {
			lg.Warn("file source", "path", path, "err", err)
		}
	}
}

// ToChan adapts a channel to a Handler: each batch is copied (texts
// included) and sent, blocking until the receiver takes it or ctx ends. A
// batch sent is accepted; consumers that need acknowledgement after
// processing should persist Batch.Checkpoint themselves.
func ToChan(ch chan<- Batch) Handler {
	return func(ctx context.Context, b Batch) error {
		c := b
		c.Lines = make([]parse.Line, len(b.Lines))
		n := 0
		for _, l := range b.Lines {
			n += len(l.Text)
		}
		buf := make([]byte, 0, n)
		for i, l := range b.Lines {
			s := len(buf)
			buf = append(buf, l.Text...)
			c.Lines[i] = l
			c.Lines[i].Text = buf[s:len(buf):len(buf)]
		}
		c.Truncated = append([]int(nil), b.Truncated...)
		select {
		case ch <- c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
