package pgsql

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/vigildb/vigil/stmt/classify"
	"io"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/vigildb/vigil/stmt/lex"
)

// plRes is what a PL/pgSQL body does.
type plRes struct {
	dynamic  bool       // EXECUTEs text built at run time
	inner    []*stmtRes // statements it runs (DO only)
	routines []string   // functions called in its expressions
	objects  []string   // relations read in its expressions
	err      error      // why the body could not be analysed (informational)
}

// plpgsql analyses a DO body or a PL/pgSQL function body.
//
// libpg_query's PL/pgSQL parser aborts the process (assert / NULL
// dereference, libpg_query issue #362) on a CREATE FUNCTION or DO without an
// AS body, and it compiles every such statement in its input. It is
// therefore only given stmtText, a single top-level statement that the main
// parser already accepted and that has a body — checked here again
// lexically — and only after the body passed the nesting guard.
// execute: the body runs now (DO), so its statements are inner statements;
// for CREATE FUNCTION only whether it builds and EXECUTEs hidden SQL matters.
func (a *analysis) plpgsql(stmtText, body string, depth int, execute bool) plRes {
	var res plRes
	if depth >= maxInnerDepth || !startsWithWord(stmtText, "do", "create") {
		res.dynamic = lexDynamic(body)
		return res
	}
	if err := a.guard(body, true); err != nil {
		res.dynamic = lexDynamic(body)
		res.err = err
		return res
	}
	js, err := safePlpgsql(stmtText)
	if err != nil {
		res.dynamic = lexDynamic(body)
		res.err = err
		return res
	}
	root, err := parseJSON(js)
	if err != nil {
		res.dynamic = lexDynamic(body)
		res.err = fmt.Errorf("pgsql: reading PL/pgSQL tree: %w", err)
		return res
	}
	w := plWalk{a: a, depth: depth, execute: execute, res: &res}
	w.walk(root, "")
	return res
}

// maxInnerDepth bounds DO -> EXECUTE -> DO ... recursion.
const maxInnerDepth = 4

// startsWithWord reports whether text's first word is one of words.
func startsWithWord(text string, words ...string) bool {
	lx := lex.New(text)
	t := lx.NextSignificant()
	if t.Kind != lex.Word {
		return false
	}
	for _, w := range words {
		if lex.EqualFold(text[t.Start:t.End], w) {
			return true
		}
	}
	return false
}

func safePlpgsql(text string) (js string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pgsql: PL/pgSQL parser panic: %v", r)
		}
	}()
	js, err = pg.ParsePlPgSqlToJSON(text)
	if err != nil {
		return "", fmt.Errorf("pgsql: parsing PL/pgSQL: %w", err)
	}
	return js, nil
}

// ---- order-preserving JSON ----

// jv is a JSON value that keeps object key order (Go maps do not, and the
// order of a body's statements must be deterministic).
type jv struct {
	kind byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	keys []string
	vals []*jv
	s    string
}

func (v *jv) get(k string) *jv {
	if v == nil {
		return nil
	}
	for i, key := range v.keys {
		if key == k {
			return v.vals[i]
		}
	}
	return nil
}

func parseJSON(s string) (*jv, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	return readJSON(dec, 0)
}

