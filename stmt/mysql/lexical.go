package mysql

import (
	"strings"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/stmt/classify"
	"github.com/vigildb/vigil/stmt/lex"
	"github.com/vigildb/vigil/stmt/mask"
)

// This file is the lexical side of the classifier: splitting a text into
// statements, recognising the command from its first keywords, a best-effort
// extraction of users, grants, settings, file targets and libraries for text
// TiDB's parser rejects (MariaDB-only syntax, CREATE FUNCTION / TRIGGER /
// EVENT, INSTALL PLUGIN, INTO DUMPFILE, truncated audit text), and the
// injection shapes (computed lexically for every statement, parsed or not,
// so that they do not depend on literal values and agree with the cache key).

// ltok is one significant token of a statement.
type ltok struct {
	kind lex.Kind
	// w is the lower-case text of a Word, or the value of a string literal
	// or quoted identifier.
	w   string
	raw string
}

func (t ltok) is(w string) bool    { return t.kind == lex.Word && t.w == w }
func (t ltok) punct(p string) bool { return (t.kind == lex.Punct || t.kind == lex.Op) && t.raw == p }
func (t ltok) literal() bool       { return t.kind == lex.String }
func (t ltok) name() bool          { return t.kind == lex.Word || t.kind == lex.QIdent }
func (t ltok) constant() bool      { return t.kind == lex.String || t.kind == lex.Number }
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

// maxCommentDepth bounds recursion into /*! executable comments */.
const maxCommentDepth = 4

// splitLex splits text into statements at top-level semicolons. The body of
// a MySQL executable comment (/*! ... */, /*!50000 ... */, MariaDB /*M! */)
// is code to the server, so its tokens are part of the statement.
func splitLex(text string) []lstmt {
	var out []lstmt
	var cur lstmt
	start, depth := 0, 0
	var prev lex.Token
	prevSet := false
	flush := func(end int) {
		if len(cur.toks) > 0 {
			cur.text = strings.TrimSpace(text[start:end])
			out = append(out, cur)
		}
		cur = lstmt{}
	}
	var walk func(src string, base int, level int) bool
	walk = func(src string, base int, level int) bool {
		lx := lex.NewMySQL(src)
		for {
			t := nextTok(&lx)
			if t.Kind == lex.EOF {
				return true
			}
			raw := src[t.Start:t.End]
			if t.Kind == lex.Comment {
				if body, ok := execComment(raw); ok && level < maxCommentDepth {
					if !walk(body, base+t.Start, level+1) {
						return false
					}
					continue
				}
				if prevSet && truncationComment(src, prev, t) {
					cur.commentTrunc = true
				}
				continue
			}
			prev, prevSet = t, true
			if t.Kind == lex.Punct {
				switch raw {
				case "(", "[":
					depth++
				case ")", "]":
					depth = max(0, depth-1)
				case ";":
					if depth == 0 && level == 0 {
						flush(base + t.Start)
						start = base + t.End
						if len(out) >= maxLexStatements {
							return false
						}
						continue
					}
				}
			}
			tk := ltok{kind: t.Kind, raw: raw}
			switch t.Kind {
			case lex.Word:
				tk.w = lex.Lower(raw)
			case lex.QIdent, lex.String:
				tk.w = lex.Unquote(raw, t.Kind, t.Escapes)
			}
			cur.toks = append(cur.toks, tk)
		}
	}
	if walk(text, 0, 0) {
		flush(len(text))
	}
	return out
}

// nextTok returns the next token. The shared lexer takes ` and # as
// operator characters, so "=`root`@`localhost`" would read as the operator
// "=`": an operator is cut before a backtick or hash, which start a quoted
// identifier and a comment in MySQL.
func nextTok(lx *lex.Lexer) lex.Token {
	t := lx.Next()
	if t.Kind == lex.Op {
		raw := lx.Src()[t.Start:t.End]
		if i := strings.IndexAny(raw, "`#"); i > 0 {
			t.End = t.Start + i
			lx.SetPos(t.End)
		}
	}
	return t
}

// execComment returns the body of a MySQL/MariaDB executable comment:
// /*! body */, /*!50110 body */, /*M! body */, /*M!100100 body */.
func execComment(raw string) (string, bool) {
	var rest string
	switch {
	case strings.HasPrefix(raw, "/*!"):
		rest = raw[3:]
	case strings.HasPrefix(raw, "/*M!"):
		rest = raw[4:]
	default:
		return "", false
	}
	rest = strings.TrimSuffix(rest, "*/")
	i := 0
	for i < len(rest) && i < 6 && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	return rest[i:], true
}

