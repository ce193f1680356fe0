package detect

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vigildb/vigil/event"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func rules(t *testing.T, yaml string) *RuleSet {
	t.Helper()
	rs, err := Load(FSSource("test", fstest.MapFS{"rules.yaml": {Data: []byte(yaml)}}))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return rs
}

// ev builds an event at t0+at.
func ev(at time.Duration, action string, set ...func(*event.Event)) *event.Event {
	e := &event.Event{Time: t0.Add(at)}
	e.Event.Action = action
	e.Source.Name = "pg1"
	e.Server.Address = "db1"
	for _, f := range set {
		f(e)
	}
	return e
}

func ip(a string) func(*event.Event)   { return func(e *event.Event) { e.Client.Address = a } }
func user(u string) func(*event.Event) { return func(e *event.Event) { e.User.Name = u } }
func app(a string) func(*event.Event)  { return func(e *event.Event) { e.App.Name = a } }
func db(d string) func(*event.Event)   { return func(e *event.Event) { e.DB.Namespace = d } }
func server(s string) func(*event.Event) {
	return func(e *event.Event) { e.Server.Address = s }
}
func source(s string) func(*event.Event) { return func(e *event.Event) { e.Source.Name = s } }
func ops(o ...string) func(*event.Event) {
	return func(e *event.Event) {
		e.SQL.Operations = o
		e.DB.Operation.Name = o[0]
		e.Event.Category = "ddl"
	}
}

// feed processes events and returns every alert returned, in order.
func feed(e *Engine, evs ...*event.Event) []*event.Alert {
	var out []*event.Alert
	for _, x := range evs {
		out = append(out, e.Process(x)...)
	}
	return out
}

func failed(at time.Duration, addr string) *event.Event {
	return ev(at, "login_failed", ip(addr), user("alice"))
}

const burstRule = `
- rule: auth.failed_login_burst
  title: Failed-login burst
  severity: high
  mitre: {tactic: TA0006, technique: T1110}
  kind: count
  condition: event.action == "login_failed"
  group_by: [client.address]
  window: 10m
  threshold: 5
  description: d
  impact: i
  mitigation: m
  tags: [authentication]
`

func TestCountThreshold(t *testing.T) {
	e := NewEngine(rules(t, burstRule), Options{})
	for i := 0; i < 5; i++ {
		if a := e.Process(failed(time.Duration(i)*time.Minute, "203.0.113.7")); a != nil {
			t.Fatalf("alert at %d events (threshold 5 means more than 5)", i+1)
		}
	}
	got := e.Process(failed(5*time.Minute, "203.0.113.7"))
	if len(got) != 1 {
		t.Fatalf("6th event: %d alerts", len(got))
	}
	a := got[0]
	if a.Count != 6 || a.RuleID != "auth.failed_login_burst" || a.Severity != "high" || a.Group["client.address"] != "203.0.113.7" ||
		!a.FirstTime.Equal(t0) || !a.LastTime.Equal(t0.Add(5*time.Minute)) || len(a.Evidence) != 6 ||
		a.Entity.Client != "203.0.113.7" || a.Entity.User != "alice" || a.Entity.Server != "db1" ||
		a.Mitre.TacticName != "Credential Access" || a.Mitre.TechniqueName != "Brute Force" ||
		a.Description != "d" || a.Impact != "i" || a.Mitigation != "m" || a.Tags[0] != "authentication" {
		t.Errorf("alert: %+v", a)
	}
	// Later events update the same alert, never raise another.
	for i := 6; i < 30; i++ {
		up := e.Process(failed(5*time.Minute+time.Duration(i)*time.Second, "203.0.113.7"))
		if len(up) != 1 || up[0] != a {
			t.Fatalf("update %d: %v", i, up)
		}
	}
	if a.Count != 30 || len(a.Evidence) != evidenceHead+evidenceTail || !a.Evidence[0].Time.Equal(t0) ||
		!a.Evidence[9].Time.Equal(t0.Add(5*time.Minute+29*time.Second)) {
		t.Errorf("after updates: count %d, %d evidence", a.Count, len(a.Evidence))
	}
	if open := e.Alerts(); len(open) != 1 || open[0] != a {
		t.Errorf("open alerts: %v", open)
	}
	// Another address is another group.
	if got := feed(e, failed(6*time.Minute, "198.51.100.1")); got != nil {
		t.Errorf("other group: %v", got)
	}
	// Quiet for a whole window: the alert closes, a new burst opens a new one.
	var second []*event.Alert
	for i := 0; i < 6; i++ {
		second = append(second, e.Process(failed(30*time.Minute+time.Duration(i)*time.Second, "203.0.113.7"))...)
	}
	if len(second) != 1 || second[0] == a || second[0].ID == a.ID || second[0].Count != 6 {
		t.Errorf("second burst: %v", second)
	}
	if open := e.Alerts(); len(open) != 1 || open[0] != second[0] {
		t.Errorf("open alerts after the window: %v", open)
	}
}