func readJSON(dec *json.Decoder, depth int) (*jv, error) {
	if depth > 2000 {
		return nil, fmt.Errorf("nesting too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			v := &jv{kind: 'o'}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				val, err := readJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				v.keys = append(v.keys, k)
				v.vals = append(v.vals, val)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return v, nil
		case '[':
			v := &jv{kind: 'a'}
			for dec.More() {
				val, err := readJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				v.vals = append(v.vals, val)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return v, nil
		}
	case string:
		return &jv{kind: 's', s: t}, nil
	case json.Number:
		return &jv{kind: 'n', s: t.String()}, nil
	case bool:
		return &jv{kind: 'b', s: strconv.FormatBool(t)}, nil
	case nil:
		return &jv{kind: 'z'}, nil
	}
	return nil, io.ErrUnexpectedEOF
}

// ---- walking the PL/pgSQL tree ----

type plWalk struct {
	a       *analysis
	depth   int
	execute bool
	res     *plRes
}

// dynKeys: per PL/pgSQL statement, the member holding dynamically executed
// text.
var dynKeys = map[string]string{
	"PLpgSQL_stmt_dynexecute":   "query",
	"PLpgSQL_stmt_dynfors":      "query",
	"PLpgSQL_stmt_return_query": "dynquery",
	"PLpgSQL_stmt_open":         "dynquery",
}

func (w *plWalk) walk(n *jv, ctx string) {
	if n == nil {
		return
	}
	switch n.kind {
	case 'a':
		for _, v := range n.vals {
			w.walk(v, ctx)
		}
	case 'o':
		for i, k := range n.keys {
			v := n.vals[i]
			if k == "PLpgSQL_expr" {
				w.expr(v, ctx)
				continue
			}
			if dk, ok := dynKeys[k]; ok && v.kind == 'o' {
				for j, kk := range v.keys {
					c := ""
					if kk == dk {
						c = "dyn"
					}
					w.walk(v.vals[j], c)
				}
				continue
			}
			w.walk(v, "")
		}
	}
}

func (w *plWalk) expr(v *jv, ctx string) {
	q := v.get("query")
	if q == nil || q.kind != 's' {
		return
	}
	mode := "0"
	if m := v.get("parseMode"); m != nil {
		mode = m.s
	}
	switch {
	case ctx == "dyn":
		w.dynamic(q.s)
	case !w.execute:
	case mode == "0":
		stmts, _ := w.a.statements(q.s, w.depth+1)
		w.res.inner = append(w.res.inner, stmts...)
	case mode == "2":
		w.expression(q.s)
	default: // 3, 4, 5: assignments "target := expr"
		w.expression(assignRHS(q.s))
	}
}

// assignRHS returns the expression of a PL/pgSQL assignment "x := expr".
func assignRHS(q string) string {
	lx := lex.New(q)
	depth := 0
	for {
		t := lx.Next()
		if t.Kind == lex.EOF {
			return q
		}
		txt := q[t.Start:t.End]
		switch {
		case txt == "(" || txt == "[":
			depth++
		case txt == ")" || txt == "]":
			depth--
		case depth == 0 && (txt == ":=" || txt == "="):
			return q[t.End:]
		}
	}
}

// expression records the routines and relations of a PL/pgSQL expression.
func (w *plWalk) expression(e string) {
	if strings.TrimSpace(e) == "" {
		return
	}
	tree, err := w.a.parse("SELECT " + e)
	if err != nil || len(tree.Stmts) != 1 {
		return
	}
	s := &stmtRes{}
	s.scan(tree.Stmts[0].Stmt, true)
	for _, r := range s.sql.Routines {
		w.res.routines = classify.AppendUniq(w.res.routines, r)
	}
	for _, o := range s.objects {
		w.res.objects = classify.AppendUniq(w.res.objects, o)
	}
}

// dynamic handles EXECUTE <expr>: a plain literal is ordinary SQL; anything
// else (concatenation, decode(), chr(), a variable) is dynamic execution.
// Constant expressions are folded so that the hidden statement is still
// classified.
func (w *plWalk) dynamic(e string) {
	tree, err := w.a.parse("SELECT " + e)
	if err != nil || len(tree.Stmts) != 1 {
		w.res.dynamic = true
		return
	}
	sel := tree.Stmts[0].Stmt.GetSelectStmt()
	if sel == nil || len(sel.TargetList) != 1 {
		w.res.dynamic = true
		return
	}
	val := sel.TargetList[0].GetResTarget().GetVal()
	sql := ""
	if c := val.GetAConst(); c != nil && c.GetSval() != nil {
		sql = c.GetSval().Sval
	} else {
		w.res.dynamic = true
		f := folder{}
		if s, ok := f.fold(val, 0); ok {
			sql = s
		}
	}
	if !w.execute {
		return
	}
	s := &stmtRes{}
	s.scan(val, false)
	for _, r := range s.sql.Routines {
		w.res.routines = classify.AppendUniq(w.res.routines, r)
	}
	if sql != "" {
		stmts, _ := w.a.statements(sql, w.depth+1)
		w.res.inner = append(w.res.inner, stmts...)
	}
}

// ---- constant folding ----

// folder evaluates constant text expressions the way an obfuscated body
// builds its SQL: 'a' || 'b', chr(68), decode('...', 'base64'),
// convert_from(decode(...), 'UTF8'), format('%s', ...), concat(...).
type folder struct {
	size int
}

const maxFolded = 1 << 16

func (f *folder) fold(n *pg.Node, depth int) (string, bool) {
	if n == nil || depth > 64 {
		return "", false
	}
	s, ok := f.fold1(n, depth)
	if ok {
		f.size += len(s)
		if f.size > maxFolded*4 || len(s) > maxFolded {
			return "", false
		}
	}
	return s, ok
}

func (f *folder) fold1(n *pg.Node, depth int) (string, bool) {
	switch v := n.Node.(type) {
	case *pg.Node_AConst:
		return constValue(v.AConst)
	case *pg.Node_TypeCast:
		s, ok := f.fold(v.TypeCast.Arg, depth+1)
		if !ok {
			return "", false
		}
		if t := strings.ToLower(nameOf(v.TypeCast.GetTypeName().GetNames())); strings.HasSuffix(t, "bytea") && strings.HasPrefix(s, `\x`) {
			b, err := hex.DecodeString(s[2:])
			if err != nil {
				return "", false
			}
			return string(b), true
		}
		return s, true
	case *pg.Node_AExpr:
		e := v.AExpr
		if e.Kind != pg.A_Expr_Kind_AEXPR_OP || nameOf(e.Name) != "||" {
			return "", false
		}
		l, ok := f.fold(e.Lexpr, depth+1)
		if !ok {
			return "", false
		}
		r, ok := f.fold(e.Rexpr, depth+1)
		if !ok {
			return "", false
		}
		return l + r, true
	case *pg.Node_FuncCall:
		return f.call(v.FuncCall, depth)
	}
	return "", false
}

func (f *folder) call(fc *pg.FuncCall, depth int) (string, bool) {
	name := strings.ToLower(nameOf(fc.Funcname))
	name = strings.TrimPrefix(name, "pg_catalog.")
	args := make([]string, len(fc.Args))
	for i, a := range fc.Args {
		s, ok := f.fold(a, depth+1)
		if !ok {
			return "", false
		}
		args[i] = s
	}
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch name {
	case "chr":
		c, err := strconv.Atoi(strings.TrimSpace(arg(0)))
		if err != nil || c <= 0 || c > 0x10FFFF {
			return "", false
		}
		return string(rune(c)), true
	case "decode":
		return decodeText(arg(0), strings.ToLower(arg(1)))
	case "encode":
		switch strings.ToLower(arg(1)) {
		case "base64":
			return base64.StdEncoding.EncodeToString([]byte(arg(0))), true
		case "hex":
			return hex.EncodeToString([]byte(arg(0))), true
		case "escape":
			return arg(0), true
		}
		return "", false
	case "convert_from", "convert_to", "convert", "text", "lower", "upper", "btrim", "ltrim", "rtrim", "quote_ident":
		if len(args) == 0 {
			return "", false
		}
		switch name {
		case "lower":
			return strings.ToLower(args[0]), true
		case "upper":
			return strings.ToUpper(args[0]), true
		case "btrim", "ltrim", "rtrim":
			if len(args) > 1 {
				return "", false
			}
			return strings.TrimSpace(args[0]), true
		}
		return args[0], true
	case "quote_literal", "quote_nullable":
		return "'" + strings.ReplaceAll(arg(0), "'", "''") + "'", true
	case "reverse":
		r := []rune(arg(0))
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		return string(r), true
	case "replace":
		if len(args) != 3 {
			return "", false
		}
		return strings.ReplaceAll(args[0], args[1], args[2]), true
	case "repeat":
		k, err := strconv.Atoi(strings.TrimSpace(arg(1)))
		if err != nil || k < 0 || k*len(arg(0)) > maxFolded {
			return "", false
		}
		return strings.Repeat(arg(0), k), true
	case "concat":
		return strings.Join(args, ""), true
	case "concat_ws":
		if len(args) == 0 {
			return "", false
		}
		return strings.Join(args[1:], args[0]), true
	case "substr", "substring":
		r := []rune(arg(0))
		from, err := strconv.Atoi(strings.TrimSpace(arg(1)))
		if err != nil {
			return "", false
		}
		start := max(from-1, 0)
		end := len(r)
		if len(args) > 2 {
			n, err := strconv.Atoi(strings.TrimSpace(arg(2)))
			if err != nil || n < 0 {
				return "", false
			}
			end = min(from-1+n, len(r))
		}
		if start >= end || start >= len(r) {
			return "", true
		}
		return string(r[start:end]), true
	case "format":
		return formatText(args)
	}
	return "", false
}

// decodeText implements decode(text, 'base64'|'hex'|'escape').
func decodeText(s, format string) (string, bool) {
	switch format {
	case "base64":
		clean := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
				return -1
			}
			return r
		}, s)
		b, err := base64.StdEncoding.DecodeString(clean)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(clean, "="))
			if err != nil {
				return "", false
			}
		}
		return string(b), true
	case "hex":
		b, err := hex.DecodeString(strings.TrimSpace(s))
		if err != nil {
			return "", false
		}
		return string(b), true
	case "escape":
		var b bytes.Buffer
		for i := 0; i < len(s); i++ {
			if s[i] == '\\' && i+1 < len(s) {
				if s[i+1] == '\\' {
					b.WriteByte('\\')
					i++
					continue
				}
				if i+3 < len(s) {
					if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
						b.WriteByte(byte(v))
						i += 3
						continue
					}
				}
			}
			b.WriteByte(s[i])
		}
		return b.String(), true
	}
	return "", false
}

// formatText implements format() for %s, %I, %L and %%.
func formatText(args []string) (string, bool) {
	if len(args) == 0 {
		return "", false
	}
	f := args[0]
	var b strings.Builder
	next := 1
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case '%':
			b.WriteByte('%')
		case 's', 'I', 'L':
			if next >= len(args) {
				return "", false
			}
			a := args[next]
			next++
			if f[i] == 'L' {
				a = "'" + strings.ReplaceAll(a, "'", "''") + "'"
			}
			b.WriteString(a)
		default:
			return "", false
		}
	}
	return b.String(), true
}
