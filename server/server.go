// Package server is Vigil's HTTP listener: NDJSON ingest from log shippers
// (Fluent Bit, Vector), Prometheus metrics, and health and readiness
// probes.
//
// Security (SPEC §5 "nobody gets in unasked"): the listener binds
// 127.0.0.1:9187 by default, every path but /healthz requires
// "Authorization: Bearer <token>", and a non-loopback address is refused
// unless TLS is configured or Options.Insecure is set.
//
// Routes:
//
//	GET  /healthz          no auth; 200 "ok" while the process serves HTTP
//	GET  /readyz           200 "ready", or 503 with the reason Ready returned
//	GET  /metrics          Prometheus exposition of Options.Registry
//	POST /ingest/{source}  NDJSON body, see Server.handleIngest
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigildb/vigil/parse"
)

// Defaults for zero Options fields.
const (
	DefaultListen       = "127.0.0.1:9187"
	DefaultMaxBodyBytes = 16 << 20
	DefaultMaxLineBytes = 1 << 20
	DefaultBatchLines   = 1000
	DefaultBatchBytes   = 4 << 20
	DefaultRetryAfter   = 5 * time.Second
	DefaultReadTimeout  = 60 * time.Second
)

// Fixed timeouts of the listener.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 120 * time.Second
	writeTimeout      = 60 * time.Second // per response, set once the answer is known
	maxHeaderBytes    = 64 << 10
)

// IngestFunc receives the lines of an ingest request, in order, in
// batches. It must block until the pipeline has taken the batch (this is
// the back-pressure: a slow pipeline slows the HTTP client), and return an
// error if it could not, in which case the client is told to retry. The
// lines' Text is only valid during the call. ctx is cancelled when the
// client goes away or the server shuts down.
type IngestFunc func(ctx context.Context, source string, lines []parse.Line) error

// Options configure a Server.
type Options struct {
	// Listen is the TCP address; "" means DefaultListen (loopback).
	Listen string
	// Token is the bearer token required on every route but /healthz.
	// It is required.
	Token string
	// TLSCert and TLSKey are PEM files; both or neither. With them the
	// listener serves HTTPS only (TLS 1.2 or later).
	TLSCert, TLSKey string
	// Insecure allows a non-loopback Listen address without TLS.
	Insecure bool
	// Logger gets structured logs; nil means slog.Default().
	Logger *slog.Logger
	// Ready reports readiness: nil error means ready. nil means always.
	Ready func() error
	// Ingest receives POST /ingest/{source}; nil disables the route (404).
	Ingest IngestFunc
	// IngestPaths are more ingest routes: URL path -> source name (an
	// http source's configured `path`).
	IngestPaths map[string]string
	// MaxBodyBytes bounds a request body, before and after gzip
	// decompression; 0 means DefaultMaxBodyBytes. Beyond it: 413.
	MaxBodyBytes int64
	// MaxLineBytes bounds one NDJSON line; 0 means DefaultMaxLineBytes.
	// A longer line is rejected (counted, logged, reported), not the request.
	MaxLineBytes int
	// BatchLines and BatchBytes bound one IngestFunc batch; 0 means
	// DefaultBatchLines and DefaultBatchBytes.
	BatchLines, BatchBytes int
	// RetryAfter is sent with 503 answers; 0 means DefaultRetryAfter.
	RetryAfter time.Duration
	// ReadTimeout bounds each read of a request body (an idle client), not
	// the whole request: time spent waiting on Ingest does not count.
	// 0 means DefaultReadTimeout.
	ReadTimeout time.Duration
	// Registry is served on /metrics; nil disables the route (404).
	Registry *prometheus.Registry
	// Metrics, if set, counts ingest requests and rejected lines.
	Metrics *Metrics
}

