// Package pgcheck grades a PostgreSQL server: it connects read-only
// (default_transaction_read_only, a statement timeout, simple protocol, no
// writes), reads settings, roles, pg_hba rules and per-database catalogs
// once, and evaluates the catalog of checks over what it read. With a data
// directory given (Options.PGData) it also checks the host's files.
package pgcheck

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vigildb/vigil/posture"
	"github.com/vigildb/vigil/posture/versions"
)

// Options configure a scan.
type Options struct {
	// DSN is a libpq connection string or URL.
	DSN string
	// Sensitive lists tables that must be protected by row-level security:
	// "schema.table" (looked up in every database) or "db.schema.table".
	Sensitive []string
	// PGData enables the host-level checks on this data directory.
	PGData string
	// Versions is the release table; nil uses the built-in one.
	Versions *versions.Table
	// Now is the time the version checks compare with; zero: time.Now().
	Now time.Time
	// StatementTimeout bounds every query (default 10s).
	StatementTimeout time.Duration
	// MaxDatabases caps how many databases are inspected (default 50).
	MaxDatabases int
}

type setting struct {
	Value, Unit, Source string
}

type role struct {
	Name                                           string
	Super, Inherit, CreateRole, CreateDB, CanLogin bool
	Replication, BypassRLS                         bool
	ConnLimit                                      int
	ValidUntil                                     *time.Time
}

type hbaRule struct {
	Line     int
	Type     string
	Database []string
	User     []string
	Address  string
	Netmask  string
	Method   string
	Options  []string
	Err      string
}

type identRule struct {
	Map, SysName, PGUser, Err string
}

type ext struct{ Name, Version, Default string }

type sensitiveTable struct {
	Name       string // db.schema.table
	RLS, Force bool
	Policies   int
}

type secdef struct {
	Name, Owner, Config string
	PublicExec          bool
}

type dbInfo struct {
	Name string
	Err  error

	PublicCreate     bool
	SecDef           []secdef
	Languages        map[string]bool // name → trusted
	TablePublic      []string
	GrantOption      []string
	DefaultACLPublic []string
	DefaultACL       []string
	Extensions       []ext
	PolicyNoRLS      []string
	RLSNoPolicy      []string
	Tables           map[string]sensitiveTable // schema.table → state
	AdminFuncGrants  []string
}

type database struct {
	Name                        string
	AllowConn, CanConnect       bool
	PublicCreate, PublicConnect bool
}

type state struct {
	opts     Options
	now      time.Time
	versions *versions.Table

	Version    string
	VersionNum int
	User       string
	Super      bool
	ReadAll    bool // superuser or pg_read_all_settings
	ReadStats  bool // superuser or pg_read_all_stats

	Settings map[string]setting
	Roles    []role
	members  map[string][]string // role → direct member roles
	parents  map[string][]string // member → roles it is a member of

	Authid       map[string]string // login role → none, md5, scram, other
	AuthidErr    error
	HBA          []hbaRule
	HBAErr       error
	Ident        []identRule
	IdentErr     error
	FileErrs     []string
	FileErr      error
	AuthidACL    []string
	AuthidACLErr error

	NonSSL, Remote int
	SSLErr         error
	Slots          []string // inactive slots
	SlotsErr       error
	Tablespaces    map[string]string
	Available      map[string]bool

	DBs     []database
	DBInfo  []dbInfo
	Skipped []string
	Host    *hostState
	notes   []string
}

// Scan connects, gathers and evaluates. The error is for failures that
// prevent any grading (bad DSN, unreachable server, failed login).
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
	if o.MaxDatabases == 0 {
		o.MaxDatabases = 50
	}
	cfg, secret, err := config(o.DSN, o.StatementTimeout)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		msg := posture.Redact(err.Error(), secret)
		if strings.Contains(msg, "no encryption") {
			msg += " (the server requires TLS here: add sslmode=require or verify-full)"
		}
		return nil, fmt.Errorf("connecting to %s: %s", posture.MaskDSN(o.DSN), msg)
	}
	defer conn.Close(context.Background())
	st := &state{opts: o, now: o.Now, versions: o.Versions}
	if err := st.gather(ctx, conn); err != nil {
		return nil, fmt.Errorf("reading %s: %s", posture.MaskDSN(o.DSN), posture.Redact(err.Error(), secret))
	}
	st.gatherDatabases(ctx, cfg, conn.Config().Database)
	if o.PGData != "" {
		st.Host = gatherHost(o.PGData, st)
	}
	rep := &posture.Report{
		Target:    posture.MaskDSN(o.DSN),
		Engine:    "postgres",
		Version:   st.Version,
		ScannedAt: o.Now.UTC(),
		Role:      st.User,
		Versions:  posture.VersionsInfo{Date: o.Versions.Date, Source: o.Versions.Source},
		Findings:  posture.Evaluate(Defs(), st, ""),
		Notes:     st.notes,
	}
	if n := o.Versions.StaleNote(o.Now); n != "" {
		rep.Notes = append(rep.Notes, n)
	}
	rep.Finish()
	return rep, nil
}

