package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/vigildb/vigil/detect"
	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
	"github.com/vigildb/vigil/source/file"
	"github.com/vigildb/vigil/store"
)

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
	// first batch written StateEvery (default 10s) after the last save or
	// after StateBatches (default 100) batches, whichever comes first, and
	// at shutdown.
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
//     until IdleFlush) and buffers an incomplete multi-line record; the
//     lines they came from are already committed, so after a crash those
//     events are never emitted. A clean stop flushes the parsers first.
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

type liveParser struct {
	p    parse.Parser
	name string // the stable name event ids are made from
	path string // the file's path, as last seen
	last time.Time
	held bool // lines were parsed since the last flush
}

type live struct {
	opts LiveOptions
	log  *slog.Logger
	st   *store.Store
	eng  *detect.Engine
	// storeWrite is st.Write (a test hook: failing writes).
	storeWrite func(context.Context, store.Batch) error
	cls        classifier

	mu       sync.Mutex // serializes the Handler and the ticks
	parsers  map[file.Identity]*liveParser
	events   []*event.Event // processed, not yet written
	alerts   []*event.Alert // cloned, not yet written
	alertIx  map[string]int // alert id -> index in alerts
	logged   map[string]bool
	lastSave time.Time
	batches  int // since the last state save
	dirty    bool
	failed   bool // a batch the engine saw was not committed
	stats    liveStats
}

