package event

import (
	"reflect"
	"strings"
)

// SchemaField is one leaf field of Event as rules and JSON name it.
type SchemaField struct {
	Name string // dotted name: db.operation.name
	Type string // string, int, bool, time, list of string
}

// Schema lists every leaf field of Event by its dotted name, in declaration
// order. `vigil rules fields` prints it.
func Schema() []SchemaField {
	var out []SchemaField
	walkSchema(reflect.TypeOf(Event{}), "", &out)
	return out
}

func walkSchema(t reflect.Type, prefix string, out *[]SchemaField) {
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("expr")
		if name == "" {
			continue
		}
		full := name
		if prefix != "" {
			full = prefix + "." + name
		}
		switch {
		case f.Type == reflect.TypeOf(Event{}.Time):
			*out = append(*out, SchemaField{full, "time"})
		case f.Type.Kind() == reflect.Struct:
			walkSchema(f.Type, full, out)
		case f.Type.Kind() == reflect.Slice:
			*out = append(*out, SchemaField{full, "list of " + f.Type.Elem().Kind().String()})
		default:
			k := f.Type.Kind().String()
			if strings.HasPrefix(k, "int") {
				k = "int"
			}
			*out = append(*out, SchemaField{full, k})
		}
	}
}
