package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vigildb/vigil/internal/pgtest"
)

// The attack scenario: a hidden set-up, a "normal" phase that the
// first-seen rules learn from, then an attack phase that trips every
// PostgreSQL rule of SPEC §3 (except the GeoIP / cloud-range and Azure ones),
// with a below-threshold control next to every threshold rule.
//
// Each step declares the alerts it causes, next to the statements that cause
// them. Contributions of several steps to one alert (same rule and group) add
// up: iam.privileged_operation for ops_admin is the sum of its +1s.
//
// Grouping follows the built-in pack (rules/builtin): match rules group by
// user.name (and db.namespace: the scenario uses one database), so one alert
// per user per rule, whose count is the number of that user's matching
// statements. A statement is one event however many log lines it makes
// (log_statement + pgaudit, ERROR + STATEMENT, pgaudit sub-statements): the
// counts below are statements, which is what the test checks the pipeline's
// de-duplication against.

const (
	scenarioDB   = "shop"
	doneMarker   = "vigil-scenario-done"
	anyCount     = -1 // Expect.Count: the count is not checked (see the step's comment)
	secretPrefix = "Zq9-SECRET-"
)

// Expect is one alert the scenario must raise (or, with Absent, must not).
type Expect struct {
	Rule string
	// Group identifies the alert: each field must equal the alert's group
	// value of that name or, when the group lacks it, its entity value.
	Group map[string]string
	// Count is the alert's exact count; anyCount: not checked.
	Count int64
	// Absent: a control; no alert of Rule may match Group.
	Absent bool
	// Steps that contribute to it (filled by the scenario).
	Steps []string
}

func (e Expect) key() string {
	keys := make([]string, 0, len(e.Group))
	for k := range e.Group {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(e.Rule)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, e.Group[k])
	}
	return b.String()
}

func (e Expect) String() string {
	s := e.key()
	switch {
	case e.Absent:
		return s + " (absent)"
	case e.Count == anyCount:
		return s + " count=any"
	default:
		return fmt.Sprintf("%s count=%d", s, e.Count)
	}
}

// expect: rule raises one alert for group, adding n to its count.
func expect(rule string, n int64, group ...string) Expect {
	return Expect{Rule: rule, Group: kv(group...), Count: n}
}

// absent: a control; rule raises nothing for group.
func absent(rule string, group ...string) Expect {
	return Expect{Rule: rule, Group: kv(group...), Absent: true}
}

func kv(pairs ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = pairs[i+1]
	}
	return m
}

const (
	user   = "user.name"
	client = "client.address"
)

// Scenario is what a run produced: the learning cutoff, the expected alerts
// and the secrets that must never leave Vigil in clear.
type Scenario struct {
	LearnUntil time.Time
	// Secrets must never appear in an event or alert; SecretCarriers are
	// pieces of the statements that carried them, which must (masked).
	Secrets        []string
	SecretCarriers []string
	Steps          []string // step descriptions, in order
	ServerVersion  string
	PgauditVersion string

	expects map[string]*Expect
	order   []string
}

// Expects lists the merged expectations, in the order first declared.
func (sc *Scenario) Expects() []Expect {
	out := make([]Expect, 0, len(sc.order))
	for _, k := range sc.order {
		out = append(out, *sc.expects[k])
	}
	return out
}

func (sc *Scenario) add(step string, exps []Expect) {
	sc.Steps = append(sc.Steps, step)
	for _, e := range exps {
		k := e.key()
		cur, ok := sc.expects[k]
		if !ok {
			e.Steps = []string{step}
			cp := e
			sc.expects[k] = &cp
			sc.order = append(sc.order, k)
			continue
		}
		if cur.Absent != e.Absent {
			panic("scenario: " + k + " is both expected and absent")
		}
		cur.Steps = append(cur.Steps, step)
		if cur.Count == anyCount || e.Count == anyCount {
			cur.Count = anyCount
		} else {
			cur.Count += e.Count
		}
	}
}

// role is a login the scenario uses. Passwords of set-up roles never appear
// in the replayed log (the set-up goes to its own log file).
type role struct{ name, password string }

func login(name string) role { return role{name, "pw-" + name} }

var (
	opsAdmin    = login("ops_admin") // superuser; brute-forced, then abused
	webapp      = login("webapp")    // the shop's application account
	devCarol    = login("dev_carol") // developer: owns routines
	dbaDave     = login("dba_dave")  // owner of reporting / billing tables
	migAlter    = login("mig_alter")
	migAlterOK  = login("mig_alter_ok")
	migDrop     = login("mig_drop")
	migDropOK   = login("mig_drop_ok")
	migCreate   = login("mig_create")
	migCreateOK = login("mig_create_ok")
	etlDelete   = login("etl_delete")
	etlDeleteOK = login("etl_delete_ok")
	analyst     = login("analyst")
	reporter    = login("reporter")
	newbie      = login("newbie")  // exists, but never logs in before the cutoff
	auditor     = login("auditor") // never logs in; dropped by the attacker
)

