// Package mysql classifies MySQL and MariaDB statements for detection
// rules, with the same API and the same vocabulary as stmt/pgsql: the
// command and objects (OTel db.* fields), the event category, a literal-free
// summary, and the sql.* facts rules need (users and roles, grants,
// settings, file targets, routines called, UDF libraries, injection shapes).
//
// It uses TiDB's MySQL parser (pure Go) for the statements it accepts and a
// lexical reading for the rest — MariaDB-only syntax (CREATE OR REPLACE
// USER, INTO DUMPFILE, INSTALL SONAME), CREATE FUNCTION / TRIGGER / EVENT,
// INSTALL PLUGIN, and text truncated by the audit plugin — flagged
// sql.parse_error, with go-sqllexer's table extraction as the never-failing
// fallback for the objects. Every parser call is guarded by recover.
//
// Vocabulary (db.operation.name): CREATE USER / ALTER USER / DROP USER /
// RENAME USER with sql.role (login true for users), CREATE ROLE / DROP ROLE,
// GRANT / REVOKE with sql.grant (privileges upper case: SELECT, SUPER,
// FILE, ALL; grantees and roles as user@host, the default host % omitted;
// db.collection.name the grant level: *.*, shop.*, shop.t), SET with
// sql.setting (scope "system" for GLOBAL/PERSIST, "session" otherwise),
// SET PASSWORD, SELECT ... INTO OUTFILE/DUMPFILE (sql.copy to/file),
// LOAD DATA [LOCAL] INFILE (sql.copy from/file; LOCAL reads a file of the
// client, sent over the connection like COPY FROM STDIN: from/stdin), LOAD_FILE() (routine load_file and sql.copy from/file), CREATE
// FUNCTION ... SONAME (sql.library, language c, untrusted), INSTALL PLUGIN
// (also for MariaDB's INSTALL SONAME; sql.library), UNINSTALL PLUGIN (object
// the plugin name), CREATE/ALTER/DROP PROCEDURE|FUNCTION|TRIGGER|EVENT
// (sql.replace for CREATE OR REPLACE), CALL.
//
// Results are cached under a key computed by a lexer pass (literals
// stripped where they cannot change the result, see key.go).
package mysql

