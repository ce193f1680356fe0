package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/vigildb/vigil/event"
)

// Options tune an Engine. The zero value is ready to use.
type Options struct {
	// LearnUntil, when set, ends the learning period of every first_seen
	// rule at this time instead of the rule's own `learn` (counted from
	// the first event the rule sees). `vigil replay --learn-until`.
	LearnUntil time.Time
	// MaxGroups bounds the groups each rule remembers (default 10000).
	// Past it the least recently updated group is forgotten and counted
	// in RuleStats.Evictions.
	MaxGroups int
	// KeepAlerts makes Alerts return every alert raised since the engine
	// started (a replay's result). By default the engine forgets an alert
	// once it can no longer be updated and Alerts returns open ones only,
	// so a long-running daemon does not grow.
	KeepAlerts bool
}

// DefaultMaxGroups is Options.MaxGroups when it is zero.
const DefaultMaxGroups = 10000

// Evidence kept per alert: the first evidenceHead events and the last
// evidenceTail ones; Count says how many there were in all.
const (
	evidenceHead = 5
	evidenceTail = 5
	// maxSeen bounds the values a first_seen group remembers.
	maxSeen = 10000
	// maxAlertValues bounds the distinct values an open distinct alert counts.
	maxAlertValues = 10000
	// memoCap bounds each condition's memo; a full memo is cleared.
	memoCap = 4096
	// sweepEvery is how often (in event time) expired groups are dropped.
	sweepEvery = int64(10 * time.Second)
)

// Engine evaluates a RuleSet over a stream of events and raises alerts.
//
// Time is the events' own time: windows slide on event timestamps and the
// engine's clock is the latest event time seen (or given to Advance), so a
// replay of old logs raises the same alerts, with the same ids, as the
// live system did. Events may arrive somewhat out of order: a late event
// counts in a window if it still falls inside it, relative to the clock.
//
// An Engine serializes its methods on a mutex, so it may be shared, but it
// is designed for one goroutine feeding it events in order (concurrent
// feeding would make the order, and so the alerts, depend on scheduling).
//
// Ownership: Process may keep the *event.Event it is given (as evidence
// for a later alert), so the caller must not modify an event after
// passing it. The alerts returned belong to the engine, which keeps
// updating open ones on later calls; a caller that hands an alert to
// another goroutine must copy it first (CloneAlert) while it holds the
// engine's ordering (e.g. right after Process returns).
type Engine struct {
	mu    sync.Mutex
	opts  Options
	rs    *RuleSet
	rules []*ruleRT
	clock int64 // unix ns of the latest event time seen

	words  int        // uint64 words in a rule bitset
	always []uint64   // rules looked at for every event
	fields []*fieldIx // per indexed field: value -> rules
	cand   []uint64

	vm       vm.VM
	memo     []map[string]bool // per cond.id
	buf      []byte
	out      []*event.Alert
	kept     []*event.Alert
	nextTick int64
	plain    bool // no prefilter: for tests and benchmarks
}

// noPrefilter makes the engine look at every rule for every event and
// decide with expr alone (the reference the prefilters must agree with).
func (e *Engine) noPrefilter() {
	e.plain = true
	for i := range e.always {
		e.always[i] = 0
	}
	for i := range e.rules {
		e.always[i/64] |= 1 << (i % 64)
	}
	e.fields = nil
}

// ruleRT is a rule's runtime state.
type ruleRT struct {
	r      *Rule
	c      *compiled
	window int64 // window, period or match dedup window, ns
	groups map[string]*group
	head   *group // most recently updated
	tail   *group // least recently updated
	last   *group // the group of the previous event, to skip a map lookup

	learnStart int64 // first_seen: time of the first event the rule saw
	nextDue    int64 // absence: earliest time a group may go overdue (0: none)
	stats      RuleStats
}

// group is the state of one group of one rule: its exported part is the
// plain, serializable GroupState; the rest is the LRU list.
type group struct {
	GroupState
	key        string
	prev, next *group
}

// fieldIx indexes the rules keyed on one field.
type fieldIx struct {
	f      *fieldInfo
	eq     map[string][]uint64
	prefix []prefixKey
}

