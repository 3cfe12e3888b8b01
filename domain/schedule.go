package domain

import (
	"fmt"
	"slices"
	"time"
)

// Scheduled actions: editors approve a conference with an embargo (publish
// at an instant), and plan a cancellation or an unpublication for a future
// instant. Each plan is an event (conference.scheduled.v1) of the
// conference, so it is in the log, its history and every read model that
// cares; it can be replaced (a new plan for the same action) or called
// off (conference.schedule_called_off.v1) until it comes due.
//
// When it comes due, the conference decides on the log's state then, never
// blindly (Conference.Fire): the action happens (the ordinary event:
// approved, cancelled, unpublished) or the plan lapses with the reason
// (conference.schedule_lapsed.v1), and a plan that is no longer pending
// (called off, replaced, done) does nothing. So a due plan that arrives
// twice acts once.
//
// The rules when a plan comes due:
//   - publish: a pending (or unpublished) conference is approved, with
//     the edits made since; one rejected, or approved by hand since, has
//     no plan left (the approval or rejection ended it).
//   - cancel: a published conference is cancelled, unless it was
//     rescheduled since the plan was made (its dates or zone changed): the
//     cancellation was meant for the former dates and lapses. One not
//     published (unpublished, never approved) lapses.
//   - unpublish: a public conference (published or cancelled) leaves the
//     feeds and pages; one not public lapses.

// Scheduled event type names.
const (
	TypeConferenceScheduled         = "conference.scheduled.v1"
	TypeConferenceScheduleCalledOff = "conference.schedule_called_off.v1"
	TypeConferenceScheduleLapsed    = "conference.schedule_lapsed.v1"
	TypeConferenceUnpublished       = "conference.unpublished.v1"
)

// ScheduledSubject is the subject of conference id's plans
// (conference.scheduled events): a log's reader finds the conferences
// that ever had a plan by it.
func ScheduledSubject(id string) string {
	return Envelope{Type: TypeConferenceScheduled, Aggregate: AggregateConference, AggregateID: id}.Subject()
}

// StatusUnpublished: an editor took a published conference out of the
// feeds and pages. It can be approved again.
const StatusUnpublished Status = "unpublished"

// Action is what a plan does when it comes due.
type Action string

const (
	ActionPublish   Action = "publish"
	ActionCancel    Action = "cancel"
	ActionUnpublish Action = "unpublish"
)

// Actions lists the actions a plan may take.
var Actions = []Action{ActionPublish, ActionCancel, ActionUnpublish}

// When is the part of a conference's details that says when it happens:
// a cancellation planned for these dates lapses if they change.
type When struct {
	AllDay   bool   `json:"all_day"`
	Start    string `json:"start"`
	End      string `json:"end"`
	Timezone string `json:"timezone,omitempty"`
}

// WhenOf is d's dates.
func WhenOf(d ConferenceDetails) When {
	return When{AllDay: d.AllDay, Start: d.Start, End: d.End, Timezone: d.Timezone}
}

// ConferenceScheduled plans an action at an instant.
type ConferenceScheduled struct {
	// Schedule names the plan: a subject token, unique in the log.
	Schedule string    `json:"schedule"`
	Action   Action    `json:"action"`
	At       time.Time `json:"at"`
	// Reason is what a cancellation or an unpublication will say, or a
	// note for a publication.
	Reason string `json:"reason,omitempty"`
	// Replaces is the plan of the same action this one replaces.
	Replaces string `json:"replaces,omitempty"`
	// For is the conference's dates when the plan was made.
	For When `json:"for"`
}

// ConferenceScheduleCalledOff ends a plan before it came due.
type ConferenceScheduleCalledOff struct {
	Schedule string `json:"schedule"`
	Action   Action `json:"action"`
	Reason   string `json:"reason,omitempty"`
}

// ConferenceScheduleLapsed ends a plan that came due but whose action no
// longer applies, with why.
type ConferenceScheduleLapsed struct {
	Schedule string `json:"schedule"`
	Action   Action `json:"action"`
	Why      string `json:"why"`
}

// ConferenceUnpublished takes a public conference out of the feeds and
// pages (unlike a cancellation, which subscribers see as such).
type ConferenceUnpublished struct {
	Reason string `json:"reason,omitempty"`
	// Schedule is the plan that did it, if one did.
	Schedule string `json:"schedule,omitempty"`
}

func (ConferenceScheduled) EventType() string         { return TypeConferenceScheduled }
func (ConferenceScheduleCalledOff) EventType() string { return TypeConferenceScheduleCalledOff }
func (ConferenceScheduleLapsed) EventType() string    { return TypeConferenceScheduleLapsed }
func (ConferenceUnpublished) EventType() string       { return TypeConferenceUnpublished }

func init() {
	register[ConferenceScheduled](TypeConferenceScheduled)
	register[ConferenceScheduleCalledOff](TypeConferenceScheduleCalledOff)
	register[ConferenceScheduleLapsed](TypeConferenceScheduleLapsed)
	register[ConferenceUnpublished](TypeConferenceUnpublished)
}

