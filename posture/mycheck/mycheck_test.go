package mycheck_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/internal/mytest"
	"github.com/vigildb/vigil/posture"
	"github.com/vigildb/vigil/posture/mycheck"
	"github.com/vigildb/vigil/posture/report"
	"github.com/vigildb/vigil/posture/versions"
)

// contrast lists the checks that must fail on the weak MariaDB and pass on
// the hardened one.
var contrast = []string{
	"my.version.latest",
	"my.acc.anonymous", "my.acc.empty_password", "my.acc.wildcard_host", "my.acc.root_remote", "my.acc.weak_plugin",
	"my.acc.remote_tls", "my.acc.password_lifetime", "my.acc.password_reuse", "my.acc.password_validation",
	"my.acc.password_length", "my.acc.login_throttle", "my.acc.max_user_connections",
	"my.priv.super", "my.priv.file", "my.priv.process", "my.priv.grant_option", "my.priv.create_user",
	"my.priv.all_global", "my.priv.repl_super", "my.priv.global_dml", "my.priv.definer_routines",
	"my.net.bind_address", "my.net.skip_name_resolve",
	"my.tls.require_secure_transport", "my.tls.enabled", "my.tls.version",
	"my.cfg.local_infile", "my.cfg.secure_file_priv", "my.cfg.symlinks", "my.cfg.test_db", "my.cfg.skip_show_database",
	"my.cfg.log_bin_trust_function_creators", "my.cfg.automatic_sp_privileges", "my.cfg.sql_mode_strict", "my.cfg.secure_timestamp",
	"my.log.general_log", "my.log.binlog", "my.log.binlog_expire",
	"my.audit.plugin", "my.audit.logging", "my.audit.connect", "my.audit.query", "my.audit.permanent",
	"my.enc.tables", "my.enc.redo_log", "my.enc.binlog", "my.enc.temp",
}

// dump writes a report's text form to $VIGIL_SCAN_DUMP/name.txt.
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