// config parses the DSN and makes the session safe: read-only, bounded
// statements, simple protocol, no prepared statements. It returns the
// password so errors can be scrubbed of it.
func config(dsn string, timeout time.Duration) (*pgx.ConnConfig, string, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, "", errors.New("no connection string")
	}
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return nil, "", fmt.Errorf("bad PostgreSQL URL %s: expected postgres://user@host:5432/dbname", posture.MaskDSN(dsn))
		}
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		var pe *pgconn.ParseConfigError
		msg := err.Error()
		if errors.As(err, &pe) {
			msg = "cannot parse the connection string"
		}
		return nil, "", fmt.Errorf("bad PostgreSQL DSN %s: %s", posture.MaskDSN(dsn), msg)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 15 * time.Second
	}
	ms := strconv.FormatInt(timeout.Milliseconds(), 10)
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["default_transaction_read_only"] = "on"
	cfg.RuntimeParams["statement_timeout"] = ms
	cfg.RuntimeParams["lock_timeout"] = ms
	cfg.RuntimeParams["idle_in_transaction_session_timeout"] = "60000"
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "vigil-scan"
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	cfg.StatementCacheCapacity = 0
	cfg.DescriptionCacheCapacity = 0
	return cfg, cfg.Password, nil
}

func (st *state) gather(ctx context.Context, c *pgx.Conn) error {
	if err := c.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('server_version_num')::int,
		current_user, r.rolsuper,
		r.rolsuper OR pg_has_role(current_user, 'pg_read_all_settings', 'USAGE'),
		r.rolsuper OR pg_has_role(current_user, 'pg_read_all_stats', 'USAGE')
		FROM pg_roles r WHERE r.rolname = current_user`).Scan(&st.Version, &st.VersionNum, &st.User, &st.Super, &st.ReadAll, &st.ReadStats); err != nil {
		return err
	}
	st.Settings = map[string]setting{}
	rows, err := c.Query(ctx, `SELECT name, COALESCE(setting, ''), COALESCE(unit, ''), source FROM pg_settings`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var n string
		var s setting
		if err := rows.Scan(&n, &s.Value, &s.Unit, &s.Source); err != nil {
			return err
		}
		st.Settings[n] = s
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = c.Query(ctx, `SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
		rolreplication, rolbypassrls, rolconnlimit, CASE WHEN isfinite(rolvaliduntil) THEN rolvaliduntil END
		FROM pg_roles ORDER BY rolname`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var r role
		if err := rows.Scan(&r.Name, &r.Super, &r.Inherit, &r.CreateRole, &r.CreateDB, &r.CanLogin,
			&r.Replication, &r.BypassRLS, &r.ConnLimit, &r.ValidUntil); err != nil {
			return err
		}
		st.Roles = append(st.Roles, r)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	st.members, st.parents = map[string][]string{}, map[string][]string{}
	rows, err = c.Query(ctx, `SELECT pg_get_userbyid(roleid), pg_get_userbyid(member) FROM pg_auth_members`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var r, m string
		if err := rows.Scan(&r, &m); err != nil {
			return err
		}
		st.members[r] = append(st.members[r], m)
		st.parents[m] = append(st.parents[m], r)
	}
	if err := rows.Err(); err != nil {
		return err
	}

	// Only the kind of hash is read, never the hash.
	st.Authid = map[string]string{}
	st.AuthidErr = collect(ctx, c, `SELECT rolname, CASE WHEN rolpassword IS NULL THEN 'none'
		WHEN rolpassword LIKE 'md5%' THEN 'md5' WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram' ELSE 'other' END
		FROM pg_authid WHERE rolcanlogin`, func(r pgx.Rows) error {
		var n, k string
		if err := r.Scan(&n, &k); err != nil {
			return err
		}
		st.Authid[n] = k
		return nil
	})
	st.HBAErr = collect(ctx, c, `SELECT COALESCE(line_number, 0), COALESCE(type, ''), COALESCE(database, '{}'), COALESCE(user_name, '{}'),
		COALESCE(address, ''), COALESCE(netmask, ''), COALESCE(auth_method, ''), COALESCE(options, '{}'), COALESCE(error, '')
		FROM pg_hba_file_rules ORDER BY line_number`, func(r pgx.Rows) error {
		var h hbaRule
		if err := r.Scan(&h.Line, &h.Type, &h.Database, &h.User, &h.Address, &h.Netmask, &h.Method, &h.Options, &h.Err); err != nil {
			return err
		}
		st.HBA = append(st.HBA, h)
		return nil
	})
	if st.VersionNum >= 150000 {
		st.IdentErr = collect(ctx, c, `SELECT COALESCE(map_name, ''), COALESCE(sys_name, ''), COALESCE(pg_username, ''), COALESCE(error, '')
			FROM pg_ident_file_mappings`, func(r pgx.Rows) error {
			var i identRule
			if err := r.Scan(&i.Map, &i.SysName, &i.PGUser, &i.Err); err != nil {
				return err
			}
			st.Ident = append(st.Ident, i)
			return nil
		})
	} else {
		st.IdentErr = errNotAvailable
	}
	st.FileErr = collect(ctx, c, `SELECT COALESCE(sourcefile, '') || ':' || COALESCE(sourceline::text, '') || ' ' || COALESCE(name, '') || ': ' || error
		FROM pg_file_settings WHERE error IS NOT NULL`, func(r pgx.Rows) error {
		var s string
		if err := r.Scan(&s); err != nil {
			return err
		}
		st.FileErrs = append(st.FileErrs, s)
		return nil
	})
	st.AuthidACLErr = collect(ctx, c, `SELECT c.relname || ' to ' || CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END || ' (' || a.privilege_type || ')'
		FROM pg_class c, aclexplode(c.relacl) a
		WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relname IN ('pg_authid', 'pg_shadow', 'pg_user_mapping')
		AND a.grantee <> c.relowner AND NOT COALESCE((SELECT rolsuper FROM pg_roles WHERE oid = a.grantee), false)`, func(r pgx.Rows) error {
		var s string
		if err := r.Scan(&s); err != nil {
			return err
		}
		st.AuthidACL = append(st.AuthidACL, s)
		return nil
	})
	st.SSLErr = c.QueryRow(ctx, `SELECT count(*) FILTER (WHERE NOT s.ssl), count(*)
		FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
		WHERE a.client_addr IS NOT NULL AND a.backend_type = 'client backend'`).Scan(&st.NonSSL, &st.Remote)
	st.SlotsErr = collect(ctx, c, `SELECT slot_name FROM pg_replication_slots WHERE NOT active`, func(r pgx.Rows) error {
		var s string
		if err := r.Scan(&s); err != nil {
			return err
		}
		st.Slots = append(st.Slots, s)
		return nil
	})
	st.Tablespaces = map[string]string{}
	_ = collect(ctx, c, `SELECT spcname, pg_tablespace_location(oid) FROM pg_tablespace`, func(r pgx.Rows) error {
		var n, l string
		if err := r.Scan(&n, &l); err != nil {
			return err
		}
		st.Tablespaces[n] = l
		return nil
	})
	st.Available = map[string]bool{}
	if err := collect(ctx, c, `SELECT name FROM pg_available_extensions`, func(r pgx.Rows) error {
		var n string
		if err := r.Scan(&n); err != nil {
			return err
		}
		st.Available[n] = true
		return nil
	}); err != nil {
		return err
	}
	return collect(ctx, c, `SELECT d.datname, d.datallowconn, has_database_privilege(d.oid, 'CONNECT'),
		EXISTS (SELECT 1 FROM aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) a WHERE a.grantee = 0 AND a.privilege_type = 'CREATE'),
		EXISTS (SELECT 1 FROM aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) a WHERE a.grantee = 0 AND a.privilege_type = 'CONNECT')
		FROM pg_database d WHERE NOT d.datistemplate ORDER BY d.datname`, func(r pgx.Rows) error {
		var d database
		if err := r.Scan(&d.Name, &d.AllowConn, &d.CanConnect, &d.PublicCreate, &d.PublicConnect); err != nil {
			return err
		}
		st.DBs = append(st.DBs, d)
		return nil
	})
}

var errNotAvailable = errors.New("not available in this version")

// collect runs a query and calls each for every row. Errors come back
// (permission denied is expected for some catalogs).
func collect(ctx context.Context, c *pgx.Conn, sql string, each func(pgx.Rows) error) error {
	rows, err := c.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// gatherDatabases visits every database the role may connect to.
func (st *state) gatherDatabases(ctx context.Context, base *pgx.ConnConfig, current string) {
	n := 0
	for _, d := range st.DBs {
		if !d.AllowConn || !d.CanConnect {
			st.Skipped = append(st.Skipped, d.Name)
			continue
		}
		if n >= st.opts.MaxDatabases {
			st.Skipped = append(st.Skipped, d.Name)
			continue
		}
		n++
		cfg := base.Copy()
		cfg.Database = d.Name
		info := dbInfo{Name: d.Name}
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			info.Err = errors.New(posture.Redact(err.Error(), base.Password))
		} else {
			info.Err = gatherDB(ctx, c, &info, st.sensitiveIn(d.Name))
			c.Close(context.Background())
		}
		st.DBInfo = append(st.DBInfo, info)
	}
	if len(st.Skipped) > 0 {
		st.notes = append(st.notes, fmt.Sprintf("databases not inspected (no CONNECT privilege, datallowconn off, or over the limit of %d): %s",
			st.opts.MaxDatabases, strings.Join(st.Skipped, ", ")))
	}
}

// sensitiveIn lists the "schema.table" names marked sensitive that apply
// to database db.
func (st *state) sensitiveIn(db string) []string {
	var out []string
	for _, s := range st.opts.Sensitive {
		parts := strings.Split(s, ".")
		switch len(parts) {
		case 3:
			if parts[0] == db {
				out = append(out, parts[1]+"."+parts[2])
			}
		case 2:
			out = append(out, s)
		case 1:
			out = append(out, "public."+s)
		}
	}
	return out
}

func strRows(ctx context.Context, c *pgx.Conn, sql string, into *[]string) error {
	return collect(ctx, c, sql, func(r pgx.Rows) error {
		var s string
		if err := r.Scan(&s); err != nil {
			return err
		}
		*into = append(*into, s)
		return nil
	})
}

const userSchemas = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'`

