package detect

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/vigildb/vigil/event"
)

// RuleInfo is one line of `vigil rules list`.
type RuleInfo struct {
	ID        string `json:"id"`
	Kind      Kind   `json:"kind"`
	Severity  string `json:"severity"`
	Tactic    string `json:"tactic,omitempty"`
	Technique string `json:"technique,omitempty"`
	Title     string `json:"title"`
	Enabled   bool   `json:"enabled"`
	Pos       string `json:"pos"`                 // file:line:column of the definition
	Overrides int    `json:"overrides,omitempty"` // later changes applied
}

// ListRules describes every rule, ordered by id (`vigil rules list`).
func (rs *RuleSet) ListRules() []RuleInfo {
	out := make([]RuleInfo, 0, len(rs.Rules))
	for _, id := range rs.sortedIDs() {
		r := rs.byID[id]
		out = append(out, RuleInfo{
			ID: r.ID, Kind: r.Kind, Severity: r.Severity, Tactic: r.Mitre.Tactic, Technique: r.Mitre.Technique,
			Title: r.Title, Enabled: r.Enabled, Pos: r.Pos.String(), Overrides: len(r.Overrides),
		})
	}
	return out
}

// Show writes one rule in full as a YAML rule entry (so it can be copied
// into a rule file), preceded by comments saying where it was defined and
// which overrides were applied, and the names of its MITRE ids.
func (rs *RuleSet) Show(w io.Writer, id string) error {
	r := rs.byID[id]
	if r == nil {
		return fmt.Errorf("no rule %q", id)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# defined at %s\n", r.Pos)
	for _, o := range r.Overrides {
		if o.Replace {
			fmt.Fprintf(&b, "# replaced at %s\n", o.Pos)
		} else {
			fmt.Fprintf(&b, "# overridden at %s: %s\n", o.Pos, strings.Join(o.Fields, ", "))
		}
	}
	if n := TacticName(r.Mitre.Tactic); n != "" {
		fmt.Fprintf(&b, "# %s: %s\n", r.Mitre.Tactic, n)
	}
	if n := TechniqueName(r.Mitre.Technique); n != "" {
		fmt.Fprintf(&b, "# %s: %s\n", r.Mitre.Technique, n)
	}
	out, err := yaml.MarshalWithOptions(r.mapSlice(),
		yaml.UseLiteralStyleIfMultiline(true), yaml.Indent(2), yaml.IndentSequence(true))
	if err != nil {
		return err
	}
	for i, line := range strings.SplitAfter(string(out), "\n") {
		switch {
		case line == "":
		case line == "\n":
			b.WriteString(line)
		case i == 0:
			b.WriteString("- " + line)
		default:
			b.WriteString("  " + line)
		}
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// mapSlice is the rule as an ordered YAML mapping, in the order of
// docs/rules.md, leaving out empty fields.
func (r *Rule) mapSlice() yaml.MapSlice {
	var m yaml.MapSlice
	add := func(k string, v any) { m = append(m, yaml.MapItem{Key: k, Value: v}) }
	str := func(k, v string) {
		if v != "" {
			add(k, v)
		}
	}
	list := func(k string, v []string) {
		if len(v) > 0 {
			add(k, v)
		}
	}
	add("rule", r.ID)
	str("title", r.Title)
	str("severity", r.Severity)
	if len(r.Escalate) > 0 {
		var xs []yaml.MapSlice
		for _, x := range r.Escalate {
			xs = append(xs, yaml.MapSlice{{Key: "if", Value: x.If}, {Key: "severity", Value: x.Severity}})
		}
		add("escalate", xs)
	}
	if r.Mitre != (Mitre{}) {
		var mm yaml.MapSlice
		if r.Mitre.Tactic != "" {
			mm = append(mm, yaml.MapItem{Key: "tactic", Value: r.Mitre.Tactic})
		}
		if r.Mitre.Technique != "" {
			mm = append(mm, yaml.MapItem{Key: "technique", Value: r.Mitre.Technique})
		}
		add("mitre", mm)
	}
	list("tags", r.Tags)
	add("kind", string(r.Kind))
	add("enabled", r.Enabled)
	str("condition", r.Condition)
	if len(r.Steps) > 0 {
		var ss []yaml.MapSlice
		for _, s := range r.Steps {
			ss = append(ss, yaml.MapSlice{{Key: "condition", Value: s.Condition}, {Key: "threshold", Value: s.Threshold}})
		}
		add("steps", ss)
	}
	list("group_by", r.GroupBy)
	switch r.Kind {
	case KindMatch, KindCount, KindDistinct, KindSequence:
		add("window", formatDuration(r.Window))
	}
	switch r.Kind {
	case KindCount, KindDistinct:
		add("threshold", r.Threshold)
	}
	str("sum", r.Sum)
	str("distinct", r.Distinct)
	if r.Kind == KindAbsence {
		add("period", formatDuration(r.Period))
	}
	if r.Kind == KindFirstSeen {
		add("field", r.Field)
		add("learn", formatDuration(r.Learn))
	}
	if len(r.Exceptions) > 0 {
		var xs []yaml.MapSlice
		for _, x := range r.Exceptions {
			var match yaml.MapSlice
			for _, f := range x.Match {
				match = append(match, yaml.MapItem{Key: f.Field, Value: f.Values})
			}
			xs = append(xs, yaml.MapSlice{{Key: "name", Value: x.Name}, {Key: "match", Value: match}})
		}
		add("exceptions", xs)
	}
	str("description", r.Description)
	str("impact", r.Impact)
	str("mitigation", r.Mitigation)
	list("references", r.References)
	return m
}

// FieldInfo describes an event field for `vigil rules fields`.
type FieldInfo struct {
	Name string `json:"name"` // dotted name, as in conditions
	Type string `json:"type"` // string, list, bool, int, time
	// Groupable: usable in group_by, distinct, field and exceptions.
	Groupable bool `json:"groupable"`
}

// Fields lists the event fields conditions can use, ordered by name.
func Fields() []FieldInfo {
	out := make([]FieldInfo, 0, len(fieldTable))
	for name, f := range fieldTable {
		_, g := event.Field(name)
		out = append(out, FieldInfo{Name: name, Type: kindNames[f.kind], Groupable: g})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
