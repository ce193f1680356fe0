// Package mytest starts a throwaway MariaDB server for tests: a data
// directory initialised with mariadb-install-db in a temporary directory,
// TCP on a free 127.0.0.1 port, a Unix socket inside the directory, the
// error log in a file, skip_name_resolve, and optionally the server_audit
// plugin writing its own file — so a test can act on a real server and read
// exactly the log lines Vigil will see.
//
// A fresh server has exactly one usable account, root@localhost, with a
// password the harness chose (Admin connects with it over the socket), plus
// MariaDB's own locked system account mariadb.sys; no test database and no
// anonymous users. Tests create whatever else they need.
//
// When the test runs as root (as CI does) the server runs as the mysql OS
// user through `runuser -u mysql --`. The server is stopped by pid when the
// test ends (t.Cleanup), and servers left behind by killed test processes
// are reaped on the next Start. A missing MariaDB fails the test with the
// command that installs it; it never skips.
package mytest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
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

	"github.com/go-sql-driver/mysql"

	"github.com/vigildb/vigil/internal/testproc"
)

// InstallHint is the command that installs what the harness needs.
const InstallHint = "apt-get install mariadb-server"

// Options configure the server. The zero value is a plain server without
// audit plugin or TLS.
type Options struct {
	// Mariadbd is the server binary. Default: $VIGIL_MARIADBD, else
	// /usr/sbin/mariadbd. mariadb-install-db is looked up next to it in
	// /usr/bin, then in PATH.
	Mariadbd string
	// Audit loads the server_audit plugin with server_audit_logging=ON,
	// writing to AuditLogPath() (or syslog with AuditSyslog).
	Audit bool
	// AuditEvents is server_audit_events. Default "CONNECT,QUERY,TABLE".
	AuditEvents string
	// AuditSyslog sends audit records to syslog instead of the file.
	AuditSyslog bool
	// TLS generates a self-signed certificate for 127.0.0.1 and turns TLS
	// on (ssl_cert, ssl_key).
	TLS bool
	// RootEd25519 makes root@localhost authenticate with the ed25519
	// plugin instead of mysql_native_password (the plugin is loaded).
	RootEd25519 bool
	// Plugins are more plugin_load_add entries (e.g. "auth_ed25519",
	// "simple_password_check").
	Plugins []string
	// Files are written into the server's directory before it starts
	// (name → content), e.g. a key file for file_key_management referred
	// to in Settings as "{dir}/keys.txt".
	Files map[string]string
	// Settings are more [mariadbd] option lines, written `name = value`
	// with value as given ("{dir}" is replaced by the server's directory;
	// an empty value writes the bare option name, e.g. skip_symbolic_links).
	// They come after the harness's own lines, so they override them (e.g.
	// "skip_name_resolve": "OFF").
	Settings map[string]string
}

// Server is a running MariaDB started by Start.
type Server struct {
	// Dir is the server's private temporary directory; DataDir and Socket
	// are inside it.
	Dir, DataDir, Socket string

	t        testing.TB
	opts     Options
	runAs    *user.User
	port     int
	pid      int
	password string
	cmd      *exec.Cmd

	mu    sync.Mutex
	admin *sql.DB

	stopOnce sync.Once
	stopErr  error
}

const dirPrefix = "vigil-mytest-"

