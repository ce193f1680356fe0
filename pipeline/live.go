package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/vigildb/vigil/detect"
	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
	"github.com/vigildb/vigil/source/file"
	"github.com/vigildb/vigil/stmt/mask"
	"github.com/vigildb/vigil/store"
)

// FileSource is one set of tailed files with its own source name, format,
// prefix and server address (a file source of the config). Its read
// positions are saved under Name.
type FileSource struct {
	Name          string
	Patterns      []string
	InputFormat   string // "" or "auto": detected per file
	LogLinePrefix string
	ServerAddress string
	Location      *time.Location // of timestamps written without a zone; nil: UTC
	FromEnd       bool
	PollInterval  time.Duration
	MaxLineBytes  int
	ReadGzip      bool
}

// StreamSource is a source whose lines are pushed to the run with
// LiveRunner.Feed (HTTP ingest, syslog): no checkpoints, one parser per
// Line.File, event ids as the lines give them.
type StreamSource struct {
	Name          string
	InputFormat   string // "" or "auto": detected per Line.File from its first batch
	LogLinePrefix string
	ServerAddress string
	Location      *time.Location // of timestamps written without a zone; nil: UTC
	// PerRunIDs: the lines' offsets restart with the process (syslog), so
	// event ids are made unique to this run (otherwise the store would
	// drop the events of a later run as duplicates of earlier ones).
	PerRunIDs bool
	// Redelivers: Line.Offset grows along each Line.File and a line
	// delivered again keeps its offset (Kafka partitions). Feed then drops
	// the lines at or below the highest offset it has parsed for their File
	// in this run: a batch delivered again (its commit was lost, another
	// group member took the partition over) is neither parsed nor detected
	// on twice.
	Redelivers bool
}

// LiveMetrics is what Live reports as it goes (server.Metrics has it).
type LiveMetrics interface {
	AddEvents(source string, n int)
	AddParseFailures(source string, n int)
}

// StreamsStateName is the name under which Live saves, with the detection
// state, how far each redelivering stream (Kafka partition) was processed.
const StreamsStateName = "streams"

// StateName is the name under which Live saves the detection engine's state
// in the store.
const StateName = "detect"

// LiveOptions configure Live. Options gives the input format, prefix, rules,
// learning cutoff, server address and source name (default "file") as for
// Replay; Workers, OnEvent, Progress and MaxUnparsed are not used.
type LiveOptions struct {
	Options
	// Patterns are the globs of the files to tail (file.Options.Patterns).
	Patterns []string
	// Store receives the events, checkpoints, alerts and engine state. Required.
	Store *store.Store
	// Logger gets what starts, each alert raised and errors. Default slog.Default().
	Logger *slog.Logger
	// StateEvery and StateBatches: the engine's state is saved with the
	// first batch written StateEvery (default 250ms) after the last save or
	// after StateBatches (default 1000) batches, whichever comes first,
	// with the last batch of a rotated file, and at shutdown. The file
	// checkpoints saved are the positions the engine's state stands for
	// (see liveCheckpoint), so a crash re-reads at most StateEvery of
	// input and detection misses nothing and counts nothing twice. (A
	// save costs about 0.1 ms per 25 KB of state.)
	StateEvery   time.Duration
	StateBatches int
	// TickEvery is the period of the clock work: Advance(Now()) so absence
	// rules (logs.absent) fire on a silent source, parsers idle for
	// IdleFlush released, a due state save, and a retry of writes that
	// failed. Default 5s; negative disables the ticks (tests replaying old
	// logs, whose event times must not be overtaken by the wall clock).
	TickEvery time.Duration
	// IdleFlush releases what a file's parser holds (a login or statement
	// waiting for the line that settles it) once the file has been silent
	// that long. Default 10s; negative: only at Final and shutdown.
	IdleFlush time.Duration
	// Now is the wall clock (default time.Now).
	Now func() time.Time
	// RetryMin and RetryMax bound the backoff between attempts of a failed
	// store write (default 500ms and 30s).
	RetryMin, RetryMax time.Duration
	// PollInterval and FromEnd are passed to the tailer.
	PollInterval time.Duration
	FromEnd      bool
	// Files, when set, are the file sources to tail, each with its own
	// settings; Patterns, PollInterval, FromEnd and the Options' format,
	// prefix, server address and source name are then not used for files.
	Files []FileSource
	// Streams are the sources fed through LiveRunner.Feed.
	Streams []StreamSource
	// RuleSources are loaded after the built-in pack and RulePaths
	// (config.Config.RuleSources).
	RuleSources []detect.Source
	// Metrics, when set, counts events and parse failures per source.
	Metrics LiveMetrics
	// OnStarted, when set, is called once the sources are started.
	OnStarted func()
	// Coalesce is file.Options.Coalesce: how long a tailer lets lines
	// gather after a write before it reads them (default 25ms; negative:
	// none). One batch is one store transaction: under load this trades
	// 25 ms of latency for fewer, larger transactions (livebench at 10k
	// events/s: 10 ms gave 23-27% of a core and p99 27-29 ms, 25 ms gives
	// 19-21% and p99 43-46 ms).
	Coalesce time.Duration
	// Retention, when it limits anything, is applied (store.Prune) once
	// the sources are started and then every RetentionEvery (default 1h).
	Retention      store.Retention
	RetentionEvery time.Duration
}

