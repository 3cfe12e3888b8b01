package directory

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/httpcache"
)

// Source is the directory read model as the index reads it: the replica in
// production and in tests.
type Source interface {
	Get(key string) (Resource, bool)
	Range(fn func(key string, r Resource) bool)
}

// Index answers questions about the directory from immutable snapshots of
// the read model, rebuilt on first use after a change. Wire Changed and
// Reset to the replica's OnChange and OnReset (before any callback that
// expects the index to be current). Safe for concurrent use.
type Index struct {
	src Source
	gen atomic.Uint64 // bumped by every change
	mu  sync.Mutex    // one build at a time
	cur atomic.Pointer[Snapshot]
}

// NewIndex returns an index over src.
func NewIndex(src Source) *Index { return &Index{src: src} }

// Changed marks the index stale; its signature is the replica's OnChange.
func (x *Index) Changed(string, Resource, bool, Resource) { x.gen.Add(1) }

// Reset marks the index stale; its signature is the replica's OnReset.
func (x *Index) Reset() { x.gen.Add(1) }

// Snapshot returns the directory as of the last change.
func (x *Index) Snapshot() *Snapshot {
	gen := x.gen.Load()
	if s := x.cur.Load(); s != nil && s.gen == gen {
		return s
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	gen = x.gen.Load()
	if s := x.cur.Load(); s != nil && s.gen == gen {
		return s
	}
	s := build(x.src, gen)
	x.cur.Store(s)
	return s
}

// Snapshot is the directory at one moment. It is immutable, except for the
// cache of prepared answers it carries.
type Snapshot struct {
	gen    uint64
	byID   map[string]*Resource // every resource, retired ones too
	active []*Resource          // sorted by name, then id
	// byName maps the lower-cased names, short names and headings of active
	// resources to their ids.
	byName map[string][]string

	cacheMu sync.Mutex
	cache   map[string]*httpcache.Entry
}

// maxCached bounds the prepared answers one snapshot keeps.
const maxCached = 512

func build(src Source, gen uint64) *Snapshot {
	s := &Snapshot{gen: gen, byID: map[string]*Resource{}, byName: map[string][]string{}, cache: map[string]*httpcache.Entry{}}
	src.Range(func(_ string, r Resource) bool {
		s.byID[r.ID] = &r
		return true
	})
	type keyed struct {
		key string
		r   *Resource
	}
	active := make([]keyed, 0, len(s.byID))
	for _, r := range s.byID {
		if !r.Active() {
			continue
		}
		active = append(active, keyed{SortKey(r.Details.Name), r})
		d := r.Details
		names := [...]string{d.Name, d.Title(), d.Heading(), d.ShortName, ""}
		if d.ShortName != "" {
			names[4] = d.Name + " (" + d.ShortName + ")"
		}
		for _, n := range names {
			k := nameKey(n)
			if k != "" && !slices.Contains(s.byName[k], r.ID) {
				s.byName[k] = append(s.byName[k], r.ID)
			}
		}
	}
	slices.SortFunc(active, func(a, b keyed) int {
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.r.ID, b.r.ID))
	})
	s.active = make([]*Resource, len(active))
	for i, k := range active {
		s.active[i] = k.r
	}
	return s
}

// SortKey is how resources sort: by name, ignoring case and a leading "The".
func SortKey(name string) string {
	k := strings.ToLower(name)
	k = strings.TrimPrefix(k, "the ")
	return k
}

// nameKey normalises a name for matching: lower case, one space between
// words. Stored names are clean already (validation ran CleanLine);
// Lookup cleans what people type first.
func nameKey(s string) string {
	s = strings.ToLower(s)
	if strings.Contains(s, "  ") || strings.ContainsAny(s, "\t\n") || strings.TrimSpace(s) != s {
		return strings.Join(strings.Fields(s), " ")
	}
	return s
}

// Get returns a resource by id, retired or not.
func (s *Snapshot) Get(id string) (Resource, bool) {
	r, ok := s.byID[id]
	if !ok {
		return Resource{}, false
	}
	return *r, true
}

// Active lists the resources in the directory's views, sorted by name.
// The records are shared: callers must not modify them.
func (s *Snapshot) Active() []*Resource { return s.active }

// Len is the number of resources, retired ones included.
func (s *Snapshot) Len() int { return len(s.byID) }

// Lookup finds the one active resource a sponsor name means: its id (any
// status), its name, short name or heading, case-insensitively. An
// ambiguous name (two resources with one acronym) matches nothing.
func (s *Snapshot) Lookup(nameOrID string) (Resource, bool) {
	if r, ok := s.byID[strings.TrimSpace(nameOrID)]; ok {
		return *r, true
	}
	k := nameKey(domain.CleanLine(nameOrID))
	if r, ok := s.byID[k]; ok && r.Active() {
		return *r, true
	}
	if ids := s.byName[k]; len(ids) == 1 {
		return *s.byID[ids[0]], true
	}
	return Resource{}, false
}

// cached returns the prepared answer for key, making it with mk on first
// use in this snapshot.
func (s *Snapshot) cached(key string, mk func() *httpcache.Entry) *httpcache.Entry {
	s.cacheMu.Lock()
	e, ok := s.cache[key]
	s.cacheMu.Unlock()
	if ok {
		return e
	}
	e = mk()
	s.cacheMu.Lock()
	if len(s.cache) < maxCached {
		s.cache[key] = e
	}
	s.cacheMu.Unlock()
	return e
}

// LinkSponsors links a conference's sponsors to the directory: a sponsor
// already linked keeps its id and gets the resource's current name; a name
// that is a resource's id, name, short name or heading (case-insensitive)
// becomes a link with the resource's name; other names stay text. Two
// sponsors that link to one resource are kept once. It implements the
// SponsorLinker interfaces of the intake and moderation producers.
func (x *Index) LinkSponsors(sponsors []domain.Sponsor) []domain.Sponsor {
	if len(sponsors) == 0 {
		return sponsors
	}
	s := x.Snapshot()
	out := make([]domain.Sponsor, 0, len(sponsors))
	seen := map[string]bool{}
	for _, sp := range sponsors {
		if sp.ID != "" {
			if r, ok := s.byID[sp.ID]; ok {
				sp.Name = r.Details.Name
			}
		} else if r, ok := s.Lookup(sp.Name); ok {
			sp = domain.Sponsor{ID: r.ID, Name: r.Details.Name}
		}
		k := "name:" + strings.ToLower(sp.Name)
		if sp.ID != "" {
			k = "id:" + sp.ID
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, sp)
		}
	}
	return out
}

// SponsorName is the current name of the resource with this id, retired or
// not, for feeds and pages that show a conference's sponsors.
func (x *Index) SponsorName(id string) (string, bool) {
	r, ok := x.Snapshot().byID[id]
	if !ok {
		return "", false
	}
	return r.Details.Name, true
}

// Renamed reports whether a change of a record changes how sponsors
// linked to it are shown, so that feed caches need dropping. A record
// that appears is such a change too: until the replica holds it, a
// conference linked to it shows the name stored with the conference, and
// a replica that starts behind the calendar's (a restored log, a
// rebuild) receives a renamed resource first with its new name.
func Renamed(old Resource, hadOld bool, r Resource) bool {
	return !hadOld || old.Details.Name != r.Details.Name
}
