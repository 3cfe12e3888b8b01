package feeds

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/justiceevents/jevents/internal/httpcache"
	"github.com/justiceevents/jevents/projections/calendar"
)

// The public conferences, prepared once per change: soonest first, with
// their start and end read once and their search text made on first use.
// Feeds and the read API filter this list instead of ranging over the
// replica and sorting per request; the answers themselves are cached
// (cache.go).

// pubIndex is the public conferences of one generation of changes.
type pubIndex struct {
	gen  uint64
	list []*listed
	// last is the latest Updated of any public conference (a feed's
	// Last-Modified).
	last time.Time
}

// listed is one public conference with what filters and feeds need.
type listed struct {
	c    calendar.Conference
	p    *prepared
	text atomic.Pointer[string] // SearchText, made on first use
}

// searchText is the conference's SearchText, made once per version.
func (l *listed) searchText() *string {
	if t := l.text.Load(); t != nil {
		return t
	}
	t := SearchText(l.c)
	l.text.Store(&t)
	return &t
}

// matches reports whether the listed conference is in f.
func (f Filter) matches(l *listed) bool {
	if len(f.Words) == 0 {
		return f.match(l.c, nil)
	}
	// Facets first: they are cheaper than the text.
	words := f.Words
	f.Words = nil
	return f.match(l.c, nil) && Filter{Words: words}.match(l.c, l.searchText())
}

// publicIndex returns the index of the current generation, building it on
// first use after a change.
func (s *Server) publicIndex() *pubIndex {
	s.mu.Lock()
	gen := s.gen
	s.mu.Unlock()
	if ix := s.index.Load(); ix != nil && ix.gen == gen {
		return ix
	}
	ix := &pubIndex{gen: gen}
	s.src.Range(func(_ string, c calendar.Conference) bool {
		if c.Public() {
			ix.list = append(ix.list, &listed{c: c})
			if c.Updated.After(ix.last) {
				ix.last = c.Updated
			}
		}
		return true
	})
	kept := ix.list[:0]
	for _, l := range ix.list {
		l.p = s.prepared.times(l.c)
		if l.p.err != nil {
			s.block(l.c, l.p) // logs it once; it stays out of feeds
			continue
		}
		kept = append(kept, l)
	}
	ix.list = kept
	slices.SortFunc(ix.list, func(a, b *listed) int {
		return cmp.Or(a.p.start.Compare(b.p.start), strings.Compare(a.c.ID, b.c.ID))
	})
	s.index.Store(ix)
	return ix
}

// maxListItems bounds the conferences one read-API answer lists; Total
// says how many match.
const maxListItems = 500

// renderList prepares the read API's answer for f: the published
// conferences in the feed window that match, soonest first.
func (s *Server) renderList(f Filter, cut time.Time) (*httpcache.Entry, error) {
	ix := s.publicIndex()
	out := ConferenceList{Items: []ConferenceView{}, Links: s.links(f)}
	for _, l := range ix.list {
		if l.p.end.Before(cut) || !f.matches(l) {
			continue
		}
		out.Total++
		if len(out.Items) < maxListItems {
			out.Items = append(out.Items, s.view(l.c))
		}
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	// Like a feed: compressed now when small, in the background once kept
	// when large (cache.go), so a representation's ETag never depends on
	// the cache.
	e := httpcache.NewPlainEntry(append(body, '\n'), "application/json", "public, max-age=60", time.Time{})
	if len(e.Body) < gzipLater {
		e = e.WithGzip()
	}
	return e, nil
}
