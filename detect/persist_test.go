package detect

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vigildb/vigil/event"
)

// A restart in the middle of a stream, through SaveState and LoadState,
// raises the same alerts as one run over the whole stream.
func TestStateSurvivesRestart(t *testing.T) {
	// The bench pack, plus a count rule with sum (pending sums and open
	// alerts updated by the rows of each read must carry over).
	rs, err := Load(PathSource("testdata/bench/rules.yaml"), FSSource("sum", fstest.MapFS{"sum.yaml": {Data: []byte(`
- rule: x.rows_per_client
  title: Rows read per user and client
  severity: low
  kind: count
  sum: db.response.returned_rows
  condition: event.category == "query"
  group_by: [user.name, client.address]
  window: 2s
  threshold: 6000
`)}}))
	if err != nil {
		t.Fatal(err)
	}
	stream := benchEvents(20000, 21)
	learn := stream[5000].Time
	one := NewEngine(rs, Options{LearnUntil: learn})
	var want []*event.Alert
	for _, ev := range stream {
		want = append(want, one.Process(ev)...)
	}

	first := NewEngine(rs, Options{LearnUntil: learn})
	var got []*event.Alert
	for _, ev := range stream[:12345] {
		got = append(got, first.Process(ev)...)
	}
	var buf bytes.Buffer
	if err := first.SaveState(&buf); err != nil {
		t.Fatal(err)
	}
	second := NewEngine(rs, Options{LearnUntil: learn})
	if err := second.LoadState(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	for _, ev := range stream[12345:] {
		got = append(got, second.Process(ev)...)
	}
	// Compare the final state of each alert (updates repeat the same one).
	last := func(as []*event.Alert) string {
		byID := map[string]*event.Alert{}
		for _, a := range as {
			byID[a.ID] = a
		}
		var all []*event.Alert
		for _, a := range byID {
			all = append(all, a)
		}
		return summary(all)
	}
	if w, g := last(want), last(got); w != g {
		t.Errorf("restart changed alerts:\n%s\n---\n%s", w, g)
	}
	if w := last(want); !strings.Contains(w, "x.rows_per_client") {
		t.Errorf("no sum alert:\n%s", w)
	}
	if !strings.Contains(buf.String(), `"sums":[{`) {
		t.Errorf("state lacks pending sums")
	}
	if !strings.Contains(buf.String(), `"auth.failed_login_burst"`) {
		t.Errorf("state lacks rules: %.200s", buf.String())
	}
}

// The engine serializes its methods: concurrent callers are safe.
func TestConcurrentUse(t *testing.T) {
	e := NewEngine(benchRules(t), Options{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for _, ev := range benchEvents(2000, uint64(w)) {
				e.Process(ev)
				if ev.DB.Response.ReturnedRows == 7 {
					e.Alerts()
					e.Stats()
					e.Advance(ev.Time)
				}
			}
		}(w)
	}
	wg.Wait()
	if e.Clock().Before(time.Date(2026, 11, 1, 0, 0, 5, 0, time.UTC)) {
		t.Errorf("clock %s", e.Clock())
	}
}
