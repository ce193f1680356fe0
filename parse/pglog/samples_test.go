package pglog

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigildb/vigil/event"
)

// Every sample file parses without unparsed lines into the expected number
// of events.
func TestSampleFiles(t *testing.T) {
	cases := []struct {
		file   string
		format string
		prefix string
		events int
	}{
		{"postgresql-phase1.log", FormatStderr, "%m [%p] %q%u@%d ", 110},
		{"postgresql-phase1.csv", FormatCSV, "", 110},
		{"postgresql-phase1.json", FormatJSON, "", 110},
		{"postgresql-phase2.log", FormatStderr, "%t:%r:%u@%d:[%p]:", 43},
		{"postgresql-phase2.csv", FormatCSV, "", 43},
		{"postgresql-phase2.json", FormatJSON, "", 43},
		{"postgresql-phase3.log", FormatStderr, "%t-%c-", 44},
		{"postgresql-phase3.csv", FormatCSV, "", 44},
		{"postgresql-phase3.json", FormatJSON, "", 44},
		{"postgresql-phase4.log", FormatStderr, "%m [%p] %q%u@%d/%a ", 23},
		{"postgresql-phase4.csv", FormatCSV, "", 23},
		{"postgresql-phase4.json", FormatJSON, "", 23},
		{"pg_ctl-startup-stderr.log", FormatStderr, "%m [%p] %q%u@%d ", 2},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			lines := sampleLines(t, c.file)
			format, prefix, err := Detect(lines)
			if err != nil {
				t.Fatal(err)
			}
			if format != c.format || (c.format == FormatStderr && c.file != "pg_ctl-startup-stderr.log" && prefix != c.prefix) {
				t.Errorf("Detect = %q %q, want %q %q", format, prefix, c.format, c.prefix)
			}
			res := run(t, c.format, c.prefix, lines)
			for _, err := range res.errs {
				t.Errorf("unparsed: %v", err)
			}
			if len(res.events) != c.events {
				t.Errorf("%d events, want %d (stats %+v)", len(res.events), c.events, res.stats)
			}
			for _, ev := range res.events {
				if ev.ID == "" || ev.Time.IsZero() || ev.DB.System.Name != "postgresql" || ev.Log.Line == 0 {
					t.Errorf("incomplete event %+v", ev)
				}
				if ev.Time.Location() != time.UTC {
					t.Errorf("time not UTC: %v", ev.Time)
				}
			}
			ids := map[string]bool{}
			for _, ev := range res.events {
				if ids[ev.ID] {
					t.Errorf("duplicate event id %s", ev.ID)
				}
				ids[ev.ID] = true
			}
		})
	}
}

// canon is the projection of an event compared across formats.
func canon(ev *event.Event, session bool) string {
	return strings.Join([]string{
		ev.Time.Truncate(1e9).Format("15:04:05"),
		ev.Source.Kind, ev.User.Name, ev.DB.Namespace, ev.Client.Address, fmt.Sprint(ev.Client.Port),
		map[bool]string{true: ev.Session.ID, false: "-"}[session], ev.App.Name,
		ev.Event.Category, ev.Event.Action, ev.Event.Outcome, fmt.Sprint(ev.Event.Duration),
		ev.DB.Query.Text, ev.DB.Response.StatusCode, fmt.Sprint(ev.DB.Response.ReturnedRows),
		ev.DB.Operation.Name, strings.Join(ev.DB.Collection.Name, "|"), strings.Join(ev.SQL.Operations, "|"),
		strings.Join(ev.SQL.Routines, "|"), fmt.Sprint(ev.SQL.Audit), fmt.Sprint(ev.SQL.Setting),
		ev.Error.Message, ev.Error.Detail,
	}, " ¦ ")
}

// The same run logged as stderr, csvlog and jsonlog yields the same events.
// Events are paired by a key every format has (time to the second, what
// happened, to what, by whom); then the whole projection must be equal,
// except for what the stderr prefix cannot carry: the session id of
// background processes (with %p only: the pid; csv/json: the session id),
// and a database or application name that the stderr prefix lacks and no
// earlier line of the session told (a failed login's database, a session
// that started in the previous file).
func TestCrossFormatSameEvents(t *testing.T) {
	for phase := 1; phase <= 4; phase++ {
		t.Run(fmt.Sprint("phase", phase), func(t *testing.T) {
			base := fmt.Sprintf("postgresql-phase%d", phase)
			stLines := sampleLines(t, base+".log")
			_, prefix, err := Detect(stLines)
			if err != nil {
				t.Fatal(err)
			}
			pre, _ := CompilePrefix(prefix)
			st := run(t, "", "", stLines)
			cs := run(t, "", "", sampleLines(t, base+".csv"))
			js := run(t, "", "", sampleLines(t, base+".json"))
			if len(st.events) != len(cs.events) || len(cs.events) != len(js.events) {
				t.Fatalf("event counts differ: stderr %d csv %d json %d", len(st.events), len(cs.events), len(js.events))
			}
			key := func(ev *event.Event) string {
				return strings.Join([]string{ev.Time.Truncate(1e9).Format("15:04:05"), ev.Event.Category, ev.Event.Action,
					ev.User.Name, ev.Client.Address, fmt.Sprint(ev.Client.Port), ev.DB.Query.Text, ev.Error.Message,
					fmt.Sprint(ev.SQL.Audit.StatementID), fmt.Sprint(ev.Event.Duration)}, "|")
			}
			order := func(evs []*event.Event) []*event.Event {
				s := append([]*event.Event(nil), evs...)
				sort.SliceStable(s, func(i, j int) bool { return key(s[i]) < key(s[j]) })
				return s
			}
			so, co, jo := order(st.events), order(cs.events), order(js.events)
			for i := range so {
				s, c, j := *so[i], *co[i], *jo[i]
				if !strings.Contains(s.Session.ID, ".") {
					s.Session.ID, c.Session.ID, j.Session.ID = "", "", ""
				}
				if s.DB.Namespace == "" && !pre.Has('d') {
					c.DB.Namespace, j.DB.Namespace = "", ""
				}
				if s.App.Name == "" && !pre.Has('a') {
					c.App.Name, j.App.Name = "", ""
				}
				ps, pc, pj := canon(&s, true), canon(&c, true), canon(&j, true)
				if ps != pc {
					t.Errorf("stderr vs csv:\n  %s\n  %s", ps, pc)
				}
				if pc != pj {
					t.Errorf("csv vs json:\n  %s\n  %s", pc, pj)
				}
			}
		})
	}
}
