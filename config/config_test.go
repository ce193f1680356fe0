package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/detect"
	"github.com/vigildb/vigil/rules"
)

const testToken = "s3cr3t-t0ken-0123456789"

// minimal is the smallest valid config; cases append to it.
const minimal = "sources:\n  - name: pg\n    type: file\n    paths: [/var/log/postgresql/*.csv]\n"

func TestExampleLoads(t *testing.T) {
	t.Setenv("VIGIL_TOKEN", testToken)
	dir := t.TempDir()
	path := filepath.Join(dir, "vigil.yaml")
	if err := os.WriteFile(path, []byte(Example()), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Example() does not load:\n%v", err)
	}
	if len(c.Sources) != 3 || c.HTTP.Token.Value() != testToken || c.Store.Retention.MaxAge != 30*24*time.Hour ||
		c.Store.Retention.MaxSize != 10<<30 || len(c.Rules.Lists) != 2 || !c.Rules.Lists[1].Append {
		t.Errorf("unexpected config from Example():\n%s", c.Summary())
	}
	// Without the token's variable, the example names the missing variable.
	os.Unsetenv("VIGIL_TOKEN")
	_, err = Load(path)
	if err == nil || !strings.Contains(err.Error(), "http.token: environment variable VIGIL_TOKEN is not set") {
		t.Errorf("want missing VIGIL_TOKEN error, got %v", err)
	}
}

func TestDocEmbedsExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	const start, end = "<!-- example:begin -->\n```yaml\n", "```\n<!-- example:end -->"
	s := string(doc)
	i, j := strings.Index(s, start), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("docs/config.md lacks the example between %q and %q", start, end)
	}
	if got := s[i+len(start) : j]; got != Example() {
		if os.Getenv("VIGIL_UPDATE_DOCS") != "" {
			s = s[:i+len(start)] + Example() + s[j:]
			if err := os.WriteFile("../docs/config.md", []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("docs/config.md's example differs from config.Example(); run VIGIL_UPDATE_DOCS=1 go test -run TestDocEmbedsExample ./config")
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse("/etc/vigil/vigil.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if c.LogLevel != "info" || c.DataDir != "/etc/vigil/vigil-data" || c.HTTP.Enabled() {
		t.Errorf("defaults: %+v", c)
	}
	s := c.Sources[0]
	if s.Format != "auto" || s.PollInterval != 250*time.Millisecond || s.MaxLineBytes != 8<<20 || s.ReadGzip {
		t.Errorf("file source defaults: %+v", s)
	}
	c, err = Parse("v.yaml", []byte(minimal+"  - {name: sys, type: syslog}\n  - {name: in, type: http}\nhttp:\n  token: "+testToken+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Listen != "127.0.0.1:9187" || strings.Join(c.Sources[1].Listen, ",") != "udp://127.0.0.1:5514" || c.Sources[2].Path != "/ingest/in" {
		t.Errorf("defaults: %+v", c)
	}
	// listen: "" turns the listener off, and then no token is needed.
	c, err = Parse("v.yaml", []byte(minimal+"http:\n  listen: \"\"\n"))
	if err != nil || c.HTTP.Enabled() {
		t.Errorf("listen \"\": %v %+v", err, c)
	}
}

func TestFull(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"c.pem", "k.pem", "rules/x.yaml"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600)
	}
	src := `log_level: debug
data_dir: data
server_address: db9:5432
learn_until: 2026-12-01 00:00:00
rules:
  paths: [rules]
  lists:
    admin_users: {items: [a, b]}
sources:
  - name: logs
    type: file
    paths: [pg/*.log, /abs/*.csv]
    format: stderr
    log_line_prefix: "%m [%p] "
    read_gzip: true
    from_end: true
    poll_interval: 1s
    max_line_bytes: 1MiB
    server_address: db1:5432
    timezone: Europe/Berlin
  - name: sys
    type: syslog
    listen: [tls://0.0.0.0:6514, udp://127.0.0.1:514]
    insecure: true
    format: rfc5424
    tls: {cert_file: c.pem, key_file: k.pem}
  - name: app
    type: http
    path: /ingest/application
    format: events
store:
  retention: {max_age: 1d12h, max_size: 500MB}
http:
  listen: 0.0.0.0:9187
  token: ` + testToken + `
  tls:
    cert_file: c.pem
    key_file: k.pem
`
	c, err := Parse(filepath.Join(dir, "vigil.yaml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if c.LogLevel != "debug" || c.SlogLevel() != slog.LevelDebug || c.DataDir != filepath.Join(dir, "data") || !c.LearnUntil.Equal(want) ||
		c.Rules.Paths[0] != filepath.Join(dir, "rules") || c.Rules.Lists[0].Name != "admin_users" {
		t.Errorf("top level: %+v", c)
	}
	f := c.Sources[0]
	if f.Paths[0] != filepath.Join(dir, "pg/*.log") || f.Paths[1] != "/abs/*.csv" || f.Format != "stderr" || f.LogLinePrefix != "%m [%p] " ||
		!f.ReadGzip || !f.FromEnd || f.PollInterval != time.Second || f.MaxLineBytes != 1<<20 || c.SourceServerAddress(f) != "db1:5432" ||
		f.TimeZone != "Europe/Berlin" || f.Location == nil || f.Location.String() != "Europe/Berlin" || c.Sources[1].Location != nil {
		t.Errorf("file source: %+v", f)
	}
	s := c.Sources[1]
	if strings.Join(s.Listen, " ") != "tls://0.0.0.0:6514 udp://127.0.0.1:514" || !s.Insecure || s.Format != "rfc5424" || s.TLS == nil || s.TLS.KeyFile != filepath.Join(dir, "k.pem") || c.SourceServerAddress(s) != "db9:5432" {
		t.Errorf("syslog source: %+v", s)
	}
	if h := c.Sources[2]; h.Path != "/ingest/application" || h.Format != "events" {
		t.Errorf("http source: %+v", h)
	}
	if r := c.Store.Retention; r.MaxAge != 36*time.Hour || r.MaxSize != 500e6 {
		t.Errorf("retention: %+v", r)
	}
	if c.HTTP.TLS == nil || c.HTTP.TLS.CertFile != filepath.Join(dir, "c.pem") {
		t.Errorf("http: %+v", c.HTTP)
	}
	sum := c.Summary()
	for _, w := range []string{"https://0.0.0.0:9187", "tls://0.0.0.0:6514, udp://127.0.0.1:514, format rfc5424, beyond loopback allowed", "max age 1d12h, max size 500000000B", "POST https://0.0.0.0:9187/ingest/application", "zone-less times in Europe/Berlin"} {
		if !strings.Contains(sum, w) {
			t.Errorf("summary lacks %q:\n%s", w, sum)
		}
	}
}

// TestInvalid: every problem is reported at file:line:col with its key,
// all of them at once, sorted by line.
func TestInvalid(t *testing.T) {
	dir := t.TempDir()
	cert := filepath.Join(dir, "c.pem")
	os.WriteFile(cert, []byte("x"), 0o600)
	tok := "  token: " + testToken + "\n"
	cases := []struct {
		name, src string
		want      []string // substrings of the errors, in order
	}{
		{"syntax", "sources: [\n", []string{"v.yaml:1:10: "}},
		{"bad indent", "sources:\n  - name: a\n   type: file\n", []string{"v.yaml:3:"}},
		{"duplicate key", minimal + "log_level: info\nlog_level: debug\n", []string{"v.yaml:6:1: ", "already defined"}},
		{"not a mapping", "- a\n", []string{"v.yaml:1:1: a config file is a mapping"}},
		{"two documents", minimal + "---\nlog_level: info\n", []string{"v.yaml:6:1: a config file holds one YAML document"}},
		{"unknown top key", minimal + "log_levle: info\n", []string{`v.yaml:5:1: log_levle: unknown key (did you mean "log_level"?)`}},
		{"unknown nested key", minimal + "store:\n  retention:\n    max_ages: 1d\n", []string{`v.yaml:7:5: store.retention.max_ages: unknown key (did you mean "max_age"?)`}},
		{"log level", "log_level: loud\n" + minimal, []string{`v.yaml:1:12: log_level: must be one of debug, info, warn, error, not "loud"`}},
		{"log level type", "log_level: [info]\n" + minimal, []string{"v.yaml:1:12: log_level: must be a single value, not a list"}},
		{"empty data dir", "data_dir: \"\"\n" + minimal, []string{"v.yaml:1:11: data_dir: must not be empty"}},
		{"learn until", "learn_until: tomorrow\n" + minimal, []string{`v.yaml:1:14: learn_until: cannot read "tomorrow" as a time`}},
		{"env outside secret", "data_dir: ${env:HOME}\n" + minimal, []string{"v.yaml:1:11: data_dir: ${env:...} and ${file:...} are only resolved in secret fields"}},
		{"no sources", "log_level: info\n", []string{"v.yaml:1:1: sources: required: at least one source"}},
		{"empty sources", "sources: []\n", []string{"v.yaml:1:10: sources: required: at least one source"}},
		{"sources mapping", "sources:\n  pg: {type: file}\n", []string{"v.yaml:2:3: sources: must be a list of sources"}},
		{"source not mapping", "sources:\n  - pg\n", []string{"v.yaml:2:5: sources[0]: must be a mapping, not a single value"}},
		{"source without type", "sources:\n  - name: pg\n    paths: [x]\n", []string{"v.yaml:2:5: sources[0].type: required: file, syslog, http or kafka"}},
		{"unknown source type", "sources:\n  - name: pg\n    type: kafak\n", []string{`v.yaml:3:11: sources[0].type: unknown source type "kafak" (want file, syslog, http or kafka)`}},
		{"kafka source without brokers", "sources:\n  - name: pg\n    type: kafka\n", []string{
			"v.yaml:2:5: sources[0].brokers: required: the Kafka brokers", "v.yaml:2:5: sources[0].topics: required: the topics"}},
		{"kafka bad start_from", "sources:\n  - name: eh\n    type: kafka\n    brokers: [127.0.0.1:9092]\n    topics: [t]\n    start_from: newest\n", []string{
			`v.yaml:6:17: sources[0].start_from: must be earliest or latest, not "newest"`}},
		{"source without name", "sources:\n  - type: file\n    paths: [x]\n", []string{"v.yaml:2:5: sources[0].name: required"}},
		{"bad source name", "sources:\n  - name: pg main\n    type: file\n    paths: [x]\n", []string{`v.yaml:2:11: sources[0].name: bad source name "pg main"`}},
		{"duplicate source names", minimal + "  - name: pg\n    type: syslog\n  - name: pg\n    type: nope\n", []string{
			`v.yaml:5:11: sources[1].name: duplicate source name "pg" (first used at line 2)`,
			`v.yaml:8:11: sources[2].type: unknown source type "nope"`}},
		{"file source without paths", "sources:\n  - name: pg\n    type: file\n", []string{"v.yaml:2:5: sources[0].paths: required: the log files to read"}},
		{"file source empty paths", "sources:\n  - name: pg\n    type: file\n    paths: []\n", []string{"v.yaml:4:12: sources[0].paths: required: at least one file or glob pattern"}},
		{"bad glob", "sources:\n  - name: pg\n    type: file\n    paths:\n      - /var/log/[a.log\n", []string{`v.yaml:5:9: sources[0].paths[0]: bad glob pattern "/var/log/[a.log"`}},
		{"key of other type", "sources:\n  - name: pg\n    type: syslog\n    paths: [x]\n", []string{"v.yaml:4:5: sources[0].paths: not a key of syslog sources (it belongs to file sources)"}},
		{"unknown source key", minimal + "    pol_interval: 1s\n", []string{`v.yaml:5:5: sources[0].pol_interval: unknown key (did you mean "poll_interval"?)`}},
		{"bad file format", minimal + "    format: rfc5424\n", []string{`v.yaml:5:13: sources[0].format: unknown format "rfc5424" for a file source (want auto, stderr, csvlog, jsonlog, events)`}},
		{"bad syslog format", "sources:\n  - name: s\n    type: syslog\n    format: csvlog\n", []string{`v.yaml:4:13: sources[0].format: unknown format "csvlog" for a syslog source`}},
		{"bad timezone", minimal + "    timezone: CEST\n", []string{`v.yaml:5:15: sources[0].timezone: unknown time zone "CEST" (want an IANA name such as Europe/Berlin`}},
		{"bad poll interval", minimal + "    poll_interval: soon\n", []string{`v.yaml:5:20: sources[0].poll_interval: bad duration "soon"`}},
		{"zero poll interval", minimal + "    poll_interval: 0s\n", []string{"v.yaml:5:20: sources[0].poll_interval: must be positive"}},
		{"bad bool", minimal + "    read_gzip: yes please\n", []string{"v.yaml:5:16: sources[0].read_gzip: must be true or false"}},
		{"bad max line", minimal + "    max_line_bytes: 8 furlongs\n", []string{`v.yaml:5:21: sources[0].max_line_bytes: bad size "8 furlongs"`}},
		{"syslog listen no scheme", "sources:\n  - name: s\n    type: syslog\n    listen: 127.0.0.1:514\n", []string{"v.yaml:4:13: sources[0].listen[0]: must be udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT"}},
		{"syslog listen no port", "sources:\n  - name: s\n    type: syslog\n    listen: udp://127.0.0.1\n", []string{`v.yaml:4:13: sources[0].listen[0]: "127.0.0.1" is not HOST:PORT`}},
		{"syslog listen bad port", "sources:\n  - name: s\n    type: syslog\n    listen:\n      - tcp://127.0.0.1:514\n      - udp://:99999\n", []string{`v.yaml:6:9: sources[0].listen[1]: port "99999"`}},
		{"syslog empty listen", "sources:\n  - name: s\n    type: syslog\n    listen: []\n", []string{"v.yaml:4:13: sources[0].listen: required"}},
		{"syslog remote without insecure", "sources:\n  - name: s\n    type: syslog\n    listen: udp://0.0.0.0:514\n", []string{"v.yaml:4:13: sources[0].listen[0]: listening on 0.0.0.0 (beyond loopback) needs insecure: true"}},
		{"syslog tls without tls listener", "sources:\n  - name: s\n    type: syslog\n    tls: {cert_file: " + cert + ", key_file: " + cert + "}\n", []string{"v.yaml:4:10: sources[0].tls: no tls:// listener to use it"}},
		{"syslog tls listener without tls", "sources:\n  - name: s\n    type: syslog\n    listen: tls://127.0.0.1:6514\n", []string{"v.yaml:4:13: sources[0].listen[0]: a tls:// listener needs tls.cert_file and tls.key_file"}},
		{"duplicate syslog listen", "sources:\n  - {name: a, type: syslog}\n  - {name: b, type: syslog, listen: ['tcp://127.0.0.1:5514', 'udp://127.0.0.1:5514']}\n", []string{"v.yaml:3:62: sources[1].listen[1]: udp port 127.0.0.1:5514 is already used by the listener at line 2"}},
		{"flow list needs quotes", "sources:\n  - {name: a, type: syslog, listen: [udp://127.0.0.1:5514]}\n", []string{`v.yaml:2:38: sources[0].listen[0]: must be a single value, not a mapping (inside [...] quote values that contain ":")`}},
		{"http source without listener", "sources:\n  - name: in\n    type: http\n", []string{"v.yaml:2:5: sources[0].type: an http source needs the HTTP listener"}},
		{"http source bad path", "sources:\n  - name: in\n    type: http\n    path: ingest\nhttp:\n" + tok, []string{`v.yaml:4:11: sources[0].path: must be a URL path starting with /`}},
		{"http source healthz", "sources:\n  - name: in\n    type: http\n    path: /healthz\nhttp:\n" + tok, []string{`v.yaml:4:11: sources[0].path: "/healthz" is used by the HTTP server itself`}},
		{"duplicate http path", "sources:\n  - {name: a, type: http, path: /ingest/x}\n  - {name: b, type: http, path: /ingest/x}\nhttp:\n" + tok, []string{"v.yaml:3:33: sources[1].path: /ingest/x is already used by the source at line 2"}},
		{"rule path missing", "rules:\n  paths:\n    - " + dir + "/nope.d\n" + minimal, []string{"v.yaml:3:7: rules.paths[0]: stat " + dir + "/nope.d: no such file or directory"}},
		{"rule paths mapping", "rules:\n  paths: {a: b}\n" + minimal, []string{"v.yaml:2:10: rules.paths: must be a list, not a mapping"}},
		{"bad list name", "rules:\n  lists:\n    bad-name: {items: [a]}\n" + minimal, []string{`v.yaml:3:5: rules.lists.bad-name: bad list name "bad-name"`}},
		{"list without items", "rules:\n  lists:\n    admin_users:\n      append: true\n" + minimal, []string{"v.yaml:3:5: rules.lists.admin_users.items: required"}},
		{"list unknown key", "rules:\n  lists:\n    admin_users:\n      item: [a]\n" + minimal, []string{`v.yaml:4:7: rules.lists.admin_users.item: unknown key (did you mean "items"?)`}},
		{"list append type", "rules:\n  lists:\n    admin_users: {items: [a], append: 1}\n" + minimal, []string{"v.yaml:3:39: rules.lists.admin_users.append: must be true or false"}},
		{"bad max age", minimal + "store:\n  retention:\n    max_age: 30 days\n", []string{`v.yaml:7:14: store.retention.max_age: bad duration "30 days"`}},
		{"negative max age", minimal + "store:\n  retention:\n    max_age: -1h\n", []string{`v.yaml:7:14: store.retention.max_age: bad duration "-1h"`}},
		{"bad max size", minimal + "store:\n  retention:\n    max_size: 10 GB of disk\n", []string{`v.yaml:7:15: store.retention.max_size: bad size "10 GB of disk"`}},
		{"unitless max size", minimal + "store:\n  retention:\n    max_size: 10\n", []string{"v.yaml:7:15: store.retention.max_size: 10 is less than 1MiB"}},
		{"http without token", minimal + "http:\n  listen: 127.0.0.1:9187\n", []string{"v.yaml:6:3: http.token: required: the bearer token"}},
		{"http empty section", minimal + "http:\n", []string{"v.yaml:5:1: http.token: required"}},
		{"http short token", minimal + "http:\n  token: abc\n", []string{"v.yaml:6:10: http.token: too short (3 characters)"}},
		{"http listen not host:port", minimal + "http:\n  listen: localhost\n" + tok, []string{`v.yaml:6:11: http.listen: "localhost" is not HOST:PORT`}},
		{"http remote without tls", minimal + "http:\n  listen: 0.0.0.0:9187\n" + tok, []string{"v.yaml:6:11: http.listen: listening on 0.0.0.0 (beyond loopback) needs TLS"}},
		{"http all interfaces without tls", minimal + "http:\n  listen: :9187\n" + tok, []string{"v.yaml:6:11: http.listen: listening on every interface (beyond loopback) needs TLS"}},
		{"http tls files missing", minimal + "http:\n" + tok + "  tls:\n    cert_file: " + dir + "/missing.crt\n", []string{
			"v.yaml:8:5: http.tls.key_file: required with tls",
			"v.yaml:8:16: http.tls.cert_file: stat " + dir + "/missing.crt: no such file or directory"}},
		{"http tls is a directory", minimal + "http:\n" + tok + "  tls: {cert_file: " + dir + ", key_file: " + cert + "}\n", []string{"http.tls.cert_file: " + dir + " is a directory"}},
		{"http insecure type", minimal + "http:\n" + tok + "  insecure: maybe\n", []string{"v.yaml:7:13: http.insecure: must be true or false"}},
		{"unknown alias", minimal + "log_level: *lvl\n", []string{"v.yaml:5:12: log_level: unknown alias *lvl"}},
		{"all errors sorted", "store:\n  retention: {max_age: x}\nlog_level: loud\nsources:\n  - {name: a, type: file}\n", []string{
			"v.yaml:2:24: store.retention.max_age", "v.yaml:3:12: log_level", "v.yaml:5:5: sources[0].paths"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("v.yaml", []byte(c.src))
			if err == nil {
				t.Fatalf("no error; config:\n%s", cfg.Summary())
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, not Errors", err)
			}
			got := err.Error()
			rest := got
			for _, w := range c.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("want %q (in order) in:\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
			for _, e := range errs {
				if e.Pos.File != "v.yaml" || e.Pos.Line == 0 {
					t.Errorf("error without a line: %v", e)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	var errs Errors
	if !errors.As(err, &errs) || !strings.Contains(err.Error(), "nope.yaml: cannot read config") {
		t.Fatalf("got %v", err)
	}
}

func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("  "+testToken+"\n\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "empty"), []byte(" \n"), 0o600)
	t.Setenv("VIGIL_TEST_TOKEN", testToken)
	t.Setenv("VIGIL_TEST_EMPTY", "")
	cases := []struct {
		token, from, err string
	}{
		{testToken, "inline", ""},
		{`"${env:VIGIL_TEST_TOKEN}"`, "env:VIGIL_TEST_TOKEN", ""},
		{"${env:VIGIL_TEST_TOKEN}", "env:VIGIL_TEST_TOKEN", ""},
		{"${file:" + tokenFile + "}", "file:" + tokenFile, ""},
		{"${file:token}", "file:" + tokenFile, ""}, // relative to the config's directory
		{"${env:VIGIL_TEST_UNSET}", "", "v.yaml:6:10: http.token: environment variable VIGIL_TEST_UNSET is not set"},
		{"${env:VIGIL_TEST_EMPTY}", "", "v.yaml:6:10: http.token: environment variable VIGIL_TEST_EMPTY is empty"},
		{"${env:1BAD}", "", `http.token: bad environment variable name "1BAD"`},
		{"${file:" + dir + "/nope}", "", "v.yaml:6:10: http.token: cannot read secret file: open " + dir + "/nope: no such file or directory"},
		{"${file:empty}", "", "http.token: secret file " + filepath.Join(dir, "empty") + " is empty"},
		{"${file:}", "", "http.token: empty file name"},
	}
	for _, c := range cases {
		t.Run(c.token, func(t *testing.T) {
			src := minimal + "http:\n  token: " + c.token + "\n"
			cfg, err := Parse(filepath.Join(dir, "v.yaml"), []byte(src))
			if c.err != "" {
				want := strings.ReplaceAll(c.err, "v.yaml:", filepath.Join(dir, "v.yaml")+":")
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("want %q, got %v", want, err)
				}
				if strings.Contains(err.Error(), testToken) {
					t.Errorf("error shows the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.HTTP.Token.Value() != testToken || cfg.HTTP.Token.From != c.from {
				t.Errorf("token %q from %q", cfg.HTTP.Token.Value(), cfg.HTTP.Token.From)
			}
		})
	}
}

func TestSecretsMasked(t *testing.T) {
	t.Setenv("VIGIL_TEST_TOKEN", testToken)
	cfg, err := Parse("v.yaml", []byte(minimal+"http:\n  token: ${env:VIGIL_TEST_TOKEN}\n"))
	if err != nil {
		t.Fatal(err)
	}
	sum := cfg.Summary()
	if !strings.Contains(sum, "token *** (from env VIGIL_TEST_TOKEN)") {
		t.Errorf("summary does not show the masked token:\n%s", sum)
	}
	js, _ := json.Marshal(cfg)
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("cfg", "token", cfg.HTTP.Token, "http", cfg.HTTP)
	for _, out := range []string{
		sum, cfg.String(), string(js), logged.String(),
		fmt.Sprint(cfg), fmt.Sprintf("%v|%+v|%#v|%s|%q|%x", *cfg, *cfg, *cfg, cfg.HTTP.Token, cfg.HTTP.Token, cfg.HTTP.Token),
	} {
		if strings.Contains(out, testToken) || strings.Contains(out, fmt.Sprintf("%x", testToken)) {
			t.Errorf("secret leaked in %q", out)
		}
		if !strings.Contains(out, "***") {
			t.Errorf("no mask in %q", out)
		}
	}
	if (Secret{}).String() != "" || (Secret{}).Describe() != "(not set)" || NewSecret("x").Describe() != "*** (inline)" {
		t.Error("Secret zero/inline forms")
	}
}

func TestDurations(t *testing.T) {
	for s, want := range map[string]time.Duration{
		"0": 0, "90s": 90 * time.Second, "10m": 10 * time.Minute, "4h": 4 * time.Hour, "30d": 30 * 24 * time.Hour,
		"1d12h": 36 * time.Hour, "250ms": 250 * time.Millisecond, " 7d ": 7 * 24 * time.Hour, "1h30m": 90 * time.Minute,
	} {
		got, err := ParseDuration(s)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "d", "30", "30 days", "-1h", "1d-1h", "x1d", "1.5d", "999999999999d"} {
		if d, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", s, d)
		}
	}
	for d, want := range map[time.Duration]string{30 * 24 * time.Hour: "30d", 36 * time.Hour: "1d12h", 10 * time.Minute: "10m", 250 * time.Millisecond: "250ms", 2 * time.Hour: "2h"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestSizes(t *testing.T) {
	for s, want := range map[string]int64{
		"0": 0, "4096": 4096, "512B": 512, "1KiB": 1024, "8MiB": 8 << 20, "10GiB": 10 << 30, "2TiB": 2 << 40,
		"1KB": 1000, "500MB": 500e6, "10GB": 10e9, "10 GiB": 10 << 30, "1.5GiB": 3 << 29, "10gib": 10 << 30, "1k": 1000,
	} {
		got, err := ParseSize(s)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "GiB", "-1GiB", "10 furlongs", "1e3", "10GiBs", "99999999999TiB"} {
		if n, err := ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", s, n)
		}
	}
	for n, want := range map[int64]string{10 << 30: "10GiB", 8 << 20: "8MiB", 1536: "1536B", 500e6: "500000000B", 2048: "2KiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestLearnUntilForms(t *testing.T) {
	want := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range []string{"2026-12-01", "2026-12-01 00:00:00", "2026-12-01T00:00:00Z", `"2026-12-01T01:00:00+01:00"`, "2026-12-01 00:00"} {
		c, err := Parse("v.yaml", []byte("learn_until: "+s+"\n"+minimal))
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if !c.LearnUntil.Equal(want) {
			t.Errorf("%s: got %v", s, c.LearnUntil)
		}
	}
}

func TestRuleSources(t *testing.T) {
	dir := t.TempDir()
	ruleFile := filepath.Join(dir, "mine.yaml")
	os.WriteFile(ruleFile, []byte("- list: my_hosts\n  items: [h1]\n"), 0o600)
	src := "rules:\n  paths: [mine.yaml]\n  lists:\n    attack_tools:\n      items: [\"evil \\\"tool\\\"\"]\n      append: true\n    my_hosts: {items: [h2, h3]}\n" + minimal
	cfgPath := filepath.Join(dir, "vigil.yaml")
	cfg, err := Parse(cfgPath, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	srcs := append([]detect.Source{detect.FSSource("builtin", rules.Builtin)}, cfg.RuleSources()...)
	rs, err := detect.Load(srcs...)
	if err != nil {
		t.Fatalf("rules with the config's lists: %v\ngenerated:\n%s", err, cfg.listsYAML())
	}
	if l := rs.List("my_hosts"); l == nil || strings.Join(l.Items, ",") != "h2,h3" {
		t.Errorf("my_hosts = %+v", l)
	}
	if l := rs.List("attack_tools"); l == nil || l.Items[len(l.Items)-1] != `evil "tool"` {
		t.Errorf("attack_tools = %+v", l)
	}

	// Lists written in flow style, several on a line, and an emptied list.
	src = "rules:\n  lists: {admin_users: {items: [a]}, privileged_roles: {items: [b], append: true}, dangerous_functions: {items: }}\n" + minimal
	cfg, err = Parse(cfgPath, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	rs, err = detect.Load(append([]detect.Source{detect.FSSource("builtin", rules.Builtin)}, cfg.RuleSources()...)...)
	if err != nil {
		t.Fatalf("flow-style lists: %v\ngenerated:\n%s", err, cfg.listsYAML())
	}
	if l := rs.List("admin_users"); strings.Join(l.Items, ",") != "a" {
		t.Errorf("admin_users = %+v", l)
	}
	if l := rs.List("dangerous_functions"); len(l.Items) != 0 {
		t.Errorf("dangerous_functions = %+v", l)
	}

	// Errors about the overrides point into the config file.
	src = "rules:\n  lists:\n    no_such_list:\n      items: [x]\n      append: true\n    len: {items: [y]}\n" + minimal
	cfg, err = Parse(cfgPath, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = detect.Load(append([]detect.Source{detect.FSSource("builtin", rules.Builtin)}, cfg.RuleSources()...)...)
	for _, want := range []string{cfgPath + `:3:5: append to unknown list "no_such_list"`, cfgPath + `:6:5: list name "len" is reserved`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q, got %v\ngenerated:\n%s", want, err, cfg.listsYAML())
		}
	}
}

func TestKafkaSource(t *testing.T) {
	// cmd/vigil fills MoreFormats from the parse registry.
	defer func(m []string) { MoreFormats = m }(MoreFormats)
	MoreFormats = []string{"azure"}
	t.Setenv("EH_CS", "Endpoint=sb://ns1.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=c2VjcmV0;EntityPath=hub1")
	cfg, err := Parse("v.yaml", []byte(`sources:
  - name: azure-db
    type: kafka
    connection_string: ${env:EH_CS}
    topics: [insights-logs-postgresqllogs]
    format: azure
  - name: k2
    type: kafka
    brokers: [127.0.0.1:9092]
    topics: [a, b]
    group: g2
    sasl_user: u
    sasl_password: p4ssw0rd
    start_from: latest
`))
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Sources[0], cfg.Sources[1]
	if a.Type != TypeKafka || a.ConnectionString.Value() == "" || a.Format != "azure" || a.Topics[0] != "insights-logs-postgresqllogs" {
		t.Errorf("event hubs source: %+v", a)
	}
	if b.Brokers[0] != "127.0.0.1:9092" || len(b.Topics) != 2 || b.Group != "g2" || b.SASLUser != "u" || b.SASLPassword.Value() != "p4ssw0rd" || b.StartFrom != "latest" {
		t.Errorf("kafka source: %+v", b)
	}
	sum := cfg.Summary()
	if strings.Contains(sum, "c2VjcmV0") || strings.Contains(sum, "p4ssw0rd") {
		t.Errorf("the summary shows a secret:\n%s", sum)
	}
}
