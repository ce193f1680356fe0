package detect

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Kind is how a rule turns matching events into alerts.
type Kind string

// Rule kinds; see docs/rules.md.
const (
	KindMatch     Kind = "match"      // every matching event; one alert per group per window
	KindCount     Kind = "count"      // more than threshold matching events (or, with sum, more than threshold of a field's sum) in a sliding window
	KindDistinct  Kind = "distinct"   // threshold distinct values of a field in a sliding window
	KindSequence  Kind = "sequence"   // step 2 in a group where step 1 exceeded its threshold
	KindAbsence   Kind = "absence"    // a group that has gone quiet for period
	KindFirstSeen Kind = "first_seen" // a value not seen in the group during learning
)

var kinds = map[Kind]bool{KindMatch: true, KindCount: true, KindDistinct: true, KindSequence: true, KindAbsence: true, KindFirstSeen: true}

// DefaultMatchWindow is the de-duplication window of match rules that do
// not set one.
const DefaultMatchWindow = 10 * time.Minute

// DefaultLearn is the learning period of first_seen rules that do not set one.
const DefaultLearn = 7 * 24 * time.Hour

// Rule is one detection after every source has been applied: the built-in
// definition with the user's overrides merged in. The exported fields are
// what the rule file said (durations parsed, lists not expanded); Pos and
// Overrides say where it came from, for `vigil rules show`.
type Rule struct {
	ID          string        `json:"id"`
	Title       string        `json:"title"`
	Severity    string        `json:"severity"`
	Mitre       Mitre         `json:"mitre"`
	Kind        Kind          `json:"kind"`
	Enabled     bool          `json:"enabled"`
	Condition   string        `json:"condition,omitempty"`
	GroupBy     []string      `json:"group_by,omitempty"`
	Window      time.Duration `json:"window,omitempty"`
	Threshold   int           `json:"threshold,omitempty"`
	Sum         string        `json:"sum,omitempty"` // count: an integer field whose sum is compared with threshold
	Distinct    string        `json:"distinct,omitempty"`
	Steps       []Step        `json:"steps,omitempty"`
	Period      time.Duration `json:"period,omitempty"`
	Field       string        `json:"field,omitempty"`
	Learn       time.Duration `json:"learn,omitempty"`
	Escalate    []Escalation  `json:"escalate,omitempty"`
	Exceptions  []Exception   `json:"exceptions,omitempty"`
	Description string        `json:"description,omitempty"`
	Impact      string        `json:"impact,omitempty"`
	Mitigation  string        `json:"mitigation,omitempty"`
	References  []string      `json:"references,omitempty"`
	Tags        []string      `json:"tags,omitempty"`

	Pos       Pos        `json:"pos"`                 // where the rule was (last fully) defined
	Overrides []Override `json:"overrides,omitempty"` // later changes, in order

	fieldPos map[string]Pos // where each field's current value was written
	cond     text           // Condition with its position in the file
	c        *compiled      // nil until compiled
}

// Mitre is the ATT&CK tactic and technique of a rule (ids only; names
// come from the table in mitre.go).
type Mitre struct {
	Tactic    string `json:"tactic,omitempty"`
	Technique string `json:"technique,omitempty"`
}

// Step is one step of a sequence rule.
type Step struct {
	Condition string `json:"condition"`
	Threshold int    `json:"threshold,omitempty"`
	cond      text
}

// Escalation raises an alert's severity when its condition matches the
// event that created or updated the alert.
type Escalation struct {
	If       string `json:"if"`
	Severity string `json:"severity"`
	cond     text
	pos      Pos // of the severity value
}

// Exception silences the events it matches: every field listed must match
// (one of its values). See docs/rules.md for value syntax.
type Exception struct {
	Name  string           `json:"name"`
	Match []ExceptionField `json:"match"`
	Pos   Pos              `json:"pos"`
}

// ExceptionField is one field of an exception and the values it accepts,
// as written ("@list" not yet expanded).
type ExceptionField struct {
	Field  string   `json:"field"`
	Values []string `json:"values"`
	pos    Pos      // of the field name
	vpos   []Pos    // of each value
}

// Override records where a later file changed a rule: Replace for a full
// redefinition, otherwise the fields an `override: true` entry set.
type Override struct {
	Pos     Pos      `json:"pos"`
	Replace bool     `json:"replace,omitempty"`
	Fields  []string `json:"fields,omitempty"`
}

// List is a named list of strings, used by bare name in conditions and as
// "@name" in exception values.
type List struct {
	Name    string   `json:"name"`
	Items   []string `json:"items"`
	Pos     Pos      `json:"pos"`
	Appends []Pos    `json:"appends,omitempty"` // later `append: true` entries
}

// text is a condition string and how to map an offset in it back to the
// rule file: one segment per source line the scalar spans.
type text struct {
	s       string
	pos     Pos // start of the YAML value
	segs    []segment
	comment bool // a YAML comment follows the value on its last line
}

type segment struct {
	line, col int // 1-based start of the segment's first character
	runes     int // length of the segment in runes
}

// at maps a rune offset in t.s to a file position. Segments are joined by
// one character in the value (a newline in literal blocks, a space in
// folded and multi-line flow scalars).
func (t text) at(off int) Pos {
	p := t.pos
	if len(t.segs) == 0 {
		p.Column += off
		return p
	}
	for i, s := range t.segs {
		if off <= s.runes || i == len(t.segs)-1 {
			p.Line, p.Column = s.line, s.col+off
			return p
		}
		off -= s.runes + 1
	}
	return p
}

var (
	idRE        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]*$`)
	tacticRE    = regexp.MustCompile(`^TA[0-9]{4}$`)
	techniqueRE = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
	listNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// parseDuration reads a Go duration with an optional leading day count:
// "10m", "4h", "7d", "1d12h".
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err == nil {
			d = time.Duration(n) * 24 * time.Hour
			s = s[i+1:]
		}
	}
	if s != "" {
		r, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q: want e.g. 90s, 10m, 4h, 7d", s)
		}
		d += r
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration must be positive")
	}
	return d, nil
}

// formatDuration prints a duration the way rule files write it.
func formatDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
