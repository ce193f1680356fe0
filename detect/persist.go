package detect

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// SaveState writes the engine's state as JSON (see State). Alerts kept
// for Options.KeepAlerts and the statistics are not part of it.
func (e *Engine) SaveState(w io.Writer) error {
	e.mu.Lock()
	st := State{Version: StateVersion, Clock: e.clock, Rules: map[string]*RuleState{}}
	for _, rt := range e.rules {
		rs := &RuleState{Kind: rt.r.Kind, Sum: rt.r.Sum, LearnStart: rt.learnStart}
		for g := rt.tail; g != nil; g = g.prev {
			rs.Groups = append(rs.Groups, &g.GroupState)
		}
		st.Rules[rt.r.ID] = rs
	}
	// Encode under the lock: the groups are the engine's own.
	err := json.NewEncoder(w).Encode(&st)
	e.mu.Unlock()
	return err
}

// LoadState replaces the engine's state with one written by SaveState,
// typically by an engine of an earlier run. State of rules that no longer
// exist, or whose kind (or the field a count rule sums) changed, is
// dropped; so are groups past the current MaxGroups. Call it before the
// first Process.
func (e *Engine) LoadState(r io.Reader) error {
	var st State
	if err := json.NewDecoder(r).Decode(&st); err != nil {
		return fmt.Errorf("detect state: %w", err)
	}
	if st.Version != StateVersion {
		return fmt.Errorf("detect state: version %d, want %d", st.Version, StateVersion)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clock = st.Clock
	e.nextTick = 0
	for _, rt := range e.rules {
		rt.groups = map[string]*group{}
		rt.head, rt.tail, rt.last = nil, nil, nil
		rt.learnStart, rt.nextDue = 0, 0
		rs := st.Rules[rt.r.ID]
		if rs == nil || rs.Kind != rt.r.Kind || rs.Sum != rt.r.Sum {
			continue
		}
		rt.learnStart = rs.LearnStart
		for _, gs := range rs.Groups {
			if gs == nil || len(gs.Values) != len(rt.r.GroupBy) {
				continue // group_by changed
			}
			g := &group{GroupState: *gs, key: strings.Join(gs.Values, "\x1f")}
			if old := rt.groups[g.key]; old != nil {
				rt.remove(old)
			}
			rt.groups[g.key] = g
			rt.pushFront(g)
			if len(rt.groups) > e.opts.MaxGroups {
				rt.remove(rt.tail)
			}
			if rt.r.Kind == KindAbsence && !g.Fired {
				if due := g.Last + rt.window; rt.nextDue == 0 || due < rt.nextDue {
					rt.nextDue = due
				}
			}
		}
	}
	return nil
}
