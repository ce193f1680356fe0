package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/internal/pgtest"
	"github.com/vigildb/vigil/pipeline"
)

var updateDemo = flag.Bool("update-demo", false, "rewrite testdata/demo/attack.log and its README from this run")

const (
	demoDir     = "../testdata/demo"
	demoLog     = "attack.log"
	demoMaxSize = 150 << 10
	rulesFile   = "testdata/rules.yaml"
)

// captures are the server configurations the scenario runs under.
var captures = []struct {
	name string
	opts pgtest.Options
}{
	// Everything logged twice (log_statement = all and pgaudit.log = all with
	// relation and parameter logging): the pipeline's de-duplication matters.
	// Debian's default prefix. This run also makes the demo log.
	{"all", pgtest.Options{
		LogStatement:        "all",
		PgauditLog:          "all",
		PgauditLogRelation:  true,
		PgauditLogParameter: true,
	}},
	// Statement logging for DDL only: pgaudit (with row counts, without
	// relation and parameter logging) is the only record of most
	// statements. The RDS layout of log_line_prefix, with milliseconds (%m,
	// not %t: the learning cutoff needs them).
	{"ddl_rows", pgtest.Options{
		LogLinePrefix:  "%m:%r:%u@%d:[%p]:",
		LogStatement:   "ddl",
		PgauditLog:     "all",
		PgauditLogRows: true,
	}},
}

// TestAttackScenario plays the attack scenario against a real PostgreSQL 15
// + pgaudit under each capture configuration, then replays each of the three
// log files through the pipeline and checks the alerts and that no secret
// survives.
func TestAttackScenario(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), budget(t))
	defer cancel()
	for _, c := range captures {
		t.Run(c.name, func(t *testing.T) {
			opts := c.opts
			opts.LogName = "setup"
			testCapture(ctx, t, opts, *updateDemo && c.name == "all")
		})
	}
}

func testCapture(ctx context.Context, t *testing.T, opts pgtest.Options, demo bool) {
	began := time.Now()
	srv := pgtest.Start(t, opts)
	sc := runScenario(ctx, t, srv, "attack")
	files := srv.LogFiles()
	// Stop before reading: a fast shutdown flushes everything, so the files
	// are complete and no line is cut at EOF.
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("server and scenario: %v; learn until %s", time.Since(began).Round(time.Millisecond), sc.LearnUntil.Format(time.RFC3339Nano))

	checkCapture(t, files, srv.Options(), sc)
	if t.Failed() {
		t.FailNow()
	}
	if demo {
		writeDemo(t, files.Stderr, srv.Options(), sc)
	}

	for _, in := range []struct{ name, format, path string }{
		{"stderr", "stderr", files.Stderr},
		{"csvlog", "csvlog", files.CSV},
		{"jsonlog", "jsonlog", files.JSON},
	} {
		t.Run(in.name, func(t *testing.T) {
			replayAndCheck(ctx, t, in.path, in.format, srv, sc)
		})
	}
}

// budget keeps the test inside go test's -timeout, so that it fails with a
// message (and its cleanups stop the server) instead of being killed.
func budget(t *testing.T) time.Duration {
	d := 3 * time.Minute
	if dl, ok := t.Deadline(); ok {
		if left := time.Until(dl) - 15*time.Second; left < d {
			d = left
		}
	}
	return d
}