// LagMetrics is optionally implemented by LiveMetrics (server.Metrics
// does): how far each file's reading is behind its end, and how many
// processed events wait for the store.
type LagMetrics interface {
	SetCheckpointLag(source, file string, bytes int64, seconds float64)
	ForgetCheckpoint(source, file string)
	SetQueueDepth(stage string, n int)
}

// liveStats counts what a Live run did (logged at shutdown).
type liveStats struct {
	Batches, Lines, Events, Alerts, Unparsed, WriteErrors int64
}

// Live tails the files of opts.Patterns and runs every batch of lines
// through parse → classify → detect, storing the events, the file's
// checkpoint, the alerts created or updated and (now and then) the engine's
// state in one store transaction per batch. It returns when ctx is
// cancelled (nil, after a final write of what the parsers held and of the
// engine's state) or on a fatal error.
//
// Delivery is at least once: a batch is accepted by the tailer (its
// checkpoint advances) only after its Write has committed, so lines whose
// Write did not happen are read again after a restart; the events they
// give have the same ids (ids come from a per-file-identity name and the
// line's offset, so a renamed file keeps them) and the store drops them as
// duplicates. A failed Write (store.ErrDiskFull ...) is logged and retried
// with backoff within the same Handler call, so the tailer waits
// (back-pressure) and nothing is lost; the engine has already seen the
// batch, so it is never processed twice.
//
// Known gaps, all on a crash (SIGKILL, power loss) rather than a clean stop:
//
//   - A parser holds a login or statement (up to 5s of event time, or
//     until IdleFlush) and buffers an incomplete multi-line record. The
//     checkpoint saved with a batch is the position of the oldest line it
//     holds (parse.Holder), so after a crash those lines are read again and
//     the events re-created; the stored events of the lines read again are
//     dropped as duplicates, but the detection engine sees them a second
//     time (a window may count them twice).
//   - The engine's state is saved every StateEvery/StateBatches, not with
//     every batch: after a crash the windows and baselines miss the events
//     committed since the last save (the events themselves are stored).
//   - A batch whose Write still failed when the run was stopped was seen by
//     the engine but is not committed; the final state is then not saved
//     (it would count those lines twice when they are read again).
func Live(ctx context.Context, opts LiveOptions) error {
	l, err := newLive(opts)
	if err != nil {
		return err
	}
	return l.run(ctx)
}

// liveSource is a source's settings: Options carries its name, format,
// prefix and server address.
type liveSource struct {
	name string
	opts Options
	file *FileSource // nil for a stream source
	// runTag, for PerRunIDs stream sources, is added to Line.File for ids.
	runTag string
	// redelivers: StreamSource.Redelivers.
	redelivers bool
}

type liveParser struct {
	src           *liveSource
	p             parse.Parser
	name          string    // the stable name event ids are made from
	path          string    // the file's path, as last seen
	lastRead      time.Time // when lines were last parsed
	held          bool      // lines were parsed since the last flush
	source, ident string    // the key of its checkpoints in the store
	// last is the tailer's checkpoint after the last batch parsed: the
	// end of what was read.
	last file.Checkpoint
	// anchor is the checkpoint saved with the last save of the detection
	// state: where a restart resumes, which that state stands for.
	anchor liveCheckpoint
	// guard, after a restart from a checkpoint whose lines were partly
	// processed before, keeps the engine from seeing their events twice.
	guard  *rereadGuard
	lastNo int64 // line number of the last line parsed
	// maxOff is the highest Line.Offset parsed (stream sources that
	// redeliver), valid when offSeen.
	maxOff  int64
	offSeen bool
}

// safe is the offset up to which a redelivering stream's lines are
// processed and no event of theirs is held by the parser.
func (lp *liveParser) safe() (int64, bool) {
	if !lp.offSeen {
		return 0, false
	}
	safe := lp.maxOff
	if h, ok := lp.p.(parse.Holder); ok {
		if off, _, held := h.Pending(); held && off-1 < safe {
			safe = off - 1
		}
	}
	return safe, true
}

// liveCheckpoint is what Live saves per file. It is taken when the
// detection state is saved, in the same transaction: Offset is where the
// file was read to then, or earlier, the first line of an event the parser
// still held; ReadLine is the first line not read then, and Held the first
// lines of the events held. A restart resumes at Offset and keeps from the
// engine the events of lines before ReadLine except those starting on a
// held line: the state already counts them. The events themselves are
// stored again and dropped as duplicates. Read is how far the file has
// been read and stored (progress; written with every batch).
type liveCheckpoint struct {
	file.Checkpoint
	ReadLine int64   `json:"read_line,omitempty"`
	Held     []int64 `json:"held,omitempty"`
}

// rereadGuard: events of lines before readLine were processed by the
// engine before the restart, except those that started on a held line.
type rereadGuard struct {
	readLine int64
	held     map[int64]bool
}

// seen reports whether the engine processed the event before the restart.
func (g *rereadGuard) seen(ev *event.Event) bool {
	return ev.Log.Line < g.readLine && !g.held[ev.Log.Line]
}

