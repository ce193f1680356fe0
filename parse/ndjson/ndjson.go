// Package ndjson reads events that are already in Vigil's schema, one JSON
// object per line (the form `vigil` itself writes, and what shippers send
// to the HTTP ingest endpoint). Text fields are masked again on the way in:
// a producer may not have masked them.
package ndjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
	"github.com/vigildb/vigil/stmt/mask"
)

// Parser reads NDJSON events. The zero value is ready to use.
type Parser struct{}

// Parse decodes one line; blank lines are skipped.
func (Parser) Parse(l parse.Line, emit parse.Emit) error {
	text := bytes.TrimSpace(l.Text)
	if len(text) == 0 {
		return nil
	}
	ev := new(event.Event)
	if err := json.Unmarshal(text, ev); err != nil {
		return fmt.Errorf("not an event in JSON: %w", err)
	}
	if ev.Time.IsZero() {
		return fmt.Errorf("event without time")
	}
	ev.Time = ev.Time.UTC()
	ev.DB.Query.Text = mask.SQL(ev.DB.Query.Text)
	ev.Error.Message = mask.SQL(ev.Error.Message)
	ev.Error.Detail = mask.SQL(ev.Error.Detail)
	ev.SQL.Audit.Parameter = mask.SQL(ev.SQL.Audit.Parameter)
	if ev.ID == "" {
		h := fnv.New64a()
		h.Write([]byte(l.File))
		h.Write([]byte{0})
		h.Write([]byte(strconv.FormatInt(l.Offset, 10)))
		ev.ID = strconv.FormatUint(h.Sum64(), 16)
	}
	if ev.Log.File == "" {
		ev.Log.File, ev.Log.Line = l.File, l.No
	}
	emit(ev)
	return nil
}

// Flush has nothing to do: every line is a whole event.
func (Parser) Flush(parse.Emit) {}