// Server is the HTTP listener. Create it with New, then Start it.
type Server struct {
	opt       Options
	log       *slog.Logger
	tokenHash [sha256.Size]byte
	tlsConfig *tls.Config
	handler   http.Handler

	mu   sync.Mutex
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// New checks the options and builds the server; it does not listen.
func New(opt Options) (*Server, error) {
	if opt.Listen == "" {
		opt.Listen = DefaultListen
	}
	if opt.Token == "" {
		return nil, errors.New("server: a bearer token is required")
	}
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opt.MaxLineBytes <= 0 {
		opt.MaxLineBytes = DefaultMaxLineBytes
	}
	if opt.BatchLines <= 0 {
		opt.BatchLines = DefaultBatchLines
	}
	if opt.BatchBytes <= 0 {
		opt.BatchBytes = DefaultBatchBytes
	}
	if opt.RetryAfter <= 0 {
		opt.RetryAfter = DefaultRetryAfter
	}
	if opt.ReadTimeout <= 0 {
		opt.ReadTimeout = DefaultReadTimeout
	}
	s := &Server{opt: opt, log: opt.Logger, tokenHash: sha256.Sum256([]byte(opt.Token))}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "http")

	if (opt.TLSCert == "") != (opt.TLSKey == "") {
		return nil, errors.New("server: TLS needs both a certificate and a key file")
	}
	if opt.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(opt.TLSCert, opt.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("server: TLS: %w", err)
		}
		s.tlsConfig = &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{cert},
		}
	}
	host, _, err := net.SplitHostPort(opt.Listen)
	if err != nil {
		return nil, fmt.Errorf("server: listen address %q: %w", opt.Listen, err)
	}
	if !isLoopback(host) && s.tlsConfig == nil && !opt.Insecure {
		return nil, fmt.Errorf("server: refusing to listen on non-loopback address %q without TLS: configure a certificate and key, or set insecure explicitly", opt.Listen)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", s.handleReady)
	if opt.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(opt.Registry, promhttp.HandlerOpts{
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
			ErrorHandling:     promhttp.ContinueOnError,
			Registry:          opt.Registry,
			Timeout:           30 * time.Second,
			EnableOpenMetrics: false,
		}))
	}
	if opt.Ingest != nil {
		mux.HandleFunc("POST /ingest/{source}", s.handleIngest)
		for path, source := range opt.IngestPaths {
			if path == "/ingest/"+source {
				continue
			}
			mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
				r.SetPathValue("source", source)
				s.handleIngest(w, r)
			})
		}
	}
	s.handler = s.auth(mux)
	return s, nil
}

// isLoopback reports whether a listen host only accepts local connections.
// An empty host or a name other than localhost is not loopback.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Handler returns the server's handler (auth included), for embedding or
// tests; Start serves the same handler.
func (s *Server) Handler() http.Handler { return s.handler }

// auth requires the bearer token on every path but /healthz, so an
// unauthenticated client learns nothing, not even which paths exist.
func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server has no WriteTimeout (an ingest answer may wait long
		// for the pipeline); each response gets its own deadline instead,
		// which ingest extends once its answer is known.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout))
		if r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		h := r.Header.Get("Authorization")
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		// Comparing digests keeps the comparison constant-time in the
		// token's length too.
		got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		if subtle.ConstantTimeCompare(got[:], s.tokenHash[:]) != 1 {
			s.log.Warn("rejected bearer token", "remote", r.RemoteAddr, "path", r.URL.Path)
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil", error="invalid_token"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.opt.Ready != nil {
		if err := s.opt.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, err.Error())
			return
		}
	}
	fmt.Fprintln(w, "ready")
}

// Start listens and serves in the background; it returns once the
// listener is bound (Addr then reports the address). Requests' contexts
// derive from ctx: cancelling it cancels in-flight ingest calls.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("server: already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opt.Listen)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
		TLSConfig:         s.tlsConfig,
	}
	s.srv, s.ln, s.done = srv, ln, make(chan struct{})
	scheme := "http"
	if s.tlsConfig != nil {
		scheme = "https"
	}
	s.log.Info("listening", "addr", ln.Addr().String(), "scheme", scheme)
	if host, _, _ := net.SplitHostPort(s.opt.Listen); !isLoopback(host) && s.tlsConfig == nil {
		s.log.Warn("serving plain HTTP on a non-loopback address: the bearer token travels in clear text", "addr", ln.Addr().String())
	}
	go func(done chan struct{}) {
		defer close(done)
		var err error
		if srv.TLSConfig != nil {
			err = srv.ServeTLS(ln, "", "") // certificates are in TLSConfig
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve failed", "err", err)
		}
	}(s.done)
	return nil
}

// Addr is the bound address, or nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Shutdown stops accepting connections and waits for in-flight requests
// until ctx is done; then it closes the remaining connections.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if err != nil {
		srv.Close()
	}
	<-done
	return err
}