// truncationComment reports whether comment c, whose preceding significant
// token is prev, looks like comment truncation: a "--" or "#" comment (or an
// unterminated "/*") after a string literal that either touches it or
// swallows a quote, as in name = 'admin'-- ' AND pw = '...'.
func truncationComment(src string, prev, c lex.Token) bool {
	if prev.Kind != lex.String || c.Start >= len(src) || !(src[c.Start] == '-' || src[c.Start] == '#' || c.Unterminated) {
		return false
	}
	if prev.End > len(src) {
		return false
	}
	return c.Start == prev.End || strings.IndexByte(src[c.Start:c.End], '\'') >= 0
}

// qname reads a possibly qualified name at toks[i]: a.b, `a`.`b`, db.*. It
// returns the name (quoted parts unquoted, case kept: MySQL table names are
// case-sensitive on most systems) and the index after it.
func qname(toks []ltok, i int) (string, int) {
	if i >= len(toks) || !toks[i].name() {
		return "", i
	}
	var b strings.Builder
	for {
		t := toks[i]
		if t.kind == lex.QIdent {
			b.WriteString(t.w)
		} else {
			b.WriteString(t.raw)
		}
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

// account reads a MySQL account at toks[i]: user, 'user', 'user'@'host',
// user@host, CURRENT_USER[()]. It returns 'user'@'host' as the server writes
// it in SHOW GRANTS (host omitted when not given) and the index after it.
func account(toks []ltok, i int) (string, int) {
	if i >= len(toks) {
		return "", i
	}
	t := toks[i]
	var user string
	switch {
	case t.literal() || t.kind == lex.QIdent:
		user = t.w
	case t.kind == lex.Word:
		user = t.raw
	default:
		return "", i
	}
	i++
	if i < len(toks) && toks[i].punct("(") && i+1 < len(toks) && toks[i+1].punct(")") {
		i += 2 // CURRENT_USER()
	}
	// The lexer reads @'host' or @host as an operator then a token; MySQL's
	// @host may also be one word token "@host" depending on spacing.
	if i+1 < len(toks) && toks[i].raw == "@" {
		h := toks[i+1]
		host := h.w
		if h.kind == lex.Word || h.kind == lex.Number {
			host = h.raw
		}
		i += 2
		// Unquoted dotted hosts: 10.0.0.1 or db.example.com.
		for i+1 < len(toks) && toks[i].punct(".") && (toks[i+1].kind == lex.Word || toks[i+1].kind == lex.Number) {
			host += "." + toks[i+1].raw
			i += 2
		}
		return renderAccount(user, host), i
	}
	return renderAccount(user, ""), i
}

// renderAccount formats an account name: user@host, or user alone when the
// host is not given or is the default %.
func renderAccount(user, host string) string {
	if host == "" || host == "%" {
		return user
	}
	return user + "@" + host
}

// kinds are the object kinds after CREATE / ALTER / DROP, longest first.
var kinds = []struct {
	words []string
	kind  string // object type; also the command suffix
	op    string // command suffix when it differs from kind
}{
	{[]string{"logfile", "group"}, "LOGFILE GROUP", ""},
	{[]string{"resource", "group"}, "RESOURCE GROUP", ""},
	{[]string{"spatial", "reference", "system"}, "SPATIAL REFERENCE SYSTEM", ""},
	{[]string{"aggregate", "function"}, "FUNCTION", "FUNCTION"},
	{[]string{"table"}, "TABLE", ""}, {[]string{"tables"}, "TABLE", "TABLE"},
	{[]string{"view"}, "VIEW", ""}, {[]string{"index"}, "INDEX", ""},
	{[]string{"sequence"}, "SEQUENCE", ""}, {[]string{"function"}, "FUNCTION", ""},
	{[]string{"procedure"}, "PROCEDURE", ""}, {[]string{"trigger"}, "TRIGGER", ""},
	{[]string{"event"}, "EVENT", ""}, {[]string{"schema"}, "DATABASE", "DATABASE"},
	{[]string{"database"}, "DATABASE", ""}, {[]string{"user"}, "USER", ""},
	{[]string{"role"}, "ROLE", ""}, {[]string{"server"}, "SERVER", ""},
	{[]string{"tablespace"}, "TABLESPACE", ""}, {[]string{"package", "body"}, "PACKAGE BODY", ""},
	{[]string{"package"}, "PACKAGE", ""}, {[]string{"instance"}, "INSTANCE", ""},
}

// createModifiers may appear between CREATE and the object kind.
var createModifiers = map[string]bool{
	"temporary": true, "unique": true, "fulltext": true, "spatial": true, "online": true, "offline": true,
	"algorithm": true, "sql": true, "security": true, "invoker": true, "merge": true, "undefined": true,
	"temptable": true, "ignore": true, "low_priority": true, "local": true,
	"no_write_to_binlog": true, "nonblocking": true,
}

// lexCommand recognises the command of a statement from its first keywords.
// It returns the operation, the object type, the index of the first object
// name (or -1) and whether OR REPLACE was written.
func lexCommand(toks []ltok) (op, objType string, nameAt int, replace bool) {
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
	skip := func(k int, words ...string) int {
		for k < len(toks) && toks[k].isAny(words...) {
			k++
		}
		return k
	}
	switch w {
	case "select", "values", "table":
		if w == "table" {
			return "SELECT", "TABLE", i + 1, false
		}
		return "SELECT", "", -1, false
	case "with":
		depth := 0
		for k := i + 1; k < len(toks); k++ {
			t := toks[k]
			switch {
			case t.punct("("):
				depth++
			case t.punct(")"):
				depth--
			case depth == 0 && t.isAny("select", "insert", "update", "delete", "replace", "values", "table"):
				op, objType, at, _ := lexCommand(toks[k:])
				if at >= 0 {
					at += k
				}
				return op, objType, at, false
			}
		}
		return "SELECT", "", -1, false
	case "insert", "replace":
		k := skip(i+1, "low_priority", "delayed", "high_priority", "ignore", "into")
		return strings.ToUpper(w), "TABLE", k, false
	case "update":
		return "UPDATE", "TABLE", skip(i+1, "low_priority", "ignore"), false
	case "delete":
		k := skip(i+1, "low_priority", "quick", "ignore")
		if next(k) == "from" {
			k++
		}
		return "DELETE", "TABLE", k, false
	case "truncate":
		k := skip(i+1, "table")
		return "TRUNCATE TABLE", "TABLE", k, false
	case "create", "alter", "drop":
		return lexDDL(toks, i)
	case "rename":
		switch next(i + 1) {
		case "user":
			return "RENAME USER", "USER", i + 2, false
		case "table", "tables":
			return "RENAME TABLE", "TABLE", i + 2, false
		}
		return "RENAME", "", -1, false
	case "grant", "revoke":
		return strings.ToUpper(w), "", -1, false
	case "set":
		switch next(i + 1) {
		case "password":
			return "SET PASSWORD", "USER", -1, false
		case "role":
			return "SET ROLE", "", -1, false
		case "default":
			if next(i+2) == "role" {
				return "SET DEFAULT ROLE", "ROLE", -1, false
			}
		case "transaction":
			return "SET TRANSACTION", "", -1, false
		case "names", "character", "charset":
			return "SET NAMES", "", -1, false
		}
		return "SET", "", -1, false
	case "load":
		switch next(i + 1) {
		case "data", "xml":
			k := i + 2
			for k < len(toks) && !toks[k].is("table") {
				k++
			}
			return "LOAD DATA", "TABLE", k + 1, false
		case "index":
			return "LOAD INDEX", "", -1, false
		}
		return "LOAD", "", -1, false
	case "install", "uninstall":
		op = strings.ToUpper(w) + " PLUGIN"
		switch next(i + 1) {
		case "plugin":
			return op, "PLUGIN", i + 2, false
		case "soname":
			return op, "PLUGIN", -1, false
		case "component":
			return strings.ToUpper(w) + " COMPONENT", "COMPONENT", -1, false
		}
		return op, "PLUGIN", -1, false
	case "call":
		return "CALL", "PROCEDURE", i + 1, false
	case "describe", "desc", "explain":
		switch next(i + 1) {
		case "select", "insert", "update", "delete", "replace", "with", "analyze", "format", "extended",
			"partitions", "table":
			return "EXPLAIN", "", -1, false
		}
		if i+1 < len(toks) && toks[i+1].name() {
			return "DESCRIBE", "TABLE", i + 1, false
		}
		return "EXPLAIN", "", -1, false
	case "begin", "xa":
		return "BEGIN", "", -1, false
	case "start":
		switch next(i + 1) {
		case "slave", "replica", "group_replication":
			return "START REPLICA", "", -1, false
		}
		return "START TRANSACTION", "", -1, false
	case "stop":
		return "STOP REPLICA", "", -1, false
	case "change":
		if next(i+1) == "master" || next(i+1) == "replication" {
			return "CHANGE REPLICATION SOURCE", "", -1, false
		}
		return "CHANGE", "", -1, false
	case "commit":
		return "COMMIT", "", -1, false
	case "rollback":
		return "ROLLBACK", "", -1, false
	case "lock":
		return "LOCK TABLES", "TABLE", skip(i+1, "table", "tables"), false
	case "unlock":
		return "UNLOCK TABLES", "", -1, false
	case "prepare":
		return "PREPARE", "", -1, false
	case "execute":
		return "EXECUTE", "", -1, false
	case "deallocate", "drop_prepare":
		return "DEALLOCATE", "", -1, false
	case "handler":
		return "HANDLER", "TABLE", i + 1, false
	case "optimize", "analyze", "check", "repair", "checksum":
		return strings.ToUpper(w) + " TABLE", "TABLE", skip(i+1, "no_write_to_binlog", "local", "table", "tables"), false
	case "purge":
		return "PURGE BINARY LOGS", "", -1, false
	case "reset":
		return "RESET", "", -1, false
	case "show", "use", "kill", "flush", "shutdown", "restart", "do", "help", "savepoint", "release",
		"signal", "resignal", "cache", "binlog", "backup", "clone", "import":
		return strings.ToUpper(w), "", -1, false
	}
	return strings.ToUpper(w), "", -1, false
}

// lexDDL handles CREATE / ALTER / DROP.
func lexDDL(toks []ltok, i int) (op, objType string, nameAt int, replace bool) {
	verb := strings.ToUpper(toks[i].w)
	k := i + 1
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
			// DEFINER = user@host | 'u'@'h' | CURRENT_USER[()].
			k++
			if k < len(toks) && toks[k].punct("=") {
				k++
			}
			_, k = account(toks, k)
			continue
		}
		if createModifiers[w] {
			k++
			continue
		}
		break
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
		suffix := kd.op
		if suffix == "" {
			suffix = kd.kind
		}
		at := k + len(kd.words)
		for at < len(toks) && toks[at].isAny("if", "not", "exists") {
			at++
		}
		if kd.kind == "TABLE" && verb == "CREATE" && tableAs(toks, at) {
			return "CREATE TABLE AS", "TABLE", at, replace
		}
		if kd.kind == "INDEX" {
			// CREATE INDEX i ON t / DROP INDEX i ON t: the table is the object.
			for j := at; j < len(toks); j++ {
				if toks[j].is("on") {
					return verb + " INDEX", "INDEX", j + 1, replace
				}
			}
		}
		return verb + " " + suffix, kd.kind, at, replace
	}
	if k < len(toks) && toks[k].kind == lex.Word {
		return verb + " " + strings.ToUpper(toks[k].w), "", k + 1, replace
	}
	return verb, "", -1, replace
}

