// Package pgsql classifies PostgreSQL statements for detection rules: the
// command and objects (OTel db.* fields), the event category, a literal-free
// summary, and the sql.* facts rules need (roles, grants, settings, COPY
// targets, routines called, untrusted languages, dynamic SQL in DO blocks,
// injection shapes).
//
// It uses the real PostgreSQL parser (pg_query_go, cgo) for statements it
// accepts and a lexical best effort for the rest (syntax errors, truncated
// log lines, other dialects), flagged sql.parse_error.
//
// Parsing costs tens of microseconds; log streams repeat a small set of
// statement shapes. Results are therefore cached under a key computed by a
// lexer pass (literals stripped, see normalize.go), so a repeated shape
// costs well under a microsecond.
//
// The C parser is treated as hostile-input-sensitive: it is never given text
// whose estimated nesting could overflow its stack (see nesting.go), text
// with NUL bytes or invalid UTF-8, or a PL/pgSQL statement without a body
// (libpg_query #362), and every call is wrapped in recover.
package pgsql

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/stmt/classify"
	"github.com/vigildb/vigil/stmt/mask"
	"github.com/vigildb/vigil/stmt/shapecache"
)

// Options configure a Classifier. The zero value is usable.
type Options struct {
	// CacheSize bounds the number of cached classifications. 0 means the
	// default (20000); negative disables the cache.
	CacheSize int
	// MaxParseBytes: longer texts are classified lexically only and not
	// cached (default 1 MiB).
	MaxParseBytes int
	// MaxNesting: texts whose estimated expression nesting exceeds this are
	// not given to the C parser, whose recursion overflows the thread stack
	// on deeply nested input (default 1000; the crash point measured with an
	// 8 MiB stack is ~20000, with 1 MiB ~3000).
	MaxNesting int
	// MaxParses bounds parser calls per classified text (inner statements of
	// DO blocks, EXECUTE'd literals, PL/pgSQL expressions). Default 64.
	MaxParses int
}

// Classifier classifies statements. It is safe for concurrent use.
type Classifier struct {
	opts  Options
	cache *shapecache.Cache[*Result]
}

// New returns a Classifier.
func New(opts Options) *Classifier {
	if opts.CacheSize == 0 {
		opts.CacheSize = 20000
	}
	if opts.MaxParseBytes <= 0 {
		opts.MaxParseBytes = 1 << 20
	}
	if opts.MaxNesting <= 0 {
		opts.MaxNesting = 1000
	}
	if opts.MaxParses <= 0 {
		opts.MaxParses = 64
	}
	c := &Classifier{opts: opts}
	if opts.CacheSize > 0 {
		c.cache = shapecache.New[*Result](opts.CacheSize)
	}
	return c
}

// Result is what Classify returns (see classify.Result).
type Result = classify.Result

// Classify classifies text, which may hold several statements.
func (c *Classifier) Classify(text string) *Result {
	if c.cache == nil || len(text) > c.opts.MaxParseBytes {
		return c.analyze(text)
	}
	return c.cache.Do(text, appendKey, c.analyze)
}

// appendKey appends the cache key of text. Text the parser is never given
// (NUL bytes, invalid UTF-8) gets a distinct key prefix, because its
// classification differs from that of the same shape in clean text.
func appendKey(dst []byte, text string) []byte {
	switch {
	case strings.IndexByte(text, 0) >= 0:
		dst = append(dst, 0, 'z')
	case !utf8.ValidString(text):
		dst = append(dst, 0, 'u')
	}
	return normalize(dst, text, false)
}

// Apply masks ev.DB.Query.Text, classifies it and fills the event:
// db.operation.name, db.object.type, db.collection.name, db.query.summary,
// event.category (only when empty: the log parser's error/authentication
// stays) and sql.* (sql.audit is kept, and operations the log parser already
// listed are kept in front). Events without query text are left alone.
func (c *Classifier) Apply(ev *event.Event) {
	text := ev.DB.Query.Text
	if text == "" {
		return
	}
	masked := mask.SQL(text)
	ev.DB.Query.Text = masked
	c.Classify(masked).Fill(ev)
}

// analysis is the state of one cache miss.
type analysis struct {
	c      *Classifier
	budget int // parser calls left
}

var (
	errBudget  = errors.New("pgsql: parser call budget exhausted")
	errTooLong = errors.New("pgsql: text too long for the parser")
	errNotText = errors.New("pgsql: text holds NUL bytes or invalid UTF-8")
	errTooDeep = errors.New("pgsql: text too deeply nested for the parser")
)

