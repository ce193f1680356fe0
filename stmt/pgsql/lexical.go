package pgsql

import (
	"strings"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/stmt/classify"
	"github.com/vigildb/vigil/stmt/lex"
	"github.com/vigildb/vigil/stmt/mask"
)

// This file is the lexical side of the classifier: splitting a text into
// statements, recognising the command from its first keywords, a best-effort
// extraction of objects, roles, grants, settings and COPY targets for text
// the parser rejects, and the injection shapes (which are computed lexically
// for every statement, parsed or not, so that they do not depend on literal
// values and therefore agree with the cache key).

// ltok is one significant token of a statement.
type ltok struct {
	kind lex.Kind
	// w is the lower-case text of a Word, the value of a quoted identifier,
	// or the value of a string / dollar-quoted literal.
	w   string
	raw string
	// Unterminated literal or identifier.
	unterminated bool
}

func (t ltok) is(w string) bool    { return t.kind == lex.Word && t.w == w }
func (t ltok) punct(p string) bool { return (t.kind == lex.Punct || t.kind == lex.Op) && t.raw == p }
func (t ltok) literal() bool       { return t.kind == lex.String || t.kind == lex.Dollar }
func (t ltok) name() bool          { return t.kind == lex.Word || t.kind == lex.QIdent }
func (t ltok) constant() bool {
	return t.kind == lex.String || t.kind == lex.Number || t.kind == lex.Dollar
}
func (t ltok) isAny(ws ...string) bool {
	if t.kind != lex.Word {
		return false
	}
	for _, w := range ws {
		if t.w == w {
			return true
		}
	}
	return false
}

// lstmt is one statement of a text, split lexically.
type lstmt struct {
	text         string
	toks         []ltok
	commentTrunc bool // comment truncation seen in it
}

// maxLexStatements bounds the statements examined in one text.
const maxLexStatements = 256

// splitLex splits text into statements at top-level semicolons.
func splitLex(text string) []lstmt {
	var out []lstmt
	lx := lex.New(text)
	depth := 0
	start := 0
	var cur lstmt
	var prev lex.Token
	flush := func(end int) {
		if len(cur.toks) > 0 {
			cur.text = strings.TrimSpace(text[start:end])
			out = append(out, cur)
		}
		cur = lstmt{}
	}
	for {
		t := lx.Next()
		if t.Kind == lex.EOF {
			flush(len(text))
			break
		}
		if t.Kind == lex.Comment {
			if truncationComment(text, prev, t) {
				cur.commentTrunc = true
			}
			continue
		}
		prev = t
		raw := text[t.Start:t.End]
		if t.Kind == lex.Punct {
			switch raw {
			case "(", "[":
				depth++
			case ")", "]":
				depth = max(0, depth-1)
			case ";":
				if depth == 0 {
					flush(t.Start)
					start = t.End
					if len(out) >= maxLexStatements {
						return out
					}
					continue
				}
			}
		}
		tk := ltok{kind: t.Kind, raw: raw, unterminated: t.Unterminated}
		switch t.Kind {
		case lex.Word:
			tk.w = lex.Lower(raw)
		case lex.QIdent, lex.String, lex.Dollar:
			tk.w = lex.Unquote(raw, t.Kind, t.Escapes)
		}
		cur.toks = append(cur.toks, tk)
	}
	return out
}

// qname reads a possibly qualified name at toks[i]: a.b."C". It returns the
// rendered name (unquoted words lower-cased, quoted ones as written without
// quotes) and the index after it.
func qname(toks []ltok, i int) (string, int) {
	if i >= len(toks) || !toks[i].name() {
		return "", i
	}
	var b strings.Builder
	for {
		b.WriteString(toks[i].w)
		i++
		if i+1 < len(toks) && toks[i].punct(".") && (toks[i+1].name() || toks[i+1].punct("*")) {
			b.WriteByte('.')
			i++
			if toks[i].punct("*") {
				b.WriteByte('*')
				return b.String(), i + 1
			}
			continue
		}
		return b.String(), i
	}
}

// skipParens returns the index after the balanced group starting at toks[i]
// (which must be "(").
func skipParens(toks []ltok, i int) int {
	depth := 0
	for ; i < len(toks); i++ {
		if toks[i].punct("(") || toks[i].punct("[") {
			depth++
		} else if toks[i].punct(")") || toks[i].punct("]") {
			depth--
			if depth <= 0 {
				return i + 1
			}
		}
	}
	return i
}