// runner carries the scenario's state and fails the test on any surprise
// from the server.
type runner struct {
	t   testing.TB
	ctx context.Context
	srv *pgtest.Server
	sc  *Scenario
	// pids are the backends of the sessions opened so far (normal phase).
	pids []uint32
}

func (r *runner) step(desc string, exps ...Expect) {
	r.t.Helper()
	r.sc.add(desc, exps)
}

type connOpt func(*pgtest.ConnOptions)

func appName(a string) connOpt { return func(o *pgtest.ConnOptions) { o.AppName = a } }
func param(k, v string) connOpt {
	return func(o *pgtest.ConnOptions) {
		if o.Params == nil {
			o.Params = map[string]string{}
		}
		o.Params[k] = v
	}
}

// extended: queries with arguments use pgx's extended protocol (the log shows
// "execute <name>: ..." and a DETAIL with the parameters), as applications do.
func extended(o *pgtest.ConnOptions) { o.SimpleProtocol = false }

// connect logs in from src. Default: psql-like simple protocol, app "psql".
func (r *runner) connect(u role, src string, opts ...connOpt) *pgx.Conn {
	r.t.Helper()
	o := pgtest.ConnOptions{Source: src, AppName: "psql", SimpleProtocol: true}
	for _, f := range opts {
		f(&o)
	}
	c, err := r.srv.Connect(r.ctx, u.name, u.password, scenarioDB, o)
	if err != nil {
		r.t.Fatalf("login %s from %s: %v", u.name, src, err)
	}
	r.pids = append(r.pids, c.PgConn().PID())
	return c
}

// badLogin tries a wrong password over the wire and insists on the server's
// 28P01.
func (r *runner) badLogin(userName, password, src string) {
	r.t.Helper()
	c, err := r.srv.Connect(r.ctx, userName, password, scenarioDB, pgtest.ConnOptions{Source: src, AppName: "psql"})
	if err == nil {
		c.Close(r.ctx)
		r.t.Fatalf("login %s/%q from %s succeeded, want 28P01", userName, password, src)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		r.t.Fatalf("login %s from %s: %v, want SQLSTATE 28P01", userName, src, err)
	}
}

func (r *runner) exec(c *pgx.Conn, sql string, args ...any) {
	r.t.Helper()
	if _, err := c.Exec(r.ctx, sql, args...); err != nil {
		r.t.Fatalf("%s: %s: %v", c.Config().User, sql, err)
	}
}

// fail runs sql and insists that the server refuses it with code.
func (r *runner) fail(c *pgx.Conn, code, sql string) {
	r.t.Helper()
	_, err := c.Exec(r.ctx, sql)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != code {
		r.t.Fatalf("%s: %s: got %v, want SQLSTATE %s", c.Config().User, sql, err, code)
	}
}

func (r *runner) close(cs ...*pgx.Conn) {
	for _, c := range cs {
		if err := c.Close(r.ctx); err != nil {
			r.t.Fatalf("close: %v", err)
		}
	}
}

// waitLog waits until all three log files contain text.
func (r *runner) waitLog(text string) {
	r.t.Helper()
	if err := r.srv.WaitForLog(r.ctx, text); err != nil {
		r.t.Fatal(err)
	}
}

// runScenario sets the server up, switches its logs to logName and plays
// the normal and attack phases; it returns once the last statement is in
// all three log files.
func runScenario(ctx context.Context, t testing.TB, srv *pgtest.Server, logName string) *Scenario {
	t.Helper()
	sc := &Scenario{expects: map[string]*Expect{}}
	for i := 1; i <= 5; i++ {
		sc.Secrets = append(sc.Secrets, fmt.Sprintf("%s%d", secretPrefix, i))
	}
	sc.SecretCarriers = []string{"CREATE ROLE backdoor LOGIN PASSWORD", "ALTER ROLE reporter PASSWORD",
		"CREATE USER MAPPING FOR ops_admin", "dblink_connect('loot'", "pgp_sym_encrypt('4111"}
	r := &runner{t: t, ctx: ctx, srv: srv, sc: sc}
	r.setup()
	if err := srv.SwitchLogs(ctx, logName); err != nil {
		t.Fatal(err)
	}
	r.normalPhase()
	r.attackPhase()
	return sc
}

