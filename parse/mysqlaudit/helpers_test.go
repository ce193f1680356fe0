package mysqlaudit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
)

const samples = "../../../shared/samples/mariadb"

// run feeds text line by line to p and returns the events and the number
// of lines it refused.
func run(t testing.TB, p parse.Parser, name, text string) ([]*event.Event, int) {
	t.Helper()
	var evs []*event.Event
	emit := func(ev *event.Event) { evs = append(evs, ev) }
	bad := 0
	var off, no int64
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		no++
		line := sc.Bytes()
		if err := p.Parse(parse.Line{Text: line, File: name, Offset: off, No: no}, emit); err != nil {
			bad++
			t.Logf("%s:%d: %v", name, no, err)
		}
		off += int64(len(line)) + 1
	}
	p.Flush(emit)
	return evs, bad
}

func readSample(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samples, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func count(evs []*event.Event, f func(*event.Event) bool) int {
	n := 0
	for _, ev := range evs {
		if f(ev) {
			n++
		}
	}
	return n
}

func action(a string) func(*event.Event) bool {
	return func(ev *event.Event) bool { return ev.Event.Action == a }
}

// noSecrets fails when any emitted field (as JSON) holds one of secrets.
func noSecrets(t *testing.T, evs []*event.Event, secrets ...string) {
	t.Helper()
	for _, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("secret %q in event %s", s, b)
			}
		}
	}
}

// uniqueIDs fails on an empty or repeated event id.
func uniqueIDs(t *testing.T, evs []*event.Event) {
	t.Helper()
	seen := map[string]bool{}
	for _, ev := range evs {
		if ev.ID == "" || seen[ev.ID] {
			t.Errorf("event id %q empty or repeated (line %d)", ev.ID, ev.Log.Line)
		}
		seen[ev.ID] = true
	}
}
