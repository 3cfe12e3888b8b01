package review_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/engine"
	"github.com/justiceevents/jevents/projections/review"
)

var at = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func apply(t *testing.T, tx *engine.Tx[review.Entry], seq uint64, id string, e domain.Event) {
	t.Helper()
	env, err := domain.NewEnvelope(fmt.Sprint("e", seq), id, "x", at.Add(time.Duration(seq)*time.Minute), e)
	if err != nil {
		t.Fatal(err)
	}
	if err := (review.Projection{}).Apply(tx, domain.Record{Seq: seq, Envelope: env, Event: e}); err != nil {
		t.Fatal(err)
	}
}

// TestEntriesFollowTheQueue: a submission enters the queue with small,
// clipped text and no contact detail; an edit updates it; a decision takes
// it out.
func TestEntriesFollowTheQueue(t *testing.T) {
	tx := engine.NewTx[review.Entry]()
	d := domain.ConferenceDetails{Title: strings.Repeat("Long title ", 40), Description: strings.Repeat("x", 10000),
		AllDay: true, Start: "2027-06-12", End: "2027-06-13", URL: "https://www.Example.org/summit/",
		Location: domain.Location{City: "Baltimore", Region: "MD"}}
	apply(t, tx, 1, "c1", domain.ConferenceSubmitted{Details: d, Contact: domain.Contact{Email: "Org@Example.org"}, Source: "api"})
	e, ok := tx.Get(review.Key("c1"))
	if !ok || e.Version != 1 || e.Source != "api" || len(e.Title) > review.MaxTitle+len("…") || e.Where != "Baltimore, MD" {
		t.Fatalf("entry %+v", e)
	}
	if e.ContactKey != review.ContactKey("org@example.org") || strings.Contains(fmt.Sprint(e), "xample") && !strings.Contains(e.URLKey, "example.org") {
		t.Fatalf("contact key %q", e.ContactKey)
	}
	if e.URLKey != "example.org/summit?" || e.TitleKey == "" {
		t.Fatalf("keys %q %q", e.TitleKey, e.URLKey)
	}
	d.Title = "Summit"
	apply(t, tx, 2, "c1", domain.ConferenceUpdated{Details: d, Changed: []string{"title"}})
	if e, _ := tx.Get(review.Key("c1")); e.Title != "Summit" || e.Version != 2 || e.TitleKey != "summit|2027-06-12|2027-06-13" {
		t.Fatalf("after an edit: %+v", e)
	}
	apply(t, tx, 3, "c1", domain.ConferenceApproved{})
	if _, ok := tx.Get(review.Key("c1")); ok {
		t.Fatal("an approved conference is still in the queue")
	}
	// An edit of a published conference does not bring it back.
	apply(t, tx, 4, "c1", domain.ConferenceUpdated{Details: d})
	apply(t, tx, 5, "c2", domain.ConferenceSubmitted{Details: d})
	apply(t, tx, 6, "c2", domain.ConferenceRejected{Reason: "junk"})
	n := 0
	tx.Range(func(string, review.Entry) bool { n++; return true })
	if n != 0 {
		t.Fatalf("%d entries left", n)
	}
}

// source is a map standing in for the replica (its concurrency included).
type source struct {
	mu sync.RWMutex
	m  map[string]review.Entry
}

func (s *source) Get(k string) (review.Entry, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.m[k]
	return e, ok
}

func (s *source) Range(fn func(string, review.Entry) bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for k, e := range s.m {
		if !fn(k, e) {
			return
		}
	}
}

func (s *source) put(q *review.Queue, e review.Entry) {
	s.mu.Lock()
	old, had := s.m[review.Key(e.ID)]
	s.m[review.Key(e.ID)] = e
	s.mu.Unlock()
	q.Changed(review.Key(e.ID), old, had, e)
}

func (s *source) del(q *review.Queue, id string) {
	s.mu.Lock()
	old, had := s.m[review.Key(id)]
	delete(s.m, review.Key(id))
	s.mu.Unlock()
	q.Changed(review.Key(id), old, had, review.Entry{})
}

// TestQueuePages: the queue pages in order from any place, also from one
// that left the queue; it finds an organiser's entries and duplicates.
func TestQueuePages(t *testing.T) {
	src := &source{m: map[string]review.Entry{}}
	q := review.NewQueue(src)
	for i := range 10 {
		e := review.Entry{ID: fmt.Sprintf("id-%02d", i), Submitted: at.Add(time.Duration(i%5) * time.Minute),
			ContactKey: review.ContactKey(fmt.Sprintf("org%d@example.org", i%3)), TitleKey: fmt.Sprintf("t%d", i%4)}
		if i < 5 {
			src.m[review.Key(e.ID)] = e
		} else {
			src.put(q, e)
		}
		if i == 4 {
			q.Reset()
		}
	}
	var got []string
	var afterAt time.Time
	after := ""
	for {
		page, rest := q.Page(afterAt, after, 3)
		if len(page) == 0 {
			if rest != 0 {
				t.Fatalf("empty page with %d after it", rest)
			}
			break
		}
		for _, e := range page {
			got = append(got, e.ID)
		}
		last := page[len(page)-1]
		afterAt, after = last.Submitted, last.ID
		if last.ID == "id-07" {
			src.del(q, "id-07") // decided while the editor pages
		}
	}
	want := "id-00 id-05 id-01 id-06 id-02 id-07 id-03 id-08 id-04 id-09"
	if strings.Join(got, " ") != want {
		t.Fatalf("pages: %s\nwant   %s", strings.Join(got, " "), want)
	}
	if q.Len() != 9 {
		t.Fatalf("len %d", q.Len())
	}
	es, n := q.ByContact(review.ContactKey("ORG1@example.org "), 2)
	if n != 2 || len(es) != 2 || es[0].ID != "id-01" || es[1].ID != "id-04" { // id-07 was decided
		t.Fatalf("by contact: %d %+v", n, es)
	}
	sim, why := q.Similar("t1", "", "id-01", 5)
	if len(sim) != 2 || why[0] != "same title and dates" {
		t.Fatalf("similar: %+v %v", sim, why)
	}
}