type live struct {
	opts LiveOptions
	log  *slog.Logger
	st   *store.Store
	eng  *detect.Engine
	// storeWrite is st.Write (a test hook: failing writes).
	storeWrite func(context.Context, store.Batch) error
	cls        classifier
	srcs       map[string]*liveSource
	rules      *detect.RuleSet

	started chan struct{} // closed once the saved state is loaded (Feed waits for it)

	mu         sync.Mutex             // serializes the Handler and the ticks
	stopped    bool                   // shutdown is done: Feed refuses
	parsers    map[string]*liveParser // by source and file identity (or Line.File)
	events     []*event.Event         // processed, not yet written
	quarantine []store.Quarantined    // unparsed lines, not yet written
	alerts     []*event.Alert         // cloned, not yet written
	alertIx    map[string]int         // alert id -> index in alerts
	logged     map[string]bool
	lagSince   map[string]time.Time      // per source and path: since when reading is behind the file end
	resumed    map[string]liveCheckpoint // saved checkpoints by source and file identity, until the file's parser is made
	// streamSafe: by source and Line.File of redelivering streams, the
	// offset processed as of the last state save (loaded at start, then
	// moved on by each save); committable reads it.
	streamSafe map[string]int64
	lastSave   time.Time
	batches    int // since the last state save
	dirty      bool
	failed     bool // a batch the engine saw was not committed
	stats      liveStats
}

func newLive(opts LiveOptions) (*live, error) {
	if opts.Store == nil {
		return nil, errors.New("live: no store")
	}
	if opts.SourceName == "" {
		opts.SourceName = "file"
	}
	if len(opts.Files) == 0 && len(opts.Patterns) > 0 {
		opts.Files = []FileSource{{Name: opts.SourceName, Patterns: opts.Patterns, InputFormat: opts.InputFormat,
			LogLinePrefix: opts.LogLinePrefix, ServerAddress: opts.ServerAddress, Location: opts.Location, FromEnd: opts.FromEnd, PollInterval: opts.PollInterval}}
	}
	if len(opts.Files) == 0 && len(opts.Streams) == 0 {
		return nil, errors.New("live: no file patterns to watch")
	}
	srcs := map[string]*liveSource{}
	addSrc := func(name, format, prefix, server string, loc *time.Location) (*liveSource, error) {
		if name == "" {
			return nil, errors.New("live: a source without a name")
		}
		if srcs[name] != nil {
			return nil, fmt.Errorf("live: source %q given twice", name)
		}
		if format == "auto" {
			format = ""
		}
		if format != "" {
			if _, err := newParser(format, prefix, loc); err != nil {
				return nil, fmt.Errorf("source %s: %w", name, err)
			}
		}
		o := opts.Options
		o.SourceName, o.InputFormat, o.LogLinePrefix, o.ServerAddress, o.Location = name, format, prefix, server, loc
		ls := &liveSource{name: name, opts: o}
		srcs[name] = ls
		return ls, nil
	}
	for i := range opts.Files {
		f := &opts.Files[i]
		if len(f.Patterns) == 0 {
			return nil, fmt.Errorf("live: source %s: no file patterns to watch", f.Name)
		}
		ls, err := addSrc(f.Name, f.InputFormat, f.LogLinePrefix, f.ServerAddress, f.Location)
		if err != nil {
			return nil, err
		}
		ls.file = f
	}
	for _, ss := range opts.Streams {
		ls, err := addSrc(ss.Name, ss.InputFormat, ss.LogLinePrefix, ss.ServerAddress, ss.Location)
		if err != nil {
			return nil, err
		}
		if ss.PerRunIDs {
			ls.runTag = "#run" + strconv.FormatInt(time.Now().UnixNano(), 36)
		}
		ls.redelivers = ss.Redelivers
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.StateEvery <= 0 {
		opts.StateEvery = 250 * time.Millisecond
	}
	if opts.StateBatches <= 0 {
		opts.StateBatches = 1000
	}
	if opts.TickEvery == 0 {
		opts.TickEvery = 5 * time.Second
	}
	if opts.IdleFlush == 0 {
		opts.IdleFlush = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = 500 * time.Millisecond
	}
	if opts.RetentionEvery <= 0 {
		opts.RetentionEvery = time.Hour
	}
	if opts.Coalesce == 0 {
		opts.Coalesce = 25 * time.Millisecond
	}

	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(30*time.Second, opts.RetryMin)
	}
	rs, err := detect.Load(append(append([]detect.Source{BuiltinSource()}, detect.PathSources(opts.RulePaths...)...), opts.RuleSources...)...)
	if err != nil {
		return nil, err
	}
	return &live{
		srcs:       srcs,
		rules:      rs,
		storeWrite: opts.Store.Write,
		opts:       opts,
		log:        opts.Logger,
		st:         opts.Store,
		eng:        detect.NewEngine(rs, detect.Options{LearnUntil: opts.LearnUntil}),
		cls:        newClassifier(),
		parsers:    map[string]*liveParser{},
		started:    make(chan struct{}),
		alertIx:    map[string]int{},
		logged:     map[string]bool{},
		lagSince:   map[string]time.Time{},
		resumed:    map[string]liveCheckpoint{},
		streamSafe: map[string]int64{},
	}, nil
}

