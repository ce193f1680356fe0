package mysql

import (
	"errors"
	"fmt"
	"github.com/vigildb/vigil/stmt/classify"
	"slices"
	"strings"
	"sync"

	"github.com/DataDog/go-sqllexer"
	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/auth"
	pmysql "github.com/pingcap/tidb/pkg/parser/mysql"

	// TiDB's parser needs a value-expression driver; test_driver is the
	// dependency-free one.
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/stmt/lex"
	"github.com/vigildb/vigil/stmt/mask"
)

// TiDB parsers are not safe for concurrent use and cost a few KB to build:
// a pool keeps one per worker.
var parserPool = sync.Pool{New: func() any { return parser.New() }}

var errParsePanic = errors.New("mysql: parser panic")

// parseTiDB runs TiDB's parser on text, recovering from any panic (the
// parser is attacker-facing: log text is whatever a client sent).
func parseTiDB(text string) (stmts []ast.StmtNode, err error) {
	p := parserPool.Get().(*parser.Parser)
	ok := false
	defer func() {
		if r := recover(); r != nil {
			stmts, err = nil, fmt.Errorf("%w: %v", errParsePanic, r)
		}
		if ok {
			parserPool.Put(p) // a parser that panicked is dropped
		}
	}()
	stmts, _, err = p.Parse(text, "", "")
	ok = true
	// The returned slice is the parser's own result buffer, which its next
	// Parse overwrites once the parser is back in the pool: copy it (the
	// nodes themselves are freshly allocated per parse).
	return slices.Clone(stmts), err
}

// parseText prepares text for the parser: the server_audit plugin writes
// masked passwords as a bare ***** (IDENTIFIED BY *****, PASSWORD(*****)),
// which is not SQL; a string literal takes its place.
func parseText(text string) string {
	if !strings.Contains(text, "*****") {
		return text
	}
	return strings.ReplaceAll(text, "*****", "'***'")
}

// collector gathers the tables and functions of a subtree.
type collector struct {
	tables []string
	funcs  []string
	ctes   map[string]bool
	files  []event.Copy
	nodes  int
}

// maxVisit bounds the nodes visited per statement.
const maxVisit = 200000

func (c *collector) Enter(n ast.Node) (ast.Node, bool) {
	c.nodes++
	if c.nodes > maxVisit {
		return n, true
	}
	switch v := n.(type) {
	case *ast.CommonTableExpression:
		if c.ctes == nil {
			c.ctes = map[string]bool{}
		}
		c.ctes[v.Name.L] = true
	case *ast.TableName:
		if v.Schema.O == "" && c.ctes[v.Name.L] {
			break
		}
		c.tables = classify.AppendUniq(c.tables, tableName(v))
	case *ast.FuncCallExpr:
		name := v.FnName.L
		if v.Schema.L != "" {
			name = v.Schema.L + "." + name
		}
		c.funcs = classify.AppendUniq(c.funcs, name)
	}
	return n, false
}

func (c *collector) Leave(n ast.Node) (ast.Node, bool) { return n, true }

func tableName(t *ast.TableName) string {
	if t == nil {
		return ""
	}
	if t.Schema.O != "" {
		return t.Schema.O + "." + t.Name.O
	}
	return t.Name.O
}

// accountName renders a TiDB user identity: user@host, with the default
// host % left out (so 'svc'@'%', 'svc' and svc read the same).
func accountName(u *auth.UserIdentity) string {
	if u == nil {
		return ""
	}
	if u.CurrentUser {
		return "current_user"
	}
	return renderAccount(u.Username, u.Hostname)
}

func roleName(r *auth.RoleIdentity) string {
	if r == nil {
		return ""
	}
	return renderAccount(r.Username, r.Hostname)
}

// scan collects tables (as objects when reads is set) and routines.
func (s *stmtRes) scan(n ast.Node, reads bool) {
	if n == nil {
		return
	}
	c := &collector{}
	// CTE names first, so references before the definition are excluded.
	n.Accept(&cteCollector{into: c})
	n.Accept(c)
	for _, f := range c.funcs {
		s.sql.Routines = classify.AppendUniq(s.sql.Routines, f)
	}
	if reads {
		for _, t := range c.tables {
			s.addObject(t)
		}
	}
}

