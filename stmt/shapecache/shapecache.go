// Package shapecache is the classifiers' result cache: a bounded, sharded
// map from a 128-bit hash of a statement's shape (its literal-stripped
// lexer key) to a shared, read-only result. stmt/pgsql and stmt/mysql keep
// their results in one each.
package shapecache

import (
	"hash/maphash"
	"sync"
)

// Cache is a bounded, sharded map from a 128-bit hash of the normalized key
// to a shared, read-only V (a pointer to a classification result).
//
// Why a hash and not the key itself: the map then holds fixed-size keys, so
// memory is bounded by the entry count whatever the statement size, and a
// lookup needs no string allocation. Two random per-process seeds make the
// 128-bit value unpredictable, so nobody can craft colliding statements.
//
// Why shards with RWMutex: hits take a read lock on one of 64 shards, so
// concurrent classifiers do not serialize on one lock; misses are rare and
// take the shard's write lock. Eviction is random (Go map iteration order),
// which is cheap and good enough for a workload dominated by a small set of
// repeating statement shapes.
type Cache[V any] struct {
	seed1, seed2 maphash.Seed
	perShard     int
	shards       [Shards]shard[V]
}

// Shards is the number of shards; a cache holds at most its size rounded
// up to a multiple of it.
const Shards = 64

// Key is the 128-bit hash of a statement's shape.
type Key [2]uint64

type shard[V any] struct {
	mu sync.RWMutex
	m  map[Key]V
	_  [40]byte // keep shards on separate cache lines
}

// New returns a cache of about size entries.
func New[V any](size int) *Cache[V] {
	c := &Cache[V]{seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed()}
	c.perShard = max(1, (size+Shards-1)/Shards)
	for i := range c.shards {
		c.shards[i].m = make(map[Key]V, min(c.perShard, 256))
	}
	return c
}

// Hash is the key of a shape.
func (c *Cache[V]) Hash(key []byte) Key {
	return Key{maphash.Bytes(c.seed1, key), maphash.Bytes(c.seed2, key)}
}

// Get returns the value of k, or V's zero value.
func (c *Cache[V]) Get(k Key) V {
	s := &c.shards[k[0]%Shards]
	s.mu.RLock()
	r := s.m[k]
	s.mu.RUnlock()
	return r
}

// Put stores v under k, evicting a random entry of a full shard.
func (c *Cache[V]) Put(k Key, r V) {
	s := &c.shards[k[0]%Shards]
	s.mu.Lock()
	if _, ok := s.m[k]; !ok && len(s.m) >= c.perShard {
		for old := range s.m {
			delete(s.m, old)
			break
		}
	}
	s.m[k] = r
	s.mu.Unlock()
}

// Len returns the number of cached entries (for tests and metrics).
func (c *Cache[V]) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// Do returns the cached value for text's shape, computing and caching it
// on a miss. key appends the shape key of text to dst (a pooled buffer).
func (c *Cache[V]) Do(text string, key func(dst []byte, text string) []byte, compute func(string) V) V {
	bp := keyPool.Get().(*[]byte)
	k := key((*bp)[:0], text)
	h := c.Hash(k)
	if cap(k) <= 64<<10 {
		*bp = k
	}
	keyPool.Put(bp)
	s := &c.shards[h[0]%Shards]
	s.mu.RLock()
	v, ok := s.m[h]
	s.mu.RUnlock()
	if ok {
		return v
	}
	v = compute(text)
	c.Put(h, v)
	return v
}

var keyPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
