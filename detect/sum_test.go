package detect

import (
	"bytes"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vigildb/vigil/event"
)

const sumRule = `
- rule: exfil.large_read
  title: Large volume of rows read by one user
  severity: medium
  mitre: {tactic: TA0009, technique: T1213.006}
  kind: count
  sum: db.response.returned_rows
  condition: event.category == "query"
  group_by: [user.name]
  window: 1h
  threshold: 100000
  escalate:
    - if: db.response.returned_rows > 1000000
      severity: high
`

// read is a query by u at t0+at that returned rows rows.
func read(at time.Duration, u string, rows int64) *event.Event {
	return ev(at, "statement", user(u), func(e *event.Event) {
		e.Event.Category = "query"
		e.DB.Response.ReturnedRows = rows
	})
}

func TestSumLoadShowOverride(t *testing.T) {
	rs := loadPacks(t, sumRule, `
- rule: exfil.large_read
  override: true
  sum: db.response.bytes
`)
	r := rs.Rule("exfil.large_read")
	if r.Sum != "db.response.bytes" || r.c.sum == nil || r.c.sum.name != "db.response.bytes" ||
		strings.Join(r.Overrides[0].Fields, ",") != "sum" {
		t.Errorf("override: sum %q, overrides %+v", r.Sum, r.Overrides)
	}
	var b strings.Builder
	if err := rs.Show(&b, r.ID); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "  threshold: 100000\n  sum: db.response.bytes\n") {
		t.Errorf("show:\n%s", b.String())
	}
	again, err := Load(FSSource("shown", fstest.MapFS{"r.yaml": {Data: []byte(b.String())}}))
	if err != nil {
		t.Fatalf("show output does not load: %v\n%s", err, b.String())
	}
	if r := again.Rule(r.ID); r.Sum != "db.response.bytes" || r.Kind != KindCount {
		t.Errorf("round trip: %+v", r)
	}
	// Not groupable but an integer field of conditions: fine.
	rules(t, strings.Replace(sumRule, "db.response.returned_rows\n", "event.duration\n", 1))
}

// The sum must exceed the threshold: reaching it is not enough.
func TestSumThreshold(t *testing.T) {
	e := NewEngine(rules(t, sumRule), Options{})
	if got := feed(e, read(0, "alice", 60000), read(10*time.Minute, "alice", 40000)); got != nil {
		t.Fatalf("sum 100000 = threshold fired: %v", got)
	}
	got := e.Process(read(20*time.Minute, "alice", 1))
	if len(got) != 1 {
		t.Fatalf("sum 100001: %d alerts", len(got))
	}
	a := got[0]
	if a.Count != 100001 || a.Group["user.name"] != "alice" || !a.FirstTime.Equal(t0) ||
		!a.LastTime.Equal(t0.Add(20*time.Minute)) || len(a.Evidence) != 3 || a.Severity != "medium" || a.Entity.User != "alice" {
		t.Errorf("alert: %+v", a)
	}
	// One event above the threshold fires on its own.
	e = NewEngine(rules(t, sumRule), Options{})
	if got := feed(e, read(0, "bob", 100001)); len(got) != 1 || got[0].Count != 100001 {
		t.Errorf("single read: %v", got)
	}
}

// Events with the field 0 (unknown) add nothing: no group, no alert, no
// update of an open alert.
func TestSumIgnoresZero(t *testing.T) {
	e := NewEngine(rules(t, sumRule), Options{})
	for i := 0; i < 100; i++ {
		if got := e.Process(read(time.Duration(i)*time.Second, "alice", 0)); got != nil {
			t.Fatalf("zero rows: %v", got)
		}
	}
	if st := e.Stats()[0]; st.Matched != 100 || st.Groups != 0 {
		t.Errorf("stats: %+v", st)
	}
	a := feed(e, read(2*time.Minute, "alice", 200000))
	if len(a) != 1 {
		t.Fatalf("alerts: %v", a)
	}
	if got := e.Process(read(3*time.Minute, "alice", 0)); got != nil || a[0].Count != 200000 || len(a[0].Evidence) != 1 {
		t.Errorf("zero-row event updated the alert: %v, count %d", got, a[0].Count)
	}
}

