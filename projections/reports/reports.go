// Package reports owns the editors' read model of the open reports from
// the public: one entry per report not yet resolved or dismissed, folded
// from the report events, kept in its own NATS KV bucket (reports_<gen>)
// that only the editors role reads. The moderation queue shows them
// grouped by conference, with counts (Open).
//
// An entry holds the reporter's reason and text (clipped), never who
// reported: reports carry no contact.
//
// It imports the domain package and projections/engine.
package reports

import (
	"cmp"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/engine"
)

// Name is the projection's constant name.
const Name = "reports"

// KeyPrefix starts the key of every entry.
const KeyPrefix = "open."

// MaxText clips the reporter's text in an entry.
const MaxText = 500

// Entry is one open report.
type Entry struct {
	ID           string    `json:"id"`
	ConferenceID string    `json:"conference_id"`
	Reason       string    `json:"reason"`
	Text         string    `json:"text,omitempty"`
	Filed        time.Time `json:"filed"`
	Version      uint64    `json:"version"`
}

// Projection folds report events into entries.
type Projection struct{}

// Model is the reports read model as the engine runs it.
var Model = engine.Define[Entry](Projection{})

var _ engine.Projection[Entry] = Projection{}

// Name implements engine.Projection.
func (Projection) Name() string { return Name }

// Subjects implements engine.Projection.
func (Projection) Subjects() []string {
	return []string{domain.AggregateFilter(domain.AggregateReport)}
}

// Apply implements engine.Projection.
func (Projection) Apply(tx *engine.Tx[Entry], r domain.Record) error {
	key := KeyPrefix + r.AggregateID
	switch e := r.Event.(type) {
	case domain.ReportFiled:
		if _, ok := tx.Get(key); ok {
			return nil
		}
		tx.Put(key, Entry{ID: r.AggregateID, ConferenceID: e.ConferenceID, Reason: e.Reason, Text: clip(e.Text, MaxText), Filed: r.Time, Version: r.Seq})
	case domain.ReportResolved, domain.ReportDismissed:
		tx.Delete(key)
	}
	return nil
}

// Conference is the open reports of one conference.
type Conference struct {
	ConferenceID string
	Reports      []Entry // oldest first
}

// Source is the model as Open reads it (*engine.Replica[Entry]).
type Source interface {
	Range(fn func(key string, v Entry) bool)
}

// Open groups the open reports by conference: the conference with the
// most first, then the one reported earliest.
func Open(src Source) []Conference {
	by := map[string]*Conference{}
	src.Range(func(_ string, e Entry) bool {
		c := by[e.ConferenceID]
		if c == nil {
			c = &Conference{ConferenceID: e.ConferenceID}
			by[e.ConferenceID] = c
		}
		c.Reports = append(c.Reports, e)
		return true
	})
	out := make([]Conference, 0, len(by))
	for _, c := range by {
		slices.SortFunc(c.Reports, func(a, b Entry) int { return cmp.Or(a.Filed.Compare(b.Filed), cmp.Compare(a.ID, b.ID)) })
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Conference) int {
		return cmp.Or(cmp.Compare(len(b.Reports), len(a.Reports)), a.Reports[0].Filed.Compare(b.Reports[0].Filed), cmp.Compare(a.ConferenceID, b.ConferenceID))
	})
	return out
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
