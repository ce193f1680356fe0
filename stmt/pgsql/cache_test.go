package pgsql

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/stmt/lex"
	"github.com/vigildb/vigil/stmt/shapecache"
)

// Statements with the same shape whose literal values change the
// classification must each be classified right through the cache.
func TestCacheSameShapeDifferentValues(t *testing.T) {
	pairs := []struct {
		a, b  string
		check func(r *Result) string
	}{
		{"COPY t TO '/tmp/a.csv'", "COPY t TO '/tmp/b.csv'", func(r *Result) string { return r.SQL.Copy.Path }},
		{"COPY t FROM PROGRAM 'id'", "COPY t FROM PROGRAM 'curl x'", func(r *Result) string { return r.SQL.Copy.Path }},
		{"SET pgaudit.log = 'all'", "SET pgaudit.log = 'none'", func(r *Result) string { return r.SQL.Setting.Value }},
		{"ALTER SYSTEM SET log_statement = 'all'", "ALTER SYSTEM SET log_statement = 'none'", func(r *Result) string { return r.SQL.Setting.Value }},
		{"ALTER ROLE a SET pgaudit.log = 'all'", "ALTER ROLE a SET pgaudit.log = 'none'", func(r *Result) string { return r.SQL.Setting.Value }},
		{"GRANT pg_monitor TO alice", "GRANT pg_read_all_data TO mallory", func(r *Result) string { return fmt.Sprint(r.SQL.Grant.Roles, r.SQL.Grant.Grantees) }},
		{"LOAD 'auto_explain'", "LOAD '/tmp/evil.so'", func(r *Result) string { return r.SQL.Library }},
		{"CREATE FUNCTION f() RETURNS int AS 'liba', 'f' LANGUAGE c", "CREATE FUNCTION f() RETURNS int AS '/tmp/libb.so', 'f' LANGUAGE c", func(r *Result) string { return r.SQL.Library }},
		{"CREATE FUNCTION f() RETURNS int AS 'x' LANGUAGE 'sql'", "CREATE FUNCTION f() RETURNS int AS 'x' LANGUAGE 'plpython3u'", func(r *Result) string { return r.SQL.Language }},
		{"SELECT set_config('application_name', 'x', false)", "SELECT set_config('pgaudit.log', 'none', false)", func(r *Result) string { return r.SQL.Setting.Name + "=" + r.SQL.Setting.Value }},
		{"SELECT lo_export(1, '/tmp/a')", "SELECT lo_export(1, '/var/lib/postgresql/.ssh/authorized_keys')", func(r *Result) string { return r.SQL.Copy.Path }},
		{"DO 'BEGIN PERFORM 1; END'", "DO 'BEGIN DROP TABLE users; END'", func(r *Result) string { return strings.Join(r.SQL.Operations, ",") }},
		{"DO $$BEGIN EXECUTE 'SELECT 1'; END$$", "DO $$BEGIN EXECUTE 'DROP TABLE t'; END$$", func(r *Result) string { return strings.Join(r.SQL.Operations, ",") }},
		{"SELECT * FROM t WHERE name = 'a'", "SELECT * FROM t WHERE name = 'b'", func(r *Result) string { return r.Operation }},
	}
	for _, p := range pairs {
		c := New(Options{})
		ra, rb := c.Classify(p.a), c.Classify(p.b)
		fa, fb := New(Options{CacheSize: -1}).Classify(p.a), New(Options{CacheSize: -1}).Classify(p.b)
		if got, want := p.check(ra), p.check(fa); got != want {
			t.Errorf("%q: cached %q, uncached %q", p.a, got, want)
		}
		if got, want := p.check(rb), p.check(fb); got != want {
			t.Errorf("%q after %q: cached %q, uncached %q", p.b, p.a, got, want)
		}
	}
	// And shapes that differ only in ordinary literals do share an entry.
	c := New(Options{})
	c.Classify("UPDATE pgbench_accounts SET abalance = abalance + -4152 WHERE aid = 76452;")
	c.Classify("UPDATE pgbench_accounts SET abalance = abalance + -17 WHERE aid = 3")
	c.Classify("SELECT * FROM t WHERE id IN (1, 2, 3)")
	c.Classify("SELECT * FROM t WHERE id IN (4)")
	c.Classify("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
	c.Classify("INSERT INTO t VALUES (3, 'c')")
	if n := c.cache.Len(); n != 3 {
		t.Errorf("cache holds %d entries, want 3", n)
	}
}

// mutateLiterals changes the value of every number and plain string
// literal of s.
func mutateLiterals(s string) string {
	var b strings.Builder
	lx := lex.New(s)
	last := 0
	for {
		tk := lx.Next()
		if tk.Kind == lex.EOF {
			break
		}
		var repl string
		switch {
		case tk.Kind == lex.Number:
			repl = "7"
		case tk.Kind == lex.String && s[tk.Start] == '\'' && !tk.Unterminated:
			repl = "'zz'"
		default:
			continue
		}
		b.WriteString(s[last:tk.Start])
		b.WriteString(repl)
		last = tk.End
	}
	b.WriteString(s[last:])
	return b.String()
}

// checkKeyProperty: texts with the same cache key classify the same.
func checkKeyProperty(t *testing.T, c *Classifier, q string) {
	t.Helper()
	v := mutateLiterals(q)
	if v == q || string(appendKey(nil, q)) != string(appendKey(nil, v)) {
		return
	}
	ra, rb := c.analyze(q), c.analyze(v)
	if !reflect.DeepEqual(ra, rb) {
		t.Errorf("same key, different classification:\n %q\n %q\n key %q\n %+v\n %+v", q, v, appendKey(nil, q), ra, rb)
	}
}

func TestKeyProperty(t *testing.T) {
	c := New(Options{CacheSize: -1})
	for _, k := range cases {
		checkKeyProperty(t, c, k.q)
	}
}

func TestApply(t *testing.T) {
	c := New(Options{})
	ev := event.Event{}
	ev.Event.Category = event.CategoryError
	ev.SQL.Audit = event.Audit{Type: "SESSION", Classes: []string{"ROLE"}}
	ev.SQL.Operations = []string{"CREATE ROLE"}
	ev.DB.Query.Text = "CREATE ROLE mallory LOGIN SUPERUSER PASSWORD 'Sup3rS3cret'"
	c.Apply(&ev)
	if strings.Contains(ev.DB.Query.Text, "Sup3rS3cret") || !strings.Contains(ev.DB.Query.Text, "PASSWORD '***'") {
		t.Errorf("text not masked: %q", ev.DB.Query.Text)
	}
	if strings.Contains(ev.DB.Query.Summary, "Sup3r") {
		t.Errorf("summary leaks: %q", ev.DB.Query.Summary)
	}
	if ev.Event.Category != event.CategoryError {
		t.Errorf("category overwritten: %q", ev.Event.Category)
	}
	if ev.SQL.Audit.Type != "SESSION" {
		t.Errorf("audit lost: %+v", ev.SQL.Audit)
	}
	if ev.DB.Operation.Name != "CREATE ROLE" || ev.DB.Object.Type != "ROLE" || !reflect.DeepEqual(ev.DB.Collection.Name, []string{"mallory"}) {
		t.Errorf("db fields: %+v", ev.DB)
	}
	if !ev.SQL.Role.Login || !ev.SQL.Role.Password || !reflect.DeepEqual(ev.SQL.Operations, []string{"CREATE ROLE"}) {
		t.Errorf("sql fields: %+v", ev.SQL)
	}

	ev2 := event.Event{}
	ev2.DB.Query.Text = "SELECT 1"
	c.Apply(&ev2)
	if ev2.Event.Category != event.CategoryQuery || ev2.DB.Query.Summary != "SELECT ?" {
		t.Errorf("query event: %+v", ev2.Event)
	}
	// Appending to a cached slice must not corrupt the cache.
	ev2.SQL.Operations = append(ev2.SQL.Operations, "X")
	if r := c.Classify("SELECT 2"); !reflect.DeepEqual(r.SQL.Operations, []string{"SELECT"}) {
		t.Errorf("cache corrupted: %v", r.SQL.Operations)
	}
	// No text: untouched.
	ev3 := event.Event{}
	c.Apply(&ev3)
	if !reflect.DeepEqual(ev3, event.Event{}) {
		t.Errorf("empty event changed: %+v", ev3)
	}
}

// Inputs that would crash or hang the C parser are classified lexically.
func TestHostileInputs(t *testing.T) {
	c := New(Options{})
	for _, q := range []string{
		"SELECT 1" + strings.Repeat("+1", 60000),
		"SELECT 'a'" + strings.Repeat("||'a'", 60000),
		"SELECT 1" + strings.Repeat(" UNION SELECT 1", 30000),
		"SELECT 1 FROM a" + strings.Repeat(" JOIN a ON true", 30000),
		"SELECT " + strings.Repeat("NOT ", 30000) + "true",
		"SELECT a" + strings.Repeat(" IS NULL", 30000),
		"SELECT 1" + strings.Repeat("::int", 30000),
		"SELECT " + strings.Repeat("(", 30000) + "1" + strings.Repeat(")", 30000),
		"SELECT " + strings.Repeat("f(", 5000) + "1" + strings.Repeat(")", 5000),
		"SELECT " + strings.Repeat("CASE WHEN a THEN ", 3000) + "1" + strings.Repeat(" END", 3000),
		"DO $$BEGIN " + strings.Repeat("IF true THEN ", 3000) + "NULL;" + strings.Repeat(" END IF;", 3000) + " END$$",
		"DO $$BEGIN PERFORM 1" + strings.Repeat("+1", 30000) + "; END$$",
		"DO $$BEGIN EXECUTE 'SELECT 1" + strings.Repeat("+1", 30000) + "'; END$$",
		"DO LANGUAGE plpgsql",
		"CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql RETURN 1",
		"CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql BEGIN ATOMIC SELECT 1; END",
		"SELECT 1;\x00DROP TABLE t",
		"SELECT '\xff\xfe'",
		"DROP TABLE \xff",
		"",
		"   ",
		"-- only a comment",
		";;;",
	} {
		r := c.Classify(q)
		if again := c.Classify(q); !reflect.DeepEqual(r, again) {
			t.Errorf("not deterministic: %.60q", q)
		}
	}
	// NUL hides nothing: the DROP TABLE after it is still seen.
	if r := c.Classify("SELECT 1;\x00DROP TABLE t"); !r.SQL.ParseError || !strings.Contains(strings.Join(r.SQL.Operations, ","), "DROP TABLE") {
		t.Errorf("NUL text: %+v", r.SQL)
	}
	big := "SELECT 1; " + strings.Repeat("-- padding\n", 200000) + "DROP TABLE t"
	if r := c.Classify(big); !r.SQL.ParseError || r.SQL.Operations[len(r.SQL.Operations)-1] != "DROP TABLE" {
		t.Errorf("oversized text: %+v", r.SQL)
	}
}

func TestCacheBounded(t *testing.T) {
	c := New(Options{CacheSize: 1000})
	for i := range 5000 {
		c.Classify(fmt.Sprintf("SELECT col%d FROM t", i))
	}
	if n := c.cache.Len(); n > 1000+shapecache.Shards {
		t.Errorf("cache holds %d entries", n)
	}
}

func TestConcurrent(t *testing.T) {
	c := New(Options{CacheSize: 200})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				k := cases[(i*7+g)%len(cases)]
				r := c.Classify(k.q)
				if r.Operation != k.op {
					t.Errorf("%q: %q", k.q, r.Operation)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// Collisions the fuzzer found (texts that shared a cache key but classify
// differently): each pair must now get distinct keys.
func TestKeyDistinguishes(t *testing.T) {
	for _, p := range [][2]string{
		{"CREATE ROLE a LOGIN PASSWORD 0", "CREATE ROLE a LOGIN PASSWORD 'x'"}, // number vs string
		{"SELECT A.d, A B'' O", "SELECT A.d, A '' O"},                          // bit string vs string
		{"SELECT 1 WHERE d = $AND 0=0", "SELECT 1 WHERE d =$1AND 1=1"},         // lone $ vs parameter
		{"SELECT! 0FROM t", "SELECT!0 FROM t"},                                 // trailing junk after number
		{"SELECT#0#0B", "SELECT#0#0"},                                          // malformed binary literal
		{"REVOKe\"AL ;", "REVOKe\"AL"},                                         // ';' inside an open identifier
		{"SELECT +1WHERE n<0", "SELECT 00 WHERE n<0"},                          // junk after a signed number
		{"--\r0", ""},                          // \r ends a line comment
		{"SELECT 'a' 'b'", "SELECT 'a' & 'b'"}, // adjacency marker vs operator
		{"SELECT 'a' 'b'", "SELECT 'a'\n'b'"},  // continuation needs a newline
		{"SELECT $1abc", "SELECT $1 abc"},      // junk after parameter
		{"CREATE ROLE r CONNECTION LIMIT 1.5", "CREATE ROLE r CONNECTION LIMIT 1"},
		{`SELECT E'\u00'`, "SELECT 'a'"},     // escapes checked by the scanner
		{"SELECT ?", "SELECT 1"},             // operator vs number
		{"SELECT \x01& 1", "SELECT 'a' 'b'"}, // raw control byte vs marker
		{"EXPLAIN (ANALYZE 0) DELETE FROM t", "EXPLAIN (ANALYZE 1) DELETE FROM t"},
		{"SELECT a - -1", "SELECT a - 1"}, // the nesting guard counts operators
		{`SELECT "set_config"('a', 'b', false)`, `SELECT "set_config"('c', 'd', false)`},
	} {
		if string(appendKey(nil, p[0])) == string(appendKey(nil, p[1])) {
			t.Errorf("same key for %q and %q: %q", p[0], p[1], appendKey(nil, p[0]))
		}
	}
}

// Every word wordClass knows passes the wcCandidate prefilter.
func TestClassWordsInSync(t *testing.T) {
	for _, w := range classWords {
		if wordClass([]byte(w)) == 0 || !wcCandidate(w) || !wcCandidate(strings.ToUpper(w)) {
			t.Errorf("class word %q: class %d, candidate %v", w, wordClass([]byte(w)), wcCandidate(w))
		}
	}
	n := 0
	for _, w := range strings.Fields(`or in values set copy reset alter load explain do create
		function procedure language replace trusted procedural password connection set_config lo_export lo_import
		query_to_xml query_to_xmlschema query_to_xml_and_xmlschema ts_stat pg_file_write`) {
		if wordClass([]byte(w)) != 0 {
			n++
		}
	}
	if n != len(classWords) {
		t.Errorf("wordClass knows %d words, classWords lists %d", n, len(classWords))
	}
}
