package moderation

import (
	"context"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
)

// Queue is the moderation queue, paged, as the read model has it (it may
// lag the log by a moment).
func (m *Moderation) Queue() Queue { return m.queue }

// Conference is a conference's current state as the log holds it, with
// the organiser's contact: for editors' pages only. An unknown id is
// domain.ErrNotFound.
func (m *Moderation) Conference(ctx context.Context, id string) (*domain.Conference, error) {
	c, _, err := eventlog.Fold[domain.Conference](ctx, m.log, id)
	return c, err
}
