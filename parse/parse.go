// Package parse turns raw records (log lines) into events. Each log family
// is a subpackage (pglog, ...) that registers its formats by name, so
// replay and the live daemon share one way to find a parser.
package parse

import (
	"github.com/vigildb/vigil/event"
)

// Line is one physical line read from a source, with where it came from.
type Line struct {
	Text   []byte // without the trailing newline; only valid during the call
	File   string // file name or source name
	Offset int64  // byte offset of the line's start in File
	No     int64  // 1-based line number in File
}

// Emit receives parsed events. The event is owned by the receiver.
type Emit func(*event.Event)

// Parser turns lines into events. A parser may hold state across lines
// (multi-line records, per-session joins); Flush emits whatever is pending
// at the end of the input. Parsers are not safe for concurrent use.
type Parser interface {
	// Parse consumes one line. An error means the line could not be
	// understood: the caller counts and reports it (file:line) and goes on;
	// the parser must stay usable.
	Parse(l Line, emit Emit) error
	// Flush emits pending events (end of input, or an idle source).
	Flush(emit Emit)
}

// Holder is implemented by parsers that hold events across lines. Pending
// returns the input position (Line.Offset and Line.No) of the first line
// of the oldest record or event still held, or ok=false when nothing is
// held. A reader saves that position as its restart point, so held events
// are re-created after a crash instead of lost.
type Holder interface {
	Pending() (offset, lineNo int64, ok bool)
}
