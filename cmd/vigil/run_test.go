package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunWatchesAndStores runs the daemon in-process on a directory, drops
// the demo log in, and waits (polling the store through the CLI, with a
// deadline) for the brute-force alerts; cancelling stops it cleanly.
func TestRunWatchesAndStores(t *testing.T) {
	logs, data := t.TempDir(), t.TempDir()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs([]string{"run", "--watch", filepath.Join(logs, "*.log"), "--data-dir", data})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	b, err := os.ReadFile(demoLog)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logs, "postgresql.log"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, _, code := run(t, "", "alerts", "list", "--data-dir", data, "--format", "ndjson", "--limit", "0")
		if code == 0 && strings.Contains(got, `"auth.bruteforce_success"`) && strings.Contains(got, `"auth.failed_login_burst"`) {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("alerts not stored in time; daemon log:\n%s", errb.String())
		}
		select {
		case err := <-done:
			t.Fatalf("daemon stopped early: %v\n%s", err, errb.String())
		case <-time.After(50 * time.Millisecond): // poll interval, not synchronization
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("daemon: %v\n%s", err, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not stop after cancel")
	}
	if !strings.Contains(errb.String(), "auth.bruteforce_success") {
		t.Errorf("the daemon log does not mention the alert:\n%s", errb.String())
	}
	if strings.Contains(errb.String(), "Zq9-SECRET") {
		t.Error("a secret reached the daemon log")
	}
	if _, _, code := run(t, "", "run"); code != 2 {
		t.Errorf("run without --watch: exit %d, want 2", code)
	}
}

func TestTimezoneFlag(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--watch", "/nonexistent/*.log", "--timezone", "Mars/Olympus"},
		{"replay", "--timezone", "CEST", "/nonexistent.log"},
	} {
		_, stderr, code := run(t, "", args...)
		if code != 2 || !strings.Contains(stderr, "--timezone: unknown time zone") || !strings.Contains(stderr, "Europe/Berlin") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	// A zone-less server_audit line read in Asia/Tokyo: 12:00 there is 03:00 UTC.
	log := filepath.Join(t.TempDir(), "server_audit.log")
	if err := os.WriteFile(log, []byte("20261125 12:00:00,db1,mallory,10.0.0.9,7,0,FAILED_CONNECT,,,1045\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, stderr, code := run(t, "", "replay", "--timezone", "Asia/Tokyo", "--data-dir", dir, "--format", "ndjson", log); code != 0 {
		t.Fatalf("replay: exit %d\n%s", code, stderr)
	}
	out, stderr, code := run(t, "", "events", "search", "--data-dir", dir, "--format", "ndjson")
	if code != 0 || !strings.Contains(out, `"time":"2026-11-25T03:00:00Z"`) {
		t.Fatalf("events: exit %d, %s\n%s", code, out, stderr)
	}
}