type cteCollector struct {
	into  *collector
	nodes int
}

func (c *cteCollector) Enter(n ast.Node) (ast.Node, bool) {
	c.nodes++
	if c.nodes > maxVisit {
		return n, true
	}
	if v, ok := n.(*ast.CommonTableExpression); ok {
		if c.into.ctes == nil {
			c.into.ctes = map[string]bool{}
		}
		c.into.ctes[v.Name.L] = true
	}
	return n, false
}

func (c *cteCollector) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// node classifies one parsed statement. It starts from the lexical reading
// of the statement's text (which knows MySQL's account, grant and setting
// syntax) and overrides what the tree says more precisely: the command,
// the objects, the routines called, WHERE-less DML, file targets.
func (a *analysis) node(n ast.StmtNode, depth int) *stmtRes {
	text := n.Text()
	var s *stmtRes
	if ls := splitLex(text); len(ls) > 0 {
		s = lexical(ls[0])
	} else {
		s = &stmtRes{}
	}
	s.sql.Routines = nil
	switch x := n.(type) {
	case *ast.SelectStmt:
		s.op, s.objType, s.objects = "SELECT", "", nil
		s.scan(x, true)
		if o := x.SelectIntoOpt; o != nil {
			s.sql.Copy = event.Copy{Direction: "to", Target: "file", Path: mask.MySQL(o.FileName)}
			if o.Tp == ast.SelectIntoVars {
				s.sql.Copy = event.Copy{}
			}
		}
	case *ast.SetOprStmt:
		s.op, s.objType, s.objects = "SELECT", "", nil
		s.scan(x, true)
	case *ast.InsertStmt:
		s.op, s.objType, s.objects = "INSERT", "TABLE", nil
		if x.IsReplace {
			s.op = "REPLACE"
		}
		if x.Table != nil {
			s.scan(x.Table, true) // the target first
		}
		s.scan(x, true)
	case *ast.UpdateStmt:
		s.op, s.objType, s.objects = "UPDATE", "TABLE", nil
		s.sql.NoWhere = x.Where == nil
		s.scan(x, true)
	case *ast.DeleteStmt:
		s.op, s.objType, s.objects = "DELETE", "TABLE", nil
		s.sql.NoWhere = x.Where == nil
		if x.Tables != nil {
			for _, t := range x.Tables.Tables {
				s.addObject(tableName(t))
			}
		}
		s.scan(x, true)
	case *ast.TruncateTableStmt:
		s.op, s.objType, s.objects = "TRUNCATE TABLE", "TABLE", nil
		s.addObject(tableName(x.Table))
	case *ast.CreateTableStmt:
		s.op, s.objType, s.objects = "CREATE TABLE", "TABLE", nil
		s.addObject(tableName(x.Table))
		if x.Select != nil {
			s.op = "CREATE TABLE AS"
			s.scan(x.Select, true)
		}
	case *ast.DropTableStmt:
		s.op, s.objType, s.objects = "DROP TABLE", "TABLE", nil
		if x.IsView {
			s.op, s.objType = "DROP VIEW", "VIEW"
		}
		for _, t := range x.Tables {
			s.addObject(tableName(t))
		}
	case *ast.CreateViewStmt:
		s.op, s.objType, s.objects = "CREATE VIEW", "VIEW", nil
		s.sql.Replace = x.OrReplace
		s.addObject(tableName(x.ViewName))
		s.scan(x.Select, true)
	case *ast.AlterTableStmt:
		s.op, s.objType, s.objects = "ALTER TABLE", "TABLE", nil
		s.addObject(tableName(x.Table))
	case *ast.RenameTableStmt:
		s.op, s.objType, s.objects = "RENAME TABLE", "TABLE", nil
		for _, tt := range x.TableToTables {
			s.addObject(tableName(tt.OldTable))
			s.addObject(tableName(tt.NewTable))
		}
	case *ast.CreateDatabaseStmt:
		s.op, s.objType, s.objects = "CREATE DATABASE", "DATABASE", []string{x.Name.O}
	case *ast.DropDatabaseStmt:
		s.op, s.objType, s.objects = "DROP DATABASE", "DATABASE", []string{x.Name.O}
	case *ast.AlterDatabaseStmt:
		s.op, s.objType = "ALTER DATABASE", "DATABASE"
		if x.Name.O != "" {
			s.objects = []string{x.Name.O}
		}
	case *ast.CreateIndexStmt:
		s.op, s.objType, s.objects = "CREATE INDEX", "INDEX", []string{tableName(x.Table)}
	case *ast.DropIndexStmt:
		s.op, s.objType, s.objects = "DROP INDEX", "INDEX", []string{tableName(x.Table)}
	case *ast.CreateUserStmt:
		s.op, s.objType = "CREATE USER", "USER"
		if x.IsCreateRole {
			s.op, s.objType = "CREATE ROLE", "ROLE"
		}
		s.objects = nil
		r := event.Role{}
		for _, sp := range x.Specs {
			name := accountName(sp.User)
			s.addObject(name)
			r.Names = classify.AppendUniq(r.Names, name)
			if sp.AuthOpt != nil && (sp.AuthOpt.ByAuthString || sp.AuthOpt.ByHashString) {
				r.Password = true
			}
		}
		if !x.IsCreateRole {
			r.Login = true
			r.Attributes = []string{"LOGIN"}
		}
		s.sql.Role = r
	case *ast.AlterUserStmt:
		s.op, s.objType, s.objects = "ALTER USER", "USER", nil
		r := event.Role{}
		for _, sp := range x.Specs {
			name := accountName(sp.User)
			s.addObject(name)
			r.Names = classify.AppendUniq(r.Names, name)
			if sp.AuthOpt != nil && (sp.AuthOpt.ByAuthString || sp.AuthOpt.ByHashString) {
				r.Password = true
			}
		}
		if x.CurrentAuth != nil {
			r.Names = classify.AppendUniq(r.Names, "current_user")
			r.Password = r.Password || x.CurrentAuth.ByAuthString || x.CurrentAuth.ByHashString
		}
		s.sql.Role = r
	case *ast.DropUserStmt:
		s.op, s.objType, s.objects = "DROP USER", "USER", nil
		if x.IsDropRole {
			s.op, s.objType = "DROP ROLE", "ROLE"
		}
		for _, u := range x.UserList {
			s.addObject(accountName(u))
		}
		s.sql.Role = event.Role{Names: s.objects}
	case *ast.RenameUserStmt:
		s.op, s.objType, s.objects = "RENAME USER", "USER", nil
		for _, uu := range x.UserToUsers {
			s.addObject(accountName(uu.OldUser))
			s.addObject(accountName(uu.NewUser))
		}
		s.sql.Role = event.Role{Names: s.objects}
	case *ast.SetPwdStmt:
		s.op, s.objType, s.objects = "SET PASSWORD", "USER", nil
		name := "current_user"
		if x.User != nil {
			name = accountName(x.User)
		}
		s.objects = []string{name}
		s.sql.Role = event.Role{Names: []string{name}, Password: true}
	case *ast.GrantStmt:
		s.op = "GRANT"
		grantTree(s, x.Privs, x.ObjectType, x.Level, x.Users, false)
		s.sql.Grant.WithGrantOption = s.sql.Grant.WithGrantOption || x.WithGrant
	case *ast.RevokeStmt:
		s.op = "REVOKE"
		grantTree(s, x.Privs, x.ObjectType, x.Level, x.Users, true)
	case *ast.GrantRoleStmt:
		s.op, s.objType, s.objects = "GRANT", "ROLE", nil
		g := event.Grant{ObjectType: "ROLE", WithGrantOption: s.sql.Grant.WithGrantOption}
		for _, r := range x.Roles {
			g.Roles = classify.AppendUniq(g.Roles, roleName(r))
			s.addObject(roleName(r))
		}
		for _, u := range x.Users {
			g.Grantees = classify.AppendUniq(g.Grantees, accountName(u))
		}
		s.sql.Grant = g
	case *ast.RevokeRoleStmt:
		s.op, s.objType, s.objects = "REVOKE", "ROLE", nil
		g := event.Grant{ObjectType: "ROLE", Revoke: true}
		for _, r := range x.Roles {
			g.Roles = classify.AppendUniq(g.Roles, roleName(r))
			s.addObject(roleName(r))
		}
		for _, u := range x.Users {
			g.Grantees = classify.AppendUniq(g.Grantees, accountName(u))
		}
		s.sql.Grant = g
	case *ast.SetStmt:
		s.op = "SET"
		s.scan(x, false)
	case *ast.LoadDataStmt:
		s.op, s.objType, s.objects = "LOAD DATA", "TABLE", nil
		s.category = event.CategoryDML
		s.addObject(tableName(x.Table))
		s.sql.Copy = event.Copy{Direction: "from", Target: "file", Path: mask.MySQL(x.Path)}
		if x.FileLocRef == ast.FileLocClient {
			s.sql.Copy.Target = "stdin"
		}
	case *ast.CallStmt:
		s.op, s.objType, s.objects = "CALL", "PROCEDURE", nil
		if p := x.Procedure; p != nil {
			name := p.FnName.O
			if p.Schema.O != "" {
				name = p.Schema.O + "." + name
			}
			s.addObject(name)
		}
		s.scan(x, false)
	case *ast.ProcedureInfo:
		s.op, s.objType, s.objects = "CREATE PROCEDURE", "PROCEDURE", nil
		s.addObject(tableName(x.ProcedureName))
		if x.ProcedureBody != nil && depth < 2 {
			in := &stmtRes{}
			in.scan(x.ProcedureBody, false)
			s.sql.Routines = in.sql.Routines
		}
	case *ast.DropProcedureStmt:
		s.op, s.objType, s.objects = "DROP PROCEDURE", "PROCEDURE", []string{tableName(x.ProcedureName)}
	case *ast.PrepareStmt:
		s.op, s.objType, s.objects = "PREPARE", "", nil
		if x.SQLText != "" && depth < 2 && a.budget > 0 {
			// PREPARE s FROM '...': the literal is the statement that will run.
			a.budget--
			for _, in := range a.statements(x.SQLText, depth+1) {
				s.inner = append(s.inner, in)
			}
		}
	case *ast.ExplainStmt:
		s.op, s.objType, s.objects = "EXPLAIN", "", nil
		if x.Stmt != nil {
			in := a.node(x.Stmt, depth+1)
			if x.Analyze {
				s.inner = append(s.inner, in)
			} else {
				s.objects, s.sql.Routines = in.objects, in.sql.Routines
			}
		}
	case *ast.ShowStmt:
		s.op, s.objType, s.objects = "SHOW", "", nil
		if x.Table != nil {
			s.addObject(tableName(x.Table))
		}
	case *ast.UseStmt:
		s.op, s.objects = "USE", []string{x.DBName}
	case *ast.FlushStmt:
		s.op, s.objects = "FLUSH", nil
	case *ast.KillStmt:
		s.op = "KILL"
	case *ast.ShutdownStmt:
		s.op = "SHUTDOWN"
	case *ast.ExecuteStmt:
		s.op = "EXECUTE"
	case *ast.DeallocateStmt:
		s.op = "DEALLOCATE"
	case *ast.BeginStmt:
		s.op = "START TRANSACTION"
	case *ast.CommitStmt:
		s.op = "COMMIT"
	case *ast.RollbackStmt:
		s.op = "ROLLBACK"
	case *ast.DoStmt:
		s.op = "DO"
		s.scan(x, false)
	default:
		// Keep the lexical command; still collect routines from the tree.
		s.scan(n, false)
	}
	if s.objType == "" && len(s.objects) > 0 && (s.op == "SELECT" || s.op == "DELETE" || s.op == "UPDATE") {
		s.objType = "TABLE"
	}
	s.catalog = false
	for _, o := range s.objects {
		if isCatalogObject(o) {
			s.catalog = true
		}
	}
	for _, r := range s.sql.Routines {
		if r == "load_file" && s.sql.Copy == (event.Copy{}) {
			// The path comes from the lexical reading of the same text.
			if ls := splitLex(text); len(ls) > 0 {
				lexFileRoutines(ls[0].toks, s)
			}
		}
	}
	return s
}

