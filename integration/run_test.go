package integration

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vigildb/vigil/internal/pgtest"
	"github.com/vigildb/vigil/pipeline"
	"github.com/vigildb/vigil/store"
)

// TestRunLiveBruteForce runs the live pipeline (what `vigil run` runs) on
// the csvlog of a real PostgreSQL 15 + pgaudit while a client guesses
// ops_admin's password six times from 127.0.0.2 and then logs in: the
// failed-login burst and the successful login after it are alerted and
// stored while the server is still running.
func TestRunLiveBruteForce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), budget(t))
	defer cancel()
	srv := pgtest.Start(t, pgtest.Options{})
	admin, err := srv.Admin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"CREATE DATABASE shop", "CREATE ROLE ops_admin LOGIN PASSWORD 'Corr3ct-H0rse'"} {
		if _, err := admin.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	admin.Close(ctx)

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
			Patterns:     []string{filepath.Join(srv.LogDir, "*.csv")},
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

	for range 6 {
		c, err := srv.Connect(ctx, "ops_admin", "guess", "shop", pgtest.ConnOptions{Source: "127.0.0.2", AppName: "psql"})
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
			if c != nil {
				c.Close(ctx)
			}
			t.Fatalf("bad password: %v, want SQLSTATE 28P01", err)
		}
	}
	c, err := srv.Connect(ctx, "ops_admin", "Corr3ct-H0rse", "shop", pgtest.ConnOptions{Source: "127.0.0.2", AppName: "psql", SimpleProtocol: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "SELECT 'vigil-run-done'"); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)

	want := []string{"auth.failed_login_burst", "auth.bruteforce_success"}
	deadline := time.Now().Add(60 * time.Second)
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
		time.Sleep(100 * time.Millisecond)
	}
	evs, err := st.SearchEvents(ctx, store.EventFilter{Client: "127.0.0.2", Action: "login_failed"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 6 {
		t.Errorf("%d failed logins from 127.0.0.2 stored, want 6", len(evs))
	}
	stopRun()
	if _, err := st.LoadState(ctx, pipeline.StateName); err != nil {
		t.Errorf("engine state not saved at shutdown: %v", err)
	}
}