// Start initialises and starts a server and registers its stop (and the
// removal of its directory) with t.Cleanup. Any failure is fatal to t, with
// the tail of the error log. Set VIGIL_MYTEST_KEEP=1 to keep the directory.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Mariadbd == "" {
		opts.Mariadbd = os.Getenv("VIGIL_MARIADBD")
	}
	if opts.Mariadbd == "" {
		opts.Mariadbd = "/usr/sbin/mariadbd"
	}
	if opts.AuditEvents == "" {
		opts.AuditEvents = "CONNECT,QUERY,TABLE"
	}
	s := &Server{t: t, opts: opts}
	installDB, err := s.checkInstalled()
	if err != nil {
		t.Fatalf("mytest: %v\nMariaDB is required for this test: %s", err, InstallHint)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("mysql")
		if err != nil {
			t.Fatalf("mytest: running as root and there is no 'mysql' OS user to run the server as (%v); it comes with %s", err, InstallHint)
		}
		s.runAs = u
	}
	reapStale(t)
	if err := s.makeDirs(); err != nil {
		t.Fatalf("mytest: %v", err)
	}
	t.Cleanup(func() {
		if os.Getenv("VIGIL_MYTEST_KEEP") != "" {
			t.Logf("mytest: keeping %s (VIGIL_MYTEST_KEEP is set)", s.Dir)
			return
		}
		if err := os.RemoveAll(s.Dir); err != nil {
			t.Errorf("mytest: removing %s: %v", s.Dir, err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.install(ctx, installDB); err != nil {
		t.Fatalf("mytest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("mytest: %v", err)
		}
	})
	if err := s.start(ctx); err != nil {
		t.Fatalf("mytest: %v", err)
	}
	if err := s.secure(ctx); err != nil {
		t.Fatalf("mytest: %v\n%s", err, s.tail())
	}
	return s
}

// Port is the TCP port at 127.0.0.1.
func (s *Server) Port() int { return s.port }

// Addr is "127.0.0.1:PORT".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// PID is the server's process id.
func (s *Server) PID() int { return s.pid }

// RootPassword is the password of root@localhost.
func (s *Server) RootPassword() string { return s.password }

// AuditLogPath is where server_audit writes (with Options.Audit).
func (s *Server) AuditLogPath() string { return filepath.Join(s.Dir, "audit.log") }

// ErrorLogPath is the server's error log.
func (s *Server) ErrorLogPath() string { return filepath.Join(s.Dir, "error.log") }

// Admin is a connection pool for root@localhost over the Unix socket. It
// is closed by Stop.
func (s *Server) Admin() *sql.DB {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin == nil {
		cfg := mysql.NewConfig()
		cfg.User, cfg.Passwd = "root", s.password
		cfg.Net, cfg.Addr = "unix", s.Socket
		cfg.Timeout = 10 * time.Second
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			s.t.Fatalf("mytest: %v", err)
		}
		s.admin = sql.OpenDB(conn)
	}
	return s.admin
}

// Exec runs statements as root, failing t on the first error.
func (s *Server) Exec(t testing.TB, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := s.Admin().Exec(q); err != nil {
			t.Fatalf("mytest: %s: %v", q, err)
		}
	}
}

// Connect opens a TCP connection pool as user with password. tls is the
// driver's tls parameter ("", "skip-verify", "true").
func (s *Server) Connect(userName, password, tls string) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = userName, password
	cfg.Net, cfg.Addr = "tcp", s.Addr()
	cfg.Timeout = 10 * time.Second
	if tls != "" {
		cfg.TLSConfig = tls
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(conn), nil
}

// URL is a mysql:// URL for user to this server over TCP (for vigil scan).
func (s *Server) URL(userName, password, query string) string {
	u := userName
	if password != "" {
		u += ":" + password
	}
	url := fmt.Sprintf("mysql://%s@%s/", u, s.Addr())
	if query != "" {
		url += "?" + query
	}
	return url
}

// Stop shuts the server down by pid (SIGTERM, then SIGKILL). Safe to call
// more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		if s.admin != nil {
			s.admin.Close()
			s.admin = nil
		}
		s.mu.Unlock()
		s.stopErr = s.shutdown()
	})
	return s.stopErr
}

// ---- set-up ----

func (s *Server) checkInstalled() (string, error) {
	if _, err := os.Stat(s.opts.Mariadbd); err != nil {
		return "", fmt.Errorf("MariaDB server not found: %v", err)
	}
	installDB := "/usr/bin/mariadb-install-db"
	if _, err := os.Stat(installDB); err != nil {
		p, err := exec.LookPath("mariadb-install-db")
		if err != nil {
			return "", fmt.Errorf("mariadb-install-db not found")
		}
		installDB = p
	}
	if s.opts.Audit {
		out, err := exec.Command(s.opts.Mariadbd, "--no-defaults", "--verbose", "--help").Output()
		dir := "/usr/lib/mysql/plugin"
		if err == nil {
			for _, line := range strings.Split(string(out), "\n") {
				if f := strings.Fields(line); len(f) == 2 && f[0] == "plugin-dir" {
					dir = f[1]
				}
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "server_audit.so")); err != nil {
			return "", fmt.Errorf("the server_audit plugin is missing: %v", err)
		}
	}
	return installDB, nil
}

func (s *Server) makeDirs() error {
	dir, err := os.MkdirTemp(testproc.TempRoot(), dirPrefix)
	if err != nil {
		return err
	}
	s.Dir = dir
	s.DataDir = filepath.Join(dir, "data")
	s.Socket = filepath.Join(dir, "mysqld.sock")
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(dir, "files"), 0o750); err != nil {
		return err
	}
	for _, p := range []string{dir, filepath.Join(dir, "files")} {
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

func (s *Server) writeFile(path, content string, mode os.FileMode) error {
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		return err
	}
	return s.chown(path)
}

