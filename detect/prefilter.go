package detect

// The engine must cost about a microsecond per event with ~35 rules,
// while one expr evaluation costs ~200 ns. Rule authors should not have to
// know this, so the engine derives, from each compiled condition's syntax
// tree, cheaper ways to decide:
//
//  1. index keys: a condition like `event.action == "login_failed" && ...`
//     can only hold for events whose event.action is login_failed. The
//     engine keeps, per field, a map from value to the rules keyed on it,
//     and looks at a rule only when one of its keys matches the event
//     (see dispatch in engine.go). Keys come from `field == "v"`,
//     `field in [...]` (or a list), `"v" in listfield`,
//     `any(listfield, # == "v")`, `field startsWith "p"`, and their
//     combinations with && (the most selective side) and || (the union),
//     also inside any(): expr fuses `any(f, A) || any(f, B)` into
//     `any(f, A || B)`, which keeps the union of A's and B's keys.
//  2. a Go test: the parts of the condition with a direct Go equivalent
//     (comparisons of fields with constants, membership, startsWith,
//     contains, len(list) > 0, boolean fields, !, &&, ||) are checked in
//     Go before expr runs; when the whole condition has such an
//     equivalent (exact), expr does not run at all.
//  3. a memo: a condition that reads only one to three string fields
//     (`any(attack_tools, {lower(app.name) contains #})`) is pure in those
//     fields, so its result is cached per combination of values.
//
// Everything here is an optimization: a test is always implied by the
// condition, so skipping a rule whose test fails never loses an alert.
// TestPrefilterMatchesExpr checks the exact tests against expr.

import (
	"strings"

	"github.com/expr-lang/expr/ast"

	"github.com/vigildb/vigil/event"
)

// test is a Go predicate over an event.
type test interface {
	eval(ev *event.Event) bool
}

type (
	constTest bool
	// eqTest: a string field equals v.
	eqTest struct {
		f *fieldInfo
		v string
	}
	// inTest: a string field is one of set.
	inTest struct {
		f   *fieldInfo
		set map[string]struct{}
	}
	// hasTest: a list field has an element in set.
	hasTest struct {
		f   *fieldInfo
		set map[string]struct{}
	}
	// strTest: a string field (or, for a list field, any element)
	// starts with, ends with or contains s.
	strTest struct {
		f  *fieldInfo
		op string // startsWith, endsWith, contains
		s  string
	}
	boolTest struct{ f *fieldInfo }
	// cmpTest: an integer field, or the length of a list field (length),
	// compared with n.
	cmpTest struct {
		f      *fieldInfo
		length bool
		op     string
		n      int64
	}
	andTest []test
	orTest  []test
	notTest struct{ t test }
)

func (t constTest) eval(*event.Event) bool    { return bool(t) }
func (t *eqTest) eval(ev *event.Event) bool   { return t.f.str(ev) == t.v }
func (t *boolTest) eval(ev *event.Event) bool { return t.f.boolean(ev) }
func (t notTest) eval(ev *event.Event) bool   { return !t.t.eval(ev) }

func (t *inTest) eval(ev *event.Event) bool {
	_, ok := t.set[t.f.str(ev)]
	return ok
}

func (t *hasTest) eval(ev *event.Event) bool {
	for _, v := range t.f.strs(ev) {
		if _, ok := t.set[v]; ok {
			return true
		}
	}
	return false
}

func strOp(op, v, s string) bool {
	switch op {
	case "startsWith":
		return strings.HasPrefix(v, s)
	case "endsWith":
		return strings.HasSuffix(v, s)
	}
	return strings.Contains(v, s)
}

func (t *strTest) eval(ev *event.Event) bool {
	if t.f.kind == kindStrings {
		for _, v := range t.f.strs(ev) {
			if strOp(t.op, v, t.s) {
				return true
			}
		}
		return false
	}
	return strOp(t.op, t.f.str(ev), t.s)
}

func (t *cmpTest) eval(ev *event.Event) bool {
	var x int64
	if t.length {
		x = int64(len(t.f.strs(ev)))
	} else {
		x = t.f.integer(ev)
	}
	switch t.op {
	case "==":
		return x == t.n
	case "!=":
		return x != t.n
	case "<":
		return x < t.n
	case "<=":
		return x <= t.n
	case ">":
		return x > t.n
	}
	return x >= t.n
}

func (t andTest) eval(ev *event.Event) bool {
	for _, s := range t {
		if !s.eval(ev) {
			return false
		}
	}
	return true
}

func (t orTest) eval(ev *event.Event) bool {
	for _, s := range t {
		if s.eval(ev) {
			return true
		}
	}
	return false
}

