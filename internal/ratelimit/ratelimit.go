// Package ratelimit owns per-client token buckets held in memory: the
// per-address and per-contact limits of the intake gate, the forms' post
// limits and the editors' failed-token throttle all use it.
//
// Memory is bounded by design: at most MaxKeys buckets are kept, in a
// least-recently-used list, and a new key past the bound takes the place
// of the least recently used one — O(1), no scan under the lock. A flood
// from more addresses than that can push an idle client's bucket out (it
// comes back full); the clients that are flooding keep theirs, because
// they are the recently used ones. Each process limits on its own; the
// cluster-wide bound is the intake gate's shared quota (internal/admission).
//
// It imports nothing of ours.
package ratelimit

import (
	"container/list"
	"sync"
	"time"
)

// Limit is a token bucket's shape: Burst tokens at once, then one more
// each Every. A Limit with Burst <= 0 or Every <= 0 limits nothing.
type Limit struct {
	Burst int
	Every time.Duration
}

// Per makes the Limit of n tokens per window: n at once, refilled evenly
// over the window.
func Per(n int, window time.Duration) Limit {
	if n <= 0 || window <= 0 {
		return Limit{}
	}
	return Limit{Burst: n, Every: window / time.Duration(n)}
}

// Unlimited reports whether the limit lets everything through.
func (l Limit) Unlimited() bool { return l.Burst <= 0 || l.Every <= 0 }

// DefaultMaxKeys bounds the buckets of one Keyed when New is given 0.
const DefaultMaxKeys = 100_000

// Keyed keeps one token bucket per key. Safe for concurrent use.
type Keyed[K comparable] struct {
	lim     Limit
	maxKeys int

	mu   sync.Mutex
	byID map[K]*list.Element // of *bucket[K]
	lru  list.List           // front: most recently used
}

type bucket[K comparable] struct {
	key    K
	tokens float64
	last   time.Time
}

// New returns buckets of limit l, at most maxKeys of them
// (DefaultMaxKeys when 0).
func New[K comparable](l Limit, maxKeys int) *Keyed[K] {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Keyed[K]{lim: l, maxKeys: maxKeys, byID: map[K]*list.Element{}}
}

// Limit is the shape of the buckets.
func (k *Keyed[K]) Limit() Limit { return k.lim }

// bucket returns key's bucket refilled to now, creating it (full) when
// missing; k.mu is held.
func (k *Keyed[K]) bucket(key K, now time.Time) *bucket[K] {
	if e, ok := k.byID[key]; ok {
		k.lru.MoveToFront(e)
		b := e.Value.(*bucket[K])
		if d := now.Sub(b.last); d > 0 {
			b.tokens = min(float64(k.lim.Burst), b.tokens+float64(d)/float64(k.lim.Every))
			b.last = now
		}
		return b
	}
	var b *bucket[K]
	if k.lru.Len() >= k.maxKeys {
		// Reuse the least recently used bucket for the new key.
		e := k.lru.Back()
		b = e.Value.(*bucket[K])
		delete(k.byID, b.key)
		k.lru.MoveToFront(e)
		*b = bucket[K]{key: key, tokens: float64(k.lim.Burst), last: now}
		k.byID[key] = e
		return b
	}
	b = &bucket[K]{key: key, tokens: float64(k.lim.Burst), last: now}
	k.byID[key] = k.lru.PushFront(b)
	return b
}

// Take takes n tokens from key's bucket, all or none. When it cannot, it
// says how long until n tokens are there (for Retry-After); n larger than
// the burst can never be taken and waits for a whole burst.
func (k *Keyed[K]) Take(key K, n int, now time.Time) (bool, time.Duration) {
	if k.lim.Unlimited() || n <= 0 {
		return true, 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	b := k.bucket(key, now)
	if b.tokens >= float64(n) {
		b.tokens -= float64(n)
		return true, 0
	}
	if n > k.lim.Burst {
		return false, time.Duration(k.lim.Burst) * k.lim.Every
	}
	return false, time.Duration((float64(n) - b.tokens) * float64(k.lim.Every))
}

// Give returns n tokens taken for something that did not happen (a
// submission that appended nothing), up to the burst.
func (k *Keyed[K]) Give(key K, n int) {
	if k.lim.Unlimited() || n <= 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if e, ok := k.byID[key]; ok {
		b := e.Value.(*bucket[K])
		b.tokens = min(float64(k.lim.Burst), b.tokens+float64(n))
	}
}

// Empty reports whether key's bucket holds less than one token now, and
// how long until it holds one; it takes nothing. Throttles that count
// failures use it: a failure Takes, a request checks Empty.
func (k *Keyed[K]) Empty(key K, now time.Time) (bool, time.Duration) {
	if k.lim.Unlimited() {
		return false, 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.byID[key]
	if !ok {
		return false, 0
	}
	b := e.Value.(*bucket[K])
	tokens := min(float64(k.lim.Burst), b.tokens+float64(now.Sub(b.last))/float64(k.lim.Every))
	if tokens >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - tokens) * float64(k.lim.Every))
}

// Len is the number of buckets held.
func (k *Keyed[K]) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lru.Len()
}
