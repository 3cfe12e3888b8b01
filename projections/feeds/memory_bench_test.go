package feeds

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/httpcache"
)

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// BenchmarkFeedServerMemory states the memory a feed server needs per
// 1,000 published conferences: the replica's records (here the same
// records in a map, as engine.Replica holds them), the prepared VEVENTs
// and index, the whole calendar's feed with its gzip form, a topic feed and
// the read API's first page — the heap in use after a collection, with
// nothing else in it. Pending submissions never reach a feed server
// (projections/calendar), so this is all its calendar needs.
//
//	go test -run '^$' -bench FeedServerMemory -benchtime 1x ./projections/feeds/
func BenchmarkFeedServerMemory(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				cs := conferences(b, n)
				before := heapInUse()
				src := newSource(cs...)
				s := newServer(b, src)
				e, err := s.Feed(Filter{}, fixedNow)
				if err != nil {
					b.Fatal(err)
				}
				gz := e.WithGzip()
				if _, err := s.Feed(Facet("topic", "courts"), fixedNow); err != nil {
					b.Fatal(err)
				}
				if _, _, err := s.prepare(context.Background(), "api|all", Filter{}, "api", true, s.cutoff(fixedNow),
					func() (*httpcache.Entry, error) { return s.renderList(Filter{}, s.cutoff(fixedNow)) }); err != nil {
					b.Fatal(err)
				}
				after := heapInUse()
				runtime.KeepAlive(src)
				runtime.KeepAlive(s)
				runtime.KeepAlive(gz)
				per := float64(after-before) / float64(n) * 1000
				b.ReportMetric(per, "bytes/1k-published")
				b.Logf("%d published conferences: %.1f MiB in use, %.2f MiB per 1,000 (feed %d bytes, gzip %d)",
					n, float64(after-before)/(1<<20), per/(1<<20), len(e.Body), len(gz.Gzip))
			}
		})
	}
}

// BenchmarkCacheAccounting compares the feed cache's own count of its
// bytes (jevents_feed_cache_bytes, the budget's measure) with the heap its
// answers really take: the cache is filled to its budget with query feeds
// of 1,000 conferences (small and large ones), then the heap in use is
// measured with and without them.
//
//	go test -run '^$' -bench CacheAccounting -benchtime 1x ./projections/feeds/
func BenchmarkCacheAccounting(b *testing.B) {
	cs := conferences(b, 1_000)
	src := newSource(cs...)
	for b.Loop() {
		for _, words := range [][]string{{"number", "1"}, {"zzz"}} { // large feeds, empty ones
			s := newServer(b, src)
			s.made = httpcache.NewLRU[*slot](32<<20, nil)
			if _, err := s.Feed(Filter{}, fixedNow); err != nil { // the index and prepared VEVENTs
				b.Fatal(err)
			}
			s.made.Clear()
			before := heapInUse()
			for i := 0; s.made.Bytes() < 30<<20 && i < 200_000; i++ {
				f := Filter{Words: append([]string{fmt.Sprint("x", i)}, words...)}
				f.Words = f.Words[1:]
				f.Words = append(f.Words, "", strconv.Itoa(i))[:len(words)]
				f.Sponsors = []string{"s" + strconv.Itoa(i)} // unique, and matching nothing for the empty kind
				if words[0] != "zzz" {
					f.Sponsors = nil
					f.Terms = map[string][]string{"region": {[]string{"MD", "NY", "CA", "TX", "IL", "DC", "PA", "WA", "GA", "OH"}[i%10]}}
					f.Words = []string{"number", strconv.Itoa(i % 97)}
				}
				for range 2 { // kept from the second request
					if _, err := s.Feed(f, fixedNow); err != nil {
						b.Fatal(err)
					}
				}
				time.Sleep(0)
			}
			time.Sleep(100 * time.Millisecond) // background gzip forms
			accounted := s.made.Bytes()
			after := heapInUse()
			runtime.KeepAlive(s)
			ratio := float64(after-before) / float64(accounted)
			b.ReportMetric(ratio, "heap/accounted")
			b.Logf("%s feeds: %d cached, accounted %.1f MiB, heap %.1f MiB: heap/accounted %.2f",
				map[bool]string{true: "empty", false: "large"}[words[0] == "zzz"], s.made.Len(),
				float64(accounted)/(1<<20), float64(after-before)/(1<<20), ratio)
		}
	}
}

// BenchmarkReadAPI measures GET /api/v1/conferences over 25,000 published
// conferences (issue 10 measured 229–719 ms of CPU per request there):
//
//   - unique: a keyword query nobody asked before (not cached): a pass over
//     the prepared index, its search text made once per conference;
//
//   - repeated: the same query again (kept from its second request);
//
//   - topic: a facet, cached from its first request.
//
//     go test -run '^$' -bench ReadAPI -benchtime 200x ./projections/feeds/
func BenchmarkReadAPI(b *testing.B) {
	s := newServer(b, newSource(conferences(b, 25_000)...))
	mux := http.NewServeMux()
	_ = httpapi.Handle(mux, s.Routes(nil), nil, nil) // public routes only
	get := func(b *testing.B, path string) {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != 200 {
			b.Fatalf("%s: %d", path, w.Code)
		}
	}
	get(b, "/api/v1/conferences") // the index, prepared once per change
	b.Run("unique", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			get(b, "/api/v1/conferences?q=courts+"+strconv.Itoa(i))
		}
	})
	b.Run("unique-wide", func(b *testing.B) { // a word in every conference: 500 items to encode
		i := 0
		for b.Loop() {
			i++
			get(b, "/api/v1/conferences?q=conference&region="+[]string{"MD", "NY", "CA", "TX", "IL"}[i%5]+"&sponsor=Sponsor+"+strconv.Itoa(i))
		}
	})
	b.Run("repeated", func(b *testing.B) {
		get(b, "/api/v1/conferences?q=reentry")
		for b.Loop() {
			get(b, "/api/v1/conferences?q=reentry")
		}
	})
	b.Run("topic", func(b *testing.B) {
		for b.Loop() {
			get(b, "/api/v1/conferences?topic=courts")
		}
	})
}
