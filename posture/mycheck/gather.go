// Package mycheck grades a MySQL or MariaDB server over a read-only
// connection (SET SESSION TRANSACTION READ ONLY, a statement time limit):
// global variables, accounts and their privileges from mysql.user,
// plugins and components, replication settings. The differences between
// MySQL and MariaDB (variable names, the audit plugin, password
// validation) are handled per check.
package mycheck

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/vigildb/vigil/posture"
	"github.com/vigildb/vigil/posture/versions"
)

// Options configure a scan.
type Options struct {
	// DSN is mysql://user:password@host:port/db?tls=…&socket=… (mariadb://
	// is accepted too).
	DSN              string
	Versions         *versions.Table
	Now              time.Time
	StatementTimeout time.Duration
}

type account struct {
	User, Host    string
	Plugin        string
	EmptyPassword bool
	Locked        bool
	IsRole        bool
	SSLType       string
	MaxUserConns  int
	Privs         map[string]bool // Super, File, Process, Grant, Shutdown, Create_user, Reload, Repl_slave, Select, Insert, Update, Delete, ...
}

func (a account) String() string { return "'" + a.User + "'@'" + a.Host + "'" }

func (a account) local() bool {
	return a.Host == "localhost" || a.Host == "127.0.0.1" || a.Host == "::1"
}

// system reports accounts the server creates for itself.
func (a account) system() bool {
	switch a.User {
	case "mariadb.sys", "mysql.sys", "mysql.session", "mysql.infoschema", "mysql.pxc.sst.role", "mysql.pxc.internal.session":
		return true
	}
	return false
}

// admin reports accounts allowed to hold administrative privileges: root
// on the local host, system accounts, and locked accounts.
func (a account) admin() bool {
	return a.system() || a.Locked || (a.User == "root" && a.local())
}

type plugin struct{ Status, LoadOption string }

type state struct {
	opts     Options
	now      time.Time
	versions *versions.Table

	Version        string
	Comment        string
	MariaDB        bool
	User           string
	Vars           map[string]string
	Status         map[string]string
	Accounts       []account
	AccErr         error
	Plugins        map[string]plugin
	Components     []string
	CompErr        error
	DBs            []string
	DBErr          error
	MySchemaGrants []string
	MySchemaErr    error
	Dynamic        []string
	DynErr         error
	Definers       []string
	DefErr         error
	Replica        map[string]string
	RepErr         error
}