// fieldOf returns the event field a member chain like db.operation.name
// names, or nil.
func fieldOf(n ast.Node) *fieldInfo {
	var parts []string
	for {
		switch v := n.(type) {
		case *ast.IdentifierNode:
			parts = append(parts, v.Value)
			for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
				parts[i], parts[j] = parts[j], parts[i]
			}
			return lookupField(strings.Join(parts, "."))
		case *ast.MemberNode:
			p, ok := v.Property.(*ast.StringNode)
			if !ok || v.Optional || v.Method {
				return nil
			}
			parts = append(parts, p.Value)
			n = v.Node
		default:
			return nil
		}
	}
}

func stringConst(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.ConstantNode:
		s, ok := v.Value.(string)
		return s, ok
	}
	return "", false
}

func intConst(n ast.Node) (int64, bool) {
	switch v := n.(type) {
	case *ast.IntegerNode:
		return int64(v.Value), true
	case *ast.UnaryNode:
		if i, ok := v.Node.(*ast.IntegerNode); ok && v.Operator == "-" {
			return -int64(i.Value), true
		}
	case *ast.ConstantNode:
		switch x := v.Value.(type) {
		case int:
			return int64(x), true
		case int64:
			return x, true
		}
	}
	return 0, false
}

// stringSet reads a constant array or set of strings (a literal array, a
// named list, or the map the optimizer makes of them).
func stringSet(n ast.Node) (map[string]struct{}, bool) {
	set := map[string]struct{}{}
	switch v := n.(type) {
	case *ast.ArrayNode:
		for _, e := range v.Nodes {
			s, ok := stringConst(e)
			if !ok {
				return nil, false
			}
			set[s] = struct{}{}
		}
		return set, true
	case *ast.ConstantNode:
		switch x := v.Value.(type) {
		case map[string]struct{}:
			for s := range x {
				set[s] = struct{}{}
			}
			return set, true
		case []string:
			for _, s := range x {
				set[s] = struct{}{}
			}
			return set, true
		case []any:
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					return nil, false
				}
				set[s] = struct{}{}
			}
			return set, true
		}
	}
	return nil, false
}

var flip = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}

// analyze derives a Go test from a condition's syntax tree: the test is
// implied by the condition (nil if nothing could be derived), and exact
// reports whether it is equivalent to it.
func analyze(n ast.Node) (t test, exact bool) {
	switch v := n.(type) {
	case *ast.BoolNode:
		return constTest(v.Value), true
	case *ast.ConstantNode:
		if b, ok := v.Value.(bool); ok {
			return constTest(b), true
		}
	case *ast.MemberNode:
		if f := fieldOf(v); f != nil && f.kind == kindBool {
			return &boolTest{f}, true
		}
	case *ast.UnaryNode:
		if v.Operator == "!" || v.Operator == "not" {
			if t, exact := analyze(v.Node); exact {
				return notTest{t}, true
			}
		}
	case *ast.BinaryNode:
		return analyzeBinary(v)
	case *ast.BuiltinNode:
		return analyzeBuiltin(v)
	}
	return nil, false
}

func analyzeBinary(v *ast.BinaryNode) (test, bool) {
	switch v.Operator {
	case "&&", "and":
		l, le := analyze(v.Left)
		r, re := analyze(v.Right)
		switch {
		case l == nil && r == nil:
			return nil, false
		case l == nil:
			return r, false
		case r == nil:
			return l, false
		}
		return andTest{l, r}, le && re
	case "||", "or":
		l, le := analyze(v.Left)
		r, re := analyze(v.Right)
		if l == nil || r == nil {
			return nil, false
		}
		return orTest{l, r}, le && re
	case "==", "!=":
		left, right := v.Left, v.Right
		if fieldOf(left) == nil {
			left, right = right, left
		}
		var t test
		if f := fieldOf(left); f != nil {
			switch f.kind {
			case kindString:
				if s, ok := stringConst(right); ok {
					t = &eqTest{f, s}
				}
			case kindBool:
				if b, ok := right.(*ast.BoolNode); ok {
					t = &boolTest{f}
					if !b.Value {
						t = notTest{t}
					}
				}
			case kindInt:
				if n, ok := intConst(right); ok {
					return &cmpTest{f: f, op: v.Operator, n: n}, true
				}
			}
		}
		if t == nil {
			return analyzeLen(v)
		}
		if v.Operator == "!=" {
			return notTest{t}, true
		}
		return t, true
	case "<", "<=", ">", ">=":
		left, right, op := v.Left, v.Right, v.Operator
		if fieldOf(left) == nil {
			left, right, op = right, left, flip[op]
		}
		if f := fieldOf(left); f != nil && f.kind == kindInt {
			if n, ok := intConst(right); ok {
				return &cmpTest{f: f, op: op, n: n}, true
			}
		}
		return analyzeLen(v)
	case "in":
		if f := fieldOf(v.Left); f != nil && f.kind == kindString {
			if set, ok := stringSet(v.Right); ok {
				return &inTest{f, set}, true
			}
		}
		if s, ok := stringConst(v.Left); ok {
			if f := fieldOf(v.Right); f != nil && f.kind == kindStrings {
				return &hasTest{f, map[string]struct{}{s: {}}}, true
			}
		}
	case "startsWith", "endsWith", "contains":
		if f := fieldOf(v.Left); f != nil && f.kind == kindString {
			if s, ok := stringConst(v.Right); ok {
				return &strTest{f, v.Operator, s}, true
			}
		}
	}
	return nil, false
}

