package mytest

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/internal/testproc"
)

func TestServer(t *testing.T) {
	s := Start(t, Options{Audit: true, TLS: true, RootEd25519: true,
		Files:    map[string]string{"keys.txt": "1;a7addd9adea9978fda19f21e6be987880e68ac92632ca052e5bb42b1a506939a\n"},
		Plugins:  []string{"file_key_management"},
		Settings: map[string]string{"secure_file_priv": "{dir}/files", "file_key_management_filename": "{dir}/keys.txt"}})
	var v string
	if err := s.Admin().QueryRow("SELECT VERSION()").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v, "MariaDB") {
		t.Fatalf("version %q", v)
	}
	var plugin, priv string
	if err := s.Admin().QueryRow("SELECT plugin, @@secure_file_priv FROM mysql.user WHERE User = 'root' AND Host = 'localhost'").Scan(&plugin, &priv); err != nil {
		t.Fatal(err)
	}
	if plugin != "ed25519" || !strings.HasPrefix(priv, s.Dir) {
		t.Errorf("root plugin %q, secure_file_priv %q", plugin, priv)
	}
	// Only root@localhost (and the locked mariadb.sys) exist.
	var n int
	if err := s.Admin().QueryRow("SELECT COUNT(*) FROM mysql.global_priv WHERE User NOT IN ('root', 'mariadb.sys')").Scan(&n); err != nil || n != 0 {
		t.Fatalf("extra accounts: %d %v", n, err)
	}
	s.Exec(t, "CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'App-pass-123'", "CREATE DATABASE shop",
		"GRANT SELECT ON shop.* TO 'app'@'127.0.0.1'")
	db, err := s.Connect("app", "App-pass-123", "skip-verify")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var cipher, marker string
	if err := db.QueryRow("SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&marker, &cipher); err != nil || cipher == "" {
		t.Fatalf("TLS session: %q %v", cipher, err)
	}
	if _, err := db.Exec("SELECT 'mytest-marker-42'"); err != nil {
		t.Fatal(err)
	}
	// The audit file has the login and the statement.
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(s.AuditLogPath())
		if strings.Contains(string(b), "mytest-marker-42") && strings.Contains(string(b), ",app,") && strings.Contains(string(b), "CONNECT") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit log lacks the marker:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(s.ErrorLogPath()); err != nil {
		t.Fatal(err)
	}
	pid := s.PID()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if testproc.Alive(pid) {
		t.Fatalf("pid %d still alive after Stop", pid)
	}
}
