package detect

import (
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/vigildb/vigil/event"
)

// RuleSet is the result of loading: every rule (enabled or not) in the
// order of first definition, and the named lists after all appends. It is
// read-only once loaded and may be shared by several engines.
type RuleSet struct {
	Rules []*Rule
	Lists []*List
	Files []string // rule files read, in order

	byID   map[string]*Rule
	lists  map[string]*List
	warned Errors // warnings found while loading, for Lint
	nconds int    // conditions compiled; cond.id is below it
}

// numberConds gives every compiled condition an id, which engines use to
// index per-condition state (memos) without touching the shared RuleSet.
func (rs *RuleSet) numberConds() {
	seen := map[*cond]bool{}
	number := func(p []*cond) {
		for _, c := range p {
			if c != nil && !seen[c] {
				seen[c] = true
				c.id = rs.nconds
				rs.nconds++
			}
		}
	}
	for _, r := range rs.Rules {
		if r.c == nil || r.c.broken {
			continue
		}
		for _, p := range r.c.steps {
			number(p)
		}
		for _, x := range r.c.escalate {
			number(x.c)
		}
	}
}

// Rule returns the rule with this id, or nil.
func (rs *RuleSet) Rule(id string) *Rule { return rs.byID[id] }

// List returns the named list, or nil.
func (rs *RuleSet) List(name string) *List { return rs.lists[name] }

// Load reads the sources in order (typically the embedded built-in pack,
// then the user's files and directories) and returns the merged, checked
// and compiled rule set. Later sources extend earlier ones:
//
//   - a rule with a new id adds a rule;
//   - a rule with `override: true` changes only the fields it sets on the
//     earlier rule with that id (exceptions are appended);
//   - a rule with an existing id and no override replaces the earlier rule
//     (only across sources: within one source a duplicate id is an error);
//   - a list with `append: true` extends the earlier list, otherwise it
//     replaces it (again, a duplicate within one source is an error).
//
// Conditions are compiled after every source is read, so an appended list
// changes the built-in rules that use it.
//
// On failure the error is an Errors value listing every problem found,
// each with file:line:column.
func Load(sources ...Source) (*RuleSet, error) {
	rs, errs := load(sources)
	if len(errs) > 0 {
		return nil, errs
	}
	return rs, nil
}

// Lint loads the sources like Load and returns every problem found:
// errors, then warnings (MITRE ids missing from Vigil's table, conditions
// that cannot be indexed and so are evaluated for every event). The rule
// set is nil when there is any error.
//
// For `vigil rules lint FILE`: Lint(builtinSource, PathSource(FILE)).
func Lint(sources ...Source) (*RuleSet, Errors) {
	rs, errs := load(sources)
	if len(errs) > 0 {
		return nil, errs
	}
	return rs, rs.warned
}

type loader struct {
	errs      Errors
	warns     Errors
	rules     []*Rule
	byID      map[string]*Rule
	ruleSrc   map[string]int // source index of the rule's full definition
	lists     []*List
	listByKey map[string]*List
	listSrc   map[string]int
	files     []string
	fileOrder map[string]int
}

func load(sources []Source) (*RuleSet, Errors) {
	l := &loader{
		byID:      map[string]*Rule{},
		ruleSrc:   map[string]int{},
		listByKey: map[string]*List{},
		listSrc:   map[string]int{},
		fileOrder: map[string]int{},
	}
	for i, src := range sources {
		files, err := src.files()
		if err != nil {
			l.errs = append(l.errs, err)
		}
		for _, rf := range files {
			l.fileOrder[rf.name] = len(l.files)
			l.files = append(l.files, rf.name)
			l.file(rf, i)
		}
	}
	lists := map[string][]string{}
	for _, li := range l.lists {
		lists[li.Name] = li.Items
	}
	for _, r := range l.rules {
		l.finish(r, lists)
	}
	sortErrors(l.errs, l.fileOrder)
	sortErrors(l.warns, l.fileOrder)
	rs := &RuleSet{Rules: l.rules, Lists: l.lists, Files: l.files, byID: l.byID, lists: l.listByKey, warned: l.warns}
	rs.numberConds()
	return rs, l.errs
}

