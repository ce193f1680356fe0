package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigildb/vigil/store"
)

// TestRunNotifySurvivesSIGKILL: `vigil run` delivers its alerts to a
// webhook that answers slowly at first; the daemon is killed with SIGKILL
// while deliveries are in flight, started again, and in the end every
// stored alert reached the webhook, duplicates only under the same
// X-Vigil-Delivery id.
func TestRunNotifySurvivesSIGKILL(t *testing.T) {
	bin := vigilBin(t)
	attack, err := os.ReadFile("../testdata/demo/attack.log")
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu         sync.Mutex
		byDelivery = map[string]string{} // delivery id -> alert id
		deliveries int
		gate       = make(chan struct{}) // closed once the daemon was killed
		firstIn    = make(chan struct{}, 1)
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case firstIn <- struct{}{}:
		default:
		}
		// Hold every request until the daemon was killed: those in flight
		// then die with it, unanswered.
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
		body, _ := io.ReadAll(r.Body)
		var a struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(body, &a); err != nil || a.ID == "" {
			http.Error(w, "not an alert", http.StatusBadRequest)
			return
		}
		d := r.Header.Get("X-Vigil-Delivery")
		mu.Lock()
		defer mu.Unlock()
		if prev, ok := byDelivery[d]; ok && prev != a.ID {
			t.Errorf("delivery id %s used for alerts %s and %s", d, prev, a.ID)
		}
		byDelivery[d] = a.ID
		deliveries++
	}))
	defer hook.Close()

	dir := t.TempDir()
	logDir, dataDir := filepath.Join(dir, "logs"), filepath.Join(dir, "data")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "vigil.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`data_dir: %s
sources:
  - name: pg
    type: file
    paths: [%s]
notifiers:
  - name: hook
    type: webhook
    url: %s/alerts
    secret: 0123456789abcdef0123
    timeout: 30s
routes:
  - name: default
    notifiers: [hook]
`, dataDir, filepath.Join(logDir, "*.log"), hook.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := execOut(bin, "config", "check", "-c", cfg); err != nil {
		t.Fatalf("config check: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(logDir, "postgresql.log"), attack, 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, []string{"run", "-c", cfg}, dir, 0)
	select {
	case <-firstIn:
	case err := <-d.exited:
		t.Fatalf("vigil run exited (%v); its log:\n%s", err, readTail(d.logPath))
	case <-time.After(time.Minute):
		t.Fatalf("no delivery reached the webhook in a minute; the daemon's log:\n%s", readTail(d.logPath))
	}
	d.kill()
	close(gate)

	d = startDaemon(t, bin, []string{"run", "-c", cfg}, dir, 1)
	defer d.stop(t)
	// Every stored alert must arrive.
	deadline := time.Now().Add(90 * time.Second)
	for {
		st, err := store.Open(dataDir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		alerts, err := st.ListAlerts(context.Background(), store.AlertFilter{Limit: 10000})
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := map[string]bool{}
		for _, id := range byDelivery {
			got[id] = true
		}
		n := deliveries
		mu.Unlock()
		missing := 0
		for _, a := range alerts {
			if !got[a.ID] {
				missing++
			}
		}
		if len(alerts) > 0 && missing == 0 {
			t.Logf("%d alerts stored, all delivered: %d requests, %d distinct delivery ids", len(alerts), n, len(byDelivery))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d stored alerts never reached the webhook; the daemon's log:\n%s", missing, len(alerts), readTail(d.logPath))
		}
		time.Sleep(200 * time.Millisecond) // polling another process's progress
	}
}

func execOut(bin string, args ...string) ([]byte, error) {
	return exec.Command(bin, args...).CombinedOutput()
}