// tableAs reports CREATE TABLE name [(cols)] [options] AS|SELECT ...
func tableAs(toks []ltok, at int) bool {
	_, k := qname(toks, at)
	if k < len(toks) && toks[k].punct("(") {
		k = skipParens(toks, k)
	}
	for ; k < len(toks); k++ {
		if toks[k].isAny("as", "select", "with") || toks[k].punct("(") && k+1 < len(toks) && toks[k+1].is("select") {
			return true
		}
		if toks[k].is("like") {
			return false
		}
	}
	return false
}

// skipParens returns the index after the balanced group starting at toks[i].
func skipParens(toks []ltok, i int) int {
	depth := 0
	for ; i < len(toks); i++ {
		if toks[i].punct("(") {
			depth++
		} else if toks[i].punct(")") {
			depth--
			if depth <= 0 {
				return i + 1
			}
		}
	}
	return i
}

// lexNames reads a comma-separated list of names at toks[at].
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
	"in": true, "values": true, "value": true, "exists": true, "any": true, "all": true, "some": true,
	"not": true, "and": true, "or": true, "xor": true, "select": true, "from": true, "where": true,
	"join": true, "on": true, "using": true, "as": true, "table": true, "into": true, "over": true,
	"row": true, "case": true, "when": true, "then": true, "else": true, "end": true, "interval": true,
	"numeric": true, "decimal": true, "varchar": true, "char": true, "character": true, "bit": true,
	"timestamp": true, "time": true, "datetime": true, "float": true, "double": true, "int": true,
	"integer": true, "smallint": true, "tinyint": true, "mediumint": true, "bigint": true, "binary": true,
	"varbinary": true, "enum": true, "set": true, "primary": true, "key": true, "unique": true,
	"check": true, "foreign": true, "constraint": true, "default": true, "index": true, "partition": true,
	"by": true, "references": true, "with": true, "window": true, "lateral": true, "returning": true,
	"update": true, "insert": true, "delete": true, "declare": true, "begin": true, "if": true,
	"loop": true, "return": true, "returns": true, "union": true, "except": true, "intersect": true,
	"limit": true, "group": true, "order": true, "having": true, "distinct": true, "tables": true,
	"view": true, "function": true, "procedure": true, "trigger": true, "privileges": true, "to": true,
	"fulltext": true, "spatial": true, "generated": true, "always": true, "dual": true, "elseif": true,
	"while": true, "repeat": true, "until": true, "straight_join": true, "use": true, "force": true,
	"ignore": true, "json_table": true, "columns": true, "soname": true, "is": true, "like": true,
	"regexp": true, "rlike": true, "div": true, "mod": true, "between": true, "escape": true,
	"outfile": true, "dumpfile": true, "fields": true, "lines": true, "terminated": true,
	"options": true,
}

