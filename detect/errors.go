package detect

import (
	"sort"
	"strings"

	"github.com/vigildb/vigil/internal/yamlpos"
)

// Pos is a place in a rule file. Line and Column are 1-based; a zero
// Line means the whole file.
type Pos = yamlpos.Pos

// Error is one problem found in a rule file, with where it is. Warnings
// (from Lint only) do not stop a rule set from loading.
type Error struct {
	Pos     Pos
	Msg     string
	Warning bool
}

func (e *Error) Error() string {
	if e.Warning {
		return e.Pos.String() + ": warning: " + e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// Errors is every problem found while loading rules, in file order. Load
// keeps going after the first problem so that one run of `vigil rules lint`
// shows them all.
type Errors []*Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// sortErrors orders errors by file order of the sources, then line and
// column, keeping the order of equal positions.
func sortErrors(es Errors, fileOrder map[string]int) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Pos, es[j].Pos
		if a.File != b.File {
			return fileOrder[a.File] < fileOrder[b.File]
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}