func TestCountWindowSlides(t *testing.T) {
	e := NewEngine(rules(t, burstRule), Options{})
	// Five events at 0..4 min; the sixth at exactly 10 min: the first is
	// one full window old and no longer counts.
	for i := 0; i < 5; i++ {
		feed(e, failed(time.Duration(i)*time.Minute, "203.0.113.7"))
	}
	if got := feed(e, failed(10*time.Minute, "203.0.113.7")); got != nil {
		t.Fatalf("window (0,10m] has 5 events, got %v", got)
	}
	got := feed(e, failed(10*time.Minute+30*time.Second, "203.0.113.7"))
	if len(got) != 1 || got[0].Count != 6 || !got[0].FirstTime.Equal(t0.Add(time.Minute)) {
		t.Fatalf("window (0:30,10:30] has 6 events: %v", got)
	}
}

func TestReplayIsDeterministic(t *testing.T) {
	rs := rules(t, burstRule)
	run := func() []string {
		e := NewEngine(rs, Options{KeepAlerts: true})
		for i := 0; i < 40; i++ {
			feed(e, failed(time.Duration(i*i)*time.Second, fmt.Sprintf("203.0.113.%d", i%3)))
		}
		var ids []string
		for _, a := range e.Alerts() {
			ids = append(ids, fmt.Sprintf("%s/%d", a.ID, a.Count))
		}
		return ids
	}
	a, b := run(), run()
	if len(a) == 0 || strings.Join(a, ",") != strings.Join(b, ",") {
		t.Errorf("replays differ:\n%v\n%v", a, b)
	}
}

func TestOutOfOrder(t *testing.T) {
	e := NewEngine(rules(t, burstRule), Options{})
	// Events shuffled within a few seconds still make the burst.
	order := []int{3, 1, 0, 5, 2, 4}
	var got []*event.Alert
	for _, i := range order {
		got = append(got, e.Process(failed(time.Duration(i)*time.Second, "203.0.113.7"))...)
	}
	if len(got) != 1 || got[0].Count != 6 || !got[0].FirstTime.Equal(t0) {
		t.Fatalf("%v", got)
	}
	// An event older than the window is not counted, and breaks nothing.
	e2 := NewEngine(rules(t, burstRule), Options{})
	feed(e2, failed(time.Hour, "203.0.113.7"))
	for i := 0; i < 10; i++ {
		if got := feed(e2, failed(time.Duration(i)*time.Second, "203.0.113.7")); got != nil {
			t.Fatalf("late events counted: %v", got)
		}
	}
	// A zero time is taken as the clock.
	feed(e2, &event.Event{Event: event.Kind{Action: "login_failed"}})
}

func TestMatchDedup(t *testing.T) {
	e := NewEngine(rules(t, `
- rule: ddl.drop_table
  title: Table dropped
  severity: medium
  condition: '"DROP TABLE" in sql.operations'
  group_by: [user.name]
`), Options{})
	drop := func(at time.Duration, u string) *event.Event {
		return ev(at, "statement", user(u), ops("DROP TABLE"))
	}
	a := feed(e, drop(0, "bob"))
	if len(a) != 1 || a[0].Count != 1 {
		t.Fatalf("%v", a)
	}
	b := feed(e, drop(time.Minute, "bob"), drop(9*time.Minute, "bob"))
	if len(b) != 2 || b[0] != a[0] || b[1] != a[0] || a[0].Count != 3 {
		t.Fatalf("dedup: %v", b)
	}
	if c := feed(e, drop(2*time.Minute, "carol")); len(c) != 1 || c[0] == a[0] || c[0].Group["user.name"] != "carol" {
		t.Fatalf("grouping: %v", c)
	}
	if d := feed(e, drop(10*time.Minute, "bob")); len(d) != 1 || d[0] == a[0] || d[0].Count != 1 {
		t.Fatalf("new window: %v", d)
	}
	if got := feed(e, ev(11*time.Minute, "statement", user("bob"), ops("DROP VIEW"))); got != nil {
		t.Fatalf("non-matching: %v", got)
	}
}

