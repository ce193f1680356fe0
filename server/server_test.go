package server

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vigildb/vigil/detect"
	"github.com/vigildb/vigil/parse"
	"github.com/vigildb/vigil/store"
)

const testToken = "s3cret-token"

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// start runs a server on 127.0.0.1:0 and returns its base URL.
func start(t *testing.T, opt Options) (*Server, string) {
	t.Helper()
	if opt.Listen == "" {
		opt.Listen = "127.0.0.1:0"
	}
	if opt.Token == "" {
		opt.Token = testToken
	}
	if opt.Logger == nil {
		opt.Logger = quietLogger()
	}
	s, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	scheme := "http"
	if opt.TLSCert != "" {
		scheme = "https"
	}
	return s, scheme + "://" + s.Addr().String()
}

func do(t *testing.T, c *http.Client, method, url, token string, body io.Reader, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestNewNeedsToken(t *testing.T) {
	if _, err := New(Options{Listen: "127.0.0.1:0"}); err == nil {
		t.Fatal("New without a token succeeded")
	}
}

func TestAuth(t *testing.T) {
	_, base := start(t, Options{Registry: prometheus.NewRegistry(), Ingest: func(context.Context, string, []parse.Line) error { return nil }})
	for _, path := range []string{"/readyz", "/metrics", "/nosuchpath"} {
		for _, tok := range []string{"", "wrong", testToken + "x", testToken[:3]} {
			resp, _ := do(t, nil, "GET", base+path, tok, nil)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET %s token %q: %d, want 401", path, tok, resp.StatusCode)
			}
			if h := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
				t.Errorf("GET %s token %q: WWW-Authenticate %q", path, tok, h)
			}
		}
	}
	resp, _ := do(t, nil, "POST", base+"/ingest/pg", "", strings.NewReader("{}\n"))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /ingest without token: %d", resp.StatusCode)
	}
	for _, path := range []string{"/readyz", "/metrics"} {
		resp, _ := do(t, nil, "GET", base+path, testToken, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with token: %d", path, resp.StatusCode)
		}
	}
	// Basic auth carrying the token is not a bearer token.
	resp, _ = do(t, nil, "GET", base+"/readyz", "", nil, "Authorization", "Basic "+testToken)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("basic auth: %d", resp.StatusCode)
	}
}

func TestHealthzOpen(t *testing.T) {
	_, base := start(t, Options{Ready: func() error { return errors.New("not yet") }})
	resp, body := do(t, nil, "GET", base+"/healthz", "", nil)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/healthz: %d %q", resp.StatusCode, body)
	}
}