type prefixKey struct {
	p    string
	bits []uint64
}

// RuleStats counts what a rule did.
type RuleStats struct {
	ID         string `json:"id"`
	Candidates int64  `json:"candidates"` // events the index let through to the rule
	Matched    int64  `json:"matched"`    // events that met the condition and no exception
	Excepted   int64  `json:"excepted"`   // events that met the condition but an exception
	Alerts     int64  `json:"alerts"`     // alerts raised
	Updates    int64  `json:"updates"`    // updates of open alerts
	Groups     int    `json:"groups"`     // groups remembered now
	Evictions  int64  `json:"evictions"`  // groups forgotten to stay within MaxGroups
	Errors     int64  `json:"errors"`     // condition evaluations that failed (counted as no match)
}

// NewEngine returns an engine for the enabled rules of rs.
func NewEngine(rs *RuleSet, opts Options) *Engine {
	if opts.MaxGroups <= 0 {
		opts.MaxGroups = DefaultMaxGroups
	}
	e := &Engine{opts: opts, rs: rs}
	for _, r := range rs.Rules {
		if !r.Enabled || r.c == nil || r.c.broken {
			continue
		}
		rt := &ruleRT{r: r, c: r.c, groups: map[string]*group{}}
		rt.stats.ID = r.ID
		switch r.Kind {
		case KindAbsence:
			rt.window = int64(r.Period)
		default:
			rt.window = int64(r.Window)
		}
		e.rules = append(e.rules, rt)
	}
	e.memo = make([]map[string]bool, rs.nconds)
	e.buildIndex()
	return e
}

func (e *Engine) buildIndex() {
	e.words = (len(e.rules) + 63) / 64
	e.always = make([]uint64, e.words)
	e.cand = make([]uint64, e.words)
	byField := map[*fieldInfo]*fieldIx{}
	for i, rt := range e.rules {
		var keys []key
		always := false
		for _, p := range rt.c.steps {
			ks, ok := predKeys(p)
			if !ok {
				always = true
				break
			}
			keys = append(keys, ks...)
		}
		if always {
			e.always[i/64] |= 1 << (i % 64)
			continue
		}
		for _, k := range keys {
			fx := byField[k.f]
			if fx == nil {
				fx = &fieldIx{f: k.f, eq: map[string][]uint64{}}
				byField[k.f] = fx
				e.fields = append(e.fields, fx)
			}
			var bs []uint64
			if k.prefix {
				for j := range fx.prefix {
					if fx.prefix[j].p == k.v {
						bs = fx.prefix[j].bits
					}
				}
				if bs == nil {
					bs = make([]uint64, e.words)
					fx.prefix = append(fx.prefix, prefixKey{p: k.v, bits: bs})
				}
			} else {
				bs = fx.eq[k.v]
				if bs == nil {
					bs = make([]uint64, e.words)
					fx.eq[k.v] = bs
				}
			}
			bs[i/64] |= 1 << (i % 64)
		}
	}
	// A fixed order makes evaluation order (and so alert order) stable.
	sort.Slice(e.fields, func(i, j int) bool { return e.fields[i].f.name < e.fields[j].f.name })
}

// candidates returns the rules whose index keys the event has.
func (e *Engine) candidates(ev *event.Event) []uint64 {
	c := e.cand
	copy(c, e.always)
	for _, fx := range e.fields {
		if fx.f.kind == kindStrings {
			for _, v := range fx.f.strs(ev) {
				fx.mark(c, v)
			}
		} else {
			fx.mark(c, fx.f.str(ev))
		}
	}
	return c
}

func (fx *fieldIx) mark(c []uint64, v string) {
	if bs, ok := fx.eq[v]; ok {
		for i := range c {
			c[i] |= bs[i]
		}
	}
	for _, p := range fx.prefix {
		if strings.HasPrefix(v, p.p) {
			for i := range c {
				c[i] |= p.bits[i]
			}
		}
	}
}