func gatherDB(ctx context.Context, c *pgx.Conn, d *dbInfo, sensitive []string) error {
	if err := c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) a
		WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE')`).Scan(&d.PublicCreate); err != nil {
		return err
	}
	if err := collect(ctx, c, `SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
		pg_get_userbyid(p.proowner), COALESCE(array_to_string(p.proconfig, ','), ''), has_function_privilege('public', p.oid, 'EXECUTE')
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		AND NOT EXISTS (SELECT 1 FROM pg_depend dp WHERE dp.classid = 'pg_proc'::regclass AND dp.objid = p.oid AND dp.deptype = 'e')
		ORDER BY 1`, func(r pgx.Rows) error {
		var s secdef
		if err := r.Scan(&s.Name, &s.Owner, &s.Config, &s.PublicExec); err != nil {
			return err
		}
		d.SecDef = append(d.SecDef, s)
		return nil
	}); err != nil {
		return err
	}
	d.Languages = map[string]bool{}
	if err := collect(ctx, c, `SELECT lanname, lanpltrusted FROM pg_language WHERE lanname NOT IN ('internal', 'c')`, func(r pgx.Rows) error {
		var n string
		var t bool
		if err := r.Scan(&n, &t); err != nil {
			return err
		}
		d.Languages[n] = t
		return nil
	}); err != nil {
		return err
	}
	if err := strRows(ctx, c, `SELECT n.nspname || '.' || c.relname || ' (' || string_agg(a.privilege_type, ',' ORDER BY a.privilege_type) || ')'
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
		WHERE a.grantee = 0 AND c.relkind IN ('r', 'v', 'm', 'f', 'p') AND `+userSchemas+`
		GROUP BY n.nspname, c.relname ORDER BY 1`, &d.TablePublic); err != nil {
		return err
	}
	if err := strRows(ctx, c, `SELECT DISTINCT n.nspname || '.' || c.relname || ' to ' || CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
		WHERE a.is_grantable AND a.grantee <> c.relowner AND NOT COALESCE((SELECT rolsuper FROM pg_roles WHERE oid = a.grantee), false)
		AND `+userSchemas+` ORDER BY 1`, &d.GrantOption); err != nil {
		return err
	}
	if err := collect(ctx, c, `SELECT pg_get_userbyid(d.defaclrole), COALESCE(n.nspname, '*'), d.defaclobjtype::text,
		CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, a.privilege_type
		FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a
		WHERE a.grantee <> d.defaclrole ORDER BY 1, 2, 3, 4`, func(r pgx.Rows) error {
		var owner, schema, typ, grantee, priv string
		if err := r.Scan(&owner, &schema, &typ, &grantee, &priv); err != nil {
			return err
		}
		kind := map[string]string{"r": "tables", "S": "sequences", "f": "functions", "T": "types", "n": "schemas", "L": "large objects"}[typ]
		s := fmt.Sprintf("%s: %s on %s in schema %s to %s", owner, priv, kind, schema, grantee)
		d.DefaultACL = append(d.DefaultACL, s)
		if grantee == "PUBLIC" && (typ == "r" || typ == "S" || typ == "n" || typ == "L") {
			d.DefaultACLPublic = append(d.DefaultACLPublic, s)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := collect(ctx, c, `SELECT e.extname, e.extversion, COALESCE(a.default_version, '')
		FROM pg_extension e LEFT JOIN pg_available_extensions a ON a.name = e.extname ORDER BY 1`, func(r pgx.Rows) error {
		var e ext
		if err := r.Scan(&e.Name, &e.Version, &e.Default); err != nil {
			return err
		}
		d.Extensions = append(d.Extensions, e)
		return nil
	}); err != nil {
		return err
	}
	if err := strRows(ctx, c, `SELECT DISTINCT n.nspname || '.' || c.relname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT c.relrowsecurity ORDER BY 1`, &d.PolicyNoRLS); err != nil {
		return err
	}
	if err := strRows(ctx, c, `SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relrowsecurity AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid) ORDER BY 1`, &d.RLSNoPolicy); err != nil {
		return err
	}
	if err := strRows(ctx, c, `SELECT DISTINCT p.proname || ' to ' || CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END
		FROM pg_proc p, aclexplode(p.proacl) a
		WHERE p.pronamespace = 'pg_catalog'::regnamespace AND a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner
		AND p.proname IN ('pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file', 'lo_import', 'lo_export',
			'pg_reload_conf', 'pg_rotate_logfile', 'pg_promote', 'pg_file_write', 'pg_file_rename', 'pg_file_unlink',
			'pg_file_sync', 'pg_logdir_ls', 'pg_terminate_backend', 'pg_cancel_backend', 'set_config')
		AND NOT (p.proname IN ('set_config', 'pg_terminate_backend', 'pg_cancel_backend') AND a.grantee = 0)
		AND NOT COALESCE((SELECT rolsuper FROM pg_roles WHERE oid = a.grantee), false) ORDER BY 1`, &d.AdminFuncGrants); err != nil {
		return err
	}
	d.Tables = map[string]sensitiveTable{}
	if len(sensitive) > 0 {
		want := map[string]bool{}
		for _, s := range sensitive {
			want[s] = true
		}
		if err := collect(ctx, c, `SELECT n.nspname || '.' || c.relname, c.relrowsecurity, c.relforcerowsecurity,
			(SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)::int
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')`, func(r pgx.Rows) error {
			var t sensitiveTable
			if err := r.Scan(&t.Name, &t.RLS, &t.Force, &t.Policies); err != nil {
				return err
			}
			if want[t.Name] {
				short := t.Name
				t.Name = d.Name + "." + t.Name
				d.Tables[short] = t
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}
