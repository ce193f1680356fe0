package event

import (
	"sort"
	"strconv"
	"strings"
)

// Accessor reads one field of an event as text. List-valued fields are
// joined with ",".
type Accessor func(*Event) string

var accessors = map[string]Accessor{
	"id":                        func(e *Event) string { return e.ID },
	"source.name":               func(e *Event) string { return e.Source.Name },
	"source.kind":               func(e *Event) string { return e.Source.Kind },
	"db.system.name":            func(e *Event) string { return e.DB.System.Name },
	"db.namespace":              func(e *Event) string { return e.DB.Namespace },
	"db.operation.name":         func(e *Event) string { return e.DB.Operation.Name },
	"db.object.type":            func(e *Event) string { return e.DB.Object.Type },
	"db.collection.name":        func(e *Event) string { return strings.Join(e.DB.Collection.Name, ",") },
	"db.query.text":             func(e *Event) string { return e.DB.Query.Text },
	"db.query.summary":          func(e *Event) string { return e.DB.Query.Summary },
	"db.response.status_code":   func(e *Event) string { return e.DB.Response.StatusCode },
	"db.response.returned_rows": func(e *Event) string { return strconv.FormatInt(e.DB.Response.ReturnedRows, 10) },
	"db.response.bytes":         func(e *Event) string { return strconv.FormatInt(e.DB.Response.Bytes, 10) },
	"server.address":            func(e *Event) string { return e.Server.Address },
	"user.name":                 func(e *Event) string { return e.User.Name },
	"client.address":            func(e *Event) string { return e.Client.Address },
	"client.port":               func(e *Event) string { return strconv.Itoa(e.Client.Port) },
	"client.geo.country":        func(e *Event) string { return e.Client.Geo.Country },
	"client.geo.city":           func(e *Event) string { return e.Client.Geo.City },
	"client.cloud.provider":     func(e *Event) string { return e.Client.Cloud.Provider },
	"client.cloud.region":       func(e *Event) string { return e.Client.Cloud.Region },
	"app.name":                  func(e *Event) string { return e.App.Name },
	"session.id":                func(e *Event) string { return e.Session.ID },
	"event.category":            func(e *Event) string { return e.Event.Category },
	"event.action":              func(e *Event) string { return e.Event.Action },
	"event.outcome":             func(e *Event) string { return e.Event.Outcome },
	"log.level":                 func(e *Event) string { return e.Log.Level },
	"error.message":             func(e *Event) string { return e.Error.Message },
	"sql.operations":            func(e *Event) string { return strings.Join(e.SQL.Operations, ",") },
	"sql.routines":              func(e *Event) string { return strings.Join(e.SQL.Routines, ",") },
	"sql.setting.name":          func(e *Event) string { return e.SQL.Setting.Name },
	"sql.role.names":            func(e *Event) string { return strings.Join(e.SQL.Role.Names, ",") },
}

// Field returns the accessor of a dotted field name (as used in rule
// group_by, distinct and exceptions), and whether the name is known.
func Field(name string) (Accessor, bool) {
	a, ok := accessors[name]
	return a, ok
}

// FieldNames lists the names Field knows, sorted.
func FieldNames() []string {
	names := make([]string, 0, len(accessors))
	for n := range accessors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