// kinds are the object kinds after CREATE / ALTER / DROP, longest first.
var kinds = []struct {
	words []string
	kind  string // object type; also the command suffix
}{
	{[]string{"materialized", "view"}, "MATERIALIZED VIEW"},
	{[]string{"event", "trigger"}, "EVENT TRIGGER"},
	{[]string{"foreign", "data", "wrapper"}, "FOREIGN DATA WRAPPER"},
	{[]string{"foreign", "table"}, "FOREIGN TABLE"},
	{[]string{"user", "mapping"}, "USER MAPPING"},
	{[]string{"access", "method"}, "ACCESS METHOD"},
	{[]string{"text", "search", "configuration"}, "TEXT SEARCH CONFIGURATION"},
	{[]string{"text", "search", "dictionary"}, "TEXT SEARCH DICTIONARY"},
	{[]string{"text", "search", "parser"}, "TEXT SEARCH PARSER"},
	{[]string{"text", "search", "template"}, "TEXT SEARCH TEMPLATE"},
	{[]string{"operator", "class"}, "OPERATOR CLASS"},
	{[]string{"operator", "family"}, "OPERATOR FAMILY"},
	{[]string{"default", "privileges"}, "DEFAULT PRIVILEGES"},
	{[]string{"large", "object"}, "LARGE OBJECT"},
	{[]string{"table"}, "TABLE"}, {[]string{"view"}, "VIEW"}, {[]string{"index"}, "INDEX"},
	{[]string{"sequence"}, "SEQUENCE"}, {[]string{"function"}, "FUNCTION"}, {[]string{"procedure"}, "PROCEDURE"},
	{[]string{"routine"}, "ROUTINE"}, {[]string{"aggregate"}, "AGGREGATE"}, {[]string{"trigger"}, "TRIGGER"},
	{[]string{"schema"}, "SCHEMA"}, {[]string{"database"}, "DATABASE"}, {[]string{"extension"}, "EXTENSION"},
	{[]string{"type"}, "TYPE"}, {[]string{"domain"}, "DOMAIN"}, {[]string{"role"}, "ROLE"},
	{[]string{"user"}, "ROLE"}, {[]string{"group"}, "ROLE"}, {[]string{"policy"}, "POLICY"},
	{[]string{"rule"}, "RULE"}, {[]string{"server"}, "SERVER"}, {[]string{"subscription"}, "SUBSCRIPTION"},
	{[]string{"publication"}, "PUBLICATION"}, {[]string{"tablespace"}, "TABLESPACE"},
	{[]string{"collation"}, "COLLATION"}, {[]string{"conversion"}, "CONVERSION"},
	{[]string{"language"}, "LANGUAGE"}, {[]string{"cast"}, "CAST"}, {[]string{"transform"}, "TRANSFORM"},
	{[]string{"statistics"}, "STATISTICS"}, {[]string{"operator"}, "OPERATOR"}, {[]string{"system"}, "SYSTEM"},
	{[]string{"owned"}, "OWNED"}, {[]string{"event"}, "EVENT"}, {[]string{"schema"}, "SCHEMA"},
}

// createModifiers may appear between CREATE and the object kind.
var createModifiers = map[string]bool{
	"temp": true, "temporary": true, "global": true, "local": true, "unlogged": true, "unique": true,
	"trusted": true, "procedural": true, "recursive": true, "constraint": true, "default": true,
	"algorithm": true, "sql": true, "security": true, "invoker": true, "merge": true, "undefined": true,
}

