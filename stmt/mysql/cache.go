package mysql

import (
	"hash/maphash"
	"sync"
)

// cache is a bounded, sharded map from a 128-bit hash of the normalized key
// to a shared, read-only *Result.
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
type cache struct {
	seed1, seed2 maphash.Seed
	perShard     int
	shards       [numShards]shard
}

const numShards = 64

type hkey [2]uint64

type shard struct {
	mu sync.RWMutex
	m  map[hkey]*Result
	_  [40]byte // keep shards on separate cache lines
}

func newCache(size int) *cache {
	c := &cache{seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed()}
	c.perShard = max(1, (size+numShards-1)/numShards)
	for i := range c.shards {
		c.shards[i].m = make(map[hkey]*Result, min(c.perShard, 256))
	}
	return c
}

func (c *cache) hash(key []byte) hkey {
	return hkey{maphash.Bytes(c.seed1, key), maphash.Bytes(c.seed2, key)}
}

func (c *cache) get(k hkey) *Result {
	s := &c.shards[k[0]%numShards]
	s.mu.RLock()
	r := s.m[k]
	s.mu.RUnlock()
	return r
}

func (c *cache) put(k hkey, r *Result) {
	s := &c.shards[k[0]%numShards]
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

// len returns the number of cached entries (for tests and metrics).
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