// setup creates the database, roles and objects. It runs before
// SwitchLogs, so none of it is in the replayed log (its CREATE ROLE ...
// PASSWORD statements would otherwise raise iam.user_created).
func (r *runner) setup() {
	t, ctx := r.t, r.ctx
	admin, err := r.srv.Admin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.exec(admin, "CREATE DATABASE "+scenarioDB)
	r.close(admin)
	if admin, err = r.srv.AdminDB(ctx, scenarioDB); err != nil {
		t.Fatal(err)
	}
	defer r.close(admin)
	if err := admin.QueryRow(ctx, "SHOW server_version").Scan(&r.sc.ServerVersion); err != nil {
		t.Fatal(err)
	}
	stmts := []string{
		"CREATE EXTENSION pgaudit",
		"CREATE EXTENSION pgcrypto",
		"CREATE EXTENSION dblink",
		"CREATE EXTENSION postgres_fdw",
		fmt.Sprintf("CREATE SERVER warehouse FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '%d', dbname 'warehouse')", r.srv.Port()),
		"GRANT CREATE ON SCHEMA public TO PUBLIC",
	}
	for _, u := range []role{opsAdmin, webapp, devCarol, dbaDave, migAlter, migAlterOK, migDrop, migDropOK,
		migCreate, migCreateOK, etlDelete, etlDeleteOK, analyst, reporter, newbie, auditor} {
		attrs := "LOGIN"
		if u == opsAdmin {
			attrs = "LOGIN SUPERUSER"
		}
		stmts = append(stmts, fmt.Sprintf("CREATE ROLE %s %s PASSWORD '%s'", u.name, attrs, u.password))
	}
	stmts = append(stmts,
		// postgres: customer data
		"CREATE TABLE customers (id int PRIMARY KEY, name text, email text, card text)",
		"INSERT INTO customers SELECT g, 'customer ' || g, 'c' || g || '@example.com', '4111-0000-0000-' || lpad(g::text, 4, '0') FROM generate_series(1, 120000) g",
		// webapp: the shop
		"SET ROLE webapp",
		"CREATE TABLE products (id int PRIMARY KEY, name text, description text, price numeric, views int DEFAULT 0)",
		"INSERT INTO products SELECT g, 'product ' || g, 'nice thing ' || g, g * 10, 0 FROM generate_series(1, 20) g",
		"CREATE TABLE orders (id serial PRIMARY KEY, product_id int, qty int, created timestamptz DEFAULT now())",
		"CREATE TABLE cart_items (id int, product_id int)",
		"GRANT SELECT, UPDATE ON products TO dev_carol",
		"GRANT SELECT ON products TO analyst, reporter, newbie",
		"RESET ROLE",
		// dev_carol: routines
		"SET ROLE dev_carol",
		"CREATE FUNCTION apply_discount(p numeric) RETURNS numeric LANGUAGE sql AS $$SELECT p * 0.9$$",
		"CREATE PROCEDURE refresh_stats() LANGUAGE plpgsql AS $$BEGIN UPDATE products SET views = views + 1 WHERE id = 1; END$$",
		"RESET ROLE",
		// dba_dave: billing and reporting
		"SET ROLE dba_dave",
		"CREATE TABLE audit_trail (id int, note text)",
		"INSERT INTO audit_trail SELECT g, 'note ' || g FROM generate_series(1, 10) g",
		"CREATE TABLE invoices_staging (id int)",
		"CREATE TABLE invoices (id serial PRIMARY KEY, amount numeric)",
		"CREATE INDEX invoices_amount ON invoices (amount)",
		"CREATE TABLE products_report (product_id int, sold int)",
		"CREATE VIEW v_report AS SELECT product_id, sold FROM products_report",
		"RESET ROLE",
		// migration and ETL accounts
		"SET ROLE mig_alter", "CREATE TABLE mig_a (id int)", "RESET ROLE",
		"SET ROLE mig_alter_ok", "CREATE TABLE mig_b (id int)", "RESET ROLE",
		"SET ROLE mig_drop",
		"CREATE TABLE drop_t (a int, b int)", "CREATE INDEX drop_i1 ON drop_t (a)", "CREATE INDEX drop_i2 ON drop_t (b)",
		"CREATE SEQUENCE drop_s1", "CREATE SEQUENCE drop_s2", "CREATE TYPE drop_ty AS (x int)", "CREATE DOMAIN drop_dom AS int",
		"RESET ROLE",
		"SET ROLE mig_drop_ok",
		"CREATE TABLE keep_t (a int, b int)", "CREATE INDEX keep_i1 ON keep_t (a)", "CREATE INDEX keep_i2 ON keep_t (b)",
		"CREATE SEQUENCE keep_s1", "CREATE SEQUENCE keep_s2", "CREATE SEQUENCE keep_s3",
		"RESET ROLE",
		"SET ROLE etl_delete", "CREATE TABLE staging_a AS SELECT g AS id FROM generate_series(1, 30) g", "RESET ROLE",
		"SET ROLE etl_delete_ok", "CREATE TABLE staging_b AS SELECT g AS id FROM generate_series(1, 30) g", "RESET ROLE",
	)
	for _, s := range stmts {
		r.exec(admin, s)
	}
	if err := admin.QueryRow(ctx, "SELECT extversion FROM pg_extension WHERE extname = 'pgaudit'").Scan(&r.sc.PgauditVersion); err != nil {
		t.Fatal(err)
	}
}

