package pgsql

import (
	"strconv"
	"strings"
	"sync"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/stmt/classify"
	"github.com/vigildb/vigil/stmt/mask"
)

// stmtRes is the classification of one statement.
type stmtRes struct {
	op, objType string
	// category overrides categoryOf(op) (COPY FROM is dml, COPY TO a read).
	category string
	objects  []string
	// sql holds the per-statement sql.* fields (Operations, Injection,
	// Stacked and ParseError are filled at the top level).
	sql event.SQL
	// inner are the statements this one runs: a DO body, EXECUTE'd
	// literals, EXPLAIN ANALYZE's target, CREATE SCHEMA's elements.
	inner []*stmtRes
	// catalog: the statement reads a system catalog.
	catalog bool
}

func (s *stmtRes) addObject(name string) {
	if name != "" {
		s.objects = classify.AppendUniq(s.objects, name)
	}
}

// ---- small AST helpers ----

func strVal(n *pg.Node) string {
	if n == nil {
		return ""
	}
	switch v := n.Node.(type) {
	case *pg.Node_String_:
		return v.String_.Sval
	case *pg.Node_AConst:
		s, _ := constValue(v.AConst)
		return s
	case *pg.Node_TypeName:
		return nameOf(v.TypeName.Names)
	case *pg.Node_Integer:
		return strconv.FormatInt(int64(v.Integer.Ival), 10)
	case *pg.Node_Float:
		return v.Float.Fval
	case *pg.Node_Boolean:
		return strconv.FormatBool(v.Boolean.Boolval)
	}
	return ""
}

// nameOf joins a qualified name's parts: [schema, name] -> "schema.name".
func nameOf(parts []*pg.Node) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strVal(p))
	}
	return b.String()
}

func rangeVarName(r *pg.RangeVar) string {
	if r == nil {
		return ""
	}
	n := r.Relname
	if r.Schemaname != "" {
		n = r.Schemaname + "." + n
	}
	if r.Catalogname != "" {
		n = r.Catalogname + "." + n
	}
	return n
}

func roleSpecName(r *pg.RoleSpec) string {
	if r == nil {
		return ""
	}
	switch r.Roletype {
	case pg.RoleSpecType_ROLESPEC_CSTRING:
		return r.Rolename
	case pg.RoleSpecType_ROLESPEC_CURRENT_ROLE:
		return "current_role"
	case pg.RoleSpecType_ROLESPEC_CURRENT_USER:
		return "current_user"
	case pg.RoleSpecType_ROLESPEC_SESSION_USER:
		return "session_user"
	case pg.RoleSpecType_ROLESPEC_PUBLIC:
		return "public"
	}
	return r.Rolename
}

func nodeRoleName(n *pg.Node) string {
	if rs := n.GetRoleSpec(); rs != nil {
		return roleSpecName(rs)
	}
	return strVal(n)
}

// objectName renders the name of a DROP/COMMENT/GRANT object node.
func objectName(n *pg.Node) string {
	switch v := n.Node.(type) {
	case *pg.Node_List:
		return nameOf(v.List.Items)
	case *pg.Node_RangeVar:
		return rangeVarName(v.RangeVar)
	case *pg.Node_ObjectWithArgs:
		return nameOf(v.ObjectWithArgs.Objname)
	case *pg.Node_TypeName:
		return nameOf(v.TypeName.Names)
	case *pg.Node_RoleSpec:
		return roleSpecName(v.RoleSpec)
	}
	return strVal(n)
}

// constValue renders an A_Const as written (unquoted).
func constValue(c *pg.A_Const) (string, bool) {
	if c == nil || c.Isnull {
		return "", false
	}
	switch {
	case c.GetSval() != nil:
		return c.GetSval().Sval, true
	case c.GetIval() != nil:
		return strconv.FormatInt(int64(c.GetIval().Ival), 10), true
	case c.GetFval() != nil:
		return c.GetFval().Fval, true
	case c.GetBoolval() != nil:
		if c.GetBoolval().Boolval {
			return "on", true
		}
		return "off", true
	case c.GetBsval() != nil:
		return c.GetBsval().Bsval, true
	}
	return "", false
}

// defBool reads a boolean DefElem (SUPERUSER -> true, NOSUPERUSER -> false).
func defBool(d *pg.DefElem) bool {
	if d.Arg == nil {
		return true
	}
	switch v := d.Arg.Node.(type) {
	case *pg.Node_Boolean:
		return v.Boolean.Boolval
	case *pg.Node_Integer:
		return v.Integer.Ival != 0
	case *pg.Node_String_:
		s := strings.ToLower(v.String_.Sval)
		return s == "true" || s == "on" || s == "1"
	}
	return true
}

// ---- generic walk ----

// collector gathers, from any subtree, the functions called, the relations
// referenced and the CTE names defined (which are not relations).
type collector struct {
	funcs []string
	rels  []string
	ctes  map[string]bool
	// files are server-side file writes/reads by large-object functions.
	files []event.Copy
	// settings made by set_config('name', 'value', is_local).
	settings []event.Setting
	// dml are data-modifying statements nested in the root one
	// (WITH d AS (DELETE FROM t RETURNING *) SELECT ...).
	dml  []*stmtRes
	root protoreflect.ProtoMessage
}

