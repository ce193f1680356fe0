package main

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/vigildb/vigil/config"
	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/pipeline"
)

type replayFlags struct {
	inputFormat string
	prefix      string
	timezone    string
	learnUntil  string
	rules       []string
	format      string
	failOn      string
	server      string
	noProgress  bool
	dataDir     string
}

func newReplayCmd() *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay [FILE|GLOB ...]",
		Short: "Run PostgreSQL log files through detection and print the alerts",
		Long: `Replay reads PostgreSQL log files (or standard input) through the same pipeline
the live daemon runs — parse, mask secrets, classify every statement, detect —
and prints the alerts they raise. Event time drives every window, so a replay of
last month's logs gives the alerts the live system would have given.

Inputs are read in the order given (list rotated files oldest first). The format
of each input is detected (stderr with the common log_line_prefix values, csvlog,
jsonlog, NDJSON events); gzip'd files are read as they are. For stderr logs with
a custom prefix, pass log_line_prefix exactly as postgresql.conf has it.

Lines no parser understands are counted and reported with file:line; they never
stop the replay.

With --data-dir DIR the replay also stores every event (masked: the audit trail)
and the final alerts in the Vigil store at DIR (created if needed), for
` + "`vigil alerts`" + ` and ` + "`vigil events`" + `. Replaying the same file again into the same
store adds nothing twice: events are stored once by id, alert ids are stable.

Output: a table on a terminal, NDJSON (one alert per line, the alert shape of
docs/alerts.md) otherwise; --format overrides. A summary goes to standard error.

Exit status: 0, or 3 when --fail-on is given and an alert at or above that
severity fired, 1 on errors, 2 on bad usage.`,
		Example: `  vigil replay /var/log/postgresql/postgresql-15-main.log
  vigil replay '/var/log/postgresql/*.csv'
  vigil replay --log-line-prefix '%t:%r:%u@%d:[%p]:' postgresql.log.2026-11-01-00
  vigil replay --timezone Europe/Berlin /var/log/mysql/server_audit.log
  vigil replay --format ndjson pg.log > alerts.ndjson
  zcat pg.log.gz | vigil replay -
  vigil replay --learn-until 2026-11-20T00:00:00Z --fail-on high pg.csv
  vigil replay --data-dir ./vigil-data pg.log && vigil alerts list`,
		RunE: func(cmd *cobra.Command, args []string) error { return runReplay(cmd, args, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.inputFormat, "input-format", "auto", "input format: auto (detect), stderr, csvlog, jsonlog, events (Vigil NDJSON), or a registered format (the error for a wrong name lists them)")
	fl.StringVar(&f.prefix, "log-line-prefix", "", "log_line_prefix of stderr logs, as in postgresql.conf (default: detected)")
	fl.StringVar(&f.timezone, "timezone", "", timezoneUsage)
	fl.StringVar(&f.learnUntil, "learn-until", "", "end the learning period of first-seen rules at this time (RFC 3339 or 'YYYY-MM-DD HH:MM:SS', UTC)")
	fl.StringArrayVar(&f.rules, "rules", nil, "rule file or directory to add or override rules (repeatable)")
	fl.StringVar(&f.format, "format", "", "output format: table, json, ndjson (default: table on a terminal, ndjson otherwise)")
	fl.StringVar(&f.failOn, "fail-on", "", "exit with status 3 if an alert of this severity or above fired (info, low, medium, high, critical)")
	fl.StringVar(&f.server, "server", "", "server.address to record on events (default: the input file name)")
	fl.BoolVar(&f.noProgress, "no-progress", false, "no progress bar, even on a terminal")
	fl.StringVar(&f.dataDir, "data-dir", "", "also store the events and alerts in the Vigil store in this directory (created if needed)")
	return cmd
}

func runReplay(cmd *cobra.Command, args []string, f replayFlags) error {
	opts := pipeline.Options{RulePaths: f.rules, ServerAddress: f.server, LogLinePrefix: f.prefix}
	var err error
	if opts.InputFormat, opts.LearnUntil, err = inputFlags(f.inputFormat, f.learnUntil); err != nil {
		return err
	}
	if opts.Location, err = timezoneFlag(f.timezone); err != nil {
		return err
	}
	if f.failOn != "" && event.SeverityRank(f.failOn) == 0 {
		return usageErr("--fail-on must be one of info, low, medium, high, critical, not %q", f.failOn)
	}
	stdout := cmd.OutOrStdout()
	outFormat, err := outputFormat(f.format, stdout)
	if err != nil {
		return err
	}

	inputs, closeAll, err := openInputs(args, cmd.InOrStdin())
	if err != nil {
		return err
	}
	defer closeAll()

	var total int64
	for _, in := range inputs {
		if in.Size < 0 {
			total = -1
			break
		}
		total += in.Size
	}
	stderr := cmd.ErrOrStderr()
	if !f.noProgress && isTerminal(stderr) && (total < 0 || total > 8<<20) {
		p := newProgress(stderr, total)
		opts.Progress = p.update
		defer p.done()
	}

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	var rs *replayStore
	if f.dataDir != "" {
		if rs, ctx, err = openReplayStore(ctx, f.dataDir); err != nil {
			return err
		}
		opts.SourceName = "replay"
		opts.OnEvent = rs.onEvent
	}
	start := time.Now()
	res, err := pipeline.Replay(ctx, opts, inputs...)
	var stats string
	if rs != nil {
		if err == nil {
			err = rs.finish(res.Alerts)
		}
		if err == nil {
			stats = rs.summary()
		}
		err = rs.close(err)
	}
	if err != nil {
		return err
	}
	if opts.Progress != nil {
		opts.Progress(-1)
	}
	if err := writeAlerts(stdout, outFormat, res.Alerts); err != nil {
		return fmt.Errorf("write alerts: %w", err)
	}
	writeSummary(stderr, res, len(inputs), time.Since(start))
	if stats != "" {
		fmt.Fprintln(stderr, stats)
	}
	if f.failOn != "" {
		limit := event.SeverityRank(f.failOn)
		for _, a := range res.Alerts {
			if event.SeverityRank(a.Severity) >= limit {
				return &exitError{code: 3, msg: fmt.Sprintf("alerts at or above %s fired (--fail-on)", f.failOn)}
			}
		}
	}
	return nil
}

