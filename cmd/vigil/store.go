package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/pipeline"
	"github.com/vigildb/vigil/store"
)

// defaultDataDir is where `vigil alerts` and `vigil events` look for the
// store when --data-dir is not given.
const defaultDataDir = "./vigil-data"

// eventBatch is how many events replay hands the store per transaction.
const eventBatch = 1000

// addDataDirFlag adds --data-dir (persistent, so that it may come before or
// after the subcommand) to a command whose subcommands read the store.
func addDataDirFlag(cmd *cobra.Command, dir *string) {
	cmd.PersistentFlags().StringVar(dir, "data-dir", defaultDataDir, "`DIR` holding the Vigil store (written by vigil replay --data-dir or vigil run)")
}

// openExistingStore opens the store in dir for the reading commands; a
// directory without a store is an error that says how to make one, rather
// than an empty store created by mistake.
func openExistingStore(dir string) (*store.Store, error) {
	if _, err := osStat(filepath.Join(dir, store.FileName)); err != nil {
		return nil, fmt.Errorf("no Vigil data in %s: run `vigil replay --data-dir %s …` or `vigil run` first", dir, dir)
	}
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	return st, nil
}

// parseWhen reads --since/--until: a duration back from now (90s, 30m, 1h,
// 2d with d = 24h) or a time (pipeline.ParseTime: RFC 3339 or
// 'YYYY-MM-DD[ HH:MM[:SS]]' in UTC). "" is the zero time (no bound).
func parseWhen(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, ok := parseAgo(s); ok {
		return now.Add(-d), nil
	}
	t, err := pipeline.ParseTime(s)
	if err != nil {
		return time.Time{}, usageErr("--%s: cannot read %q: give a duration back from now (30m, 1h, 2d) or a time (2026-11-20T00:00:00Z, '2026-11-20 00:00:00' UTC)", flag, s)
	}
	return t, nil
}

// parseAgo reads a non-negative duration, with "d" for days.
func parseAgo(s string) (time.Duration, bool) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) || n > 100*365 {
			return 0, false
		}
		return time.Duration(n * 24 * float64(time.Hour)), true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, false
	}
	return d, true
}

// limitArg turns --limit into a store limit: 0 means all.
func limitArg(n int) (int, error) {
	switch {
	case n < 0:
		return 0, usageErr("--limit must be 0 (all) or more, not %d", n)
	case n == 0:
		return math.MaxInt32, nil
	}
	return n, nil
}

// replayStore writes what a replay sees into the store: the events in
// batches as they pass (from pipeline.Options.OnEvent), the alerts at the end.
type replayStore struct {
	dir     string
	st      *store.Store
	ctx     context.Context
	cancel  context.CancelCauseFunc
	pending []*event.Event
	err     error // the first write error; later events are dropped
}

func openReplayStore(ctx context.Context, dir string) (*replayStore, context.Context, error) {
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		return nil, ctx, fmt.Errorf("store %s: %w", dir, err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	return &replayStore{dir: dir, st: st, ctx: ctx, cancel: cancel, pending: make([]*event.Event, 0, eventBatch)}, ctx, nil
}

// onEvent is the pipeline's OnEvent: it runs on the pipeline's consumer
// goroutine, in order. A failed write stops the replay (through the context).
func (r *replayStore) onEvent(ev *event.Event) {
	if r.err != nil {
		return
	}
	r.pending = append(r.pending, ev)
	if len(r.pending) >= eventBatch {
		r.flush()
	}
}

func (r *replayStore) flush() {
	if r.err != nil || len(r.pending) == 0 {
		return
	}
	// AppendEvents encodes the events before it returns, so the batch's
	// slice can be reused and the events may change afterwards.
	if err := r.st.AppendEvents(r.ctx, r.pending, nil); err != nil {
		r.err = fmt.Errorf("store %s: %w", r.dir, err)
		r.cancel(r.err)
	}
	r.pending = r.pending[:0]
}

// finish stores the remaining events and the final alerts.
func (r *replayStore) finish(alerts []*event.Alert) error {
	r.flush()
	if r.err != nil {
		return r.err
	}
	if err := r.st.UpsertAlerts(r.ctx, alerts); err != nil {
		return fmt.Errorf("store %s: %w", r.dir, err)
	}
	return nil
}

// close closes the store; it returns the write error that stopped the
// replay, if any, in preference to replayErr (which is then only its echo).
func (r *replayStore) close(replayErr error) error {
	r.cancel(nil)
	cerr := r.st.Close()
	if r.err != nil {
		return r.err
	}
	if replayErr != nil {
		return replayErr
	}
	if cerr != nil {
		return fmt.Errorf("store %s: %w", r.dir, cerr)
	}
	return nil
}

// notFound rewrites the store's not-found error for the CLI.
func notFound(err error, id, dir string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no alert %s in %s (see `vigil alerts list --data-dir %s`)", id, dir, dir)
	}
	return err
}

// summary says what the store holds now, for the replay summary.
func (r *replayStore) summary() string {
	s, err := r.st.Stats(r.ctx)
	if err != nil {
		return fmt.Sprintf("store %s: written (%v)", r.dir, err)
	}
	return fmt.Sprintf("store %s: %s events, %d alerts (%d open, %d ack, %d resolved) in all (a replay never stores an event or alert twice)",
		r.dir, thousands(s.Events), s.Alerts[store.StatusOpen]+s.Alerts[store.StatusAck]+s.Alerts[store.StatusResolved],
		s.Alerts[store.StatusOpen], s.Alerts[store.StatusAck], s.Alerts[store.StatusResolved])
}