// fileFuncs: functions that move data between the server's file system and
// the database, with the argument holding the path.
var fileFuncs = map[string]struct {
	arg       int
	direction string
}{
	"lo_export":     {1, "to"},
	"lo_import":     {0, "from"},
	"pg_file_write": {0, "to"},
}

func (c *collector) walk(m protoreflect.Message) {
	if !m.IsValid() {
		return
	}
	switch v := m.Interface().(type) {
	case *pg.FuncCall:
		name := strings.ToLower(nameOf(v.Funcname))
		c.funcs = appendRoutine(c.funcs, name, v.Funcformat == pg.CoercionForm_COERCE_SQL_SYNTAX)
		if ff, ok := fileFuncs[strings.TrimPrefix(name, "pg_catalog.")]; ok {
			cp := event.Copy{Direction: ff.direction, Target: "file"}
			if ff.arg < len(v.Args) {
				if k := v.Args[ff.arg].GetAConst(); k != nil {
					p, _ := constValue(k)
					cp.Path = mask.SQL(p)
				}
			}
			c.files = append(c.files, cp)
		}
		if strings.TrimPrefix(name, "pg_catalog.") == "set_config" && len(v.Args) >= 2 {
			k, val := v.Args[0].GetAConst(), v.Args[1].GetAConst()
			if k != nil && val != nil {
				n, _ := constValue(k)
				x, _ := constValue(val)
				c.settings = append(c.settings, maskSetting(event.Setting{Scope: "session", Name: strings.ToLower(n), Value: x}))
			}
		}
	case *pg.InsertStmt, *pg.UpdateStmt, *pg.DeleteStmt, *pg.MergeStmt:
		if m.Interface() != c.root {
			c.dml = append(c.dml, nestedDML(m.Interface()))
		}
	case *pg.RangeVar:
		if v.Schemaname == "" && c.ctes[v.Relname] {
			break
		}
		c.rels = classify.AppendUniq(c.rels, rangeVarName(v))
	case *pg.CommonTableExpr:
		if c.ctes == nil {
			c.ctes = map[string]bool{}
		}
		c.ctes[v.Ctename] = true
	case *pg.String, *pg.Integer, *pg.Float, *pg.Boolean, *pg.A_Const:
		return
	}
	children(m, c.walk)
}

// collectCTEs pre-registers every CTE name so that references seen before
// the definition in walk order are still excluded.
func collectCTEs(m protoreflect.Message, into map[string]bool) {
	if !m.IsValid() {
		return
	}
	if cte, ok := m.Interface().(*pg.CommonTableExpr); ok {
		into[cte.Ctename] = true
	}
	children(m, func(c protoreflect.Message) { collectCTEs(c, into) })
}

// plan lists, for one message type, the fields that can hold child nodes:
// its oneofs (pg_query's Node is one oneof of ~270 node types, so asking
// each member Has would dominate the walk) and its other message fields, in
// field order so that walks are deterministic.
type plan struct {
	oneofs []protoreflect.OneofDescriptor
	fields []protoreflect.FieldDescriptor
}

var plans sync.Map // protoreflect.FullName -> *plan

func planOf(d protoreflect.MessageDescriptor) *plan {
	if p, ok := plans.Load(d.FullName()); ok {
		return p.(*plan)
	}
	p := &plan{}
	oos := d.Oneofs()
	for i := 0; i < oos.Len(); i++ {
		p.oneofs = append(p.oneofs, oos.Get(i))
	}
	fs := d.Fields()
	for i := 0; i < fs.Len(); i++ {
		fd := fs.Get(i)
		if fd.Kind() != protoreflect.MessageKind || fd.IsMap() || fd.ContainingOneof() != nil {
			continue
		}
		p.fields = append(p.fields, fd)
	}
	plans.Store(d.FullName(), p)
	return p
}

// children calls fn on every populated child message of m.
func children(m protoreflect.Message, fn func(protoreflect.Message)) {
	p := planOf(m.Descriptor())
	for _, od := range p.oneofs {
		if fd := m.WhichOneof(od); fd != nil && fd.Kind() == protoreflect.MessageKind {
			fn(m.Get(fd).Message())
		}
	}
	for _, fd := range p.fields {
		if fd.IsList() {
			l := m.Get(fd).List()
			for j := 0; j < l.Len(); j++ {
				fn(l.Get(j).Message())
			}
			continue
		}
		if m.Has(fd) {
			fn(m.Get(fd).Message())
		}
	}
}

// scan walks a subtree and records routines (always) and, when reads is
// set, the relations it references as objects.
func (s *stmtRes) scan(n protoreflect.ProtoMessage, reads bool) {
	if n == nil {
		return
	}
	m := n.ProtoReflect()
	c := collector{ctes: map[string]bool{}, root: n}
	collectCTEs(m, c.ctes)
	c.walk(m)
	for _, f := range c.funcs {
		s.sql.Routines = classify.AppendUniq(s.sql.Routines, f)
	}
	if len(c.files) > 0 && s.sql.Copy == (event.Copy{}) {
		s.sql.Copy = c.files[0]
	}
	for _, st := range c.settings {
		if s.sql.Setting.Name == "" || settingRank(st) > settingRank(s.sql.Setting) {
			s.sql.Setting = st
		}
	}
	s.inner = append(s.inner, c.dml...)
	if reads {
		for _, r := range c.rels {
			s.addObject(r)
			if isCatalogObject(r) {
				s.catalog = true
			}
		}
	}
}