func newLive(opts LiveOptions) (*live, error) {
	if opts.Store == nil {
		return nil, errors.New("live: no store")
	}
	if len(opts.Patterns) == 0 {
		return nil, errors.New("live: no file patterns to watch")
	}
	if opts.SourceName == "" {
		opts.SourceName = "file"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.StateEvery <= 0 {
		opts.StateEvery = 10 * time.Second
	}
	if opts.StateBatches <= 0 {
		opts.StateBatches = 100
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
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(30*time.Second, opts.RetryMin)
	}
	if opts.InputFormat != "" {
		if _, err := newParser(opts.InputFormat, opts.LogLinePrefix); err != nil {
			return nil, err
		}
	}
	rs, err := LoadRules(opts.RulePaths)
	if err != nil {
		return nil, err
	}
	return &live{
		storeWrite: opts.Store.Write,
		opts:       opts,
		log:        opts.Logger,
		st:         opts.Store,
		eng:        detect.NewEngine(rs.RuleSet, detect.Options{LearnUntil: opts.LearnUntil}),
		cls:        newClassifier(),
		parsers:    map[file.Identity]*liveParser{},
		alertIx:    map[string]int{},
		logged:     map[string]bool{},
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
	}
	saved, err := l.st.Checkpoints(ctx, l.opts.SourceName)
	if err != nil {
		return err
	}
	var cps []file.Checkpoint
	for _, c := range saved {
		var cp file.Checkpoint
		if err := json.Unmarshal(c.Data, &cp); err != nil {
			l.log.Error("unreadable checkpoint: the file is read again from the start", "source", c.Source, "file", c.File, "err", err)
			continue
		}
		cps = append(cps, cp)
	}
	l.lastSave = l.opts.Now()

	t, err := file.New(file.Options{
		Source:       l.opts.SourceName,
		Patterns:     l.opts.Patterns,
		Handler:      l.handle,
		Checkpoints:  cps,
		FromEnd:      l.opts.FromEnd,
		PollInterval: l.opts.PollInterval,
		Logger:       l.log,
	})
	if err != nil {
		return err
	}
	l.log.Info("vigil run: watching", "patterns", l.opts.Patterns, "source", l.opts.SourceName, "checkpoints", len(cps))

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
	runErr := t.Run(ctx)
	stopTicks()
	<-tickDone
	finErr := l.shutdown()
	if runErr != nil {
		l.log.Error("file source stopped", "err", runErr)
	}
	return errors.Join(runErr, finErr)
}

// handle is the tailer's Handler: it returns nil once the batch is stored.
func (l *live) handle(ctx context.Context, b file.Batch) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	lp := l.parsers[b.Identity]
	if lp == nil && len(b.Lines) > 0 {
		var err error
		if lp, err = l.newFileParser(b); err != nil {
			l.log.Error("cannot read file", "path", b.Lines[0].File, "err", err)
			return err
		}
		l.parsers[b.Identity] = lp
	}
	if lp != nil {
		emit := l.emitter(lp)
		for _, ln := range b.Lines {
			lp.path = ln.File
			ln.File = lp.name
			if err := lp.p.Parse(ln, emit); err != nil {
				l.stats.Unparsed++
				l.log.Debug("unparsed line", "path", lp.path, "line", ln.No, "err", err)
			}
		}
		lp.last, lp.held = l.opts.Now(), len(b.Lines) > 0 || lp.held
		if b.Final {
			lp.p.Flush(emit)
			delete(l.parsers, b.Identity)
		}
	}
	l.stats.Batches++
	l.stats.Lines += int64(len(b.Lines))
	cpData, err := json.Marshal(b.Checkpoint)
	if err != nil {
		return err
	}
	cp := store.Checkpoint{Source: l.opts.SourceName, File: b.Identity.String(), Data: cpData}
	l.batches++
	for attempt, wait := 1, l.opts.RetryMin; ; attempt++ {
		err := l.write(ctx, []store.Checkpoint{cp}, l.stateDue())
		if err == nil {
			if attempt > 1 {
				l.log.Info("store write succeeded after retries", "attempts", attempt)
			}
			return nil
		}
		l.stats.WriteErrors++
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

// newFileParser makes the parser of a file not seen before (or resumed
// after a restart), detecting its format from its first bytes on disk or,
// failing that, from the batch's lines.
func (l *live) newFileParser(b file.Batch) (*liveParser, error) {
	path := b.Lines[0].File
	var head []byte
	if b.Lines[0].Offset > 0 {
		if f, err := os.Open(path); err == nil {
			head, _ = io.ReadAll(io.LimitReader(f, 64<<10))
			f.Close()
		}
	}
	format, prefix, err := detectFormat(head, l.opts.InputFormat, l.opts.LogLinePrefix)
	if len(head) == 0 || err != nil {
		var buf []byte
		for _, ln := range b.Lines {
			if len(buf) > 64<<10 {
				break
			}
			buf = append(append(buf, ln.Text...), '\n')
		}
		format, prefix, err = detectFormat(buf, l.opts.InputFormat, l.opts.LogLinePrefix)
	}
	if err != nil {
		return nil, err
	}
	p, err := newParser(format, prefix)
	if err != nil {
		return nil, err
	}
	l.log.Info("reading file", "path", path, "format", format, "prefix", prefix, "offset", b.Lines[0].Offset, "identity", b.Identity.String())
	// Event ids hash the line's file name and offset: name the file by its
	// identity, which survives renames, rather than by its path.
	return &liveParser{p: p, name: "file:" + b.Identity.String(), path: path}, nil
}

// emitter enriches and detects each event a parser emits, in order.
func (l *live) emitter(lp *liveParser) parse.Emit {
	return func(ev *event.Event) {
		if ev.Log.File == lp.name {
			ev.Log.File = lp.path
		}
		enrich(l.cls, ev, &l.opts.Options)
		l.events = append(l.events, ev)
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
	b := store.Batch{Events: l.events, Checkpoints: cps, Alerts: l.alerts}
	if withState {
		var buf bytes.Buffer
		if err := l.eng.SaveState(&buf); err != nil {
			return fmt.Errorf("save detection state: %w", err)
		}
		b.States = map[string][]byte{StateName: buf.Bytes()}
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := l.storeWrite(wctx, b); err != nil {
		return err
	}
	l.events, l.alerts = l.events[:0], l.alerts[:0]
	clear(l.alertIx)
	if withState {
		l.lastSave, l.batches, l.dirty = l.opts.Now(), 0, false
	}
	return nil
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
			if lp.held && now.Sub(lp.last) >= l.opts.IdleFlush {
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
	}
}

// shutdown flushes every parser and writes what is pending and the engine's
// state, retrying a few times.
func (l *live) shutdown() error {
	l.mu.Lock()
	defer l.mu.Unlock()
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