// Windows slide: a value exactly one window old no longer counts.
func TestSumWindowSlides(t *testing.T) {
	e := NewEngine(rules(t, sumRule), Options{})
	if got := feed(e, read(0, "alice", 60000), read(time.Hour, "alice", 60000)); got != nil {
		t.Fatalf("reads one window apart fired: %v", got)
	}
	got := e.Process(read(90*time.Minute, "alice", 50000))
	if len(got) != 1 || got[0].Count != 110000 || !got[0].FirstTime.Equal(t0.Add(time.Hour)) {
		t.Fatalf("second and third read: %v", got)
	}
	// A late event still inside the window counts; one outside does not.
	e = NewEngine(rules(t, sumRule), Options{})
	feed(e, read(2*time.Hour, "bob", 60000))
	if got := e.Process(read(time.Hour, "bob", 60000)); got != nil {
		t.Errorf("late event outside the window counted: %v", got)
	}
	if got := e.Process(read(time.Hour+time.Minute, "bob", 60000)); len(got) != 1 || got[0].Count != 120000 ||
		!got[0].FirstTime.Equal(t0.Add(time.Hour+time.Minute)) {
		t.Errorf("late event inside the window: %v", got)
	}
}

// The open alert's count is the running sum: every update adds the
// event's value. It closes after a quiet window; a new window starts
// from zero.
func TestSumAlertUpdates(t *testing.T) {
	e := NewEngine(rules(t, sumRule), Options{})
	got := feed(e, read(0, "alice", 60000), read(time.Minute, "alice", 60000))
	if len(got) != 1 || got[0].Count != 120000 {
		t.Fatalf("fire: %v", got)
	}
	a := got[0]
	for i := 2; i < 20; i++ {
		up := e.Process(read(time.Duration(i)*time.Minute, "alice", 1000))
		if len(up) != 1 || up[0] != a {
			t.Fatalf("update %d: %v", i, up)
		}
	}
	if a.Count != 120000+18*1000 || len(a.Evidence) != evidenceHead+evidenceTail || !a.LastTime.Equal(t0.Add(19*time.Minute)) {
		t.Errorf("after updates: count %d, %d evidence, last %s", a.Count, len(a.Evidence), a.LastTime)
	}
	// An update can escalate.
	if up := e.Process(read(20*time.Minute, "alice", 2000000)); len(up) != 1 || up[0] != a || a.Severity != "high" || a.Count != 2138000 {
		t.Errorf("escalating update: %v", up)
	}
	if st := e.Stats()[0]; st.Alerts != 1 || st.Updates != 19 {
		t.Errorf("stats: %+v", st)
	}
	// Quiet for a whole window: closed. The next reads count from zero.
	if got := feed(e, read(81*time.Minute, "alice", 90000)); got != nil {
		t.Errorf("read after a quiet window: %v", got)
	}
	if open := e.Alerts(); len(open) != 0 {
		t.Errorf("open alerts: %v", open)
	}
	got = feed(e, read(82*time.Minute, "alice", 20000))
	if len(got) != 1 || got[0] == a || got[0].Count != 110000 || got[0].ID == a.ID {
		t.Errorf("second alert: %v", got)
	}
}

