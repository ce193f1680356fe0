package detect

import (
	"errors"
	"net/netip"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/vigildb/vigil/event"
)

// compiled is the executable form of a rule.
type compiled struct {
	broken bool // the rule had errors; never evaluated

	// steps holds what an event must satisfy: one predicate for most
	// kinds, one per step for sequence rules. A predicate is a list of
	// conditions that must all hold (a sequence's top-level condition is
	// added to each step). An empty predicate always holds.
	steps [][]*cond

	escalate   []escalation
	exceptions []exceptionMatcher
	groupBy    []func(*event.Event) string
	value      func(*event.Event) string // distinct / first_seen field
	sum        *fieldInfo                // count with `sum`: the integer field summed
}

// cond is one compiled condition with what the engine derived from its
// syntax tree to avoid running it (see prefilter.go).
type cond struct {
	src   string
	prog  *vm.Program
	test  test         // a necessary condition, checked in Go first; nil if none
	exact bool         // test is equivalent to the condition: prog need not run
	memo  []*fieldInfo // the result depends only on these string fields: cache it
	id    int          // index of the cond in the engine's memo tables
}

type escalation struct {
	c        []*cond
	severity string
}

// cheap reports whether the rule costs little on events it cannot match:
// each step has an index key (the engine only looks at the rule for some
// events) or is decided by Go tests alone (no expr run).
func (c *compiled) cheap() bool {
	for _, p := range c.steps {
		if _, ok := predKeys(p); ok {
			continue
		}
		for _, cd := range p {
			if !cd.exact {
				return false
			}
		}
	}
	return true
}

// compileRule compiles conditions, exceptions and field accessors.
func compileRule(r *Rule, lists map[string][]string) (*compiled, Errors) {
	var errs Errors
	c := &compiled{}
	compileText := func(t text, what string) *cond {
		if strings.TrimSpace(t.s) == "" {
			return nil
		}
		cd, err := compileCond(t, lists, what)
		if err != nil {
			errs = append(errs, err)
		}
		return cd
	}
	common := compileText(r.cond, "condition")
	switch r.Kind {
	case KindSequence:
		for i, s := range r.Steps {
			p := []*cond{}
			if common != nil {
				p = append(p, common)
			}
			if cd := compileText(s.cond, "step "+string(rune('1'+i))+" condition"); cd != nil {
				p = append(p, cd)
			}
			c.steps = append(c.steps, p)
		}
	default:
		p := []*cond{}
		if common != nil {
			p = append(p, common)
		}
		c.steps = [][]*cond{p}
	}
	for _, e := range r.Escalate {
		if cd := compileText(e.cond, "escalate if"); cd != nil {
			c.escalate = append(c.escalate, escalation{c: []*cond{cd}, severity: e.Severity})
		}
	}
	for _, x := range r.Exceptions {
		m, xerrs := compileException(x, lists)
		errs = append(errs, xerrs...)
		c.exceptions = append(c.exceptions, m)
	}
	for _, name := range r.GroupBy {
		acc, _ := accessor(name)
		c.groupBy = append(c.groupBy, acc)
	}
	switch r.Kind {
	case KindDistinct:
		c.value, _ = accessor(r.Distinct)
	case KindFirstSeen:
		c.value, _ = accessor(r.Field)
	case KindCount:
		if f := lookupField(r.Sum); f != nil && f.kind == kindInt {
			c.sum = f // checked at load
		}
	}
	return c, errs
}

// compileCond compiles a condition against event.Event, so that a field
// name typo or a type mismatch is refused at load, and maps expr's error
// position onto the rule file.
//
// Named lists become constant arrays in the syntax tree before type
// checking; `now()` is refused because rules must depend on event time
// only (a replay must raise what the live system raised).
func compileCond(t text, lists map[string][]string, what string) (*cond, *Error) {
	prog, err := expr.Compile(t.s,
		expr.Env(event.Event{}),
		expr.AsBool(),
		expr.DisableBuiltin("now"),
		expr.Patch(listPatcher(lists)),
	)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			msg := what + ": " + fe.Message
			switch {
			case t.comment && strings.Contains(fe.Message, "EOF"):
				msg += " (a '#' after a space starts a YAML comment: quote the condition or write it as a | block)"
			case fe.Message == "unknown name now":
				msg += " (now() is not available: rules see event time only, e.g. the field `time`)"
			case strings.HasPrefix(fe.Message, "unknown name "):
				msg += " (not an event field, a list or a builtin)"
			}
			return nil, &Error{Pos: t.at(fe.From), Msg: msg}
		}
		return nil, &Error{Pos: t.pos, Msg: what + ": " + err.Error()}
	}
	cd := &cond{src: t.s, prog: prog}
	cd.test, cd.exact = analyze(prog.Node())
	if !cd.exact {
		cd.memo = memoFields(prog.Node())
	}
	return cd, nil
}