// nestedDML describes a data-modifying statement inside another one.
func nestedDML(m protoreflect.ProtoMessage) *stmtRes {
	s := &stmtRes{objType: "TABLE"}
	switch v := m.(type) {
	case *pg.InsertStmt:
		s.op = "INSERT"
		s.addObject(rangeVarName(v.Relation))
	case *pg.UpdateStmt:
		s.op = "UPDATE"
		s.addObject(rangeVarName(v.Relation))
		s.sql.NoWhere = v.WhereClause == nil
	case *pg.DeleteStmt:
		s.op = "DELETE"
		s.addObject(rangeVarName(v.Relation))
		s.sql.NoWhere = v.WhereClause == nil
	case *pg.MergeStmt:
		s.op = "MERGE"
		s.addObject(rangeVarName(v.Relation))
	}
	return s
}

// ---- statements ----

// node classifies one parsed statement; text is its source.
func (a *analysis) node(n *pg.Node, text string, depth int) *stmtRes {
	s := &stmtRes{}
	if n == nil {
		return s
	}
	switch x := n.Node.(type) {
	case *pg.Node_SelectStmt:
		s.op = "SELECT"
		if into := x.SelectStmt.IntoClause; into != nil {
			s.op, s.objType = "SELECT INTO", "TABLE"
			s.addObject(rangeVarName(into.Rel))
		}
		s.scan(x.SelectStmt, true)
		if len(s.objects) > 0 && s.objType == "" {
			s.objType = "TABLE"
		}
	case *pg.Node_InsertStmt:
		s.op, s.objType = "INSERT", "TABLE"
		s.addObject(rangeVarName(x.InsertStmt.Relation))
		s.scan(x.InsertStmt, true)
	case *pg.Node_UpdateStmt:
		s.op, s.objType = "UPDATE", "TABLE"
		s.addObject(rangeVarName(x.UpdateStmt.Relation))
		s.sql.NoWhere = x.UpdateStmt.WhereClause == nil
		s.scan(x.UpdateStmt, true)
	case *pg.Node_DeleteStmt:
		s.op, s.objType = "DELETE", "TABLE"
		s.addObject(rangeVarName(x.DeleteStmt.Relation))
		s.sql.NoWhere = x.DeleteStmt.WhereClause == nil
		s.scan(x.DeleteStmt, true)
	case *pg.Node_MergeStmt:
		s.op, s.objType = "MERGE", "TABLE"
		s.addObject(rangeVarName(x.MergeStmt.Relation))
		s.scan(x.MergeStmt, true)
	case *pg.Node_TruncateStmt:
		s.op, s.objType = "TRUNCATE TABLE", "TABLE"
		for _, r := range x.TruncateStmt.Relations {
			s.addObject(objectName(r))
		}
	case *pg.Node_CreateStmt:
		s.op, s.objType = "CREATE TABLE", "TABLE"
		s.addObject(rangeVarName(x.CreateStmt.Relation))
		s.scan(x.CreateStmt, false)
	case *pg.Node_CreateForeignTableStmt:
		s.op, s.objType = "CREATE FOREIGN TABLE", "FOREIGN TABLE"
		if b := x.CreateForeignTableStmt.BaseStmt; b != nil {
			s.addObject(rangeVarName(b.Relation))
		}
	case *pg.Node_CreateTableAsStmt:
		c := x.CreateTableAsStmt
		switch {
		case c.Objtype == pg.ObjectType_OBJECT_MATVIEW:
			s.op, s.objType = "CREATE MATERIALIZED VIEW", "MATERIALIZED VIEW"
		case c.IsSelectInto:
			s.op, s.objType = "SELECT INTO", "TABLE"
		default:
			s.op, s.objType = "CREATE TABLE AS", "TABLE"
		}
		if c.Into != nil {
			s.addObject(rangeVarName(c.Into.Rel))
		}
		s.scan(c.Query, true)
	case *pg.Node_ViewStmt:
		s.op, s.objType = "CREATE VIEW", "VIEW"
		s.sql.Replace = x.ViewStmt.Replace
		s.addObject(rangeVarName(x.ViewStmt.View))
		s.scan(x.ViewStmt.Query, true)
	case *pg.Node_AlterTableStmt:
		s.objType = objectTypeName(x.AlterTableStmt.Objtype)
		if s.objType == "" {
			s.objType = "TABLE"
		}
		s.op = "ALTER " + s.objType
		s.addObject(rangeVarName(x.AlterTableStmt.Relation))
		s.scan(x.AlterTableStmt, false)
	case *pg.Node_DropStmt:
		s.objType = objectTypeName(x.DropStmt.RemoveType)
		s.op = "DROP " + s.objType
		for _, o := range x.DropStmt.Objects {
			s.addObject(objectName(o))
		}
		if s.objType == "ROLE" {
			s.sql.Role.Names = s.objects
		}
	case *pg.Node_DropdbStmt:
		s.op, s.objType = "DROP DATABASE", "DATABASE"
		s.addObject(x.DropdbStmt.Dbname)
	case *pg.Node_CreatedbStmt:
		s.op, s.objType = "CREATE DATABASE", "DATABASE"
		s.addObject(x.CreatedbStmt.Dbname)
	case *pg.Node_AlterDatabaseStmt:
		s.op, s.objType = "ALTER DATABASE", "DATABASE"
		s.addObject(x.AlterDatabaseStmt.Dbname)
	case *pg.Node_AlterDatabaseRefreshCollStmt:
		s.op, s.objType = "ALTER DATABASE", "DATABASE"
		s.addObject(x.AlterDatabaseRefreshCollStmt.Dbname)
	case *pg.Node_AlterDatabaseSetStmt:
		s.op, s.objType = "ALTER DATABASE", "DATABASE"
		s.addObject(x.AlterDatabaseSetStmt.Dbname)
		s.sql.Setting = varSetting(x.AlterDatabaseSetStmt.Setstmt, "database")
	case *pg.Node_CreateRoleStmt:
		c := x.CreateRoleStmt
		s.op, s.objType = "CREATE ROLE", "ROLE"
		s.addObject(c.Role)
		s.sql.Role.Names = []string{c.Role}
		roleOptions(s, c.Role, c.Options, c.StmtType == pg.RoleStmtType_ROLESTMT_USER)
	case *pg.Node_AlterRoleStmt:
		c := x.AlterRoleStmt
		s.op, s.objType = "ALTER ROLE", "ROLE"
		name := roleSpecName(c.Role)
		s.addObject(name)
		s.sql.Role.Names = []string{name}
		if c.Action != 0 && len(c.Options) == 1 && c.Options[0].GetDefElem().GetDefname() == "rolemembers" {
			// ALTER GROUP g ADD|DROP USER u: a membership change.
			s.op = "ALTER ROLE"
			for _, u := range c.Options[0].GetDefElem().GetArg().GetList().GetItems() {
				s.sql.Grant.Grantees = classify.AppendUniq(s.sql.Grant.Grantees, nodeRoleName(u))
			}
			s.sql.Grant.Roles = []string{name}
			s.sql.Grant.Revoke = c.Action < 0
			break
		}
		roleOptions(s, name, c.Options, false)
	case *pg.Node_AlterRoleSetStmt:
		c := x.AlterRoleSetStmt
		s.op, s.objType = "ALTER ROLE", "ROLE"
		name := roleSpecName(c.Role)
		if c.Role == nil {
			name = "all"
		}
		s.addObject(name)
		s.sql.Role.Names = []string{name}
		s.sql.Setting = varSetting(c.Setstmt, "role")
	case *pg.Node_DropRoleStmt:
		s.op, s.objType = "DROP ROLE", "ROLE"
		for _, r := range x.DropRoleStmt.Roles {
			s.addObject(nodeRoleName(r))
		}
		s.sql.Role.Names = s.objects
	case *pg.Node_GrantStmt:
		grantStmt(s, x.GrantStmt)
	case *pg.Node_GrantRoleStmt:
		c := x.GrantRoleStmt
		s.op = "GRANT"
		if !c.IsGrant {
			s.op = "REVOKE"
		}
		s.objType = "ROLE"
		g := &s.sql.Grant
		g.Revoke = !c.IsGrant
		g.ObjectType = "ROLE"
		for _, r := range c.GrantedRoles {
			name := r.GetAccessPriv().GetPrivName()
			g.Roles = classify.AppendUniq(g.Roles, name)
			s.addObject(name)
		}
		for _, r := range c.GranteeRoles {
			name := nodeRoleName(r)
			g.Grantees = classify.AppendUniq(g.Grantees, name)
			if name == "public" {
				g.Public = true
			}
		}
		for _, o := range c.Opt {
			if d := o.GetDefElem(); d != nil && d.Defname == "admin" && defBool(d) {
				g.WithGrantOption = true
			}
		}
	case *pg.Node_AlterDefaultPrivilegesStmt:
		if act := x.AlterDefaultPrivilegesStmt.Action; act != nil {
			grantStmt(s, act)
		}
		s.op = "ALTER DEFAULT PRIVILEGES"
	case *pg.Node_AlterSystemStmt:
		s.op = "ALTER SYSTEM"
		s.sql.Setting = varSetting(x.AlterSystemStmt.Setstmt, "system")
	case *pg.Node_VariableSetStmt:
		v := x.VariableSetStmt
		s.op = "SET"
		if v.Kind == pg.VariableSetKind_VAR_RESET || v.Kind == pg.VariableSetKind_VAR_RESET_ALL {
			s.op = "RESET"
		}
		s.sql.Setting = varSetting(v, "session")
	case *pg.Node_VariableShowStmt:
		s.op = "SHOW"
	case *pg.Node_CopyStmt:
		c := x.CopyStmt
		s.op = "COPY"
		if c.Relation != nil {
			s.objType = "TABLE"
			s.addObject(rangeVarName(c.Relation))
		}
		if c.Query != nil {
			s.scan(c.Query, true)
			if len(s.objects) > 0 {
				s.objType = "TABLE"
			}
		}
		s.scan(c.WhereClause, false)
		cp := &s.sql.Copy
		cp.Direction = "to"
		if c.IsFrom {
			cp.Direction = "from"
		}
		switch {
		case c.IsProgram:
			cp.Target = "program"
		case c.Filename != "":
			cp.Target = "file"
		case c.IsFrom:
			cp.Target = "stdin"
		default:
			cp.Target = "stdout"
		}
		cp.Path = mask.SQL(c.Filename)
		if c.IsFrom {
			s.category = event.CategoryDML
		}
	case *pg.Node_CallStmt:
		s.op, s.objType = "CALL", "PROCEDURE"
		if fc := x.CallStmt.Funccall; fc != nil {
			name := nameOf(fc.Funcname)
			s.addObject(name)
			s.sql.Routines = appendRoutine(s.sql.Routines, strings.ToLower(name), false)
		}
		s.scan(x.CallStmt, false)
	case *pg.Node_DoStmt:
		s.op = "DO"
		a.doStmt(s, x.DoStmt, text, depth)
	case *pg.Node_CreateFunctionStmt:
		a.createFunction(s, x.CreateFunctionStmt, text)
	case *pg.Node_AlterFunctionStmt:
		s.objType = objectTypeName(x.AlterFunctionStmt.Objtype)
		s.op = "ALTER " + s.objType
		if f := x.AlterFunctionStmt.Func; f != nil {
			s.addObject(nameOf(f.Objname))
		}
	case *pg.Node_CreateTrigStmt:
		c := x.CreateTrigStmt
		s.op, s.objType = "CREATE TRIGGER", "TRIGGER"
		s.sql.Replace = c.Replace
		s.addObject(c.Trigname)
		s.addObject(rangeVarName(c.Relation))
		if len(c.Funcname) > 0 {
			s.sql.Routines = appendRoutine(s.sql.Routines, strings.ToLower(nameOf(c.Funcname)), false)
		}
	case *pg.Node_CreateEventTrigStmt:
		s.op, s.objType = "CREATE EVENT TRIGGER", "EVENT TRIGGER"
		s.addObject(x.CreateEventTrigStmt.Trigname)
		if f := x.CreateEventTrigStmt.Funcname; len(f) > 0 {
			s.sql.Routines = appendRoutine(s.sql.Routines, strings.ToLower(nameOf(f)), false)
		}
	case *pg.Node_AlterEventTrigStmt:
		s.op, s.objType = "ALTER EVENT TRIGGER", "EVENT TRIGGER"
		s.addObject(x.AlterEventTrigStmt.Trigname)
	case *pg.Node_CreateExtensionStmt:
		// PostgreSQL itself turns CREATE LANGUAGE x into CREATE EXTENSION x.
		s.op, s.objType = "CREATE EXTENSION", "EXTENSION"
		name := x.CreateExtensionStmt.Extname
		s.addObject(name)
		if strings.HasPrefix(name, "pl") {
			s.sql.Language = strings.ToLower(name)
			s.sql.Untrusted = untrustedLanguage(s.sql.Language)
		}
	case *pg.Node_AlterExtensionStmt:
		s.op, s.objType = "ALTER EXTENSION", "EXTENSION"
		s.addObject(x.AlterExtensionStmt.Extname)
	case *pg.Node_AlterExtensionContentsStmt:
		s.op, s.objType = "ALTER EXTENSION", "EXTENSION"
		s.addObject(x.AlterExtensionContentsStmt.Extname)
	case *pg.Node_LoadStmt:
		s.op = "LOAD"
		s.sql.Library = mask.SQL(x.LoadStmt.Filename)
	case *pg.Node_ExecuteStmt:
		s.op = "EXECUTE"
		s.scan(x.ExecuteStmt, false)
	case *pg.Node_PrepareStmt:
		s.op = "PREPARE"
		if q := x.PrepareStmt.Query; q != nil {
			in := a.node(q, text, depth+1)
			s.objType, s.objects, s.sql.Routines, s.catalog = in.objType, in.objects, in.sql.Routines, in.catalog
		}
	case *pg.Node_DeallocateStmt:
		s.op = "DEALLOCATE"
	case *pg.Node_VacuumStmt:
		s.op = "VACUUM"
		if !x.VacuumStmt.IsVacuumcmd {
			s.op = "ANALYZE"
		}
		for _, r := range x.VacuumStmt.Rels {
			if vr := r.GetVacuumRelation(); vr != nil {
				s.addObject(rangeVarName(vr.Relation))
			}
		}
		if len(s.objects) > 0 {
			s.objType = "TABLE"
		}
	case *pg.Node_CheckPointStmt:
		s.op = "CHECKPOINT"
	case *pg.Node_ExplainStmt:
		s.op = "EXPLAIN"
		analyze := false
		for _, o := range x.ExplainStmt.Options {
			if d := o.GetDefElem(); d != nil && d.Defname == "analyze" && defBool(d) {
				analyze = true
			}
		}
		if q := x.ExplainStmt.Query; q != nil {
			in := a.node(q, text, depth+1)
			if analyze {
				s.inner = append(s.inner, in)
			} else {
				s.objects, s.sql.Routines, s.catalog = in.objects, in.sql.Routines, in.catalog
			}
		}
	case *pg.Node_TransactionStmt:
		s.op = transactionOp(x.TransactionStmt.Kind)
	case *pg.Node_RenameStmt:
		c := x.RenameStmt
		t := c.RenameType
		switch t {
		case pg.ObjectType_OBJECT_COLUMN, pg.ObjectType_OBJECT_TABCONSTRAINT, pg.ObjectType_OBJECT_ATTRIBUTE,
			pg.ObjectType_OBJECT_TRIGGER, pg.ObjectType_OBJECT_RULE, pg.ObjectType_OBJECT_POLICY:
			if c.Relation != nil {
				t = c.RelationType
			}
		}
		s.objType = objectTypeName(t)
		s.op = "ALTER " + s.objType
		if c.Relation != nil {
			s.addObject(rangeVarName(c.Relation))
		} else if c.Object != nil {
			s.addObject(objectName(c.Object))
		} else {
			s.addObject(c.Subname)
		}
		if s.objType == "ROLE" {
			s.sql.Role.Names = s.objects
		}
	case *pg.Node_AlterObjectSchemaStmt:
		c := x.AlterObjectSchemaStmt
		s.alterObject(c.ObjectType, c.Relation, c.Object)
	case *pg.Node_AlterOwnerStmt:
		c := x.AlterOwnerStmt
		s.alterObject(c.ObjectType, c.Relation, c.Object)
	case *pg.Node_CreateSchemaStmt:
		c := x.CreateSchemaStmt
		s.op, s.objType = "CREATE SCHEMA", "SCHEMA"
		name := c.Schemaname
		if name == "" {
			name = roleSpecName(c.Authrole)
		}
		s.addObject(name)
		for _, e := range c.SchemaElts {
			s.inner = append(s.inner, a.node(e, text, depth+1))
		}
	case *pg.Node_IndexStmt:
		c := x.IndexStmt
		s.op, s.objType = "CREATE INDEX", "INDEX"
		if c.Idxname != "" {
			idx := c.Idxname
			if c.Relation != nil && c.Relation.Schemaname != "" {
				idx = c.Relation.Schemaname + "." + idx
			}
			s.addObject(idx)
		}
		s.addObject(rangeVarName(c.Relation))
	case *pg.Node_CreateSeqStmt:
		s.op, s.objType = "CREATE SEQUENCE", "SEQUENCE"
		s.addObject(rangeVarName(x.CreateSeqStmt.Sequence))
	case *pg.Node_AlterSeqStmt:
		s.op, s.objType = "ALTER SEQUENCE", "SEQUENCE"
		s.addObject(rangeVarName(x.AlterSeqStmt.Sequence))
	case *pg.Node_CreatePlangStmt:
		c := x.CreatePlangStmt
		s.op, s.objType = "CREATE LANGUAGE", "LANGUAGE"
		s.sql.Replace = c.Replace
		s.addObject(c.Plname)
		s.sql.Language = strings.ToLower(c.Plname)
		s.sql.Untrusted = !c.Pltrusted || untrustedLanguage(s.sql.Language)
	case *pg.Node_CommentStmt:
		s.op = "COMMENT"
		s.objType = objectTypeName(x.CommentStmt.Objtype)
		if o := x.CommentStmt.Object; o != nil {
			s.addObject(objectName(o))
		}
	case *pg.Node_RuleStmt:
		c := x.RuleStmt
		s.op, s.objType = "CREATE RULE", "RULE"
		s.sql.Replace = c.Replace
		s.addObject(c.Rulename)
		s.addObject(rangeVarName(c.Relation))
		s.scan(c, false)
		s.inner = nil // the rule's actions run later, not now
	case *pg.Node_CreatePolicyStmt:
		s.op, s.objType = "CREATE POLICY", "POLICY"
		s.addObject(x.CreatePolicyStmt.PolicyName)
		s.addObject(rangeVarName(x.CreatePolicyStmt.Table))
	case *pg.Node_AlterPolicyStmt:
		s.op, s.objType = "ALTER POLICY", "POLICY"
		s.addObject(x.AlterPolicyStmt.PolicyName)
		s.addObject(rangeVarName(x.AlterPolicyStmt.Table))
	case *pg.Node_RefreshMatViewStmt:
		s.op, s.objType = "REFRESH MATERIALIZED VIEW", "MATERIALIZED VIEW"
		s.addObject(rangeVarName(x.RefreshMatViewStmt.Relation))
	case *pg.Node_LockStmt:
		s.op, s.objType = "LOCK TABLE", "TABLE"
		for _, r := range x.LockStmt.Relations {
			s.addObject(objectName(r))
		}
	case *pg.Node_DeclareCursorStmt:
		s.op = "DECLARE CURSOR"
		s.scan(x.DeclareCursorStmt.Query, true)
	case *pg.Node_CreateUserMappingStmt:
		s.op, s.objType = "CREATE USER MAPPING", "USER MAPPING"
		s.addObject(roleSpecName(x.CreateUserMappingStmt.User) + "@" + x.CreateUserMappingStmt.Servername)
	case *pg.Node_AlterUserMappingStmt:
		s.op, s.objType = "ALTER USER MAPPING", "USER MAPPING"
		s.addObject(roleSpecName(x.AlterUserMappingStmt.User) + "@" + x.AlterUserMappingStmt.Servername)
	case *pg.Node_DropUserMappingStmt:
		s.op, s.objType = "DROP USER MAPPING", "USER MAPPING"
		s.addObject(roleSpecName(x.DropUserMappingStmt.User) + "@" + x.DropUserMappingStmt.Servername)
	case *pg.Node_CreateSubscriptionStmt:
		s.op, s.objType = "CREATE SUBSCRIPTION", "SUBSCRIPTION"
		s.addObject(x.CreateSubscriptionStmt.Subname)
	case *pg.Node_ReassignOwnedStmt:
		s.op = "REASSIGN OWNED"
		for _, r := range x.ReassignOwnedStmt.Roles {
			s.sql.Role.Names = classify.AppendUniq(s.sql.Role.Names, nodeRoleName(r))
		}
	case *pg.Node_DropOwnedStmt:
		s.op = "DROP OWNED"
		for _, r := range x.DropOwnedStmt.Roles {
			s.sql.Role.Names = classify.AppendUniq(s.sql.Role.Names, nodeRoleName(r))
		}
	case *pg.Node_ConstraintsSetStmt:
		s.op = "SET CONSTRAINTS"
	default:
		// Everything else: the command from its keywords, objects by name.
		st := splitLex(text)
		if len(st) > 0 {
			var at int
			var list bool
			s.op, s.objType, at, s.sql.Replace = lexCommand(st[0].toks)
			list = strings.HasPrefix(s.op, "DROP ")
			if at >= 0 {
				s.objects = lexNames(st[0].toks, at, list)
			}
		}
		s.scan(n, false)
	}
	return s
}