// Each group has its own sum.
func TestSumGroups(t *testing.T) {
	e := NewEngine(rules(t, sumRule), Options{})
	if got := feed(e, read(0, "alice", 60000), read(time.Minute, "bob", 60000), read(2*time.Minute, "", 60000)); got != nil {
		t.Fatalf("three users: %v", got)
	}
	got := feed(e, read(3*time.Minute, "bob", 50000))
	if len(got) != 1 || got[0].Group["user.name"] != "bob" || got[0].Count != 110000 || len(got[0].Evidence) != 2 {
		t.Fatalf("bob: %v", got)
	}
	if got := feed(e, read(4*time.Minute, "alice", 40000)); got != nil {
		t.Errorf("alice at the threshold: %v", got)
	}
	if got := feed(e, read(5*time.Minute, "alice", 1)); len(got) != 1 || got[0].Group["user.name"] != "alice" || got[0].Count != 100001 {
		t.Errorf("alice: %v", got)
	}
	if n := len(e.Alerts()); n != 2 {
		t.Errorf("%d open alerts, want 2", n)
	}
}

// A group with more events in the window than maxSumPoints keeps a
// bounded state, and its sum errs only a little, upwards.
func TestSumBounded(t *testing.T) {
	rs := rules(t, strings.NewReplacer("window: 1h", "window: 10s", "threshold: 100000", "threshold: 1000000000").Replace(sumRule))
	e := NewEngine(rs, Options{})
	const n = 50000
	var times []time.Duration
	for i := 0; i < n; i++ {
		at := time.Duration(i) * time.Millisecond
		if i%7 == 3 {
			at -= 5 * time.Millisecond // a little out of order
		}
		times = append(times, at)
		e.Process(read(at, "alice", 2))
	}
	g := e.rules[0].groups["alice"]
	if len(g.Sums) > maxSumPoints {
		t.Fatalf("%d pairs kept", len(g.Sums))
	}
	clock := times[n-1] // the clock is the latest time seen
	exact := int64(0)
	for _, at := range times {
		if at > clock-10*time.Second {
			exact += 2
		}
	}
	var total int64
	for i, p := range g.Sums {
		total += p.Value
		if i > 0 && p.Time <= g.Sums[i-1].Time {
			t.Fatalf("pairs out of order at %d", i)
		}
	}
	// At most one slice of 10s/2048 (under 5ms: a few events) too much.
	if total != g.Sum || g.Sum < exact || g.Sum > exact+2*6 {
		t.Errorf("sum %d (pairs %d), exact %d", g.Sum, total, exact)
	}
}

// Sum state survives a restart in the middle of a window and of an open
// alert, and is dropped when the rule starts summing another field.
func TestSumStateRestart(t *testing.T) {
	rs := rules(t, sumRule)
	stream := []*event.Event{
		read(0, "alice", 30000), read(time.Minute, "bob", 90000), read(2*time.Minute, "alice", 30000),
		// restart here
		read(3*time.Minute, "alice", 30000), read(4*time.Minute, "bob", 20000), read(5*time.Minute, "bob", 7),
		read(6*time.Minute, "alice", 30000), read(7*time.Minute, "alice", 5),
	}
	one := NewEngine(rs, Options{})
	want := summary(feed(one, stream...))

	first := NewEngine(rs, Options{})
	got := feed(first, stream[:3]...)
	var buf bytes.Buffer
	if err := first.SaveState(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"sum":"db.response.returned_rows"`) || !strings.Contains(buf.String(), `"sums":[{"t":`) {
		t.Errorf("state: %s", buf.String())
	}
	second := NewEngine(rs, Options{})
	if err := second.LoadState(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	got = append(got, feed(second, stream[3:]...)...)
	if g := summary(got); g != want || !strings.Contains(want, " 110007 ") || !strings.Contains(want, " 120005 ") {
		t.Errorf("restart changed alerts:\n%s\n---\n%s", want, g)
	}

	// Saved mid-stream, then loaded by a rule summing bytes: the rows are
	// not bytes, so the state is dropped.
	other := NewEngine(rules(t, strings.Replace(sumRule, "sum: db.response.returned_rows", "sum: db.response.bytes", 1)), Options{})
	if err := other.LoadState(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if st := other.Stats()[0]; st.Groups != 0 {
		t.Errorf("state of another sum field kept: %+v", st)
	}
}
