// Package testproc holds what the real-server test harnesses
// (internal/pgtest, internal/mytest) share about processes, ports and
// their temp directories.
package testproc

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Alive reports whether pid is a live process (not a zombie).
func Alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !os.IsNotExist(err)
	}
	// state is the field after "(comm)"
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z' && b[i+2] != 'X'
	}
	return true
}

// WaitGone waits up to d for pid to exit.
func WaitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for Alive(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond) // polling another process's exit
	}
	return true
}

// FreePort returns a loopback TCP port free at the time of the call.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// TempRoot is the directory server directories go in: the temp directory
// unless its path is too long for a Unix socket path inside it.
func TempRoot() string {
	if d := os.TempDir(); len(d) <= 40 {
		return d
	}
	return "/tmp"
}

// FileSize is path's size, 0 when it cannot be read.
func FileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// ReadFrom returns path's content from off on ("" when unreadable).
func ReadFrom(path string, off int64) string {
	b, err := os.ReadFile(path)
	if err != nil || off > int64(len(b)) {
		return ""
	}
	return string(b[off:])
}

// ReapStale finds TempRoot()/prefix* directories whose owner (the pid in
// their "owner" file) is gone — left by test processes that died without
// their cleanups — and removes each once stop(dir) says nothing of it
// still runs.
func ReapStale(prefix string, stop func(dir string) bool) {
	dirs, _ := filepath.Glob(filepath.Join(TempRoot(), prefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner"))
		if err != nil {
			continue
		}
		owner, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || Alive(owner) {
			continue
		}
		if stop(dir) {
			_ = os.RemoveAll(dir)
		}
	}
}

// StopStale stops pid if it is alive and its command line names marker
// (so an unrelated process that got the pid is left alone): sig first,
// then SIGKILL. It reports whether nothing of it is left.
func StopStale(pid int, marker string, sig syscall.Signal) bool {
	if pid <= 0 || !Alive(pid) {
		return true
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if !bytes.Contains(cmdline, []byte(marker)) {
		return false
	}
	_ = syscall.Kill(pid, sig)
	if WaitGone(pid, 10*time.Second) {
		return true
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return WaitGone(pid, 5*time.Second)
}
