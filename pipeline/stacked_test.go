package pipeline

import (
	"slices"
	"strings"
	"testing"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/stmt/pgsql"
)

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"SELECT 1", nil},
		{"SELECT 1;", nil},
		{"SELECT 1;  \n", nil},
		{"SELECT 1; DROP TABLE t", []string{"SELECT 1", "DROP TABLE t"}},
		{"SELECT 'a;b'; SELECT 2;", []string{"SELECT 'a;b'", "SELECT 2"}},
		{"DO $$BEGIN PERFORM 1; PERFORM 2; END$$; SELECT 3", []string{"DO $$BEGIN PERFORM 1; PERFORM 2; END$$", "SELECT 3"}},
		{"SELECT 1 /* ; */; -- ;\nSELECT 2", []string{"SELECT 1 /* ; */", "-- ;\nSELECT 2"}},
		{";;SELECT 1;;", []string{"SELECT 1"}},
	}
	for _, tc := range tests {
		if got := splitStatements(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("splitStatements(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestClassifyAuditedStacked: the two pgaudit events of one stacked query
// are each classified on their own statement.
func TestClassifyAuditedStacked(t *testing.T) {
	cls := pgsql.New(pgsql.Options{})
	text := "SELECT name FROM products WHERE id = 1; DROP TABLE cart_items"
	mk := func(id int64, cmd string) *event.Event {
		ev := &event.Event{}
		ev.DB.Query.Text = text
		ev.DB.Operation.Name = cmd
		ev.SQL.Operations = []string{cmd}
		ev.SQL.Audit.StatementID = id
		return ev
	}
	sel, drop := mk(5, "SELECT"), mk(6, "DROP TABLE")
	classifyAudited(cls, sel)
	classifyAudited(cls, drop)
	if slices.Contains(sel.SQL.Operations, "DROP TABLE") || slices.Contains(sel.SQL.Injection, "stacked") || !sel.SQL.Stacked {
		t.Errorf("SELECT event: %+v", sel.SQL)
	}
	if !slices.Contains(drop.SQL.Operations, "DROP TABLE") || !slices.Contains(drop.SQL.Injection, "stacked") ||
		!slices.Contains(drop.DB.Collection.Name, "cart_items") {
		t.Errorf("DROP event: %+v %+v", drop.SQL, drop.DB.Collection)
	}
	if sel.DB.Query.Text != text || drop.DB.Query.Text != text || !strings.HasPrefix(drop.DB.Operation.Name, "DROP") {
		t.Errorf("text or operation changed: %q %q %q", sel.DB.Query.Text, drop.DB.Query.Text, drop.DB.Operation.Name)
	}
}
