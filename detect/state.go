package detect

import (
	"github.com/vigildb/vigil/event"
)

// GroupState is what the engine remembers about one group of one rule.
// It is plain data (times are unix nanoseconds of event time) so that the
// engine's state can be saved and restored across restarts: windows,
// open alerts and first_seen baselines must survive them.
//
// Which fields are used depends on the rule's kind.
type GroupState struct {
	Values  []string `json:"values,omitempty"` // the group_by values, in group_by order
	Touched int64    `json:"touched"`          // latest event time that updated the group

	// count, sequence (step 1): times of matching events still in the
	// window, ascending, at most threshold+1 of them (enough to decide
	// "more than threshold").
	Times []int64 `json:"times,omitempty"`
	// sequence: times of step 2 events in the window.
	Times2 []int64 `json:"times2,omitempty"`
	// count with `sum`: the events still in the window as (time, value)
	// pairs, ascending by time, and the total of their values. At most
	// maxSumPoints pairs: past that, pairs close in time are merged (see
	// compactSums).
	Sums []SumPoint `json:"sums,omitempty"`
	Sum  int64      `json:"sum,omitempty"`
	// count, distinct, sequence: the latest matching events, the evidence
	// of the alert to come.
	Recent  []*event.Event `json:"recent,omitempty"`
	Recent2 []*event.Event `json:"recent2,omitempty"`
	// distinct: value -> latest time seen in the window.
	Distinct map[string]int64 `json:"distinct,omitempty"`

	// The group's open alert (match, count, distinct, sequence) and the
	// start of its window.
	Alert      *event.Alert `json:"alert,omitempty"`
	AlertStart int64        `json:"alert_start,omitempty"`
	// distinct: the values the open alert has counted.
	AlertValues map[string]struct{} `json:"alert_values,omitempty"`

	// first_seen: the values seen in this group.
	Seen map[string]struct{} `json:"seen,omitempty"`

	// absence: the latest event and whether the current silence was
	// reported, and the engine's clock when it was (FiredAt).
	Last      int64        `json:"last,omitempty"`
	LastEvent *event.Event `json:"last_event,omitempty"`
	Fired     bool         `json:"fired,omitempty"`
	FiredAt   int64        `json:"fired_at,omitempty"`
}

// SumPoint is one entry of a sum window: the value of the summed field
// of one event, or the total of several merged events, and the time of the
// (latest) event.
type SumPoint struct {
	Time  int64 `json:"t"`
	Value int64 `json:"v"`
}

// closeAlert forgets the group's alert and the window state that led to it.
func (g *GroupState) closeAlert() {
	g.Alert, g.AlertStart, g.AlertValues = nil, 0, nil
	g.Times, g.Times2, g.Recent, g.Recent2, g.Distinct = nil, nil, nil, nil, nil
	g.Sums, g.Sum = nil, 0
}

// StateVersion is the version of the State format.
const StateVersion = 1

// State is everything an Engine remembers, as plain data: the clock, and
// per rule its groups (least recently updated first) and learning start.
// Saved with SaveState and given back to LoadState after a restart, it
// lets windows, open alerts and first_seen baselines carry over.
type State struct {
	Version int                   `json:"version"`
	Clock   int64                 `json:"clock"` // unix ns
	Rules   map[string]*RuleState `json:"rules"`
}

// RuleState is one rule's part of State.
type RuleState struct {
	Kind       Kind          `json:"kind"`
	Sum        string        `json:"sum,omitempty"` // count: the field summed, if any
	LearnStart int64         `json:"learn_start,omitempty"`
	Groups     []*GroupState `json:"groups"`
}