// afterNonRoutine: a name right after these words is a relation, not a call.
var afterNonRoutine = map[string]bool{
	"table": true, "into": true, "view": true, "index": true, "on": true, "references": true,
	"function": true, "procedure": true, "trigger": true, "as": true, "execute": true, "update": true,
	"exists": true, "from": true, "join": true, "returns": true, "event": true,
	"key": true, "database": true, "schema": true,
}

// lexRoutines lists "name(" calls lexically.
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
		name := lex.Lower(t.w)
		if t.kind == lex.Word {
			name = t.w
		}
		j := k
		for j >= 2 && toks[j-1].punct(".") && toks[j-2].name() {
			name = lex.Lower(toks[j-2].w) + "." + name
			j -= 2
		}
		if j > 0 {
			p := toks[j-1]
			if p.kind == lex.Word && afterNonRoutine[p.w] {
				continue
			}
		}
		out = classify.AppendUniq(out, lex.Lower(name))
	}
	return out
}

// lexical classifies a statement the parser rejected.
func lexical(st lstmt) *stmtRes {
	toks := st.toks
	for len(toks) > 0 && toks[0].kind == lex.Other {
		toks = toks[1:]
	}
	op, objType, nameAt, replace := lexCommand(toks)
	s := &stmtRes{op: op, objType: objType}
	s.sql.Replace = replace
	s.sql.Routines = lexRoutines(toks)
	list := strings.HasPrefix(op, "DROP ") || op == "TRUNCATE TABLE" || op == "RENAME TABLE"
	switch {
	case op == "SELECT" || op == "INSERT" || op == "UPDATE" || op == "DELETE" || op == "REPLACE" ||
		op == "CREATE TABLE AS":
		if nameAt >= 0 {
			s.objects = lexNames(toks, nameAt, false)
		}
		for k := 0; k+1 < len(toks); k++ {
			if toks[k].isAny("from", "join", "into", "update", "table") && !toks[k+1].punct("(") &&
				!toks[k+1].isAny("outfile", "dumpfile", "select") {
				for _, n := range lexNames(toks, k+1, toks[k].w == "from") {
					s.objects = classify.AppendUniq(s.objects, n)
				}
			}
		}
		if (op == "DELETE" || op == "UPDATE") && nameAt >= 0 {
			// Only claimed for an otherwise complete "DELETE FROM t" (truncated text).
			if _, end := qname(toks, nameAt); op == "DELETE" && end == len(toks) {
				s.sql.NoWhere = true
			}
		}
		if len(s.objects) > 0 && s.objType == "" {
			s.objType = "TABLE"
		}
	case op == "CALL":
		if n := lexNames(toks, nameAt, false); len(n) > 0 {
			s.objects = n
			s.sql.Routines = classify.AppendUniq(s.sql.Routines, lex.Lower(n[0]))
		}
	case op == "CREATE USER" || op == "ALTER USER" || op == "DROP USER" || op == "CREATE ROLE" ||
		op == "DROP ROLE" || op == "RENAME USER":
		lexUsers(toks, s, nameAt)
	case nameAt >= 0:
		s.objects = lexNames(toks, nameAt, list)
	}
	switch {
	case op == "GRANT" || op == "REVOKE":
		lexGrant(toks, s)
	case op == "SET" || op == "SET NAMES":
		lexSetting(toks, s)
	case op == "SET PASSWORD":
		s.sql.Role.Password = true
		if k := indexWord(toks, "for"); k >= 0 {
			if a, _ := account(toks, k+1); a != "" {
				s.sql.Role.Names = []string{a}
				s.objects = []string{a}
			}
		}
	case op == "INSTALL PLUGIN" || op == "UNINSTALL PLUGIN":
		lexPlugin(toks, s)
	case op == "CREATE FUNCTION" || op == "CREATE PROCEDURE":
		if k := indexWord(toks, "soname"); k >= 0 && k+1 < len(toks) && toks[k+1].literal() {
			s.sql.Library = mask.MySQL(toks[k+1].w)
			s.sql.Language = "c"
			s.sql.Untrusted = true
		}
	case op == "LOAD DATA":
		s.category = event.CategoryDML
		s.sql.Copy = event.Copy{Direction: "from", Target: "file"}
		if k := indexWord(toks, "infile"); k >= 0 && k+1 < len(toks) && toks[k+1].literal() {
			s.sql.Copy.Path = mask.MySQL(toks[k+1].w)
			if k > 0 && toks[k-1].is("local") {
				s.sql.Copy.Target = "stdin"
			}
		}
	case op == "CHANGE REPLICATION SOURCE":
		s.category = event.CategoryAdmin
	}
	if op == "SELECT" || op == "INSERT" || op == "CREATE TABLE AS" || op == "REPLACE" {
		lexInto(toks, s)
	}
	if op == "CREATE USER" || op == "ALTER USER" {
		if hasWord(toks, "identified") {
			s.sql.Role.Password = true
		}
	}
	for _, o := range s.objects {
		if isCatalogObject(o) {
			s.catalog = true
		}
	}
	lexFileRoutines(toks, s)
	return s
}

