package config

import (
	"sort"
	"strings"

	"github.com/vigildb/vigil/internal/yamlpos"
)

// Pos is a place in a config file. Line and Column are 1-based; a zero
// Line means the whole file.
type Pos = yamlpos.Pos

// Error is one problem in a config file: where it is, the key at fault
// (dotted, e.g. "http.token" or "sources[1].listen") and what is wrong.
type Error struct {
	Pos Pos    `json:"pos"`
	Key string `json:"key,omitempty"`
	Msg string `json:"message"`
}

func (e *Error) Error() string {
	if e.Key == "" {
		return e.Pos.String() + ": " + e.Msg
	}
	return e.Pos.String() + ": " + e.Key + ": " + e.Msg
}

// Errors is every problem found in a config file, ordered by line and
// column. Load and Parse keep going after the first problem so that one
// run of `vigil config check` shows them all.
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

func (es Errors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Pos, es[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}
