package pipeline

import (
	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/stmt/pgsql"
)

// classifier fills an event's statement understanding from its (masked)
// db.query.text. Implementations are safe for concurrent use.
type classifier interface {
	Apply(*event.Event)
}

// newClassifier returns the statement classifier shared by the workers of
// one run: PostgreSQL's own parser behind a cache keyed by statement shape.
func newClassifier() classifier { return parsedClassifier{pgsql.New(pgsql.Options{})} }

// parsedClassifier classifies text the parsers have already masked (every
// parse package masks each text field it emits), so it skips the masking
// pass that pgsql.Classifier.Apply makes for callers outside the pipeline:
// on the hot path that pass would run twice per statement.
type parsedClassifier struct{ c *pgsql.Classifier }

func (p parsedClassifier) Apply(ev *event.Event) {
	if ev.DB.Query.Text != "" {
		p.c.Classify(ev.DB.Query.Text).Fill(ev)
	}
}