// Schedule is one pending plan.
type Schedule struct {
	ID     string    `json:"id"`
	Action Action    `json:"action"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
	// By is who made the plan, Made when.
	By   string    `json:"by"`
	Made time.Time `json:"made"`
	For  When      `json:"for"`
}

// Plan is a conference's pending schedules, at most one per action.
type Plan struct {
	pending []Schedule
}

// Pending lists the plans, soonest first.
func (p Plan) Pending() []Schedule {
	out := slices.Clone(p.pending)
	slices.SortFunc(out, func(a, b Schedule) int { return a.At.Compare(b.At) })
	return out
}

// Get returns the pending plan with this id.
func (p Plan) Get(id string) (Schedule, bool) {
	i := slices.IndexFunc(p.pending, func(s Schedule) bool { return s.ID == id })
	if i < 0 {
		return Schedule{}, false
	}
	return p.pending[i], true
}

// Of returns the pending plan of an action.
func (p Plan) Of(a Action) (Schedule, bool) {
	i := slices.IndexFunc(p.pending, func(s Schedule) bool { return s.Action == a })
	if i < 0 {
		return Schedule{}, false
	}
	return p.pending[i], true
}

func (p *Plan) drop(match func(Schedule) bool) {
	p.pending = slices.DeleteFunc(slices.Clone(p.pending), match)
}

// apply follows one event of the conference.
func (p *Plan) apply(r Record) {
	switch e := r.Event.(type) {
	case ConferenceScheduled:
		p.drop(func(s Schedule) bool { return s.Action == e.Action })
		p.pending = append(p.pending, Schedule{ID: e.Schedule, Action: e.Action, At: e.At, Reason: e.Reason,
			By: r.Actor, Made: r.Time, For: e.For})
	case ConferenceScheduleCalledOff:
		p.drop(func(s Schedule) bool { return s.ID == e.Schedule })
	case ConferenceScheduleLapsed:
		p.drop(func(s Schedule) bool { return s.ID == e.Schedule })
	case ConferenceApproved:
		p.drop(func(s Schedule) bool { return s.Action == ActionPublish })
	case ConferenceCancelled:
		p.drop(func(s Schedule) bool { return s.Action == ActionCancel })
	case ConferenceUnpublished:
		p.drop(func(s Schedule) bool { return s.Action == ActionUnpublish })
	case ConferenceRejected, ConferenceWithdrawn:
		p.pending = nil
	}
}

// ParseAction reads an action's name.
func ParseAction(s string) (Action, bool) {
	a := Action(s)
	return a, slices.Contains(Actions, a)
}

// Schedule plans action a at at, decided at now. The plan replaces a
// pending one of the same action. An instant that is not after now is
// refused (the caller acts at once instead); so is one more than
// MaxFuture ahead, or an action the conference cannot take then.
func (c *Conference) Schedule(id string, a Action, at, now time.Time, reason string) (Event, error) {
	var errs ValidationError
	if !ValidID(id) {
		errs.Add("schedule", "invalid", "must be 1 to 64 letters, digits, - or _")
	}
	if _, ok := ParseAction(string(a)); !ok {
		errs.Add("action", "invalid", "must be publish, cancel or unpublish")
	}
	switch {
	case !at.After(now):
		errs.Add("at", "out_of_range", "must be in the future")
	case at.After(now.Add(MaxFuture)):
		errs.Add("at", "out_of_range", "must be at most five years ahead")
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return nil, err
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	publishBefore := func() bool {
		p, ok := c.Schedules.Of(ActionPublish)
		return ok && !p.At.After(at)
	}
	ok := false
	switch a {
	case ActionPublish:
		ok = c.Status == StatusPending || c.Status == StatusUnpublished
	case ActionCancel:
		ok = c.Status == StatusApproved || (c.Status == StatusPending && publishBefore())
	case ActionUnpublish:
		ok = c.Public() || (c.Status == StatusPending && publishBefore())
	}
	if !ok {
		return nil, &TransitionError{Command: "schedule " + string(a) + " of", Status: c.Status}
	}
	ev := ConferenceScheduled{Schedule: id, Action: a, At: at.UTC(), Reason: reason, For: WhenOf(c.Details)}
	if old, ok := c.Schedules.Of(a); ok {
		ev.Replaces = old.ID
	}
	return ev, nil
}

// CallOff ends a pending plan. A plan that is not pending (called off,
// replaced, come due) is ErrNotFound.
func (c *Conference) CallOff(id, reason string) (Event, error) {
	s, ok := c.Schedules.Get(id)
	if !ok {
		return nil, fmt.Errorf("schedule %q of conference %s: %w", id, c.ID, ErrNotFound)
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return nil, err
	}
	return ConferenceScheduleCalledOff{Schedule: id, Action: s.Action, Reason: reason}, nil
}

// Unpublish takes a public conference out of the feeds and pages.
func (c *Conference) Unpublish(reason string) (Event, error) {
	if !c.Public() {
		return nil, &TransitionError{Command: "unpublish", Status: c.Status}
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return nil, err
	}
	return ConferenceUnpublished{Reason: reason}, nil
}

// Fire decides what the plan id does now that it came due, on the
// conference as the log holds it: the action's event, a lapse with its
// reason, or nil when the plan is no longer pending (it was called off,
// replaced, or already came due): nothing to do.
func (c *Conference) Fire(id string) Event {
	s, ok := c.Schedules.Get(id)
	if !ok {
		return nil
	}
	lapse := func(why string) Event { return ConferenceScheduleLapsed{Schedule: id, Action: s.Action, Why: why} }
	switch s.Action {
	case ActionPublish:
		if c.Status == StatusPending || c.Status == StatusUnpublished {
			note := "published as scheduled"
			if s.Reason != "" {
				note += ": " + s.Reason
			}
			return ConferenceApproved{Note: note}
		}
		return lapse("the conference is " + string(c.Status))
	case ActionCancel:
		switch {
		case c.Status != StatusApproved:
			return lapse("the conference is " + string(c.Status))
		case WhenOf(c.Details) != s.For:
			return lapse("the conference was rescheduled after the cancellation was planned")
		}
		return ConferenceCancelled{Reason: s.Reason}
	case ActionUnpublish:
		if !c.Public() {
			return lapse("the conference is not public")
		}
		return ConferenceUnpublished{Reason: s.Reason, Schedule: id}
	}
	return lapse("unknown action " + string(s.Action))
}