// listPatcher replaces identifiers naming a list with the list's items.
type listPatcher map[string][]string

func (lp listPatcher) Visit(n *ast.Node) {
	id, ok := (*n).(*ast.IdentifierNode)
	if !ok {
		return
	}
	items, ok := lp[id.Value]
	if !ok {
		return
	}
	nodes := make([]ast.Node, len(items))
	for i, s := range items {
		nodes[i] = &ast.StringNode{Value: s}
	}
	ast.Patch(n, &ast.ArrayNode{Nodes: nodes})
}

// exceptionMatcher is a compiled exception: every field must match.
type exceptionMatcher struct {
	name   string
	fields []exceptionField
}

// exceptionField matches one field against a set of values.
//
// Values compare case-insensitively: user, application and database names
// come from logs and clients that do not agree on case (SQLMap, sqlmap),
// and an exception is meant to silence, so a looser match is the safer
// mistake. Address fields also take CIDRs and compare IPs as addresses
// (so ::ffff:10.0.0.1 matches 10.0.0.0/8).
type exceptionField struct {
	get  func(*event.Event) string
	list *fieldInfo // a list-valued field: any element may match
	vals map[string]struct{}
	nets []netip.Prefix
}

var addressFields = map[string]bool{"client.address": true, "server.address": true}

func compileException(x Exception, lists map[string][]string) (exceptionMatcher, Errors) {
	var errs Errors
	m := exceptionMatcher{name: x.Name}
	for _, xf := range x.Match {
		ef := exceptionField{vals: map[string]struct{}{}}
		ef.get, _ = accessor(xf.Field)
		if fi := lookupField(xf.Field); fi != nil && fi.kind == kindStrings {
			ef.list = fi
		}
		add := func(v string, p Pos) {
			if addressFields[xf.Field] {
				if strings.Contains(v, "/") {
					pfx, err := netip.ParsePrefix(v)
					if err != nil {
						errs = append(errs, &Error{Pos: p, Msg: "bad CIDR " + quote(v) + " for " + xf.Field})
						return
					}
					ef.nets = append(ef.nets, pfx.Masked())
					return
				}
				if a, err := netip.ParseAddr(v); err == nil {
					a = a.Unmap()
					ef.nets = append(ef.nets, netip.PrefixFrom(a, a.BitLen()))
					return
				}
			}
			ef.vals[strings.ToLower(v)] = struct{}{}
		}
		for i, v := range xf.Values {
			p := x.Pos
			if i < len(xf.vpos) {
				p = xf.vpos[i]
			}
			if name, ok := strings.CutPrefix(v, "@"); ok {
				items, found := lists[name]
				if !found {
					errs = append(errs, &Error{Pos: p, Msg: "unknown list " + quote(name) + " in exception " + quote(x.Name)})
					continue
				}
				for _, it := range items {
					add(it, p)
				}
				continue
			}
			add(v, p)
		}
		m.fields = append(m.fields, ef)
	}
	return m, errs
}

func quote(s string) string { return "\"" + s + "\"" }

func (m *exceptionMatcher) matches(ev *event.Event) bool {
	for i := range m.fields {
		if !m.fields[i].matches(ev) {
			return false
		}
	}
	return len(m.fields) > 0
}

func (f *exceptionField) matches(ev *event.Event) bool {
	if f.list != nil {
		for _, v := range f.list.strs(ev) {
			if f.matchOne(v) {
				return true
			}
		}
		return false
	}
	return f.matchOne(f.get(ev))
}

func (f *exceptionField) matchOne(v string) bool {
	if len(f.nets) > 0 {
		if a, err := netip.ParseAddr(v); err == nil {
			a = a.Unmap()
			for _, n := range f.nets {
				if n.Contains(a) {
					return true
				}
			}
		}
	}
	_, ok := f.vals[strings.ToLower(v)]
	return ok
}