func TestReadyz(t *testing.T) {
	var ready atomic.Bool
	_, base := start(t, Options{Ready: func() error {
		if !ready.Load() {
			return errors.New("store not open")
		}
		return nil
	}})
	resp, body := do(t, nil, "GET", base+"/readyz", testToken, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "store not open") {
		t.Fatalf("not ready: %d %q", resp.StatusCode, body)
	}
	ready.Store(true)
	resp, body = do(t, nil, "GET", base+"/readyz", testToken, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ready: %d %q", resp.StatusCode, body)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	_, base := start(t, Options{Registry: reg, Metrics: m,
		Ingest: func(context.Context, string, []parse.Line) error { return nil }})

	m.AddEvents("pg", 3)
	m.AddParseFailures("pg", 1)
	m.UpdateRules([]detect.RuleStats{{ID: "brute_force", Candidates: 10, Alerts: 2}}, map[string]string{"brute_force": "high"})
	m.SetCheckpointLag("pg", "/var/log/postgresql/pg.log", 4096, 1.5)
	m.UpdateStore(store.Stats{Events: 42, FileBytes: 1 << 20, Alerts: map[string]int64{"open": 1, "ack": 0, "resolved": 0}})
	m.SetQueueDepth("detect", 7)
	if resp, _ := do(t, nil, "POST", base+"/ingest/shipper", testToken, strings.NewReader("{}\n")); resp.StatusCode != 200 {
		t.Fatalf("ingest: %d", resp.StatusCode)
	}

	resp, body := do(t, nil, "GET", base+"/metrics", testToken, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	for _, want := range []string{
		`vigil_events_in_total{source="pg"} 3`,
		`vigil_parse_failures_total{source="pg"} 1`,
		`vigil_rule_evaluations_total{rule="brute_force"} 10`,
		`vigil_alerts_total{rule="brute_force",severity="high"} 2`,
		`vigil_checkpoint_lag_bytes{file="/var/log/postgresql/pg.log",source="pg"} 4096`,
		`vigil_checkpoint_lag_seconds{file="/var/log/postgresql/pg.log",source="pg"} 1.5`,
		`vigil_store_bytes 1.048576e+06`,
		`vigil_store_events 42`,
		`vigil_store_alerts{status="open"} 1`,
		`vigil_queue_depth{stage="detect"} 7`,
		`vigil_ingest_requests_total{code="200",source="shipper"} 1`,
		`vigil_ingest_lines_total{source="shipper"} 1`,
		`go_goroutines`,
		`process_`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestUpdateRulesDeltas(t *testing.T) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	sev := map[string]string{"r1": "low"}
	m.UpdateRules([]detect.RuleStats{{ID: "r1", Candidates: 5, Alerts: 1}, {ID: "r2", Candidates: 1}}, sev)
	m.UpdateRules([]detect.RuleStats{{ID: "r1", Candidates: 8, Alerts: 1}, {ID: "r2", Candidates: 1}}, sev)
	if got := value(t, m.RuleEvaluations.WithLabelValues("r1")); got != 8 {
		t.Errorf("r1 evaluations %v, want 8", got)
	}
	// A new engine (reload) starts from zero: its totals are added whole.
	m.UpdateRules([]detect.RuleStats{{ID: "r1", Candidates: 2, Alerts: 1}}, sev)
	if got := value(t, m.RuleEvaluations.WithLabelValues("r1")); got != 10 {
		t.Errorf("r1 evaluations after reset %v, want 10", got)
	}
	if got := value(t, m.Alerts.WithLabelValues("r1", "low")); got != 2 {
		t.Errorf("r1 alerts %v, want 2", got)
	}
	if got := value(t, m.Alerts.WithLabelValues("r2", "unknown")); got != 0 {
		t.Errorf("r2 alerts %v, want 0", got)
	}
	// After ResetRules, totals are added whole even if they grew.
	m.ResetRules()
	m.UpdateRules([]detect.RuleStats{{ID: "r1", Candidates: 3, Alerts: 1}}, sev)
	if got := value(t, m.RuleEvaluations.WithLabelValues("r1")); got != 13 {
		t.Errorf("r1 evaluations after ResetRules %v, want 13", got)
	}
	if _, err := NewMetrics(prometheusRegistryWith(t, m)); err == nil {
		t.Error("registering twice succeeded")
	}
}

func prometheusRegistryWith(t *testing.T, m *Metrics) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.EventsIn)
	return reg
}

// recorder is an IngestFunc that copies what it gets.
type recorder struct {
	mu      sync.Mutex
	batches [][]parse.Line
}

func (r *recorder) ingest(_ context.Context, source string, lines []parse.Line) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cp := make([]parse.Line, len(lines))
	for i, l := range lines {
		cp[i] = l
		cp[i].Text = bytes.Clone(l.Text)
		if l.File != "http:"+source {
			panic("bad File " + l.File)
		}
	}
	r.batches = append(r.batches, cp)
	return nil
}

func (r *recorder) all() []parse.Line {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []parse.Line
	for _, b := range r.batches {
		out = append(out, b...)
	}
	return out
}