// lexCommand recognises the command of a statement from its first keywords.
// It returns the operation (PostgreSQL command tag style), the object type,
// the index of the first object name (or -1) and whether OR REPLACE was
// written.
func lexCommand(toks []ltok) (op, objType string, nameAt int, replace bool) {
	nameAt = -1
	if len(toks) == 0 {
		return "", "", -1, false
	}
	i := 0
	for i < len(toks) && (toks[i].punct("(") || toks[i].kind == lex.Other) {
		i++ // (SELECT ...) UNION ..., stray bytes
	}
	if i >= len(toks) || toks[i].kind != lex.Word {
		return "", "", -1, false
	}
	w := toks[i].w
	next := func(k int) string {
		if k < len(toks) && toks[k].kind == lex.Word {
			return toks[k].w
		}
		return ""
	}
	switch w {
	case "select", "values":
		if selectInto(toks, i) {
			return "SELECT INTO", "TABLE", -1, false
		}
		return "SELECT", "", -1, false
	case "table":
		return "SELECT", "TABLE", i + 1, false
	case "with":
		// The main verb is the first top-level command word after the CTEs.
		depth := 0
		for k := i + 1; k < len(toks); k++ {
			t := toks[k]
			switch {
			case t.punct("("):
				depth++
			case t.punct(")"):
				depth--
			case depth == 0 && t.isAny("select", "insert", "update", "delete", "merge", "values"):
				sub := toks[k:]
				op, objType, at, _ := lexCommand(sub)
				if at >= 0 {
					at += k
				}
				return op, objType, at, false
			}
		}
		return "SELECT", "", -1, false
	case "insert", "merge":
		k := i + 1
		if next(k) == "into" {
			k++
		}
		return strings.ToUpper(w), "TABLE", k, false
	case "replace":
		k := i + 1
		if next(k) == "into" {
			k++
		}
		return "REPLACE", "TABLE", k, false
	case "update":
		k := i + 1
		if next(k) == "only" {
			k++
		}
		return "UPDATE", "TABLE", k, false
	case "delete":
		k := i + 1
		if next(k) == "from" {
			k++
		}
		if next(k) == "only" {
			k++
		}
		return "DELETE", "TABLE", k, false
	case "truncate":
		k := i + 1
		if next(k) == "table" {
			k++
		}
		if next(k) == "only" {
			k++
		}
		return "TRUNCATE TABLE", "TABLE", k, false
	case "copy":
		if i+1 < len(toks) && toks[i+1].name() {
			return "COPY", "TABLE", i + 1, false
		}
		return "COPY", "", -1, false
	case "create", "alter", "drop":
		return lexDDL(toks, i)
	case "grant", "revoke":
		return strings.ToUpper(w), "", -1, false
	case "set":
		switch next(i + 1) {
		case "constraints":
			return "SET CONSTRAINTS", "", -1, false
		case "password":
			return "SET PASSWORD", "ROLE", -1, false
		}
		return "SET", "", -1, false
	case "reset", "show", "checkpoint", "vacuum", "load", "do", "listen", "unlisten", "notify", "reindex",
		"cluster", "discard", "fetch", "move", "savepoint", "release", "deallocate", "explain", "execute",
		"kill", "flush", "shutdown", "use":
		return strings.ToUpper(w), "", -1, false
	case "analyze", "analyse":
		return "ANALYZE", "", -1, false
	case "describe", "desc":
		return "DESCRIBE", "TABLE", i + 1, false
	case "call":
		return "CALL", "PROCEDURE", i + 1, false
	case "begin":
		return "BEGIN", "", -1, false
	case "start":
		return "START TRANSACTION", "", -1, false
	case "commit", "end":
		if next(i+1) == "prepared" {
			return "COMMIT PREPARED", "", -1, false
		}
		return "COMMIT", "", -1, false
	case "rollback", "abort":
		if next(i+1) == "prepared" {
			return "ROLLBACK PREPARED", "", -1, false
		}
		return "ROLLBACK", "", -1, false
	case "prepare":
		if next(i+1) == "transaction" {
			return "PREPARE TRANSACTION", "", -1, false
		}
		return "PREPARE", "", -1, false
	case "lock":
		k := i + 1
		if next(k) == "table" {
			k++
		}
		return "LOCK TABLE", "TABLE", k, false
	case "declare":
		return "DECLARE CURSOR", "", -1, false
	case "close":
		return "CLOSE CURSOR", "", -1, false
	case "comment":
		return "COMMENT", "", -1, false
	case "security":
		return "SECURITY LABEL", "", -1, false
	case "refresh":
		return "REFRESH MATERIALIZED VIEW", "MATERIALIZED VIEW", i + 3, false
	case "import":
		return "IMPORT FOREIGN SCHEMA", "SCHEMA", i + 3, false
	case "reassign":
		return "REASSIGN OWNED", "", -1, false
	case "rename":
		if next(i+1) == "user" {
			return "RENAME USER", "ROLE", i + 2, false
		}
		return "RENAME TABLE", "TABLE", i + 2, false
	case "install", "uninstall":
		return strings.ToUpper(w) + " PLUGIN", "PLUGIN", i + 2, false
	}
	return strings.ToUpper(w), "", -1, false
}

// selectInto reports SELECT ... INTO at top level before FROM.
func selectInto(toks []ltok, i int) bool {
	depth := 0
	for k := i + 1; k < len(toks); k++ {
		t := toks[k]
		switch {
		case t.punct("("):
			depth++
		case t.punct(")"):
			depth--
		case depth == 0 && t.isAny("from", "where", "union", "group", "order", "limit"):
			return false
		case depth == 0 && t.is("into"):
			return !(k+1 < len(toks) && toks[k+1].isAny("outfile", "dumpfile"))
		}
	}
	return false
}

