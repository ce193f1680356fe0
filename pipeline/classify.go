package pipeline

import (
	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/stmt/mysql"
	"github.com/vigildb/vigil/stmt/pgsql"
)

// classifier fills an event's statement understanding from its (masked)
// db.query.text. Implementations are safe for concurrent use.
type classifier interface {
	Apply(*event.Event)
}

// newClassifier returns the statement classifier shared by the workers of
// one run: PostgreSQL's own parser and TiDB's MySQL parser, each behind a
// cache keyed by statement shape.
func newClassifier() classifier {
	return parsedClassifier{pg: pgsql.New(pgsql.Options{}), my: mysql.New(mysql.Options{})}
}

// parsedClassifier classifies text the parsers have already masked (every
// parse package masks each text field it emits), so it skips the masking
// pass that the classifiers' Apply makes for callers outside the pipeline:
// on the hot path that pass would run twice per statement.
//
// The dialect follows db.system.name: mysql and mariadb statements go to
// the MySQL classifier, cosmosdb (not SQL) is left alone, everything else
// (postgresql, or unknown) to the PostgreSQL one.
type parsedClassifier struct {
	pg *pgsql.Classifier
	my *mysql.Classifier
}

func (p parsedClassifier) Apply(ev *event.Event) {
	if ev.DB.Query.Text == "" {
		return
	}
	switch ev.DB.System.Name {
	case "mysql", "mariadb":
		p.my.Classify(ev.DB.Query.Text).Fill(ev)
	case "cosmosdb":
	default:
		p.pg.Classify(ev.DB.Query.Text).Fill(ev)
	}
}