// lexUsers reads the accounts of CREATE/ALTER/DROP/RENAME USER|ROLE.
func lexUsers(toks []ltok, s *stmtRes, at int) {
	user := strings.HasSuffix(s.op, " USER")
	for k := at; k >= 0 && k < len(toks); {
		a, nk := account(toks, k)
		if a == "" || nk == k {
			break
		}
		s.objects = classify.AppendUniq(s.objects, a)
		k = nk
		// Skip IDENTIFIED ... and other per-user options up to the next comma.
		for k < len(toks) && !toks[k].punct(",") && !toks[k].is("to") {
			if toks[k].punct("(") {
				k = skipParens(toks, k)
				continue
			}
			k++
		}
		if k < len(toks) {
			k++
		}
	}
	s.sql.Role.Names = s.objects
	if user && (s.op == "CREATE USER" || s.op == "ALTER USER") {
		s.sql.Role.Login = s.op == "CREATE USER"
		if s.sql.Role.Login {
			s.sql.Role.Attributes = []string{"LOGIN"}
		}
	}
}

func indexWord(toks []ltok, w string) int {
	for k, t := range toks {
		if t.is(w) {
			return k
		}
	}
	return -1
}

func hasWord(toks []ltok, w string) bool { return indexWord(toks, w) >= 0 }