// lexDDL handles CREATE / ALTER / DROP.
func lexDDL(toks []ltok, i int) (op, objType string, nameAt int, replace bool) {
	verb := strings.ToUpper(toks[i].w)
	k := i + 1
	if verb == "CREATE" {
		for k < len(toks) && (toks[k].kind == lex.Word || toks[k].punct("=")) {
			if toks[k].punct("=") {
				k++
				continue
			}
			w := toks[k].w
			if w == "or" && k+1 < len(toks) && toks[k+1].is("replace") {
				replace = true
				k += 2
				continue
			}
			if w == "definer" {
				// MySQL: DEFINER = user@host | 'u'@'h' | CURRENT_USER.
				k++
				if k < len(toks) && toks[k].punct("=") {
					k++
				}
				k++
				for k+1 < len(toks) && toks[k].raw == "@" {
					k += 2
				}
				continue
			}
			if createModifiers[w] {
				k++
				continue
			}
			break
		}
	}
	for _, kd := range kinds {
		if k+len(kd.words) > len(toks) {
			continue
		}
		ok := true
		for j, w := range kd.words {
			if !toks[k+j].is(w) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		kind := kd.kind
		at := k + len(kd.words)
		switch kind {
		case "SYSTEM":
			return "ALTER SYSTEM", "", -1, replace
		case "OWNED":
			return verb + " OWNED", "", -1, replace
		case "DEFAULT PRIVILEGES":
			return "ALTER DEFAULT PRIVILEGES", "", -1, replace
		}
		// IF [NOT] EXISTS, CONCURRENTLY, ONLY.
		for at < len(toks) && toks[at].isAny("if", "not", "exists", "concurrently", "only") {
			at++
		}
		if kind == "TABLE" && verb == "CREATE" && tableAs(toks, at) {
			return "CREATE TABLE AS", "TABLE", at, replace
		}
		if kind == "INDEX" && verb == "CREATE" && at < len(toks) && toks[at].is("on") {
			return "CREATE INDEX", "INDEX", at + 1, replace
		}
		return verb + " " + kind, kind, at, replace
	}
	if k < len(toks) && toks[k].kind == lex.Word {
		return verb + " " + strings.ToUpper(toks[k].w), "", k + 1, replace
	}
	return verb, "", -1, replace
}

// tableAs reports CREATE TABLE name [(cols)] AS ...
func tableAs(toks []ltok, at int) bool {
	_, k := qname(toks, at)
	if k < len(toks) && toks[k].punct("(") {
		k = skipParens(toks, k)
	}
	return k < len(toks) && toks[k].is("as")
}

// lexNames reads a comma-separated list of names at toks[at] (function
// argument lists are skipped).
func lexNames(toks []ltok, at int, list bool) []string {
	var out []string
	for at >= 0 && at < len(toks) {
		n, k := qname(toks, at)
		if n == "" {
			break
		}
		out = append(out, n)
		if k < len(toks) && toks[k].punct("(") {
			k = skipParens(toks, k)
		}
		if !list || k >= len(toks) || !toks[k].punct(",") {
			break
		}
		at = k + 1
	}
	return out
}

// nonRoutines are words followed by "(" that are not function calls.
var nonRoutines = map[string]bool{
	"in": true, "values": true, "exists": true, "any": true, "all": true, "some": true, "not": true,
	"and": true, "or": true, "select": true, "from": true, "where": true, "join": true, "on": true,
	"using": true, "as": true, "table": true, "into": true, "over": true, "filter": true, "within": true,
	"row": true, "array": true, "case": true, "when": true, "then": true, "else": true, "end": true,
	"cast": true, "interval": true, "numeric": true, "decimal": true, "varchar": true, "char": true,
	"character": true, "bit": true, "varbit": true, "timestamp": true, "time": true, "float": true,
	"primary": true, "key": true, "unique": true, "check": true, "foreign": true, "constraint": true,
	"default": true, "generated": true, "identity": true, "partition": true, "by": true,
	"references": true, "with": true, "window": true, "lateral": true, "set": true, "returning": true,
	"conflict": true, "do": true, "update": true, "insert": true, "delete": true, "declare": true,
	"begin": true, "if": true, "loop": true, "exception": true, "raise": true, "perform": true,
	"return": true, "execute": true, "include": true, "grouping": true, "rollup": true, "cube": true,
	"options": true, "returns": true, "union": true, "except": true, "intersect": true, "only": true,
	"limit": true, "offset": true, "group": true, "order": true, "having": true, "distinct": true,
	"tables": true, "view": true, "index": true, "function": true, "procedure": true, "trigger": true,
	"type": true, "domain": true, "aggregate": true, "privileges": true, "schema": true, "call": false,
	"varying": true, "precision": true, "double": true, "int": true, "integer": true, "smallint": true,
	"bigint": true, "text": true, "boolean": true, "copy": true, "to": true, "program": true, "by_": true,
}

// afterNonRoutine: a name right after these words is a relation, type or
// prepared statement, not a call.
var afterNonRoutine = map[string]bool{
	"table": true, "into": true, "view": true, "index": true, "on": true, "references": true,
	"function": true, "procedure": true, "routine": true, "trigger": true, "type": true, "as": true,
	"execute": true, "prepare": true, "deallocate": true, "update": true, "only": true, "aggregate": true,
	"exists": true, "domain": true, "from": true, "join": true, "copy": true, "sequence": true,
	"returns": true, "setof": true, "extension": true, "language": true, "cast": true,
}

// lexRoutines lists "name(" calls lexically (for text the parser rejects).
func lexRoutines(toks []ltok) []string {
	var out []string
	for k := 0; k+1 < len(toks); k++ {
		t := toks[k]
		if !t.name() || !toks[k+1].punct("(") {
			continue
		}
		if t.kind == lex.Word && nonRoutines[t.w] {
			continue
		}
		name := t.w
		j := k
		// Qualified: schema.fn(
		for j >= 2 && toks[j-1].punct(".") && toks[j-2].name() {
			name = toks[j-2].w + "." + name
			j -= 2
		}
		if j > 0 {
			p := toks[j-1]
			if p.kind == lex.Word && afterNonRoutine[p.w] || p.punct("::") {
				continue
			}
		}
		out = appendRoutine(out, lex.Lower(name), false)
	}
	return out
}

// appendRoutine adds a routine name; a pg_catalog-qualified name is also
// added unqualified (pg_catalog.pg_read_file is pg_read_file), so that rules
// matching the plain name are not evaded by qualifying it.
func appendRoutine(out []string, name string, sqlSyntax bool) []string {
	if rest, ok := strings.CutPrefix(name, "pg_catalog."); ok {
		if !sqlSyntax {
			out = classify.AppendUniq(out, name)
		}
		return classify.AppendUniq(out, rest)
	}
	return classify.AppendUniq(out, name)
}

// lexical classifies a statement the parser rejected (or could not be given).
func (a *analysis) lexical(st lstmt) *stmtRes {
	toks := st.toks
	for len(toks) > 0 && toks[0].kind == lex.Other {
		toks = toks[1:] // stray bytes (NUL, backslash) before the command
	}
	op, objType, nameAt, replace := lexCommand(toks)
	s := &stmtRes{op: op, objType: objType}
	s.sql.Replace = replace
	s.sql.Routines = lexRoutines(toks)
	list := strings.HasPrefix(op, "DROP ") || op == "TRUNCATE TABLE"
	switch {
	case op == "SELECT" || op == "SELECT INTO" || op == "INSERT" || op == "UPDATE" || op == "DELETE" ||
		op == "MERGE" || op == "REPLACE" || op == "COPY" && nameAt < 0:
		if nameAt >= 0 {
			s.objects = lexNames(toks, nameAt, false)
		}
		for k := 0; k+1 < len(toks); k++ {
			if toks[k].isAny("from", "join", "into", "update", "table") && !toks[k+1].punct("(") {
				for _, n := range lexNames(toks, k+1, toks[k].w == "from") {
					s.objects = classify.AppendUniq(s.objects, n)
				}
			}
		}
		// The server rejected the statement, so NoWhere is only claimed for
		// an otherwise complete "DELETE FROM t" (truncated text).
		if op == "DELETE" && nameAt >= 0 {
			if _, end := qname(toks, nameAt); end == len(toks) {
				s.sql.NoWhere = true
			}
		}
		if len(s.objects) > 0 && s.objType == "" {
			s.objType = "TABLE"
		}
	case op == "CALL":
		if n := lexNames(toks, nameAt, false); len(n) > 0 {
			s.objects = n
			s.sql.Routines = appendRoutine(s.sql.Routines, n[0], false)
		}
	case nameAt >= 0:
		s.objects = lexNames(toks, nameAt, list)
	}
	for _, o := range s.objects {
		if isCatalogObject(o) {
			s.catalog = true
		}
	}
	switch {
	case op == "COPY":
		lexCopy(toks, s)
	case op == "LOAD":
		if len(toks) > 1 && toks[1].literal() {
			s.sql.Library = toks[1].w
		}
	case op == "CREATE ROLE" || op == "ALTER ROLE":
		lexRole(toks, s, op == "CREATE ROLE" && len(toks) > 1 && toks[1].is("user"))
		if op == "ALTER ROLE" && (hasWord(toks, "set") || hasWord(toks, "reset")) {
			lexSetting(toks, s)
		}
	case op == "DROP ROLE":
		s.sql.Role.Names = s.objects
	case op == "GRANT" || op == "REVOKE":
		lexGrant(toks, s)
	case op == "SET" || op == "RESET" || op == "ALTER SYSTEM" || op == "ALTER DATABASE":
		lexSetting(toks, s)
	case op == "CREATE FUNCTION" || op == "CREATE PROCEDURE" || op == "DO":
		lexRoutineDef(toks, s)
	case op == "SET PASSWORD":
		s.sql.Role.Password = true
	}
	return s
}

func hasWord(toks []ltok, w string) bool {
	for _, t := range toks {
		if t.is(w) {
			return true
		}
	}
	return false
}

// lexCopy: COPY rel|(query) [(cols)] TO|FROM [PROGRAM] 'x'|STDIN|STDOUT.
func lexCopy(toks []ltok, s *stmtRes) {
	k := 1
	if k < len(toks) && toks[k].punct("(") {
		k = skipParens(toks, k)
	} else {
		_, k = qname(toks, k)
		if k < len(toks) && toks[k].punct("(") {
			k = skipParens(toks, k)
		}
	}
	if k >= len(toks) {
		return
	}
	switch {
	case toks[k].is("to"):
		s.sql.Copy.Direction = "to"
	case toks[k].is("from"):
		s.sql.Copy.Direction = "from"
		s.category = event.CategoryDML
	default:
		return
	}
	k++
	if k < len(toks) && toks[k].is("program") {
		s.sql.Copy.Target = "program"
		k++
	}
	if k >= len(toks) {
		return
	}
	switch {
	case toks[k].literal():
		if s.sql.Copy.Target == "" {
			s.sql.Copy.Target = "file"
		}
		s.sql.Copy.Path = mask.SQL(toks[k].w)
	case toks[k].isAny("stdin", "stdout"):
		s.sql.Copy.Target = toks[k].w
	}
}

// roleAttributes maps role option words to the attribute they grant.
var roleAttributes = map[string]string{
	"superuser": "SUPERUSER", "createrole": "CREATEROLE", "createdb": "CREATEDB", "bypassrls": "BYPASSRLS",
	"replication": "REPLICATION", "login": "LOGIN", "createuser": "SUPERUSER",
}

// lexRole: CREATE|ALTER ROLE|USER|GROUP name [WITH] options.
func lexRole(toks []ltok, s *stmtRes, user bool) {
	r := &s.sql.Role
	r.Names = s.objects
	login, nologin := user, false
	for k := 2; k < len(toks); k++ {
		t := toks[k]
		if t.kind != lex.Word {
			continue
		}
		if t.w == "set" || t.w == "reset" {
			break
		}
		if a, ok := roleAttributes[t.w]; ok && k > 2 {
			if a == "LOGIN" {
				login = true
				continue
			}
			r.Attributes = classify.AppendUniq(r.Attributes, a)
		}
		if t.w == "nologin" {
			nologin = true
		}
		if t.w == "password" && k+1 < len(toks) && toks[k+1].literal() {
			r.Password = true
		}
		if t.w == "identified" {
			r.Password = true
		}
	}
	if login && !nologin {
		r.Login = true
		r.Attributes = classify.AppendUniq(r.Attributes, "LOGIN")
	}
}

// lexGrant: GRANT privs [ON [kind] objects] TO grantees [WITH GRANT|ADMIN OPTION].
func lexGrant(toks []ltok, s *stmtRes) {
	g := &s.sql.Grant
	g.Revoke = toks[0].is("revoke")
	k := 1
	if g.Revoke && k+2 < len(toks) && toks[k].isAny("grant", "admin") && toks[k+1].is("option") && toks[k+2].is("for") {
		g.WithGrantOption = true
		k += 3
	}
	var privs []string
	for k < len(toks) && !toks[k].isAny("on", "to", "from") {
		t := toks[k]
		switch {
		case t.punct("("):
			k = skipParens(toks, k)
			continue
		case t.name():
			if t.is("privileges") {
				break
			}
			if n, nk := qname(toks, k); n != "" {
				privs = append(privs, n)
				k = nk
				continue
			}
		}
		k++
	}
	if k < len(toks) && toks[k].is("on") {
		for _, p := range privs {
			p = strings.ToUpper(p)
			g.Privileges = classify.AppendUniq(g.Privileges, p)
			if p == "ALL" {
				g.All = true
			}
		}
		k++
		g.ObjectType = "TABLE"
		allIn := false
		if k < len(toks) && toks[k].is("all") {
			allIn = true
			k++
		}
		for _, kd := range kinds {
			ok := k+len(kd.words) <= len(toks)
			for j := 0; ok && j < len(kd.words); j++ {
				ok = toks[k+j].is(kd.words[j])
			}
			// ALL TABLES|SEQUENCES|FUNCTIONS ... IN SCHEMA.
			plural := allIn && !ok && k < len(toks) && toks[k].w == kd.words[0]+"s" && len(kd.words) == 1
			if ok || plural {
				g.ObjectType = kd.kind
				if ok {
					k += len(kd.words)
				} else {
					k++
				}
				break
			}
		}
		if allIn {
			for k < len(toks) && toks[k].isAny("in", "schema") {
				k++
			}
		}
		for _, n := range lexNames(toks, k, true) {
			if allIn {
				n += ".*"
			}
			s.objects = classify.AppendUniq(s.objects, n)
		}
		s.objType = g.ObjectType
	} else {
		g.Roles = privs
		g.ObjectType = "ROLE"
		s.objType = "ROLE"
		s.objects = append(s.objects, privs...)
	}
	for k < len(toks) && !toks[k].isAny("to", "from") {
		k++
	}
	for k++; k < len(toks); k++ {
		t := toks[k]
		if t.isAny("with", "granted", "cascade", "restrict") {
			break
		}
		if t.punct(",") || t.is("group") {
			continue
		}
		// Role names are identifiers in PostgreSQL ('u'@'h' is MySQL, and a
		// literal's value must not matter: see normalize.go).
		if t.name() {
			n, nk := qname(toks, k)
			if n == "" {
				n = t.w
			}
			if strings.EqualFold(n, "public") && t.kind == lex.Word {
				g.Public = true
				n = "public"
			}
			g.Grantees = classify.AppendUniq(g.Grantees, n)
			if nk > k {
				k = nk - 1
			}
		}
	}
	for ; k+1 < len(toks); k++ {
		if toks[k].isAny("grant", "admin") && toks[k+1].is("option") {
			g.WithGrantOption = true
		}
	}
}

// lexSetting: SET [SESSION|LOCAL] x {=|TO} v | RESET x | ALTER SYSTEM SET|RESET
// | ALTER ROLE|USER r [IN DATABASE d] SET|RESET | ALTER DATABASE d SET|RESET.
func lexSetting(toks []ltok, s *stmtRes) {
	k := 0
	scope := "session"
	if toks[0].is("alter") {
		switch {
		case len(toks) > 1 && toks[1].is("system"):
			scope = "system"
		case len(toks) > 1 && toks[1].is("database"):
			scope = "database"
		default:
			scope = "role"
		}
		for k < len(toks) && !toks[k].isAny("set", "reset") {
			k++
		}
		if k >= len(toks) {
			return
		}
	}
	st := event.Setting{Scope: scope}
	reset := toks[k].is("reset")
	k++
	if !reset {
		for k < len(toks) && toks[k].isAny("session", "local") && !(k+1 < len(toks) && toks[k+1].is("authorization")) {
			k++
		}
	}
	switch {
	case k+1 < len(toks) && toks[k].is("session") && toks[k+1].is("authorization"):
		st.Name = "session_authorization"
		k += 2
	case k+1 < len(toks) && toks[k].is("time") && toks[k+1].is("zone"):
		st.Name = "timezone"
		k += 2
	case k < len(toks) && toks[k].is("role") && !reset:
		st.Name = "role"
		k++
	default:
		n, nk := qname(toks, k)
		if n == "" {
			return
		}
		st.Name, k = lex.Lower(n), nk
	}
	if reset {
		st.Reset = true
		s.sql.Setting = st
		return
	}
	if k < len(toks) && (toks[k].punct("=") || toks[k].is("to")) {
		k++
	}
	var vals []string
	for ; k < len(toks); k++ {
		t := toks[k]
		switch {
		case t.punct(","):
		case t.is("default"):
			st.Reset = true
		case t.literal(), t.kind == lex.QIdent:
			vals = append(vals, t.w)
		case t.kind == lex.Number:
			v := t.raw
			if k > 0 && toks[k-1].punct("-") {
				v = "-" + v
			}
			vals = append(vals, v)
		case t.kind == lex.Word:
			vals = append(vals, t.w)
		}
	}
	st.Value = strings.Join(vals, ", ")
	s.sql.Setting = maskSetting(st)
}

// maskSetting hides the value of a setting whose name says it is a secret.
func maskSetting(st event.Setting) event.Setting {
	name := st.Name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	if st.Value != "" && (mask.IsSecretName(name) || strings.Contains(name, "password")) {
		st.Value = mask.Stars
	} else if st.Value != "" {
		st.Value = mask.SQL(st.Value)
	}
	return st
}

// lexRoutineDef: LANGUAGE x, AS 'lib', 'sym', and a lexical look at a DO or
// function body for dynamic EXECUTE.
func lexRoutineDef(toks []ltok, s *stmtRes) {
	var body string
	lang := ""
	if toks[0].is("do") {
		lang = "plpgsql"
	}
	for k := 0; k < len(toks); k++ {
		t := toks[k]
		switch {
		case t.is("language") && k+1 < len(toks):
			lang = lex.Lower(toks[k+1].w)
		case t.is("as") && k+1 < len(toks) && toks[k+1].literal():
			body = toks[k+1].w
			if k+3 < len(toks) && toks[k+2].punct(",") && toks[k+3].literal() {
				s.sql.Library = toks[k+1].w
			}
		case toks[0].is("do") && t.literal() && body == "":
			body = t.w
		}
	}
	s.sql.Language = lang
	s.sql.Untrusted = untrustedLanguage(lang)
	if lang == "c" && s.sql.Library == "" && body != "" {
		s.sql.Library = body
	}
	if body != "" && (lang == "plpgsql" || lang == "") {
		s.sql.DynamicExec = lexDynamic(body)
	}
}

// lexDynamic reports a body that EXECUTEs something other than a plain
// literal, or that decodes text it executes.
func lexDynamic(body string) bool {
	var toks []ltok
	for _, st := range splitLex(body) {
		toks = append(toks, st.toks...)
		toks = append(toks, ltok{kind: lex.Punct, raw: ";"})
	}
	for k := 0; k+1 < len(toks); k++ {
		if !toks[k].is("execute") {
			continue
		}
		n := toks[k+1]
		if !n.literal() {
			return true
		}
		if k+2 < len(toks) && !toks[k+2].punct(";") && !toks[k+2].isAny("into", "using") {
			return true
		}
	}
	return false
}

// injection computes the lexical injection shapes of one statement.
type shapes struct {
	tautology, unionProbe, sleep, catalog bool
}

func lexShapes(toks []ltok) shapes {
	var sh shapes
	for k := 0; k < len(toks); k++ {
		t := toks[k]
		switch {
		case t.is("or"):
			if tautologyAt(toks, k+1) {
				sh.tautology = true
			}
		case t.is("union"):
			if unionProbeAt(toks, k+1) {
				sh.unionProbe = true
			}
		case t.name() && k+1 < len(toks) && toks[k+1].punct("(") && sleepRoutines[t.w]:
			sh.sleep = true
		case t.is("waitfor") && k+1 < len(toks) && toks[k+1].is("delay"):
			sh.sleep = true
		case t.name() && catalogRelations[t.w]:
			sh.catalog = true
		case t.name() && catalogSchemas[t.w] && k+1 < len(toks) && toks[k+1].punct("."):
			sh.catalog = true
		}
	}
	return sh
}

// operand parses a comparison operand at k: a constant (literal, number,
// signed number, TRUE/FALSE/NULL) or a possibly qualified name. It returns
// the operand's text for names ("" for constants) and the next index.
func operand(toks []ltok, k int) (name string, isConst bool, next int) {
	if k >= len(toks) {
		return "", false, k
	}
	t := toks[k]
	switch {
	case (t.punct("-") || t.punct("+")) && k+1 < len(toks) && toks[k+1].kind == lex.Number:
		return "", true, k + 2
	case t.constant():
		k++
		for k+1 < len(toks) && toks[k].punct("::") && toks[k+1].name() {
			k += 2
		}
		return "", true, k
	case t.isAny("true", "false", "null"):
		return "", true, k + 1
	case t.name():
		n, nk := qname(toks, k)
		return n, false, nk
	}
	return "", false, k
}

// terminator: what may follow an injected tautology.
func terminator(toks []ltok, k int) bool {
	if k >= len(toks) {
		return true
	}
	t := toks[k]
	return t.punct(")") || t.punct(";") || t.isAny("and", "or", "order", "group", "limit", "union", "having", "offset", "returning", "--", "into")
}

// tautologyAt: OR <const> <cmp> <const> | OR x = x | OR <const>, ended by a
// terminator. The constants' values do not matter (OR 1=2 is the false probe
// of the same attack), which keeps the flag independent of literal values.
func tautologyAt(toks []ltok, k int) bool {
	for k < len(toks) && (toks[k].punct("(") || toks[k].is("not")) {
		k++
	}
	lname, lconst, j := operand(toks, k)
	if j == k {
		return false
	}
	if j < len(toks) {
		op := toks[j]
		isCmp := op.kind == lex.Op && (op.raw == "=" || op.raw == "<>" || op.raw == "!=" || op.raw == "<" ||
			op.raw == ">" || op.raw == "<=" || op.raw == ">=" || op.raw == "==") || op.isAny("like", "ilike", "is")
		if isCmp {
			m := j + 1
			if op.is("is") && m < len(toks) && toks[m].is("not") {
				m++
			}
			rname, rconst, e := operand(toks, m)
			if e == m {
				return false
			}
			for e < len(toks) && toks[e].punct(")") {
				e++
			}
			if !terminator(toks, e) && !(e < len(toks) && toks[e].kind == lex.Op) {
				return false
			}
			if lconst && rconst {
				return true
			}
			return lname != "" && lname == rname && (op.raw == "=" || op.isAny("like", "ilike") || op.raw == ">=" || op.raw == "<=")
		}
	}
	if lconst {
		for j < len(toks) && toks[j].punct(")") {
			j++
		}
		return terminator(toks, j) && k < len(toks) && !toks[k].is("null") && !toks[k].is("false")
	}
	return false
}

// unionProbeAt: UNION [ALL] SELECT where every select item is a constant
// (NULL, 1, 'a', NULL::text) — column-count probing — or a UNION reading a
// system catalog.
func unionProbeAt(toks []ltok, k int) bool {
	for k < len(toks) && (toks[k].isAny("all", "distinct") || toks[k].punct("(")) {
		k++
	}
	if k >= len(toks) || !toks[k].is("select") {
		return false
	}
	k++
	allConst, items := true, 0
	depth := 0
	for ; k < len(toks); k++ {
		t := toks[k]
		if depth == 0 && (t.isAny("from", "where", "union", "order", "limit", "group", "into") || t.punct(";") || t.punct(")")) {
			break
		}
		switch {
		case t.punct("("):
			depth++
		case t.punct(")"):
			depth--
		case t.punct(","):
			if depth == 0 {
				items++
			}
		case t.punct("::") && k+1 < len(toks):
			k++ // the type name
		case t.constant(), t.isAny("null", "true", "false"), t.punct("-"), t.punct("+"):
		default:
			allConst = false
		}
	}
	if allConst {
		return true
	}
	for ; k < len(toks); k++ {
		t := toks[k]
		if t.name() && (catalogRelations[t.w] || catalogSchemas[t.w]) {
			return true
		}
		if t.is("union") {
			break
		}
	}
	return false
}