// laterKind stands for a conference event the queue does not know (one
// added after it was written).
type laterKind struct{}

func (laterKind) EventType() string { return "conference.later_kind.v1" }

// TestOrganiserRequestsInTheQueue: the organiser's requests keep a decided
// conference in the queue until an editor answers them, in step with the
// domain's Waiting and Queued; a withdrawal takes a submission out; an
// event of a kind the queue does not know leaves the entry alone.
func TestOrganiserRequestsInTheQueue(t *testing.T) {
	d := domain.ConferenceDetails{Title: "Summit", AllDay: true, Start: "2027-06-12", End: "2027-06-13",
		URL: "https://example.org/s", Location: domain.Location{City: "Baltimore", Region: "MD"}}
	d2 := d
	d2.Title = "Summit 2027"
	steps := []struct {
		id     string
		ev     domain.Event
		queued bool
	}{
		{"c1", domain.ConferenceSubmitted{Details: d, Contact: domain.Contact{Email: "o@example.org"}}, true},
		{"c1", laterKind{}, true},
		{"c1", domain.ConferenceChangeProposed{Details: d2, Changed: []string{"title"}}, true},
		{"c1", domain.ConferenceApproved{}, true}, // the proposal still waits
		{"c1", laterKind{}, true},
		{"c1", domain.ConferenceProposalDeclined{Proposal: "e3", Reason: "no"}, false},
		{"c1", domain.ConferenceCancellationRequested{Reason: "venue"}, true},
		{"c1", domain.ConferenceChangeProposed{Details: d2, Changed: []string{"title"}}, true},
		{"c1", domain.ConferenceCancellationDeclined{Request: "e7"}, true},
		{"c1", domain.ConferenceUpdated{Details: d2, Changed: []string{"title"}, Proposal: "e8"}, false},
		{"c1", domain.ConferenceCancellationRequested{}, true},
		{"c1", domain.ConferenceCancelled{}, false},
		{"c2", domain.ConferenceSubmitted{Details: d}, true},
		{"c2", domain.ConferenceChangeProposed{Details: d2, Changed: []string{"title"}}, true},
		{"c2", domain.ConferenceWithdrawn{}, false},
		{"c3", domain.ConferenceSubmitted{Details: d}, true},
		{"c3", domain.ConferenceApproved{}, false},
		{"c3", domain.ConferenceCancellationRequested{}, true},
		{"c3", domain.ConferenceUnpublished{}, false},
	}
	tx := engine.NewTx[review.Entry]()
	states := map[string]*domain.Conference{}
	for i, s := range steps {
		seq := uint64(i + 1)
		env := domain.Envelope{ID: fmt.Sprint("e", seq), Aggregate: domain.AggregateConference, AggregateID: s.id,
			Type: s.ev.EventType(), Time: at.Add(time.Duration(seq) * time.Minute)}
		rec := domain.Record{Seq: seq, Envelope: env, Event: s.ev}
		before, hadBefore := tx.Get(review.Key(s.id))
		if err := (review.Projection{}).Apply(tx, rec); err != nil {
			t.Fatal(err)
		}
		if states[s.id] == nil {
			states[s.id] = &domain.Conference{}
		}
		c := states[s.id]
		c.Apply(rec)
		e, ok := tx.Get(review.Key(s.id))
		if ok != s.queued || c.Waiting() != s.queued {
			t.Fatalf("step %d (%s): in the queue %v, domain waiting %v, want %v", i, s.ev.EventType(), ok, c.Waiting(), s.queued)
		}
		if _, later := s.ev.(laterKind); later && (e != before || !hadBefore) {
			t.Fatalf("step %d: an unknown kind changed the entry: %+v → %+v", i, before, e)
		}
		if ok && !e.Submitted.Equal(c.Queued) {
			t.Fatalf("step %d: the queue orders it at %v, the domain at %v", i, e.Submitted, c.Queued)
		}
		if ok && (e.Proposal != "") != (c.Proposal != nil) || ok && e.CancellationRequested != (c.CancellationRequest != nil) {
			t.Fatalf("step %d: entry %+v, domain proposal %v request %v", i, e, c.Proposal, c.CancellationRequest)
		}
	}
}
