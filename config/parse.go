package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/vigildb/vigil/internal/yamlpos"
)

// parser walks the YAML AST of a config file node by node (rather than
// unmarshalling into structs) so that every problem, not only YAML syntax,
// is reported at the line and column of the node at fault.
type cparser struct {
	name    string
	dir     string
	data    []byte
	errs    Errors
	anchors map[string]ast.Node
	at      map[string]Pos // where each key seen was set
}

func newParser(name string, data []byte) *cparser {
	return &cparser{name: name, dir: filepath.Dir(name), data: data, at: map[string]Pos{}}
}

func (p *cparser) errorf(pos Pos, key, format string, args ...any) {
	p.errs = append(p.errs, &Error{Pos: pos, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// errAt reports a problem with key at the place key was set, or at the
// top of the file when it was not set.
func (p *cparser) errAt(key, format string, args ...any) {
	pos, ok := p.at[key]
	if !ok {
		pos = Pos{File: p.name, Line: 1, Column: 1}
	}
	p.errorf(pos, key, format, args...)
}

// pos is where a node starts (see yamlpos.Of).
func (p *cparser) pos(n ast.Node) Pos { return yamlpos.Of(p.name, n) }

func (p *cparser) tokPos(tk *token.Token) Pos { return yamlpos.OfToken(p.name, tk) }

// valPos is where a key's value is, or the key itself when the value is
// empty.
func (p *cparser) valPos(mv *ast.MappingValueNode) Pos {
	v, _ := p.resolveQuiet(mv.Value)
	if _, null := v.(*ast.NullNode); null || v == nil {
		return p.pos(mv.Key)
	}
	if pos := p.pos(mv.Value); pos.Line > 0 {
		return pos
	}
	return p.pos(mv.Key)
}

func (p *cparser) resolveQuiet(n ast.Node) (ast.Node, bool) {
	for range 100 {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			t, ok := p.anchors[v.Value.GetToken().Value]
			if !ok {
				return nil, false
			}
			n = t
		case *ast.TagNode:
			n = v.Value
		default:
			return n, true
		}
	}
	return n, true
}

// resolve looks through anchors, aliases and tags.
func (p *cparser) resolve(n ast.Node, key string) (ast.Node, bool) {
	for range 100 {
		switch v := n.(type) {
		case *ast.AnchorNode:
			if p.anchors == nil {
				p.anchors = map[string]ast.Node{}
			}
			p.anchors[v.Name.GetToken().Value] = v.Value
			n = v.Value
		case *ast.AliasNode:
			name := v.Value.GetToken().Value
			t, ok := p.anchors[name]
			if !ok {
				p.errorf(p.pos(v), key, "unknown alias *%s", name)
				return nil, false
			}
			n = t
		case *ast.TagNode:
			n = v.Value
		default:
			return n, true
		}
	}
	return n, true
}

func nodeKind(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "mapping"
	case *ast.SequenceNode:
		return "list"
	case *ast.NullNode:
		return "empty value"
	}
	return "single value"
}

func isNull(n ast.Node) bool {
	_, ok := n.(*ast.NullNode)
	return n == nil || ok
}

// scalar returns the text of a scalar node; null reads as "".
func (p *cparser) scalar(n ast.Node, key string) (string, bool) {
	n, ok := p.resolve(n, key)
	if !ok {
		return "", false
	}
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return v.GetToken().Value, true
	case *ast.NullNode, nil:
		return "", true
	}
	p.errorf(p.pos(n), key, "must be a single value, not a %s", nodeKind(n))
	return "", false
}

// str reads a plain (non-secret) string field. A ${env:...} or
// ${file:...} reference is refused: only secret fields resolve them.
func (p *cparser) str(mv *ast.MappingValueNode, key string) (string, bool) {
	s, ok := p.scalar(mv.Value, key)
	if ok && refRE.MatchString(s) {
		p.errorf(p.valPos(mv), key, "${env:...} and ${file:...} are only resolved in secret fields (http.token); write the value itself")
		return "", false
	}
	return s, ok
}