func (l *live) run(ctx context.Context) error {
	// Engine state and checkpoints from the last run.
	data, err := l.st.LoadState(ctx, StateName)
	switch {
	case errors.Is(err, store.ErrNotFound):
		l.log.Info("no saved detection state: starting fresh")
	case err != nil:
		return err
	default:
		if err := l.eng.LoadState(bytes.NewReader(data)); err != nil {
			return fmt.Errorf("load detection state: %w", err)
		}
		l.log.Info("detection state loaded", "clock", l.eng.Clock())
		if sd, err := l.st.LoadState(ctx, StreamsStateName); err == nil {
			if err := json.Unmarshal(sd, &l.streamSafe); err != nil {
				return fmt.Errorf("load stream positions: %w", err)
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	var tailers []*file.Tailer
	for _, f := range l.opts.Files {
		src := l.srcs[f.Name]
		saved, err := l.st.Checkpoints(ctx, f.Name)
		if err != nil {
			return err
		}
		var cps []file.Checkpoint
		for _, c := range saved {
			var cp liveCheckpoint
			if err := json.Unmarshal(c.Data, &cp); err != nil {
				l.log.Error("unreadable checkpoint: the file is read again from the start", "source", c.Source, "file", c.File, "err", err)
				continue
			}
			cps = append(cps, cp.Checkpoint)
			l.resumed[f.Name+"\x00"+c.File] = cp
		}
		t, err := file.New(file.Options{
			Source:       f.Name,
			Patterns:     f.Patterns,
			Handler:      func(ctx context.Context, b file.Batch) error { return l.handle(ctx, src, b) },
			Checkpoints:  cps,
			FromEnd:      f.FromEnd,
			PollInterval: f.PollInterval,
			Coalesce:     l.opts.Coalesce,
			MaxLineBytes: f.MaxLineBytes,
			ReadGzip:     f.ReadGzip,
			Logger:       l.log,
		})
		if err != nil {
			return fmt.Errorf("source %s: %w", f.Name, err)
		}
		tailers = append(tailers, t)
		l.log.Info("vigil run: watching", "patterns", f.Patterns, "source", f.Name, "checkpoints", len(cps))
	}
	l.mu.Lock()
	l.lastSave = l.opts.Now()
	l.mu.Unlock()
	close(l.started)

	tickDone := make(chan struct{})
	tctx, stopTicks := context.WithCancel(ctx)
	go func() {
		defer close(tickDone)
		if l.opts.TickEvery < 0 {
			return
		}
		tk := time.NewTicker(l.opts.TickEvery)
		defer tk.Stop()
		for {
			select {
			case <-tctx.Done():
				return
			case <-tk.C:
				l.tick(tctx)
			}
		}
	}()
	// One tailer failing stops the others (and the run).
	rctx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	errs := make([]error, len(tailers))
	var wg sync.WaitGroup
	for i, t := range tailers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = t.Run(rctx); errs[i] != nil {
				l.log.Error("file source stopped", "source", l.opts.Files[i].Name, "err", errs[i])
				stopRun()
			}
		}()
	}
	if r := l.opts.Retention; r.MaxAge > 0 || r.MaxBytes > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.retain(rctx)
		}()
	}
	if l.opts.OnStarted != nil {
		l.opts.OnStarted()
	}
	if len(tailers) == 0 {
		<-ctx.Done()
	}
	wg.Wait()
	stopTicks()
	<-tickDone
	finErr := l.shutdown()
	return errors.Join(append(errs, finErr)...)
}

