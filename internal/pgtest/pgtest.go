// Package pgtest starts a throwaway PostgreSQL 15 server with pgaudit for
// tests: initdb in a temporary directory, loopback-only TCP on a free port, a
// Unix socket inside the directory, and all three log destinations (stderr,
// csvlog, jsonlog) written by the logging collector to fixed file names, so a
// test can act on the server over real connections and then read exactly the
// log lines Vigil will see in production.
//
// The server runs as a non-root user: when the test runs as root (as CI
// does) every server command is run through `runuser -u postgres --`. It is
// stopped by pid when the test ends, also when it fails or panics
// (t.Cleanup). A missing PostgreSQL or pgaudit fails the test with the
// command that installs them; it never skips.
//
// The harness never connects anywhere but 127.0.0.1 and its own socket.
// Clients can pick their loopback source address (127.0.0.2, 127.0.0.3 ...:
// Linux routes all of 127.0.0.0/8 on lo), so one machine can play several
// client hosts.
package pgtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigildb/vigil/internal/testproc"
)

// InstallHint is the command that installs what the harness needs.
const InstallHint = "apt-get install postgresql-15 postgresql-15-pgaudit"

// Superuser is the bootstrap superuser of the cluster. The harness reaches it
// only over the Unix socket in the server's private directory.
const Superuser = "postgres"

// Options configure the server. The zero value is a complete configuration:
// everything logged (log_statement=all, pgaudit.log=all), Debian's default
// log_line_prefix.
type Options struct {
	// BinDir holds initdb, pg_ctl and postgres. Default: $VIGIL_PGBIN, else
	// /usr/lib/postgresql/15/bin.
	BinDir string
	// LogName is log_filename without ".log": the server writes LogName.log
	// (stderr), LogName.csv and LogName.json. Default "postgresql".
	LogName string
	// LogLinePrefix is log_line_prefix. Default "%m [%p] %q%u@%d ".
	LogLinePrefix string
	// LogStatement is log_statement (none, ddl, mod, all). Default "all".
	LogStatement string
	// LogMinDurationStatement is log_min_duration_statement ("0" logs every
	// statement's duration). Default: not set (-1).
	LogMinDurationStatement string
	// PgauditLog is pgaudit.log. Default "all".
	PgauditLog string
	// PgauditLogRelation, PgauditLogParameter and PgauditLogRows turn on
	// pgaudit.log_relation, pgaudit.log_parameter and pgaudit.log_rows.
	PgauditLogRelation  bool
	PgauditLogParameter bool
	PgauditLogRows      bool
	// Settings are more postgresql.conf lines, written as `name = value`
	// with value as given: quote strings yourself ("'on'", "'UTC'").
	Settings map[string]string
	// HBA, when not nil, replaces the default TCP rule of pg_hba.conf
	// ("host all all 127.0.0.0/8 scram-sha-256") with these lines, in order.
	// The harness's own socket rule for the superuser stays first.
	HBA []string
	// LocalPeer makes the harness's socket rule for the superuser "peer"
	// (with an ident map from the OS user running the test) instead of
	// "trust".
	LocalPeer bool
	// SSL generates a self-signed certificate and key in the data directory
	// and turns ssl on.
	SSL bool
	// DataChecksums runs initdb with --data-checksums.
	DataChecksums bool
}

func (o *Options) defaults() {
	if o.BinDir == "" {
		o.BinDir = os.Getenv("VIGIL_PGBIN")
	}
	if o.BinDir == "" {
		o.BinDir = "/usr/lib/postgresql/15/bin"
	}
	if o.LogName == "" {
		o.LogName = "postgresql"
	}
	if o.LogLinePrefix == "" {
		o.LogLinePrefix = "%m [%p] %q%u@%d "
	}
	if o.LogStatement == "" {
		o.LogStatement = "all"
	}
	if o.PgauditLog == "" {
		o.PgauditLog = "all"
	}
}

// LogFiles are the paths of the three files of one log name.
type LogFiles struct {
	Stderr string // NAME.log
	CSV    string // NAME.csv
	JSON   string // NAME.json
}

// All lists the three paths: stderr, csv, json.
func (l LogFiles) All() []string { return []string{l.Stderr, l.CSV, l.JSON} }

// Server is a running PostgreSQL started by Start.
type Server struct {
	// Dir is the server's private temporary directory; DataDir, SocketDir and
	// LogDir are inside it.
	Dir, DataDir, SocketDir, LogDir string

	t       testing.TB
	opts    Options
	runAs   *user.User // nil: run server commands as the current user
	port    int
	pid     int
	logName string

	stopErr  error
	stopOnce sync.Once
}