// checkCapture verifies the raw logs before any Vigil code reads them: all
// three formats are complete and well-formed, the secrets really are in them
// in clear (or the masking check would prove nothing), and the learning
// cutoff separates the phases as intended.
func checkCapture(t *testing.T, files pgtest.LogFiles, o pgtest.Options, sc *Scenario) {
	t.Helper()
	data := map[string][]byte{}
	for _, f := range files.All() {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		data[f] = b
		if !bytes.Contains(b, []byte(doneMarker)) {
			t.Errorf("%s: marker %q missing", f, doneMarker)
		}
		for _, s := range sc.Secrets {
			if !bytes.Contains(b, []byte(s)) {
				t.Errorf("%s: fake secret %s is not in the raw log: the masking check would be vacuous", f, s)
			}
		}
	}

	stderr := string(data[files.Stderr])
	if n := strings.Count(stderr, "FATAL:  password authentication failed for user"); n != 6+5+4 {
		t.Errorf("stderr log: %d failed logins, want 15", n)
	}
	for _, ip := range []string{"2", "3", "4", "5", "7", "8", "9", "10", "11", "12", "13"} {
		if !strings.Contains(stderr, "connection received: host=127.0.0."+ip+" ") {
			t.Errorf("stderr log: no connection from 127.0.0.%s", ip)
		}
	}
	wants := []string{"LOG:  statement: ", "AUDIT: SESSION,", `parameter "log_statement" changed to "none"`,
		"STATEMENT:  SELECT dblink_connect("}
	if o.LogStatement == "all" {
		wants = append(wants, "LOG:  execute ", "DETAIL:  parameters: $1 = ")
	}
	for _, want := range wants {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr log lacks %q", want)
		}
	}

	r := csv.NewReader(bytes.NewReader(data[files.CSV]))
	r.FieldsPerRecord = 26
	n := 0
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Errorf("%s: %v", files.CSV, err)
			break
		}
		n++
	}
	if lines := bytes.Count(data[files.JSON], []byte("\n")); n != lines || n < 300 {
		t.Errorf("%d csvlog records and %d jsonlog records: want the same events, a few hundred", n, lines)
	}

	// Who logged in before and after the cutoff, from the jsonlog.
	before, after := map[string]bool{}, map[string]bool{}
	sn := bufio.NewScanner(bytes.NewReader(data[files.JSON]))
	sn.Buffer(nil, 1<<20)
	for sn.Scan() {
		var rec struct {
			Timestamp string `json:"timestamp"`
			User      string `json:"user"`
			Message   string `json:"message"`
		}
		if err := json.Unmarshal(sn.Bytes(), &rec); err != nil {
			t.Errorf("%s: %v: %s", files.JSON, err, sn.Bytes())
			continue
		}
		if !strings.HasPrefix(rec.Message, "connection authorized:") {
			continue
		}
		ts, err := time.Parse("2006-01-02 15:04:05.000 MST", rec.Timestamp)
		if err != nil {
			t.Errorf("%s: %v", files.JSON, err)
			continue
		}
		if ts.After(sc.LearnUntil) {
			after[rec.User] = true
		} else {
			before[rec.User] = true
		}
	}
	var fresh []string
	for u := range after {
		if !before[u] {
			fresh = append(fresh, u)
		}
	}
	if len(fresh) != 1 || fresh[0] != newbie.name {
		t.Errorf("logins after the cutoff by users unseen before it: %v, want [%s]", fresh, newbie.name)
	}
}

// replayAndCheck replays one log file and checks the alerts and secrets.
func replayAndCheck(ctx context.Context, t *testing.T, path, format string, srv *pgtest.Server, sc *Scenario) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	var events [][]byte
	opts := pipeline.Options{
		InputFormat:   format,
		RulePaths:     []string{rulesFile},
		LearnUntil:    sc.LearnUntil,
		ServerAddress: srv.Addr(),
		OnEvent: func(e *event.Event) {
			b, err := json.Marshal(e)
			if err != nil {
				t.Errorf("event JSON: %v", err)
			}
			events = append(events, b)
		},
	}
	if format == "stderr" {
		opts.LogLinePrefix = srv.Options().LogLinePrefix
	}
	res, err := pipeline.Replay(ctx, opts, pipeline.Input{Name: filepath.Base(path), R: f, Size: fi.Size()})
	if err != nil {
		t.Fatalf("replay %s: %v", path, err)
	}
	t.Logf("%s: %d lines, %d events, %d alerts, %d unparsed", filepath.Base(path), res.Lines, res.Events, len(res.Alerts), res.UnparsedCount)
	if res.UnparsedCount > 0 {
		t.Errorf("%d lines of a real server log were not understood; first: %+v", res.UnparsedCount, res.Unparsed)
	}
	if len(events) == 0 {
		t.Errorf("OnEvent saw no event")
	}

	for _, c := range sc.SecretCarriers {
		found := false
		for _, b := range events {
			if bytes.Contains(b, []byte(c)) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no event carries the statement %q...: the secret check would be vacuous for it", c)
		}
	}
	for _, s := range sc.Secrets {
		for _, b := range events {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("secret %s in event: %s", s, b)
			}
		}
		for _, a := range res.Alerts {
			b, _ := json.Marshal(a)
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("secret %s in alert %s: %s", s, a.RuleID, b)
			}
		}
		if b, _ := json.Marshal(res.Unparsed); bytes.Contains(b, []byte(s)) {
			t.Errorf("secret %s in the unparsed-line report: %s", s, b)
		}
	}

	if msgs := compareAlerts(res.Alerts, sc.Expects()); len(msgs) > 0 {
		t.Errorf("alerts differ from the scenario's expectations:\n  %s\nall alerts raised:\n%s",
			strings.Join(msgs, "\n  "), describeAlerts(res.Alerts))
	}
}

