package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/vigildb/vigil/event"
)

const samples = "../../shared/samples/postgresql"

func replayFile(t *testing.T, path string, opts Options) (*Result, []*event.Event) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var events []*event.Event
	opts.OnEvent = func(ev *event.Event) { events = append(events, ev) }
	res, err := Replay(context.Background(), opts, Input{Name: filepath.Base(path), R: f, Size: -1})
	if err != nil {
		t.Fatalf("replay %s: %v", path, err)
	}
	return res, events
}

func alertKeys(as []*event.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, fmt.Sprintf("%s %v count=%d", a.RuleID, a.Group, a.Count))
	}
	sort.Strings(out)
	return out
}

// TestSamplesAllFormatsSameAlerts replays each captured phase in its three
// formats: nothing is left unparsed and the alerts are the same.
func TestSamplesAllFormatsSameAlerts(t *testing.T) {
	for _, phase := range []string{"phase1", "phase2", "phase3", "phase4"} {
		t.Run(phase, func(t *testing.T) {
			var want []string
			for i, ext := range []string{"log", "csv", "json"} {
				res, events := replayFile(t, filepath.Join(samples, "postgresql-"+phase+"."+ext), Options{})
				if res.UnparsedCount != 0 {
					t.Errorf("%s: %d unparsed lines: %v", ext, res.UnparsedCount, res.Unparsed)
				}
				if len(events) == 0 || res.Events != int64(len(events)) {
					t.Errorf("%s: %d events, result says %d", ext, len(events), res.Events)
				}
				got := alertKeys(res.Alerts)
				if i == 0 {
					want = got
					continue
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s alerts differ from stderr's:\n got %v\nwant %v", ext, got, want)
				}
			}
		})
	}
}

// TestNoSecretInAnyOutput: PostgreSQL writes CREATE/ALTER ROLE passwords in
// clear in statement: lines; none may survive into events or alerts.
func TestNoSecretInAnyOutput(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(samples, "postgresql-phase*"))
	if len(files) != 12 {
		t.Fatalf("found %d sample files", len(files))
	}
	pw := regexp.MustCompile(`(?i)PASSWORD\s+'([^']+)'`)
	secrets := map[string]bool{}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, m := range pw.FindAllStringSubmatch(string(b), -1) {
			secrets[m[1]] = true
		}
	}
	if len(secrets) < 3 {
		t.Fatalf("expected several passwords in the samples, found %v", secrets)
	}
	for _, f := range files {
		res, events := replayFile(t, f, Options{})
		var out strings.Builder
		for _, ev := range events {
			b, _ := json.Marshal(ev)
			out.Write(b)
		}
		b, _ := json.Marshal(res.Alerts)
		out.Write(b)
		b, _ = json.Marshal(res.Unparsed)
		out.Write(b)
		for s := range secrets {
			if strings.Contains(out.String(), s) {
				t.Errorf("%s: secret %q found in the output", filepath.Base(f), s)
			}
		}
	}
}

// TestWorkersKeepOrder: classification runs in parallel, yet events reach
// the engine (and OnEvent) in input order, so results do not depend on
// the number of workers.
func TestWorkersKeepOrder(t *testing.T) {
	path := filepath.Join(samples, "postgresql-phase1.log")
	res1, ev1 := replayFile(t, path, Options{Workers: 1})
	res4, ev4 := replayFile(t, path, Options{Workers: 4})
	if len(ev1) != len(ev4) {
		t.Fatalf("%d vs %d events", len(ev1), len(ev4))
	}
	for i := range ev1 {
		if ev1[i].ID != ev4[i].ID {
			t.Fatalf("event %d: %s vs %s", i, ev1[i].ID, ev4[i].ID)
		}
	}
	if a, b := alertKeys(res1.Alerts), alertKeys(res4.Alerts); strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("alerts differ:\n%v\n%v", a, b)
	}
}

func TestReplayErrors(t *testing.T) {
	_, err := Replay(context.Background(), Options{RulePaths: []string{"testdata/no-such-dir"}})
	if err == nil {
		t.Error("missing rule path accepted")
	}
	_, err = Replay(context.Background(), Options{InputFormat: "stderr", LogLinePrefix: "%m [%p] "},
		Input{Name: "x", R: strings.NewReader("garbage line\n2026-11-25 09:42:11.364 UTC [9331] LOG:  ok\n"), Size: -1})
	if err != nil {
		t.Errorf("a bad line must not fail the replay: %v", err)
	}
	res, err := Replay(context.Background(), Options{InputFormat: "stderr", LogLinePrefix: "%m [%p] "},
		Input{Name: "x", R: strings.NewReader("garbage line\n2026-11-25 09:42:11.364 UTC [9331] LOG:  ok\n"), Size: -1})
	if err != nil || res.UnparsedCount != 1 || len(res.Unparsed) != 1 || res.Unparsed[0].Line != 1 || res.Unparsed[0].File != "x" {
		t.Errorf("unparsed: %+v %v", res, err)
	}
	_, err = Replay(context.Background(), Options{}, Input{Name: "odd", R: strings.NewReader("hello world\nsecond line\n"), Size: -1})
	if err == nil || !strings.Contains(err.Error(), "--log-line-prefix") {
		t.Errorf("unknown format: %v", err)
	}
}