func table(t *testing.T, series, latest string) *versions.Table {
	t.Helper()
	tb, err := versions.Parse([]byte(fmt.Sprintf(`{"date":"2026-11-01","source":"test","products":{"mariadb":[{"cycle":%q,"eol":"2099-01-01","latest":%q}]}}`, series, latest)))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestScanMariaDB(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	weak := mytest.Start(t, mytest.Options{Settings: map[string]string{
		"skip_name_resolve":               "OFF",
		"bind_address":                    "0.0.0.0",
		"local_infile":                    "ON",
		"general_log":                     "ON",
		"general_log_file":                "{dir}/general.log",
		"tls_version":                     "TLSv1.1,TLSv1.2",
		"sql_mode":                        "NO_ENGINE_SUBSTITUTION",
		"log_bin_trust_function_creators": "ON",
	}})
	weak.Exec(t,
		"CREATE USER ''@'%'",
		"CREATE USER 'app'@'%'",
		"GRANT ALL PRIVILEGES ON *.* TO 'app'@'%' WITH GRANT OPTION",
		"CREATE USER 'root'@'%' IDENTIFIED BY 'remote-root-pw'",
		"CREATE USER 'repl'@'10.%' IDENTIFIED BY 'repl-pw'",
		"GRANT REPLICATION SLAVE, SUPER ON *.* TO 'repl'@'10.%'",
		"CREATE USER 'mon'@'10.0.0.5' IDENTIFIED BY 'mon-pw'",
		"GRANT PROCESS, FILE, SHUTDOWN, CREATE USER, SELECT ON *.* TO 'mon'@'10.0.0.5'",
		"CREATE DATABASE test",
		"CREATE PROCEDURE test.p() SQL SECURITY DEFINER SELECT 1",
	)

	hard := mytest.Start(t, mytest.Options{
		Audit:       true,
		AuditEvents: "CONNECT,QUERY_DDL,QUERY_DCL",
		TLS:         true,
		RootEd25519: true,
		Plugins:     []string{"simple_password_check", "password_reuse_check", "file_key_management"},
		Files:       map[string]string{"keys.txt": "1;a7addd9adea9978fda19f21e6be987880e68ac92632ca052e5bb42b1a506939a\n"},
		Settings: map[string]string{
			"server_audit":                         "FORCE_PLUS_PERMANENT",
			"require_secure_transport":             "ON",
			"tls_version":                          "TLSv1.2,TLSv1.3",
			"local_infile":                         "OFF",
			"secure_file_priv":                     "{dir}/files",
			"skip_symbolic_links":                  "",
			"skip_show_database":                   "ON",
			"log_bin_trust_function_creators":      "OFF",
			"automatic_sp_privileges":              "OFF",
			"sql_mode":                             "STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION",
			"default_password_lifetime":            "180",
			"simple_password_check_minimal_length": "14",
			"max_password_errors":                  "5",
			"max_user_connections":                 "50",
			"log_bin":                              "{dir}/binlog",
			"binlog_expire_logs_seconds":           "604800",
			"secure_timestamp":                     "YES",
			"file_key_management_filename":         "{dir}/keys.txt",
			"innodb_encrypt_tables":                "ON",
			"innodb_encrypt_log":                   "ON",
			"encrypt_binlog":                       "ON",
			"encrypt_tmp_files":                    "ON",
		},
	})
	const auditorPW = "Aud1t-Pass-xyz-2026"
	hard.Exec(t,
		"CREATE USER 'auditor'@'127.0.0.1' IDENTIFIED VIA ed25519 USING PASSWORD('"+auditorPW+"') REQUIRE SSL",
		"GRANT SELECT ON mysql.* TO 'auditor'@'127.0.0.1'",
		"GRANT SHOW DATABASES, REPLICA MONITOR ON *.* TO 'auditor'@'127.0.0.1'",
	)
	var ver string
	if err := hard.Admin().QueryRow("SELECT VERSION()").Scan(&ver); err != nil {
		t.Fatal(err)
	}
	num := versions.Numeric(ver)
	parts := strings.Split(num, ".")
	series := parts[0] + "." + parts[1]
	var patch int
	fmt.Sscanf(parts[2], "%d", &patch)

	weakRep, err := mycheck.Scan(ctx, mycheck.Options{
		DSN:      fmt.Sprintf("mysql://root:%s@localhost/?socket=%s", weak.RootPassword(), weak.Socket),
		Versions: table(t, series, fmt.Sprintf("%s.%d", series, patch+1)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if weakRep.Engine != "mariadb" || strings.Contains(weakRep.Target, weak.RootPassword()) {
		t.Errorf("engine %q target %q", weakRep.Engine, weakRep.Target)
	}
	hardRep, err := mycheck.Scan(ctx, mycheck.Options{
		DSN:      hard.URL("auditor", auditorPW, "tls=skip-verify"),
		Versions: table(t, series, num),
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(hardRep.Target, auditorPW) {
		t.Errorf("target shows the password: %s", hardRep.Target)
	}

	dump(t, "my-weak", weakRep)
	dump(t, "my-hardened", hardRep)

	t.Run("contrast", func(t *testing.T) {
		for _, id := range contrast {
			w, ok := weakRep.Find(id)
			h, ok2 := hardRep.Find(id)
			if !ok || !ok2 {
				t.Fatalf("no finding %s", id)
			}
			if w.Status != posture.Fail {
				t.Errorf("%s on the weak server: %s (%s), want fail", id, w.Status, w.Observed)
			}
			if h.Status != posture.Pass {
				t.Errorf("%s on the hardened server: %s (%s %s), want pass", id, h.Status, h.Observed, h.Needs)
			}
		}
	})

	t.Run("hardened has no unexpected failures", func(t *testing.T) {
		allowed := map[string]bool{"my.version.eol_soon": true}
		for _, f := range hardRep.Findings {
			if (f.Status == posture.Fail && !allowed[f.ID]) || f.Status == posture.Error {
				t.Errorf("hardened: %s %s: %s", f.ID, f.Status, f.Observed)
			}
		}
	})

	t.Run("account without mysql schema access", func(t *testing.T) {
		weak.Exec(t, "CREATE USER 'nobody'@'127.0.0.1' IDENTIFIED BY 'Nobody-pw-1'")
		r, err := mycheck.Scan(ctx, mycheck.Options{DSN: weak.URL("nobody", "Nobody-pw-1", "")})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"my.acc.anonymous", "my.acc.empty_password", "my.priv.super", "my.priv.mysql_schema"} {
			if f, _ := r.Find(id); f.Status != posture.NotAssessable || f.Needs == "" {
				t.Errorf("%s as an unprivileged account: %s (%s)", id, f.Status, f.Observed)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := mycheck.Scan(ctx, mycheck.Options{DSN: hard.URL("auditor", "wrong-secret-9", "tls=skip-verify")})
		if err == nil || strings.Contains(err.Error(), "wrong-secret-9") {
			t.Errorf("bad password: %v", err)
		}
		_, err = mycheck.Scan(ctx, mycheck.Options{DSN: hard.URL("auditor", auditorPW, "")})
		if err == nil || !strings.Contains(err.Error(), "tls=true") || strings.Contains(err.Error(), auditorPW) {
			t.Errorf("plaintext login of a REQUIRE SSL account: %v", err)
		}
		hard.Exec(t, "CREATE USER 'plain'@'127.0.0.1' IDENTIFIED VIA ed25519 USING PASSWORD('Plain-pass-1234x')")
		_, err = mycheck.Scan(ctx, mycheck.Options{DSN: hard.URL("plain", "Plain-pass-1234x", "")})
		if err == nil || !strings.Contains(err.Error(), "tls=true") {
			t.Errorf("plaintext to a TLS-only server: %v", err)
		}
		_, err = mycheck.Scan(ctx, mycheck.Options{DSN: "mysql://u:topsecret@127.0.0.1:1/?timeout=2s"})
		if err == nil || strings.Contains(err.Error(), "topsecret") {
			t.Errorf("unreachable: %v", err)
		}
		if _, err := mycheck.Scan(ctx, mycheck.Options{DSN: "mysql://u:p@h/?tls=maybe"}); err == nil {
			t.Error("bad tls value accepted")
		}
	})
}
