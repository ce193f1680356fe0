package pgcheck_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/internal/pgtest"
	"github.com/vigildb/vigil/posture"
	"github.com/vigildb/vigil/posture/pgcheck"
	"github.com/vigildb/vigil/posture/report"
	"github.com/vigildb/vigil/posture/versions"
)

// contrast lists the checks that must fail on the weak server and pass on
// the hardened one.
var contrast = []string{
	"pg.version.minor",
	"pg.net.listen_addresses",
	"pg.hba.trust", "pg.hba.md5", "pg.hba.password", "pg.hba.ident_tcp", "pg.hba.hostnossl", "pg.hba.any_address",
	"pg.hba.wide_cidr", "pg.hba.all_all", "pg.hba.superuser_remote", "pg.hba.local_peer",
	"pg.auth.password_encryption", "pg.auth.md5_hashes", "pg.auth.passwordcheck", "pg.auth.auth_delay",
	"pg.auth.no_password", "pg.auth.valid_until", "pg.auth.connlimit",
	"pg.tls.ssl", "pg.tls.min_protocol", "pg.tls.ciphers",
	"pg.role.superusers", "pg.role.execute_server_program", "pg.role.createrole", "pg.role.bypassrls",
	"pg.priv.public_create", "pg.priv.secdef_search_path", "pg.priv.secdef_public_execute",
	"pg.priv.table_public_grants", "pg.priv.default_acl_public", "pg.priv.database_public_create",
	"pg.rls.sensitive", "pg.rls.force",
	"pg.log.connections", "pg.log.disconnections", "pg.log.statement", "pg.log.line_prefix", "pg.log.file_mode",
	"pg.log.rotation_age", "pg.log.truncate_on_rotation",
	"pg.audit.classes", "pg.audit.extension",
	"pg.cfg.fsync", "pg.cfg.data_checksums", "pg.backup.archive_mode", "pg.backup.archive_command",
	"pg.host.hba_mode",
}

// hiddenFromLowPriv are checks a role without pg_monitor or superuser
// cannot read: they must come back not_assessable, never pass.
var hiddenFromLowPriv = []string{
	"pg.hba.trust", "pg.hba.md5", "pg.hba.hostnossl", "pg.hba.errors", "pg.auth.md5_hashes",
	"pg.tls.min_protocol", "pg.tls.ciphers", "pg.auth.passwordcheck", "pg.audit.preload", "pg.auth.no_password",
	"pg.log.directory", "pg.cfg.file_errors", "pg.host.pgdata_mode", "pg.cfg.shared_preload_libraries",
}