func TestEscalate(t *testing.T) {
	e := NewEngine(rules(t, `
- rule: dcl.grant
  title: Privileges granted
  severity: low
  condition: event.action == "statement" && "GRANT" in sql.operations
  group_by: [user.name]
  escalate:
    - if: sql.grant.all || sql.grant.public
      severity: critical
    - if: sql.grant.with_grant_option
      severity: high
`), Options{})
	g := func(at time.Duration, u string, set func(*event.Event)) *event.Event {
		x := ev(at, "statement", user(u), ops("GRANT"))
		if set != nil {
			set(x)
		}
		return x
	}
	a := feed(e, g(0, "bob", nil))[0]
	if a.Severity != "low" {
		t.Errorf("base: %s", a.Severity)
	}
	feed(e, g(time.Second, "bob", func(x *event.Event) { x.SQL.Grant.WithGrantOption = true }))
	if a.Severity != "high" {
		t.Errorf("with grant option: %s", a.Severity)
	}
	feed(e, g(2*time.Second, "bob", func(x *event.Event) { x.SQL.Grant.Public = true }))
	feed(e, g(3*time.Second, "bob", nil))
	if a.Severity != "critical" {
		t.Errorf("public, then a plain grant: %s (severity never goes down)", a.Severity)
	}
	if b := feed(e, g(0, "carol", func(x *event.Event) { x.SQL.Grant.All = true })); b[0].Severity != "critical" {
		t.Errorf("on creation: %s", b[0].Severity)
	}
}

const sprayRule = `
- rule: auth.password_spray
  title: Password spray
  severity: high
  kind: distinct
  condition: event.action == "login_failed"
  group_by: [client.address]
  distinct: user.name
  window: 10m
  threshold: 4
`

func TestDistinct(t *testing.T) {
	e := NewEngine(rules(t, sprayRule), Options{})
	f := func(at time.Duration, u string) *event.Event {
		return ev(at, "login_failed", ip("203.0.113.7"), user(u))
	}
	if got := feed(e, f(0, "a"), f(time.Minute, "b"), f(2*time.Minute, "a"), f(3*time.Minute, "c"), f(4*time.Minute, "c")); got != nil {
		t.Fatalf("3 distinct users: %v", got)
	}
	got := feed(e, f(5*time.Minute, "d"))
	if len(got) != 1 || got[0].Count != 4 || !got[0].FirstTime.Equal(t0.Add(time.Minute)) {
		t.Fatalf("4 distinct users: %v", got)
	}
	a := got[0]
	feed(e, f(6*time.Minute, "a"))
	if a.Count != 4 {
		t.Errorf("repeat value counted: %d", a.Count)
	}
	if up := feed(e, f(7*time.Minute, "e")); len(up) != 1 || up[0] != a || a.Count != 5 {
		t.Errorf("new value: %v", up)
	}
	// Values expire with the window.
	e2 := NewEngine(rules(t, sprayRule), Options{})
	feed(e2, f(0, "a"), f(time.Minute, "b"), f(2*time.Minute, "c"))
	if got := feed(e2, f(11*time.Minute, "d")); got != nil {
		t.Errorf("expired values counted: %v", got)
	}
	if got := feed(e2, f(11*time.Minute, "")); got != nil {
		t.Errorf("empty value counted: %v", got)
	}
}

const bruteSuccessRule = `
- rule: auth.bruteforce_success
  title: Successful login after a failed-login burst
  severity: critical
  kind: sequence
  group_by: [client.address]
  window: 10m
  steps:
    - condition: event.action == "login_failed"
      threshold: 5
    - condition: event.action == "login"
`

