package parse

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// Format is one input format a parse subpackage provides. Subpackages
// register their formats in init; replay and the daemon find them by name
// (--input-format, a source's `format:`) or by detection.
type Format struct {
	// Name is what users type: "mariadb_audit", "azure", ...
	Name string
	// Description is one line for --help and error messages.
	Description string
	// Detect reports how sure it is that head, the first bytes of an input
	// (at most 64 KiB, possibly cut in the middle of a line), is in this
	// format: 0 means no; a higher number wins over a lower one. A detector
	// must be strict: look for the format's own markers, not just "JSON".
	Detect func(head []byte) int
	// New returns a fresh parser.
	New func(Options) (Parser, error)
}

// Options are what a parser may be given beyond its lines.
type Options struct {
	// Prefix is PostgreSQL's log_line_prefix, for formats that embed
	// PostgreSQL stderr lines; "" means detect or use the format's default.
	Prefix string
	// Location is the time zone of timestamps written without one (MariaDB
	// server_audit, the general and error logs) or with a zone abbreviation
	// the parser does not know; nil means UTC.
	Location *time.Location
}

var (
	regMu   sync.RWMutex
	formats = map[string]Format{}
)

// Register adds a format. It panics on an empty or duplicate name or a
// missing New: those are programming errors, found by any test.
func Register(f Format) {
	regMu.Lock()
	defer regMu.Unlock()
	if f.Name == "" || f.New == nil {
		panic("parse: Register needs a Name and New")
	}
	if _, dup := formats[f.Name]; dup {
		panic(fmt.Sprintf("parse: format %q registered twice", f.Name))
	}
	formats[f.Name] = f
}

// Lookup returns the registered format of that name.
func Lookup(name string) (Format, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	f, ok := formats[name]
	return f, ok
}

// Formats lists the registered formats by name.
func Formats() []Format {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]Format, 0, len(formats))
	for _, f := range formats {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Detect returns the registered format most sure of head, or false when
// none recognizes it. Ties go to the first name in order.
func Detect(head []byte) (Format, bool) {
	var best Format
	score := 0
	for _, f := range Formats() {
		if f.Detect == nil {
			continue
		}
		if s := f.Detect(head); s > score {
			best, score = f, s
		}
	}
	return best, score > 0
}
