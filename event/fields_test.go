package event

import "testing"

func TestFieldAccessors(t *testing.T) {
	ev := &Event{}
	ev.Client.Address = "203.0.113.7"
	ev.DB.Collection.Name = []string{"public.a", "public.b"}
	ev.DB.Response.ReturnedRows = 42
	for name, want := range map[string]string{
		"client.address":            "203.0.113.7",
		"db.collection.name":        "public.a,public.b",
		"db.response.returned_rows": "42",
		"user.name":                 "",
	} {
		get, ok := Field(name)
		if !ok {
			t.Errorf("%s: unknown", name)
			continue
		}
		if got := get(ev); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	if _, ok := Field("no.such"); ok {
		t.Error("unknown field accepted")
	}
	if n := FieldNames(); len(n) < 30 || n[0] > n[len(n)-1] {
		t.Errorf("FieldNames: %v", n)
	}
}

func TestSeverityRank(t *testing.T) {
	if !(SeverityRank("critical") > SeverityRank("high") && SeverityRank("high") > SeverityRank("info") && SeverityRank("bogus") == 0) {
		t.Error("severity order")
	}
}
