package detect

import (
	"math"

	"github.com/vigildb/vigil/event"
)

// The per-kind logic. Every function gets an event that met the rule's
// condition and none of its exceptions, at time t (unix ns); the engine
// clock e.clock is at least t unless the event is late.
//
// Windows are (clock-window, clock]: an event exactly one window older
// than the clock no longer counts.

// match: every matching event; the first opens an alert for its group,
// later ones within `window` of the first update it.
func (e *Engine) match(rt *ruleRT, ev *event.Event, t int64) *event.Alert {
	g := e.group(rt, ev, t)
	if g.Alert != nil && e.clock >= g.AlertStart+rt.window {
		g.closeAlert()
	}
	if g.Alert != nil {
		return e.update(rt, g.Alert, ev, 1)
	}
	a := e.newAlert(rt, g, t)
	a.Count = 1
	addEvidence(a, ev)
	e.escalate(rt, a, ev)
	g.Alert, g.AlertStart = a, t
	return a
}

// count: more than threshold matching events of a group in the window.
// The alert then stays open, counting every further event, until the
// group has been quiet for a whole window.
func (e *Engine) count(rt *ruleRT, ev *event.Event, t int64) *event.Alert {
	g := e.group(rt, ev, t)
	if g.Alert != nil {
		if e.open(rt, g) {
			return e.update(rt, g.Alert, ev, 1)
		}
		g.closeAlert()
	}
	cutoff := e.clock - rt.window
	if t <= cutoff {
		return nil // too late to count
	}
	thr := rt.r.Threshold
	g.Times = insertTime(expireTimes(g.Times, cutoff), t, thr+1)
	g.Recent = pushRecent(expireRecent(g.Recent, cutoff), ev, min(thr+1, evidenceHead+evidenceTail))
	if len(g.Times) <= thr {
		return nil
	}
	a := e.fire(rt, g, g.Times[0], ev, g.Recent)
	a.Count = int64(len(g.Times))
	g.Times, g.Recent = nil, nil
	return a
}

// sum: a count rule with `sum`: the sum of an integer field over a
// group's matching events in the window is more than threshold. An event
// whose field is 0 (unknown) or negative adds nothing and is ignored. The
// alert's count is the sum; it stays open like a count alert, each further
// event adding its value.
func (e *Engine) sum(rt *ruleRT, ev *event.Event, t int64) *event.Alert {
	v := rt.c.sum.integer(ev)
	if v <= 0 {
		return nil
	}
	g := e.group(rt, ev, t)
	if g.Alert != nil {
		if e.open(rt, g) {
			return e.update(rt, g.Alert, ev, v)
		}
		g.closeAlert()
	}
	cutoff := e.clock - rt.window
	if t <= cutoff {
		return nil // too late to count
	}
	g.Sums, g.Sum = expireSums(g.Sums, g.Sum, cutoff)
	g.Sums, g.Sum = insertSum(g.Sums, g.Sum, t, v, rt.window)
	g.Recent = pushRecent(expireRecent(g.Recent, cutoff), ev, evidenceHead+evidenceTail)
	if g.Sum <= int64(rt.r.Threshold) {
		return nil
	}
	a := e.fire(rt, g, g.Sums[0].Time, ev, g.Recent)
	a.Count = g.Sum
	g.Sums, g.Sum, g.Recent = nil, 0, nil
	return a
}

// distinct: threshold distinct values of a field in a group's window.
// The alert's count is the number of distinct values; it stays open like
// a count alert.
func (e *Engine) distinct(rt *ruleRT, ev *event.Event, t int64) *event.Alert {
	v := rt.c.value(ev)
	if v == "" {
		return nil // unknown value: nothing to count
	}
	g := e.group(rt, ev, t)
	if g.Alert != nil {
		if e.open(rt, g) {
			a := g.Alert
			if _, seen := g.AlertValues[v]; !seen && len(g.AlertValues) < maxAlertValues {
				g.AlertValues[v] = struct{}{}
			}
			addEvidence(a, ev)
			e.escalate(rt, a, ev)
			a.Count = int64(len(g.AlertValues))
			rt.stats.Updates++
			return a
		}
		g.closeAlert()
	}
	cutoff := e.clock - rt.window
	if t <= cutoff {
		return nil
	}
	if g.Distinct == nil {
		g.Distinct = map[string]int64{}
	}
	if prev, ok := g.Distinct[v]; !ok || t > prev {
		g.Distinct[v] = t
	}
	start := t
	for k, lt := range g.Distinct {
		if lt <= cutoff {
			delete(g.Distinct, k)
		} else if lt < start {
			start = lt
		}
	}
	g.Recent = pushRecent(expireRecent(g.Recent, cutoff), ev, evidenceHead+evidenceTail)
	if len(g.Distinct) < rt.r.Threshold {
		return nil
	}
	a := e.fire(rt, g, start, ev, g.Recent)
	g.AlertValues = make(map[string]struct{}, len(g.Distinct))
	for k := range g.Distinct {
		g.AlertValues[k] = struct{}{}
	}
	a.Count = int64(len(g.AlertValues))
	g.Distinct, g.Recent = nil, nil
	return a
}