func TestSequence(t *testing.T) {
	ok := func(at time.Duration, addr string) *event.Event { return ev(at, "login", ip(addr), user("alice")) }
	t.Run("fires", func(t *testing.T) {
		e := NewEngine(rules(t, bruteSuccessRule), Options{})
		for i := 0; i < 6; i++ {
			feed(e, failed(time.Duration(i)*time.Second, "203.0.113.7"))
		}
		if got := feed(e, ok(time.Minute, "198.51.100.1")); got != nil {
			t.Fatalf("other address: %v", got)
		}
		got := feed(e, ok(2*time.Minute, "203.0.113.7"))
		if len(got) != 1 || got[0].Count != 7 || len(got[0].Evidence) != 7 || got[0].Evidence[6].Event.Action != "login" {
			t.Fatalf("%v", got)
		}
		if up := feed(e, ok(3*time.Minute, "203.0.113.7")); len(up) != 1 || up[0] != got[0] || got[0].Count != 8 {
			t.Fatalf("update: %v", up)
		}
	})
	t.Run("at threshold", func(t *testing.T) {
		e := NewEngine(rules(t, bruteSuccessRule), Options{})
		for i := 0; i < 5; i++ {
			feed(e, failed(time.Duration(i)*time.Second, "203.0.113.7"))
		}
		if got := feed(e, ok(time.Minute, "203.0.113.7")); got != nil {
			t.Fatalf("5 failures (not more than 5): %v", got)
		}
	})
	t.Run("order", func(t *testing.T) {
		e := NewEngine(rules(t, bruteSuccessRule), Options{})
		feed(e, ok(0, "203.0.113.7"))
		for i := 1; i < 10; i++ {
			if got := feed(e, failed(time.Duration(i)*time.Second, "203.0.113.7")); got != nil {
				t.Fatalf("success before the burst: %v", got)
			}
		}
	})
	t.Run("window", func(t *testing.T) {
		e := NewEngine(rules(t, bruteSuccessRule), Options{})
		for i := 0; i < 6; i++ {
			feed(e, failed(time.Duration(i)*time.Second, "203.0.113.7"))
		}
		if got := feed(e, ok(11*time.Minute, "203.0.113.7")); got != nil {
			t.Fatalf("burst out of the window: %v", got)
		}
	})
}

const absenceRule = `
- rule: logs.absent
  title: No events from a source
  severity: medium
  kind: absence
  group_by: [source.name]
  period: 4h
`

func TestAbsence(t *testing.T) {
	e := NewEngine(rules(t, absenceRule), Options{})
	feed(e, ev(0, "statement", source("a")), ev(time.Minute, "statement", source("b")))
	feed(e, ev(2*time.Hour, "statement", source("a")))
	if got := e.Advance(t0.Add(4*time.Hour - time.Second)); got != nil {
		t.Fatalf("early: %v", got)
	}
	got := e.Advance(t0.Add(4*time.Hour + time.Minute))
	if len(got) != 1 || got[0].Group["source.name"] != "b" || got[0].Count != 0 ||
		!got[0].FirstTime.Equal(t0.Add(time.Minute)) || !got[0].LastTime.Equal(t0.Add(4*time.Hour+time.Minute)) ||
		len(got[0].Evidence) != 1 {
		t.Fatalf("b quiet for 4h: %+v", got)
	}
	if again := e.Advance(t0.Add(5 * time.Hour)); again != nil {
		t.Fatalf("reported twice: %v", again)
	}
	// Event time drives it too: an event from a, 6h02 in, makes a (quiet
	// since 2h) due.
	got = feed(e, ev(6*time.Hour+2*time.Minute, "statement", source("b")))
	if len(got) != 1 || got[0].Group["source.name"] != "a" {
		t.Fatalf("a via event time: %v", got)
	}
	// b came back; a new silence is a new alert.
	got = e.Advance(t0.Add(11 * time.Hour))
	if len(got) != 1 || got[0].Group["source.name"] != "b" {
		t.Fatalf("b again: %v", got)
	}
}

// TestAbsenceGapInsideOneSource: a single source that goes quiet and comes
// back is reported by the event that ends the silence, with no Advance
// call in between (what a replay of a log with a gap does).
func TestAbsenceGapInsideOneSource(t *testing.T) {
	e := NewEngine(rules(t, absenceRule), Options{})
	feed(e, ev(0, "statement", source("a")), ev(time.Hour, "statement", source("a")))
	got := feed(e, ev(5*time.Hour+time.Minute, "statement", source("a")))
	if len(got) != 1 || got[0].Group["source.name"] != "a" || !got[0].FirstTime.Equal(t0.Add(time.Hour)) {
		t.Fatalf("gap of 4h01 not reported: %v", got)
	}
	if got := feed(e, ev(5*time.Hour+2*time.Minute, "statement", source("a"))); got != nil {
		t.Fatalf("reported again: %v", got)
	}
}

const unfamiliarRule = `
- rule: access.unfamiliar_principal
  title: Login by an unfamiliar user
  severity: medium
  kind: first_seen
  condition: event.action == "login"
  group_by: [server.address]
  field: user.name
  learn: 1h
`