func (s *Server) command(ctx context.Context, prog string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if s.runAs != nil {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", s.runAs.Username, "--", prog}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, prog, args...)
	}
	cmd.Dir = s.Dir
	env := []string{"TZ=UTC", "LC_ALL=C"}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "MYSQL") || strings.HasPrefix(k, "MARIADB") || k == "TZ" || k == "LC_ALL" {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = env
	return cmd
}

func (s *Server) install(ctx context.Context, installDB string) error {
	out, err := s.command(ctx, installDB, "--no-defaults", "--datadir="+s.DataDir,
		"--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve").CombinedOutput()
	if err != nil {
		return fmt.Errorf("mariadb-install-db: %v\n%s", err, out)
	}
	for name, content := range s.opts.Files {
		if err := s.writeFile(filepath.Join(s.Dir, filepath.Base(name)), content, 0o600); err != nil {
			return err
		}
	}
	if s.opts.TLS {
		crt, key, err := selfSigned()
		if err != nil {
			return err
		}
		if err := s.writeFile(filepath.Join(s.Dir, "server.crt"), string(crt), 0o644); err != nil {
			return err
		}
		if err := s.writeFile(filepath.Join(s.Dir, "server.key"), string(key), 0o600); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) writeConf() error {
	o := s.opts
	set := [][2]string{
		{"datadir", s.DataDir},
		{"socket", s.Socket},
		{"port", strconv.Itoa(s.port)},
		{"bind_address", "127.0.0.1"},
		{"pid_file", filepath.Join(s.Dir, "mariadbd.pid")},
		{"log_error", s.ErrorLogPath()},
		{"skip_name_resolve", "ON"},
		{"innodb_buffer_pool_size", "32M"},
		{"innodb_log_file_size", "16M"},
		{"innodb_flush_log_at_trx_commit", "2"},
		{"performance_schema", "OFF"},
		{"lower_case_table_names", "0"},
		{"tmpdir", s.Dir},
	}
	if o.Audit {
		set = append(set, [2]string{"plugin_load_add", "server_audit"},
			[2]string{"server_audit_logging", "ON"},
			[2]string{"server_audit_events", o.AuditEvents},
			[2]string{"server_audit_file_path", s.AuditLogPath()},
			[2]string{"server_audit_file_rotate_size", "1000000000"})
		if o.AuditSyslog {
			set = append(set, [2]string{"server_audit_output_type", "syslog"})
		} else {
			set = append(set, [2]string{"server_audit_output_type", "file"})
		}
	}
	if o.RootEd25519 {
		set = append(set, [2]string{"plugin_load_add", "auth_ed25519"})
	}
	for _, p := range o.Plugins {
		set = append(set, [2]string{"plugin_load_add", p})
	}
	if o.TLS {
		set = append(set, [2]string{"ssl_cert", filepath.Join(s.Dir, "server.crt")},
			[2]string{"ssl_key", filepath.Join(s.Dir, "server.key")})
	}
	keys := make([]string, 0, len(o.Settings))
	for k := range o.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		set = append(set, [2]string{k, strings.ReplaceAll(o.Settings[k], "{dir}", s.Dir)})
	}
	var b strings.Builder
	b.WriteString("# written by internal/mytest\n[mariadbd]\n")
	for _, kv := range set {
		if kv[1] == "" {
			fmt.Fprintf(&b, "%s\n", kv[0])
			continue
		}
		fmt.Fprintf(&b, "%s = %s\n", kv[0], kv[1])
	}
	return s.writeFile(filepath.Join(s.Dir, "my.cnf"), b.String(), 0o644)
}

func (s *Server) start(ctx context.Context) error {
	const attempts = 4
	for i := 0; ; i++ {
		p, err := testproc.FreePort()
		if err != nil {
			return err
		}
		s.port = p
		if err := s.writeConf(); err != nil {
			return err
		}
		before := testproc.FileSize(s.ErrorLogPath())
		cmd := s.command(context.Background(), s.opts.Mariadbd, "--defaults-file="+filepath.Join(s.Dir, "my.cnf"))
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("starting %s: %v", s.opts.Mariadbd, err)
		}
		s.cmd = cmd
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		err = s.waitReady(ctx, exited)
		if err == nil {
			return nil
		}
		log := testproc.ReadFrom(s.ErrorLogPath(), before)
		_ = s.shutdown()
		if i+1 < attempts && (strings.Contains(log, "Address already in use") || strings.Contains(log, "Can't start server: Bind")) {
			s.t.Logf("mytest: port %d taken, retrying with another one", s.port)
			continue
		}
		return fmt.Errorf("%v\n%s", err, s.tail())
	}
}

