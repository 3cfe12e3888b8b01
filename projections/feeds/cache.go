package feeds

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/httpcache"
)

// The cache of prepared answers: every feed and every read-API list is
// made once per change of what it holds and served from memory, within
// Config.CacheBytes (httpcache.LRU: least recently requested dropped first,
// in O(1), no scan under a lock but the invalidation after a change). The
// budget is split in two halves: the feeds everybody polls, and what
// anyone can make up, so that made-up queries only ever push out each
// other.
//
// What is cached, and what is only rendered:
//   - the feeds everybody polls — the whole calendar, a topic, a state, one
//     conference (only published ones exist) — are kept from their first
//     request;
//   - feeds and lists that anyone can make up (a keyword query, a sponsor
//     name, a combination, a read-API query) are kept from their second
//     request (httpcache.Doorkeeper): a subscriber's second poll keeps
//     them, while a flood of unique queries renders each once and pushes
//     nothing out;
//   - renders that search the conferences' text run at most heavyRenders()
//     at once; the others wait for their turn (or their client's patience),
//     so that such a flood takes a bounded share of the processors and the
//     polls of cached feeds keep their latency.
//
// A cached answer's size is the capacity of its bodies plus
// httpcache.EntryOverhead (httpcache.EntrySize); docs/performance.md gives
// how it compares with the process's memory.

// doorkeeperKeys is how many recent made-up queries are remembered (twice
// this, as 8-byte hashes: about 1 MiB).
const doorkeeperKeys = 32 << 10

// heavyRenders is how many text-searching renders run at once: half the
// processors, at least one.
func heavyRenders() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// alwaysKept reports whether an answer of this kind is cached from its
// first request: there are few of them (the whole calendar, a
// conference's, one per term of a facet), and many poll each.
func alwaysKept(kind string) bool {
	if _, facet := domain.FacetByParam(kind); facet {
		return true
	}
	return kind == "all" || kind == "conference"
}

// errBusy answers a text-searching request that waited too long for its
// turn.
var errBusy = &httpapi.Error{Status: http.StatusServiceUnavailable, Title: "Busy",
	Detail: "too many searches at once; try again in a moment", RetryAfter: 2}

// heavyWait bounds how long a text-searching request waits for its turn.
const heavyWait = 5 * time.Second

// prepare returns the answer under key, cached or made by render now.
// Concurrent requests for one key wait for one render. f is the answer's
// filter (what changes drop it), kind its metrics label; keepFirst keeps
// it from its first request, else from its second.
func (s *Server) prepare(ctx context.Context, key string, f Filter, kind string, keepFirst bool, cut time.Time,
	render func() (*httpcache.Entry, error)) (*slot, *httpcache.Entry, error) {
	s.mu.Lock()
	if !cut.Equal(s.cacheDay) {
		// A new day: the window moved, every feed may have changed.
		s.cache.Clear()
		s.made.Clear()
		s.cacheDay = cut
		s.gen++
	}
	cache := s.made
	if keepFirst {
		cache = s.cache
	}
	if sl, ok := cache.Get(key); ok {
		s.mu.Unlock()
		return sl, sl.entry.Load(), nil
	}
	if sl, ok := s.inflight[key]; ok {
		s.mu.Unlock()
		select {
		case <-sl.ready:
			return sl, sl.entry.Load(), sl.err
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	sl := &slot{key: key, cache: cache, filter: f, kind: kind, disposition: []string{`inline; filename="` + f.fileName() + `"`},
		served: s.metrics.requests.WithLabelValues(kind, "200"), notModified: s.metrics.requests.WithLabelValues(kind, "304"),
		ready: make(chan struct{})}
	s.inflight[key] = sl
	gen := s.gen
	s.mu.Unlock()

	e, err := s.renderTurn(ctx, f, kind, render)
	sl.err = err
	if err == nil {
		sl.entry.Store(e)
	}
	keep := err == nil && (keepFirst || s.door.Seen(key))
	s.mu.Lock()
	delete(s.inflight, key)
	keep = keep && gen == s.gen // a change during the render: serve it, keep nothing
	if keep {
		cache.Put(key, sl, httpcache.EntrySize(key, e)+slotOverhead)
	}
	s.mu.Unlock()
	close(sl.ready)
	s.metrics.cacheBytes.Set(float64(s.cacheBytes()))
	if keep && e.Gzip == nil && len(e.Body) >= gzipLater {
		go s.compress(sl, e) // served as is until then
	}
	return sl, e, err
}

// slotOverhead is a slot's own memory besides its entry: the struct, its
// Content-Disposition and filter.
const slotOverhead = 576

// renderTurn runs render, waiting for a turn when it searches text.
func (s *Server) renderTurn(ctx context.Context, f Filter, kind string, render func() (*httpcache.Entry, error)) (*httpcache.Entry, error) {
	if len(f.Words) > 0 {
		t := time.NewTimer(heavyWait)
		defer t.Stop()
		select {
		case s.heavy <- struct{}{}:
			defer func() { <-s.heavy }()
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
			s.metrics.busy.Inc()
			return nil, errBusy
		}
	}
	start := time.Now()
	e, err := render()
	s.metrics.render.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	return e, err
}

// compress adds the gzip form of a large feed, unless the feed changed or
// left the cache meanwhile. Until then the feed is served as is, which a
// client that accepts gzip must accept too (RFC 9110 §12.5.3).
func (s *Server) compress(sl *slot, plain *httpcache.Entry) {
	gz := plain.WithGzip()
	if sl.entry.CompareAndSwap(plain, gz) {
		sl.cache.Resize(sl.key, func(v *slot) bool { return v == sl }, httpcache.EntrySize(sl.key, gz)+slotOverhead)
		s.metrics.cacheBytes.Set(float64(s.cacheBytes()))
	}
}

// cacheBytes is what both halves of the cache hold.
func (s *Server) cacheBytes() int64 { return s.cache.Bytes() + s.made.Bytes() }

// isBusy reports whether err is a refusal for lack of a render turn.
func isBusy(err error) bool { return errors.Is(err, errBusy) }
