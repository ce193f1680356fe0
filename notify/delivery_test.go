package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vigildb/vigil/config"
)

func hookService(t *testing.T, url string, mod func(*config.Notifier)) (*Service, *syncBuf) {
	t.Helper()
	nc := webhookNotifierCfg("hook", url)
	if mod != nil {
		mod(&nc)
	}
	st := openStore(t, t.TempDir())
	logs := &syncBuf{}
	r := newRoute("all", "hook")
	r.Throttle = 0 // one message per new alert
	return mustNew(t, Config{Notifiers: []config.Notifier{nc}, Routes: []config.Route{r}}, st, fastOpts(logs)), logs
}

func deliveryIDs(rs []received) map[string]int {
	out := map[string]int{}
	for _, r := range rs {
		out[r.Header.Get("X-Vigil-Delivery")]++
	}
	return out
}

func TestRetry500Then200(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n <= 2 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return false
		}
		return true
	})
	s, logs := hookService(t, rc.srv.URL, nil)
	runService(t, s)
	upsert(t, s.st, testAlert("r1", "ddl.drop_table", "10.0.0.1", 1, t0))
	s.Wake()
	got := rc.wait(t, 1)
	waitFor(t, "sent", func() bool { return countOutbox(t, s.st, "status = 'sent'") == 1 })
	rows := outbox(t, s.st)
	if len(rows) != 1 || rows[0].Attempts != 3 || rows[0].ID != got[0].Header.Get("X-Vigil-Delivery") {
		t.Errorf("outbox = %+v", rows)
	}
	if v := counterValue(s.metrics.retried.WithLabelValues("hook")); v != 2 {
		t.Errorf("retried = %v", v)
	}
	if v := counterValue(s.metrics.sent.WithLabelValues("hook")); v != 1 {
		t.Errorf("sent = %v", v)
	}
	if !strings.Contains(logs.String(), "500 Internal Server Error") {
		t.Errorf("logs lack the failure:\n%s", logs)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		}
		return true // count both arrivals
	})
	s, _ := hookService(t, rc.srv.URL, nil)
	runService(t, s)
	upsert(t, s.st, testAlert("r1", "ddl.drop_table", "10.0.0.1", 1, t0))
	s.Wake()
	got := rc.wait(t, 2)
	if gap := got[1].Time.Sub(got[0].Time); gap < time.Second {
		t.Errorf("second attempt %v after a 429 with Retry-After: 1 (backoff alone is 10ms)", gap)
	}
	if got[0].Header.Get("X-Vigil-Delivery") != got[1].Header.Get("X-Vigil-Delivery") {
		t.Error("a retry has a new delivery id")
	}
	waitFor(t, "sent", func() bool { return countOutbox(t, s.st, "status = 'sent'") == 1 })
}

func TestSlowReceiverTimesOutThenSucceeds(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			select { // hold the first request past the client's timeout
			case <-r.Context().Done():
			case <-release:
			}
			return false
		}
		return true
	})
	defer close(release)
	s, _ := hookService(t, rc.srv.URL, func(n *config.Notifier) { n.Timeout = 200 * time.Millisecond })
	runService(t, s)
	upsert(t, s.st, testAlert("r1", "ddl.drop_table", "10.0.0.1", 1, t0))
	s.Wake()
	rc.wait(t, 1)
	waitFor(t, "sent", func() bool { return countOutbox(t, s.st, "status = 'sent'") == 1 })
	if rows := outbox(t, s.st); rows[0].Attempts != 2 {
		t.Errorf("attempts = %d, want 2 (a timeout, then success)", rows[0].Attempts)
	}
}

func TestReceiverDownThenUp(t *testing.T) {
	// A port nobody listens on, for now.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s, _ := hookService(t, "http://"+addr+"/hook", nil)
	runService(t, s)
	const n = 5
	for i := range n {
		upsert(t, s.st, testAlert(fmt.Sprintf("d%d", i), "ddl.drop_table", fmt.Sprintf("10.0.0.%d", i), 1, t0))
	}
	s.Wake()
	waitFor(t, "failed attempts", func() bool { return countOutbox(t, s.st, "attempts >= 2 AND status = 'pending'") == n })
	if v := gaugeValue(t, s, "vigil_notify_outbox_pending"); v != n {
		t.Errorf("vigil_notify_outbox_pending = %v, want %d", v, n)
	}

	// The receiver comes up on that port.
	var mu sync.Mutex
	ids := map[string]int{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ids[r.Header.Get("X-Vigil-Delivery")]++
		mu.Unlock()
	}))
	l2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	srv.Listener = l2
	srv.Start()
	defer srv.Close()
	waitFor(t, "all sent", func() bool { return countOutbox(t, s.st, "status = 'sent'") == n })
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != n {
		t.Errorf("received %d distinct deliveries, want %d: %v", len(ids), n, ids)
	}
	for id, c := range ids {
		if c != 1 {
			t.Errorf("delivery %s received %d times", id, c)
		}
	}
}

