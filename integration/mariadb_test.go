package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/internal/mytest"
	"github.com/vigildb/vigil/pipeline"
	"github.com/vigildb/vigil/store"
)

// TestMariaDBAttackScenario plays the attack scenario of the PostgreSQL test
// (scenario_test.go) against a real MariaDB 10.11 with the server_audit
// plugin, which internal/mytest starts as an unprivileged user on a
// temporary data directory, a spare 127.0.0.1 port and its own socket. The
// clients connect over TCP from several loopback addresses (127.0.0.2 the
// brute-forcer, 127.0.0.3 the sprayer, 127.0.0.1 the DBA, ...). The part of
// the audit file written after the set-up is then replayed through the
// whole pipeline: exactly the expected alerts fire (the below-threshold
// controls do not), and no password of the scenario, good or bad, appears
// in any event, alert or unparsed-line report, although the raw audit log
// has several of them in clear.
func TestMariaDBAttackScenario(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), budget(t))
	defer cancel()
	began := time.Now()
	srv := mytest.Start(t, mytest.Options{
		Audit: true,
		// FederatedX: its CONNECTION string carries a password that
		// server_audit does not mask.
		Plugins:  []string{"ha_federatedx"},
		Settings: map[string]string{"secure_file_priv": "{dir}/files"},
	})
	t.Logf("server started in %v", time.Since(began).Round(time.Millisecond))
	sc, offset := runMariaDBScenario(ctx, t, srv)
	path := srv.AuditLogPath()
	// Stop before reading: the server closes the file, so no record is cut
	// at EOF.
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw := b[offset:]
	t.Logf("server and scenario: %v; %d audit records after the set-up; learn until %s",
		time.Since(began).Round(time.Millisecond), bytes.Count(raw, []byte("\n")), sc.LearnUntil.Format(time.RFC3339Nano))
	checkMariaDBCapture(t, raw, sc)
	if t.Failed() {
		t.FailNow()
	}
	replayMariaDB(ctx, t, raw, sc)
}

// Marker statements: the end of the hidden set-up, of the normal phase and
// of the scenario.
const (
	mySetupDone  = "vigil-mariadb-setup-done"
	myNormalDone = "vigil-mariadb-normal-done"
	myDone       = "vigil-mariadb-scenario-done"
)

var (
	myOps        = login("ops_admin") // ALL ON *.* WITH GRANT OPTION; brute-forced, then abused
	myWebapp     = login("webapp")    // the shop's application account
	myCarol      = login("dev_carol") // developer: routines
	myDave       = login("dba_dave")  // DBA of the shop database, from 127.0.0.1
	myMigAlter   = login("mig_alter")
	myMigAlterOK = login("mig_alter_ok")
	myMigDrop    = login("mig_drop")
	myMigDropOK  = login("mig_drop_ok")
	myMigCreate  = login("mig_create")
	myMigCreaOK  = login("mig_create_ok")
	myEtlDel     = login("etl_delete")
	myEtlDelOK   = login("etl_delete_ok")
	myAnalyst    = login("analyst")
	myReporter   = login("reporter")
	myNewbie     = login("newbie")  // exists, never logs in before the cutoff
	myAuditor    = login("auditor") // never logs in; dropped by the attacker
)

var myAccounts = []role{myOps, myWebapp, myCarol, myDave, myMigAlter, myMigAlterOK, myMigDrop, myMigDropOK,
	myMigCreate, myMigCreaOK, myEtlDel, myEtlDelOK, myAnalyst, myReporter, myNewbie, myAuditor}

// Wrong passwords of the failed logins. The client never sends a password
// in clear (mysql_native_password sends a scramble), so they can be in no
// log; they must not surface anywhere either.
var (
	myBurstGuesses = []string{"Winter2026!", "Summer2026!", "Autumn2026!", "P@ssw0rd-77", "Qwerty-2026", "Letmein-2026"}
	mySprayGuess   = "Spring2026!"
	myControlGuess = "Guess-ctl-42"
	myTypo         = "pw-dba_dvae"
)

// mySecret is the n-th secret the attacker puts in a statement.
func mySecret(n int) string { return fmt.Sprintf("Zq9-MDB-SECRET-%d", n) }

// Secrets the server_audit plugin masks itself (*****): CREATE/ALTER USER
// ... IDENTIFIED BY, SET PASSWORD ... PASSWORD(), CREATE SERVER ...
// PASSWORD. The raw log must have the masked form and not the secret.
var myMaskedByServer = map[int]string{
	1: `'CREATE USER \'backdoor\'@\'%\' IDENTIFIED BY *****'`,
	2: `'ALTER USER \'reporter\'@\'%\' IDENTIFIED BY *****'`,
	3: `'SET PASSWORD FOR \'backdoor\'@\'%\' = PASSWORD(*****)'`,
	4: `PASSWORD *****)'`,
}

