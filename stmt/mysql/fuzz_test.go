package mysql

import (
	"fmt"
	"testing"
)

// FuzzClassify: the classifier never panics (a recovered panic would show
// as a bare parse_error result, which is checked against the uncached
// path), the cache agrees with a fresh analysis, and the summary is
// bounded.
func FuzzClassify(f *testing.F) {
	for _, tc := range cases {
		f.Add(tc.text)
	}
	f.Add("SELECT 1 /*!50000 UNION /*!SELECT*/ */ FROM t")
	f.Add("CREATE DEFINER=`a`@`%` EVENT e ON SCHEDULE AT NOW() DO CALL p()")
	f.Add("GRANT PROXY ON ''@'' TO 'x'")
	c := New(Options{CacheSize: 256})
	nc := New(Options{CacheSize: -1})
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 1<<14 {
			return
		}
		r := c.Classify(text)
		if r == nil {
			t.Fatal("nil result")
		}
		// Texts sharing a cache key must classify alike: the cached result
		// equals a fresh one (the summary aside: it is the first text's).
		fresh := nc.Classify(text)
		a, b := *r, *fresh
		a.Summary, b.Summary = "", ""
		if fmt.Sprintf("%+v", a) != fmt.Sprintf("%+v", b) {
			t.Fatalf("cached result differs for %q:\n%+v\n%+v", text, a, b)
		}
		if len(r.Summary) > maxSummary+8 {
			t.Fatalf("summary of %d bytes", len(r.Summary))
		}
		// A panic inside the analysis is recovered into a bare result:
		// flag it (the bare result has no summary).
		if r.SQL.ParseError && r.Summary == "" && r.Operation == "" && len(text) > 0 {
			a := &analysis{c: c, budget: c.opts.MaxParses}
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("panic on %q: %v", text, p)
					}
				}()
				_, _ = a.statementsErr(text, 0)
			}()
		}
	})
}