var entryKeys = []string{"rule", "list"}

// file reads one rule file: a YAML sequence of rule and list entries. A
// file whose top level is a mapping with a `tests` key is a rule test
// file (see docs/rules.md) and is skipped, so tests can sit next to rules.
func (l *loader) file(rf ruleFile, src int) {
	f := &yfile{name: rf.name, src: src, l: l, lines: strings.Split(string(rf.data), "\n")}
	file, err := parser.ParseBytes(rf.data, 0)
	if err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) {
			f.errorf(f.tokPos(ye.GetToken()), "%s", ye.GetMessage())
		} else {
			f.errorf(Pos{File: rf.name}, "%v", err)
		}
		return
	}
	for _, doc := range file.Docs {
		body, ok := f.resolve(doc.Body)
		if !ok || body == nil {
			continue
		}
		if _, isNull := body.(*ast.NullNode); isNull {
			continue
		}
		if m, ok := body.(*ast.MappingNode); ok && isTestFile(f, m.Values) {
			return
		}
		if mv, ok := body.(*ast.MappingValueNode); ok && isTestFile(f, []*ast.MappingValueNode{mv}) {
			return
		}
		seq, ok := body.(*ast.SequenceNode)
		if !ok {
			f.errorf(f.pos(body), "a rule file is a list of `- rule:` and `- list:` entries, not a %s", nodeKind(body))
			continue
		}
		for _, item := range seq.Values {
			l.entry(f, item)
		}
	}
}

func isTestFile(f *yfile, values []*ast.MappingValueNode) bool {
	for _, mv := range values {
		if f.key(mv) == "tests" {
			return true
		}
	}
	return false
}

func (l *loader) entry(f *yfile, item ast.Node) {
	values, ok := f.mapping(item, "an entry")
	if !ok {
		return
	}
	var isRule, isList bool
	for _, mv := range values {
		switch f.key(mv) {
		case "rule":
			isRule = true
		case "list":
			isList = true
		}
	}
	switch {
	case isRule && isList:
		f.errorf(f.pos(item), "an entry is either a rule or a list, not both")
	case isRule:
		l.rule(f, values, f.pos(item))
	case isList:
		l.list(f, values, f.pos(item))
	case len(values) > 0:
		if f.key(values[0]) == "macro" {
			f.errorf(f.pos(values[0].Key), "macros are not supported: use a list, or write the condition out")
			return
		}
		f.unknownField(values[0], "an entry (want `rule:` or `list:`)", entryKeys)
	default:
		f.errorf(f.pos(item), "empty entry")
	}
}

var listKeys = []string{"list", "items", "append"}

// reservedNames are the identifiers a list may not take: the top-level
// event fields and expr's builtins and keywords.
var reservedNames = func() map[string]bool {
	m := map[string]bool{}
	for name := range fieldTable {
		m[strings.SplitN(name, ".", 2)[0]] = true
	}
	for _, n := range []string{"true", "false", "nil", "not", "and", "or", "in", "matches", "contains",
		"startsWith", "endsWith", "let", "if", "else", "all", "none", "any", "one", "filter", "map",
		"count", "sum", "find", "findIndex", "findLast", "findLastIndex", "groupBy", "sortBy", "reduce",
		"len", "type", "abs", "ceil", "floor", "round", "int", "float", "string", "trim", "trimPrefix",
		"trimSuffix", "upper", "lower", "split", "splitAfter", "replace", "repeat", "indexOf",
		"lastIndexOf", "hasPrefix", "hasSuffix", "max", "min", "mean", "median", "toJSON", "fromJSON",
		"toBase64", "fromBase64", "now", "duration", "date", "timezone", "first", "last", "get", "keys",
		"values", "toPairs", "fromPairs", "flatten", "uniq", "concat", "join", "reverse", "sort",
		"bitand", "bitor", "bitxor", "bitnand", "bitnot", "bitshl", "bitshr", "bitushr"} {
		m[n] = true
	}
	return m
}()