// handle is a tailer's Handler: it returns nil once the batch is stored.
func (l *live) handle(ctx context.Context, src *liveSource, b file.Batch) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := src.name + "\x00" + b.Identity.String()
	lp := l.parsers[key]
	if lp == nil && len(b.Lines) > 0 {
		var err error
		if lp, err = l.newFileParser(src, b); err != nil {
			l.log.Error("cannot read file", "path", b.Lines[0].File, "err", err)
			return err
		}
		lp.source, lp.ident = src.name, b.Identity.String()
		if cp, ok := l.resumed[key]; ok {
			lp.anchor = cp
			if cp.ReadLine > 0 {
				g := &rereadGuard{readLine: cp.ReadLine, held: map[int64]bool{}}
				for _, n := range cp.Held {
					g.held[n] = true
				}
				lp.guard = g
			}
			delete(l.resumed, key)
		} else {
			// Until the next state save a restart reads it from here.
			lp.anchor = liveCheckpoint{Checkpoint: b.Checkpoint}
			lp.anchor.Offset, lp.anchor.LineNo = b.Lines[0].Offset, b.Lines[0].No-1
		}
		l.parsers[key] = lp
	}
	if lp != nil {
		if lp.guard != nil && len(b.Lines) > 0 && b.Lines[0].No < lp.lastNo {
			lp.guard = nil // line numbers started over (copytruncate): new lines
		}
		l.parseLines(lp, b.Lines, true)
		if len(b.Lines) > 0 {
			lp.lastNo = b.Lines[len(b.Lines)-1].No
		}
		lp.last = b.Checkpoint
		if b.Final {
			lp.p.Flush(l.emitter(lp))
			delete(l.parsers, key)
		}
	}
	l.stats.Batches++
	// A batch moves the saved checkpoint only for progress (Read); the
	// resume point moves with the state saves (write). A file's last
	// batch saves the state, so its end is final.
	var saved liveCheckpoint
	withState := l.stateDue()
	if b.Final {
		saved, withState = liveCheckpoint{Checkpoint: b.Checkpoint}, !l.failed
	} else {
		saved = lp.anchor
		saved.Read = b.Checkpoint.Offset
	}
	cp, err := storeCheckpoint(src.name, b.Identity.String(), saved)
	if err != nil {
		return err
	}
	l.batches++
	for attempt, wait := 1, l.opts.RetryMin; ; attempt++ {
		err := l.write(ctx, []store.Checkpoint{cp}, withState)
		if err == nil {
			l.reportLag(src.name, b)
			if attempt > 1 {
				l.log.Info("store write succeeded after retries", "attempts", attempt)
			}
			return nil
		}
		l.stats.WriteErrors++
		if lm, ok := l.opts.Metrics.(LagMetrics); ok {
			lm.SetQueueDepth("store", len(l.events))
		}
		l.log.Error("store write failed: the batch is kept and retried", "attempt", attempt, "retry_in", wait,
			"path", b.Checkpoint.Path, "offset", b.Checkpoint.Offset, "disk_full", errors.Is(err, store.ErrDiskFull), "err", err)
		select {
		case <-ctx.Done():
			l.failed = true
			return fmt.Errorf("store write of %s at offset %d not done before shutdown (the lines are read again at the next start): %w",
				b.Checkpoint.Path, b.Checkpoint.Offset, err)
		case <-time.After(wait):
		}
		wait = min(wait*2, l.opts.RetryMax)
	}
}

// quarantined is the store record of a line the parser rejected: masked
// (a malformed line may still hold a password) and cut to a bounded size.
func quarantined(source, path string, ln parse.Line, err error) store.Quarantined {
	text := ln.Text
	if len(text) > store.MaxQuarantineBytes {
		text = text[:store.MaxQuarantineBytes]
	}
	return store.Quarantined{Source: source, File: path, Offset: ln.Offset, Line: ln.No,
		Reason: mask.SQL(err.Error()), Data: []byte(mask.SQL(string(text))), Size: int64(len(ln.Text))}
}

func storeCheckpoint(source, file string, cp liveCheckpoint) (store.Checkpoint, error) {
	data, err := json.Marshal(cp)
	if err != nil {
		return store.Checkpoint{}, fmt.Errorf("encode checkpoint of %s: %w", cp.Path, err)
	}
	return store.Checkpoint{Source: source, File: file, Data: data}, nil
}

// anchors computes, for a state save, each open file's new resume point
// (see liveCheckpoint).
func (l *live) anchors() (map[*liveParser]liveCheckpoint, []store.Checkpoint, error) {
	out := make(map[*liveParser]liveCheckpoint, len(l.parsers))
	var cps []store.Checkpoint
	for _, lp := range l.parsers {
		if lp.source == "" || lp.last.Identity == (file.Identity{}) {
			continue // a stream's parser
		}
		a := liveCheckpoint{Checkpoint: lp.last}
		a.Read = lp.last.Offset
		if h, ok := lp.holder(); ok {
			if off, no, held := h.Pending(); held && off < a.Offset {
				a.ReadLine = a.LineNo + 1
				a.Offset, a.LineNo = off, no-1
				a.Held = h.(heldLiner).HeldLines()
			}
		}
		cp, err := storeCheckpoint(lp.source, lp.ident, a)
		if err != nil {
			return nil, nil, err
		}
		out[lp] = a
		cps = append(cps, cp)
	}
	return out, cps, nil
}

// heldLiner is a parse.Holder that lists the first line of every event it
// holds (pglog.Parser).
type heldLiner interface {
	parse.Holder
	HeldLines() []int64
}

// holder returns the parser as a parse.Holder when it holds events across
// lines and can list them (both are needed to resume exactly).
func (lp *liveParser) holder() (parse.Holder, bool) {
	if lp == nil {
		return nil, false
	}
	h, ok := lp.p.(heldLiner)
	return h, ok
}

// parseLines runs lines through a parser; rename gives each line the
// parser's stable name (file sources) in place of its path.
func (l *live) parseLines(lp *liveParser, lines []parse.Line, rename bool) {
	emit := l.emitter(lp)
	failed := 0
	for _, ln := range lines {
		if rename {
			lp.path = ln.File
			ln.File = lp.name
		}
		if err := lp.p.Parse(ln, emit); err != nil {
			failed++
			path := ln.File
			if rename {
				path = lp.path
			}
			l.quarantine = append(l.quarantine, quarantined(lp.src.name, path, ln, err))
			l.log.Debug("unparsed line", "source", lp.src.name, "path", path, "line", ln.No, "err", err)
		}
	}
	l.stats.Unparsed += int64(failed)
	if failed > 0 && l.opts.Metrics != nil {
		l.opts.Metrics.AddParseFailures(lp.src.name, failed)
	}
	l.stats.Lines += int64(len(lines))
	lp.lastRead, lp.held = l.opts.Now(), len(lines) > 0 || lp.held
}

