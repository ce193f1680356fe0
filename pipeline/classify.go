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
func newClassifier() classifier { return pgsql.New(pgsql.Options{}) }