// lexInto: SELECT ... INTO OUTFILE|DUMPFILE 'path'.
func lexInto(toks []ltok, s *stmtRes) {
	for k := 0; k+1 < len(toks); k++ {
		if toks[k].is("into") && toks[k+1].isAny("outfile", "dumpfile") {
			s.sql.Copy = event.Copy{Direction: "to", Target: "file"}
			if k+2 < len(toks) && toks[k+2].literal() {
				s.sql.Copy.Path = mask.MySQL(toks[k+2].w)
			}
			return
		}
	}
}

// lexFileRoutines: LOAD_FILE('path') reads a server file.
func lexFileRoutines(toks []ltok, s *stmtRes) {
	if s.sql.Copy != (event.Copy{}) {
		return
	}
	for k := 0; k+1 < len(toks); k++ {
		if toks[k].is("load_file") && toks[k+1].punct("(") {
			s.sql.Copy = event.Copy{Direction: "from", Target: "file"}
			if k+2 < len(toks) && toks[k+2].literal() {
				s.sql.Copy.Path = mask.MySQL(toks[k+2].w)
			}
			return
		}
	}
}

// lexPlugin: INSTALL PLUGIN name SONAME 'lib' | INSTALL SONAME 'lib' |
// UNINSTALL PLUGIN name | UNINSTALL SONAME 'lib'.
func lexPlugin(toks []ltok, s *stmtRes) {
	if k := indexWord(toks, "soname"); k >= 0 && k+1 < len(toks) && toks[k+1].literal() {
		lib := toks[k+1].w
		if s.op == "INSTALL PLUGIN" {
			s.sql.Library = mask.MySQL(lib)
		}
		if len(s.objects) == 0 {
			// INSTALL|UNINSTALL SONAME 'server_audit[.so]': the library names the plugin.
			name := lib
			if i := strings.LastIndexAny(name, "/\\"); i >= 0 {
				name = name[i+1:]
			}
			name = strings.TrimSuffix(strings.TrimSuffix(name, ".so"), ".dll")
			s.objects = []string{strings.ToLower(name)}
		}
	}
	for i, o := range s.objects {
		s.objects[i] = strings.ToLower(o)
	}
}

// privContinuation are the words that continue a multi-word privilege name
// (GRANT OPTION, CREATE USER, REPLICATION SLAVE, SHOW VIEW ...).
var privContinuation = map[string]bool{
	"option": true, "user": true, "role": true, "view": true, "routine": true, "temporary": true,
	"tables": true, "slave": true, "client": true, "tablespace": true, "privileges": true,
	"admin": true, "monitor": true, "history": true, "master": true, "replica": true, "binlog": true,
	"ddl": true,
}