// Feed runs lines of a stream source (HTTP ingest, syslog) through the
// pipeline and returns once they are stored (nil), or with an error when
// the source is unknown or ctx ended before the store write succeeded (the
// events stay pending and are written with the next batch or tick; a
// client resending them gets the same ids for content-derived ones).
func (l *live) Feed(ctx context.Context, source string, lines []parse.Line) error {
	src := l.srcs[source]
	if src == nil || src.file != nil {
		return fmt.Errorf("unknown source %q", source)
	}
	select {
	case <-l.started:
	case <-ctx.Done():
		return fmt.Errorf("the pipeline is not started: %w", ctx.Err())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed || l.stopped {
		return errors.New("the pipeline is stopping")
	}
	for i := 0; i < len(lines); {
		j := i + 1
		for j < len(lines) && lines[j].File == lines[i].File {
			j++
		}
		key := source + "\x00" + lines[i].File
		lp := l.parsers[key]
		if lp == nil {
			var err error
			if lp, err = l.newStreamParser(src, lines[i:]); err != nil {
				l.log.Error("cannot read stream", "source", source, "file", lines[i].File, "err", err)
				return err
			}
			if v, ok := l.streamSafe[key]; ok && src.redelivers {
				// Processed before the restart, as the saved state says.
				lp.maxOff, lp.offSeen = v, true
			}
			l.parsers[key] = lp
		}
		seg := lines[i:j]
		if src.redelivers {
			seg = lp.fresh(seg)
		}
		l.parseLines(lp, seg, src.runTag != "")
		i = j
	}
	l.stats.Batches++
	l.batches++
	// A redelivering stream's source commits only what a saved state
	// covers (Committable): save it with every batch, so commits follow.
	withState := l.stateDue() || src.redelivers
	for attempt, wait := 1, l.opts.RetryMin; ; attempt++ {
		err := l.write(ctx, nil, withState)
		if err == nil {
			return nil
		}
		l.stats.WriteErrors++
		l.log.Error("store write failed: retried", "source", source, "attempt", attempt, "retry_in", wait,
			"disk_full", errors.Is(err, store.ErrDiskFull), "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("store write not done: %w", err)
		case <-time.After(wait):
		}
		wait = min(wait*2, l.opts.RetryMax)
	}
}

// fresh returns the lines above the highest offset parsed so far (a
// redelivering stream's File) and moves that offset on.
func (lp *liveParser) fresh(lines []parse.Line) []parse.Line {
	out := lines[:0:0]
	for _, ln := range lines {
		if lp.offSeen && ln.Offset <= lp.maxOff {
			continue
		}
		lp.maxOff, lp.offSeen = ln.Offset, true
		out = append(out, ln)
	}
	return out
}

// newStreamParser makes the parser of a stream's Line.File, detecting its
// format from the lines of that File in the batch.
func (l *live) newStreamParser(src *liveSource, lines []parse.Line) (*liveParser, error) {
	name := lines[0].File
	var buf []byte
	for _, ln := range lines {
		if len(buf) > 64<<10 {
			break
		}
		if ln.File == name {
			buf = append(append(buf, ln.Text...), '\n')
		}
	}
	format, prefix, err := detectFormat(buf, src.opts.InputFormat, src.opts.LogLinePrefix)
	if err != nil {
		return nil, err
	}
	p, err := newParser(format, prefix, src.opts.Location)
	if err != nil {
		return nil, err
	}
	l.log.Info("reading stream", "source", src.name, "file", name, "format", format, "prefix", prefix)
	return &liveParser{src: src, p: p, name: name + src.runTag, path: name}, nil
}

// newFileParser makes the parser of a file not seen before (or resumed
// after a restart), detecting its format from its first bytes on disk or,
// failing that, from the batch's lines.
func (l *live) newFileParser(src *liveSource, b file.Batch) (*liveParser, error) {
	path := b.Lines[0].File
	var head []byte
	if b.Lines[0].Offset > 0 {
		if f, err := os.Open(path); err == nil {
			head, _ = io.ReadAll(io.LimitReader(f, 64<<10))
			f.Close()
		}
	}
	format, prefix, err := detectFormat(head, src.opts.InputFormat, src.opts.LogLinePrefix)
	if len(head) == 0 || err != nil {
		var buf []byte
		for _, ln := range b.Lines {
			if len(buf) > 64<<10 {
				break
			}
			buf = append(append(buf, ln.Text...), '\n')
		}
		format, prefix, err = detectFormat(buf, src.opts.InputFormat, src.opts.LogLinePrefix)
	}
	if err != nil {
		return nil, err
	}
	p, err := newParser(format, prefix, src.opts.Location)
	if err != nil {
		return nil, err
	}
	l.log.Info("reading file", "source", src.name, "path", path, "format", format, "prefix", prefix, "offset", b.Lines[0].Offset, "identity", b.Identity.String())
	// Event ids hash the line's file name and offset: name the file by its
	// identity, which survives renames, rather than by its path.
	return &liveParser{src: src, p: p, name: "file:" + b.Identity.String(), path: path}, nil
}

// emitter enriches and detects each event a parser emits, in order.
func (l *live) emitter(lp *liveParser) parse.Emit {
	return func(ev *event.Event) {
		if ev.Log.File == lp.name {
			ev.Log.File = lp.path
		}
		enrich(l.cls, ev, &lp.src.opts)
		l.events = append(l.events, ev)
		if lp.guard != nil && lp.guard.seen(ev) {
			return // stored before the restart (a duplicate) and already detected on
		}
		if l.opts.Metrics != nil {
			l.opts.Metrics.AddEvents(lp.src.name, 1)
		}
		l.stats.Events++
		l.dirty = true
		l.addAlerts(l.eng.Process(ev))
	}
}

// addAlerts queues copies of alerts for the next write and logs new ones.
func (l *live) addAlerts(as []*event.Alert) {
	for _, a := range as {
		c := detect.CloneAlert(a)
		if i, ok := l.alertIx[c.ID]; ok {
			l.alerts[i] = c
		} else {
			l.alertIx[c.ID] = len(l.alerts)
			l.alerts = append(l.alerts, c)
		}
		if !l.logged[c.ID] {
			if len(l.logged) >= 10000 {
				clear(l.logged)
			}
			l.logged[c.ID] = true
			l.stats.Alerts++
			l.log.Warn("alert", "rule", c.RuleID, "severity", c.Severity, "group", c.Group, "count", c.Count, "id", c.ID)
		}
	}
}

func (l *live) stateDue() bool {
	return l.dirty && (l.batches >= l.opts.StateBatches || l.opts.Now().Sub(l.lastSave) >= l.opts.StateEvery)
}

// write stores what is pending (events, alerts), the checkpoints and, if
// withState, the engine's state, in one transaction. On success the pending
// lists are cleared; on failure they are kept for the next attempt. The
// write itself is not cut short by ctx (a clean stop lets it finish).
func (l *live) write(ctx context.Context, cps []store.Checkpoint, withState bool) error {
	b := store.Batch{Events: l.events, Checkpoints: cps, Alerts: l.alerts, Quarantine: l.quarantine}
	var anchors map[*liveParser]liveCheckpoint
	var streams map[string]int64
	if withState {
		streams = maps.Clone(l.streamSafe)
		for key, lp := range l.parsers {
			if lp.src.redelivers {
				if v, ok := lp.safe(); ok {
					streams[key] = v
				}
			}
		}
		var acps []store.Checkpoint
		var err error
		if anchors, acps, err = l.anchors(); err != nil {
			return err
		}
		// After cps: the same file's anchor is the one that stays.
		b.Checkpoints = append(slices.Clip(cps), acps...)
		var buf bytes.Buffer
		if err := l.eng.SaveState(&buf); err != nil {
			return fmt.Errorf("save detection state: %w", err)
		}
		b.States = map[string][]byte{StateName: buf.Bytes()}
		if len(streams) > 0 {
			sd, err := json.Marshal(streams)
			if err != nil {
				return fmt.Errorf("save stream positions: %w", err)
			}
			b.States[StreamsStateName] = sd
		}
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := l.storeWrite(wctx, b); err != nil {
		return err
	}
	l.events, l.alerts, l.quarantine = l.events[:0], l.alerts[:0], l.quarantine[:0]
	clear(l.alertIx)
	if withState {
		l.lastSave, l.batches, l.dirty = l.opts.Now(), 0, false
		for lp, a := range anchors {
			lp.anchor = a
		}
		if streams != nil {
			l.streamSafe = streams
		}
	}
	return nil
}

// reportLag sets the checkpoint lag of a file after a stored batch: the
// bytes between what was read and the file's size when it was read, and
// for how long reading has been behind. The pipeline's queue (events
// processed, not yet stored) is empty after a stored batch.
func (l *live) reportLag(source string, b file.Batch) {
	lm, ok := l.opts.Metrics.(LagMetrics)
	if !ok {
		return
	}
	lm.SetQueueDepth("store", len(l.events))
	cp := b.Checkpoint
	key := source + "\x00" + cp.Path
	if b.Final {
		delete(l.lagSince, key)
		lm.ForgetCheckpoint(source, cp.Path)
		return
	}
	lag := max(cp.Size-cp.Offset, 0)
	var secs float64
	if lag == 0 {
		delete(l.lagSince, key)
	} else {
		since, ok := l.lagSince[key]
		if !ok {
			since = l.opts.Now()
			l.lagSince[key] = since
		}
		secs = l.opts.Now().Sub(since).Seconds()
	}
	lm.SetCheckpointLag(source, cp.Path, lag, secs)
}

// retain applies the retention now and every RetentionEvery until ctx ends.
func (l *live) retain(ctx context.Context) {
	tk := time.NewTicker(l.opts.RetentionEvery)
	defer tk.Stop()
	for {
		r := l.opts.Retention
		r.Now = l.opts.Now()
		res, err := l.st.Prune(ctx, r)
		switch {
		case err != nil && ctx.Err() == nil:
			l.log.Error("retention: prune failed (retried at the next period)", "err", err)
		case err == nil && (res.Events > 0 || res.Alerts > 0):
			l.log.Info("retention: pruned", "events", res.Events, "alerts", res.Alerts, "max_age", r.MaxAge, "max_bytes", r.MaxBytes)
		}
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
	}
}

// tick does the clock work: absence alerts, idle parsers, a due state save
// and the retry of a pending write.
func (l *live) tick(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed {
		return
	}
	now := l.opts.Now()
	if l.opts.IdleFlush > 0 {
		for _, lp := range l.parsers {
			if lp.held && now.Sub(lp.lastRead) >= l.opts.IdleFlush {
				lp.p.Flush(l.emitter(lp))
				lp.held = false
			}
		}
	}
	l.addAlerts(l.eng.Advance(now))
	if len(l.events) == 0 && len(l.alerts) == 0 && !l.stateDue() {
		return
	}
	if err := l.write(ctx, nil, l.stateDue()); err != nil {
		l.stats.WriteErrors++
		l.log.Error("store write failed: retried at the next tick or batch", "events", len(l.events), "alerts", len(l.alerts),
			"disk_full", errors.Is(err, store.ErrDiskFull), "err", err)
		return
	}
}

// shutdown flushes every parser and writes what is pending and the engine's
// state, retrying a few times.
func (l *live) shutdown() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	for _, lp := range l.parsers {
		lp.p.Flush(l.emitter(lp))
	}
	withState := !l.failed
	if l.failed {
		l.log.Warn("detection state not saved: a batch it has seen was not stored and will be read again")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	for attempt, wait := 1, l.opts.RetryMin; attempt <= 5; attempt++ {
		if err = l.write(ctx, nil, withState); err == nil {
			l.log.Info("vigil run: stopped", "batches", l.stats.Batches, "lines", l.stats.Lines, "events", l.stats.Events,
				"alerts", l.stats.Alerts, "unparsed", l.stats.Unparsed)
			return nil
		}
		l.log.Error("final store write failed", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			attempt = 5
		case <-time.After(wait):
		}
		wait = min(wait*2, l.opts.RetryMax)
	}
	return fmt.Errorf("final store write: %w (events held by the parsers at shutdown are lost)", err)
}

// LiveRunner is a Live run whose stream sources are fed from outside
// (HTTP ingest, syslog receivers). Make it with NewLive, then Run it.
type LiveRunner struct{ l *live }

// NewLive checks the options and loads the rules; it starts nothing.
func NewLive(opts LiveOptions) (*LiveRunner, error) {
	l, err := newLive(opts)
	if err != nil {
		return nil, err
	}
	return &LiveRunner{l: l}, nil
}

// Run is Live: it returns when ctx is cancelled (after the final write) or
// on a fatal error.
func (r *LiveRunner) Run(ctx context.Context) error { return r.l.run(ctx) }

// Feed runs lines of a stream source through the pipeline and returns nil
// once their events are stored. Safe for concurrent use with Run.
func (r *LiveRunner) Feed(ctx context.Context, source string, lines []parse.Line) error {
	return r.l.Feed(ctx, source, lines)
}

// RuleStats are the engine's cumulative per-rule counters, and each rule's
// severity (for server.Metrics.UpdateRules).
func (r *LiveRunner) RuleStats() ([]detect.RuleStats, map[string]string) {
	r.l.mu.Lock()
	stats, rules := r.l.eng.Stats(), r.l.rules
	r.l.mu.Unlock()
	sev := make(map[string]string, len(rules.Rules))
	for _, ru := range rules.Rules {
		sev[ru.ID] = ru.Severity
	}
	return stats, sev
}

// ReloadRules loads the rules again (the built-in pack, RulePaths, and
// sources in place of RuleSources) and swaps them in between two batches.
// The detection state carries over: windows and baselines of rules that
// still exist with the same kind continue; new rules start empty. On an
// error the running rules stay as they were.
func (r *LiveRunner) ReloadRules(sources []detect.Source) (int, error) {
	return r.l.reloadRules(sources)
}

func (l *live) reloadRules(sources []detect.Source) (int, error) {
	rs, err := detect.Load(append(append([]detect.Source{BuiltinSource()}, detect.PathSources(l.opts.RulePaths...)...), sources...)...)
	if err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var buf bytes.Buffer
	if err := l.eng.SaveState(&buf); err != nil {
		return 0, fmt.Errorf("reload rules: carry the detection state over: %w", err)
	}
	eng := detect.NewEngine(rs, detect.Options{LearnUntil: l.opts.LearnUntil})
	if err := eng.LoadState(&buf); err != nil {
		return 0, fmt.Errorf("reload rules: carry the detection state over: %w", err)
	}
	l.eng, l.rules, l.opts.RuleSources = eng, rs, sources
	l.dirty = true
	l.log.Info("rules reloaded", "rules", len(rs.Rules))
	return len(rs.Rules), nil
}

// Committable returns the offset up to which the lines of a redelivering
// stream's file (a Kafka partition) are processed, stored and covered by
// the saved detection state, with no event of theirs held by a parser:
// what the source may commit. Records after it are delivered again after
// a crash, and their events re-created.
func (r *LiveRunner) Committable(source, file string) (int64, bool) {
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	v, ok := r.l.streamSafe[source+"\x00"+file]
	return v, ok
}
