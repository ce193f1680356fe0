package shapecache

import (
	"strings"
	"testing"
)

func TestDo(t *testing.T) {
	c := New[*string](Shards * 2)
	calls := 0
	key := func(dst []byte, text string) []byte { return append(dst, strings.ToLower(text)...) }
	compute := func(text string) *string { calls++; s := text; return &s }
	a := c.Do("SELECT 1", key, compute)
	b := c.Do("select 1", key, compute) // same shape: the first text's value
	if calls != 1 || a != b || *b != "SELECT 1" {
		t.Fatalf("same shape computed %d times (%q, %q)", calls, *a, *b)
	}
	if c.Do("SELECT 2", key, compute); calls != 2 {
		t.Fatalf("a new shape was not computed")
	}
	for i := range 10000 {
		c.Do(strings.Repeat("x", i%500)+string(rune('a'+i%26)), key, compute)
	}
	if n := c.Len(); n > Shards*2 {
		t.Fatalf("%d entries in a cache of %d", n, Shards*2)
	}
}