func (l *loader) list(f *yfile, values []*ast.MappingValueNode, pos Pos) {
	li := &List{Pos: pos}
	var appendTo, ok = false, true
	var namePos Pos
	for _, mv := range values {
		switch k := f.key(mv); k {
		case "list":
			s, good := f.scalar(mv.Value, "list")
			li.Name, namePos, ok = s, f.pos(mv.Value), ok && good
		case "items":
			items, _, good := f.strList(mv.Value, "items")
			li.Items, ok = items, ok && good
		case "append":
			b, good := f.boolean(mv.Value, "append")
			appendTo, ok = b, ok && good
		default:
			f.unknownField(mv, "list", listKeys)
			ok = false
		}
	}
	if !ok {
		return
	}
	if !listNameRE.MatchString(li.Name) {
		f.errorf(namePos, "bad list name %q: use letters, digits and _ (it is an identifier in conditions)", li.Name)
		return
	}
	if reservedNames[li.Name] {
		f.errorf(namePos, "list name %q is reserved (an event field or a builtin of conditions)", li.Name)
		return
	}
	prev := l.listByKey[li.Name]
	switch {
	case appendTo && prev == nil:
		f.errorf(namePos, "append to unknown list %q", li.Name)
	case appendTo:
		prev.Items = append(prev.Items, li.Items...)
		prev.Appends = append(prev.Appends, pos)
	case prev != nil && l.listSrc[li.Name] == f.src:
		f.errorf(namePos, "duplicate list %q (first defined at %s); use `append: true` to extend it", li.Name, prev.Pos)
	case prev != nil:
		// A later source redefines the list.
		*prev = *li
		l.listSrc[li.Name] = f.src
	default:
		l.lists = append(l.lists, li)
		l.listByKey[li.Name] = li
		l.listSrc[li.Name] = f.src
	}
}

var ruleKeys = []string{"rule", "title", "description", "impact", "mitigation", "references", "tags",
	"severity", "escalate", "mitre", "kind", "condition", "group_by", "window", "threshold", "sum", "distinct",
	"steps", "period", "field", "learn", "exceptions", "enabled", "override"}

// ruleDef is one `- rule:` entry as written, with the fields it sets.
type ruleDef struct {
	r        Rule
	set      []string // keys given, in file order
	override bool
}