// analyzeLen handles len(listfield) compared with an integer.
func analyzeLen(v *ast.BinaryNode) (test, bool) {
	left, right, op := v.Left, v.Right, v.Operator
	if _, ok := left.(*ast.BuiltinNode); !ok {
		left, right, op = right, left, flip[op]
	}
	b, ok := left.(*ast.BuiltinNode)
	if !ok || b.Name != "len" || len(b.Arguments) != 1 {
		return nil, false
	}
	f := fieldOf(b.Arguments[0])
	if f == nil || f.kind != kindStrings {
		return nil, false
	}
	n, ok := intConst(right)
	if !ok {
		return nil, false
	}
	return &cmpTest{f: f, length: true, op: op, n: n}, true
}

// analyzeBuiltin handles any(listfield, # == "v"), any(listfield, # in
// [...]) and any(listfield, # startsWith "p") (and endsWith, contains),
// and any(listfield, A || B) and any(listfield, A && B) of those.
//
// The || form matters because expr's optimizer rewrites
// `any(f, A) || any(f, B)` on the same field into `any(f, A || B)` before
// the engine sees the tree: any(f, A || B) is exactly any(f, A) ||
// any(f, B), so it gets the union of both index keys. any(f, A && B)
// implies (but is not equivalent to) any(f, A) && any(f, B).
func analyzeBuiltin(v *ast.BuiltinNode) (test, bool) {
	if v.Name != "any" || len(v.Arguments) != 2 {
		return nil, false
	}
	f := fieldOf(v.Arguments[0])
	if f == nil || f.kind != kindStrings {
		return nil, false
	}
	pred, ok := v.Arguments[1].(*ast.PredicateNode)
	if !ok {
		return nil, false
	}
	return analyzeElem(f, pred.Node)
}

// analyzeElem derives the test of any(f, body) from the predicate body.
func analyzeElem(f *fieldInfo, n ast.Node) (test, bool) {
	body, ok := n.(*ast.BinaryNode)
	if !ok {
		return nil, false
	}
	isPtr := func(n ast.Node) bool {
		p, ok := n.(*ast.PointerNode)
		return ok && p.Name == ""
	}
	switch body.Operator {
	case "||", "or":
		l, le := analyzeElem(f, body.Left)
		r, re := analyzeElem(f, body.Right)
		if l == nil || r == nil {
			return nil, false
		}
		return orTest{l, r}, le && re
	case "&&", "and":
		l, _ := analyzeElem(f, body.Left)
		r, _ := analyzeElem(f, body.Right)
		switch {
		case l == nil && r == nil:
			return nil, false
		case l == nil:
			return r, false
		case r == nil:
			return l, false
		}
		return andTest{l, r}, false
	case "==":
		l, r := body.Left, body.Right
		if !isPtr(l) {
			l, r = r, l
		}
		if s, ok := stringConst(r); ok && isPtr(l) {
			return &hasTest{f, map[string]struct{}{s: {}}}, true
		}
	case "in":
		if set, ok := stringSet(body.Right); ok && isPtr(body.Left) {
			return &hasTest{f, set}, true
		}
	case "startsWith", "endsWith", "contains":
		if s, ok := stringConst(body.Right); ok && isPtr(body.Left) {
			return &strTest{f, body.Operator, s}, true
		}
	}
	return nil, false
}

// key is one index entry: events whose field f equals v (or, with
// prefix, starts with v) may match.
type key struct {
	f      *fieldInfo
	v      string
	prefix bool
}

// keysOf returns index keys implied by a test: an event that passes the
// test has at least one of them.
func keysOf(t test) ([]key, bool) {
	switch v := t.(type) {
	case *eqTest:
		return []key{{f: v.f, v: v.v}}, true
	case *inTest:
		return setKeys(v.f, v.set), len(v.set) > 0
	case *hasTest:
		return setKeys(v.f, v.set), len(v.set) > 0
	case *strTest:
		if v.op == "startsWith" && v.s != "" {
			return []key{{f: v.f, v: v.s, prefix: true}}, true
		}
	case andTest:
		var best []key
		found := false
		for _, s := range v {
			ks, ok := keysOf(s)
			if ok && (!found || better(ks, best)) {
				best, found = ks, true
			}
		}
		return best, found
	case orTest:
		var all []key
		for _, s := range v {
			ks, ok := keysOf(s)
			if !ok {
				return nil, false
			}
			all = append(all, ks...)
		}
		return all, true
	}
	return nil, false
}