func transactionOp(k pg.TransactionStmtKind) string {
	switch k {
	case pg.TransactionStmtKind_TRANS_STMT_BEGIN:
		return "BEGIN"
	case pg.TransactionStmtKind_TRANS_STMT_START:
		return "START TRANSACTION"
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT:
		return "COMMIT"
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK, pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		return "ROLLBACK"
	case pg.TransactionStmtKind_TRANS_STMT_SAVEPOINT:
		return "SAVEPOINT"
	case pg.TransactionStmtKind_TRANS_STMT_RELEASE:
		return "RELEASE"
	case pg.TransactionStmtKind_TRANS_STMT_PREPARE:
		return "PREPARE TRANSACTION"
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT_PREPARED:
		return "COMMIT PREPARED"
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_PREPARED:
		return "ROLLBACK PREPARED"
	}
	return "BEGIN"
}

// roleOptions fills sql.role (and role memberships) from CREATE/ALTER ROLE
// options. user: CREATE USER, which implies LOGIN.
func roleOptions(s *stmtRes, role string, opts []*pg.Node, user bool) {
	r := &s.sql.Role
	login, loginSet := user, false
	for _, o := range opts {
		d := o.GetDefElem()
		if d == nil {
			continue
		}
		switch d.Defname {
		case "superuser", "createrole", "createdb", "bypassrls":
			if defBool(d) {
				r.Attributes = classify.AppendUniq(r.Attributes, strings.ToUpper(d.Defname))
			}
		case "isreplication":
			if defBool(d) {
				r.Attributes = classify.AppendUniq(r.Attributes, "REPLICATION")
			}
		case "canlogin":
			login, loginSet = defBool(d), true
		case "password":
			r.Password = d.Arg != nil
		case "addroleto":
			// IN ROLE x: the new role becomes a member of x.
			for _, x := range d.GetArg().GetList().GetItems() {
				s.sql.Grant.Roles = classify.AppendUniq(s.sql.Grant.Roles, nodeRoleName(x))
			}
			s.sql.Grant.Grantees = classify.AppendUniq(s.sql.Grant.Grantees, role)
		case "rolemembers", "adminmembers":
			// ROLE x / ADMIN x: x becomes a member of the new role.
			for _, x := range d.GetArg().GetList().GetItems() {
				s.sql.Grant.Grantees = classify.AppendUniq(s.sql.Grant.Grantees, nodeRoleName(x))
			}
			s.sql.Grant.Roles = classify.AppendUniq(s.sql.Grant.Roles, role)
			if d.Defname == "adminmembers" {
				s.sql.Grant.WithGrantOption = true
			}
		}
	}
	if len(s.sql.Grant.Roles) > 0 {
		s.sql.Grant.ObjectType = "ROLE"
	}
	if login && (loginSet || user) {
		r.Login = true
		r.Attributes = classify.AppendUniq(r.Attributes, "LOGIN")
	}
}

