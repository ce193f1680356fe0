package integration

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/pipeline"
	"github.com/vigildb/vigil/store"
)

// TestRunDiskFull: the store's file system fills up while `vigil run` is
// reading. The daemon says so clearly (disk full, retrying), keeps the
// lines it could not store unread, and when space returns it resumes: in the
// end the store holds every event once and the alerts of a replay.
//
// The store lives on a small tmpfs the test mounts, so the test needs root
// (CI runs as root); elsewhere it fails saying so.
func TestRunDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("TestRunDiskFull mounts a tmpfs for the store and needs root (CI runs as root): run make test as root")
	}
	bin := vigilBin(t)
	data := genLog(t, "8MiB", 11)
	ents := entries(data)
	first := bytes.Join(ents[:len(ents)/3], nil)
	rest := bytes.Join(ents[len(ents)/3:], nil)

	dir := t.TempDir()
	logDir := filepath.Join(dir, "logs")
	dataDir := filepath.Join(dir, "data")
	for _, d := range []string{logDir, dataDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", dataDir).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs for the store: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dataDir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dataDir, err, out)
		}
	})
	pg := filepath.Join(logDir, "postgresql.log")
	if err := os.WriteFile(pg, first, 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, []string{"run", "--watch", filepath.Join(logDir, "*.log"), "--data-dir", dataDir}, dir, 0)
	d.waitLog(t, "vigil run: watching")
	waitRead(t, dataDir, "file", pg, int64(len(first)), d)

	// Fill the file system, then append the rest of the log.
	filler := filepath.Join(dataDir, "filler")
	fillDisk(t, filler)
	f, err := os.OpenFile(pg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(rest); err != nil {
		t.Fatal(err)
	}
	f.Close()
	d.waitLog(t, "disk_full=true")
	select {
	case err := <-d.exited:
		t.Fatalf("vigil run exited (%v) on a full disk; its log:\n%s", err, readTail(d.logPath))
	default:
	}
	// Space returns: it resumes by itself.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitRead(t, dataDir, "file", pg, int64(len(first)+len(rest)), d)
	waitStable(t, dataDir, d)
	d.stop(t)
	logText, _ := os.ReadFile(d.logPath)
	if !strings.Contains(string(logText), "store write succeeded after retries") {
		t.Errorf("the daemon's log does not say it recovered; its log:\n%s", readTail(d.logPath))
	}
	for _, ln := range strings.Split(string(logText), "\n") {
		if strings.Contains(ln, "disk_full=true") {
			t.Logf("the daemon said: %s", ln)
			break
		}
	}

	written := append(append([]byte{}, first...), rest...)
	want := map[string]int{}
	res, err := pipeline.Replay(context.Background(), pipeline.Options{SourceName: "file", OnEvent: func(ev *event.Event) { want[eventKey(ev)]++ }},
		pipeline.Input{Name: pg, R: bytes.NewReader(written), Size: int64(len(written))})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, err := st.SearchEvents(context.Background(), store.EventFilter{Limit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, ev := range evs {
		got[eventKey(ev)]++
	}
	bad := 0
	for k, n := range want {
		if got[k] != n {
			bad++
		}
	}
	if bad > 0 || int64(len(evs)) != res.Events {
		t.Errorf("store holds %d events, the replay %d; %d differ", len(evs), res.Events, bad)
	}
	alerts, err := st.ListAlerts(context.Background(), store.AlertFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != len(res.Alerts) {
		t.Errorf("%d alerts stored, the replay raises %d", len(alerts), len(res.Alerts))
	}
	t.Logf("%d events stored across a full disk (replay: %d), %d alerts (replay: %d)", len(evs), res.Events, len(alerts), len(res.Alerts))
}

// fillDisk writes path until the file system is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
}