// predKeys are the index keys of a predicate (conditions that all hold).
func predKeys(p []*cond) ([]key, bool) {
	var best []key
	found := false
	for _, c := range p {
		if c.test == nil {
			continue
		}
		if ks, ok := keysOf(c.test); ok && (!found || better(ks, best)) {
			best, found = ks, true
		}
	}
	return best, found
}

func setKeys(f *fieldInfo, set map[string]struct{}) []key {
	out := make([]key, 0, len(set))
	for s := range set {
		out = append(out, key{f: f, v: s})
	}
	return out
}

// commonValues are values most events have: a key on them selects little.
var commonValues = map[string]map[string]bool{
	"event.action":      {event.ActionStatement: true},
	"event.category":    {event.CategoryQuery: true, event.CategoryDML: true},
	"db.operation.name": {"SELECT": true, "INSERT": true, "UPDATE": true},
	"sql.operations":    {"SELECT": true, "INSERT": true, "UPDATE": true},
}

// lowSelectivity are fields whose every value is common.
var lowSelectivity = map[string]bool{"event.outcome": true, "db.system.name": true, "source.kind": true, "source.name": true, "server.address": true}

// keyScore guesses how selective a key set is: the higher, the fewer
// events it lets through.
func keyScore(ks []key) int {
	score := 3
	for _, k := range ks {
		s := 2
		switch {
		case lowSelectivity[k.f.name], commonValues[k.f.name][k.v]:
			s = 0
		case k.prefix:
			s = 1
		case strings.HasPrefix(k.f.name, "sql.") || k.f.name == "db.operation.name":
			s = 3
		}
		score = min(score, s)
	}
	return score
}

func better(a, b []key) bool {
	sa, sb := keyScore(a), keyScore(b)
	if sa != sb {
		return sa > sb
	}
	return len(a) < len(b)
}

// memoFields returns the string fields a condition reads, when there are
// one to three of them and nothing else (no whole structs, no
// non-string fields): its result is then a function of those values.
func memoFields(n ast.Node) []*fieldInfo {
	seen := map[*fieldInfo]bool{}
	var out []*fieldInfo
	ok := true
	var walk func(n ast.Node)
	walk = func(n ast.Node) {
		if !ok || n == nil {
			return
		}
		if f := fieldOf(n); f != nil {
			if f.kind != kindString {
				ok = false
				return
			}
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
			return
		}
		switch v := n.(type) {
		case *ast.IdentifierNode, *ast.CallNode:
			ok = false // a whole struct of the event, or a function
		case *ast.MemberNode:
			if root(v) != nil {
				ok = false // a struct-valued part of the event
				return
			}
			walk(v.Node)
			walk(v.Property)
		default:
			for _, c := range children(n) {
				walk(c)
			}
		}
	}
	walk(n)
	if !ok || len(out) == 0 || len(out) > 3 {
		return nil
	}
	return out
}

// root returns the identifier a member chain starts from, if it is one.
func root(n ast.Node) *ast.IdentifierNode {
	for {
		switch v := n.(type) {
		case *ast.IdentifierNode:
			return v
		case *ast.MemberNode:
			n = v.Node
		default:
			return nil
		}
	}
}

func children(n ast.Node) []ast.Node {
	switch v := n.(type) {
	case *ast.UnaryNode:
		return []ast.Node{v.Node}
	case *ast.BinaryNode:
		return []ast.Node{v.Left, v.Right}
	case *ast.ChainNode:
		return []ast.Node{v.Node}
	case *ast.MemberNode:
		return []ast.Node{v.Node, v.Property}
	case *ast.SliceNode:
		return []ast.Node{v.Node, v.From, v.To}
	case *ast.CallNode:
		return append([]ast.Node{v.Callee}, v.Arguments...)
	case *ast.BuiltinNode:
		out := append([]ast.Node(nil), v.Arguments...)
		if v.Map != nil {
			out = append(out, v.Map)
		}
		return out
	case *ast.PredicateNode:
		return []ast.Node{v.Node}
	case *ast.VariableDeclaratorNode:
		return []ast.Node{v.Value, v.Expr}
	case *ast.SequenceNode:
		return v.Nodes
	case *ast.ConditionalNode:
		return []ast.Node{v.Cond, v.Exp1, v.Exp2}
	case *ast.ArrayNode:
		return v.Nodes
	case *ast.MapNode:
		return v.Pairs
	case *ast.PairNode:
		return []ast.Node{v.Key, v.Value}
	}
	return nil
}