// guard decides whether text may be given to the C parser.
func (a *analysis) guard(text string, blocks bool) error {
	if a.budget <= 0 {
		return errBudget
	}
	a.budget--
	if len(text) > a.c.opts.MaxParseBytes {
		return errTooLong
	}
	if strings.IndexByte(text, 0) >= 0 || !utf8.ValidString(text) {
		return errNotText
	}
	if nestingDepth(text, blocks, a.c.opts.MaxNesting) > a.c.opts.MaxNesting {
		return errTooDeep
	}
	return nil
}

// parse runs the PostgreSQL parser on text after the guard.
func (a *analysis) parse(text string) (tree *pg.ParseResult, err error) {
	if err := a.guard(text, false); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			tree, err = nil, fmt.Errorf("pgsql: parser panic: %v", r)
		}
	}()
	tree, err = pg.Parse(text)
	if err != nil {
		return nil, fmt.Errorf("pgsql: parsing statement: %w", err)
	}
	return tree, nil
}

// statements classifies every statement of text. parseErr reports that the
// parser rejected the text as a whole; statements are then split lexically
// and each is parsed on its own (so "SELECT 1; DROP TABLE t; garbage" still
// yields a parsed DROP TABLE) or classified lexically.
func (a *analysis) statements(text string, depth int) (out []*stmtRes, parseErr bool) {
	tree, err := a.parse(text)
	if err == nil {
		for _, raw := range tree.Stmts {
			out = append(out, a.node(raw.Stmt, stmtSlice(text, raw), depth))
		}
		return out, false
	}
	pieces := splitLex(text)
	for _, p := range pieces {
		if len(pieces) > 1 {
			if t, err := a.parse(p.text); err == nil && len(t.Stmts) == 1 {
				out = append(out, a.node(t.Stmts[0].Stmt, p.text, depth))
				continue
			}
		}
		out = append(out, a.lexical(p))
	}
	return out, true
}

// stmtSlice returns the source of one parsed statement.
func stmtSlice(text string, raw *pg.RawStmt) string {
	start := int(raw.StmtLocation)
	if start < 0 || start > len(text) {
		return text
	}
	end := len(text)
	if raw.StmtLen > 0 && start+int(raw.StmtLen) <= len(text) {
		end = start + int(raw.StmtLen)
	}
	return text[start:end]
}

// Limits on list sizes in a result (a 10,000-statement batch must not make a
// 10,000-entry event).
const maxList = 64

// analyze classifies text without the cache. A panic in the analysis (a
// bug, never expected: the fuzz target hunts for them) yields a bare
// parse_error result rather than taking the pipeline down.
func (c *Classifier) analyze(text string) (r *Result) {
	defer func() {
		if p := recover(); p != nil {
			r = &Result{SQL: event.SQL{ParseError: true}}
		}
	}()
	return c.analyze1(text)
}

func (c *Classifier) analyze1(text string) *Result {
	a := &analysis{c: c, budget: c.opts.MaxParses}
	r := &Result{}
	if strings.TrimSpace(text) == "" {
		return r
	}
	var stmts []*stmtRes
	var perr bool
	if len(text) > c.opts.MaxParseBytes {
		for _, p := range splitLex(text) {
			stmts = append(stmts, a.lexical(p))
		}
		perr = true
	} else {
		stmts, perr = a.statements(text, 0)
	}
	r.SQL.ParseError = perr
	for _, s := range stmts {
		merge(r, s)
	}
	r.SQL.Stacked = len(stmts) > 1

	// Injection shapes.
	var sh shapes
	trunc := false
	for _, ls := range splitLex(text) {
		x := lexShapes(ls.toks)
		sh.tautology = sh.tautology || x.tautology
		sh.unionProbe = sh.unionProbe || x.unionProbe
		sh.sleep = sh.sleep || x.sleep
		sh.catalog = sh.catalog || x.catalog
		trunc = trunc || ls.commentTrunc
	}
	for _, rt := range r.SQL.Routines {
		if sleepRoutines[rt] {
			sh.sleep = true
		}
	}
	catalog := perr && sh.catalog
	for _, s := range stmts {
		if s.catalog && readLike(s.op) {
			catalog = true
		}
	}
	var inj []string
	if sh.tautology {
		inj = append(inj, "tautology")
	}
	if sh.unionProbe {
		inj = append(inj, "union_probe")
	}
	if stackedDanger(stmts) {
		inj = append(inj, "stacked")
	}
	if sh.sleep {
		inj = append(inj, "time_sleep")
	}
	if catalog {
		inj = append(inj, "catalog_enum")
	}
	if trunc {
		inj = append(inj, "comment_truncation")
	}
	r.SQL.Injection = inj

	sum := normalize(make([]byte, 0, len(text)), text, true)
	if len(sum) > maxSummary {
		cut := maxSummary
		for cut > 0 && !utf8.RuneStart(sum[cut]) {
			cut--
		}
		sum = append(sum[:cut], " …"...)
	}
	r.Summary = string(sum)
	r.Clip()
	return r
}

