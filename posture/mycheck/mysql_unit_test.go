package mycheck

import (
	"testing"
	"time"

	"github.com/vigildb/vigil/posture"
	"github.com/vigildb/vigil/posture/versions"
)

// The real-server tests run MariaDB (what the test host has); these cover
// the MySQL-only branches on state shaped as a MySQL 8.4 server reports it.
func mysqlState(vars map[string]string, plugins map[string]plugin, components, dynamic []string, accounts ...account) *state {
	return &state{
		now: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), versions: versions.Default(),
		Version: "8.4.3", Comment: "MySQL Community Server - GPL", User: "auditor@%",
		Vars: vars, Status: map[string]string{}, Accounts: accounts, Plugins: plugins, Components: components, Dynamic: dynamic,
		Replica: map[string]string{},
	}
}

func eval(t *testing.T, st *state, id string) posture.Result {
	t.Helper()
	for _, d := range Defs() {
		if d.ID == id {
			return d.Eval(st)
		}
	}
	t.Fatalf("no check %s", id)
	return posture.Result{}
}

func TestMySQLBranches(t *testing.T) {
	good := mysqlState(map[string]string{
		"password_history": "5", "password_reuse_interval": "365", "password_require_current": "ON",
		"validate_password.length": "14", "log_error_verbosity": "2", "default_table_encryption": "ON",
		"innodb_redo_log_encrypt": "ON", "binlog_encryption": "ON", "innodb_undo_log_encrypt": "ON",
		"block_encryption_mode": "aes-256-cbc", "binlog_expire_logs_seconds": "2592000",
		"connection_control_failed_connections_threshold": "5",
	}, map[string]plugin{"connection_control": {Status: "ACTIVE"}, "audit_log": {Status: "ACTIVE", LoadOption: "FORCE_PLUS_PERMANENT"}},
		[]string{"file://component_validate_password"}, nil,
		account{User: "app", Host: "10.0.0.%", Plugin: "caching_sha2_password", SSLType: "ANY", Privs: map[string]bool{}})
	bad := mysqlState(map[string]string{
		"password_history": "0", "password_reuse_interval": "0", "password_require_current": "OFF",
		"log_error_verbosity": "1", "default_table_encryption": "OFF", "block_encryption_mode": "aes-128-ecb",
		"innodb_redo_log_encrypt": "OFF", "binlog_encryption": "OFF", "innodb_undo_log_encrypt": "OFF",
		"binlog_expire_logs_seconds": "0",
	}, map[string]plugin{}, nil, []string{"'app'@'%' SYSTEM_VARIABLES_ADMIN"},
		account{User: "app", Host: "%", Plugin: "mysql_native_password", Privs: map[string]bool{"super": true}})
	for _, id := range []string{"my.acc.password_reuse", "my.acc.password_require_current", "my.acc.password_validation",
		"my.acc.password_length", "my.acc.login_throttle", "my.log.verbosity", "my.enc.tables", "my.enc.redo_log",
		"my.enc.binlog", "my.enc.temp", "my.cfg.block_encryption_mode", "my.log.binlog_expire", "my.priv.dynamic",
		"my.audit.plugin", "my.audit.permanent", "my.acc.weak_plugin", "my.acc.wildcard_host", "my.priv.super", "my.version.eol"} {
		if r := eval(t, good, id); r.Status != posture.Pass {
			t.Errorf("good %s: %s (%s)", id, r.Status, r.Observed)
		}
		want := posture.Fail
		if id == "my.version.eol" {
			continue
		}
		if r := eval(t, bad, id); r.Status != want {
			t.Errorf("bad %s: %s (%s)", id, r.Status, r.Observed)
		}
	}
	old := mysqlState(map[string]string{}, map[string]plugin{}, nil, nil)
	old.Version = "8.0.36"
	if r := eval(t, old, "my.version.eol"); r.Status != posture.Fail {
		t.Errorf("MySQL 8.0 after 2026-04-30: %s", r.Status)
	}
}