// normalPhase: every account that logs in during the attack logs in once
// before it, doing ordinary work, so access.unfamiliar_principal learns it.
// Nothing here may raise an alert. It ends by fixing LearnUntil between the
// last normal and the first attack log line.
func (r *runner) normalPhase() {
	r.step("normal phase: every account but newbie logs in and works as usual (learning period)")
	admin, err := r.srv.AdminDB(r.ctx, scenarioDB)
	if err != nil {
		r.t.Fatal(err)
	}
	r.pids = append(r.pids, admin.PgConn().PID())
	r.exec(admin, "SELECT count(*) FROM customers")
	r.close(admin)

	app := r.connect(webapp, "127.0.0.5", appName("shop-web"), extended)
	for id := 1; id <= 3; id++ {
		r.exec(app, "SELECT name, description, price FROM products WHERE id = $1", id)
	}
	r.exec(app, "INSERT INTO orders (product_id, qty) VALUES ($1, $2)", 2, 1)
	r.close(app)

	work := []struct {
		u   role
		src string
		app string
		sql string
	}{
		{opsAdmin, "127.0.0.1", "psql", "SELECT count(*) FROM customers"},
		{devCarol, "127.0.0.7", "psql", "SELECT apply_discount(100)"},
		{dbaDave, "127.0.0.1", "psql", "SELECT count(*) FROM invoices"},
		{migAlter, "127.0.0.10", "migrate", "SELECT count(*) FROM mig_a"},
		{migAlterOK, "127.0.0.10", "migrate", "SELECT count(*) FROM mig_b"},
		{migDrop, "127.0.0.10", "migrate", "SELECT count(*) FROM drop_t"},
		{migDropOK, "127.0.0.10", "migrate", "SELECT count(*) FROM keep_t"},
		{migCreate, "127.0.0.10", "migrate", "SELECT 1"},
		{migCreateOK, "127.0.0.10", "migrate", "SELECT 1"},
		{etlDelete, "127.0.0.11", "etl", "SELECT count(*) FROM staging_a"},
		{etlDeleteOK, "127.0.0.11", "etl", "SELECT count(*) FROM staging_b"},
		{analyst, "127.0.0.12", "psql", "SELECT name, price FROM products ORDER BY price DESC LIMIT 5"},
		{reporter, "127.0.0.13", "metabase", "SELECT count(*) FROM products"},
	}
	for _, w := range work {
		c := r.connect(w.u, w.src, appName(w.app))
		r.exec(c, w.sql)
		r.close(c)
	}

	// Every normal-phase session must be over, in the log, before the
	// cutoff: wait for the disconnection records of their backends.
	if err := waitDisconnected(r.ctx, r.srv.LogFiles().JSON, r.pids); err != nil {
		r.t.Fatal(err)
	}
	// Log timestamps are milliseconds, truncated. Everything so far is
	// stamped <= now's millisecond < LearnUntil; the attack starts after
	// LearnUntil's next millisecond, so its lines are stamped > LearnUntil.
	r.sc.LearnUntil = time.Now().UTC().Truncate(time.Millisecond).Add(time.Millisecond)
	for start := r.sc.LearnUntil.Add(time.Millisecond); time.Now().Before(start); {
		time.Sleep(time.Until(start)) // waiting for the clock, not for a process
	}
}