func TestGiveUpAfterMaxAge(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return false
	})
	s, logs := hookService(t, rc.srv.URL+"/hook/s3cretpath?token=s3cretquery", func(n *config.Notifier) { n.MaxAge = 300 * time.Millisecond })
	runService(t, s)
	upsert(t, s.st, testAlert("g1", "ddl.drop_table", "10.0.0.1", 1, t0))
	s.Wake()
	waitFor(t, "given up", func() bool { return countOutbox(t, s.st, "status = 'failed'") == 1 })
	row := outbox(t, s.st)[0]
	if !strings.Contains(row.LastError, "gave up after") || !strings.Contains(row.LastError, "503") || row.Attempts < 2 {
		t.Errorf("failed delivery = %+v", row)
	}
	if v := counterValue(s.metrics.gaveUp.WithLabelValues("hook")); v != 1 {
		t.Errorf("gave_up = %v", v)
	}
	ds, _ := Deliveries(context.Background(), s.st, "g1")
	if len(ds) != 1 || ds[0].Status != "failed" || ds[0].LastError == "" {
		t.Errorf("Deliveries = %+v", ds)
	}
	if !strings.Contains(logs.String(), "delivery failed") {
		t.Errorf("give-up not logged:\n%s", logs)
	}
	if strings.Contains(logs.String()+row.LastError, "s3cret") {
		t.Errorf("the URL's secret path or query leaked:\n%s\n%s", row.LastError, logs)
	}
	// The pending gauge counts the outbox.
	reg := prometheus.NewRegistry()
	for _, c := range s.Collectors() {
		reg.MustRegister(c)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, n := range []string{"vigil_notify_gave_up_total", "vigil_notify_failed_total", "vigil_notify_retried_total"} {
		if !names[n] {
			t.Errorf("metric %s not gathered (have %v)", n, names)
		}
	}
}

func TestPermanentErrorNotRetried(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return false
	})
	s, _ := hookService(t, rc.srv.URL, nil)
	runService(t, s)
	upsert(t, s.st, testAlert("p1", "ddl.drop_table", "10.0.0.1", 1, t0))
	s.Wake()
	waitFor(t, "failed", func() bool { return countOutbox(t, s.st, "status = 'failed'") == 1 })
	if row := outbox(t, s.st)[0]; row.Attempts != 1 || !strings.Contains(row.LastError, "invalid_payload") {
		t.Errorf("row = %+v", row)
	}
}