// lexGrant: GRANT privs ON [type] level TO accounts [WITH GRANT OPTION] |
// GRANT roles TO accounts [WITH ADMIN OPTION] | REVOKE ... FROM ...
func lexGrant(toks []ltok, s *stmtRes) {
	g := &s.sql.Grant
	g.Revoke = toks[0].is("revoke")
	k := 1
	if k < len(toks) && toks[k].isAny("if") {
		for k < len(toks) && toks[k].isAny("if", "exists") {
			k++
		}
	}
	var privs []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			privs = append(privs, strings.ToUpper(strings.Join(cur, " ")))
			cur = nil
		}
	}
	for k < len(toks) && !toks[k].isAny("on", "to", "from") {
		t := toks[k]
		switch {
		case t.punct("("):
			k = skipParens(toks, k)
			continue
		case t.punct(","):
			flush()
		case t.name() || t.literal():
			if t.is("privileges") && len(cur) > 0 && cur[0] == "all" {
				break
			}
			if len(cur) > 0 && !privContinuation[lex.Lower(t.w)] {
				flush()
			}
			if t.kind == lex.Word {
				cur = append(cur, t.w)
			} else {
				a, nk := account(toks, k)
				cur = append(cur, a)
				k = nk
				continue
			}
		}
		k++
	}
	flush()
	if k < len(toks) && toks[k].is("on") {
		for _, p := range privs {
			g.Privileges = classify.AppendUniq(g.Privileges, p)
			if p == "ALL" || p == "ALL PRIVILEGES" {
				g.All = true
			}
		}
		for i, p := range g.Privileges {
			if p == "ALL PRIVILEGES" {
				g.Privileges[i] = "ALL"
			}
		}
		k++
		g.ObjectType = "TABLE"
		if k < len(toks) && toks[k].isAny("table", "function", "procedure") {
			g.ObjectType = strings.ToUpper(toks[k].w)
			k++
		}
		lvl, nk := grantLevel(toks, k)
		if lvl != "" {
			s.objects = classify.AppendUniq(s.objects, lvl)
			if strings.HasSuffix(lvl, "*") && g.ObjectType == "TABLE" {
				g.ObjectType = "DATABASE"
				if lvl == "*.*" || lvl == "*" {
					g.ObjectType = "GLOBAL"
				}
			}
		}
		k = nk
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
	for k++; k < len(toks); {
		t := toks[k]
		if t.isAny("with", "require", "identified", "as", "granted", "ignore") {
			break
		}
		if t.punct(",") {
			k++
			continue
		}
		a, nk := account(toks, k)
		if a == "" || nk == k {
			k++
			continue
		}
		g.Grantees = classify.AppendUniq(g.Grantees, a)
		k = nk
		// IDENTIFIED BY '...' per grantee (MySQL 5.x GRANT): a password is set.
		for k < len(toks) && !toks[k].punct(",") && !toks[k].is("with") {
			if toks[k].is("identified") {
				s.sql.Role.Password = true
			}
			k++
		}
	}
	for ; k+1 < len(toks); k++ {
		if toks[k].isAny("grant", "admin") && toks[k+1].is("option") {
			g.WithGrantOption = true
		}
	}
	for _, p := range g.Privileges {
		if p == "GRANT OPTION" && !g.Revoke {
			g.WithGrantOption = true
		}
	}
}

// grantLevel reads *, *.*, db.*, db.tbl, tbl at toks[k].
func grantLevel(toks []ltok, k int) (string, int) {
	if k < len(toks) && toks[k].punct("*") {
		if k+2 < len(toks) && toks[k+1].punct(".") && toks[k+2].punct("*") {
			return "*.*", k + 3
		}
		return "*", k + 1
	}
	// The lexer may read ".*" or "*.*" as operators; qname handles db.*.
	n, nk := qname(toks, k)
	return n, nk
}