// Secrets server_audit writes in clear (so Vigil must mask them), with a
// piece of the statement that carries each, which must reach an event.
var myClearCarriers = map[int]string{
	5: "AES_ENCRYPT(card, ",
	6: "ENGINE=FEDERATED CONNECTION=",
	7: "SET @backup_password = ",
	8: "WHERE login = 'admin' AND password = ",
	9: "SELECT PASSWORD(",
}

// runMariaDBScenario sets the server up, then plays the normal and attack
// phases. It returns the scenario and the offset in the audit file where
// the replayed part begins (after the set-up's marker record).
func runMariaDBScenario(ctx context.Context, t *testing.T, srv *mytest.Server) (*Scenario, int64) {
	t.Helper()
	sc := &Scenario{expects: map[string]*Expect{}}
	for _, u := range myAccounts {
		sc.Secrets = append(sc.Secrets, u.password)
	}
	sc.Secrets = append(sc.Secrets, myBurstGuesses...)
	sc.Secrets = append(sc.Secrets, mySprayGuess, myControlGuess, myTypo)
	for i := 1; i <= 9; i++ {
		sc.Secrets = append(sc.Secrets, mySecret(i))
	}
	sc.SecretCarriers = []string{"CREATE USER 'backdoor'@'%' IDENTIFIED BY", "ALTER USER 'reporter'@'%' IDENTIFIED BY",
		"SET PASSWORD FOR 'backdoor'@'%'", "CREATE SERVER loot"}
	for i := 5; i <= 9; i++ {
		sc.SecretCarriers = append(sc.SecretCarriers, myClearCarriers[i])
	}
	r := &myRunner{t: t, ctx: ctx, srv: srv, sc: sc}
	offset := r.setup()
	r.normalPhase()
	r.attackPhase()
	return sc, offset
}

