package ndjson

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		wantErr string
		check   func(*testing.T, *event.Event)
	}{
		{name: "blank", line: "   "},
		{name: "not json", line: "hello", wantErr: "not an event in JSON"},
		{name: "no time", line: `{"user":{"name":"a"}}`, wantErr: "without time"},
		{name: "wrong type", line: `{"time":"2026-11-25T10:00:00Z","client":{"port":"x"}}`, wantErr: "not an event"},
		{
			name: "full event, masked again, id from position",
			line: `{"time":"2026-11-25T11:00:00+01:00","event":{"action":"statement"},"user":{"name":"mallory"},"db":{"query":{"text":"ALTER ROLE x PASSWORD 'hunter2'"}}}`,
			check: func(t *testing.T, ev *event.Event) {
				if ev.Time.Location().String() != "UTC" || ev.Time.Hour() != 10 {
					t.Errorf("time not normalized to UTC: %v", ev.Time)
				}
				if ev.User.Name != "mallory" || ev.Event.Action != "statement" {
					t.Errorf("fields: %+v", ev)
				}
				if ev.ID == "" || ev.Log.File != "f.ndjson" || ev.Log.Line != 7 {
					t.Errorf("id/log: %q %q %d", ev.ID, ev.Log.File, ev.Log.Line)
				}
				if b, _ := json.Marshal(ev); strings.Contains(string(b), "hunter2") {
					t.Errorf("secret survived: %s", b)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []*event.Event
			err := Parser{}.Parse(parse.Line{Text: []byte(tc.line), File: "f.ndjson", Offset: 100, No: 7}, func(ev *event.Event) { got = append(got, ev) })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check == nil {
				if len(got) != 0 {
					t.Fatalf("got %d events", len(got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d events", len(got))
			}
			tc.check(t, got[0])
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"time":"2026-11-25T10:00:00Z","db":{"query":{"text":"SELECT 1"}}}`))
	f.Add([]byte(`{"time":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = Parser{}.Parse(parse.Line{Text: b}, func(*event.Event) {})
	})
}