import (
	"slices"
	"strings"
	"unicode/utf8"

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
	// MaxParses bounds parser calls per classified text (statements of a
	// batch parsed one by one, PREPARE'd literals). Default 64.
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

// Apply masks ev.DB.Query.Text (MySQL quoting rules), classifies it and
// fills the event like pgsql.Classifier.Apply. Events without query text
// are left alone.
func (c *Classifier) Apply(ev *event.Event) {
	text := ev.DB.Query.Text
	if text == "" {
		return
	}
	masked := mask.MySQL(text)
	ev.DB.Query.Text = masked
	c.Classify(masked).Fill(ev)
}

// stmtRes is the classification of one statement.
type stmtRes struct {
	op, objType string
	// category overrides categoryOf(op) (LOAD DATA is dml).
	category string
	objects  []string
	sql      event.SQL
	// inner are the statements this one runs (PREPARE'd text, EXPLAIN ANALYZE).
	inner []*stmtRes
	// catalog: the statement reads a system catalog.
	catalog bool
}

func (s *stmtRes) addObject(name string) {
	if name != "" {
		s.objects = classify.AppendUniq(s.objects, name)
	}
}

func (s *stmtRes) categoryName() string {
	if s.category != "" {
		return s.category
	}
	return categoryOf(s.op)
}

// analysis is the state of one cache miss.
type analysis struct {
	c      *Classifier
	budget int // parser calls left
}

// parse runs TiDB's parser within the budget.
func (a *analysis) parse(text string) bool {
	if a.budget <= 0 || len(text) > a.c.opts.MaxParseBytes || strings.IndexByte(text, 0) >= 0 || !utf8.ValidString(text) {
		return false
	}
	a.budget--
	return true
}

// statements classifies every statement of text. When the parser rejects
// the text as a whole, it is split lexically and each statement is parsed
// on its own (so "SELECT 1; DROP TABLE t; garbage" still yields a parsed
// DROP TABLE) or read lexically.
func (a *analysis) statements(text string, depth int) []*stmtRes {
	out, _ := a.statementsErr(text, depth)
	return out
}

func (a *analysis) statementsErr(text string, depth int) (out []*stmtRes, parseErr bool) {
	if a.parse(text) {
		if stmts, err := parseTiDB(parseText(text)); err == nil && len(stmts) > 0 {
			for _, st := range stmts {
				out = append(out, a.node(st, depth))
			}
			return out, false
		}
	}
	pieces := splitLex(text)
	for _, p := range pieces {
		if len(pieces) > 1 && a.parse(p.text) {
			if stmts, err := parseTiDB(parseText(p.text)); err == nil && len(stmts) == 1 {
				out = append(out, a.node(stmts[0], depth))
				continue
			}
		}
		s := lexical(p)
		switch s.op {
		case "SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE TABLE AS", "LOAD DATA":
			for _, t := range fallbackTables(p.text) {
				if u := strings.ToUpper(t); u == "OUTFILE" || u == "DUMPFILE" || u == "DUAL" {
					continue
				}
				if len(s.objects) < maxList {
					s.addObject(strings.Trim(t, "`"))
				}
			}
			for _, o := range s.objects {
				if isCatalogObject(o) {
					s.catalog = true
				}
			}
		}
		out = append(out, s)
	}
	return out, true
}

// Limits on list sizes in a result.
const maxList = 64

// maxSummary bounds db.query.summary.
const maxSummary = 4096

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
	lexed := splitLex(text)
	if len(lexed) == 0 {
		return r // white space, comments, semicolons: nothing to classify
	}
	stmts, perr := a.statementsErr(text, 0)
	r.SQL.ParseError = perr
	for _, s := range stmts {
		merge(r, s)
	}
	r.SQL.Stacked = len(stmts) > 1

	// Injection shapes, lexically over every statement.
	var sh shapes
	trunc := false
	for _, ls := range lexed {
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
		if s.catalog && readLike(s) {
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

	sum := summarize(make([]byte, 0, len(text)), text)
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

func readLike(s *stmtRes) bool {
	switch s.categoryName() {
	case event.CategoryQuery, event.CategoryDML:
		return true
	}
	return false
}

// stackedDanger: several statements where a later one does more than read.
func stackedDanger(stmts []*stmtRes) bool {
	if len(stmts) < 2 {
		return false
	}
	firstRead := stmts[0].categoryName() == event.CategoryQuery && stmts[0].op != "START TRANSACTION" &&
		stmts[0].op != "BEGIN" && stmts[0].op != "USE"
	for _, s := range stmts[1:] {
		switch s.categoryName() {
		case event.CategoryDDL, event.CategoryDCL:
			return true
		case event.CategoryAdmin:
			if s.op != "SET" || settingRank(s.sql.Setting) >= 10 {
				return true
			}
		}
		switch s.op {
		case "LOAD DATA", "CALL", "TRUNCATE TABLE", "DO":
			return true
		case "INSERT", "DELETE", "UPDATE", "REPLACE":
			if firstRead {
				return true
			}
		}
		if s.sql.Copy.Target == "file" {
			return true
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
	q.Replace = q.Replace || s.sql.Replace
	q.Untrusted = q.Untrusted || s.sql.Untrusted
	q.DynamicExec = q.DynamicExec || s.sql.DynamicExec
	if q.Copy == (event.Copy{}) || q.Copy.Direction == "from" && s.sql.Copy.Direction == "to" {
		if s.sql.Copy != (event.Copy{}) {
			q.Copy = s.sql.Copy
		}
	}
	if q.Language == "" {
		q.Language = s.sql.Language
	}
	if q.Library == "" {
		q.Library = s.sql.Library
	}
	sr := s.sql.Role
	for _, n := range sr.Names {
		if len(q.Role.Names) < maxList {
			q.Role.Names = classify.AppendUniq(q.Role.Names, n)
		}
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
		if len(q.Grant.Privileges) < maxList {
			q.Grant.Privileges = classify.AppendUniq(q.Grant.Privileges, p)
		}
	}
	for _, p := range sg.Roles {
		if len(q.Grant.Roles) < maxList {
			q.Grant.Roles = classify.AppendUniq(q.Grant.Roles, p)
		}
	}
	for _, p := range sg.Grantees {
		if len(q.Grant.Grantees) < maxList {
			q.Grant.Grantees = classify.AppendUniq(q.Grant.Grantees, p)
		}
	}
	q.Grant.All = q.Grant.All || sg.All
	// MariaDB 10.11+: GRANT ... TO PUBLIC.
	q.Grant.Public = q.Grant.Public || sg.Public || slices.ContainsFunc(sg.Grantees, func(g string) bool { return strings.EqualFold(g, "public") })
	q.Grant.WithGrantOption = q.Grant.WithGrantOption || sg.WithGrantOption
	if s.sql.Setting.Name != "" && (q.Setting.Name == "" || settingRank(s.sql.Setting) > settingRank(q.Setting)) {
		q.Setting = s.sql.Setting
	}
	for _, in := range s.inner {
		merge(r, in)
	}
}