// grantStmt fills a GRANT/REVOKE on objects.
func grantStmt(s *stmtRes, c *pg.GrantStmt) {
	s.op = "GRANT"
	if !c.IsGrant {
		s.op = "REVOKE"
	}
	g := &s.sql.Grant
	g.Revoke = !c.IsGrant
	g.WithGrantOption = c.GrantOption
	g.ObjectType = objectTypeName(c.Objtype)
	s.objType = g.ObjectType
	if len(c.Privileges) == 0 {
		g.All = true
		g.Privileges = []string{"ALL"}
	}
	for _, p := range c.Privileges {
		name := strings.ToUpper(p.GetAccessPriv().GetPrivName())
		if name == "" {
			continue
		}
		g.Privileges = classify.AppendUniq(g.Privileges, name)
		if name == "ALL" {
			g.All = true
		}
	}
	for _, o := range c.Objects {
		name := objectName(o)
		if c.Targtype == pg.GrantTargetType_ACL_TARGET_ALL_IN_SCHEMA {
			name += ".*"
		}
		s.addObject(name)
	}
	for _, r := range c.Grantees {
		name := nodeRoleName(r)
		g.Grantees = classify.AppendUniq(g.Grantees, name)
		if name == "public" {
			g.Public = true
		}
	}
}