// compareAlerts matches alerts to expectations one to one.
func compareAlerts(alerts []*event.Alert, expects []Expect) []string {
	var msgs []string
	used := make([]bool, len(alerts))
	for _, e := range expects {
		var hits []int
		for i, a := range alerts {
			if a.RuleID == e.Rule && groupMatches(a, e.Group) {
				hits = append(hits, i)
			}
		}
		if e.Absent {
			if len(hits) > 0 {
				msgs = append(msgs, fmt.Sprintf("unexpected %s (a below-threshold control, step %q)", describe(alerts[hits[0]]), e.Steps[0]))
				used[hits[0]] = true
			}
			continue
		}
		switch len(hits) {
		case 0:
			msgs = append(msgs, fmt.Sprintf("missing %s (steps: %s)", e, strings.Join(e.Steps, "; ")))
			continue
		case 1:
		default:
			var ds []string
			for _, i := range hits {
				ds = append(ds, describe(alerts[i]))
			}
			msgs = append(msgs, fmt.Sprintf("want one alert for %s, got %d: %s", e, len(hits), strings.Join(ds, " | ")))
		}
		for _, i := range hits {
			used[i] = true
		}
		if a := alerts[hits[0]]; e.Count != anyCount && a.Count != e.Count {
			msgs = append(msgs, fmt.Sprintf("%s: count %d, want %d (steps: %s)", e.key(), a.Count, e.Count, strings.Join(e.Steps, "; ")))
		}
	}
	for i, a := range alerts {
		if !used[i] {
			msgs = append(msgs, "unexpected "+describe(a))
		}
	}
	return msgs
}

func groupMatches(a *event.Alert, want map[string]string) bool {
	for k, v := range want {
		got, ok := a.Group[k]
		if !ok {
			got = entityField(a.Entity, k)
		}
		if got != v {
			return false
		}
	}
	return true
}

func entityField(e event.Entity, name string) string {
	switch name {
	case "user.name":
		return e.User
	case "client.address":
		return e.Client
	case "server.address":
		return e.Server
	case "db.namespace":
		return e.Database
	case "app.name":
		return e.App
	}
	return ""
}

func describe(a *event.Alert) string {
	keys := make([]string, 0, len(a.Group))
	for k := range a.Group {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var g []string
	for _, k := range keys {
		g = append(g, k+"="+a.Group[k])
	}
	s := fmt.Sprintf("%s {%s} user=%s client=%s count=%d severity=%s", a.RuleID, strings.Join(g, " "), a.Entity.User, a.Entity.Client, a.Count, a.Severity)
	if len(a.Evidence) > 0 {
		q := a.Evidence[0].DB.Query.Text
		if q == "" {
			q = a.Evidence[0].Error.Message
		}
		if len(q) > 100 {
			q = q[:100] + "..."
		}
		s += fmt.Sprintf(" first=%q", q)
	}
	return s
}

func describeAlerts(alerts []*event.Alert) string {
	var b strings.Builder
	for _, a := range alerts {
		b.WriteString("    " + describe(a) + "\n")
	}
	return b.String()
}