// Process runs the event through the rules and returns the alerts it
// created or updated (nil if none), including absence alerts that became
// due as the clock moved to the event's time.
func (e *Engine) Process(ev *event.Event) []*event.Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := ev.Time.UnixNano()
	if ev.Time.IsZero() {
		t = e.clock
	}
	if t > e.clock {
		e.clock = t
	}
	e.out = e.out[:0]
	// Clock-driven work first: a group that went quiet for an absence
	// rule's period must be reported before this event ends its silence.
	e.tick()
	cand := e.candidates(ev)
	for w, word := range cand {
		for word != 0 {
			i := w*64 + bits.TrailingZeros64(word)
			word &= word - 1
			e.processRule(e.rules[i], ev, t)
		}
	}
	return e.result()
}

// Advance moves the clock to now (if later than the latest event) and
// returns the alerts that became due: absence rules fire when a group has
// been quiet for their period. A live daemon calls it periodically with
// the wall clock, so that a source that stops entirely is noticed; a
// replay need not call it.
func (e *Engine) Advance(now time.Time) []*event.Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t := now.UnixNano(); t > e.clock {
		e.clock = t
	}
	e.out = e.out[:0]
	e.tick()
	return e.result()
}

// Clock returns the engine's current time: the latest event time seen or
// given to Advance.
func (e *Engine) Clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.clock == 0 {
		return time.Time{}
	}
	return time.Unix(0, e.clock).UTC()
}

func (e *Engine) result() []*event.Alert {
	if len(e.out) == 0 {
		return nil
	}
	return slices.Clone(e.out)
}

func (e *Engine) processRule(rt *ruleRT, ev *event.Event, t int64) {
	rt.stats.Candidates++
	var m [2]bool
	matched := false
	for i, p := range rt.c.steps {
		m[i] = e.holds(p, ev, rt)
		matched = matched || m[i]
	}
	if !matched {
		return
	}
	for i := range rt.c.exceptions {
		if rt.c.exceptions[i].matches(ev) {
			rt.stats.Excepted++
			return
		}
	}
	rt.stats.Matched++
	var a *event.Alert
	switch rt.r.Kind {
	case KindMatch:
		a = e.match(rt, ev, t)
	case KindCount:
		if rt.c.sum != nil {
			a = e.sum(rt, ev, t)
		} else {
			a = e.count(rt, ev, t)
		}
	case KindDistinct:
		a = e.distinct(rt, ev, t)
	case KindSequence:
		a = e.sequence(rt, ev, t, m[0], m[1])
	case KindAbsence:
		e.absence(rt, ev, t)
	case KindFirstSeen:
		a = e.firstSeen(rt, ev, t)
	}
	if a != nil {
		e.out = append(e.out, a)
	}
}

// holds reports whether every condition of a predicate holds.
func (e *Engine) holds(p []*cond, ev *event.Event, rt *ruleRT) bool {
	for _, c := range p {
		if !e.eval(c, ev, rt) {
			return false
		}
	}
	return true
}

func (e *Engine) eval(c *cond, ev *event.Event, rt *ruleRT) bool {
	if e.plain {
		return e.run(c, ev, rt)
	}
	if c.test != nil && !c.test.eval(ev) {
		return false
	}
	if c.exact {
		return true
	}
	if c.memo == nil {
		return e.run(c, ev, rt)
	}
	b := e.buf[:0]
	for i, f := range c.memo {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, f.str(ev)...)
	}
	e.buf = b
	m := e.memo[c.id]
	if r, ok := m[string(b)]; ok {
		return r
	}
	r := e.run(c, ev, rt)
	if m == nil {
		m = map[string]bool{}
		e.memo[c.id] = m
	} else if len(m) >= memoCap {
		clear(m)
	}
	m[string(b)] = r
	return r
}

func (e *Engine) run(c *cond, ev *event.Event, rt *ruleRT) bool {
	out, err := e.vm.Run(c.prog, ev)
	if err != nil {
		rt.stats.Errors++
		return false
	}
	b, _ := out.(bool)
	return b
}

