package pgsql

import (
	"reflect"
	"testing"
)

// FuzzClassify: classification never panics (nor crashes the C parser), is
// deterministic, the cached result equals a fresh analysis, and two texts
// with the same cache key classify the same.
func FuzzClassify(f *testing.F) {
	for _, k := range cases {
		f.Add(k.q)
	}
	for _, s := range []string{
		"SELECT 1+1+1+1+1+1", "DO LANGUAGE plpgsql", "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql RETURN 1",
		"DO $$BEGIN IF true THEN EXECUTE 'x'; END IF; END$$", "COPY (DELETE FROM t RETURNING *) TO STDOUT",
		"CREATE RULE r AS ON INSERT TO t DO INSTEAD DELETE FROM u", "SELECT $1, $2 FROM t WHERE a IN ($3, $4)",
		"SELECT 'a'\n'b'", "SELECT 'a' /* c */ 'b'", "SELECT E'\\''", "SELECT U&'\\0041'", "SELECT $a$x$a$",
	} {
		f.Add(s)
	}
	c := New(Options{CacheSize: 4096})
	fresh := New(Options{CacheSize: -1})
	seen := map[string]string{} // key -> first text, to report collisions
	f.Fuzz(func(t *testing.T, q string) {
		key := string(appendKey(nil, q))
		first, ok := seen[key]
		if !ok && len(seen) < 100000 {
			seen[key] = q
		}
		r1 := c.Classify(q)
		r2 := c.Classify(q)
		if r1 != r2 && !reflect.DeepEqual(r1, r2) {
			t.Fatalf("not deterministic: %q", q)
		}
		if r3 := fresh.Classify(q); !reflect.DeepEqual(r1, r3) {
			t.Fatalf("cached result differs from a fresh analysis for %q (key shared with %q):\n%+v\n%+v", q, first, r1, r3)
		}
		checkKeyProperty(t, fresh, q)
	})
}