// setup creates the database, accounts and objects as root over the socket.
// None of it is replayed (its CREATE USER statements would otherwise raise
// iam.user_created): the replay starts after the record of its marker.
func (r *myRunner) setup() int64 {
	stmts := []string{
		"CREATE DATABASE shop",
		"CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(100), email VARCHAR(100), card VARCHAR(30))",
		"INSERT INTO shop.customers SELECT seq, CONCAT('customer ', seq), CONCAT('c', seq, '@example.com'), CONCAT('4111-0000-0000-', LPAD(seq, 4, '0')) FROM shop.seq_1_to_200",
		"CREATE TABLE shop.products (id INT PRIMARY KEY, name VARCHAR(100), description VARCHAR(200), price DECIMAL(10,2), views INT DEFAULT 0)",
		"INSERT INTO shop.products (id, name, description, price) SELECT seq, CONCAT('product ', seq), CONCAT('nice thing ', seq), seq * 10 FROM shop.seq_1_to_20",
		"CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, product_id INT, qty INT)",
		"CREATE TABLE shop.app_users (id INT PRIMARY KEY, login VARCHAR(50), password VARCHAR(100))",
		"CREATE TABLE shop.audit_trail (id INT, note VARCHAR(100))",
		"INSERT INTO shop.audit_trail SELECT seq, CONCAT('note ', seq) FROM shop.seq_1_to_10",
		"CREATE TABLE shop.invoices_staging (id INT)",
		"CREATE TABLE shop.invoices (id INT AUTO_INCREMENT PRIMARY KEY, amount DECIMAL(10,2), KEY (amount))",
		"CREATE TABLE shop.products_report (product_id INT, sold INT)",
		"CREATE VIEW shop.v_report AS SELECT product_id, sold FROM shop.products_report",
		"CREATE TABLE shop.staging_a AS SELECT seq AS id FROM shop.seq_1_to_30",
		"CREATE TABLE shop.staging_b AS SELECT seq AS id FROM shop.seq_1_to_30",
		"CREATE TABLE shop.mig_a (id INT)",
		"CREATE TABLE shop.mig_b (id INT)",
		"CREATE TABLE shop.drop_t (a INT, b INT, c INT)",
		"CREATE INDEX drop_i1 ON shop.drop_t (a)", "CREATE INDEX drop_i2 ON shop.drop_t (b)", "CREATE INDEX drop_i3 ON shop.drop_t (c)",
		"CREATE SEQUENCE shop.drop_s1", "CREATE SEQUENCE shop.drop_s2", "CREATE SEQUENCE shop.drop_s3",
		"CREATE TABLE shop.keep_t (a INT, b INT, c INT)",
		"CREATE INDEX keep_i1 ON shop.keep_t (a)", "CREATE INDEX keep_i2 ON shop.keep_t (b)", "CREATE INDEX keep_i3 ON shop.keep_t (c)",
		"CREATE SEQUENCE shop.keep_s1", "CREATE SEQUENCE shop.keep_s2",
	}
	grants := map[string]string{
		myOps.name:        "GRANT ALL ON *.* TO 'ops_admin'@'%' WITH GRANT OPTION",
		myWebapp.name:     "GRANT SELECT, INSERT, UPDATE, DELETE ON shop.* TO 'webapp'@'%'",
		myCarol.name:      "GRANT ALL ON shop.* TO 'dev_carol'@'%'",
		myDave.name:       "GRANT ALL ON shop.* TO 'dba_dave'@'%' WITH GRANT OPTION",
		myMigAlter.name:   "GRANT ALL ON shop.* TO 'mig_alter'@'%'",
		myMigAlterOK.name: "GRANT ALL ON shop.* TO 'mig_alter_ok'@'%'",
		myMigDrop.name:    "GRANT ALL ON shop.* TO 'mig_drop'@'%'",
		myMigDropOK.name:  "GRANT ALL ON shop.* TO 'mig_drop_ok'@'%'",
		myMigCreate.name:  "GRANT ALL ON shop.* TO 'mig_create'@'%'",
		myMigCreaOK.name:  "GRANT ALL ON shop.* TO 'mig_create_ok'@'%'",
		myEtlDel.name:     "GRANT SELECT, DELETE ON shop.* TO 'etl_delete'@'%'",
		myEtlDelOK.name:   "GRANT SELECT, DELETE ON shop.* TO 'etl_delete_ok'@'%'",
		myAnalyst.name:    "GRANT SELECT ON shop.* TO 'analyst'@'%'",
		myReporter.name:   "GRANT SELECT ON shop.* TO 'reporter'@'%'",
		myNewbie.name:     "GRANT SELECT ON shop.* TO 'newbie'@'%'",
	}
	for _, u := range myAccounts {
		stmts = append(stmts, fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", u.name, u.password))
		if g := grants[u.name]; g != "" {
			stmts = append(stmts, g)
		}
	}
	stmts = append(stmts,
		"CREATE DEFINER = 'dev_carol'@'%' PROCEDURE shop.refresh_stats() UPDATE shop.products SET views = views + 1 WHERE id = 1",
		"SELECT '"+mySetupDone+"'")
	r.srv.Exec(r.t, stmts...)
	ctx, cancel := context.WithTimeout(r.ctx, 20*time.Second)
	defer cancel()
	if err := waitAudit(ctx, r.srv.AuditLogPath(), mySetupDone); err != nil {
		r.t.Fatal(err)
	}
	b, err := os.ReadFile(r.srv.AuditLogPath())
	if err != nil {
		r.t.Fatal(err)
	}
	i := bytes.Index(b, []byte(mySetupDone))
	j := bytes.IndexByte(b[i:], '\n')
	if j < 0 {
		r.t.Fatalf("the set-up marker's record is not complete")
	}
	return int64(i + j + 1)
}

// normalPhase: every account that logs in during the attack logs in once
// before it, so access.unfamiliar_principal learns it. Nothing here may
// raise an alert. It ends by fixing LearnUntil between the last normal and
// the first attack record (server_audit stamps whole seconds).
func (r *myRunner) normalPhase() {
	r.step("normal phase: every account but newbie logs in and works as usual (learning period)")
	work := []struct {
		u   role
		src string
		sql string
	}{
		{myOps, "127.0.0.1", "SELECT COUNT(*) FROM customers"},
		{myWebapp, "127.0.0.5", "SELECT name, description, price FROM products WHERE id = 3"},
		{myWebapp, "127.0.0.5", "INSERT INTO orders (product_id, qty) VALUES (2, 1)"},
		{myCarol, "127.0.0.7", "SELECT name, price FROM products WHERE id = 2"},
		{myMigAlter, "127.0.0.10", "SELECT COUNT(*) FROM mig_a"},
		{myMigAlterOK, "127.0.0.10", "SELECT COUNT(*) FROM mig_b"},
		{myMigDrop, "127.0.0.10", "SELECT COUNT(*) FROM drop_t"},
		{myMigDropOK, "127.0.0.10", "SELECT COUNT(*) FROM keep_t"},
		{myMigCreate, "127.0.0.10", "SELECT 1"},
		{myMigCreaOK, "127.0.0.10", "SELECT 1"},
		{myEtlDel, "127.0.0.11", "SELECT COUNT(*) FROM staging_a"},
		{myEtlDelOK, "127.0.0.11", "SELECT COUNT(*) FROM staging_b"},
		{myAnalyst, "127.0.0.12", "SELECT name, price FROM products ORDER BY price DESC LIMIT 5"},
		{myReporter, "127.0.0.13", "SELECT COUNT(*) FROM products"},
	}
	for _, w := range work {
		c := r.connect(w.u, w.src)
		r.exec(c, w.sql)
		r.close(c)
	}
	c := r.connect(myDave, "127.0.0.1")
	r.exec(c, "SELECT COUNT(*) FROM invoices")
	r.marker(c, myNormalDone)
	r.close(c)

	// Every normal record is stamped <= now's second < LearnUntil; the
	// attack starts at the next second, so its records are stamped >
	// LearnUntil.
	next := time.Now().UTC().Truncate(time.Second).Add(time.Second)
	r.sc.LearnUntil = next.Add(-time.Millisecond)
	time.Sleep(time.Until(next)) // waiting for the clock, not for a process
}

func (r *myRunner) attackPhase() {
	// ---- authentication ----
	r.step("failed-login burst: 6 wrong passwords for ops_admin from 127.0.0.2 (one user: no spray)",
		expect("auth.failed_login_burst", 6, client, "127.0.0.2"),
		absent("auth.password_spray", client, "127.0.0.2"))
	for _, pw := range myBurstGuesses {
		r.badLogin(myOps.name, pw, "127.0.0.2")
	}

	r.step("password spray: root, admin, backup and webapp once each from 127.0.0.3: 4 failures, below the burst",
		expect("auth.password_spray", 4, client, "127.0.0.3"),
		absent("auth.failed_login_burst", client, "127.0.0.3"))
	for _, u := range []string{"root", "admin", "backup", "webapp"} {
		r.badLogin(u, mySprayGuess, "127.0.0.3")
	}

	r.step("control: 5 wrong passwords from 127.0.0.4 for 3 distinct users (analyst, reporter, ghost): below burst and spray",
		absent("auth.failed_login_burst", client, "127.0.0.4"),
		absent("auth.password_spray", client, "127.0.0.4"))
	for _, u := range []string{"analyst", "analyst", "reporter", "reporter", "ghost"} {
		r.badLogin(u, myControlGuess, "127.0.0.4")
	}

	r.step("control: dba_dave mistypes his password twice from 127.0.0.1, then logs in",
		absent("auth.failed_login_burst", client, "127.0.0.1"),
		absent("auth.bruteforce_success", client, "127.0.0.1"))
	r.badLogin(myDave.name, myTypo, "127.0.0.1")
	r.badLogin(myDave.name, myTypo+"!", "127.0.0.1")
	dave := r.connect(myDave, "127.0.0.1")

	// ---- error bursts (failed logins are not errors for this rule) ----
	r.step("error burst: analyst probes 4 missing tables from 127.0.0.12 (1146)",
		expect("errors.burst_from_ip", 4, client, "127.0.0.12"))
	c := r.connect(myAnalyst, "127.0.0.12")
	for _, tbl := range []string{"secrets", "passwords", "users", "admin_users"} {
		r.fail(c, 1146, "SELECT * FROM "+tbl)
	}
	r.step("control: analyst counts into a user variable (SELECT ... INTO @n is not a file)",
		absent("exfil.copy_out", user, "analyst"))
	r.exec(c, "SELECT COUNT(*) INTO @n FROM products")
	r.close(c)

	r.step("control: reporter makes 3 errors from 127.0.0.13",
		absent("errors.burst_from_ip", client, "127.0.0.13"))
	c = r.connect(myReporter, "127.0.0.13")
	r.fail(c, 1146, "SELECT * FROM salaries")
	r.fail(c, 1146, "SELECT * FROM payroll")
	r.fail(c, 1054, "SELECT secret FROM products")
	r.close(c)

	// ---- DDL / DML bursts, each with a control one below the threshold ----
	r.step("ALTER burst: mig_alter runs 11 ALTER TABLE (each also ddl.alter_table)",
		expect("ddl.alter_burst", 11, user, "mig_alter"),
		expect("ddl.alter_table", 11, user, "mig_alter"))
	c = r.connect(myMigAlter, "127.0.0.10")
	for i := 1; i <= 11; i++ {
		r.exec(c, fmt.Sprintf("ALTER TABLE mig_a ADD COLUMN c%d INT", i))
	}
	r.close(c)

	r.step("control: mig_alter_ok runs 10 ALTER TABLE (audit trail only)",
		absent("ddl.alter_burst", user, "mig_alter_ok"),
		expect("ddl.alter_table", 10, user, "mig_alter_ok"))
	c = r.connect(myMigAlterOK, "127.0.0.10")
	for i := 1; i <= 10; i++ {
		r.exec(c, fmt.Sprintf("ALTER TABLE mig_b ADD COLUMN c%d INT", i))
	}
	r.close(c)

	r.step("DROP burst: mig_drop drops 6 objects (3 indexes, 3 sequences)",
		expect("ddl.drop_burst", 6, user, "mig_drop"))
	c = r.connect(myMigDrop, "127.0.0.10")
	for _, s := range []string{"DROP INDEX drop_i1 ON drop_t", "DROP INDEX drop_i2 ON drop_t", "DROP INDEX drop_i3 ON drop_t",
		"DROP SEQUENCE drop_s1", "DROP SEQUENCE drop_s2", "DROP SEQUENCE drop_s3"} {
		r.exec(c, s)
	}
	r.close(c)

	r.step("control: mig_drop_ok drops 5 objects",
		absent("ddl.drop_burst", user, "mig_drop_ok"))
	c = r.connect(myMigDropOK, "127.0.0.10")
	for _, s := range []string{"DROP INDEX keep_i1 ON keep_t", "DROP INDEX keep_i2 ON keep_t", "DROP INDEX keep_i3 ON keep_t",
		"DROP SEQUENCE keep_s1", "DROP SEQUENCE keep_s2"} {
		r.exec(c, s)
	}
	r.close(c)

	r.step("DELETE burst: etl_delete runs 21 DELETE ... WHERE id = n",
		expect("dml.delete_burst", 21, user, "etl_delete"))
	c = r.connect(myEtlDel, "127.0.0.11")
	for i := 1; i <= 21; i++ {
		r.exec(c, fmt.Sprintf("DELETE FROM staging_a WHERE id = %d", i))
	}
	r.close(c)

	r.step("control: etl_delete_ok runs 20 DELETE ... WHERE id = n",
		absent("dml.delete_burst", user, "etl_delete_ok"))
	c = r.connect(myEtlDelOK, "127.0.0.11")
	for i := 1; i <= 20; i++ {
		r.exec(c, fmt.Sprintf("DELETE FROM staging_b WHERE id = %d", i))
	}
	r.close(c)

	r.step("CREATE TABLE burst: mig_create creates 4 tables (each also ddl.table_created)",
		expect("ddl.tables_created_burst", 4, user, "mig_create"),
		expect("ddl.table_created", 4, user, "mig_create"))
	c = r.connect(myMigCreate, "127.0.0.10")
	for i := 1; i <= 4; i++ {
		r.exec(c, fmt.Sprintf("CREATE TABLE stage_%d (id INT, payload VARCHAR(100))", i))
	}
	r.close(c)

	r.step("control: mig_create_ok creates 3 tables",
		absent("ddl.tables_created_burst", user, "mig_create_ok"),
		expect("ddl.table_created", 3, user, "mig_create_ok"))
	c = r.connect(myMigCreaOK, "127.0.0.10")
	for i := 1; i <= 3; i++ {
		r.exec(c, fmt.Sprintf("CREATE TABLE scratch_%d (id INT)", i))
	}
	r.close(c)

	// ---- destructive single statements, by the DBA from 127.0.0.1 ----
	r.step("dba_dave: DELETE without WHERE",
		expect("dml.mass_delete", 1, user, "dba_dave"))
	r.exec(dave, "DELETE FROM audit_trail")
	r.step("dba_dave: TRUNCATE TABLE",
		expect("dml.mass_delete", 1, user, "dba_dave"),
		expect("ddl.drop_table", 1, user, "dba_dave"))
	r.exec(dave, "TRUNCATE TABLE invoices_staging")
	r.step("dba_dave: DROP TABLE",
		expect("ddl.drop_table", 1, user, "dba_dave"))
	r.exec(dave, "DROP TABLE invoices")
	r.step("dba_dave: DROP VIEW",
		expect("ddl.view_dropped", 1, user, "dba_dave"))
	r.exec(dave, "DROP VIEW v_report")
	r.step("dba_dave: plain GRANT SELECT on one table (low)",
		expect("dcl.grant", 1, user, "dba_dave"))
	r.exec(dave, "GRANT SELECT ON shop.products_report TO 'reporter'@'%'")
	r.step("dba_dave: SELECT ... INTO OUTFILE without the FILE privilege (refused, 1227: still an attempt)",
		expect("exfil.copy_out", 1, user, "dba_dave"))
	r.fail(dave, 1227, "SELECT * FROM customers INTO OUTFILE '"+filepath.Join(r.srv.Dir, "files", "dave.csv")+"'")
	r.close(dave)

	// ---- server-side code ----
	c = r.connect(myCarol, "127.0.0.7")
	r.step("control: dev_carol creates a new procedure (not tampering)")
	r.exec(c, "CREATE PROCEDURE purge_old() DELETE FROM orders WHERE id < 0")
	r.step("dev_carol: CREATE OR REPLACE PROCEDURE refresh_stats (now zeroes the prices)",
		expect("code.routine_tampered", 1, user, "dev_carol"))
	r.exec(c, "CREATE OR REPLACE PROCEDURE refresh_stats() UPDATE products SET price = 0 WHERE id = 1")
	r.step("dev_carol: CALL refresh_stats() (listed in sensitive_routines by integration/testdata/rules.yaml)",
		expect("code.routine_executed", 1, user, "dev_carol"))
	r.exec(c, "CALL refresh_stats()")
	r.step("dev_carol: DROP PROCEDURE purge_old",
		expect("code.routine_tampered", 1, user, "dev_carol"))
	r.exec(c, "DROP PROCEDURE purge_old")
	r.close(c)

	// ---- SQL injection through the application account ----
	c = r.connect(myWebapp, "127.0.0.5")
	const q = "SELECT name, description FROM products WHERE id = "
	r.step("webapp: tautology (id = 1 OR 1=1)", expect("sqli.suspected", 1, user, "webapp"))
	r.exec(c, q+"1 OR 1=1")
	r.step("webapp: UNION SELECT user, password FROM mysql.user (refused, 1142)", expect("sqli.suspected", 1, user, "webapp"))
	r.fail(c, 1142, q+"1 UNION SELECT user, password FROM mysql.user")
	r.step("webapp: time-based AND SLEEP(0.2)", expect("sqli.suspected", 1, user, "webapp"))
	r.exec(c, q+"1 AND SLEEP(0.2)")
	r.step("webapp: the login check of the application, with a password in its WHERE (secret 8, in clear in the audit log)")
	r.exec(c, "SELECT id FROM app_users "+myClearCarriers[8]+"'"+mySecret(8)+"'")
	r.close(c)

	r.step("newbie logs in for the first time, after the learning cutoff",
		expect("access.unfamiliar_principal", 1, user, "newbie"))
	c = r.connect(myNewbie, "127.0.0.9")
	r.exec(c, "SELECT name FROM products WHERE id = 1")
	r.close(c)

	// ---- the brute-forced administrator at work ----
	// Sequence rule: its count semantics are the engine's; one login from
	// 127.0.0.2 follows the burst.
	r.step("ops_admin logs in from 127.0.0.2 with the right password after the burst",
		expect("auth.bruteforce_success", anyCount, client, "127.0.0.2"))
	c = r.connect(myOps, "127.0.0.2")

	r.step("ops_admin: CREATE USER backdoor IDENTIFIED BY (secret 1, masked by server_audit)",
		expect("iam.user_created", 1, user, "ops_admin"))
	r.exec(c, "CREATE USER 'backdoor'@'%' IDENTIFIED BY '"+mySecret(1)+"'")
	r.step("ops_admin: GRANT ALL PRIVILEGES ON *.* ... WITH GRANT OPTION (high; privileged)",
		expect("dcl.grant", 1, user, "ops_admin"),
		expect("iam.privileged_operation", 1, user, "ops_admin"))
	r.exec(c, "GRANT ALL PRIVILEGES ON *.* TO 'backdoor'@'%' WITH GRANT OPTION")
	r.step("ops_admin: GRANT FILE, SUPER ON *.* (privileged)",
		expect("dcl.grant", 1, user, "ops_admin"),
		expect("iam.privileged_operation", 1, user, "ops_admin"))
	r.exec(c, "GRANT FILE, SUPER ON *.* TO 'backdoor'@'%'")
	r.step("ops_admin: ALTER USER reporter IDENTIFIED BY (secret 2, masked by server_audit)")
	r.exec(c, "ALTER USER 'reporter'@'%' IDENTIFIED BY '"+mySecret(2)+"'")
	r.step("ops_admin: SET PASSWORD FOR backdoor = PASSWORD(...) (secret 3, masked by server_audit)")
	r.exec(c, "SET PASSWORD FOR 'backdoor'@'%' = PASSWORD('"+mySecret(3)+"')")
	r.step("ops_admin: CREATE SERVER ... OPTIONS (PASSWORD ...) (secret 4, masked by server_audit)")
	r.exec(c, "CREATE SERVER loot FOREIGN DATA WRAPPER mysql OPTIONS (HOST '127.0.0.1', DATABASE 'shop', USER 'loot', PASSWORD '"+mySecret(4)+"')")
	r.step("ops_admin: AES_ENCRYPT with a key (secret 5, in clear in the audit log)")
	r.exec(c, "SELECT "+myClearCarriers[5]+"'"+mySecret(5)+"') FROM customers WHERE id = 1")
	r.step("ops_admin: FEDERATED table whose CONNECTION URI has a password, to a closed port (secret 6, in clear; refused 1434)")
	r.fail(c, 1434, "CREATE TABLE loot_fed (id INT) "+myClearCarriers[6]+"'mysql://loot:"+mySecret(6)+"@127.0.0.1:1/shop/customers'")
	r.step("ops_admin: a password in a user variable (secret 7, in clear)")
	r.exec(c, myClearCarriers[7]+"'"+mySecret(7)+"'")
	r.step("ops_admin: SELECT PASSWORD('...') (secret 9, in clear)")
	r.exec(c, myClearCarriers[9]+"'"+mySecret(9)+"')")

	out := filepath.Join(r.srv.Dir, "files", "customers.csv")
	r.step("ops_admin: SELECT * FROM customers INTO OUTFILE (inside secure_file_priv: it runs)",
		expect("exfil.copy_out", 1, user, "ops_admin"))
	r.exec(c, "SELECT * FROM customers INTO OUTFILE '"+out+"'")
	r.step("ops_admin: LOAD_FILE of the dump (privileged)",
		expect("iam.privileged_operation", 1, user, "ops_admin"))
	r.exec(c, "SELECT LOAD_FILE('"+out+"')")
	r.step("ops_admin: DROP USER auditor",
		expect("iam.user_dropped", 1, user, "ops_admin"))
	r.exec(c, "DROP USER 'auditor'@'%'")

	r.step("backdoor logs in from 127.0.0.3 (the sprayer's address: 4 failures, no brute-force success)",
		expect("access.unfamiliar_principal", 1, user, "backdoor"),
		absent("auth.bruteforce_success", client, "127.0.0.3"))
	bd := r.connect(role{"backdoor", mySecret(3)}, "127.0.0.3")
	r.exec(bd, "SELECT COUNT(*) FROM customers")
	r.close(bd)

	// ---- covering tracks (last) ----
	// server_audit logs the SET ... = OFF itself, then nothing until the
	// SET ... = ON (which it logs too: only OFF fires).
	r.step("ops_admin: SET GLOBAL server_audit_logging = OFF, a read nobody sees, SET GLOBAL server_audit_logging = ON",
		expect("defense_evasion.audit_disabled", 1, "sql.setting.name", "server_audit_logging"))
	r.exec(c, "SET GLOBAL server_audit_logging = OFF")
	r.exec(c, "SELECT name, card FROM customers WHERE id < 5 -- vigil-invisible")
	r.exec(c, "SET GLOBAL server_audit_logging = ON")
	r.marker(c, myDone)
	r.close(c)
}

// checkMariaDBCapture verifies the raw audit records before any Vigil code
// reads them: the scenario is in them, the secrets server_audit does not
// mask are in clear (or the masking check would prove nothing), and those
// it masks are masked.
func checkMariaDBCapture(t *testing.T, raw []byte, sc *Scenario) {
	t.Helper()
	s := string(raw)
	for _, want := range []string{myNormalDone, myDone, "'SET GLOBAL server_audit_logging = OFF'", "'SET GLOBAL server_audit_logging = ON'"} {
		if !strings.Contains(s, want) {
			t.Errorf("audit log lacks %q", want)
		}
	}
	if strings.Contains(s, "vigil-invisible") {
		t.Errorf("the statement run while server_audit_logging was OFF is in the audit log")
	}
	if n := strings.Count(s, ",FAILED_CONNECT,"); n != 6+4+5+2 {
		t.Errorf("%d FAILED_CONNECT records, want 17", n)
	}
	for _, ip := range []string{"1", "2", "3", "4", "5", "7", "9", "10", "11", "12", "13"} {
		if !strings.Contains(s, ",127.0.0."+ip+",") {
			t.Errorf("no record from 127.0.0.%s", ip)
		}
	}
	for i := 5; i <= 9; i++ {
		if !strings.Contains(s, mySecret(i)) {
			t.Errorf("secret %d (%s) is not in clear in the raw audit log: the masking check would be vacuous for it", i, mySecret(i))
		}
	}
	for i, masked := range myMaskedByServer {
		if strings.Contains(s, mySecret(i)) {
			t.Errorf("secret %d is in clear in the raw audit log: server_audit masked it in 10.11", i)
		}
		if !strings.Contains(s, masked) {
			t.Errorf("audit log lacks the masked statement %s", masked)
		}
	}
	// Passwords of logins never travel in clear.
	for _, p := range sc.Secrets {
		if strings.HasPrefix(p, "Zq9-MDB-SECRET-") {
			continue
		}
		if strings.Contains(s, p) {
			t.Errorf("login password %q is in the raw audit log", p)
		}
	}
}

// mySeverities are the severities the scenario checks besides the alerts
// themselves: escalations on success, on failure and on the kind of grant.
var mySeverities = []struct {
	rule     string
	group    []string
	severity string
}{
	{"auth.failed_login_burst", []string{client, "127.0.0.2"}, "medium"}, // ops_admin is not in admin_users
	{"auth.bruteforce_success", []string{client, "127.0.0.2"}, "high"},
	{"auth.password_spray", []string{client, "127.0.0.3"}, "high"},
	{"dcl.grant", []string{user, "ops_admin"}, "high"}, // ALL ... WITH GRANT OPTION
	{"dcl.grant", []string{user, "dba_dave"}, "low"},   // SELECT on one table
	{"iam.privileged_operation", []string{user, "ops_admin"}, "high"},
	{"ddl.drop_table", []string{user, "dba_dave"}, "high"},   // it ran
	{"dml.mass_delete", []string{user, "dba_dave"}, "high"},  // it ran
	{"exfil.copy_out", []string{user, "ops_admin"}, "high"},  // it ran
	{"exfil.copy_out", []string{user, "dba_dave"}, "medium"}, // refused (1227)
	{"sqli.suspected", []string{user, "webapp"}, "high"},     // UNION probe, SLEEP
	{"defense_evasion.audit_disabled", []string{"sql.setting.name", "server_audit_logging"}, "critical"},
}

// replayMariaDB replays the scenario's audit records through the pipeline
// (format auto-detected) and checks the alerts and secrets.
func replayMariaDB(ctx context.Context, t *testing.T, raw []byte, sc *Scenario) {
	t.Helper()
	var events [][]byte
	opts := pipeline.Options{
		RulePaths:  []string{rulesFile},
		LearnUntil: sc.LearnUntil,
		OnEvent: func(e *event.Event) {
			b, err := json.Marshal(e)
			if err != nil {
				t.Errorf("event JSON: %v", err)
			}
			events = append(events, b)
		},
	}
	res, err := pipeline.Replay(ctx, opts, pipeline.Input{Name: "audit.log", R: bytes.NewReader(raw), Size: int64(len(raw))})
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	t.Logf("audit.log: %d lines, %d events, %d alerts, %d unparsed, format %s", res.Lines, res.Events, len(res.Alerts), res.UnparsedCount, res.Format)
	if res.Format != "mariadb_audit" {
		t.Errorf("format %q detected, want mariadb_audit", res.Format)
	}
	if res.UnparsedCount > 0 {
		t.Errorf("%d lines of a real server_audit log were not understood; first: %+v", res.UnparsedCount, res.Unparsed)
	}
	if len(events) == 0 {
		t.Fatalf("OnEvent saw no event")
	}

	for _, c := range sc.SecretCarriers {
		found := false
		for _, b := range events {
			if bytes.Contains(b, []byte(c)) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no event carries the statement %q...: the secret check would be vacuous for it", c)
		}
	}
	for _, s := range sc.Secrets {
		for _, b := range events {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("password %s in event: %s", s, b)
			}
		}
		for _, a := range res.Alerts {
			b, _ := json.Marshal(a)
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("password %s in alert %s: %s", s, a.RuleID, b)
			}
		}
		if b, _ := json.Marshal(res.Unparsed); bytes.Contains(b, []byte(s)) {
			t.Errorf("password %s in the unparsed-line report: %s", s, b)
		}
	}

	if os.Getenv("VIGIL_DUMP_EVENTS") != "" {
		for _, b := range events {
			t.Logf("%s", b)
		}
	}
	for _, w := range mySeverities {
		for _, a := range res.Alerts {
			if a.RuleID == w.rule && groupMatches(a, kv(w.group...)) && a.Severity != w.severity {
				t.Errorf("%s: severity %s, want %s", describe(a), a.Severity, w.severity)
			}
		}
	}
	if msgs := compareAlerts(res.Alerts, sc.Expects()); len(msgs) > 0 {
		t.Errorf("alerts differ from the scenario's expectations:\n  %s\nall alerts raised:\n%s",
			strings.Join(msgs, "\n  "), describeAlerts(res.Alerts))
	} else if testing.Verbose() {
		t.Logf("alerts raised:\n%s", describeAlerts(res.Alerts))
	}
}

