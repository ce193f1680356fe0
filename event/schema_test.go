package event

import "testing"

func TestSchemaNamesMatchSpec(t *testing.T) {
	want := []string{"time", "source.name", "source.kind", "db.system.name", "db.namespace",
		"db.operation.name", "db.object.type", "db.collection.name", "db.query.text", "db.query.summary",
		"db.response.status_code", "db.response.returned_rows", "db.response.bytes", "server.address",
		"user.name", "client.address", "client.port", "client.geo.country", "client.cloud.region",
		"app.name", "session.id", "event.category", "event.action", "event.outcome", "log.level",
		"error.message", "sql.no_where", "sql.copy.target", "sql.grant.with_grant_option"}
	have := map[string]string{}
	for _, f := range Schema() {
		have[f.Name] = f.Type
	}
	for _, n := range want {
		if _, ok := have[n]; !ok {
			t.Errorf("schema lacks %s", n)
		}
	}
	if have["db.collection.name"] != "list of string" || have["time"] != "time" || have["sql.no_where"] != "bool" {
		t.Errorf("types: %v", have)
	}
}

func TestFieldAccessorsAreInSchema(t *testing.T) {
	have := map[string]bool{}
	for _, f := range Schema() {
		have[f.Name] = true
	}
	for _, n := range FieldNames() {
		if !have[n] {
			t.Errorf("accessor %s is not a schema field", n)
		}
	}
	ev := &Event{}
	ev.Client.Address = "203.0.113.7"
	ev.DB.Collection.Name = []string{"public.a", "public.b"}
	for name, want := range map[string]string{"client.address": "203.0.113.7", "db.collection.name": "public.a,public.b"} {
		get, ok := Field(name)
		if !ok || get(ev) != want {
			t.Errorf("%s: got %q", name, get(ev))
		}
	}
	if _, ok := Field("no.such"); ok {
		t.Error("unknown field accepted")
	}
}