func (p *cparser) boolean(mv *ast.MappingValueNode, key string) (bool, bool) {
	n, ok := p.resolve(mv.Value, key)
	if !ok {
		return false, false
	}
	if v, ok := n.(*ast.BoolNode); ok {
		return v.Value, true
	}
	p.errorf(p.valPos(mv), key, "must be true or false")
	return false, false
}

// strList reads a list of scalars; a single scalar is a one-item list.
func (p *cparser) strList(mv *ast.MappingValueNode, key string) ([]string, []Pos, bool) {
	n, ok := p.resolve(mv.Value, key)
	if !ok {
		return nil, nil, false
	}
	switch v := n.(type) {
	case *ast.NullNode, nil:
		return nil, nil, true
	case *ast.SequenceNode:
		out := make([]string, 0, len(v.Values))
		pos := make([]Pos, 0, len(v.Values))
		ok := true
		for i, item := range v.Values {
			k := fmt.Sprintf("%s[%d]", key, i)
			if r, _ := p.resolveQuiet(item); nodeKind(r) == "mapping" && v.IsFlowStyle {
				p.errorf(p.pos(item), k, "must be a single value, not a mapping (inside [...] quote values that contain \":\")")
				ok = false
				continue
			}
			s, good := p.scalar(item, k)
			if good && refRE.MatchString(s) {
				p.errorf(p.pos(item), k, "${env:...} and ${file:...} are only resolved in secret fields (http.token); write the value itself")
				good = false
			}
			ok = ok && good
			out = append(out, s)
			pos = append(pos, p.pos(item))
		}
		return out, pos, ok
	case *ast.MappingNode, *ast.MappingValueNode:
		p.errorf(p.valPos(mv), key, "must be a list, not a mapping")
		return nil, nil, false
	}
	s, ok := p.str(mv, key)
	return []string{s}, []Pos{p.valPos(mv)}, ok
}

// fields walks a mapping, calling fn for each known key and reporting
// unknown ones (with the closest known key as a suggestion). It returns
// false when n is not a mapping.
func (p *cparser) fields(n ast.Node, key string, known []string, fn func(k, full string, mv *ast.MappingValueNode)) bool {
	n, ok := p.resolve(n, key)
	if !ok {
		return false
	}
	var values []*ast.MappingValueNode
	switch v := n.(type) {
	case *ast.MappingNode:
		values = v.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{v}
	case *ast.NullNode, nil:
		return true
	default:
		if key == "" {
			p.errorf(p.pos(n), "", "a config file is a mapping of keys to values, not a %s", nodeKind(n))
		} else {
			p.errorf(p.pos(n), key, "must be a mapping of keys to values, not a %s", nodeKind(n))
		}
		return false
	}
	for _, mv := range values {
		k, _ := p.scalar(mv.Key, key)
		full := k
		if key != "" {
			full = key + "." + k
		}
		if !contains(known, k) {
			p.unknown(mv, k, full, known)
			continue
		}
		p.at[full] = p.valPos(mv)
		fn(k, full, mv)
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *cparser) unknown(mv *ast.MappingValueNode, k, full string, known []string) {
	best, bestD := "", 3
	for _, c := range known {
		if d := editDistance(k, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best != "" {
		p.errorf(p.pos(mv.Key), full, "unknown key (did you mean %q?)", best)
		return
	}
	p.errorf(p.pos(mv.Key), full, "unknown key (known: %s)", strings.Join(known, ", "))
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// syntax reports a YAML syntax error at its position.
func (p *cparser) syntax(err error) {
	var ye yaml.Error
	if errors.As(err, &ye) {
		p.errorf(p.tokPos(ye.GetToken()), "", "%s", ye.GetMessage())
		return
	}
	p.errorf(Pos{File: p.name}, "", "%v", err)
}

func parseYAML(data []byte) (*ast.File, error) { return parser.ParseBytes(data, 0) }