// waitReady polls the socket until the server answers as root, within a
// deadline, failing early if the process exits.
func (s *Server) waitReady(ctx context.Context, exited chan error) error {
	deadline, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.Timeout = "root", "unix", s.Socket, 2*time.Second
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("mariadbd exited during start-up: %v", err)
		case <-deadline.Done():
			return fmt.Errorf("mariadbd does not accept connections on %s: %w", s.Socket, deadline.Err())
		case <-tick.C:
		}
		if _, err := os.Stat(s.Socket); err != nil {
			continue
		}
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return err
		}
		db := sql.OpenDB(conn)
		err = db.PingContext(deadline)
		db.Close()
		if err == nil {
			return s.readPID()
		}
	}
}

func (s *Server) readPID() error {
	b, err := os.ReadFile(filepath.Join(s.Dir, "mariadbd.pid"))
	if err != nil {
		return fmt.Errorf("reading the pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return fmt.Errorf("bad pid file %q", b)
	}
	s.pid = pid
	return nil
}

// secure leaves root@localhost (with a fresh password) as the only usable
// account.
func (s *Server) secure(ctx context.Context) error {
	buf := make([]byte, 12)
	if _, err := rand.Read(buf); err != nil {
		return err
	}
	pw := "Mt-" + hex.EncodeToString(buf)
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.Timeout = "root", "unix", s.Socket, 10*time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	// First, so that an expired password (default_password_lifetime)
	// does not block the rest.
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "SET PASSWORD FOR 'root'@'localhost' = PASSWORD('"+pw+"')"); err != nil {
		return fmt.Errorf("setting the root password: %v", err)
	}
	rows, err := db.QueryContext(ctx, "SELECT User, Host FROM mysql.global_priv WHERE NOT (User = 'root' AND Host = 'localhost') AND User <> 'mariadb.sys'")
	if err != nil {
		return err
	}
	var drop []string
	for rows.Next() {
		var u, h string
		if err := rows.Scan(&u, &h); err != nil {
			rows.Close()
			return err
		}
		drop = append(drop, fmt.Sprintf("DROP USER '%s'@'%s'", strings.ReplaceAll(u, "'", "''"), strings.ReplaceAll(h, "'", "''")))
	}
	rows.Close()
	if s.opts.RootEd25519 {
		// A second, different password: password_reuse_check may be loaded.
		pw += "-E"
		drop = append(drop, "ALTER USER 'root'@'localhost' IDENTIFIED VIA ed25519 USING PASSWORD('"+pw+"')")
	}
	for _, q := range drop {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %v", q, err)
		}
	}
	s.password = pw
	return nil
}

func (s *Server) shutdown() error {
	pid := s.pid
	if pid == 0 && s.cmd != nil && s.cmd.Process != nil {
		// The pid file was not written yet: signal the process group of
		// the runuser/mariadbd we started.
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		s.cmd = nil
		return nil
	}
	if pid == 0 {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	if testproc.WaitGone(pid, 30*time.Second) {
		s.pid = 0
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	if testproc.WaitGone(pid, 5*time.Second) {
		s.pid = 0
		return fmt.Errorf("mariadbd pid %d needed SIGKILL to stop", pid)
	}
	return fmt.Errorf("mariadbd pid %d did not stop", pid)
}

// reapStale stops servers left by test processes that died without their
// cleanups: only vigil-mytest-* directories whose owner is gone, and only a
// mariadbd whose command line names that directory.
func reapStale(t testing.TB) {
	testproc.ReapStale(dirPrefix, func(dir string) bool {
		pb, err := os.ReadFile(filepath.Join(dir, "mariadbd.pid"))
		if err != nil {
			return true
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(pb)))
		if err != nil || !testproc.Alive(pid) {
			return true
		}
		t.Logf("mytest: stopping stale server pid %d in %s", pid, dir)
		return testproc.StopStale(pid, dir, syscall.SIGKILL)
	})
}

func (s *Server) tail() string {
	data, err := os.ReadFile(s.ErrorLogPath())
	if err != nil {
		return "(no error log)"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return "--- tail of " + s.ErrorLogPath() + " ---\n" + strings.Join(lines, "\n")
}