// varSetting converts a SET/RESET into sql.setting.
func varSetting(v *pg.VariableSetStmt, scope string) event.Setting {
	if v == nil {
		return event.Setting{}
	}
	st := event.Setting{Scope: scope, Name: strings.ToLower(v.Name)}
	switch v.Kind {
	case pg.VariableSetKind_VAR_RESET:
		st.Reset = true
	case pg.VariableSetKind_VAR_RESET_ALL:
		st.Name, st.Reset = "all", true
	case pg.VariableSetKind_VAR_SET_DEFAULT:
		st.Reset = true
	case pg.VariableSetKind_VAR_SET_CURRENT:
		st.Value = "current"
	default:
		var vals []string
		for _, a := range v.Args {
			vals = append(vals, argValue(a))
		}
		st.Value = strings.Join(vals, ", ")
	}
	return maskSetting(st)
}

// argValue renders a SET argument as written, unquoted.
func argValue(n *pg.Node) string {
	switch v := n.Node.(type) {
	case *pg.Node_AConst:
		s, _ := constValue(v.AConst)
		return s
	case *pg.Node_TypeCast:
		return argValue(v.TypeCast.Arg)
	case *pg.Node_DefElem:
		val := argValue(v.DefElem.Arg)
		if val == "" {
			return v.DefElem.Defname
		}
		return v.DefElem.Defname + " " + val
	case nil:
		return ""
	}
	return strVal(n)
}

