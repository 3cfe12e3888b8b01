package service

import (
	"context"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/producers/moderation"
	"github.com/justiceevents/jevents/projections/engine"
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

// newReview prepares the review replica for the editors role; nil for the
// other roles.
func (s *Service) newReview(m *engine.Metrics) *reviewModel {
	if !s.cfg.Has(RoleEditors) {
		return nil
	}
	r := engine.NewReplica[review.Entry](s.js, review.Name, s.log, m)
	q := review.NewQueue(r)
	r.OnChange(q.Changed)
	r.OnReset(q.Reset)
	s.ready = append(s.ready, readiness{"review read model loaded", r.Ready()})
	return &reviewModel{replica: r, queue: q}
}

func (rv *reviewModel) run(ctx context.Context, s *Service) {
	if rv != nil {
		s.goWorker(ctx, "review replica", rv.replica.Run)
	}
}

// startReviewProjector runs the review projector (projector role).
func (s *Service) startReviewProjector(ctx context.Context, cfg engine.BucketConfig, m *engine.Metrics) {
	p := engine.NewProjector(s.js, review.Projection{}, cfg, s.log, m)
	s.ready = append(s.ready, s.projectorReadiness(ctx, p.CaughtUp(), review.Name, p.Instance()))
	s.goWorker(ctx, "review projector", p.Run)
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