// TestRestartSafety stops a service in the middle of its work and starts
// another on the same store: every alert arrives, and a message that
// arrives twice has the same delivery id.
func TestRestartSafety(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	var got []received
	firstRun := true
	reached := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var d AlertDocument
		json.NewDecoder(r.Body).Decode(&d)
		mu.Lock()
		first := firstRun
		got = append(got, received{Header: r.Header.Clone()})
		n := len(got)
		mu.Unlock()
		if first && n >= 6 {
			// The receiver took this one, but the sender is stopped
			// before it hears so: it is sent again after the restart.
			once.Do(func() { close(reached) })
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	cfg := Config{Notifiers: []config.Notifier{webhookNotifierCfg("hook", srv.URL)}, Routes: []config.Route{{Name: "all", Notifiers: []string{"hook"}}}}
	const total = 20
	st := openStore(t, dir)
	s1 := mustNew(t, cfg, st, fastOpts(nil))
	stop := runService(t, s1)
	for i := range total / 2 {
		upsert(t, st, testAlert(fmt.Sprintf("k%02d", i), "ddl.drop_table", fmt.Sprintf("10.0.1.%d", i), 1, t0))
	}
	s1.Wake()
	select {
	case <-reached:
	case <-time.After(20 * time.Second):
		t.Fatal("the receiver never got 6 messages")
	}
	stop()
	// More alerts while no service runs.
	for i := total / 2; i < total; i++ {
		upsert(t, st, testAlert(fmt.Sprintf("k%02d", i), "ddl.drop_table", fmt.Sprintf("10.0.1.%d", i), 1, t0))
	}
	mu.Lock()
	firstRun = false
	mu.Unlock()
	s2 := mustNew(t, cfg, st, fastOpts(nil))
	runService(t, s2)
	waitFor(t, "all sent", func() bool { return countOutbox(t, st, "status = 'sent'") == total })
	mu.Lock()
	defer mu.Unlock()
	ids := deliveryIDs(got)
	if len(got) <= total {
		t.Errorf("received %d messages: the one in flight at the stop should have come twice", len(got))
	}
	if len(ids) != total {
		t.Errorf("distinct deliveries = %d, want %d", len(ids), total)
	}
	rows := outbox(t, st)
	known := map[string]bool{}
	for _, r := range rows {
		known[r.ID] = true
	}
	for id := range ids {
		if !known[id] {
			t.Errorf("received unknown delivery %s", id)
		}
	}
	if len(rows) != total {
		t.Errorf("outbox rows = %d, want %d", len(rows), total)
	}
}

// TestRedispatchIsIdempotent: if a dispatch is done again over the same
// journal entries (a cursor lost with a crash), nothing new is queued.
func TestRedispatchIsIdempotent(t *testing.T) {
	st := openStore(t, t.TempDir())
	clk := &fakeClock{t: t0}
	opts := fastOpts(nil)
	opts.Now = clk.Now
	r := newRoute("all", "hook")
	r.Throttle = 0
	s := mustNew(t, Config{Notifiers: []config.Notifier{webhookNotifierCfg("hook", "http://127.0.0.1:1/")}, Routes: []config.Route{r}}, st, opts)
	upsert(t, st, testAlert("i1", "ddl.drop_table", "10.0.0.1", 1, t0), testAlert("i2", "ddl.drop_table", "10.0.0.2", 1, t0))
	ctx := context.Background()
	if _, err := s.dispatch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteTx(ctx, func(tx *sqlTx) error {
		_, err := tx.ExecContext(ctx, `UPDATE notify_cursor SET seq = 0`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.dispatch(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countOutbox(t, st, "1"); n != 2 {
		t.Errorf("outbox rows = %d, want 2", n)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

func gaugeValue(t *testing.T, s *Service, name string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	for _, c := range s.Collectors() {
		reg.MustRegister(c)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var sum float64
			for _, m := range mf.GetMetric() {
				sum += m.GetGauge().GetValue()
			}
			return sum
		}
	}
	return 0
}

// TestOrderPerAlert: a resolve waits for its alert's trigger, even when
// the trigger needs retries and the notifier has room for both.
func TestOrderPerAlert(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n <= 2 {
			http.Error(w, "try later", http.StatusBadGateway)
			return false
		}
		return true
	})
	s, _ := hookService(t, rc.srv.URL, func(n *config.Notifier) { n.Concurrency = 4 })
	upsert(t, s.st, testAlert("o1", "ddl.drop_table", "10.0.0.1", 1, t0))
	if _, err := s.dispatch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.st.SetAlertStatus(context.Background(), "o1", "resolved", "bob", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.dispatch(context.Background()); err != nil {
		t.Fatal(err)
	}
	runService(t, s)
	got := rc.wait(t, 2)
	if got[0].Header.Get("X-Vigil-Event") != "trigger" || got[1].Header.Get("X-Vigil-Event") != "resolve" {
		t.Errorf("order = %s, %s", got[0].Header.Get("X-Vigil-Event"), got[1].Header.Get("X-Vigil-Event"))
	}
}

// TestConcurrencyBound: no more than concurrency deliveries of one
// notifier are in flight.
func TestConcurrencyBound(t *testing.T) {
	var mu sync.Mutex
	inflight, maxSeen := 0, 0
	full := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inflight++
		maxSeen = max(maxSeen, inflight)
		if inflight == 3 {
			once.Do(func() { close(full) })
		}
		mu.Unlock()
		select { // hold until 3 are in flight at once
		case <-full:
		case <-time.After(5 * time.Second):
		}
		mu.Lock()
		inflight--
		mu.Unlock()
	}))
	defer srv.Close()
	s, _ := hookService(t, srv.URL, func(n *config.Notifier) { n.Concurrency = 3 })
	runService(t, s)
	for i := range 9 {
		upsert(t, s.st, testAlert(fmt.Sprintf("c%d", i), "ddl.drop_table", fmt.Sprintf("10.0.2.%d", i), 1, t0))
	}
	s.Wake()
	waitFor(t, "all sent", func() bool { return countOutbox(t, s.st, "status = 'sent'") == 9 })
	mu.Lock()
	defer mu.Unlock()
	if maxSeen != 3 {
		t.Errorf("at most %d deliveries in flight, want 3", maxSeen)
	}
}

func TestBackoff(t *testing.T) {
	s := &Service{opts: Options{RetryBase: 2 * time.Second, RetryMax: 10 * time.Minute}}
	for attempts, want := range map[int]time.Duration{1: 2 * time.Second, 2: 4 * time.Second, 5: 32 * time.Second, 30: 10 * time.Minute} {
		for range 50 {
			if d := s.backoff(attempts); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", attempts, d, want/2, want)
			}
		}
	}
	if d := parseRetryAfter("120", time.Now()); d != 2*time.Minute {
		t.Errorf("Retry-After: 120 = %v", d)
	}
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	if d := parseRetryAfter("Wed, 25 Nov 2026 10:00:30 GMT", now); d != 30*time.Second {
		t.Errorf("Retry-After date = %v", d)
	}
}