// Start initializes and starts a server, and registers its stop (and the
// removal of its directory) with t.Cleanup. Any failure is fatal to t, with
// the tail of the server's output. Set VIGIL_PGTEST_KEEP=1 to keep the
// directory (the server is still stopped).
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	opts.defaults()
	s := &Server{t: t, opts: opts, logName: opts.LogName}
	if err := s.checkInstalled(); err != nil {
		t.Fatalf("pgtest: %v\nPostgreSQL 15 and pgaudit are required for this test: %s", err, InstallHint)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("pgtest: running as root and there is no 'postgres' OS user to run the server as (%v); it comes with %s", err, InstallHint)
		}
		s.runAs = u
	}
	reapStale(t)
	if err := s.makeDirs(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if os.Getenv("VIGIL_PGTEST_KEEP") != "" {
			t.Logf("pgtest: keeping %s (VIGIL_PGTEST_KEEP is set)", s.Dir)
			return
		}
		if err := os.RemoveAll(s.Dir); err != nil {
			t.Errorf("pgtest: removing %s: %v", s.Dir, err)
		}
	})
	if err := s.initdb(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := s.start(ctx); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return s
}

// Port is the TCP port the server listens on at 127.0.0.1.
func (s *Server) Port() int { return s.port }

// Addr is "127.0.0.1:PORT".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// PID is the postmaster's process id.
func (s *Server) PID() int { return s.pid }

// Options returns the options in effect (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// LogFiles are the files the server writes to now.
func (s *Server) LogFiles() LogFiles {
	base := filepath.Join(s.LogDir, s.logName)
	return LogFiles{Stderr: base + ".log", CSV: base + ".csv", JSON: base + ".json"}
}

// Admin connects as the superuser over the server's Unix socket, to database
// postgres.
func (s *Server) Admin(ctx context.Context) (*pgx.Conn, error) {
	return s.AdminDB(ctx, "postgres")
}

// AdminDB connects as the superuser over the Unix socket to database db.
func (s *Server) AdminDB(ctx context.Context, db string) (*pgx.Conn, error) {
	cfg, err := baseConfig()
	if err != nil {
		return nil, err
	}
	cfg.Host = s.SocketDir
	cfg.Port = uint16(s.port)
	cfg.User = Superuser
	cfg.Database = db
	cfg.RuntimeParams = map[string]string{"application_name": "pgtest-admin"}
	return pgx.ConnectConfig(ctx, cfg)
}

// ConnOptions shape a TCP client connection.
type ConnOptions struct {
	// Source is the loopback address the client connects from (127.0.0.0/8).
	// Default 127.0.0.1.
	Source string
	// AppName is sent as application_name; empty sends none.
	AppName string
	// Params are more startup parameters (statement_timeout, ...).
	Params map[string]string
	// SimpleProtocol sends every query in the simple protocol, as psql does
	// (one "statement:" log line per query string, parameters interpolated by
	// the client). Otherwise pgx's default extended protocol is used for
	// queries with arguments ("execute <name>:" lines with a DETAIL of the
	// parameters).
	SimpleProtocol bool
}