// maxSummary bounds db.query.summary.
const maxSummary = 4096

func readLike(op string) bool {
	switch categoryOf(op) {
	case event.CategoryQuery, event.CategoryDML:
		return true
	}
	return op == "COPY"
}

// stackedDanger: several statements where a later one does more than read.
func stackedDanger(stmts []*stmtRes) bool {
	if len(stmts) < 2 {
		return false
	}
	// DML after a read is the classic injected statement; after BEGIN or
	// SET it is an ordinary batch.
	firstRead := readLike(stmts[0].op) && categoryOf(stmts[0].op) == event.CategoryQuery &&
		stmts[0].op != "BEGIN" && stmts[0].op != "START TRANSACTION"
	for _, s := range stmts[1:] {
		switch s.categoryName() {
		case event.CategoryDDL, event.CategoryDCL:
			return true
		case event.CategoryAdmin:
			if s.op != "SET" && s.op != "RESET" || settingRank(s.sql.Setting) >= 10 {
				return true
			}
		}
		switch s.op {
		case "COPY", "DO", "CALL", "TRUNCATE TABLE", "LOAD":
			return true
		case "INSERT", "DELETE", "UPDATE", "MERGE":
			if firstRead {
				return true
			}
		}
		for _, rt := range s.sql.Routines {
			if dangerousRoutines[rt] || sleepRoutines[rt] {
				return true
			}
		}
	}
	return false
}

// merge adds one statement (and the statements it runs) to the result.
func merge(r *Result, s *stmtRes) {
	if s == nil {
		return
	}
	if r.Operation == "" && s.op != "" {
		r.Operation, r.ObjectType, r.Category = s.op, s.objType, s.categoryName()
	}
	q := &r.SQL
	if s.op != "" && len(q.Operations) < maxList {
		q.Operations = classify.AppendUniq(q.Operations, s.op)
	}
	if s.objType != "" && len(q.ObjectTypes) < maxList {
		q.ObjectTypes = classify.AppendUniq(q.ObjectTypes, s.objType)
	}
	for _, o := range s.objects {
		if len(r.Objects) < maxList {
			r.Objects = classify.AppendUniq(r.Objects, o)
		}
	}
	for _, o := range s.sql.Routines {
		if len(q.Routines) < maxList {
			q.Routines = classify.AppendUniq(q.Routines, o)
		}
	}
	q.NoWhere = q.NoWhere || s.sql.NoWhere
	q.DynamicExec = q.DynamicExec || s.sql.DynamicExec
	q.Replace = q.Replace || s.sql.Replace
	q.Untrusted = q.Untrusted || s.sql.Untrusted
	if q.Copy == (event.Copy{}) {
		q.Copy = s.sql.Copy
	}
	if q.Language == "" {
		q.Language = s.sql.Language
	}
	if q.Library == "" {
		q.Library = s.sql.Library
	}
	// Role and grant facts of all statements are united, so a batch cannot
	// hide "ALTER ROLE x SUPERUSER" behind a harmless first statement.
	sr := s.sql.Role
	for _, n := range sr.Names {
		q.Role.Names = classify.AppendUniq(q.Role.Names, n)
	}
	for _, at := range sr.Attributes {
		q.Role.Attributes = classify.AppendUniq(q.Role.Attributes, at)
	}
	q.Role.Login = q.Role.Login || sr.Login
	q.Role.Password = q.Role.Password || sr.Password
	sg := s.sql.Grant
	if q.Grant.ObjectType == "" {
		q.Grant.ObjectType = sg.ObjectType
		q.Grant.Revoke = sg.Revoke
	}
	for _, p := range sg.Privileges {
		q.Grant.Privileges = classify.AppendUniq(q.Grant.Privileges, p)
	}
	for _, p := range sg.Roles {
		q.Grant.Roles = classify.AppendUniq(q.Grant.Roles, p)
	}
	for _, p := range sg.Grantees {
		q.Grant.Grantees = classify.AppendUniq(q.Grant.Grantees, p)
	}
	q.Grant.All = q.Grant.All || sg.All
	q.Grant.Public = q.Grant.Public || sg.Public
	q.Grant.WithGrantOption = q.Grant.WithGrantOption || sg.WithGrantOption
	// One setting fits in the event: keep the most security-relevant one.
	if s.sql.Setting.Name != "" && (q.Setting.Name == "" || settingRank(s.sql.Setting) > settingRank(q.Setting)) {
		q.Setting = s.sql.Setting
	}
	for _, in := range s.inner {
		merge(r, in)
	}
}

func (s *stmtRes) categoryName() string {
	if s.category != "" {
		return s.category
	}
	return categoryOf(s.op)
}
