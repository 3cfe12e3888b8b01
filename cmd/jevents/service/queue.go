package service

import (
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/producers/moderation"
	"github.com/justiceevents/jevents/producers/reports"
	"github.com/justiceevents/jevents/projections/engine"
	reportsmodel "github.com/justiceevents/jevents/projections/reports"
	"github.com/justiceevents/jevents/projections/review"
)

// The moderation queue's part of the wiring. Public servers (feeds,
// intake's duplicate check) replicate the calendar's public records only
// (engine.OnlyKeys(calendar.Public)); the editors role alone follows the
// review read model, whose small entries order and page the queue
// (projections/review), and reads each page's conferences from the log.

// reviewModel is an editors' process's copy of the review read model.
type reviewModel struct {
	replica *engine.Replica[review.Entry]
	queue   *review.Queue
}

// newReview builds the queue over the review replica, which the editors
// role alone holds (readmodels.go); nil for the other roles.
func (s *Service) newReview() *reviewModel {
	r := replicaOf(s, review.Model)
	if r == nil {
		return nil
	}
	q := review.NewQueue(r)
	r.OnChange(q.Changed)
	r.OnReset(q.Reset)
	return &reviewModel{replica: r, queue: q}
}

// pendingQueue is the review queue as the moderation producer reads it.
type pendingQueue struct {
	q *review.Queue
}

var _ moderation.Queue = pendingQueue{}

func pending(es []review.Entry) []moderation.Pending {
	out := make([]moderation.Pending, len(es))
	for i, e := range es {
		out[i] = moderation.Pending{ID: e.ID, Version: e.Version, Submitted: e.Submitted,
			Title: e.Title, Start: e.Start, End: e.End, Where: e.Where}
	}
	return out
}

func (p pendingQueue) Page(afterSubmitted time.Time, afterID string, limit int) ([]moderation.Pending, int) {
	es, n := p.q.Page(afterSubmitted, afterID, limit)
	return pending(es), n
}

func (p pendingQueue) Len() int { return p.q.Len() }

func (p pendingQueue) Place(id string) (time.Time, bool) { return p.q.Place(id) }

func (p pendingQueue) ByContact(email string, limit int) ([]moderation.Pending, int) {
	key := review.ContactKey(email)
	if key == "" {
		return nil, 0
	}
	es, n := p.q.ByContact(key, limit)
	return pending(es), n
}

func (p pendingQueue) Similar(d domain.ConferenceDetails, exclude string, limit int) ([]moderation.Pending, []string) {
	es, why := p.q.Similar(review.TitleKey(d), review.URLKey(d), exclude, limit)
	return pending(es), why
}

// openReports is the reports read model as the reports producer lists it.
type openReports struct {
	r *engine.Replica[reportsmodel.Entry]
}

func (o openReports) Open() []reports.Group {
	if o.r == nil {
		return nil
	}
	var out []reports.Group
	for _, c := range reportsmodel.Open(o.r) {
		g := reports.Group{ConferenceID: c.ConferenceID, Count: len(c.Reports)}
		for _, e := range c.Reports {
			g.Reports = append(g.Reports, reports.OpenReport{ID: e.ID, Reason: e.Reason, Text: e.Text, Filed: e.Filed})
		}
		out = append(out, g)
	}
	return out
}