// sequence: a step 2 event in a group where, within the window, step 1
// matched more than its threshold times and step 2 more than its own
// (0 by default: the step 2 event itself). The alert then stays open and
// counts further events of either step until the group is quiet for a
// window.
func (e *Engine) sequence(rt *ruleRT, ev *event.Event, t int64, step1, step2 bool) *event.Alert {
	g := e.group(rt, ev, t)
	if g.Alert != nil {
		if e.open(rt, g) {
			return e.update(rt, g.Alert, ev, 1)
		}
		g.closeAlert()
	}
	cutoff := e.clock - rt.window
	if t <= cutoff {
		return nil
	}
	thr1, thr2 := rt.r.Steps[0].Threshold, rt.r.Steps[1].Threshold
	g.Times = expireTimes(g.Times, cutoff)
	g.Recent = expireRecent(g.Recent, cutoff)
	if step2 {
		g.Times2 = insertTime(expireTimes(g.Times2, cutoff), t, thr2+1)
		g.Recent2 = pushRecent(expireRecent(g.Recent2, cutoff), ev, min(thr2+1, evidenceTail))
		if len(g.Times) > thr1 && len(g.Times2) > thr2 {
			evidence := append(append([]*event.Event(nil), g.Recent...), g.Recent2...)
			a := e.fire(rt, g, g.Times[0], ev, evidence)
			a.Count = int64(len(g.Times) + len(g.Times2))
			g.Times, g.Times2, g.Recent, g.Recent2 = nil, nil, nil, nil
			return a
		}
	}
	if step1 {
		g.Times = insertTime(g.Times, t, thr1+1)
		g.Recent = pushRecent(g.Recent, ev, min(thr1+1, evidenceHead+evidenceTail))
	}
	return nil
}

// absence: remember when each group was last heard from; absenceDue
// reports the quiet ones.
func (e *Engine) absence(rt *ruleRT, ev *event.Event, t int64) {
	g := e.group(rt, ev, t)
	if t >= g.Last {
		g.Last, g.LastEvent = t, ev
		// An event from before the silence was reported (a backlog read
		// after the clock moved on: a daemon catching up after downtime)
		// does not end that silence; one from after it does.
		if g.Fired && t >= g.FiredAt {
			g.Fired = false
		}
	}
	if due := g.Last + rt.window; rt.nextDue == 0 || due < rt.nextDue {
		rt.nextDue = due
	}
}

// absenceDue raises an alert for every group quiet for at least the
// period, once per silence. Its first_time is the last event heard, its
// last_time the moment the silence reached the period, its count 0.
func (e *Engine) absenceDue(rt *ruleRT) {
	next := int64(0)
	for g := rt.tail; g != nil; g = g.prev {
		if g.Fired {
			continue
		}
		due := g.Last + rt.window
		if e.clock < due {
			if next == 0 || due < next {
				next = due
			}
			continue
		}
		g.Fired, g.FiredAt = true, e.clock
		a := e.newAlert(rt, g, g.Last)
		if g.LastEvent != nil {
			addEvidence(a, g.LastEvent)
		}
		a.FirstTime, a.LastTime = unixTime(g.Last), unixTime(due)
		e.out = append(e.out, a)
	}
	rt.nextDue = next
}

// firstSeen: a value of the rule's field not seen in the group before,
// once the learning period is over. Learning starts at the first event the
// rule sees and lasts `learn`, or ends at Options.LearnUntil.
func (e *Engine) firstSeen(rt *ruleRT, ev *event.Event, t int64) *event.Alert {
	v := rt.c.value(ev)
	if v == "" {
		return nil
	}
	if rt.learnStart == 0 {
		rt.learnStart = t
	}
	end := rt.learnStart + int64(rt.r.Learn)
	if !e.opts.LearnUntil.IsZero() {
		end = e.opts.LearnUntil.UnixNano()
	}
	g := e.group(rt, ev, t)
	if _, seen := g.Seen[v]; seen {
		return nil
	}
	if g.Seen == nil {
		g.Seen = map[string]struct{}{}
	}
	if len(g.Seen) >= maxSeen {
		for k := range g.Seen {
			delete(g.Seen, k)
			break
		}
	}
	g.Seen[v] = struct{}{}
	if t < end {
		return nil
	}
	a := e.newAlert(rt, g, t, rt.r.Field, v)
	a.Count = 1
	addEvidence(a, ev)
	e.escalate(rt, a, ev)
	return a
}