// TestMariaDBRunLive runs the live pipeline (what `vigil run` runs) on the
// server_audit file of a real MariaDB while a client guesses ops_admin's
// password six times from 127.0.0.2 and then logs in: the failed-login
// burst and the successful login after it are alerted and stored while the
// server is still running, and no password reaches the store.
func TestMariaDBRunLive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), budget(t))
	defer cancel()
	srv := mytest.Start(t, mytest.Options{Audit: true})
	srv.Exec(t, "CREATE DATABASE shop", "CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(100))",
		"CREATE USER 'ops_admin'@'%' IDENTIFIED BY '"+myOps.password+"'", "GRANT ALL ON shop.* TO 'ops_admin'@'%'")

	st, err := store.Open(filepath.Join(t.TempDir(), "data"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs bytes.Buffer
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- pipeline.Live(runCtx, pipeline.LiveOptions{
			Patterns:     []string{srv.AuditLogPath()},
			Store:        st,
			Logger:       slog.New(slog.NewTextHandler(&logs, nil)),
			TickEvery:    200 * time.Millisecond,
			IdleFlush:    time.Second,
			PollInterval: 50 * time.Millisecond,
		})
	}()
	stopped := false
	stopRun := func() {
		if stopped {
			return
		}
		stopped = true
		stop()
		if err := <-done; err != nil {
			t.Errorf("Live: %v", err)
		}
		t.Logf("vigil run log:\n%s", logs.String())
	}
	defer stopRun()

	r := &myRunner{t: t, ctx: ctx, srv: srv, sc: &Scenario{expects: map[string]*Expect{}}}
	for _, pw := range myBurstGuesses {
		r.badLogin(myOps.name, pw, "127.0.0.2")
	}
	c := r.connect(myOps, "127.0.0.2")
	r.exec(c, "SELECT COUNT(*) FROM customers")
	r.close(c)

	want := []string{"auth.failed_login_burst", "auth.bruteforce_success"}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var missing []string
		for _, rule := range want {
			as, err := st.ListAlerts(ctx, store.AlertFilter{RuleID: rule})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, a := range as {
				if a.Group["client.address"] == "127.0.0.2" {
					found = true
				}
			}
			if !found {
				missing = append(missing, rule)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stopRun()
			t.Fatalf("alerts %v not stored in time", missing)
		}
		time.Sleep(50 * time.Millisecond) // polling the store, with a deadline
	}
	evs, err := st.SearchEvents(ctx, store.EventFilter{Client: "127.0.0.2", Action: "login_failed"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != len(myBurstGuesses) {
		t.Errorf("%d failed logins from 127.0.0.2 stored, want %d", len(evs), len(myBurstGuesses))
	}
	stopRun()
	all, err := st.SearchEvents(ctx, store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	as, err := st.ListAlerts(ctx, store.AlertFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(struct {
		Events []*event.Event
		Alerts []*store.Alert
	}{all, as})
	for _, s := range append([]string{myOps.password, srv.RootPassword()}, myBurstGuesses...) {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("password %s in the store", s)
		}
	}
	if !bytes.Contains(out, []byte("IDENTIFIED BY *****")) {
		t.Errorf("the set-up's CREATE USER is not among the %d stored events", len(all))
	}
}
