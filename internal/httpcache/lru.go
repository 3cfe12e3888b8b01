package httpcache

import (
	"container/list"
	"hash/maphash"
	"sync"
)

// LRU holds prepared answers within a byte budget, least recently used
// dropped first. Every operation is O(1) — a map and a list, no scan under
// the lock — but Range, which the caller uses to invalidate. Sizes are the
// caller's estimate of each value's memory (EntrySize). Safe for
// concurrent use.
type LRU[V any] struct {
	budget  int64
	onEvict func(key string, v V)

	mu    sync.Mutex
	byKey map[string]*list.Element // of *lruItem[V]
	order list.List                // front: most recently used
	bytes int64
}

type lruItem[V any] struct {
	key  string
	v    V
	size int64
}

// NewLRU returns a cache of budget bytes; onEvict, when not nil, is called
// (with the lock held: it must not call back) for each value dropped to
// make room.
func NewLRU[V any](budget int64, onEvict func(key string, v V)) *LRU[V] {
	return &LRU[V]{budget: budget, onEvict: onEvict, byKey: map[string]*list.Element{}}
}

// Get returns the value under key and marks it used.
func (c *LRU[V]) Get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruItem[V]).v, true
}

// Put stores v under key with its size, replacing what was there, and
// drops the least recently used values until the cache fits its budget
// (never v itself). A value larger than the budget is not stored.
func (c *LRU[V]) Put(key string, v V, size int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.removeLocked(e)
	}
	if size > c.budget {
		return false
	}
	it := &lruItem[V]{key: key, v: v, size: size}
	c.byKey[key] = c.order.PushFront(it)
	c.bytes += size
	for c.bytes > c.budget {
		back := c.order.Back()
		if back == nil || back.Value.(*lruItem[V]) == it {
			break
		}
		old := back.Value.(*lruItem[V])
		c.removeLocked(back)
		if c.onEvict != nil {
			c.onEvict(old.key, old.v)
		}
	}
	return true
}

// Resize changes the size of the value under key, if it is still there
// (a feed whose gzip form was added), evicting others to fit.
func (c *LRU[V]) Resize(key string, match func(V) bool, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok || !match(e.Value.(*lruItem[V]).v) {
		return
	}
	it := e.Value.(*lruItem[V])
	c.bytes += size - it.size
	it.size = size
	for c.bytes > c.budget {
		back := c.order.Back()
		if back == nil || back == e {
			break
		}
		old := back.Value.(*lruItem[V])
		c.removeLocked(back)
		if c.onEvict != nil {
			c.onEvict(old.key, old.v)
		}
	}
}

// Remove drops the value under key.
func (c *LRU[V]) Remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.removeLocked(e)
	}
}

func (c *LRU[V]) removeLocked(e *list.Element) {
	it := e.Value.(*lruItem[V])
	delete(c.byKey, it.key)
	c.order.Remove(e)
	c.bytes -= it.size
}

// RemoveIf drops every value for which drop says so: O(values), for
// invalidation after a change (which the caller bounds by the number of
// values the budget admits).
func (c *LRU[V]) RemoveIf(drop func(key string, v V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.order.Front(); e != nil; {
		next := e.Next()
		it := e.Value.(*lruItem[V])
		if drop(it.key, it.v) {
			c.removeLocked(e)
		}
		e = next
	}
}

// Clear drops everything.
func (c *LRU[V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.byKey)
	c.order.Init()
	c.bytes = 0
}

// Bytes is the sum of the sizes held, and Len the number of values.
func (c *LRU[V]) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// Len: see Bytes.
func (c *LRU[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byKey)
}

// EntryOverhead is what an Entry costs beyond its bodies: the struct, its
// ETag and Last-Modified strings, the cache's map entry, list element and
// key header, measured (BenchmarkCacheAccounting in projections/feeds).
const EntryOverhead = 640

// EntrySize estimates the memory an Entry holds: the capacity of its
// bodies (what the allocator reserved, not only their length), its key
// and EntryOverhead.
func EntrySize(key string, e *Entry) int64 {
	if e == nil {
		return int64(len(key) + EntryOverhead)
	}
	return int64(cap(e.Body) + cap(e.Gzip) + len(key) + len(e.ContentType) + len(e.CacheControl) + EntryOverhead)
}

// Doorkeeper remembers which keys were asked for recently, so that a
// cache admits what is asked for twice and not what is asked for once
// (a flood of unique queries renders, but does not fill the cache nor push
// out what others poll). It remembers up to 2×Size keys as 8-byte hashes,
// forgetting the older half when full. Safe for concurrent use.
type Doorkeeper struct {
	size int
	seed maphash.Seed

	mu        sync.Mutex
	cur, prev map[uint64]struct{}
}

// NewDoorkeeper remembers up to 2×size keys.
func NewDoorkeeper(size int) *Doorkeeper {
	return &Doorkeeper{size: size, seed: maphash.MakeSeed(), cur: map[uint64]struct{}{}, prev: map[uint64]struct{}{}}
}

// Seen records key and reports whether it was asked for before.
func (d *Doorkeeper) Seen(key string) bool {
	h := maphash.String(d.seed, key)
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.cur[h]; ok {
		return true
	}
	_, seen := d.prev[h]
	if len(d.cur) >= d.size {
		d.prev, d.cur = d.cur, make(map[uint64]struct{}, d.size)
	}
	d.cur[h] = struct{}{}
	return seen
}
