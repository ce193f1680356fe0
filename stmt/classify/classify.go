// Package classify holds what the SQL classifiers of every dialect
// (stmt/pgsql, stmt/mysql) produce — a Result — and how it fills an event.
package classify

import (
	"slices"

	"github.com/vigildb/vigil/event"
)

// Result is the classification of one statement text. Results are shared
// between callers through the classifiers' caches: treat them, and their
// slices, as read-only (slices are clipped, so append copies).
type Result struct {
	Operation  string   // db.operation.name of the first statement: SELECT, DROP TABLE ...
	ObjectType string   // db.object.type of the first statement: TABLE, ROLE, USER ...
	Objects    []string // db.collection.name: objects of all statements, qualified as written
	Category   string   // event.category of the first statement
	Summary    string   // db.query.summary: the text with literals stripped
	// SQL holds sql.* (Audit is left empty).
	SQL event.SQL
}

// Fill copies the result into ev: db.operation.name, db.object.type,
// db.collection.name, db.query.summary, event.category (only when empty:
// the log parser's error/authentication stays) and sql.* (sql.audit is
// kept, and operations the log parser already listed are kept in front).
func (r *Result) Fill(ev *event.Event) {
	if r.Operation != "" {
		ev.DB.Operation.Name = r.Operation
	}
	if r.ObjectType != "" {
		ev.DB.Object.Type = r.ObjectType
	}
	if len(r.Objects) > 0 {
		ev.DB.Collection.Name = r.Objects
	}
	if r.Summary != "" {
		ev.DB.Query.Summary = r.Summary
	}
	if ev.Event.Category == "" {
		ev.Event.Category = r.Category
	}
	audit, prev := ev.SQL.Audit, ev.SQL.Operations
	ev.SQL = r.SQL
	ev.SQL.Audit = audit
	if len(prev) > 0 {
		ops := slices.Clone(prev)
		for _, o := range r.SQL.Operations {
			ops = AppendUniq(ops, o)
		}
		ev.SQL.Operations = ops
	}
}

// Clip clips every slice of the result, so that a caller appending to one
// copies it instead of writing into the shared cached result.
func (r *Result) Clip() {
	r.Objects = slices.Clip(r.Objects)
	q := &r.SQL
	q.Operations = slices.Clip(q.Operations)
	q.ObjectTypes = slices.Clip(q.ObjectTypes)
	q.Routines = slices.Clip(q.Routines)
	q.Injection = slices.Clip(q.Injection)
	q.Role.Names = slices.Clip(q.Role.Names)
	q.Role.Attributes = slices.Clip(q.Role.Attributes)
	q.Grant.Privileges = slices.Clip(q.Grant.Privileges)
	q.Grant.Roles = slices.Clip(q.Grant.Roles)
	q.Grant.Grantees = slices.Clip(q.Grant.Grantees)
}

// AppendUniq appends v to list unless it is there already.
func AppendUniq(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}