// openInputs opens files, expands globs the shell left alone, and reads
// standard input for "-" or no arguments. Gzip'd inputs are decompressed.
func openInputs(args []string, stdin io.Reader) ([]pipeline.Input, func(), error) {
	var inputs []pipeline.Input
	var closers []io.Closer
	closeAll := func() {
		for _, c := range closers {
			c.Close()
		}
	}
	if len(args) == 0 {
		args = []string{"-"}
	}
	var names []string
	for _, a := range args {
		if a == "-" {
			names = append(names, a)
			continue
		}
		if _, err := os.Stat(a); err == nil || !strings.ContainsAny(a, "*?[") {
			names = append(names, a)
			continue
		}
		matches, err := filepath.Glob(a)
		if err != nil {
			return nil, closeAll, usageErr("bad pattern %q: %v", a, err)
		}
		if len(matches) == 0 {
			return nil, closeAll, fmt.Errorf("no file matches %s", a)
		}
		sort.Strings(matches)
		names = append(names, matches...)
	}
	for _, name := range names {
		if name == "-" {
			r, err := maybeGunzip(bufio.NewReaderSize(stdin, 1<<20))
			if err != nil {
				return nil, closeAll, fmt.Errorf("stdin: %w", err)
			}
			inputs = append(inputs, pipeline.Input{Name: "stdin", R: r, Size: -1})
			continue
		}
		fh, err := os.Open(name)
		if err != nil {
			closeAll()
			return nil, func() {}, err
		}
		closers = append(closers, fh)
		st, err := fh.Stat()
		if err != nil {
			closeAll()
			return nil, func() {}, fmt.Errorf("stat %s: %w", name, err)
		}
		if st.IsDir() {
			closeAll()
			return nil, func() {}, fmt.Errorf("%s is a directory (give the files, e.g. '%s/*.csv')", name, name)
		}
		br := bufio.NewReaderSize(fh, 1<<20)
		r, err := maybeGunzip(br)
		if err != nil {
			closeAll()
			return nil, func() {}, fmt.Errorf("%s: %w", name, err)
		}
		size := st.Size()
		if r != io.Reader(br) {
			size = -1 // compressed: the decompressed size is unknown
		}
		inputs = append(inputs, pipeline.Input{Name: name, R: r, Size: size})
	}
	return inputs, closeAll, nil
}

// maybeGunzip returns a gzip reader when r starts with the gzip magic bytes.
func maybeGunzip(r *bufio.Reader) (io.Reader, error) {
	magic, err := r.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	}
	return r, nil
}

// inputFlags checks --input-format and --learn-until, shared by replay and run.
func inputFlags(format, learnUntil string) (string, time.Time, error) {
	var lu time.Time
	if format == "auto" {
		format = ""
	}
	if format != "" && !slices.Contains(pipeline.Formats(), format) {
		return "", lu, usageErr("--input-format must be auto or one of %s, not %q", strings.Join(pipeline.Formats(), ", "), format)
	}
	if learnUntil != "" {
		t, err := pipeline.ParseTime(learnUntil)
		if err != nil {
			return "", lu, usageErr("--learn-until: %v", err)
		}
		lu = t
	}
	return format, lu, nil
}

func usageErr(format string, a ...any) error {
	return &exitError{code: 2, msg: fmt.Sprintf(format, a...)}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

const timezoneUsage = "time zone of log timestamps written without one (MariaDB server_audit, MySQL general and error logs): an IANA name such as Europe/Berlin, UTC or Local (default: UTC)"

// timezoneFlag checks --timezone, shared by replay and run.
func timezoneFlag(name string) (*time.Location, error) {
	loc, err := config.LoadTimezone(name)
	if err != nil {
		return nil, usageErr("--timezone: %v", err)
	}
	return loc, nil
}
