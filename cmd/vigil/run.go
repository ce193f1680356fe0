package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vigildb/vigil/pipeline"
	"github.com/vigildb/vigil/store"
)

type runFlags struct {
	watch       []string
	inputFormat string
	prefix      string
	rules       []string
	learnUntil  string
	dataDir     string
	source      string
	server      string
	fromEnd     bool
	verbose     bool
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run --watch GLOB [--watch GLOB ...]",
		Short: "Tail PostgreSQL log files and raise alerts as they happen (foreground daemon)",
		Long: `Run tails the PostgreSQL log files matched by the --watch globs and runs every
new line through the same pipeline as replay — parse, mask secrets, classify,
detect — storing the masked events, the alerts and the read position of each
file in the store at --data-dir, one transaction per batch of lines.

It survives restarts: files are resumed where the last stored batch ended
(renamed and copytruncate'd files are followed by identity), and the
detection engine's windows and baselines are saved with the batches and at
shutdown. A batch is acknowledged only once it is stored; a failed write
(disk full ...) is logged and retried, and the tailer waits meanwhile. After a
crash (not a clean stop) a login or statement the parser was still holding
(at most a few seconds' worth) is not emitted, and the engine's windows lack
the events stored since its last state save (every 10s).

SIGINT or SIGTERM stop it cleanly. Logs go to standard error; read the alerts
with ` + "`vigil alerts list`" + ` (it may run while vigil run writes).`,
		Example: `  vigil run --watch '/var/log/postgresql/*.csv' --data-dir /var/lib/vigil
  vigil run --watch '/var/log/postgresql/postgresql-*.log' --log-line-prefix '%m [%p] %q%u@%d '`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runRun(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.watch, "watch", nil, "glob of log files to tail (repeatable, required)")
	fl.StringVar(&f.inputFormat, "input-format", "auto", "input format: auto, stderr, csvlog, jsonlog, events (NDJSON events)")
	fl.StringVar(&f.prefix, "log-line-prefix", "", "log_line_prefix of stderr logs, as in postgresql.conf (default: detected)")
	fl.StringArrayVar(&f.rules, "rules", nil, "rule file or directory to add or override rules (repeatable)")
	fl.StringVar(&f.learnUntil, "learn-until", "", "end the learning period of first-seen rules at this time (RFC 3339 or 'YYYY-MM-DD HH:MM:SS', UTC)")
	fl.StringVar(&f.dataDir, "data-dir", defaultDataDir, "`DIR` of the Vigil store (created if needed)")
	fl.StringVar(&f.source, "source-name", "file", "source.name of the events, and the key of the saved read positions")
	fl.StringVar(&f.server, "server", "", "server.address to record on events that lack one")
	fl.BoolVar(&f.fromEnd, "from-end", false, "start files seen for the first time at their end rather than their start")
	fl.BoolVar(&f.verbose, "verbose", false, "log debug messages (unparsed lines ...)")
	return cmd
}

func runRun(cmd *cobra.Command, f runFlags) error {
	if len(f.watch) == 0 {
		return usageErr("give at least one --watch GLOB (e.g. --watch '/var/log/postgresql/*.csv')")
	}
	for _, w := range f.watch {
		if _, err := filepath.Match(w, ""); err != nil {
			return usageErr("bad --watch pattern %q: %v", w, err)
		}
	}
	opts := pipeline.LiveOptions{Patterns: f.watch}
	opts.RulePaths, opts.LogLinePrefix, opts.SourceName, opts.ServerAddress, opts.FromEnd = f.rules, f.prefix, f.source, f.server, f.fromEnd
	var err error
	if opts.InputFormat, opts.LearnUntil, err = inputFlags(f.inputFormat, f.learnUntil); err != nil {
		return err
	}
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	opts.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))

	st, err := store.Open(f.dataDir, store.Options{})
	if err != nil {
		return fmt.Errorf("store %s: %w", f.dataDir, err)
	}
	opts.Store = st
	opts.Logger.Info("vigil run: starting", "version", version, "data_dir", f.dataDir, "store", st.Path())

	ctx, stop := signal.NotifyContext(cmdContext(cmd), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runErr := pipeline.Live(ctx, opts)
	if err := st.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("store %s: %w", f.dataDir, err)
	}
	return runErr
}

func cmdContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