func (l *loader) rule(f *yfile, values []*ast.MappingValueNode, pos Pos) {
	d := &ruleDef{r: Rule{Pos: pos, Enabled: true, fieldPos: map[string]Pos{}}}
	r := &d.r
	ok := true
	for _, mv := range values {
		k := f.key(mv)
		v := mv.Value
		good := true
		switch k {
		case "rule":
			r.ID, good = f.scalar(v, "rule")
			if good && !idRE.MatchString(r.ID) {
				f.errorf(f.pos(v), "bad rule id %q: use letters, digits, '.', '_' and '-' (e.g. auth.failed_login_burst)", r.ID)
				good = false
			}
		case "title":
			r.Title, good = f.scalar(v, k)
		case "description":
			r.Description, good = f.scalar(v, k)
		case "impact":
			r.Impact, good = f.scalar(v, k)
		case "mitigation":
			r.Mitigation, good = f.scalar(v, k)
		case "references":
			r.References, _, good = f.strList(v, k)
		case "tags":
			r.Tags, _, good = f.strList(v, k)
		case "severity":
			r.Severity, good = f.scalar(v, k)
			if good && event.SeverityRank(r.Severity) == 0 {
				f.errorf(f.pos(v), "unknown severity %q: want info, low, medium, high or critical", r.Severity)
				good = false
			}
		case "escalate":
			r.Escalate, good = l.escalate(f, v)
		case "mitre":
			r.Mitre, good = l.mitre(f, v)
		case "kind":
			var s string
			s, good = f.scalar(v, k)
			r.Kind = Kind(s)
			if good && !kinds[r.Kind] {
				f.errorf(f.pos(v), "unknown kind %q: want match, count, distinct, sequence, absence or first_seen", s)
				good = false
			}
		case "condition":
			r.cond, good = f.text(v, k)
			r.Condition = r.cond.s
		case "group_by":
			var pos []Pos
			r.GroupBy, pos, good = f.strList(v, k)
			for i, name := range r.GroupBy {
				good = checkField(f, pos[i], name, "group_by") && good
			}
		case "window":
			var d int64
			d, good = f.duration(v, k)
			r.Window = time.Duration(d)
		case "threshold":
			r.Threshold, good = f.integer(v, k)
			if good && r.Threshold < 0 {
				f.errorf(f.pos(v), "threshold must not be negative")
				good = false
			}
		case "sum":
			r.Sum, good = f.scalar(v, k)
			good = good && checkSumField(f, f.pos(v), r.Sum)
		case "distinct":
			r.Distinct, good = f.scalar(v, k)
			good = good && checkField(f, f.pos(v), r.Distinct, k)
		case "steps":
			r.Steps, good = l.steps(f, v)
		case "period":
			var d int64
			d, good = f.duration(v, k)
			r.Period = time.Duration(d)
		case "field":
			r.Field, good = f.scalar(v, k)
			good = good && checkField(f, f.pos(v), r.Field, k)
		case "learn":
			var d int64
			d, good = f.duration(v, k)
			r.Learn = time.Duration(d)
		case "exceptions":
			r.Exceptions, good = l.exceptions(f, v)
		case "enabled":
			r.Enabled, good = f.boolean(v, k)
		case "override":
			d.override, good = f.boolean(v, k)
		default:
			f.unknownField(mv, "rule", ruleKeys)
			good = false
		}
		ok = ok && good
		d.set = append(d.set, k)
		r.fieldPos[k] = f.pos(v)
		if _, isNull := v.(*ast.NullNode); isNull || v == nil {
			r.fieldPos[k] = f.pos(mv.Key)
		}
	}
	if r.ID == "" {
		if ok {
			f.errorf(pos, "rule without an id")
		}
		return
	}
	if !ok {
		// Keep the id known so that a later override of it is not
		// reported as an override of an unknown rule.
		if l.byID[r.ID] == nil && !d.override {
			r.c = &compiled{broken: true}
			l.addRule(f, d)
		}
		return
	}
	l.addRule(f, d)
}

func (l *loader) addRule(f *yfile, d *ruleDef) {
	r := &d.r
	prev := l.byID[r.ID]
	switch {
	case d.override && prev == nil:
		f.errorf(r.fieldPos["rule"], "override of unknown rule %q", r.ID)
	case d.override:
		applyOverride(prev, d)
	case prev != nil && l.ruleSrc[r.ID] == f.src:
		f.errorf(r.fieldPos["rule"], "duplicate rule id %q (first defined at %s); use `override: true` to change it", r.ID, prev.Pos)
	case prev != nil:
		// A later source replaces the rule wholesale, keeping its place.
		overrides := append(prev.Overrides, Override{Pos: r.Pos, Replace: true})
		*prev = *r
		prev.Overrides = overrides
		l.ruleSrc[r.ID] = f.src
	default:
		nr := new(Rule)
		*nr = *r
		l.rules = append(l.rules, nr)
		l.byID[r.ID] = nr
		l.ruleSrc[r.ID] = f.src
	}
}

// applyOverride changes only the fields an `override: true` entry sets.
func applyOverride(dst *Rule, d *ruleDef) {
	src := &d.r
	var fields []string
	for _, k := range d.set {
		switch k {
		case "rule", "override":
			continue
		case "title":
			dst.Title = src.Title
		case "description":
			dst.Description = src.Description
		case "impact":
			dst.Impact = src.Impact
		case "mitigation":
			dst.Mitigation = src.Mitigation
		case "references":
			dst.References = src.References
		case "tags":
			dst.Tags = src.Tags
		case "severity":
			dst.Severity = src.Severity
		case "escalate":
			dst.Escalate = src.Escalate
		case "mitre":
			dst.Mitre = src.Mitre
		case "kind":
			dst.Kind = src.Kind
		case "condition":
			dst.Condition, dst.cond = src.Condition, src.cond
		case "group_by":
			dst.GroupBy = src.GroupBy
		case "window":
			dst.Window = src.Window
		case "threshold":
			dst.Threshold = src.Threshold
		case "sum":
			dst.Sum = src.Sum
		case "distinct":
			dst.Distinct = src.Distinct
		case "steps":
			dst.Steps = src.Steps
		case "period":
			dst.Period = src.Period
		case "field":
			dst.Field = src.Field
		case "learn":
			dst.Learn = src.Learn
		case "exceptions":
			dst.Exceptions = append(append([]Exception(nil), dst.Exceptions...), src.Exceptions...)
		case "enabled":
			dst.Enabled = src.Enabled
		}
		dst.fieldPos[k] = src.fieldPos[k]
		fields = append(fields, k)
	}
	dst.Overrides = append(dst.Overrides, Override{Pos: src.Pos, Fields: fields})
}

