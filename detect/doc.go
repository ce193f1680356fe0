// Package detect loads detection rules and evaluates them over the event
// stream: it is the "detect" stage of the pipeline.
//
// Loading (Load, Lint) reads rule files (the format is docs/rules.md) from
// Sources in order, the embedded built-in pack first, then the user's
// files, which may add rules, override built-in ones field by field,
// extend named lists and add exceptions. Files are read node by node from
// goccy/go-yaml's AST and conditions are compiled by expr against the
// typed event.Event, so every mistake, from a YAML indentation error to a
// misspelled field inside a condition, is reported as file:line:column
// with the reason, and all of them in one run.
//
// Evaluation (Engine) is driven by event time only, so a replay of last
// month's logs raises the alerts, with the same ids, that the live system
// raised. The engine keeps per rule and group the little state each kind
// needs (sliding-window timestamps, distinct values, baselines, last-seen
// times), bounded in size, as plain data that SaveState/LoadState carry
// across restarts.
//
// Speed comes from not running rules: each condition's syntax tree is
// analysed at load time (prefilter.go) to index rules by the field values
// they require and to decide most conditions in Go, so an event typically
// touches a handful of the ~35 rules and expr runs rarely.
//
// Typical use:
//
//	rs, err := detect.Load(detect.FSSource("builtin", rules.Builtin), detect.PathSource("/etc/vigil/rules"))
//	e := detect.NewEngine(rs, detect.Options{LearnUntil: learnUntil})
//	for ev := range events {
//		for _, a := range e.Process(ev) { ... } // created or updated alerts
//	}
package detect