// grantTree fills a GRANT/REVOKE of privileges from the tree.
func grantTree(s *stmtRes, privs []*ast.PrivElem, ot ast.ObjectTypeType, lvl *ast.GrantLevel, users []*ast.UserSpec, revoke bool) {
	g := event.Grant{Revoke: revoke, WithGrantOption: s.sql.Grant.WithGrantOption && !revoke}
	for _, p := range privs {
		var name string
		switch {
		case p.Priv == pmysql.AllPriv:
			name = "ALL"
			g.All = true
		case p.Priv == pmysql.ExtendedPriv:
			name = strings.ToUpper(p.Name)
		default:
			name = strings.ToUpper(pmysql.Priv2Str[p.Priv])
		}
		if name == "GRANT OPTION" && !revoke {
			g.WithGrantOption = true
		}
		if name != "" {
			g.Privileges = classify.AppendUniq(g.Privileges, name)
		}
	}
	g.ObjectType = "TABLE"
	switch ot {
	case ast.ObjectTypeFunction:
		g.ObjectType = "FUNCTION"
	case ast.ObjectTypeProcedure:
		g.ObjectType = "PROCEDURE"
	}
	s.objects = nil
	if lvl != nil {
		switch lvl.Level {
		case ast.GrantLevelGlobal:
			g.ObjectType = "GLOBAL"
			s.addObject("*.*")
		case ast.GrantLevelDB:
			g.ObjectType = "DATABASE"
			if lvl.DBName == "" {
				s.addObject("*")
			} else {
				s.addObject(lvl.DBName + ".*")
			}
		case ast.GrantLevelTable:
			if lvl.DBName != "" {
				s.addObject(lvl.DBName + "." + lvl.TableName)
			} else {
				s.addObject(lvl.TableName)
			}
		}
	}
	for _, u := range users {
		g.Grantees = classify.AppendUniq(g.Grantees, accountName(u.User))
		if u.AuthOpt != nil && (u.AuthOpt.ByAuthString || u.AuthOpt.ByHashString) {
			s.sql.Role.Password = true
		}
	}
	s.objType = g.ObjectType
	s.sql.Grant = g
}

// fallbackTables asks go-sqllexer for the tables of a statement TiDB
// rejected (it never fails; it is lossy but knows MySQL quoting). It is
// given the statement with its literals blanked (empty strings and 0), so that
// what it finds does not depend on literal values (the cache key strips them).
func fallbackTables(text string) (tables []string) {
	defer func() {
		if recover() != nil {
			tables = nil
		}
	}()
	n := sqllexer.NewNormalizer(sqllexer.WithCollectTables(true), sqllexer.WithCollectCommands(true))
	_, meta, err := n.Normalize(blankLiterals(text), sqllexer.WithDBMS(sqllexer.DBMSMySQL))
	if err != nil || meta == nil {
		return nil
	}
	return meta.Tables
}

// blankLiterals rewrites text token by token with string literals emptied
// and numbers as 0, comments dropped.
func blankLiterals(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	lx := lex.NewMySQL(text)
	for {
		t := nextTok(&lx)
		switch t.Kind {
		case lex.EOF:
			return b.String()
		case lex.Comment:
			continue
		case lex.String:
			b.WriteString("''")
		case lex.Number:
			b.WriteByte('0')
		default:
			b.WriteString(text[t.Start:t.End])
		}
		b.WriteByte(' ')
	}
}