// group finds or creates the event's group and marks it most recent.
func (e *Engine) group(rt *ruleRT, ev *event.Event, t int64) *group {
	b := e.buf[:0]
	for i, get := range rt.c.groupBy {
		if i > 0 {
			b = append(b, 0x1f)
		}
		b = append(b, get(ev)...)
	}
	e.buf = b
	g := rt.last
	if g == nil || g.key != string(b) {
		g = rt.groups[string(b)]
	}
	if g == nil {
		g = &group{key: string(b)}
		if len(rt.c.groupBy) > 0 {
			g.Values = make([]string, len(rt.c.groupBy))
			for i, get := range rt.c.groupBy {
				g.Values[i] = get(ev)
			}
		}
		rt.groups[g.key] = g
		rt.pushFront(g)
		if len(rt.groups) > e.opts.MaxGroups {
			rt.remove(rt.tail)
			rt.stats.Evictions++
		}
	} else if rt.head != g {
		rt.unlink(g)
		rt.pushFront(g)
	}
	if t > g.Touched {
		g.Touched = t
	}
	rt.last = g
	return g
}

func (rt *ruleRT) pushFront(g *group) {
	g.prev, g.next = nil, rt.head
	if rt.head != nil {
		rt.head.prev = g
	}
	rt.head = g
	if rt.tail == nil {
		rt.tail = g
	}
}

func (rt *ruleRT) unlink(g *group) {
	if g.prev != nil {
		g.prev.next = g.next
	} else {
		rt.head = g.next
	}
	if g.next != nil {
		g.next.prev = g.prev
	} else {
		rt.tail = g.prev
	}
	g.prev, g.next = nil, nil
}

func (rt *ruleRT) remove(g *group) {
	rt.unlink(g)
	delete(rt.groups, g.key)
	if rt.last == g {
		rt.last = nil
	}
}

// tick does what depends on the clock alone: absence checks, and now and
// then dropping groups whose windows have expired.
func (e *Engine) tick() {
	for _, rt := range e.rules {
		if rt.r.Kind == KindAbsence && rt.nextDue != 0 && e.clock >= rt.nextDue {
			e.absenceDue(rt)
		}
	}
	if e.clock < e.nextTick {
		return
	}
	e.nextTick = e.clock + sweepEvery
	for _, rt := range e.rules {
		switch rt.r.Kind {
		case KindAbsence, KindFirstSeen:
			continue // baselines: bounded by MaxGroups only
		}
		// The list is in update order, close to time order: stop at the
		// first group still in its window.
		for g := rt.tail; g != nil && g.Touched+rt.window < e.clock; g = rt.tail {
			rt.remove(g)
		}
	}
}

// Alerts returns the open alerts (those later events may still update),
// or with Options.KeepAlerts every alert raised, ordered by first time,
// rule id and id. The alerts are the engine's own; see Engine.
func (e *Engine) Alerts() []*event.Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*event.Alert
	if e.opts.KeepAlerts {
		out = slices.Clone(e.kept)
	} else {
		for _, rt := range e.rules {
			for g := rt.head; g != nil; g = g.next {
				if g.Alert != nil && e.open(rt, g) {
					out = append(out, g.Alert)
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.FirstTime.Equal(b.FirstTime) {
			return a.FirstTime.Before(b.FirstTime)
		}
		if a.RuleID != b.RuleID {
			return a.RuleID < b.RuleID
		}
		return a.ID < b.ID
	})
	return out
}

// Stats returns per-rule counters, in rule order.
func (e *Engine) Stats() []RuleStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]RuleStats, len(e.rules))
	for i, rt := range e.rules {
		out[i] = rt.stats
		out[i].Groups = len(rt.groups)
	}
	return out
}

// open reports whether a group's alert can still be updated.
func (e *Engine) open(rt *ruleRT, g *group) bool {
	switch rt.r.Kind {
	case KindMatch:
		return e.clock < g.AlertStart+rt.window
	case KindCount, KindDistinct, KindSequence:
		return e.clock-g.Alert.LastTime.UnixNano() <= rt.window
	}
	return false
}