// Scan connects, gathers and evaluates.
func Scan(ctx context.Context, o Options) (*posture.Report, error) {
	if o.Versions == nil {
		o.Versions = versions.Default()
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.StatementTimeout == 0 {
		o.StatementTimeout = 10 * time.Second
	}
	cfg, err := Config(o.DSN)
	if err != nil {
		return nil, err
	}
	cfg.ReadTimeout = o.StatementTimeout + 5*time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("bad MySQL DSN %s: %s", posture.MaskDSN(o.DSN), posture.Redact(err.Error(), cfg.Passwd))
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	db.SetMaxOpenConns(1)
	c, err := db.Conn(ctx)
	if err != nil {
		msg := posture.Redact(err.Error(), cfg.Passwd)
		switch {
		case strings.Contains(msg, "insecure transport"):
			msg += " (the server requires TLS: add ?tls=true, or ?tls=skip-verify for a self-signed certificate)"
		case strings.Contains(msg, "Access denied") && cfg.TLSConfig == "":
			msg += " (if the account is REQUIRE SSL, add ?tls=true)"
		}
		return nil, fmt.Errorf("connecting to %s: %s", posture.MaskDSN(o.DSN), msg)
	}
	defer c.Close()
	st := &state{opts: o, now: o.Now, versions: o.Versions}
	if err := st.gather(ctx, c); err != nil {
		return nil, fmt.Errorf("reading %s: %s", posture.MaskDSN(o.DSN), posture.Redact(err.Error(), cfg.Passwd))
	}
	engine := "mysql"
	if st.MariaDB {
		engine = "mariadb"
	}
	rep := &posture.Report{
		Target:    posture.MaskDSN(o.DSN),
		Engine:    engine,
		Version:   st.Version,
		ScannedAt: o.Now.UTC(),
		Role:      st.User,
		Versions:  posture.VersionsInfo{Date: o.Versions.Date, Source: o.Versions.Source},
		Findings:  posture.Evaluate(Defs(), st, ""),
	}
	if n := o.Versions.StaleNote(o.Now); n != "" {
		rep.Notes = append(rep.Notes, n)
	}
	rep.Finish()
	return rep, nil
}

// Config turns a mysql:// URL into a driver configuration.
func Config(dsn string) (*mysql.Config, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "mysql" && u.Scheme != "mariadb") {
		return nil, fmt.Errorf("bad MySQL DSN %s: expected mysql://user:password@host:3306/[db][?tls=true]", posture.MaskDSN(dsn))
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	if cfg.User == "" {
		return nil, fmt.Errorf("bad MySQL DSN %s: no user name", posture.MaskDSN(dsn))
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	cfg.Timeout = 15 * time.Second
	cfg.AllowNativePasswords = true
	q := u.Query()
	if s := q.Get("socket"); s != "" {
		cfg.Net, cfg.Addr = "unix", s
	} else {
		host := u.Hostname()
		if host == "" {
			host = "127.0.0.1"
		}
		port := u.Port()
		if port == "" {
			port = "3306"
		}
		cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(host, port)
	}
	if t := q.Get("tls"); t != "" {
		switch t {
		case "true", "skip-verify", "preferred", "false":
			cfg.TLSConfig = t
		default:
			return nil, fmt.Errorf("bad MySQL DSN %s: tls must be true, skip-verify, preferred or false", posture.MaskDSN(dsn))
		}
	}
	if t := q.Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil {
			return nil, fmt.Errorf("bad MySQL DSN %s: timeout: %v", posture.MaskDSN(dsn), err)
		}
		cfg.Timeout = d
	}
	return cfg, nil
}

func (st *state) gather(ctx context.Context, c *sql.Conn) error {
	if err := c.QueryRowContext(ctx, "SELECT VERSION(), @@version_comment, CURRENT_USER()").Scan(&st.Version, &st.Comment, &st.User); err != nil {
		return err
	}
	st.MariaDB = strings.Contains(strings.ToLower(st.Version+" "+st.Comment), "mariadb")
	// Read-only session with a time limit on every statement.
	_, _ = c.ExecContext(ctx, "SET SESSION TRANSACTION READ ONLY")
	secs := st.opts.StatementTimeout.Seconds()
	if st.MariaDB {
		_, _ = c.ExecContext(ctx, "SET SESSION max_statement_time = "+strconv.FormatFloat(secs, 'f', 0, 64))
	} else {
		_, _ = c.ExecContext(ctx, "SET SESSION max_execution_time = "+strconv.FormatInt(st.opts.StatementTimeout.Milliseconds(), 10))
	}
	var err error
	if st.Vars, err = kv(ctx, c, "SHOW GLOBAL VARIABLES"); err != nil {
		return err
	}
	st.Status, _ = kv(ctx, c, "SHOW GLOBAL STATUS LIKE 'Ssl%'")
	st.AccErr = st.gatherAccounts(ctx, c)
	st.Plugins = map[string]plugin{}
	if err := each(ctx, c, "SELECT PLUGIN_NAME, PLUGIN_STATUS, COALESCE(LOAD_OPTION, '') FROM information_schema.PLUGINS", func(r *sql.Rows) error {
		var n string
		var p plugin
		if err := r.Scan(&n, &p.Status, &p.LoadOption); err != nil {
			return err
		}
		st.Plugins[strings.ToLower(n)] = p
		return nil
	}); err != nil {
		return err
	}
	if !st.MariaDB {
		st.CompErr = strs(ctx, c, "SELECT component_urn FROM mysql.component", &st.Components)
		st.DynErr = strs(ctx, c, `SELECT CONCAT("'", USER, "'@'", HOST, "' ", PRIV) FROM mysql.global_grants
			WHERE PRIV IN ('SYSTEM_VARIABLES_ADMIN','CONNECTION_ADMIN','SET_ANY_DEFINER','SET_USER_ID','ALLOW_NONEXISTENT_DEFINER',
			'ENCRYPTION_KEY_ADMIN','AUDIT_ADMIN','AUDIT_ABORT_EXEMPT','FIREWALL_EXEMPT','BINLOG_ADMIN','REPLICATION_SLAVE_ADMIN','SYSTEM_USER')
			AND USER NOT IN ('root','mysql.sys','mysql.session','mysql.infoschema') ORDER BY 1`, &st.Dynamic)
	}
	st.DBErr = strs(ctx, c, "SHOW DATABASES", &st.DBs)
	st.MySchemaErr = strs(ctx, c, `SELECT CONCAT("'", User, "'@'", Host, "'") FROM mysql.db WHERE Db = 'mysql' AND User NOT IN ('root', 'mariadb.sys', 'mysql.sys', 'mysql.session', 'mysql.infoschema')`, &st.MySchemaGrants)
	st.DefErr = strs(ctx, c, `SELECT CONCAT(ROUTINE_SCHEMA, '.', ROUTINE_NAME, ' definer ', DEFINER) FROM information_schema.ROUTINES
		WHERE SECURITY_TYPE = 'DEFINER' AND ROUTINE_SCHEMA NOT IN ('sys', 'mysql', 'information_schema', 'performance_schema')
		AND (DEFINER LIKE 'root@%' OR DEFINER LIKE '%@\%') ORDER BY 1`, &st.Definers)
	st.Replica, st.RepErr = replicaStatus(ctx, c, st.MariaDB)
	return nil
}

func replicaStatus(ctx context.Context, c *sql.Conn, mariadb bool) (map[string]string, error) {
	q := "SHOW REPLICA STATUS"
	if mariadb {
		q = "SHOW SLAVE STATUS"
	}
	rows, err := c.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	if rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, col := range cols {
			out[col] = vals[i].String
		}
	}
	return out, rows.Err()
}