func ndjson(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"time":"2026-01-01T00:00:00Z","n":%d}`+"\n", i)
	}
	return b.String()
}

func decode(t *testing.T, body string) IngestResult {
	t.Helper()
	var res IngestResult
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	return res
}

func TestIngestBatches(t *testing.T) {
	var rec recorder
	_, base := start(t, Options{Ingest: rec.ingest, BatchLines: 1000})
	body := ndjson(2500)
	resp, out := do(t, nil, "POST", base+"/ingest/fluentbit", testToken, strings.NewReader(body), "Content-Type", "application/x-ndjson")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	if res := decode(t, out); res.Accepted != 2500 {
		t.Fatalf("accepted %d", res.Accepted)
	}
	var sizes []int
	for _, b := range rec.batches {
		sizes = append(sizes, len(b))
	}
	if fmt.Sprint(sizes) != "[1000 1000 500]" {
		t.Fatalf("batch sizes %v", sizes)
	}
	want := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	for i, l := range rec.all() {
		if string(l.Text) != want[i] || l.No != int64(i+1) || l.File != "http:fluentbit" || l.Offset < 0 {
			t.Fatalf("line %d: %+v (%s)", i, l, l.Text)
		}
	}
}

func TestIngestLineEndings(t *testing.T) {
	var rec recorder
	_, base := start(t, Options{Ingest: rec.ingest})
	body := "{\"a\":1}\r\n\n   \n{\"a\":2}\n{\"a\":3}" // CRLF, blank lines, no final newline
	resp, out := do(t, nil, "POST", base+"/ingest/vector", testToken, strings.NewReader(body))
	if resp.StatusCode != http.StatusOK || decode(t, out).Accepted != 3 {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	var got []string
	for _, l := range rec.all() {
		got = append(got, fmt.Sprintf("%d:%s", l.No, l.Text))
	}
	if fmt.Sprint(got) != `[1:{"a":1} 4:{"a":2} 5:{"a":3}]` {
		t.Fatalf("lines %v", got)
	}
}

func TestIngestGzip(t *testing.T) {
	var rec recorder
	_, base := start(t, Options{Ingest: rec.ingest, BatchLines: 100})
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	io.WriteString(zw, ndjson(250))
	zw.Close()
	resp, out := do(t, nil, "POST", base+"/ingest/pg", testToken, &zb, "Content-Encoding", "gzip")
	if resp.StatusCode != http.StatusOK || decode(t, out).Accepted != 250 {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	if got := rec.all(); len(got) != 250 || !strings.Contains(string(got[249].Text), `"n":249`) {
		t.Fatalf("got %d lines", len(got))
	}
	// Not gzip although it says so.
	resp, out = do(t, nil, "POST", base+"/ingest/pg", testToken, strings.NewReader("{}\n"), "Content-Encoding", "gzip")
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad gzip: %d %s", resp.StatusCode, out)
	}
	resp, _ = do(t, nil, "POST", base+"/ingest/pg", testToken, strings.NewReader("{}\n"), "Content-Encoding", "br")
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("br: %d", resp.StatusCode)
	}
}

func TestIngestBlocks(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	_, base := start(t, Options{Ingest: func(ctx context.Context, _ string, lines []parse.Line) error {
		entered <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}})
	type answer struct {
		code int
		body string
	}
	done := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", base+"/ingest/pg", strings.NewReader(ndjson(3)))
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- answer{body: err.Error()}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- answer{resp.StatusCode, string(b)}
	}()
	<-entered // the pipeline has the batch and has not taken it
	select {
	case a := <-done:
		t.Fatalf("answered before the pipeline took the lines: %+v", a)
	default:
	}
	close(release)
	a := <-done
	if a.code != http.StatusOK || decode(t, a.body).Accepted != 3 {
		t.Fatalf("%+v", a)
	}
}

func TestIngestErrorRetry(t *testing.T) {
	var calls atomic.Int32
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	_, base := start(t, Options{Metrics: m, BatchLines: 2, RetryAfter: 3 * time.Second,
		Ingest: func(context.Context, string, []parse.Line) error {
			if calls.Add(1) == 2 {
				return errors.New("pipeline stopping")
			}
			return nil
		}})
	resp, out := do(t, nil, "POST", base+"/ingest/pg", testToken, strings.NewReader(ndjson(5)))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "3" {
		t.Errorf("Retry-After %q", ra)
	}
	res := decode(t, out)
	if res.Accepted != 2 || !strings.Contains(res.Error, "pipeline stopping") {
		t.Errorf("answer %+v", res)
	}
	if got := value(t, m.IngestRequests.WithLabelValues("pg", "503")); got != 1 {
		t.Errorf("503 requests counted %v", got)
	}
}

func TestIngestLineTooLong(t *testing.T) {
	var rec recorder
	reg := prometheus.NewRegistry()
	m, _ := NewMetrics(reg)
	_, base := start(t, Options{Ingest: rec.ingest, MaxLineBytes: 22, Metrics: m})
	long := `{"x":"` + strings.Repeat("a", 200000) + `"}`
	body := "{\"a\":1}\n" + long + "\n{\"a\":2}\n" + `{"b":"12345678901234"}` + "\n" + `{"b":"123456789012345"}`
	resp, out := do(t, nil, "POST", base+"/ingest/pg", testToken, strings.NewReader(body))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	res := decode(t, out)
	if res.Accepted != 3 || res.Rejected != 2 || fmt.Sprint(res.RejectedLines) != "[2 5]" {
		t.Fatalf("answer %+v", res)
	}
	var got []string
	for _, l := range rec.all() {
		got = append(got, fmt.Sprintf("%d:%s", l.No, l.Text))
	}
	if fmt.Sprint(got) != `[1:{"a":1} 3:{"a":2} 4:{"b":"12345678901234"}]` {
		t.Fatalf("lines %v", got)
	}
	if n := value(t, m.IngestRejected.WithLabelValues("pg", "too_long")); n != 2 {
		t.Errorf("rejected counted %v", n)
	}
}

func TestIngestBodyTooLarge(t *testing.T) {
	var rec recorder
	_, base := start(t, Options{Ingest: rec.ingest, MaxBodyBytes: 1000})
	resp, out := do(t, nil, "POST", base+"/ingest/pg", testToken, strings.NewReader(ndjson(100)))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	// Chunked (no Content-Length): found while streaming.
	resp, out = do(t, nil, "POST", base+"/ingest/pg", testToken, struct{ io.Reader }{strings.NewReader(ndjson(100))})
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked: %d %s", resp.StatusCode, out)
	}
	for _, l := range rec.all() { // whole lines only reach the pipeline
		if !json.Valid(l.Text) {
			t.Fatalf("partial line %q", l.Text)
		}
	}
	// Decompressed size counts too (a small gzip bomb).
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	io.WriteString(zw, strings.Repeat("{}\n", 10000))
	zw.Close()
	if zb.Len() >= 1000 {
		t.Fatalf("compressed %d bytes", zb.Len())
	}
	resp, out = do(t, nil, "POST", base+"/ingest/pg", testToken, &zb, "Content-Encoding", "gzip")
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("gzip: %d %s", resp.StatusCode, out)
	}
	// Exactly at the limit is fine.
	resp, out = do(t, nil, "POST", base+"/ingest/pg", testToken, strings.NewReader(strings.Repeat("{}\n", 333)+"0"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("at limit: %d %s", resp.StatusCode, out)
	}
}

func TestIngestStableOffsets(t *testing.T) {
	var rec recorder
	_, base := start(t, Options{Ingest: rec.ingest})
	body := "{\"a\":1}\n{\"a\":2}\n{\"a\":1}\n"
	for range 2 {
		if resp, out := do(t, nil, "POST", base+"/ingest/pg", testToken, strings.NewReader(body)); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, out)
		}
	}
	l := rec.all()
	if len(l) != 6 {
		t.Fatalf("%d lines", len(l))
	}
	for i := range 3 {
		if l[i].Offset != l[i+3].Offset {
			t.Errorf("line %d: offset %d then %d on retry", i, l[i].Offset, l[i+3].Offset)
		}
	}
	if l[0].Offset == l[1].Offset || l[0].Offset == l[2].Offset {
		t.Errorf("offsets collide: %d %d %d", l[0].Offset, l[1].Offset, l[2].Offset)
	}
}

func TestIngestBadSource(t *testing.T) {
	var rec recorder
	_, base := start(t, Options{Ingest: rec.ingest})
	resp, _ := do(t, nil, "POST", base+"/ingest/a%20b", testToken, strings.NewReader("{}\n"))
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("%d", resp.StatusCode)
	}
	resp, _ = do(t, nil, "GET", base+"/ingest/pg", testToken, nil)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}

func TestIngestCancelledOnShutdown(t *testing.T) {
	entered := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(Options{Listen: "127.0.0.1:0", Token: testToken, Logger: quietLogger(),
		Ingest: func(ctx context.Context, _ string, _ []parse.Line) error {
			close(entered)
			<-ctx.Done()
			return ctx.Err()
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	code := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+s.Addr().String()+"/ingest/pg", strings.NewReader("{}\n"))
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			code <- -1
			return
		}
		resp.Body.Close()
		code <- resp.StatusCode
	}()
	<-entered
	cancel()
	if c := <-code; c != http.StatusServiceUnavailable {
		t.Errorf("code %d, want 503", c)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := s.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
}

func TestNonLoopbackRefused(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:9187", "example.com:9187"} {
		_, err := New(Options{Listen: addr, Token: testToken})
		if err == nil || !strings.Contains(err.Error(), "without TLS") {
			t.Errorf("%s: err %v", addr, err)
		}
		if _, err := New(Options{Listen: addr, Token: testToken, Insecure: true}); err != nil {
			t.Errorf("%s insecure: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "localhost:0", "127.0.0.2:0", ""} {
		if _, err := New(Options{Listen: addr, Token: testToken}); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
	s, err := New(Options{Token: testToken})
	if err != nil || s.opt.Listen != DefaultListen {
		t.Errorf("default listen: %v %v", s, err)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key; it returns
// their paths and a pool trusting the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "vigil test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	var rec recorder
	_, base := start(t, Options{TLSCert: certFile, TLSKey: keyFile, Ingest: rec.ingest})
	if !strings.HasPrefix(base, "https://") {
		t.Fatal(base)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	resp, body := do(t, c, "GET", base+"/healthz", "", nil)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/healthz over TLS: %d %q", resp.StatusCode, body)
	}
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("TLS state %+v", resp.TLS)
	}
	resp, body = do(t, c, "POST", base+"/ingest/pg", testToken, strings.NewReader(ndjson(3)))
	if resp.StatusCode != http.StatusOK || decode(t, body).Accepted != 3 {
		t.Fatalf("ingest over TLS: %d %q", resp.StatusCode, body)
	}
	// A client that does not trust the certificate fails.
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("untrusted certificate accepted")
	}
	// TLS 1.1 is refused.
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if _, err := old.Get(base + "/healthz"); err == nil {
		t.Error("TLS 1.1 accepted")
	}
	// Plain HTTP to the TLS port gets no answer from a handler.
	if resp, err := http.Get("http://" + strings.TrimPrefix(base, "https://") + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP served")
		}
	}
	// TLS allows a non-loopback address.
	if _, err := New(Options{Listen: "0.0.0.0:0", Token: testToken, TLSCert: certFile, TLSKey: keyFile}); err != nil {
		t.Errorf("non-loopback with TLS: %v", err)
	}
	if _, err := New(Options{Listen: "127.0.0.1:0", Token: testToken, TLSCert: certFile}); err == nil {
		t.Error("certificate without key accepted")
	}
}

// value reads a counter or gauge.
func value(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	t.Fatalf("not a counter or gauge: %v", &m)
	return 0
}

func TestIngestIdleClientTimesOut(t *testing.T) {
	var rec recorder
	s, _ := start(t, Options{Ingest: rec.ingest, ReadTimeout: 200 * time.Millisecond})
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /ingest/pg HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 100\r\n\r\n{\"a\":1}\n{\"a\"", testToken)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("code %d, want 408", resp.StatusCode)
	}
	if got := rec.all(); len(got) != 1 || string(got[0].Text) != `{"a":1}` {
		t.Fatalf("lines %v", got)
	}
}

// TestIngestCustomPath: an http source's configured path reaches the
// pipeline under that source's name.
func TestIngestCustomPath(t *testing.T) {
	var rec recorder
	_, base := start(t, Options{Ingest: rec.ingest, IngestPaths: map[string]string{"/logs/vector": "vec", "/ingest/plain": "plain"}})
	resp, out := do(t, nil, "POST", base+"/logs/vector", testToken, strings.NewReader(ndjson(2)), "Content-Type", "application/x-ndjson")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	for _, l := range rec.all() {
		if l.File != "http:vec" {
			t.Fatalf("line of source %q, want vec", l.File)
		}
	}
	if resp, _ := do(t, nil, "POST", base+"/logs/vector", "", strings.NewReader(ndjson(1))); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("custom path without a token: %d", resp.StatusCode)
	}
}
