package moderation

import (
	"context"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/eventlog/history"
)

// Queue is the moderation queue, paged, as the read model has it (it may
// lag the log by a moment).
func (m *Moderation) Queue() Queue { return m.queue }

// HistoryEntry is one entry of a conference's history as editors see it
// (eventlog/history), and whether the conference was public just after
// it: what ?as_of= at the entry's time shows the public.
type HistoryEntry struct {
	history.Entry
	Public bool
}

// History is a conference's history for editors, oldest first. An
// unknown id is domain.ErrNotFound.
func (m *Moderation) History(ctx context.Context, id string) ([]HistoryEntry, error) {
	_, recs, err := eventlog.Fold[domain.Conference](ctx, m.log, id)
	if err != nil {
		return nil, err
	}
	public := map[uint64]bool{}
	var c domain.Conference
	for _, rec := range recs {
		c.Apply(rec)
		public[rec.Seq] = c.Public()
	}
	h, _ := history.ConferenceHistory(id, recs, true)
	out := make([]HistoryEntry, len(h.Entries))
	for i, e := range h.Entries {
		out[i] = HistoryEntry{e, public[e.Version]}
	}
	return out, nil
}

// Conference is a conference's current state as the log holds it, with
// the organiser's contact: for editors' pages only. An unknown id is
// domain.ErrNotFound.
func (m *Moderation) Conference(ctx context.Context, id string) (*domain.Conference, error) {
	c, _, err := eventlog.Fold[domain.Conference](ctx, m.log, id)
	return c, err
}