// gatherAccounts reads mysql.user by column name (the columns differ
// between MySQL and MariaDB) and keeps only whether a password is empty,
// never the hash.
func (st *state) gatherAccounts(ctx context.Context, c *sql.Conn) error {
	locked := map[string]bool{}
	if st.MariaDB {
		_ = each(ctx, c, `SELECT User, Host, COALESCE(JSON_VALUE(Priv, '$.account_locked'), 'false') FROM mysql.global_priv`, func(r *sql.Rows) error {
			var u, h, l string
			if err := r.Scan(&u, &h, &l); err != nil {
				return err
			}
			locked[u+"@"+h] = l == "true" || l == "1"
			return nil
		})
	}
	rows, err := c.QueryContext(ctx, "SELECT * FROM mysql.user")
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		row := map[string]sql.NullString{}
		for i, col := range cols {
			row[strings.ToLower(col)] = vals[i]
		}
		a := account{User: row["user"].String, Host: row["host"].String, Plugin: row["plugin"].String,
			SSLType: row["ssl_type"].String, Privs: map[string]bool{}}
		a.MaxUserConns, _ = strconv.Atoi(row["max_user_connections"].String)
		auth := row["authentication_string"].String
		if pw, ok := row["password"]; ok && auth == "" {
			auth = pw.String
		}
		passwordPlugin := a.Plugin == "" || a.Plugin == "mysql_native_password" || a.Plugin == "caching_sha2_password" ||
			a.Plugin == "sha256_password" || a.Plugin == "ed25519" || a.Plugin == "mysql_old_password" || a.Plugin == "parsec"
		a.EmptyPassword = passwordPlugin && auth == ""
		a.Locked = row["account_locked"].String == "Y" || locked[a.User+"@"+a.Host]
		a.IsRole = row["is_role"].String == "Y"
		for col, v := range row {
			if strings.HasSuffix(col, "_priv") && v.String == "Y" {
				a.Privs[strings.TrimSuffix(col, "_priv")] = true
			}
		}
		if a.IsRole {
			continue
		}
		st.Accounts = append(st.Accounts, a)
	}
	return rows.Err()
}

func kv(ctx context.Context, c *sql.Conn, q string) (map[string]string, error) {
	out := map[string]string{}
	err := each(ctx, c, q, func(r *sql.Rows) error {
		var k string
		var v sql.NullString
		if err := r.Scan(&k, &v); err != nil {
			return err
		}
		out[strings.ToLower(k)] = v.String
		return nil
	})
	return out, err
}

func each(ctx context.Context, c *sql.Conn, q string, f func(*sql.Rows) error) error {
	rows, err := c.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func strs(ctx context.Context, c *sql.Conn, q string, into *[]string) error {
	return each(ctx, c, q, func(r *sql.Rows) error {
		var s sql.NullString
		if err := r.Scan(&s); err != nil {
			return err
		}
		*into = append(*into, s.String)
		return nil
	})
}