func TestFirstSeen(t *testing.T) {
	login := func(at time.Duration, u, srv string) *event.Event { return ev(at, "login", user(u), server(srv)) }
	e := NewEngine(rules(t, unfamiliarRule), Options{})
	// Learning starts at the first event the rule sees (9:30).
	if got := feed(e, ev(0, "statement", user("x")), login(30*time.Minute, "alice", "db1"), login(80*time.Minute, "bob", "db1")); got != nil {
		t.Fatalf("learning: %v", got)
	}
	if got := feed(e, login(91*time.Minute, "alice", "db1"), login(92*time.Minute, "bob", "db1")); got != nil {
		t.Fatalf("known users: %v", got)
	}
	got := feed(e, login(93*time.Minute, "carol", "db1"))
	if len(got) != 1 || got[0].Group["user.name"] != "carol" || got[0].Group["server.address"] != "db1" || got[0].Count != 1 {
		t.Fatalf("new user: %v", got)
	}
	if again := feed(e, login(94*time.Minute, "carol", "db1")); again != nil {
		t.Fatalf("fired twice: %v", again)
	}
	if other := feed(e, login(95*time.Minute, "alice", "db2")); len(other) != 1 {
		t.Fatalf("alice is new on db2: %v", other)
	}
	// LearnUntil overrides the rule's period.
	e2 := NewEngine(rules(t, unfamiliarRule), Options{LearnUntil: t0.Add(24 * time.Hour)})
	if got := feed(e2, login(0, "alice", "db1"), login(5*time.Hour, "dave", "db1")); got != nil {
		t.Fatalf("before LearnUntil: %v", got)
	}
	if got := feed(e2, login(25*time.Hour, "erin", "db1"), login(25*time.Hour, "dave", "db1")); len(got) != 1 || got[0].Group["user.name"] != "erin" {
		t.Fatalf("after LearnUntil: %v", got)
	}
}

func TestExceptions(t *testing.T) {
	rs := rules(t, `
- list: admin_users
  items: [postgres, DBA_Alice]
- rule: t.login
  title: Login
  severity: low
  condition: event.action == "login"
  group_by: [user.name, client.address, app.name, db.namespace, server.address]
  exceptions:
    - name: admins
      match: {user.name: ["@admin_users", nagios]}
    - name: office
      match: {client.address: [10.0.0.0/8, "2001:db8::/32", "[local]"]}
    - name: backup_tool_on_reporting
      match: {app.name: [pg_dump], db.namespace: [reporting]}
    - name: staging
      match: {server.address: [staging-db]}
`)
	cases := []struct {
		name    string
		ev      *event.Event
		silence bool
	}{
		{"plain", ev(0, "login", user("bob"), ip("203.0.113.7")), false},
		{"list item", ev(0, "login", user("postgres"), ip("203.0.113.7")), true},
		{"list item, other case", ev(0, "login", user("dba_alice"), ip("203.0.113.7")), true},
		{"literal value, other case", ev(0, "login", user("NAGIOS"), ip("203.0.113.7")), true},
		{"cidr", ev(0, "login", user("bob"), ip("10.20.30.40")), true},
		{"cidr, mapped v6", ev(0, "login", user("bob"), ip("::ffff:10.0.0.1")), true},
		{"cidr v6", ev(0, "login", user("bob"), ip("2001:db8::5")), true},
		{"outside cidr", ev(0, "login", user("bob"), ip("11.0.0.1")), false},
		{"text address", ev(0, "login", user("bob"), ip("[local]")), true},
		{"app and db", ev(0, "login", user("bob"), ip("203.0.113.7"), app("pg_dump"), db("reporting")), true},
		{"app without db", ev(0, "login", user("bob"), ip("203.0.113.7"), app("pg_dump"), db("sales")), false},
		{"server", ev(0, "login", user("bob"), ip("203.0.113.7"), server("staging-db")), true},
	}
	for _, c := range cases {
		e := NewEngine(rs, Options{})
		got := e.Process(c.ev)
		if (got == nil) != c.silence {
			t.Errorf("%s: alerts %v, want silenced=%v", c.name, got, c.silence)
		}
	}
	// Excepted events do not count towards a threshold either.
	rs2 := rules(t, burstRule+`
  exceptions:
    - name: scanner
      match: {client.address: [203.0.113.0/24]}
`)
	e := NewEngine(rs2, Options{})
	for i := 0; i < 10; i++ {
		if got := e.Process(failed(time.Duration(i)*time.Second, "203.0.113.7")); got != nil {
			t.Fatalf("excepted events counted: %v", got)
		}
	}
	if st := e.Stats()[0]; st.Excepted != 10 || st.Matched != 0 {
		t.Errorf("stats: %+v", st)
	}
}

