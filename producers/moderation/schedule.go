package moderation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
)

// Plans: editors approve with an embargo (publish_at), and plan a
// cancellation or an unpublication for later (at). Each plan is an event
// of the conference (domain/schedule.go) and a message the NATS server
// fires at the instant (eventlog/schedule, through the Planner); when it
// fires, Fire decides on the log's state then.
//
// The order of the writes makes every crash harmless: the plan's message
// first, then its event (a message without an event fires for a plan the
// log does not hold: nothing happens); the event that ends a plan (called
// off, replaced) first, then dropping its message (a message left behind
// fires for a plan that is no longer pending: nothing happens).

// Planner keeps plans where they fire: eventlog/schedule.Planner. Both
// calls must be safe to repeat.
type Planner interface {
	Plan(ctx context.Context, conference, plan string, at time.Time) error
	Drop(ctx context.Context, conference, plan string) error
}

// SetPlanner lets editors plan commands; without one, a command with an
// instant in the future is refused (503).
func (m *Moderation) SetPlanner(p Planner) { m.planner = p }

// Unpublish takes a public conference out of feeds and pages.
const Unpublish Decision = "unpublish"

// ActorScheduler is the actor of the events a due plan leads to.
const ActorScheduler = "scheduler"

// actionOf is the plan of a decision.
var actionOf = map[Decision]domain.Action{Approve: domain.ActionPublish, Cancel: domain.ActionCancel, Unpublish: domain.ActionUnpublish}

// rightAway is how soon an instant counts as now: a plan that would fire
// within it is carried out at once.
const rightAway = time.Second

// Plan plans decision d (approve, cancel or unpublish) for at: an instant
// within a second is carried out now (Decide); a later one is planned,
// replacing the conference's pending plan of the same action. ifMatch and
// key as for Decide.
func (m *Moderation) Plan(ctx context.Context, cmd Command, d Decision, at time.Time, reason string) (Result, error) {
	id, ifMatch, editor, key := cmd.ID, cmd.IfMatch, cmd.Editor, cmd.Key
	action, ok := actionOf[d]
	if !ok {
		return Result{}, fmt.Errorf("moderation: %s cannot be planned", d)
	}
	now := time.Now()
	if !at.After(now.Add(rightAway)) {
		return m.Decide(ctx, cmd, d, reason)
	}
	if m.planner == nil {
		return Result{}, &httpapi.Error{Status: http.StatusServiceUnavailable, Title: "Plans unavailable",
			Detail: "this server cannot plan commands for later"}
	}
	at = secondUp(at)
	plan := commandID(id, key, "plan:"+string(action), []byte(at.Format(time.RFC3339)+"\x00"+reason))
	// Decide once before writing anything, so that a plan the
	// conference cannot take leaves no message behind.
	c, err := m.Conference(ctx, id)
	if err != nil {
		return Result{}, err
	}
	if _, done := c.Schedules.Get(plan); !done {
		if ifMatch != 0 && ifMatch != c.Version {
			return Result{}, &domain.VersionError{Expected: ifMatch, Current: c.Version}
		}
		if _, err := c.Schedule(plan, action, at, now, reason); err != nil {
			return Result{}, err
		}
	}
	if err := m.planner.Plan(ctx, id, plan, at); err != nil {
		return Result{}, fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
	}
	var replaced string
	res, err := m.command(ctx, id, ifMatch, editor, commandID(id, key, "schedule:"+plan, nil), func(c *domain.Conference) (domain.Event, error) {
		ev, err := c.Schedule(plan, action, at, time.Now(), reason)
		if err == nil {
			replaced = ev.(domain.ConferenceScheduled).Replaces
		}
		return ev, err
	})
	if err != nil {
		m.drop(ctx, id, plan)
		return Result{}, err
	}
	if replaced != "" {
		m.drop(ctx, id, replaced)
	}
	res.Scheduled = &domain.Schedule{ID: plan, Action: action, At: at, Reason: reason, By: editor}
	return res, nil
}

// CallOff ends a pending plan: it never fires.
func (m *Moderation) CallOff(ctx context.Context, cmd Command, plan, reason string) (Result, error) {
	id, ifMatch, editor, key := cmd.ID, cmd.IfMatch, cmd.Editor, cmd.Key
	res, err := m.command(ctx, id, ifMatch, editor, commandID(id, key, "call-off:"+plan, []byte(reason)), func(c *domain.Conference) (domain.Event, error) {
		return c.CallOff(plan, reason)
	})
	if err != nil {
		return Result{}, err
	}
	m.drop(ctx, id, plan)
	return res, nil
}

// Rearm writes again the messages of a conference's pending plans, for a
// log restored without the plans' stream (`jevents import`: an export
// holds the log only). A plan whose instant has passed fires at once.
// Safe to repeat, like Plan: a plan that fires twice acts once (Fire).
// It returns how many plans it wrote.
func (m *Moderation) Rearm(ctx context.Context, id string) (int, error) {
	if m.planner == nil {
		return 0, &httpapi.Error{Status: http.StatusServiceUnavailable, Title: "Plans unavailable",
			Detail: "this server cannot plan commands for later"}
	}
	c, err := m.Conference(ctx, id)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range c.Schedules.Pending() {
		if err := m.planner.Plan(ctx, id, s.ID, s.At); err != nil {
			return n, fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
		}
		n++
	}
	return n, nil
}

// Fire carries out (or lets lapse) a plan that came due, deciding on the
// conference as the log holds it now (domain.Conference.Fire). A plan the
// log does not hold as pending does nothing; so a due plan that arrives
// twice acts once. It is the eventlog/schedule handler.
func (m *Moderation) Fire(ctx context.Context, id, plan string) error {
	_, err := m.command(ctx, id, 0, ActorScheduler, commandID(id, "due:"+plan, "fire", nil), func(c *domain.Conference) (domain.Event, error) {
		return c.Fire(plan), nil
	})
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return nil // a plan whose event never landed, for a conference that does not exist
	case err != nil:
		return err
	}
	m.logger.Info("plan came due", slog.String("conference", id), slog.String("schedule", plan))
	return nil
}

// drop removes a plan's message, best effort: one left behind fires for a
// plan the log no longer holds, which does nothing.
func (m *Moderation) drop(ctx context.Context, id, plan string) {
	if m.planner == nil {
		return
	}
	if err := m.planner.Drop(context.WithoutCancel(ctx), id, plan); err != nil {
		m.logger.Warn("plan message not dropped; it will fire and do nothing", slog.String("schedule", plan), slog.Any("err", err))
	}
}

// secondUp rounds t up to a whole second: plans fire to the second, and
// never early.
func secondUp(t time.Time) time.Time {
	t = t.UTC()
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}

func (m *Moderation) handleCallOff(w http.ResponseWriter, r *http.Request, editor string) {
	c, err := httpapi.ReadCommand(w, r)
	if err == nil && (!c.At.IsZero() || !c.PublishAt.IsZero()) {
		err = &httpapi.Error{Status: http.StatusUnprocessableEntity, Title: "Invalid command",
			Fields: []domain.FieldError{{Field: "at", Code: "unknown", Message: "calling a plan off happens now"}}}
	}
	if err != nil {
		httpapi.WriteError(w, r, m.logger, err)
		return
	}
	res, err := m.CallOff(r.Context(), Command{ID: r.PathValue("id"), IfMatch: c.IfMatch, Editor: editor, Key: c.Key}, r.PathValue("schedule"), c.Reason)
	m.answer(w, r, res, err)
}