// createFunction handles CREATE [OR REPLACE] FUNCTION|PROCEDURE.
func (a *analysis) createFunction(s *stmtRes, c *pg.CreateFunctionStmt, text string) {
	s.op, s.objType = "CREATE FUNCTION", "FUNCTION"
	if c.IsProcedure {
		s.op, s.objType = "CREATE PROCEDURE", "PROCEDURE"
	}
	s.sql.Replace = c.Replace
	s.addObject(nameOf(c.Funcname))
	lang := ""
	var as []string
	for _, o := range c.Options {
		d := o.GetDefElem()
		if d == nil {
			continue
		}
		switch d.Defname {
		case "language":
			lang = strings.ToLower(strVal(d.Arg))
		case "as":
			for _, it := range d.GetArg().GetList().GetItems() {
				as = append(as, strVal(it))
			}
		}
	}
	if lang == "" && c.SqlBody != nil {
		lang = "sql"
	}
	s.sql.Language = lang
	s.sql.Untrusted = untrustedLanguage(lang)
	if lang == "c" && len(as) > 0 {
		s.sql.Library = mask.SQL(as[0])
	}
	if lang == "plpgsql" && len(as) > 0 {
		// The body is not run now: only whether it builds and EXECUTEs
		// hidden SQL matters (code.obfuscated_object).
		body := as[len(as)-1]
		res := a.plpgsql(text, body, 0, false)
		s.sql.DynamicExec = res.dynamic
	}
}

