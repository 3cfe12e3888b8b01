package review

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Source is the review read model as the queue reads it (the replica).
// Range must not call back into it.
type Source interface {
	Get(key string) (Entry, bool)
	Range(fn func(key string, e Entry) bool)
}

// Queue is the moderation queue in order (oldest submission first, then
// id), with the entries of each duplicate key and of each contact, kept
// current from the replica's changes. Paging costs a binary search and the
// page, whatever the queue's length. Safe for concurrent use.
type Queue struct {
	src Source

	mu        sync.RWMutex
	order     []ref                          // sorted by (submitted, id)
	byTitle   map[string]map[string]struct{} // TitleKey → ids
	byURL     map[string]map[string]struct{} // URLKey → ids
	byContact map[string]map[string]struct{} // ContactKey → ids
}

// ref is an entry's place in the queue.
type ref struct {
	submitted time.Time
	id        string
}

func compareRef(a, b ref) int {
	return cmp.Or(a.submitted.Compare(b.submitted), strings.Compare(a.id, b.id))
}

// NewQueue returns the queue over src. Wire Changed and Reset to the
// replica's OnChange and OnReset.
func NewQueue(src Source) *Queue {
	q := &Queue{src: src}
	q.clear()
	return q
}

func (q *Queue) clear() {
	q.order = nil
	q.byTitle = map[string]map[string]struct{}{}
	q.byURL = map[string]map[string]struct{}{}
	q.byContact = map[string]map[string]struct{}{}
}

// Reset rebuilds the queue from the replica.
func (q *Queue) Reset() {
	var all []Entry
	q.src.Range(func(_ string, e Entry) bool {
		all = append(all, e)
		return true
	})
	q.mu.Lock()
	defer q.mu.Unlock()
	q.clear()
	q.order = make([]ref, 0, len(all))
	for _, e := range all {
		q.order = append(q.order, ref{e.Submitted, e.ID})
		q.index(e, true)
	}
	slices.SortFunc(q.order, compareRef)
}

// Changed follows one entry's change (e is zero when it was deleted).
func (q *Queue) Changed(_ string, old Entry, hadOld bool, e Entry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if hadOld {
		q.index(old, false)
		if i, found := slices.BinarySearchFunc(q.order, ref{old.Submitted, old.ID}, compareRef); found {
			q.order = slices.Delete(q.order, i, i+1)
		}
	}
	if e.ID != "" {
		q.index(e, true)
		r := ref{e.Submitted, e.ID}
		if i, found := slices.BinarySearchFunc(q.order, r, compareRef); !found {
			q.order = slices.Insert(q.order, i, r)
		}
	}
}

// index adds or removes e under its keys; q.mu is held.
func (q *Queue) index(e Entry, add bool) {
	for _, x := range []struct {
		m   map[string]map[string]struct{}
		key string
	}{{q.byTitle, e.TitleKey}, {q.byURL, e.URLKey}, {q.byContact, e.ContactKey}} {
		if x.key == "" {
			continue
		}
		ids := x.m[x.key]
		if add {
			if ids == nil {
				ids = map[string]struct{}{}
				x.m[x.key] = ids
			}
			ids[e.ID] = struct{}{}
			continue
		}
		delete(ids, e.ID)
		if len(ids) == 0 {
			delete(x.m, x.key)
		}
	}
}

// Len is the number of conferences waiting.
func (q *Queue) Len() int {
	q.mu.RLock()
	defer q.mu.RUnlock()
	return len(q.order)
}

// Get returns the entry of a waiting conference.
func (q *Queue) Get(id string) (Entry, bool) { return q.src.Get(Key(id)) }

// Page returns up to limit entries after the place (submitted, id) in the
// order — the last entry of the previous page, which may have left the
// queue since; the zero time starts at the oldest — and how many are
// waiting after that place, this page included.
func (q *Queue) Page(afterSubmitted time.Time, afterID string, limit int) ([]Entry, int) {
	q.mu.RLock()
	i := 0
	if !afterSubmitted.IsZero() || afterID != "" {
		var found bool
		i, found = slices.BinarySearchFunc(q.order, ref{afterSubmitted, afterID}, compareRef)
		if found {
			i++
		}
	}
	rest := len(q.order) - i
	refs := slices.Clone(q.order[i:min(len(q.order), i+max(limit, 0))])
	q.mu.RUnlock()
	out := make([]Entry, 0, len(refs))
	for _, r := range refs {
		if e, ok := q.src.Get(Key(r.id)); ok {
			out = append(out, e)
		}
	}
	return out, rest
}

// Place returns a waiting conference's place in the order, for a cursor.
func (q *Queue) Place(id string) (time.Time, bool) {
	e, ok := q.src.Get(Key(id))
	return e.Submitted, ok
}

// ByContact lists up to limit waiting conferences of the organiser with
// this ContactKey, oldest first, and how many there are.
func (q *Queue) ByContact(contactKey string, limit int) ([]Entry, int) {
	q.mu.RLock()
	ids := q.byContact[contactKey]
	n := len(ids)
	refs := make([]ref, 0, n)
	for id := range ids {
		if e, ok := q.src.Get(Key(id)); ok {
			refs = append(refs, ref{e.Submitted, id})
		}
	}
	q.mu.RUnlock()
	slices.SortFunc(refs, compareRef)
	out := make([]Entry, 0, min(len(refs), limit))
	for _, r := range refs[:min(len(refs), limit)] {
		if e, ok := q.src.Get(Key(r.id)); ok {
			out = append(out, e)
		}
	}
	return out, n
}

// Similar lists up to limit waiting conferences that may be the same as
// one with these keys (the same TitleKey or URLKey), except exclude, and
// why each is similar.
func (q *Queue) Similar(titleKey, urlKey, exclude string, limit int) ([]Entry, []string) {
	q.mu.RLock()
	var ids []string
	var why []string
	seen := map[string]bool{exclude: true}
	for _, x := range []struct {
		m      map[string]map[string]struct{}
		key, w string
	}{{q.byTitle, titleKey, "same title and dates"}, {q.byURL, urlKey, "same web address"}} {
		if x.key == "" {
			continue
		}
		for id := range x.m[x.key] {
			if !seen[id] && len(ids) < limit {
				seen[id] = true
				ids, why = append(ids, id), append(why, x.w)
			}
		}
	}
	q.mu.RUnlock()
	var out []Entry
	var reasons []string
	for i, id := range ids {
		if e, ok := q.src.Get(Key(id)); ok {
			out, reasons = append(out, e), append(reasons, why[i])
		}
	}
	return out, reasons
}
