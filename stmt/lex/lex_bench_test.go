package lex

import "testing"

const benchStmt = "UPDATE pgbench_accounts SET abalance = abalance + -4152 WHERE aid = 76452;"

func BenchmarkNext(b *testing.B) {
	n := 0
	for b.Loop() {
		lx := New(benchStmt)
		for t := lx.Next(); t.Kind != EOF; t = lx.Next() {
			n++
		}
	}
	_ = n
}