// Connect opens a TCP connection to 127.0.0.1 from o.Source as user with
// password (SCRAM over the wire: a wrong password is a real 28P01 from the
// server) to database db.
func (s *Server) Connect(ctx context.Context, userName, password, db string, o ConnOptions) (*pgx.Conn, error) {
	src := o.Source
	if src == "" {
		src = "127.0.0.1"
	}
	ip := net.ParseIP(src)
	if ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		return nil, fmt.Errorf("pgtest: source address %q is not an IPv4 loopback address", src)
	}
	cfg, err := baseConfig()
	if err != nil {
		return nil, err
	}
	cfg.Host = "127.0.0.1"
	cfg.Port = uint16(s.port)
	cfg.User = userName
	cfg.Password = password
	cfg.Database = db
	cfg.RuntimeParams = map[string]string{}
	if o.AppName != "" {
		cfg.RuntimeParams["application_name"] = o.AppName
	}
	for k, v := range o.Params {
		cfg.RuntimeParams[k] = v
	}
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	cfg.DialFunc = dialer.DialContext
	if o.SimpleProtocol {
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// baseConfig is a pgx config that ignores the PG* environment: no TLS, no
// fallback hosts, no session validation, no passfile.
func baseConfig() (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig("host=/nonexistent sslmode=disable")
	if err != nil {
		return nil, err
	}
	cfg.TLSConfig = nil
	cfg.Fallbacks = nil
	cfg.ValidateConnect = nil
	cfg.AfterConnect = nil
	cfg.Password = ""
	cfg.ConnectTimeout = 10 * time.Second
	return cfg, nil
}

// WaitForLog waits until every one of the current log files contains text
// (as each format writes it: quotes doubled in csvlog, escaped in jsonlog).
// Issue a marker statement last (SELECT 'some-marker'), then wait for it to
// know that everything before it has been written.
func (s *Server) WaitForLog(ctx context.Context, text string) error {
	lf := s.LogFiles()
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(text); err != nil {
		return err
	}
	want := map[string][]byte{
		lf.Stderr: []byte(text),
		lf.CSV:    []byte(strings.ReplaceAll(text, `"`, `""`)),
		lf.JSON:   bytes.TrimSuffix(bytes.TrimPrefix(bytes.TrimSpace(js.Bytes()), []byte(`"`)), []byte(`"`)),
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var missing []string
		for _, f := range lf.All() {
			b, err := os.ReadFile(f)
			if err != nil || !bytes.Contains(b, want[f]) {
				missing = append(missing, filepath.Base(f))
			}
		}
		if len(missing) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: %q not in %s: %w\n%s", text, strings.Join(missing, ", "), ctx.Err(), s.tail())
		case <-tick.C:
		}
	}
}

// SwitchLogs restarts the server (fast shutdown) writing to a new log name
// from then on: the old files are complete and the new ones start with the
// server's startup. Use it to keep set-up statements out of the log a test
// replays.
func (s *Server) SwitchLogs(ctx context.Context, name string) error {
	if s.pid == 0 {
		return errors.New("pgtest: SwitchLogs: the server is not running")
	}
	if err := s.shutdown(ctx); err != nil {
		return err
	}
	s.logName = name
	return s.start(ctx)
}

// Stop shuts the server down (pg_ctl stop -m fast, then signals to its pid if
// it does not go). It is safe to call more than once; Start registers it with
// t.Cleanup.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		s.stopErr = s.shutdown(ctx)
	})
	return s.stopErr
}

// ---- set-up ----

func (s *Server) bin(name string) string { return filepath.Join(s.opts.BinDir, name) }