func exec(t *testing.T, s *pgtest.Server, db string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	c, err := s.AdminDB(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	for _, q := range stmts {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// dump writes a report's text form to $VIGIL_SCAN_DUMP/name.txt, for
// reading what the scans saw.
func dump(t *testing.T, name string, r *posture.Report) {
	dir := os.Getenv("VIGIL_SCAN_DUMP")
	if dir == "" {
		return
	}
	var b strings.Builder
	if err := report.Text(&b, r, false); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".txt"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func status(t *testing.T, r *posture.Report, id string) posture.Finding {
	t.Helper()
	f, ok := r.Find(id)
	if !ok {
		t.Fatalf("no finding %s", id)
	}
	return f
}

func TestScanPostgres(t *testing.T) {
	if testing.Short() {
		t.Log("starting two PostgreSQL servers (run without -short to include this test)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	weak := pgtest.Start(t, pgtest.Options{
		HBA: []string{
			"host all all 127.0.0.1/32 trust",
			"host all all 0.0.0.0/0 md5",
			"host all all ::/0 password",
			"host all all 10.0.0.0/8 ident",
		},
		LogStatement: "none",
		PgauditLog:   "none",
		Settings: map[string]string{
			"listen_addresses":         "'*'",
			"password_encryption":      "'md5'",
			"log_connections":          "off",
			"log_disconnections":       "off",
			"log_line_prefix":          "'%m '",
			"ssl_min_protocol_version": "'TLSv1'",
			"log_file_mode":            "0644",
		},
	})
	exec(t, weak, "postgres",
		"CREATE ROLE weak_md5 LOGIN PASSWORD 'weak-password'",
		"CREATE ROLE extra_su SUPERUSER LOGIN PASSWORD 'extra-su-password'",
		"CREATE ROLE progrole LOGIN",
		"GRANT pg_execute_server_program TO progrole",
		"CREATE ROLE maker1 LOGIN CREATEROLE PASSWORD 'm1-password'",
		"CREATE ROLE maker2 LOGIN CREATEROLE BYPASSRLS PASSWORD 'm2-password'",
		"CREATE ROLE lowpriv LOGIN PASSWORD 'low-password'",
		"CREATE ROLE forever LOGIN PASSWORD 'forever-password' VALID UNTIL 'infinity'",
		"GRANT CREATE ON SCHEMA public TO PUBLIC",
		"GRANT CREATE ON DATABASE postgres TO PUBLIC",
		"CREATE FUNCTION public.whoami() RETURNS text SECURITY DEFINER LANGUAGE sql AS 'SELECT current_user::text'",
		"CREATE TABLE public.patients (id int, name text)",
		"GRANT SELECT ON public.patients TO PUBLIC",
		"ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC",
	)
	if err := os.Chmod(filepath.Join(weak.DataDir, "pg_hba.conf"), 0o644); err != nil {
		t.Fatal(err)
	}

	hard := pgtest.Start(t, pgtest.Options{
		LocalPeer:     true,
		SSL:           true,
		DataChecksums: true,
		HBA: []string{
			"hostssl all all 127.0.0.1/32 scram-sha-256",
			"host all all all reject",
		},
		LogStatement:  "ddl",
		PgauditLog:    "ddl,role,write",
		LogLinePrefix: "%m [%p] %q%u@%d,app=%a,client=%h ",
		Settings: map[string]string{
			"ssl_min_protocol_version": "'TLSv1.3'",
			"ssl_ciphers":              "'HIGH:!aNULL:!eNULL:!MD5:!3DES:!RC4:!DES:!EXPORT'",
			"shared_preload_libraries": "'pgaudit,passwordcheck,auth_delay'",
			"auth_delay.milliseconds":  "200",
			"fsync":                    "on",
			"log_file_mode":            "0600",
			"log_rotation_age":         "'1d'",
			"log_rotation_size":        "'1GB'",
			"log_truncate_on_rotation": "on",
			"archive_mode":             "on",
			"archive_command":          "'/bin/true'",
			"log_replication_commands": "on",
			"log_lock_waits":           "on",
		},
	})
	exec(t, hard, "postgres",
		"CREATE EXTENSION pgaudit",
		"CREATE ROLE auditor LOGIN PASSWORD 'Aud1t-pass-Xy9' VALID UNTIL '2099-01-01' CONNECTION LIMIT 5",
		"GRANT pg_monitor TO auditor",
		"GRANT SELECT ON pg_hba_file_rules, pg_file_settings, pg_ident_file_mappings TO auditor",
		"GRANT EXECUTE ON FUNCTION pg_hba_file_rules(), pg_show_all_file_settings(), pg_ident_file_mappings() TO auditor",
		"CREATE SCHEMA app",
		"CREATE TABLE app.cards (id int, owner text)",
		"ALTER TABLE app.cards ENABLE ROW LEVEL SECURITY",
		"ALTER TABLE app.cards FORCE ROW LEVEL SECURITY",
		"CREATE POLICY own ON app.cards USING (owner = current_user)",
		"CREATE FUNCTION app.safe() RETURNS text SECURITY DEFINER SET search_path = pg_catalog, pg_temp LANGUAGE sql AS 'SELECT 1::text'",
		"REVOKE EXECUTE ON FUNCTION app.safe() FROM PUBLIC",
	)

	var ver string
	{
		c, err := hard.Admin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRow(ctx, "SELECT split_part(current_setting('server_version'), ' ', 1)").Scan(&ver); err != nil {
			t.Fatal(err)
		}
		c.Close(ctx)
	}
	// The installed minor release is the latest this table knows: the
	// hardened server passes pg.version.minor, the weak one (scanned with
	// a table one minor ahead) fails it.
	major := strings.Split(ver, ".")[0]
	table := func(latest string) *versions.Table {
		t2, err := versions.Parse([]byte(fmt.Sprintf(`{"date":"2026-11-01","source":"test","products":{"postgresql":[{"cycle":%q,"eol":"2099-01-01","latest":%q}]}}`, major, latest)))
		if err != nil {
			t.Fatal(err)
		}
		return t2
	}
	var minor int
	fmt.Sscanf(strings.TrimPrefix(ver, major+"."), "%d", &minor)

	weakRep, err := pgcheck.Scan(ctx, pgcheck.Options{
		DSN:       fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", weak.Port()),
		Sensitive: []string{"public.patients"},
		PGData:    weak.DataDir,
		Versions:  table(fmt.Sprintf("%s.%d", major, minor+1)),
	})
	if err != nil {
		t.Fatal(err)
	}
	hardRep, err := pgcheck.Scan(ctx, pgcheck.Options{
		DSN:       fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres", hard.SocketDir, hard.Port()),
		Sensitive: []string{"app.cards"},
		PGData:    hard.DataDir,
		Versions:  table(ver),
	})
	if err != nil {
		t.Fatal(err)
	}

	dump(t, "pg-weak", weakRep)
	dump(t, "pg-hardened", hardRep)

	t.Run("contrast", func(t *testing.T) {
		for _, id := range contrast {
			w, h := status(t, weakRep, id), status(t, hardRep, id)
			if w.Status != posture.Fail {
				t.Errorf("%s on the weak server: %s (%s), want fail", id, w.Status, w.Observed)
			}
			if h.Status != posture.Pass {
				t.Errorf("%s on the hardened server: %s (%s %s), want pass", id, h.Status, h.Observed, h.Needs)
			}
		}
	})

	t.Run("hardened has no unexpected failures", func(t *testing.T) {
		// Failures a test cluster cannot avoid: the harness's own
		// loopback-only network setup and packages of the test host.
		allowed := map[string]bool{
			"pg.audit.set_user": true, "pg.log.directory_outside_pgdata": false, "pg.host.package_restart": true,
			"pg.host.psql_history": true, "pg.host.pgpassword_env": true, "pg.host.pgpassword_profiles": true,
			"pg.host.extension_dir": true, "pg.host.log_dir_mode": true, "pg.version.eol_soon": true,
			"pg.tls.prefer_server_ciphers": true, "pg.log.error_verbosity": true,
			"pg.priv.database_public_connect": true, "pg.log.destination": true, "pg.cfg.allow_alter_system": true,
			"pg.log.filename": true, // the harness writes fixed file names
		}
		for _, f := range hardRep.Findings {
			if f.Status == posture.Fail && !allowed[f.ID] {
				t.Errorf("hardened: %s failed: %s", f.ID, f.Observed)
			}
			if f.Status == posture.Error {
				t.Errorf("hardened: %s error: %s", f.ID, f.Observed)
			}
		}
	})

	t.Run("low-privilege role", func(t *testing.T) {
		r, err := pgcheck.Scan(ctx, pgcheck.Options{
			DSN: fmt.Sprintf("postgres://lowpriv@127.0.0.1:%d/postgres?sslmode=disable", weak.Port()),
		})
		if err != nil {
			t.Fatal(err)
		}
		dump(t, "pg-lowpriv", r)
		if r.Role != "lowpriv" {
			t.Errorf("role %q", r.Role)
		}
		for _, id := range hiddenFromLowPriv {
			f := status(t, r, id)
			if f.Status != posture.NotAssessable {
				t.Errorf("%s as lowpriv: %s (%s), want not_assessable", id, f.Status, f.Observed)
			} else if f.Needs == "" {
				t.Errorf("%s: not_assessable without the privilege that is needed", id)
			}
		}
		// What every role can read is still graded.
		if f := status(t, r, "pg.role.superusers"); f.Status != posture.Fail {
			t.Errorf("pg.role.superusers as lowpriv: %s", f.Status)
		}
	})

	t.Run("auditor with pg_monitor", func(t *testing.T) {
		dsn := fmt.Sprintf("postgres://auditor:Aud1t-pass-Xy9@127.0.0.1:%d/postgres?sslmode=require", hard.Port())
		r, err := pgcheck.Scan(ctx, pgcheck.Options{DSN: dsn, Versions: table(ver)})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.Target, "Aud1t-pass") {
			t.Errorf("target shows the password: %s", r.Target)
		}
		if f := status(t, r, "pg.auth.md5_hashes"); f.Status != posture.NotAssessable || !strings.Contains(f.Needs, "superuser") {
			t.Errorf("pg.auth.md5_hashes as auditor: %s %q", f.Status, f.Needs)
		}
		for _, id := range []string{"pg.hba.trust", "pg.tls.min_protocol", "pg.audit.preload", "pg.auth.passwordcheck", "pg.tls.sessions"} {
			if f := status(t, r, id); f.Status != posture.Pass {
				t.Errorf("%s as auditor with pg_monitor: %s (%s)", id, f.Status, f.Observed)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := pgcheck.Scan(ctx, pgcheck.Options{DSN: fmt.Sprintf("postgres://auditor:wrong-secret@127.0.0.1:%d/postgres?sslmode=require", hard.Port())})
		if err == nil || strings.Contains(err.Error(), "wrong-secret") {
			t.Errorf("bad password: %v", err)
		}
		_, err = pgcheck.Scan(ctx, pgcheck.Options{DSN: fmt.Sprintf("postgres://auditor:Aud1t-pass-Xy9@127.0.0.1:%d/postgres?sslmode=disable", hard.Port())})
		if err == nil || !strings.Contains(err.Error(), "sslmode=require") || strings.Contains(err.Error(), "Aud1t-pass") {
			t.Errorf("plaintext to a TLS-only server: %v", err)
		}
		_, err = pgcheck.Scan(ctx, pgcheck.Options{DSN: "postgres://x:topsecret@127.0.0.1:1/postgres?connect_timeout=2"})
		if err == nil || strings.Contains(err.Error(), "topsecret") || !strings.Contains(err.Error(), "connecting to") {
			t.Errorf("unreachable: %v", err)
		}
		if _, err := pgcheck.Scan(ctx, pgcheck.Options{DSN: "postgres://a:b@host:notaport/db"}); err == nil {
			t.Error("bad DSN accepted")
		}
	})
}
