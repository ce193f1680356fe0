// Package config reads Vigil's daemon configuration file (vigil.yaml):
// sources, rule files and list overrides, the store and its retention, the
// HTTP listener and the log level.
//
// Every problem is reported with file, line, column and key, and all of
// them at once (see Errors). Unknown keys are errors. Secrets (http.token)
// may be written inline or read from an environment variable
// (${env:NAME}) or a file (${file:PATH}); they are held in Secret values,
// which never print their contents.
//
// Relative paths in the file (data_dir, rules.paths, source paths, TLS
// files, ${file:...}) are relative to the directory of the config file.
//
// docs/config.md is the reference; Example is a complete, commented config.
package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
	_ "time/tzdata" // LoadTimezone works without the system zone database
)

// Defaults.
const (
	DefaultLogLevel     = "info"
	DefaultDataDir      = "./vigil-data"
	DefaultHTTPListen   = "127.0.0.1:9187"
	DefaultSyslogListen = "udp://127.0.0.1:5514"
	DefaultPollInterval = 250 * time.Millisecond
	DefaultMaxLineBytes = 8 << 20
	// MinTokenLength is the shortest bearer token accepted.
	MinTokenLength = 16
)

// Source types.
const (
	TypeFile   = "file"
	TypeSyslog = "syslog"
	TypeHTTP   = "http"
	TypeKafka  = "kafka"
)

// Config is a loaded and validated config file.
type Config struct {
	// File is the path the config was read from (or the name given to Parse).
	File string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// DataDir holds the store and the tailers' checkpoints (absolute, or
	// relative to the working directory when the config name has no
	// directory).
	DataDir string
	// ServerAddress is stamped on events that lack server.address, for
	// sources that do not set their own.
	ServerAddress string
	Rules         Rules
	// LearnUntil ends first-seen learning periods; zero = each rule's own.
	LearnUntil time.Time
	Sources    []Source
	Store      Store
	HTTP       HTTP
	// Notifiers and Routes say where alerts are sent (docs/notify.md);
	// AlertBaseURL makes the links in messages: BASE/alerts/ID.
	Notifiers    []Notifier
	Routes       []Route
	AlertBaseURL string
	notifySeen   int // which of notifiers (1) and routes (2) were read
}

// Rules says which rule files are loaded after the built-in pack, and
// which lists are replaced or extended.
type Rules struct {
	Paths []string
	Lists []List // in file order
}

// List replaces (or, with Append, extends) a rule list by name.
type List struct {
	Name   string
	Items  []string
	Append bool
	Pos    Pos // of the list's name
}

// Source is one place log lines come from. Which fields apply depends on
// Type.
type Source struct {
	Name string
	Type string // file, syslog, http or kafka
	// Format is the line format: for file and http sources auto, stderr,
	// csvlog, jsonlog or events; for syslog auto, rfc5424 or rfc3164.
	Format string
	// LogLinePrefix is PostgreSQL's log_line_prefix for stderr logs; ""
	// detects it.
	LogLinePrefix string
	// TimeZone is the zone of timestamps the logs write without one
	// (MariaDB server_audit, MySQL general and error logs) as written
	// (LoadTimezone); Location is it loaded, nil for UTC.
	TimeZone string
	Location *time.Location
	// ServerAddress is stamped on this source's events that lack one;
	// defaults to Config.ServerAddress.
	ServerAddress string

	// file
	Paths        []string // glob patterns
	ReadGzip     bool
	FromEnd      bool
	PollInterval time.Duration
	MaxLineBytes int64

	// syslog
	Listen   []string // udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT
	TLS      *TLS     // for tls:// listeners
	Insecure bool     // allows listeners beyond loopback

	// http
	Path string // URL path on the HTTP listener, default /ingest/{name}

	// kafka (also Azure Event Hubs)
	Brokers          []string // host:port; from ConnectionString when empty
	Topics           []string // default: the connection string's EntityPath
	Group            string   // consumer group, default "vigil"
	ConnectionString Secret   // Event Hubs connection string
	KafkaTLS         bool     // TLS to the brokers (on with a connection string)
	CAFile           string   // CA bundle to verify the brokers
	SASLUser         string   // SASL PLAIN
	SASLPassword     Secret
	StartFrom        string // earliest (default) or latest, for a group without offsets

	Pos Pos // of the source's first key
}

// TLS names a certificate and its key (PEM files).
type TLS struct {
	CertFile string
	KeyFile  string
}

// Store configures the embedded store.
type Store struct {
	Retention Retention
}

// Retention bounds the audit trail; zero does not limit. It maps onto
// store.Retention{MaxAge, MaxBytes}.
type Retention struct {
	MaxAge  time.Duration
	MaxSize int64 // bytes
}

// HTTP is the API/UI listener, which also receives http sources.
type HTTP struct {
	// Listen is host:port; "" disables the listener (no http section, or
	// listen: "").
	Listen string
	// Token is the bearer token required for everything but /healthz.
	Token Secret
	TLS   *TLS
	// Insecure allows a listener beyond loopback without TLS.
	Insecure bool
}

// Enabled reports whether the HTTP listener is on.
func (h HTTP) Enabled() bool { return h.Listen != "" }

// SlogLevel is LogLevel as a slog.Level.
func (c *Config) SlogLevel() slog.Level {
	switch c.LogLevel {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// SourceServerAddress is the server.address for a source's events: its
// own, else the config's.
func (c *Config) SourceServerAddress(s Source) string {
	if s.ServerAddress != "" {
		return s.ServerAddress
	}
	return c.ServerAddress
}

// Load reads and validates the config file at path. On failure the error
// is an Errors value listing every problem, each with file:line:col and
// key (a file that cannot be read gives a one-element Errors too).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{Pos: Pos{File: path}, Msg: fmt.Sprintf("cannot read config: %v", err)}}
	}
	return Parse(path, data)
}

// Parse reads and validates a config file's contents; name is used in
// positions and relative paths in the file are resolved against its
// directory. Secrets are resolved and files the config names (rule paths,
// TLS certificates and keys) are checked to exist. On failure the error is
// an Errors value.
func Parse(name string, data []byte) (*Config, error) {
	p := newParser(name, data)
	cfg := p.parse()
	if len(p.errs) > 0 {
		p.errs.sort()
		return nil, p.errs
	}
	return cfg, nil
}

// resolvePath makes a relative path relative to dir.
func resolvePath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) || dir == "" || dir == "." {
		return p
	}
	return filepath.Join(dir, p)
}

// LoadTimezone returns the time zone a source's `timezone` (or the CLI's
// --timezone) names: an IANA name such as Europe/Berlin, UTC, or Local (the
// zone of the machine Vigil runs on). "" returns nil: timestamps without a
// zone are read as UTC. The zone database is built into the binary, so
// names work on machines without /usr/share/zoneinfo.
func LoadTimezone(name string) (*time.Location, error) {
	if name == "" {
		return nil, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (want an IANA name such as Europe/Berlin or America/New_York, or UTC, or Local)", name)
	}
	return loc, nil
}
