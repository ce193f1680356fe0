package testproc

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

func TestProcesses(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Fatal("this process is not alive")
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	go cmd.Wait() // reap it, or it stays a zombie (which Alive counts as gone)
	// Start returns when execve has closed the child's close-on-exec fds,
	// which is before the kernel sets up the new command line: until then
	// /proc/PID/cmdline reads empty (and StopStale rightly leaves it alone).
	for deadline := time.Now().Add(5 * time.Second); ; {
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child's command line never appeared")
		}
		runtime.Gosched()
	}
	// Its command line does not name the marker: left alone.
	if StopStale(pid, "no-such-marker", 15) || !Alive(pid) {
		t.Fatal("StopStale stopped a process that is not ours")
	}
	if !StopStale(pid, "30", 15) || !WaitGone(pid, 5*time.Second) {
		t.Fatal("StopStale did not stop the process")
	}
	if !StopStale(pid, "30", 15) {
		t.Fatal("a gone process is not reported stopped")
	}
}

func TestReapStale(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	prefix := "vigil-testproc-" + strconv.Itoa(os.Getpid()) + "-"
	mk := func(name string, owner int) string {
		dir := filepath.Join(TempRoot(), prefix+name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(owner)), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	orphan, mine := mk("orphan", dead.Process.Pid), mk("mine", os.Getpid())
	var asked []string
	ReapStale(prefix, func(dir string) bool { asked = append(asked, dir); return true })
	if len(asked) != 1 || asked[0] != orphan {
		t.Fatalf("stop asked for %v, want only %s", asked, orphan)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("the orphan directory is still there")
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("a live owner's directory was removed: %v", err)
	}
	if port, err := FreePort(); err != nil || port <= 0 {
		t.Errorf("FreePort = %d, %v", port, err)
	}
	f := filepath.Join(t.TempDir(), "f")
	os.WriteFile(f, []byte("hello"), 0o644)
	if FileSize(f) != 5 || ReadFrom(f, 2) != "llo" || ReadFrom(f, 9) != "" {
		t.Errorf("FileSize/ReadFrom: %d %q", FileSize(f), ReadFrom(f, 2))
	}
}