// doStmt handles DO [LANGUAGE x] body: the body runs now, so its statements
// are inner statements.
func (a *analysis) doStmt(s *stmtRes, d *pg.DoStmt, text string, depth int) {
	lang, body, hasBody := "plpgsql", "", false
	for _, o := range d.Args {
		de := o.GetDefElem()
		if de == nil {
			continue
		}
		switch de.Defname {
		case "as":
			body, hasBody = strVal(de.Arg), de.Arg.GetString_() != nil
		case "language":
			lang = strings.ToLower(strVal(de.Arg))
		}
	}
	s.sql.Language = lang
	s.sql.Untrusted = untrustedLanguage(lang)
	if lang != "plpgsql" || !hasBody {
		return
	}
	res := a.plpgsql(text, body, depth, true)
	s.sql.DynamicExec = res.dynamic
	s.inner = append(s.inner, res.inner...)
	for _, r := range res.routines {
		s.sql.Routines = classify.AppendUniq(s.sql.Routines, r)
	}
	for _, o := range res.objects {
		s.addObject(o)
	}
}

// alterObject fills ALTER <type> ... SET SCHEMA / OWNER TO: the command is
// named after the object's type, and the object is a relation or a name.
func (s *stmtRes) alterObject(t pg.ObjectType, rel *pg.RangeVar, obj *pg.Node) {
	s.objType = objectTypeName(t)
	s.op = "ALTER " + s.objType
	if rel != nil {
		s.addObject(rangeVarName(rel))
	} else if obj != nil {
		s.addObject(objectName(obj))
	}
}
