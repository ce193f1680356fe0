package azure

import (
	"strings"

	"github.com/vigildb/vigil/stmt/lex"
)

// Cosmos DB SQL (NoSQL API) injection shapes, found lexically because the
// pipeline does not classify Cosmos queries: the names are those of
// sql.injection for PostgreSQL and MySQL.
//
//   - tautology: OR <const> <cmp> <const> (OR 1=1, OR 'a'='a', OR "x"="x"),
//     OR x = x with the same path on both sides, OR <const> (OR true, OR 1),
//     each ended by the end of the query, a closing parenthesis, AND/OR,
//     ORDER/GROUP/OFFSET, or a comment;
//   - comment_truncation: a -- comment (or an unterminated /*) right after a
//     string literal, or holding a quote: c.id = 'x'--' AND c.tenant = 't';
//   - stacked: a ';' followed by more text (Cosmos runs one statement; a
//     second one is an injection attempt).
//
// Parameterized queries (@id) never match: values are not in the text.

type ctok struct {
	kind lex.Kind
	w    string // lower-case text for words and operators
}

func (t ctok) is(w string) bool { return t.kind == lex.Word && t.w == w }
func (t ctok) op(o string) bool { return (t.kind == lex.Op || t.kind == lex.Punct) && t.w == o }

// injection returns the shapes found in a Cosmos query.
func injection(q string) []string {
	if len(q) > 1<<20 {
		q = q[:1<<20]
	}
	lx := lex.New(q)
	toks := make([]ctok, 0, 32)
	trunc, stacked := false, false
	var prev lex.Token
	semi := false
	for {
		t := lx.Next()
		if t.Kind == lex.EOF {
			break
		}
		if t.Kind == lex.Comment {
			if prev.Kind == lex.String && (q[t.Start] == '-' || t.Unterminated) &&
				(t.Start == prev.End || strings.IndexByte(q[t.Start:t.End], '\'') >= 0 || strings.IndexByte(q[t.Start:t.End], '"') >= 0) {
				trunc = true
			}
			if len(toks) > 0 {
				toks = append(toks, ctok{kind: lex.Comment})
			}
			continue
		}
		if semi {
			stacked = true
		}
		w := q[t.Start:t.End]
		if t.Kind == lex.Word || t.Kind == lex.Op {
			w = strings.ToLower(w)
		}
		if t.Kind == lex.Punct && w == ";" {
			semi = true
		}
		toks = append(toks, ctok{kind: t.Kind, w: w})
		prev = t
	}
	var out []string
	for k := range toks {
		if toks[k].is("or") && tautologyAt(toks, k+1) {
			out = append(out, "tautology")
			break
		}
	}
	if stacked {
		out = append(out, "stacked")
	}
	if trunc {
		out = append(out, "comment_truncation")
	}
	return out
}

// constant: a literal (strings in either quote, numbers), TRUE/FALSE/NULL.
func (t ctok) constant() bool {
	return t.kind == lex.String || t.kind == lex.QIdent || t.kind == lex.Number || t.is("true") || t.is("false") || t.is("null")
}

// operand reads a constant or a path (c.id, c["id"], c.a.b[0]) at k.
func operand(toks []ctok, k int) (path string, isConst bool, next int) {
	if k >= len(toks) {
		return "", false, k
	}
	t := toks[k]
	switch {
	case (t.op("-") || t.op("+")) && k+1 < len(toks) && toks[k+1].kind == lex.Number:
		return "", true, k + 2
	case t.constant():
		return "", true, k + 1
	case t.kind == lex.Word:
		var b strings.Builder
		b.WriteString(t.w)
		k++
		for k < len(toks) {
			switch {
			case toks[k].op(".") && k+1 < len(toks) && toks[k+1].kind == lex.Word:
				b.WriteString("." + toks[k+1].w)
				k += 2
				continue
			case toks[k].op("[") && k+2 < len(toks) && toks[k+2].op("]"):
				b.WriteString("[" + toks[k+1].w + "]")
				k += 3
				continue
			}
			break
		}
		return b.String(), false, k
	}
	return "", false, k
}

// terminator: what may follow an injected tautology.
func terminator(toks []ctok, k int) bool {
	if k >= len(toks) {
		return true
	}
	t := toks[k]
	return t.kind == lex.Comment || t.op(")") || t.op(";") || t.is("and") || t.is("or") || t.is("order") || t.is("group") || t.is("offset") || t.is("limit")
}

func tautologyAt(toks []ctok, k int) bool {
	for k < len(toks) && (toks[k].op("(") || toks[k].is("not")) {
		k++
	}
	lpath, lconst, j := operand(toks, k)
	if j == k {
		return false
	}
	if j < len(toks) {
		op := toks[j]
		if op.kind == lex.Op && (op.w == "=" || op.w == "!=" || op.w == "<>" || op.w == "<" || op.w == ">" || op.w == "<=" || op.w == ">=") {
			rpath, rconst, e := operand(toks, j+1)
			if e == j+1 {
				return false
			}
			for e < len(toks) && toks[e].op(")") {
				e++
			}
			if !terminator(toks, e) {
				return false
			}
			if lconst && rconst {
				return true
			}
			return lpath != "" && lpath == rpath && (op.w == "=" || op.w == "<=" || op.w == ">=")
		}
	}
	if lconst {
		for j < len(toks) && toks[j].op(")") {
			j++
		}
		return terminator(toks, j) && !toks[k].is("null") && !toks[k].is("false")
	}
	return false
}