// newAlert creates an alert of rule rt for group g. start is the start of
// the alert's window; with the rule id and the group it makes the id, so
// a replay of the same events gives the same ids.
func (e *Engine) newAlert(rt *ruleRT, g *group, start int64, extra ...string) *event.Alert {
	r := rt.r
	a := &event.Alert{
		RuleID:   r.ID,
		Title:    r.Title,
		Severity: r.Severity,
		Mitre: event.Mitre{
			Tactic:        r.Mitre.Tactic,
			TacticName:    TacticName(r.Mitre.Tactic),
			Technique:     r.Mitre.Technique,
			TechniqueName: TechniqueName(r.Mitre.Technique),
		},
		Description: r.Description,
		Impact:      r.Impact,
		Mitigation:  r.Mitigation,
		Tags:        slices.Clone(r.Tags),
	}
	if len(r.GroupBy) > 0 || len(extra) > 0 {
		a.Group = make(map[string]string, len(r.GroupBy)+len(extra)/2)
		for i, name := range r.GroupBy {
			a.Group[name] = g.Values[i]
		}
		for i := 0; i+1 < len(extra); i += 2 {
			a.Group[extra[i]] = extra[i+1]
		}
	}
	h := sha256.New()
	h.Write([]byte(r.ID))
	for _, v := range g.Values {
		h.Write([]byte{0})
		h.Write([]byte(v))
	}
	for _, v := range extra {
		h.Write([]byte{0})
		h.Write([]byte(v))
	}
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(start, 10)))
	a.ID = hex.EncodeToString(h.Sum(nil)[:16])
	setEntity(a, nil)
	rt.stats.Alerts++
	if e.opts.KeepAlerts {
		e.kept = append(e.kept, a)
	}
	return a
}

// addEvidence records ev in the alert: times, evidence (first
// evidenceHead and last evidenceTail events) and entity. Count is the
// caller's.
func addEvidence(a *event.Alert, ev *event.Event) {
	if a.FirstTime.IsZero() || ev.Time.Before(a.FirstTime) {
		a.FirstTime = ev.Time
	}
	if ev.Time.After(a.LastTime) {
		a.LastTime = ev.Time
	}
	if n := len(a.Evidence); n < evidenceHead+evidenceTail {
		a.Evidence = append(a.Evidence, *ev)
	} else {
		copy(a.Evidence[evidenceHead:], a.Evidence[evidenceHead+1:])
		a.Evidence[n-1] = *ev
	}
	setEntity(a, ev)
}

// setEntity names who and where: the group's values where it has them,
// otherwise the latest event's.
func setEntity(a *event.Alert, ev *event.Event) {
	pick := func(dst *string, field, v string) {
		if gv, ok := a.Group[field]; ok && gv != "" {
			*dst = gv
		} else if v != "" {
			*dst = v
		}
	}
	var user, client, server, db, app string
	if ev != nil {
		user, client, server, db, app = ev.User.Name, ev.Client.Address, ev.Server.Address, ev.DB.Namespace, ev.App.Name
	}
	pick(&a.Entity.User, "user.name", user)
	pick(&a.Entity.Client, "client.address", client)
	pick(&a.Entity.Server, "server.address", server)
	pick(&a.Entity.Database, "db.namespace", db)
	pick(&a.Entity.App, "app.name", app)
}

// escalate raises the alert's severity if an escalation matches the
// triggering event (the first that matches decides).
func (e *Engine) escalate(rt *ruleRT, a *event.Alert, ev *event.Event) {
	for _, x := range rt.c.escalate {
		if e.holds(x.c, ev, rt) {
			if event.SeverityRank(x.severity) > event.SeverityRank(a.Severity) {
				a.Severity = x.severity
			}
			return
		}
	}
}

// update adds a triggering event to an open alert, adding n to its count
// (1 per event, or the event's value for a count rule with `sum`).
func (e *Engine) update(rt *ruleRT, a *event.Alert, ev *event.Event, n int64) *event.Alert {
	a.Count = satAdd(a.Count, n)
	addEvidence(a, ev)
	e.escalate(rt, a, ev)
	rt.stats.Updates++
	return a
}

// CloneAlert returns a deep copy of an alert, safe to hand to another
// goroutine while the engine goes on updating the original.
func CloneAlert(a *event.Alert) *event.Alert {
	c := *a
	if a.Group != nil {
		c.Group = make(map[string]string, len(a.Group))
		for k, v := range a.Group {
			c.Group[k] = v
		}
	}
	c.Evidence = slices.Clone(a.Evidence)
	c.Tags = slices.Clone(a.Tags)
	return &c
}

func unixTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }
