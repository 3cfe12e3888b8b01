package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/eventlog/schedule"
	"github.com/justiceevents/jevents/producers/moderation"
)

// RearmPlans writes again, into the plans' stream, the messages of the
// pending plans of the conferences ids (those a restored log shows with
// a conference.scheduled event): an export holds the log only, so after
// `jevents import` the editors' plans would otherwise never fire. A plan
// whose instant passed while the log was away fires at once; one that is
// no longer pending is left alone. It returns how many plans it wrote.
func RearmPlans(ctx context.Context, js jetstream.JetStream, ids []string, log *slog.Logger) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	if _, err := js.Stream(ctx, schedule.StreamName); err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return 0, fmt.Errorf("the plans' stream %s does not exist (start `jevents serve` on the data directory, or run `jevents setup`), so %d conferences' plans cannot fire: %w",
				schedule.StreamName, len(ids), err)
		}
		return 0, err
	}
	mod := moderation.New(eventlog.New(js, eventlog.NewMetrics(nil)), nil, log, nil)
	mod.SetPlanner(schedule.NewPlanner(js))
	n := 0
	for _, id := range ids {
		k, err := mod.Rearm(ctx, id)
		n += k
		if err != nil {
			return n, fmt.Errorf("plans of %s: %w", id, err)
		}
	}
	return n, nil
}
