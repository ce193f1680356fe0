package mysql

import (
	"fmt"
	"testing"
)

var benchMix = []string{
	"SELECT * FROM customers WHERE id = 42",
	"INSERT INTO orders (id, customer_id, total) VALUES (1, 2, 10.5)",
	"UPDATE customers SET email = 'x@example.com' WHERE id = 7",
	"DELETE FROM sessions WHERE expires < NOW()",
	"GRANT SELECT, INSERT ON shop.* TO 'app'@'10.0.0.%'",
	"CREATE USER 'svc'@'%' IDENTIFIED BY *****",
	"SET GLOBAL server_audit_logging = OFF",
	"SELECT * FROM customers INTO OUTFILE '/tmp/x.csv'",
	"DROP TABLE t3",
	"CREATE FUNCTION sys_exec RETURNS INTEGER SONAME 'lib_mysqludf_sys.so'",
	"SELECT * FROM customers WHERE id=1 OR 1=1 UNION SELECT user,password,host,plugin FROM mysql.user",
}

// BenchmarkClassifyCached: the steady state (shapes repeat, literals vary).
func BenchmarkClassifyCached(b *testing.B) {
	c := New(Options{})
	for _, s := range benchMix {
		c.Classify(s)
	}
	b.ResetTimer()
	for i := range b.N {
		c.Classify(benchMix[i%len(benchMix)])
	}
}

// BenchmarkClassifyUncached: every statement parsed (cache misses).
func BenchmarkClassifyUncached(b *testing.B) {
	c := New(Options{CacheSize: -1})
	for i := range b.N {
		c.Classify(benchMix[i%len(benchMix)])
	}
}

// BenchmarkClassifyDistinct: new literals in every statement of a shape
// that keeps them (SET) — the miss path with the key computation.
func BenchmarkClassifyDistinct(b *testing.B) {
	c := New(Options{})
	for i := range b.N {
		c.Classify(fmt.Sprintf("SET GLOBAL max_connections = %d", i))
	}
}
