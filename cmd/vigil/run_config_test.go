package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the daemon's log writes while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freePort is a port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitFor polls cond until it holds, failing the test at the deadline or
// if the daemon stops.
func waitFor(t *testing.T, what string, done <-chan error, log *syncBuffer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not in time; daemon log:\n%s", what, log.String())
		}
		select {
		case err := <-done:
			t.Fatalf("daemon stopped early: %v\n%s", err, log.String())
		case <-time.After(50 * time.Millisecond): // poll interval, not synchronization
		}
	}
}

// TestRunConfig runs the daemon from a config file with a file source, an
// http source, a syslog source and the HTTP listener, and checks each path
// into the store plus the metrics and their authentication.
func TestRunConfig(t *testing.T) {
	dir, logs := t.TempDir(), t.TempDir()
	data := filepath.Join(dir, "data")
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
	sysAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "udp"))
	const token = "s3cret-token-0123456789abcdef"
	t.Setenv("VIGIL_TEST_TOKEN", token)
	cfgPath := filepath.Join(dir, "vigil.yaml")
	cfg := fmt.Sprintf(`log_level: info
data_dir: %s
sources:
  - name: pg-files
    type: file
    paths:
      - %s
    poll_interval: 50ms
  - name: app
    type: http
    format: events
  - name: pg-syslog
    type: syslog
    listen:
      - udp://%s
    log_line_prefix: "%%m [%%p] %%q%%u@%%d "
http:
  listen: %s
  token: ${env:VIGIL_TEST_TOKEN}
`, data, filepath.Join(logs, "*.log"), sysAddr, httpAddr)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	root := newRootCmd()
	var out bytes.Buffer
	errb := &syncBuffer{}
	root.SetOut(&out)
	root.SetErr(errb)
	root.SetArgs([]string{"run", "-c", cfgPath})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	get := func(path, tok string) (int, string) {
		req, err := http.NewRequest("GET", "http://"+httpAddr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitFor(t, "/readyz", done, errb, func() bool { code, _ := get("/readyz", token); return code == 200 })
	if code, _ := get("/healthz", ""); code != 200 {
		t.Errorf("/healthz: %d", code)
	}

	// File source.
	b, err := os.ReadFile(demoLog)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logs, "postgresql.log"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "auth.bruteforce_success stored", done, errb, func() bool {
		got, _, code := run(t, "", "alerts", "list", "--data-dir", data, "--format", "ndjson", "--limit", "0")
		return code == 0 && strings.Contains(got, `"auth.bruteforce_success"`)
	})

	// Metrics: authenticated, and counting the file's events.
	if code, _ := get("/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without token: %d, want 401", code)
	}
	re := regexp.MustCompile(`(?m)^vigil_events_in_total\{source="pg-files"\} (\S+)$`)
	code, body := get("/metrics", token)
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	if m := re.FindStringSubmatch(body); m == nil {
		t.Errorf("no vigil_events_in_total for pg-files in:\n%s", body)
	} else if n, _ := strconv.ParseFloat(m[1], 64); n <= 0 {
		t.Errorf("vigil_events_in_total = %s", m[1])
	}

	// HTTP ingest: accepted once stored.
	nd := `{"time":"2026-11-25T10:00:00Z","event":{"action":"statement"},"user":{"name":"ingestuser"},"db":{"query":{"text":"SELECT 41"}}}
{"time":"2026-11-25T10:00:01Z","event":{"action":"statement"},"user":{"name":"ingestuser"},"db":{"query":{"text":"SELECT 42"}}}
`
	req, _ := http.NewRequest("POST", "http://"+httpAddr+"/ingest/app", strings.NewReader(nd))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(rb), `"accepted":2`) {
		t.Fatalf("ingest: %d %s\n%s", resp.StatusCode, rb, errb.String())
	}
	got, _, c := run(t, "", "events", "search", "--data-dir", data, "--user", "ingestuser", "--format", "ndjson", "--limit", "0")
	if c != 0 || strings.Count(got, "\n") != 2 || !strings.Contains(got, `"app"`) {
		t.Errorf("ingested events (exit %d):\n%s", c, got)
	}

	// Syslog: one PostgreSQL message over UDP.
	conn, err := net.Dial("udp", sysAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msg := "<134>Nov 25 09:42:20 db1 postgres[4242]: [7-1] 2026-11-25 09:42:20.804 UTC [4242] sysloguser@appdb LOG:  statement: SELECT 7\n"
	waitFor(t, "syslog event stored", done, errb, func() bool {
		// UDP may be lost: resend until it shows (same content, same record).
		_, _ = conn.Write([]byte(msg))
		got, _, code := run(t, "", "events", "search", "--data-dir", data, "--user", "sysloguser", "--format", "ndjson", "--limit", "0")
		return code == 0 && strings.Contains(got, `"pg-syslog"`)
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("daemon: %v\n%s", err, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not stop after cancel")
	}
	if strings.Contains(errb.String(), token) {
		t.Error("the token reached the daemon log")
	}
}

// TestRunConfigErrors: a bad config is reported like `config check` (exit
// 1), and -c with --watch is a usage error.
func TestRunConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("log_level: loud\nnope: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run(t, "", "run", "-c", bad)
	if code != 1 || !strings.Contains(errOut, bad+":1:") || !strings.Contains(errOut, bad+":2:") {
		t.Errorf("bad config: exit %d, stderr:\n%s", code, errOut)
	}
	if _, _, code := run(t, "", "run", "-c", bad, "--watch", "/tmp/*.log"); code != 2 {
		t.Errorf("-c with --watch: exit %d, want 2", code)
	}
}