func (r *runner) attackPhase() {
	// ---- authentication ----
	r.step("failed-login burst: 6 wrong passwords for ops_admin from 127.0.0.2 (one user: no spray)",
		expect("auth.failed_login_burst", 6, client, "127.0.0.2"),
		absent("auth.password_spray", client, "127.0.0.2"))
	for _, pw := range []string{"Winter2026!", "admin", "123456", "password", "ops_admin", "qwerty"} {
		r.badLogin(opsAdmin.name, pw, "127.0.0.2")
	}

	r.step("control: 5 wrong passwords from 127.0.0.3 for 3 distinct users (analyst, reporter, ghost): below burst and spray",
		absent("auth.failed_login_burst", client, "127.0.0.3"),
		absent("auth.password_spray", client, "127.0.0.3"))
	for _, u := range []string{"analyst", "analyst", "reporter", "reporter", "ghost"} {
		r.badLogin(u, "guess", "127.0.0.3")
	}

	r.step("password spray: 4 distinct users (2 real, 2 unknown) once each from 127.0.0.4: 4 failures, below the burst",
		expect("auth.password_spray", 4, client, "127.0.0.4"),
		absent("auth.failed_login_burst", client, "127.0.0.4"))
	for _, u := range []string{"webapp", "reporter", "admin", "root"} {
		r.badLogin(u, "Spring2026!", "127.0.0.4")
	}

	// ---- error bursts (failed logins are not errors for this rule) ----
	r.step("error burst: analyst probes 4 missing tables from 127.0.0.12",
		expect("errors.burst_from_ip", 4, client, "127.0.0.12"))
	c := r.connect(analyst, "127.0.0.12")
	for _, tbl := range []string{"secrets", "passwords", "users", "admin_users"} {
		r.fail(c, "42P01", "SELECT * FROM "+tbl)
	}
	r.close(c)

	r.step("control: reporter makes 3 errors from 127.0.0.13",
		absent("errors.burst_from_ip", client, "127.0.0.13"))
	c = r.connect(reporter, "127.0.0.13", appName("metabase"))
	r.fail(c, "42P01", "SELECT * FROM salaries")
	r.fail(c, "42P01", "SELECT * FROM payroll")
	r.fail(c, "42703", "SELECT secret FROM products")
	r.close(c)

	// ---- DDL / DML bursts, each with a control one below the threshold ----
	r.step("ALTER burst: mig_alter runs 11 ALTER TABLE (each also ddl.alter_table)",
		expect("ddl.alter_burst", 11, user, "mig_alter"),
		expect("ddl.alter_table", 11, user, "mig_alter"))
	c = r.connect(migAlter, "127.0.0.10", appName("migrate"))
	for i := 1; i <= 11; i++ {
		r.exec(c, fmt.Sprintf("ALTER TABLE mig_a ADD COLUMN c%d int", i))
	}
	r.close(c)

	r.step("control: mig_alter_ok runs 10 ALTER TABLE (audit trail only)",
		absent("ddl.alter_burst", user, "mig_alter_ok"),
		expect("ddl.alter_table", 10, user, "mig_alter_ok"))
	c = r.connect(migAlterOK, "127.0.0.10", appName("migrate"))
	for i := 1; i <= 10; i++ {
		r.exec(c, fmt.Sprintf("ALTER TABLE mig_b ADD COLUMN c%d int", i))
	}
	r.close(c)

	// Indexes, sequences, a type and a domain: DROPs that no single-statement
	// rule reports, so only the burst speaks.
	r.step("DROP burst: mig_drop drops 6 objects (2 indexes, 2 sequences, a type, a domain)",
		expect("ddl.drop_burst", 6, user, "mig_drop"))
	c = r.connect(migDrop, "127.0.0.10", appName("migrate"))
	for _, s := range []string{"DROP INDEX drop_i1", "DROP INDEX drop_i2", "DROP SEQUENCE drop_s1",
		"DROP SEQUENCE drop_s2", "DROP TYPE drop_ty", "DROP DOMAIN drop_dom"} {
		r.exec(c, s)
	}
	r.close(c)

	r.step("control: mig_drop_ok drops 5 objects",
		absent("ddl.drop_burst", user, "mig_drop_ok"))
	c = r.connect(migDropOK, "127.0.0.10", appName("migrate"))
	for _, s := range []string{"DROP INDEX keep_i1", "DROP INDEX keep_i2", "DROP SEQUENCE keep_s1",
		"DROP SEQUENCE keep_s2", "DROP SEQUENCE keep_s3"} {
		r.exec(c, s)
	}
	r.close(c)

	r.step("DELETE burst: etl_delete runs 21 DELETE ... WHERE id = $1 (extended protocol, parameters logged)",
		expect("dml.delete_burst", 21, user, "etl_delete"))
	c = r.connect(etlDelete, "127.0.0.11", appName("etl"), extended)
	for i := 1; i <= 21; i++ {
		r.exec(c, "DELETE FROM staging_a WHERE id = $1", i)
	}
	r.close(c)

	r.step("control: etl_delete_ok runs 20 DELETE ... WHERE id = n (simple protocol)",
		absent("dml.delete_burst", user, "etl_delete_ok"))
	c = r.connect(etlDeleteOK, "127.0.0.11", appName("etl"))
	for i := 1; i <= 20; i++ {
		r.exec(c, fmt.Sprintf("DELETE FROM staging_b WHERE id = %d", i))
	}
	r.close(c)

	r.step("CREATE TABLE burst: mig_create creates 4 tables (each also ddl.table_created)",
		expect("ddl.tables_created_burst", 4, user, "mig_create"),
		expect("ddl.table_created", 4, user, "mig_create"))
	c = r.connect(migCreate, "127.0.0.10", appName("migrate"))
	for i := 1; i <= 4; i++ {
		r.exec(c, fmt.Sprintf("CREATE TABLE stage_%d (id int, payload text)", i))
	}
	r.close(c)

	r.step("control: mig_create_ok creates 3 tables",
		absent("ddl.tables_created_burst", user, "mig_create_ok"),
		expect("ddl.table_created", 3, user, "mig_create_ok"))
	c = r.connect(migCreateOK, "127.0.0.10", appName("migrate"))
	for i := 1; i <= 3; i++ {
		r.exec(c, fmt.Sprintf("CREATE TABLE scratch_%d (id int)", i))
	}
	r.close(c)

	// ---- destructive single statements ----
	c = r.connect(dbaDave, "127.0.0.1")
	r.step("dba_dave: DELETE without WHERE",
		expect("dml.mass_delete", 1, user, "dba_dave"))
	r.exec(c, "DELETE FROM audit_trail")
	r.step("dba_dave: TRUNCATE",
		expect("dml.mass_delete", 1, user, "dba_dave"),
		expect("ddl.drop_table", 1, user, "dba_dave"))
	r.exec(c, "TRUNCATE invoices_staging")
	r.step("dba_dave: DROP TABLE with a serial, primary key and index (pgaudit logs one line per dependent object)",
		expect("ddl.drop_table", 1, user, "dba_dave"))
	r.exec(c, "DROP TABLE invoices")
	r.step("dba_dave: DROP VIEW",
		expect("ddl.view_dropped", 1, user, "dba_dave"))
	r.exec(c, "DROP VIEW v_report")
	r.step("dba_dave: plain GRANT SELECT (low)",
		expect("dcl.grant", 1, user, "dba_dave"))
	r.exec(c, "GRANT SELECT ON products_report TO reporter")
	r.step("control: dba_dave copies a table TO STDOUT (not a server file)",
		absent("exfil.copy_out", user, "dba_dave"))
	if _, err := c.PgConn().CopyTo(r.ctx, io.Discard, "COPY products_report TO STDOUT WITH CSV"); err != nil {
		r.t.Fatal(err)
	}
	r.close(c)

	// ---- server-side code ----
	c = r.connect(devCarol, "127.0.0.7")
	r.step("dev_carol: CREATE OR REPLACE FUNCTION apply_discount (now gives everything away)",
		expect("code.routine_tampered", 1, user, "dev_carol"))
	r.exec(c, "CREATE OR REPLACE FUNCTION apply_discount(p numeric) RETURNS numeric LANGUAGE sql AS $$SELECT p * 0$$")
	r.step("dev_carol: CALL refresh_stats() (listed in sensitive_routines by integration/testdata/rules.yaml)",
		expect("code.routine_executed", 1, user, "dev_carol"))
	r.exec(c, "CALL refresh_stats()")
	hidden := base64.StdEncoding.EncodeToString([]byte("UPDATE products SET price = 0.01 WHERE id = 3"))
	r.step("dev_carol: DO block that EXECUTEs base64-decoded SQL",
		expect("code.obfuscated_object", 1, user, "dev_carol"))
	r.exec(c, fmt.Sprintf("DO $$BEGIN EXECUTE convert_from(decode('%s', 'base64'), 'UTF8'); END$$", hidden))
	r.step("dev_carol: C-language function from a shared library (refused: permission denied for language c)",
		expect("code.obfuscated_object", 1, user, "dev_carol"))
	r.fail(c, "42501", "CREATE FUNCTION evil() RETURNS int AS '/tmp/evil.so', 'evil' LANGUAGE C")
	r.step("dev_carol: plpython3u function (refused: language not installed)",
		expect("code.obfuscated_object", 1, user, "dev_carol"))
	r.fail(c, "42704", "CREATE FUNCTION sh(cmd text) RETURNS text AS $$import subprocess; return subprocess.check_output(cmd, shell=True).decode()$$ LANGUAGE plpython3u")
	r.close(c)

	// ---- SQL injection through the application account ----
	c = r.connect(webapp, "127.0.0.5", appName("shop-web"), param("statement_timeout", "300"))
	const q = "SELECT name, description FROM products WHERE id = "
	r.step("webapp: tautology (id = 1 OR 1=1)", expect("sqli.suspected", 1, user, "webapp"))
	r.exec(c, q+"1 OR 1=1")
	r.step("webapp: UNION SELECT NULL, usename FROM pg_user", expect("sqli.suspected", 1, user, "webapp"))
	r.exec(c, q+"1 UNION SELECT NULL, usename FROM pg_user")
	r.step("webapp: time-based pg_sleep(2), cancelled by statement_timeout=300ms", expect("sqli.suspected", 1, user, "webapp"))
	r.fail(c, "57014", q+"1 AND 1=(SELECT 1 FROM pg_sleep(2))")
	r.step("webapp: stacked query 1; DROP TABLE cart_items (it runs: webapp owns the table)",
		expect("sqli.suspected", 1, user, "webapp"),
		expect("ddl.drop_table", 1, user, "webapp"))
	r.exec(c, q+"1; DROP TABLE cart_items")
	r.close(c)

	// Group is client address + app; count depends on how many of the
	// session's events (login, logout) carry the app name: not checked.
	r.step("sqlmap/1.7 logs in as webapp from 127.0.0.8",
		expect("access.harmful_application", anyCount, client, "127.0.0.8", "app.name", "sqlmap/1.7"))
	c = r.connect(webapp, "127.0.0.8", appName("sqlmap/1.7"))
	r.close(c)

	r.step("newbie logs in for the first time, after the learning cutoff",
		expect("access.unfamiliar_principal", 1, user, "newbie"))
	c = r.connect(newbie, "127.0.0.9")
	r.exec(c, "SELECT name FROM products WHERE id = 1")
	r.close(c)

	// ---- the brute-forced superuser at work ----
	// Sequence rule: its count semantics (step-2 events vs all) are the
	// engine's; one login from 127.0.0.2 follows the burst.
	r.step("ops_admin logs in from 127.0.0.2 with the right password after the burst",
		expect("auth.bruteforce_success", anyCount, client, "127.0.0.2"))
	c = r.connect(opsAdmin, "127.0.0.2")

	r.step("ops_admin: CREATE ROLE backdoor LOGIN PASSWORD (secret 1)",
		expect("iam.user_created", 1, user, "ops_admin"))
	r.exec(c, "CREATE ROLE backdoor LOGIN PASSWORD '"+secretPrefix+"1'")
	r.step("control: ops_admin creates a NOLOGIN group role (not a user)")
	r.exec(c, "CREATE ROLE report_readers NOLOGIN")
	r.step("ops_admin: ALTER ROLE backdoor SUPERUSER",
		expect("iam.privileged_operation", 1, user, "ops_admin"))
	r.exec(c, "ALTER ROLE backdoor SUPERUSER")
	r.step("ops_admin: GRANT ALL ... WITH GRANT OPTION (high)",
		expect("dcl.grant", 1, user, "ops_admin"))
	r.exec(c, "GRANT ALL ON customers TO backdoor WITH GRANT OPTION")
	r.step("ops_admin: GRANT pg_read_server_files (privileged role: high)",
		expect("dcl.grant", 1, user, "ops_admin"))
	r.exec(c, "GRANT pg_read_server_files TO backdoor")
	r.step("ops_admin: DROP ROLE auditor",
		expect("iam.user_dropped", 1, user, "ops_admin"))
	r.exec(c, "DROP ROLE auditor")

	r.step("ops_admin: ALTER ROLE reporter PASSWORD (secret 2)")
	r.exec(c, "ALTER ROLE reporter PASSWORD '"+secretPrefix+"2'")
	r.step("ops_admin: CREATE USER MAPPING ... OPTIONS (password ...) (secret 3)")
	r.exec(c, "CREATE USER MAPPING FOR ops_admin SERVER warehouse OPTIONS (user 'loader', password '"+secretPrefix+"3')")
	r.step("ops_admin: dblink_connect with password= to a socket that does not exist (secret 4; refused: the ERROR's STATEMENT line repeats it)",
		expect("iam.privileged_operation", 1, user, "ops_admin"))
	r.fail(c, "08001", "SELECT dblink_connect('loot', 'host=/nonexistent-vigil dbname=loot user=loot password="+secretPrefix+"4')")
	r.step("ops_admin: pgp_sym_encrypt with a key (secret 5)")
	r.exec(c, "SELECT pgp_sym_encrypt('4111-1111-1111-1111', '"+secretPrefix+"5')")

	// Row counts are in the log only with pgaudit.log_rows = on. The count of
	// a summing rule (rows or events) is the engine's choice: not checked.
	if r.srv.Options().PgauditLogRows {
		r.step("ops_admin: dumps all 120000 customers (SELECT *)",
			expect("exfil.large_read", anyCount, user, "ops_admin"))
	} else {
		r.step("ops_admin: dumps all 120000 customers (SELECT *): no row counts without pgaudit.log_rows",
			absent("exfil.large_read", user, "ops_admin"))
	}
	r.exec(c, "SELECT * FROM customers")

	r.step("ops_admin: COPY customers TO a server file",
		expect("exfil.copy_out", 1, user, "ops_admin"))
	r.exec(c, "COPY customers TO '"+filepath.Join(r.srv.Dir, "customers.csv")+"' WITH CSV")
	r.step("ops_admin: COPY customers TO PROGRAM",
		expect("exfil.copy_out", 1, user, "ops_admin"),
		expect("iam.privileged_operation", 1, user, "ops_admin"))
	r.exec(c, "COPY customers TO PROGRAM 'cat > /dev/null'")
	r.step("ops_admin: lo_from_bytea (not privileged), then lo_export to a server file",
		expect("exfil.copy_out", 1, user, "ops_admin"),
		expect("iam.privileged_operation", 1, user, "ops_admin"))
	r.exec(c, "SELECT lo_from_bytea(424242, 'loot'::bytea)")
	r.exec(c, "SELECT lo_export(424242, '"+filepath.Join(r.srv.Dir, "loot.bin")+"')")
	r.step("ops_admin: pg_read_file('/etc/passwd')",
		expect("iam.privileged_operation", 1, user, "ops_admin"))
	r.exec(c, "SELECT pg_read_file('/etc/passwd')")

	// ---- covering tracks (last: nothing after it depends on logging) ----
	if r.srv.Options().LogStatement == "all" {
		r.step("ops_admin: SET pgaudit.log = 'none' (pgaudit does not audit it; only log_statement shows it), then a read, then RESET",
			expect("defense_evasion.audit_disabled", 1, "sql.setting.name", "pgaudit.log"))
	} else {
		r.step("ops_admin: SET pgaudit.log = 'none', a read, RESET: invisible without log_statement = all (pgaudit's blind spot)",
			absent("defense_evasion.audit_disabled", "sql.setting.name", "pgaudit.log"))
	}
	r.exec(c, "SET pgaudit.log = 'none'")
	r.exec(c, "SELECT name, card FROM customers WHERE id < 5")
	r.exec(c, "RESET pgaudit.log")
	// Two events: the ALTER SYSTEM statement and the server's own
	// "parameter "log_statement" changed to "none"" after the reload.
	r.step("ops_admin: ALTER SYSTEM SET log_statement = 'none' + pg_reload_conf()",
		expect("defense_evasion.audit_disabled", 2, "sql.setting.name", "log_statement"),
		expect("iam.privileged_operation", 1, user, "ops_admin"))
	r.exec(c, "ALTER SYSTEM SET log_statement = 'none'")
	r.exec(c, "SELECT pg_reload_conf()")
	r.waitLog(`parameter "log_statement" changed to "none"`)
	r.step("ops_admin: a read that only pgaudit sees, then ALTER SYSTEM SET log_statement = 'all' + pg_reload_conf() (restore)",
		expect("iam.privileged_operation", 1, user, "ops_admin"))
	r.exec(c, "SELECT email, card FROM customers")
	r.exec(c, "ALTER SYSTEM SET log_statement = 'all'")
	r.exec(c, "SELECT pg_reload_conf()")
	r.waitLog(`parameter "log_statement" changed to "all"`)
	r.close(c)

	admin, err := r.srv.AdminDB(r.ctx, scenarioDB)
	if err != nil {
		r.t.Fatal(err)
	}
	r.exec(admin, "SELECT '"+doneMarker+"'")
	r.close(admin)
	r.waitLog(doneMarker)
}

// waitDisconnected polls a jsonlog file until it holds a disconnection
// record for every one of pids.
func waitDisconnected(ctx context.Context, path string, pids []uint32) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		gone := map[uint32]bool{}
		b, _ := os.ReadFile(path)
		for _, line := range bytes.Split(b, []byte("\n")) {
			var rec struct {
				PID     uint32 `json:"pid"`
				Message string `json:"message"`
			}
			if json.Unmarshal(line, &rec) == nil && strings.HasPrefix(rec.Message, "disconnection:") {
				gone[rec.PID] = true
			}
		}
		var left []uint32
		for _, p := range pids {
			if !gone[p] {
				left = append(left, p)
			}
		}
		if len(left) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: no disconnection yet for backends %v: %w", path, left, ctx.Err())
		case <-tick.C:
		}
	}
}
