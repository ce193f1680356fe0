package detect

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"

	"github.com/vigildb/vigil/internal/yamlpos"
)

// yfile walks the YAML AST of one rule file. Rule files are read node by
// node rather than unmarshalled into structs so that every problem, not
// only YAML syntax, is reported with the line and column of the node at
// fault (the approach of Prometheus' rulefmt).
type yfile struct {
	name    string
	lines   []string
	src     int // index of the Source the file belongs to
	l       *loader
	anchors map[string]ast.Node
}

func (f *yfile) errorf(p Pos, format string, args ...any) {
	f.l.errs = append(f.l.errs, &Error{Pos: p, Msg: fmt.Sprintf(format, args...)})
}

// pos is where a node starts: the first key of a block mapping, the
// indicator of a block scalar, the opening quote of a quoted string.
func (f *yfile) pos(n ast.Node) Pos { return yamlpos.Of(f.name, n) }

func (f *yfile) tokPos(tk *token.Token) Pos { return yamlpos.OfToken(f.name, tk) }

// resolve looks through anchors, aliases and tags.
func (f *yfile) resolve(n ast.Node) (ast.Node, bool) {
	for i := 0; i < 100; i++ {
		switch v := n.(type) {
		case *ast.AnchorNode:
			if f.anchors == nil {
				f.anchors = map[string]ast.Node{}
			}
			f.anchors[v.Name.GetToken().Value] = v.Value
			n = v.Value
		case *ast.AliasNode:
			name := v.Value.GetToken().Value
			t, ok := f.anchors[name]
			if !ok {
				f.errorf(f.pos(v), "unknown alias *%s", name)
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

// scalar returns the text of a scalar node; null reads as "".
func (f *yfile) scalar(n ast.Node, what string) (string, bool) {
	n, ok := f.resolve(n)
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
	f.errorf(f.pos(n), "%s must be a single value, not a %s", what, nodeKind(n))
	return "", false
}

// text is scalar for conditions: it also records how to map an offset in
// the value back to the file, for expr's error positions.
func (f *yfile) text(n ast.Node, what string) (text, bool) {
	n, ok := f.resolve(n)
	if !ok {
		return text{}, false
	}
	s, ok := f.scalar(n, what)
	if !ok {
		return text{}, false
	}
	t := text{s: s, pos: f.pos(n)}
	switch v := n.(type) {
	case *ast.LiteralNode:
		// A block scalar: the value starts on the line after the indicator,
		// at the block's indentation.
		nlines := strings.Count(strings.TrimRight(s, "\n"), "\n") + 1
		indent := -1
		for i := t.pos.Line; i < len(f.lines) && len(t.segs) < nlines; i++ {
			line := f.lines[i]
			if indent < 0 {
				if strings.TrimSpace(line) == "" {
					continue
				}
				indent = len(line) - len(strings.TrimLeft(line, " "))
			}
			seg := segment{line: i + 1, col: indent + 1}
			if len(line) > indent {
				seg.runes = utf8.RuneCountInString(line[indent:])
			}
			t.segs = append(t.segs, seg)
		}
	case *ast.StringNode:
		col := t.pos.Column
		if v.Token.Type == token.DoubleQuoteType || v.Token.Type == token.SingleQuoteType {
			col++
		}
		nlines := strings.Count(strings.TrimSpace(v.Token.Origin), "\n") + 1
		if nlines == 1 {
			t.segs = []segment{{line: t.pos.Line, col: col, runes: utf8.RuneCountInString(s)}}
			if line := t.pos.Line - 1; line < len(f.lines) && v.Token.Type != token.DoubleQuoteType && v.Token.Type != token.SingleQuoteType {
				t.comment = strings.Contains(f.lines[line][min(col-1, len(f.lines[line])):], " #")
			}
			break
		}
		// A flow scalar over several lines: folded into one line with a
		// space for each line break.
		for i := t.pos.Line - 1; i < len(f.lines) && len(t.segs) < nlines; i++ {
			line := strings.TrimRight(f.lines[i], " \r")
			c := 1
			if i == t.pos.Line-1 {
				c = col
			} else {
				c = len(line) - len(strings.TrimLeft(line, " \t")) + 1
			}
			seg := segment{line: i + 1, col: c}
			if len(line) >= c-1 {
				seg.runes = utf8.RuneCountInString(line[c-1:])
			}
			t.segs = append(t.segs, seg)
		}
	}
	return t, true
}

// strList reads a list of scalars; a single scalar is a one-item list.
func (f *yfile) strList(n ast.Node, what string) ([]string, []Pos, bool) {
	n, ok := f.resolve(n)
	if !ok {
		return nil, nil, false
	}
	switch v := n.(type) {
	case *ast.NullNode:
		return nil, nil, true
	case *ast.SequenceNode:
		out := make([]string, 0, len(v.Values))
		pos := make([]Pos, 0, len(v.Values))
		ok := true
		for _, item := range v.Values {
			s, good := f.scalar(item, what+" item")
			ok = ok && good
			out = append(out, s)
			pos = append(pos, f.pos(item))
		}
		return out, pos, ok
	case *ast.MappingNode, *ast.MappingValueNode:
		f.errorf(f.pos(n), "%s must be a list, not a mapping", what)
		return nil, nil, false
	}
	s, ok := f.scalar(n, what)
	return []string{s}, []Pos{f.pos(n)}, ok
}

func (f *yfile) integer(n ast.Node, what string) (int, bool) {
	n, ok := f.resolve(n)
	if !ok {
		return 0, false
	}
	if v, ok := n.(*ast.IntegerNode); ok {
		i, err := strconv.Atoi(v.Token.Value)
		if err == nil {
			return i, true
		}
	}
	f.errorf(f.pos(n), "%s must be an integer", what)
	return 0, false
}

func (f *yfile) boolean(n ast.Node, what string) (bool, bool) {
	n, ok := f.resolve(n)
	if !ok {
		return false, false
	}
	if v, ok := n.(*ast.BoolNode); ok {
		return v.Value, true
	}
	f.errorf(f.pos(n), "%s must be true or false", what)
	return false, false
}

func (f *yfile) duration(n ast.Node, what string) (int64, bool) {
	s, ok := f.scalar(n, what)
	if !ok {
		return 0, false
	}
	d, err := parseDuration(s)
	if err != nil {
		f.errorf(f.pos(n), "%s: %v", what, err)
		return 0, false
	}
	return int64(d), true
}

// mapping returns the key/value pairs of a mapping node.
func (f *yfile) mapping(n ast.Node, what string) ([]*ast.MappingValueNode, bool) {
	n, ok := f.resolve(n)
	if !ok {
		return nil, false
	}
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}, true
	case *ast.NullNode:
		return nil, true
	}
	f.errorf(f.pos(n), "%s must be a mapping, not a %s", what, nodeKind(n))
	return nil, false
}

// sequence returns the items of a list node.
func (f *yfile) sequence(n ast.Node, what string) ([]ast.Node, bool) {
	n, ok := f.resolve(n)
	if !ok {
		return nil, false
	}
	switch v := n.(type) {
	case *ast.SequenceNode:
		return v.Values, true
	case *ast.NullNode:
		return nil, true
	}
	f.errorf(f.pos(n), "%s must be a list, not a %s", what, nodeKind(n))
	return nil, false
}

func (f *yfile) key(mv *ast.MappingValueNode) string {
	s, _ := f.scalar(mv.Key, "key")
	return s
}

// unknownField reports a key that is not part of the format, suggesting
// the closest known one.
func (f *yfile) unknownField(mv *ast.MappingValueNode, in string, known []string) {
	k := f.key(mv)
	best, bestD := "", 3
	for _, c := range known {
		if d := editDistance(k, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best != "" {
		f.errorf(f.pos(mv.Key), "unknown field %q in %s (did you mean %q?)", k, in, best)
		return
	}
	f.errorf(f.pos(mv.Key), "unknown field %q in %s", k, in)
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