func checkField(f *yfile, p Pos, name, what string) bool {
	if _, ok := event.Field(name); ok {
		return true
	}
	best, bestD := "", 4
	for _, c := range event.FieldNames() {
		if d := editDistance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best != "" {
		f.errorf(p, "unknown field %q in %s (did you mean %q?)", name, what, best)
	} else {
		f.errorf(p, "unknown field %q in %s (see `vigil rules fields`)", name, what)
	}
	return false
}

// checkSumField checks the field of a count rule's `sum`: an integer
// field of the event (any field conditions can read, not only groupable
// ones: event.duration is not groupable but sums well).
func checkSumField(f *yfile, p Pos, name string) bool {
	var ints []string
	for n, fi := range fieldTable {
		if fi.kind == kindInt {
			ints = append(ints, n)
		}
	}
	sort.Strings(ints)
	fi := lookupField(name)
	if fi == nil {
		best, bestD := "", 4
		for _, c := range ints {
			if d := editDistance(name, c); d < bestD {
				best, bestD = c, d
			}
		}
		if best != "" {
			f.errorf(p, "unknown field %q in sum (did you mean %q?)", name, best)
		} else {
			f.errorf(p, "unknown field %q in sum: want an integer field (%s)", name, strings.Join(ints, ", "))
		}
		return false
	}
	if fi.kind != kindInt {
		f.errorf(p, "sum field %q is a %s field, not an integer one: want one of %s", name, kindNames[fi.kind], strings.Join(ints, ", "))
		return false
	}
	return true
}

var mitreKeys = []string{"tactic", "technique"}

func (l *loader) mitre(f *yfile, n ast.Node) (Mitre, bool) {
	var m Mitre
	values, ok := f.mapping(n, "mitre")
	if !ok {
		return m, false
	}
	for _, mv := range values {
		switch f.key(mv) {
		case "tactic":
			s, good := f.scalar(mv.Value, "tactic")
			if good && !tacticRE.MatchString(s) {
				f.errorf(f.pos(mv.Value), "bad MITRE tactic %q: want TAnnnn (e.g. TA0006)", s)
				good = false
			}
			if good && TacticName(s) == "" {
				l.warns = append(l.warns, &Error{Pos: f.pos(mv.Value), Msg: "MITRE tactic " + s + " is not in Vigil's ATT&CK table", Warning: true})
			}
			m.Tactic, ok = s, ok && good
		case "technique":
			s, good := f.scalar(mv.Value, "technique")
			if good && !techniqueRE.MatchString(s) {
				f.errorf(f.pos(mv.Value), "bad MITRE technique %q: want Tnnnn or Tnnnn.nnn (e.g. T1110.001)", s)
				good = false
			}
			if good && TechniqueName(s) == "" {
				l.warns = append(l.warns, &Error{Pos: f.pos(mv.Value), Msg: "MITRE technique " + s + " is not in Vigil's ATT&CK table", Warning: true})
			}
			m.Technique, ok = s, ok && good
		default:
			f.unknownField(mv, "mitre", mitreKeys)
			ok = false
		}
	}
	return m, ok
}

var escalateKeys = []string{"if", "severity"}

func (l *loader) escalate(f *yfile, n ast.Node) ([]Escalation, bool) {
	items, ok := f.sequence(n, "escalate")
	if !ok {
		return nil, false
	}
	var out []Escalation
	for _, item := range items {
		values, good := f.mapping(item, "an escalate entry")
		if !good {
			ok = false
			continue
		}
		var e Escalation
		for _, mv := range values {
			switch f.key(mv) {
			case "if":
				e.cond, good = f.text(mv.Value, "if")
				e.If = e.cond.s
			case "severity":
				e.Severity, good = f.scalar(mv.Value, "severity")
				e.pos = f.pos(mv.Value)
				if good && event.SeverityRank(e.Severity) == 0 {
					f.errorf(e.pos, "unknown severity %q: want info, low, medium, high or critical", e.Severity)
					good = false
				}
			default:
				f.unknownField(mv, "escalate", escalateKeys)
				good = false
			}
			ok = ok && good
		}
		if e.If == "" || e.Severity == "" {
			f.errorf(f.pos(item), "an escalate entry needs both `if` and `severity`")
			ok = false
		}
		out = append(out, e)
	}
	return out, ok
}

var stepKeys = []string{"condition", "threshold"}

func (l *loader) steps(f *yfile, n ast.Node) ([]Step, bool) {
	items, ok := f.sequence(n, "steps")
	if !ok {
		return nil, false
	}
	var out []Step
	for _, item := range items {
		values, good := f.mapping(item, "a step")
		if !good {
			ok = false
			continue
		}
		var s Step
		for _, mv := range values {
			switch f.key(mv) {
			case "condition":
				s.cond, good = f.text(mv.Value, "condition")
				s.Condition = s.cond.s
			case "threshold":
				s.Threshold, good = f.integer(mv.Value, "threshold")
				if good && s.Threshold < 0 {
					f.errorf(f.pos(mv.Value), "threshold must not be negative")
					good = false
				}
			default:
				f.unknownField(mv, "step", stepKeys)
				good = false
			}
			ok = ok && good
		}
		if s.Condition == "" {
			f.errorf(f.pos(item), "a step needs a condition")
			ok = false
		}
		out = append(out, s)
	}
	return out, ok
}

var exceptionKeys = []string{"name", "match"}

func (l *loader) exceptions(f *yfile, n ast.Node) ([]Exception, bool) {
	items, ok := f.sequence(n, "exceptions")
	if !ok {
		return nil, false
	}
	var out []Exception
	for _, item := range items {
		values, good := f.mapping(item, "an exception")
		if !good {
			ok = false
			continue
		}
		x := Exception{Pos: f.pos(item)}
		for _, mv := range values {
			switch f.key(mv) {
			case "name":
				x.Name, good = f.scalar(mv.Value, "name")
			case "match":
				x.Match, good = l.exceptionMatch(f, mv.Value)
			default:
				f.unknownField(mv, "exception", exceptionKeys)
				good = false
			}
			ok = ok && good
		}
		if good && len(x.Match) == 0 {
			f.errorf(x.Pos, "an exception needs a `match` with at least one field")
			ok = false
		}
		out = append(out, x)
	}
	return out, ok
}

func (l *loader) exceptionMatch(f *yfile, n ast.Node) ([]ExceptionField, bool) {
	values, ok := f.mapping(n, "match")
	if !ok {
		return nil, false
	}
	var out []ExceptionField
	for _, mv := range values {
		name := f.key(mv)
		xf := ExceptionField{Field: name, pos: f.pos(mv.Key)}
		if !checkField(f, xf.pos, name, "exception") {
			ok = false
			continue
		}
		vals, pos, good := f.strList(mv.Value, name)
		if !good {
			ok = false
			continue
		}
		if len(vals) == 0 {
			f.errorf(xf.pos, "exception field %s has no values", name)
			ok = false
			continue
		}
		xf.Values, xf.vpos = vals, pos
		out = append(out, xf)
	}
	return out, ok
}

// kindFields says which kind-specific fields each kind uses.
var kindFields = map[Kind][]string{
	KindMatch:     {"window"},
	KindCount:     {"window", "threshold", "sum"},
	KindDistinct:  {"window", "threshold", "distinct"},
	KindSequence:  {"window", "steps"},
	KindAbsence:   {"period"},
	KindFirstSeen: {"field", "learn"},
}

var kindSpecific = []string{"window", "threshold", "sum", "distinct", "steps", "period", "field", "learn"}

// finish applies defaults, checks what only the merged rule can tell (the
// fields a kind needs), and compiles the rule.
func (l *loader) finish(r *Rule, lists map[string][]string) {
	if r.c != nil && r.c.broken {
		// Already reported; still show what is wrong with its conditions.
		if _, errs := compileRule(r, lists); len(errs) > 0 {
			l.errs = append(l.errs, errs...)
		}
		return
	}
	at := func(k string) Pos {
		if p, ok := r.fieldPos[k]; ok {
			return p
		}
		return r.Pos
	}
	nerr := len(l.errs)
	errorf := func(p Pos, format string, args ...any) {
		(&yfile{l: l}).errorf(p, format, args...)
	}
	if r.Kind == "" {
		r.Kind = KindMatch
	}
	if r.Title == "" {
		errorf(r.Pos, "rule %s: title is required", r.ID)
	}
	if r.Severity == "" {
		errorf(r.Pos, "rule %s: severity is required", r.ID)
	}
	if r.Mitre.Tactic == "" && r.Mitre.Technique == "" {
		l.warns = append(l.warns, &Error{Pos: r.Pos, Msg: "rule " + r.ID + " has no MITRE tactic/technique", Warning: true})
	}
	used := map[string]bool{}
	for _, k := range kindFields[r.Kind] {
		used[k] = true
	}
	for _, k := range kindSpecific {
		if _, set := r.fieldPos[k]; set && !used[k] {
			errorf(at(k), "%s is not used by %s rules", k, r.Kind)
		}
	}
	// Problems of the merged rule are reported at its definition; say so
	// when an override may be the cause.
	note := ""
	if n := len(r.Overrides); n > 0 && !r.Overrides[n-1].Replace {
		note = " (as overridden at " + r.Overrides[n-1].Pos.String() + ")"
	}
	need := func(k string, ok bool) {
		if !ok {
			errorf(r.Pos, "rule %s: %s rules need `%s`%s", r.ID, r.Kind, k, note)
		}
	}
	_, hasThreshold := r.fieldPos["threshold"]
	switch r.Kind {
	case KindMatch:
		if r.Window == 0 {
			r.Window = DefaultMatchWindow
		}
	case KindCount:
		need("window", r.Window > 0)
		need("threshold", hasThreshold)
	case KindDistinct:
		need("window", r.Window > 0)
		need("threshold", hasThreshold)
		need("distinct", r.Distinct != "")
		if hasThreshold && r.Threshold < 1 {
			errorf(at("threshold"), "threshold of a distinct rule must be at least 1")
		}
	case KindSequence:
		need("window", r.Window > 0)
		if len(r.Steps) != 2 {
			errorf(at("steps"), "rule %s: sequence rules need exactly two steps%s", r.ID, note)
		}
	case KindAbsence:
		need("period", r.Period > 0)
	case KindFirstSeen:
		need("field", r.Field != "")
		if r.Learn == 0 {
			r.Learn = DefaultLearn
		}
	}
	if r.Kind != KindAbsence && r.Kind != KindSequence && strings.TrimSpace(r.Condition) == "" {
		errorf(r.Pos, "rule %s: condition is required%s", r.ID, note)
	}
	if len(l.errs) > nerr {
		r.c = &compiled{broken: true}
		return
	}
	c, errs := compileRule(r, lists)
	if len(errs) > 0 {
		l.errs = append(l.errs, errs...)
		r.c = &compiled{broken: true}
		return
	}
	r.c = c
	if r.Enabled && r.Kind != KindAbsence && !c.cheap() {
		l.warns = append(l.warns, &Error{Pos: at("condition"), Warning: true,
			Msg: "rule " + r.ID + ": no part of the condition can be indexed (like event.action == \"login\" or \"DROP TABLE\" in sql.operations), so it is evaluated for every event"})
	}
}

// sortedIDs returns rule ids in lexical order.
func (rs *RuleSet) sortedIDs() []string {
	ids := make([]string, 0, len(rs.Rules))
	for _, r := range rs.Rules {
		ids = append(ids, r.ID)
	}
	sort.Strings(ids)
	return ids
}