func TestOverridesApplyToEngine(t *testing.T) {
	rs := loadPacks(t, builtinPack, userPack)
	e := NewEngine(rs, Options{})
	// Threshold 10 now, and 10.1/16 is excepted.
	for i := 0; i < 10; i++ {
		if got := e.Process(failed(time.Duration(i)*time.Second, "203.0.113.7")); got != nil {
			t.Fatalf("threshold not overridden: %v", got)
		}
		e.Process(failed(time.Duration(i)*time.Second, "10.1.2.3"))
	}
	if got := e.Process(failed(11*time.Second, "203.0.113.7")); len(got) != 1 {
		t.Fatalf("11th: %v", got)
	}
	if got := e.Process(failed(11*time.Second, "10.1.2.3")); got != nil {
		t.Fatalf("appended exception ignored: %v", got)
	}
	// The built-in exception still applies.
	for i := 0; i < 20; i++ {
		if got := e.Process(ev(time.Minute, "login_failed", ip("198.51.100.9"), user("postgres"))); got != nil {
			t.Fatalf("built-in exception lost: %v", got)
		}
	}
	// Disabled rule: nothing.
	if got := e.Process(ev(time.Minute, "statement", user("bob"), ops("DROP TABLE"))); got != nil {
		t.Fatalf("disabled rule fired: %v", got)
	}
	// The replaced rule is the user's.
	if got := e.Process(ev(time.Minute, "login", app("sqlmap/1.7"))); got != nil {
		t.Fatalf("replaced rule used the built-in condition: %v", got)
	}
	if got := e.Process(ev(time.Minute, "login", app("evil"))); len(got) != 1 || got[0].Severity != "critical" {
		t.Fatalf("replacement: %v", got)
	}
	// The appended list item reaches built-in conditions.
	rs2 := loadPacks(t, builtinPack, `
- list: attack_tools
  items: [nmap]
  append: true
`)
	e2 := NewEngine(rs2, Options{})
	if got := e2.Process(ev(0, "login", app("Nmap NSE"))); len(got) != 1 {
		t.Fatalf("appended list: %v", got)
	}
	if got := e2.Process(ev(0, "login", app("SQLMap/1.7"))); len(got) != 1 {
		t.Fatalf("built-in list item: %v", got)
	}
}

func TestMaxGroups(t *testing.T) {
	e := NewEngine(rules(t, burstRule), Options{MaxGroups: 3})
	for i := 0; i < 10; i++ {
		feed(e, failed(time.Duration(i)*time.Second, fmt.Sprintf("203.0.113.%d", i)))
	}
	st := e.Stats()[0]
	if st.Groups != 3 || st.Evictions != 7 {
		t.Errorf("stats: %+v", st)
	}
	// Expired groups are swept as time goes on.
	feed(e, failed(time.Hour, "198.51.100.1"))
	if st := e.Stats()[0]; st.Groups != 1 {
		t.Errorf("after an hour: %+v", st)
	}
}

// TestAbsenceBacklog: a daemon that catches up on hours of backlog has its
// clock moved to the wall clock by Advance before the old events arrive.
// The silence is reported once; the backlog's events, older than that
// report, do not re-arm it at every tick (an alert storm), and an event
// from after the report does.
func TestAbsenceBacklog(t *testing.T) {
	e := NewEngine(rules(t, absenceRule), Options{})
	feed(e, ev(0, "statement", source("a")))
	if got := e.Advance(t0.Add(5 * time.Hour)); len(got) != 1 {
		t.Fatalf("silence of 5h: %v", got)
	}
	for i := 1; i <= 50; i++ {
		feed(e, ev(time.Duration(i)*time.Second, "statement", source("a")))
		if got := e.Advance(t0.Add(5*time.Hour + time.Duration(i)*time.Second)); got != nil {
			t.Fatalf("backlog event %d re-raised the silence: %v", i, got)
		}
	}
	feed(e, ev(5*time.Hour+time.Minute, "statement", source("a")))
	if got := e.Advance(t0.Add(9*time.Hour + 2*time.Minute)); len(got) != 1 {
		t.Fatalf("a new silence after a current event: %v", got)
	}
}