func (s *Server) checkInstalled() error {
	var missing []string
	for _, b := range []string{"initdb", "pg_ctl", "postgres", "pg_config"} {
		if _, err := os.Stat(s.bin(b)); err != nil {
			missing = append(missing, s.bin(b))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("PostgreSQL binaries not found: %s", strings.Join(missing, ", "))
	}
	out, err := exec.Command(s.bin("pg_config"), "--pkglibdir", "--sharedir").Output()
	if err != nil {
		return fmt.Errorf("%s: %v", s.bin("pg_config"), err)
	}
	dirs := strings.Fields(string(out))
	if len(dirs) != 2 {
		return fmt.Errorf("pg_config printed %q", out)
	}
	for _, f := range []string{
		filepath.Join(dirs[0], "pgaudit.so"),
		filepath.Join(dirs[1], "extension", "pgaudit.control"),
	} {
		if _, err := os.Stat(f); err != nil {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("pgaudit not installed: %s missing", strings.Join(missing, ", "))
	}
	return nil
}

const dirPrefix = "vigil-pgtest-"

func (s *Server) makeDirs() error {
	dir, err := os.MkdirTemp(testproc.TempRoot(), dirPrefix)
	if err != nil {
		return err
	}
	s.Dir = dir
	s.DataDir = filepath.Join(dir, "data")
	s.SocketDir = filepath.Join(dir, "sock")
	s.LogDir = filepath.Join(dir, "log")
	// owner: lets a later run stop a server whose test process died
	// without running its cleanups (go test -timeout, SIGKILL).
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	for _, d := range []string{s.SocketDir, s.LogDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	for _, p := range []string{dir, s.SocketDir, s.LogDir} {
		if err := s.chown(p); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) chown(path string) error {
	if s.runAs == nil {
		return nil
	}
	uid, _ := strconv.Atoi(s.runAs.Uid)
	gid, _ := strconv.Atoi(s.runAs.Gid)
	return os.Chown(path, uid, gid)
}

// writeFile writes a file the server user can read.
func (s *Server) writeFile(path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return err
	}
	return s.chown(path)
}

// command runs a server program as the server user, in the server's
// directory, without the PG* environment of the test.
func (s *Server) command(ctx context.Context, prog string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if s.runAs != nil {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", s.runAs.Username, "--", s.bin(prog)}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, s.bin(prog), args...)
	}
	cmd.Dir = s.Dir
	env := []string{"LC_ALL=C.UTF-8", "TZ=UTC"}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "PG") || strings.HasPrefix(k, "LC_") || k == "LANG" || k == "TZ" {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = env
	return cmd
}

func (s *Server) initdb() error {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	args := []string{"-D", s.DataDir, "-U", Superuser,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
		"--no-sync", "--no-instructions"}
	if s.opts.DataChecksums {
		args = append(args, "--data-checksums")
	}
	out, err := s.command(ctx, "initdb", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	// The superuser is reachable only through the socket in our private
	// directory (mode 0700 and unix_socket_permissions 0700): trust there is
	// the harness's own admin channel. Every TCP login needs a SCRAM password.
	hba := "# written by internal/pgtest\n" +
		"local   all   " + Superuser + "   trust\n"
	if s.opts.LocalPeer {
		me, err := user.Current()
		if err != nil {
			return err
		}
		hba = "# written by internal/pgtest\n" +
			"local   all   " + Superuser + "   peer map=pgtest\n"
		ident := "pgtest   " + me.Username + "   " + Superuser + "\n"
		if err := s.writeFile(filepath.Join(s.DataDir, "pg_ident.conf"), ident); err != nil {
			return err
		}
	}
	if s.opts.HBA == nil {
		hba += "host    all   all        127.0.0.0/8   scram-sha-256\n"
	} else {
		hba += strings.Join(s.opts.HBA, "\n") + "\n"
	}
	if err := s.writeFile(filepath.Join(s.DataDir, "pg_hba.conf"), hba); err != nil {
		return err
	}
	if s.opts.SSL {
		if err := s.writeCert(); err != nil {
			return err
		}
	}
	conf := filepath.Join(s.DataDir, "postgresql.conf")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString("\n# internal/pgtest\ninclude 'pgtest.conf'\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeConf writes pgtest.conf for the current port and log name.
func (s *Server) writeConf() error {
	o := s.opts
	q := func(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }
	onoff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	set := [][2]string{
		{"listen_addresses", q("127.0.0.1")},
		{"port", strconv.Itoa(s.port)},
		{"unix_socket_directories", q(s.SocketDir)},
		{"unix_socket_permissions", "0700"},
		{"password_encryption", q("scram-sha-256")},
		{"shared_preload_libraries", q("pgaudit")},
		{"fsync", "off"}, // throwaway cluster
		{"synchronous_commit", "off"},
		{"lc_messages", q("C")}, // Vigil reads the English message texts
		{"logging_collector", "on"},
		{"log_destination", q("stderr,csvlog,jsonlog")},
		{"log_directory", q(s.LogDir)},
		{"log_filename", q(s.logName + ".log")},
		{"log_file_mode", "0640"},
		{"log_rotation_age", "0"},
		{"log_rotation_size", "0"},
		{"log_line_prefix", q(o.LogLinePrefix)},
		{"log_connections", "on"},
		{"log_disconnections", "on"},
		{"log_statement", q(o.LogStatement)},
		{"log_timezone", q("UTC")},
		{"pgaudit.log", q(o.PgauditLog)},
		{"pgaudit.log_relation", onoff(o.PgauditLogRelation)},
		{"pgaudit.log_parameter", onoff(o.PgauditLogParameter)},
		{"pgaudit.log_rows", onoff(o.PgauditLogRows)},
	}
	if o.LogMinDurationStatement != "" {
		set = append(set, [2]string{"log_min_duration_statement", o.LogMinDurationStatement})
	}
	if o.SSL {
		set = append(set, [2]string{"ssl", "on"}, [2]string{"ssl_cert_file", q("server.crt")}, [2]string{"ssl_key_file", q("server.key")})
	}
	keys := make([]string, 0, len(o.Settings))
	for k := range o.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		set = append(set, [2]string{k, o.Settings[k]})
	}
	var b strings.Builder
	b.WriteString("# written by internal/pgtest\n")
	for _, kv := range set {
		fmt.Fprintf(&b, "%s = %s\n", kv[0], kv[1])
	}
	return s.writeFile(filepath.Join(s.DataDir, "pgtest.conf"), b.String())
}

func (s *Server) startLog() string { return filepath.Join(s.Dir, "startup.log") }

func (s *Server) start(ctx context.Context) error {
	const attempts = 5
	for i := 0; ; i++ {
		if s.port == 0 || i > 0 {
			p, err := testproc.FreePort()
			if err != nil {
				return err
			}
			s.port = p
		}
		if err := s.writeConf(); err != nil {
			return err
		}
		startLog := s.startLog()
		before := testproc.FileSize(startLog)
		out, err := s.command(ctx, "pg_ctl", "start", "-D", s.DataDir, "-l", startLog, "-w", "-t", "60").CombinedOutput()
		if err == nil {
			break
		}
		s.readPID() // a half-started postmaster is still ours to stop
		log := testproc.ReadFrom(startLog, before)
		if i+1 < attempts && strings.Contains(log, "could not bind") {
			s.t.Logf("pgtest: port %d taken, retrying with another one", s.port)
			continue
		}
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, s.tail())
	}
	if err := s.readPID(); err != nil {
		return err
	}
	// pg_ctl -w polled until the server accepted connections; one admin
	// round trip proves the socket and the superuser work.
	deadline, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		conn, err := s.Admin(deadline)
		if err == nil {
			var v string
			err = conn.QueryRow(deadline, "SHOW shared_preload_libraries").Scan(&v)
			conn.Close(deadline)
			if err == nil && !strings.Contains(v, "pgaudit") {
				err = fmt.Errorf("pgaudit is not loaded (shared_preload_libraries = %q)", v)
			}
			if err != nil {
				return fmt.Errorf("%v\n%s", err, s.tail())
			}
			return nil
		}
		select {
		case <-deadline.Done():
			return fmt.Errorf("server at %s does not accept connections: %v\n%s", s.SocketDir, err, s.tail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Server) readPID() error {
	b, err := os.ReadFile(filepath.Join(s.DataDir, "postmaster.pid"))
	if err != nil {
		return fmt.Errorf("reading postmaster.pid: %v", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return fmt.Errorf("postmaster.pid: bad pid %q", first)
	}
	s.pid = pid
	return nil
}

// shutdown stops the postmaster: pg_ctl stop -m fast, then SIGQUIT
// (immediate shutdown) and SIGKILL to its pid if it is still there.
func (s *Server) shutdown(ctx context.Context) error {
	if s.pid == 0 {
		return nil
	}
	pid := s.pid
	var msgs []string
	if out, err := s.command(ctx, "pg_ctl", "stop", "-D", s.DataDir, "-m", "fast", "-w", "-t", "30").CombinedOutput(); err != nil {
		msgs = append(msgs, fmt.Sprintf("pg_ctl stop: %v: %s", err, bytes.TrimSpace(out)))
	}
	if testproc.WaitGone(pid, 5*time.Second) {
		s.pid = 0
		return nil
	}
	for _, sig := range []syscall.Signal{syscall.SIGQUIT, syscall.SIGKILL} {
		_ = syscall.Kill(pid, sig)
		if testproc.WaitGone(pid, 5*time.Second) {
			s.pid = 0
			return fmt.Errorf("server pid %d needed %v to stop (%s)", pid, sig, strings.Join(msgs, "; "))
		}
	}
	return fmt.Errorf("server pid %d did not stop (%s)", pid, strings.Join(msgs, "; "))
}

// reapStale stops servers (and removes directories) that earlier test
// processes left behind when they died without running their cleanups. It
// only touches vigil-pgtest-* directories whose owner process is gone, and
// only a postmaster whose command line names that directory's data dir.
func reapStale(t testing.TB) {
	testproc.ReapStale(dirPrefix, func(dir string) bool {
		data := filepath.Join(dir, "data")
		pb, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
		if err != nil {
			return true
		}
		first, _, _ := strings.Cut(string(pb), "\n")
		pid, err := strconv.Atoi(strings.TrimSpace(first))
		if err != nil || !testproc.Alive(pid) {
			return true
		}
		t.Logf("pgtest: stopping stale server pid %d in %s", pid, dir)
		return testproc.StopStale(pid, data, syscall.SIGQUIT)
	})
}

// tail is the end of the server's startup output and current stderr log, for
// failure messages.
func (s *Server) tail() string {
	var b strings.Builder
	for _, f := range []string{s.startLog(), s.LogFiles().Stderr} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 30 {
			lines = lines[len(lines)-30:]
		}
		fmt.Fprintf(&b, "--- tail of %s ---\n%s\n", f, strings.Join(lines, "\n"))
	}
	if b.Len() == 0 {
		return "(no server output)"
	}
	return b.String()
}
