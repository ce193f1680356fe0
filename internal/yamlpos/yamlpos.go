// Package yamlpos computes positions of goccy/go-yaml AST nodes for
// file:line:column errors.
package yamlpos

import (
	"fmt"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// Pos is a place in a file. Line and Column are 1-based; a zero Line
// means the whole file.
type Pos struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Column == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Of is where node n of file starts: the first key of a block mapping,
// the indicator of a block scalar, the opening quote of a quoted string.
// A nil node is the whole file.
func Of(file string, n ast.Node) Pos {
	switch v := n.(type) {
	case nil:
		return Pos{File: file}
	case *ast.MappingNode:
		if !v.IsFlowStyle && len(v.Values) > 0 {
			return Of(file, v.Values[0].Key)
		}
	case *ast.MappingValueNode:
		return Of(file, v.Key)
	case *ast.LiteralNode:
		return OfToken(file, v.Start)
	case *ast.AnchorNode:
		return OfToken(file, v.Start)
	case *ast.TagNode:
		return OfToken(file, v.Start)
	}
	return OfToken(file, n.GetToken())
}

// OfToken is where token tk of file is; a nil token, or one without a
// position, is the whole file.
func OfToken(file string, tk *token.Token) Pos {
	if tk == nil || tk.Position == nil {
		return Pos{File: file}
	}
	return Pos{File: file, Line: tk.Position.Line, Column: tk.Position.Column}
}
