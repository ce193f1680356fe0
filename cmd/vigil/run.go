package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/vigildb/vigil/config"
	"github.com/vigildb/vigil/notify"
	"github.com/vigildb/vigil/parse"
	"github.com/vigildb/vigil/pipeline"
	"github.com/vigildb/vigil/server"
	"github.com/vigildb/vigil/source/kafka"
	"github.com/vigildb/vigil/source/syslog"
	"github.com/vigildb/vigil/store"
)

type runFlags struct {
	config      string
	watch       []string
	inputFormat string
	prefix      string
	timezone    string
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
		Use:   "run {-c FILE | --watch GLOB [--watch GLOB ...]}",
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
crash (not a clean stop) the files are read again from the positions saved
with the detection state (every 250 ms), including the lines of a login or
statement the parser was still holding: no event is lost, none is stored or
counted twice. Lines no parser understands are counted and quarantined
(` + "`vigil events unparsed`" + `).

SIGINT or SIGTERM stop it cleanly; SIGHUP reloads the rules (with -c, the
rule files and lists of the config too; other settings need a restart). The
store's retention (config: store.retention) runs at start and every hour.
Logs go to standard error; read the alerts with ` + "`vigil alerts list`" + ` (it may
run while vigil run writes).`,
		Example: `  vigil run -c /etc/vigil/vigil.yaml
  vigil run --watch '/var/log/postgresql/*.csv' --data-dir /var/lib/vigil
  vigil run --watch '/var/log/postgresql/postgresql-*.log' --log-line-prefix '%m [%p] %q%u@%d '`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runRun(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.config, "config", "c", "", "run the sources, rules, store and HTTP listener of this configuration `FILE` (instead of --watch)")
	fl.StringArrayVar(&f.watch, "watch", nil, "glob of log files to tail (repeatable; required without -c)")
	fl.StringVar(&f.inputFormat, "input-format", "auto", "input format: auto, stderr, csvlog, jsonlog, events (NDJSON events)")
	fl.StringVar(&f.prefix, "log-line-prefix", "", "log_line_prefix of stderr logs, as in postgresql.conf (default: detected)")
	fl.StringVar(&f.timezone, "timezone", "", timezoneUsage)
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
	if f.config != "" {
		if len(f.watch) > 0 {
			return usageErr("give either -c FILE or --watch GLOB, not both")
		}
		return runConfig(cmd, f.config)
	}
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
	if opts.Location, err = timezoneFlag(f.timezone); err != nil {
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

	runner, err := pipeline.NewLive(opts)
	if err != nil {
		st.Close()
		return err
	}
	ctx, stop := signal.NotifyContext(cmdContext(cmd), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go reloadOnHUP(ctx, opts.Logger, func() error {
		_, err := runner.ReloadRules(nil)
		return err
	})
	runErr := runner.Run(ctx)
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

// runConfig is `vigil run -c FILE`: every source of the config (file
// sources through the tailer, http sources through the listener's ingest
// route, syslog sources through a receiver each) feeds one live pipeline.
func runConfig(cmd *cobra.Command, path string) error {
	cfg, err := config.Load(path)
	if err != nil {
		var errs config.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				fmt.Fprintln(cmd.ErrOrStderr(), e.Error())
			}
			return &exitError{code: 1, msg: fmt.Sprintf("%s: %d problem(s)", path, len(errs))}
		}
		return err
	}
	logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: cfg.SlogLevel()}))
	opts := pipeline.LiveOptions{RuleSources: cfg.RuleSources(), Logger: logger}
	opts.LearnUntil = cfg.LearnUntil
	opts.Retention = store.Retention{MaxAge: cfg.Store.Retention.MaxAge, MaxBytes: cfg.Store.Retention.MaxSize}
	var syslogs, kafkas []config.Source
	httpSources := map[string]bool{}
	ingestPaths := map[string]string{} // URL path -> http source
	for _, s := range cfg.Sources {
		switch s.Type {
		case config.TypeFile:
			opts.Files = append(opts.Files, pipeline.FileSource{
				Name: s.Name, Patterns: s.Paths, InputFormat: s.Format, LogLinePrefix: s.LogLinePrefix, Location: s.Location,
				ServerAddress: cfg.SourceServerAddress(s), FromEnd: s.FromEnd, PollInterval: s.PollInterval,
				MaxLineBytes: int(s.MaxLineBytes), ReadGzip: s.ReadGzip,
			})
		case config.TypeHTTP:
			httpSources[s.Name] = true
			ingestPaths[s.Path] = s.Name
			opts.Streams = append(opts.Streams, pipeline.StreamSource{
				Name: s.Name, InputFormat: s.Format, LogLinePrefix: s.LogLinePrefix, Location: s.Location, ServerAddress: cfg.SourceServerAddress(s),
			})
		case config.TypeKafka:
			kafkas = append(kafkas, s)
			// Offsets are stable across restarts: event ids from them
			// let the store drop records delivered twice, and within a
			// run Feed does not parse them again.
			opts.Streams = append(opts.Streams, pipeline.StreamSource{
				Name: s.Name, InputFormat: s.Format, LogLinePrefix: s.LogLinePrefix, Location: s.Location, ServerAddress: cfg.SourceServerAddress(s),
				Redelivers: true,
			})
		case config.TypeSyslog:
			syslogs = append(syslogs, s)
			// The syslog format is the header's; the lines are detected.
			opts.Streams = append(opts.Streams, pipeline.StreamSource{
				// timezone is the receiver's (RFC 3164 headers); the lines
				// it passes on carry zones (server_audit's are put in UTC).
				Name: s.Name, LogLinePrefix: s.LogLinePrefix, ServerAddress: cfg.SourceServerAddress(s), PerRunIDs: true,
			})
		}
	}
	if len(httpSources) > 0 && !cfg.HTTP.Enabled() {
		return &exitError{code: 1, msg: path + ": http sources need the http listener (http.listen)"}
	}

	var (
		reg     *prometheus.Registry
		metrics *server.Metrics
	)
	if cfg.HTTP.Enabled() {
		reg = prometheus.NewRegistry()
		if metrics, err = server.NewMetrics(reg); err != nil {
			return err
		}
		opts.Metrics = metrics
	}
	var ready atomic.Bool
	opts.OnStarted = func() { ready.Store(true) }

	st, err := store.Open(cfg.DataDir, store.Options{})
	if err != nil {
		return fmt.Errorf("store %s: %w", cfg.DataDir, err)
	}
	defer st.Close()
	opts.Store = st
	runner, err := pipeline.NewLive(opts)
	if err != nil {
		return err
	}
	// The notifier starts before the pipeline writes: on a new store it
	// places its cursor after the alerts already there.
	var notifier *notify.Service
	if nc := notify.FromConfig(cfg); nc.Enabled() {
		if notifier, err = notify.New(nc, st, notify.Options{Logger: logger, Version: version}); err != nil {
			return err
		}
		if reg != nil {
			for _, c := range notifier.Collectors() {
				if err := reg.Register(c); err != nil {
					return fmt.Errorf("metrics: %w", err)
				}
			}
		}
	}
	logger.Info("vigil run: starting", "version", version, "config", cfg.File, "data_dir", cfg.DataDir, "store", st.Path(), "sources", len(cfg.Sources))

	ctx, stop := signal.NotifyContext(cmdContext(cmd), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Everything started here stops when the pipeline stops.
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()

	var srv *server.Server
	if cfg.HTTP.Enabled() {
		so := server.Options{
			Listen: cfg.HTTP.Listen, Token: cfg.HTTP.Token.Value(), Insecure: cfg.HTTP.Insecure,
			Logger: logger, Registry: reg, Metrics: metrics,
			Ready: func() error {
				if !ready.Load() {
					return errors.New("starting")
				}
				return nil
			},
		}
		if cfg.HTTP.TLS != nil {
			so.TLSCert, so.TLSKey = cfg.HTTP.TLS.CertFile, cfg.HTTP.TLS.KeyFile
		}
		if len(httpSources) > 0 {
			so.IngestPaths = ingestPaths
			so.Ingest = func(ctx context.Context, source string, lines []parse.Line) error {
				if !httpSources[source] {
					return fmt.Errorf("no http source %q", source)
				}
				return runner.Feed(ctx, source, lines)
			}
		}
		if srv, err = server.New(so); err != nil {
			return err
		}
		if err := srv.Start(ctx); err != nil {
			return err
		}
		defer func() {
			sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer scancel()
			_ = srv.Shutdown(sctx)
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			updateMetrics(ctx, runner, st, metrics, logger)
		}()
	}

	for _, s := range syslogs {
		so := syslog.Options{
			Source: s.Name, Listen: s.Listen, Insecure: s.Insecure, Logger: logger, Location: s.Location,
			Handler: func(ctx context.Context, b syslog.Batch) error {
				// Feed retries failed writes until ctx ends; then what it
				// processed is written at shutdown. A batch it refuses
				// (unreadable format) is logged there and skipped.
				_ = runner.Feed(ctx, b.Source, b.Lines)
				return nil
			},
		}
		if s.TLS != nil {
			so.TLSCert, so.TLSKey = s.TLS.CertFile, s.TLS.KeyFile
		}
		rcv, err := syslog.New(so)
		if err != nil {
			return fmt.Errorf("source %s: %w", s.Name, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer rcv.Close()
			if err := rcv.Run(ctx); err != nil && ctx.Err() == nil {
				logger.Error("syslog source stopped", "source", s.Name, "err", err)
				cancel()
			}
		}()
	}

	if notifier != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := notifier.Run(ctx); err != nil && ctx.Err() == nil {
				logger.Error("notifier stopped", "err", err)
			}
		}()
	}
	for _, s := range kafkas {
		ko := kafka.Options{
			Name: s.Name, Brokers: s.Brokers, Topics: s.Topics, Group: s.Group,
			ConnectionString: s.ConnectionString.Value(), StartFrom: s.StartFrom, Logger: logger,
			TLS:  kafka.TLS{Enable: s.KafkaTLS, CAFile: s.CAFile},
			SASL: kafka.SASL{User: s.SASLUser, Password: s.SASLPassword.Value()},
		}
		name := s.Name
		ko.Committable = func(file string) (int64, bool) { return runner.Committable(name, file) }
		src, err := kafka.New(ko, func(ctx context.Context, lines []parse.Line) error { return runner.Feed(ctx, name, lines) })
		if err != nil {
			return fmt.Errorf("source %s: %w", s.Name, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := src.Run(ctx); err != nil && ctx.Err() == nil {
				logger.Error("kafka source stopped", "source", name, "err", err)
				cancel()
			}
		}()
	}

	go reloadOnHUP(ctx, logger, func() error {
		next, err := config.Load(path)
		if err != nil {
			return err
		}
		_, err = runner.ReloadRules(next.RuleSources())
		return err
	})

	runErr := runner.Run(ctx)
	cancel()
	return runErr
}

// reloadOnHUP calls reload at each SIGHUP until ctx ends. A reload that
// fails is logged and the running rules stay.
func reloadOnHUP(ctx context.Context, log *slog.Logger, reload func() error) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			log.Info("SIGHUP: reloading the rules (and, with -c, the rule files and lists of the config; other settings need a restart)")
			if err := reload(); err != nil {
				log.Error("rule reload failed: the running rules stay", "err", err)
			}
		}
	}
}

// updateMetrics brings the rule counters up to date every few seconds and
// the store gauges every 15 s, until ctx ends.
func updateMetrics(ctx context.Context, runner *pipeline.LiveRunner, st *store.Store, m *server.Metrics, log *slog.Logger) {
	storeStats := func() {
		s, err := st.Stats(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("store stats", "err", err)
			}
			return
		}
		m.UpdateStore(s)
	}
	m.UpdateRules(runner.RuleStats())
	storeStats()
	tk := time.NewTicker(5 * time.Second)
	defer tk.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		m.UpdateRules(runner.RuleStats())
		if n%3 == 0 {
			storeStats()
		}
	}
}
