package pgsql

import (
	"strconv"
	"testing"

	"github.com/vigildb/vigil/event"
	"github.com/vigildb/vigil/stmt/mask"
)

const benchStmt = "UPDATE pgbench_accounts SET abalance = abalance + -4152 WHERE aid = 76452;"

var sinkResult *Result

// BenchmarkClassifyHit: lexer pass + cache lookup for a repeated shape with
// new literal values each time.
func BenchmarkClassifyHit(b *testing.B) {
	c := New(Options{})
	c.Classify(benchStmt)
	texts := make([]string, 64)
	for i := range texts {
		texts[i] = "UPDATE pgbench_accounts SET abalance = abalance + -" + strconv.Itoa(1000+i*37) + " WHERE aid = " + strconv.Itoa(70000+i*911) + ";"
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		sinkResult = c.Classify(texts[i&63])
		i++
	}
}

// BenchmarkApplyHit: what the pipeline pays per event on a hit: masking
// fast path, classification hit and filling the event.
func BenchmarkApplyHit(b *testing.B) {
	c := New(Options{})
	c.Classify(benchStmt)
	var ev event.Event
	b.ReportAllocs()
	for b.Loop() {
		ev = event.Event{}
		ev.DB.Query.Text = benchStmt
		c.Apply(&ev)
	}
}

func BenchmarkClassifyHitParallel(b *testing.B) {
	c := New(Options{})
	c.Classify(benchStmt)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sinkResult = c.Classify(benchStmt)
		}
	})
}

// BenchmarkClassifyMiss: a new statement shape every time (parse + walk +
// summary), cache disabled.
func BenchmarkClassifyMiss(b *testing.B) {
	c := New(Options{CacheSize: -1})
	b.ReportAllocs()
	for b.Loop() {
		sinkResult = c.Classify(benchStmt)
	}
}

func BenchmarkClassifyMissDDL(b *testing.B) {
	c := New(Options{CacheSize: -1})
	s := "CREATE ROLE alice LOGIN CREATEDB PASSWORD 'x' IN ROLE app;"
	b.ReportAllocs()
	for b.Loop() {
		sinkResult = c.Classify(s)
	}
}

func BenchmarkClassifyMissDO(b *testing.B) {
	c := New(Options{CacheSize: -1})
	s := "DO $$ BEGIN EXECUTE 'CREATE TABLE dyn' || '_table (id int)'; END $$;"
	b.ReportAllocs()
	for b.Loop() {
		sinkResult = c.Classify(s)
	}
}

var sinkString string

func BenchmarkMaskClean(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkString = mask.SQL(benchStmt)
	}
}

func BenchmarkMaskSecret(b *testing.B) {
	s := "CREATE ROLE alice LOGIN PASSWORD 'AlicePass123!' VALID UNTIL '2030-01-01';"
	b.ReportAllocs()
	for b.Loop() {
		sinkString = mask.SQL(s)
	}
}

func BenchmarkKey(b *testing.B) {
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendKey(buf[:0], benchStmt)
	}
}

// bench150 is a typical 150-byte application statement.
const bench150 = "SELECT a.id, a.name, b.total FROM accounts a JOIN balances b ON b.account_id = a.id WHERE a.status = 'active' AND b.total > 1000 ORDER BY b.total DESC LIMIT 50"

func BenchmarkClassifyHit150(b *testing.B) {
	c := New(Options{})
	c.Classify(bench150)
	b.ReportAllocs()
	for b.Loop() {
		sinkResult = c.Classify(bench150)
	}
}

func BenchmarkApplyHit150(b *testing.B) {
	c := New(Options{})
	c.Classify(bench150)
	var ev event.Event
	b.ReportAllocs()
	for b.Loop() {
		ev = event.Event{}
		ev.DB.Query.Text = bench150
		c.Apply(&ev)
	}
}
