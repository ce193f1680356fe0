package integration

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/vigildb/vigil/internal/mytest"
)

// The MariaDB side of the attack scenario (mariadb_test.go) talks to a real
// MariaDB 10.11 + server_audit started by internal/mytest, over TCP from
// chosen loopback source addresses: the audit log then shows each client
// under its own address, as it would for remote clients.

// myDB is the database every session of the MariaDB scenario uses.
const myDB = "shop"

// fromSource dials TCP with the local address bound to src (127.0.0.x: all
// of 127/8 is the loopback interface on Linux), so that the server logs the
// connection as coming from src.
func fromSource(src string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, _, addr string) (net.Conn, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
		return d.DialContext(ctx, "tcp", addr)
	}
}

// myConnector is a connector for userName/password to srv over TCP from src,
// with database myDB.
func myConnector(t testing.TB, srv *mytest.Server, userName, password, src string) driver.Connector {
	t.Helper()
	if net.ParseIP(src) == nil {
		t.Fatalf("bad source address %q", src)
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = userName, password
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", srv.Addr(), myDB
	cfg.Timeout = 10 * time.Second
	cfg.DialFunc = fromSource(src)
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mySession is one server session: one connection, one CONNECT ...
// DISCONNECT pair in the audit log.
type mySession struct {
	db   *sql.DB
	c    *sql.Conn
	user string
}

// myRunner carries the MariaDB scenario's state and fails the test on any
// surprise from the server.
type myRunner struct {
	t   testing.TB
	ctx context.Context
	srv *mytest.Server
	sc  *Scenario
}

func (r *myRunner) step(desc string, exps ...Expect) {
	r.t.Helper()
	r.sc.add(desc, exps)
}

// connect logs in as u from src.
func (r *myRunner) connect(u role, src string) *mySession {
	r.t.Helper()
	db := sql.OpenDB(myConnector(r.t, r.srv, u.name, u.password, src))
	c, err := db.Conn(r.ctx)
	if err != nil {
		db.Close()
		r.t.Fatalf("login %s from %s: %v", u.name, src, err)
	}
	return &mySession{db: db, c: c, user: u.name}
}

// badLogin makes exactly one login attempt with a wrong password and
// insists on the server's 1045 (Access denied).
func (r *myRunner) badLogin(userName, password, src string) {
	r.t.Helper()
	c, err := myConnector(r.t, r.srv, userName, password, src).Connect(r.ctx)
	if err == nil {
		c.Close()
		r.t.Fatalf("login %s from %s with a wrong password succeeded, want error 1045", userName, src)
	}
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1045 {
		r.t.Fatalf("login %s from %s: %v, want error 1045", userName, src, err)
	}
}

func (r *myRunner) exec(s *mySession, q string) {
	r.t.Helper()
	rows, err := s.c.QueryContext(r.ctx, q)
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	if err != nil {
		r.t.Fatalf("%s: %s: %v", s.user, q, err)
	}
}

// fail runs q and insists that the server refuses it with error number code.
func (r *myRunner) fail(s *mySession, code uint16, q string) {
	r.t.Helper()
	_, err := s.c.ExecContext(r.ctx, q)
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != code {
		r.t.Fatalf("%s: %s: got %v, want error %d", s.user, q, err, code)
	}
}

func (r *myRunner) close(ss ...*mySession) {
	r.t.Helper()
	for _, s := range ss {
		if err := s.c.Close(); err != nil {
			r.t.Fatalf("close: %v", err)
		}
		if err := s.db.Close(); err != nil {
			r.t.Fatalf("close: %v", err)
		}
	}
}

// waitAudit polls the audit log until it contains text.
func waitAudit(ctx context.Context, path, text string) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, []byte(text)) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %q not logged: %w", path, text, ctx.Err())
		case <-tick.C:
		}
	}
}

// marker runs SELECT 'text' in s and waits until the audit log has it:
// everything s and the sessions closed before did is then in the file.
func (r *myRunner) marker(s *mySession, text string) {
	r.t.Helper()
	r.exec(s, "SELECT '"+text+"'")
	ctx, cancel := context.WithTimeout(r.ctx, 20*time.Second)
	defer cancel()
	if err := waitAudit(ctx, r.srv.AuditLogPath(), text); err != nil {
		r.t.Fatal(err)
	}
}
