package pipeline

import (
	"slices"
	"strings"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/stmt/lex"
)

// classifyAudited classifies a pgaudit event. pgaudit logs every statement
// of a multi-statement string ("SELECT 1; DROP TABLE t") under its own
// statement id, each record carrying the whole string. Classifying the
// whole string for each would count the DROP TABLE twice (once in the
// SELECT's event); instead each event is classified on the statement its
// pgaudit command names, and the event keeps the whole text as evidence.
func classifyAudited(cls classifier, ev *event.Event) {
	cmd := ev.DB.Operation.Name
	pieces := splitStatements(ev.DB.Query.Text)
	if cmd == "" || len(pieces) < 2 {
		cls.Apply(ev)
		return
	}
	whole := ev.DB.Query.Text
	for i, p := range pieces {
		c := *ev
		c.SQL.Operations = slices.Clone(ev.SQL.Operations)
		c.DB.Query.Text = p
		cls.Apply(&c)
		if c.DB.Operation.Name != cmd {
			continue
		}
		c.DB.Query.Text = whole
		c.SQL.Stacked = true
		if i > 0 && dangerous(&c) && !slices.Contains(c.SQL.Injection, "stacked") {
			c.SQL.Injection = append(slices.Clip(c.SQL.Injection), "stacked")
		}
		*ev = c
		return
	}
	cls.Apply(ev) // no statement matches pgaudit's command: classify it all
}

// dangerous: a statement that has no business following another one in a
// single query string sent by an application (the "stacked query" shape of
// SQL injection).
func dangerous(ev *event.Event) bool {
	switch ev.Event.Category {
	case event.CategoryDDL, event.CategoryDCL, event.CategoryAdmin:
		return true
	}
	return ev.SQL.NoWhere || ev.SQL.Copy.Target != "" || len(ev.SQL.Routines) > 0
}

// splitStatements cuts text at top-level semicolons (not inside strings,
// dollar-quoted bodies, comments or parentheses) and drops empty pieces.
func splitStatements(text string) []string {
	// Fast path (nearly every statement): no semicolon, or only a
	// trailing one.
	i := strings.IndexByte(text, ';')
	if i < 0 || strings.TrimSpace(text[i+1:]) == "" {
		return nil
	}
	var out []string
	l := lex.New(text)
	start, depth := 0, 0
	for {
		t := l.Next()
		if t.Kind == lex.EOF {
			break
		}
		if t.Kind != lex.Punct {
			continue
		}
		switch text[t.Start] {
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case ';':
			if depth == 0 {
				if p := strings.TrimSpace(text[start:t.Start]); p != "" {
					out = append(out, p)
				}
				start = t.End
			}
		}
	}
	if p := strings.TrimSpace(text[start:]); p != "" {
		out = append(out, p)
	}
	return out
}
