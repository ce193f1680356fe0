package pipeline

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigildb/vigil/detect"
	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/parse"
	"github.com/vigildb/vigil/parse/ndjson"
	"github.com/vigildb/vigil/parse/pglog"
	"github.com/vigildb/vigil/rules"
)

// Formats are the input formats replay and the daemon read: PostgreSQL's
// three, Vigil's own events, and every format a parse subpackage registers.
func Formats() []string {
	out := []string{pglog.FormatStderr, pglog.FormatCSV, pglog.FormatJSON, "events"}
	for _, f := range parse.Formats() {
		out = append(out, f.Name)
	}
	return out
}

// detectFormat picks the format (and stderr prefix) of an input from its
// first bytes. What the user gave wins: a format, and for stderr logs the
// log_line_prefix (then the format is only detected between csvlog,
// jsonlog and stderr).
func detectFormat(head []byte, givenFormat, givenPrefix string) (format, prefix string, err error) {
	if f, ok := parse.Lookup(givenFormat); ok {
		return f.Name, givenPrefix, nil
	}
	if givenFormat == "" {
		// The registered formats' detectors look for their own markers, so
		// they are asked first; PostgreSQL's detection is the fallback.
		if f, ok := parse.Detect(head); ok {
			return f.Name, givenPrefix, nil
		}
	}
	if givenFormat == "events" || givenFormat == pglog.FormatCSV || givenFormat == pglog.FormatJSON {
		return givenFormat, "", nil
	}
	f, pre, err := pglog.DetectHead(head)
	switch {
	case givenPrefix != "" && (givenFormat == pglog.FormatStderr || f == pglog.FormatStderr || f == ""):
		return pglog.FormatStderr, givenPrefix, nil
	case givenFormat == "" && err != nil && len(head) > 0 && head[0] == '{':
		return "events", "", nil
	case err != nil:
		return "", "", fmt.Errorf("%w\n  (pass --log-line-prefix with the value of log_line_prefix in postgresql.conf, e.g. --log-line-prefix '%%m [%%p] %%q%%u@%%d ')", err)
	case givenFormat == pglog.FormatStderr && f != pglog.FormatStderr:
		return "", "", fmt.Errorf("this looks like %s, not stderr (drop --input-format or say --input-format %s)", f, f)
	}
	return f, pre, nil
}

// newParser returns the parser of a format; loc is the time zone of
// timestamps written without one (nil: UTC).
func newParser(format, prefix string, loc *time.Location) (parse.Parser, error) {
	switch format {
	case "events":
		return ndjson.Parser{}, nil
	case pglog.FormatStderr, pglog.FormatCSV, pglog.FormatJSON:
		return pglog.NewWithOptions(format, prefix, pglog.Options{Location: loc})
	}
	if f, ok := parse.Lookup(format); ok {
		p, err := f.New(parse.Options{Prefix: prefix, Location: loc})
		if err != nil {
			return nil, fmt.Errorf("input format %s: %w", format, err)
		}
		return p, nil
	}
	return nil, fmt.Errorf("unknown input format %q (want one of %s)", format, strings.Join(Formats(), ", "))
}

// Rules is a loaded rule set: the built-in pack plus user files.
type Rules struct {
	*detect.RuleSet
}

// Has reports whether a rule id exists.
func (r *Rules) Has(id string) bool { return r.Rule(id) != nil }

// BuiltinSource is the embedded rule pack as a detect source.
func BuiltinSource() detect.Source { return detect.FSSource("builtin", rules.Builtin) }

// LoadRules loads the built-in pack, then each user path (file or
// directory) in order: later files add rules, override by id, extend lists.
func LoadRules(paths []string) (*Rules, error) {
	rs, err := detect.Load(append([]detect.Source{BuiltinSource()}, detect.PathSources(paths...)...)...)
	if err != nil {
		return nil, err
	}
	return &Rules{rs}, nil
}

// detector is what the pipeline needs of the detection engine.
type detector interface {
	Process(*event.Event)
	Flush()
	Alerts() []*event.Alert
}

type engineAdapter struct{ e *detect.Engine }

func (a engineAdapter) Process(ev *event.Event) { a.e.Process(ev) }
func (a engineAdapter) Flush()                  { a.e.Advance(a.e.Clock()) }
func (a engineAdapter) Alerts() []*event.Alert  { return a.e.Alerts() }

func newEngine(rs *Rules, opts Options) detector {
	return engineAdapter{detect.NewEngine(rs.RuleSet, detect.Options{LearnUntil: opts.LearnUntil, KeepAlerts: true})}
}
