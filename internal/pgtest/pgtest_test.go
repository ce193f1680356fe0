package pgtest

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vigildb/vigil/internal/testproc"
)

// TestServer starts a server, logs in over TCP from a second loopback
// address with a wrong and a right password, and checks that the three log
// files saw it and that Stop really stops the postmaster.
func TestServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := Start(t, Options{LogName: "selftest", PgauditLogRelation: true})

	admin, err := s.Admin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE ROLE tester LOGIN PASSWORD 'right-pw'"); err != nil {
		t.Fatal(err)
	}

	_, err = s.Connect(ctx, "tester", "wrong-pw", "postgres", ConnOptions{Source: "127.0.0.2", AppName: "selftest"})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Fatalf("wrong password: got %v, want a 28P01 from the server", err)
	}
	conn, err := s.Connect(ctx, "tester", "right-pw", "postgres", ConnOptions{Source: "127.0.0.3", AppName: "selftest"})
	if err != nil {
		t.Fatal(err)
	}
	var addr string
	if err := conn.QueryRow(ctx, "SELECT host(inet_client_addr())").Scan(&addr); err != nil {
		t.Fatal(err)
	}
	if addr != "127.0.0.3" {
		t.Errorf("server saw client %s, want 127.0.0.3", addr)
	}
	conn.Close(ctx)
	if _, err := s.Connect(ctx, "tester", "x", "postgres", ConnOptions{Source: "10.0.0.1"}); err == nil {
		t.Error("Connect accepted a non-loopback source address")
	}

	if _, err := admin.Exec(ctx, "SELECT 'pgtest-selftest-done'"); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitForLog(ctx, "pgtest-selftest-done"); err != nil {
		t.Fatal(err)
	}
	files := s.LogFiles()
	stderr, err := os.ReadFile(files.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`tester@postgres FATAL:  password authentication failed for user "tester"`,
		"connection received: host=127.0.0.2",
		"connection authorized: user=tester database=postgres application_name=selftest",
		"AUDIT: SESSION,",
	} {
		if !strings.Contains(string(stderr), want) {
			t.Errorf("%s lacks %q", files.Stderr, want)
		}
	}
	for _, f := range []string{files.CSV, files.JSON} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "127.0.0.2") {
			t.Errorf("%s lacks the failed login from 127.0.0.2", f)
		}
	}

	pid := s.PID()
	admin.Close(ctx)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if testproc.Alive(pid) {
		t.Errorf("postmaster %d still running after Stop", pid)
	}
}