// lexSetting: SET [GLOBAL|SESSION|PERSIST|PERSIST_ONLY|LOCAL] name = value
// [, ...] | SET @@global.name = value. The most security-relevant variable
// of the statement is kept (see settingRank).
func lexSetting(toks []ltok, s *stmtRes) {
	k := 1
	scope := "session"
	var best event.Setting
	for k < len(toks) {
		// One assignment.
		sc := scope
		switch {
		case toks[k].isAny("global", "persist", "persist_only"):
			sc = "system"
			k++
		case toks[k].isAny("session", "local"):
			sc = "session"
			k++
		}
		scope = sc
		if k < len(toks) && (toks[k].raw == "@@" || toks[k].raw == "@") {
			sys := toks[k].raw == "@@"
			k++
			if !sys {
				// @user_var = ...: not a server setting.
				k = skipAssignment(toks, k)
				continue
			}
			if k+1 < len(toks) && toks[k].isAny("global", "session", "local", "persist", "persist_only") && toks[k+1].punct(".") {
				if toks[k].isAny("global", "persist", "persist_only") {
					sc = "system"
				} else {
					sc = "session"
				}
				k += 2
			}
		}
		n, nk := qname(toks, k)
		if n == "" {
			k = skipAssignment(toks, k)
			continue
		}
		st := event.Setting{Scope: sc, Name: strings.ToLower(n)}
		k = nk
		if k < len(toks) && (toks[k].punct("=") || toks[k].punct(":=") || toks[k].is("to")) {
			k++
		}
		var vals []string
		for ; k < len(toks) && !toks[k].punct(","); k++ {
			t := toks[k]
			switch {
			case t.is("default"):
				st.Reset = true
			case t.literal() || t.kind == lex.QIdent:
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
		st.Value = strings.Join(vals, " ")
		st = maskSetting(st)
		if best.Name == "" || settingRank(st) > settingRank(best) {
			best = st
		}
		if k < len(toks) {
			k++
		}
	}
	if best.Name != "" {
		s.sql.Setting = best
	}
}

// skipAssignment returns the index after the current assignment's comma.
func skipAssignment(toks []ltok, k int) int {
	depth := 0
	for ; k < len(toks); k++ {
		switch {
		case toks[k].punct("("):
			depth++
		case toks[k].punct(")"):
			depth--
		case depth <= 0 && toks[k].punct(","):
			return k + 1
		}
	}
	return k
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
		st.Value = mask.MySQL(st.Value)
	}
	return st
}

// ---- injection shapes ----

type shapes struct {
	tautology, unionProbe, sleep, catalog bool
}

func lexShapes(toks []ltok) shapes {
	var sh shapes
	for k := 0; k < len(toks); k++ {
		t := toks[k]
		switch {
		case t.isAny("or", "xor") || t.punct("||"):
			if tautologyAt(toks, k+1) {
				sh.tautology = true
			}
		case t.is("union"):
			if unionProbeAt(toks, k+1) {
				sh.unionProbe = true
			}
		case t.name() && k+1 < len(toks) && toks[k+1].punct("(") && sleepRoutines[lex.Lower(t.w)]:
			sh.sleep = true
		case t.name() && catalogSchemas[lex.Lower(t.w)] && k+1 < len(toks) && toks[k+1].punct("."):
			sh.catalog = true
		case t.name() && lex.Lower(t.w) == "mysql" && k+2 < len(toks) && toks[k+1].punct(".") &&
			catalogRelations[lex.Lower(toks[k+2].w)]:
			sh.catalog = true
		}
	}
	return sh
}

// operand parses a comparison operand at k: a constant or a possibly
// qualified name.
func operand(toks []ltok, k int) (name string, isConst bool, next int) {
	if k >= len(toks) {
		return "", false, k
	}
	t := toks[k]
	switch {
	case (t.punct("-") || t.punct("+")) && k+1 < len(toks) && toks[k+1].kind == lex.Number:
		return "", true, k + 2
	case t.constant():
		return "", true, k + 1
	case t.isAny("true", "false", "null"):
		return "", true, k + 1
	case t.name():
		n, nk := qname(toks, k)
		return lex.Lower(n), false, nk
	}
	return "", false, k
}

// terminator: what may follow an injected tautology.
func terminator(toks []ltok, k int) bool {
	if k >= len(toks) {
		return true
	}
	t := toks[k]
	return t.punct(")") || t.punct(";") || t.isAny("and", "or", "order", "group", "limit", "union", "having", "into", "xor")
}

// tautologyAt: OR <const> <cmp> <const> | OR x = x | OR <const>, ended by a
// terminator. Constant values do not matter (OR 1=2 is the false probe).
func tautologyAt(toks []ltok, k int) bool {
	for k < len(toks) && (toks[k].punct("(") || toks[k].is("not") || toks[k].punct("!")) {
		k++
	}
	lname, lconst, j := operand(toks, k)
	if j == k {
		return false
	}
	if j < len(toks) {
		op := toks[j]
		isCmp := op.kind == lex.Op && (op.raw == "=" || op.raw == "<>" || op.raw == "!=" || op.raw == "<" ||
			op.raw == ">" || op.raw == "<=" || op.raw == ">=" || op.raw == "<=>") || op.isAny("like", "is", "rlike", "regexp")
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
			return lname != "" && lname == rname && (op.raw == "=" || op.raw == "<=>" || op.is("like") || op.raw == ">=" || op.raw == "<=")
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

// unionProbeAt: UNION [ALL] SELECT of constants only (column-count probing)
// or a UNION reading a system catalog.
func unionProbeAt(toks []ltok, k int) bool {
	for k < len(toks) && (toks[k].isAny("all", "distinct") || toks[k].punct("(")) {
		k++
	}
	if k >= len(toks) || !toks[k].is("select") {
		return false
	}
	k++
	allConst := true
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
		case t.punct(","), t.constant(), t.isAny("null", "true", "false"), t.punct("-"), t.punct("+"):
		default:
			allConst = false
		}
	}
	if allConst {
		return true
	}
	for ; k < len(toks); k++ {
		t := toks[k]
		if t.name() && catalogSchemas[lex.Lower(t.w)] {
			return true
		}
		if t.name() && lex.Lower(t.w) == "mysql" && k+2 < len(toks) && toks[k+1].punct(".") {
			return true
		}
		if t.is("union") {
			break
		}
	}
	return false
}