// fire opens an alert for a window kind: evidence is what the group held,
// trigger the event that crossed the threshold.
func (e *Engine) fire(rt *ruleRT, g *group, start int64, trigger *event.Event, evidence []*event.Event) *event.Alert {
	a := e.newAlert(rt, g, start)
	for _, ev := range evidence {
		addEvidence(a, ev)
	}
	a.FirstTime = unixTime(start)
	e.escalate(rt, a, trigger)
	g.Alert, g.AlertStart = a, start
	return a
}

// insertTime adds t to the ascending times ts and keeps the newest max.
func insertTime(ts []int64, t int64, max int) []int64 {
	i := len(ts)
	for i > 0 && ts[i-1] > t {
		i--
	}
	ts = append(ts, 0)
	copy(ts[i+1:], ts[i:])
	ts[i] = t
	if len(ts) > max {
		ts = ts[len(ts)-max:]
	}
	return ts
}

// maxSumPoints bounds the (time, value) pairs a sum window keeps per
// group. Past it, compactSums merges pairs in the same slice of time.
const maxSumPoints = 4096

// insertSum adds value v at time t to the ascending pairs ps, whose values
// total total, and returns both updated. A group with more than
// maxSumPoints events in the window has its pairs merged by compactSums.
func insertSum(ps []SumPoint, total, t, v, window int64) ([]SumPoint, int64) {
	total = satAdd(total, v)
	i := len(ps)
	for i > 0 && ps[i-1].Time > t {
		i--
	}
	if i > 0 && ps[i-1].Time == t {
		ps[i-1].Value = satAdd(ps[i-1].Value, v)
		return ps, total
	}
	ps = append(ps, SumPoint{})
	copy(ps[i+1:], ps[i:])
	ps[i] = SumPoint{Time: t, Value: v}
	if len(ps) > maxSumPoints {
		ps = compactSums(ps, window)
	}
	return ps, total
}

// compactSums merges adjacent pairs that fall in the same slice of time
// of width window/(maxSumPoints/2) (doubling the width until at most 3/4
// of maxSumPoints pairs remain, which the first pass already gives for
// pairs within one window). A merged pair has the total of the values and
// the time of its latest event, so its older events count until that one
// leaves the window: up to one slice (window/2048) too long. The sum thus
// errs, only for groups this busy and only at the old end of the window,
// towards counting a little more, never less.
func compactSums(ps []SumPoint, window int64) []SumPoint {
	q := max(window/(maxSumPoints/2), 1)
	for len(ps) > maxSumPoints*3/4 {
		out := ps[:1]
		for _, p := range ps[1:] {
			if last := &out[len(out)-1]; floorDiv(p.Time, q) == floorDiv(last.Time, q) {
				last.Value = satAdd(last.Value, p.Value)
				last.Time = p.Time
				continue
			}
			out = append(out, p)
		}
		ps = out
		q *= 2
	}
	return ps
}

// expireSums drops the pairs at or before cutoff and their values from
// the total.
func expireSums(ps []SumPoint, total, cutoff int64) ([]SumPoint, int64) {
	i := 0
	for i < len(ps) && ps[i].Time <= cutoff {
		total -= ps[i].Value
		i++
	}
	if i == len(ps) {
		return ps[:0], 0
	}
	return ps[i:], total
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// satAdd adds a non-negative b to a, stopping at the largest int64.
func satAdd(a, b int64) int64 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxInt64
}

// expireTimes drops times at or before cutoff.
func expireTimes(ts []int64, cutoff int64) []int64 {
	i := 0
	for i < len(ts) && ts[i] <= cutoff {
		i++
	}
	if i == len(ts) {
		return ts[:0]
	}
	return ts[i:]
}

func pushRecent(rs []*event.Event, ev *event.Event, max int) []*event.Event {
	rs = append(rs, ev)
	if len(rs) > max {
		copy(rs, rs[len(rs)-max:])
		clear(rs[max:])
		rs = rs[:max]
	}
	return rs
}

func expireRecent(rs []*event.Event, cutoff int64) []*event.Event {
	i := 0
	for i < len(rs) && rs[i].Time.UnixNano() <= cutoff {
		i++
	}
	if i == 0 {
		return rs
	}
	n := copy(rs, rs[i:])
	clear(rs[n:])
	return rs[:n]
}
