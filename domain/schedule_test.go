package domain

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// fold applies events to a conference as the log would, one sequence each.
func fold(t *testing.T, c *Conference, at time.Time, evs ...Event) {
	t.Helper()
	for _, ev := range evs {
		env, err := NewEnvelope("e", "c1", "editor", at, ev)
		if err != nil {
			t.Fatal(err)
		}
		c.Apply(Record{Seq: c.Version + 1, Envelope: env, Event: ev})
	}
}

// TestFireDecidesOnTheLogsState: what a plan does when it comes due, for
// each of the ways the conference may have changed since.
func TestFireDecidesOnTheLogsState(t *testing.T) {
	now := time.Date(2030, 1, 10, 12, 0, 0, 0, time.UTC)
	due := now.Add(time.Hour)
	d := ConferenceDetails{Title: "Summit", AllDay: true, Start: "2030-03-01", End: "2030-03-02", Topics: []string{"courts"}}
	moved := d
	moved.Start, moved.End = "2030-04-01", "2030-04-02"
	renamed := d
	renamed.Title = "Summit 2030"
	pending := func() *Conference {
		c := &Conference{}
		fold(t, c, now, ConferenceSubmitted{Details: d})
		return c
	}
	approved := func() *Conference {
		c := pending()
		fold(t, c, now, ConferenceApproved{})
		return c
	}
	plan := func(t *testing.T, c *Conference, id string, a Action) {
		t.Helper()
		ev, err := c.Schedule(id, a, due, now, "why")
		if err != nil {
			t.Fatal(err)
		}
		fold(t, c, now, ev)
	}
	cases := []struct {
		name  string
		setup func(t *testing.T) *Conference
		id    string
		want  Event
	}{
		{"publish a pending conference", func(t *testing.T) *Conference {
			c := pending()
			plan(t, c, "s1", ActionPublish)
			return c
		}, "s1", ConferenceApproved{Note: "published as scheduled: why"}},
		{"publish after an edit publishes the edit", func(t *testing.T) *Conference {
			c := pending()
			plan(t, c, "s1", ActionPublish)
			fold(t, c, now, ConferenceUpdated{Details: renamed, Changed: []string{"title"}})
			return c
		}, "s1", ConferenceApproved{Note: "published as scheduled: why"}},
		{"publish after a manual approval: nothing", func(t *testing.T) *Conference {
			c := pending()
			plan(t, c, "s1", ActionPublish)
			fold(t, c, now, ConferenceApproved{})
			return c
		}, "s1", nil},
		{"publish after a rejection: nothing", func(t *testing.T) *Conference {
			c := pending()
			plan(t, c, "s1", ActionPublish)
			fold(t, c, now, ConferenceRejected{})
			return c
		}, "s1", nil},
		{"cancel a published conference", func(t *testing.T) *Conference {
			c := approved()
			plan(t, c, "s2", ActionCancel)
			return c
		}, "s2", ConferenceCancelled{Reason: "why"}},
		{"cancel after an edit of its title", func(t *testing.T) *Conference {
			c := approved()
			plan(t, c, "s2", ActionCancel)
			fold(t, c, now, ConferenceUpdated{Details: renamed, Changed: []string{"title"}})
			return c
		}, "s2", ConferenceCancelled{Reason: "why"}},
		{"cancel after a reschedule lapses", func(t *testing.T) *Conference {
			c := approved()
			plan(t, c, "s2", ActionCancel)
			fold(t, c, now, ConferenceUpdated{Details: moved, Changed: []string{"start", "end"}})
			return c
		}, "s2", ConferenceScheduleLapsed{Schedule: "s2", Action: ActionCancel, Why: "the conference was rescheduled after the cancellation was planned"}},
		{"cancel after a manual cancellation: nothing", func(t *testing.T) *Conference {
			c := approved()
			plan(t, c, "s2", ActionCancel)
			fold(t, c, now, ConferenceCancelled{})
			return c
		}, "s2", nil},
		{"cancel an unpublished conference lapses", func(t *testing.T) *Conference {
			c := approved()
			plan(t, c, "s2", ActionCancel)
			fold(t, c, now, ConferenceUnpublished{})
			return c
		}, "s2", ConferenceScheduleLapsed{Schedule: "s2", Action: ActionCancel, Why: "the conference is unpublished"}},
		{"unpublish a cancelled conference", func(t *testing.T) *Conference {
			c := approved()
			plan(t, c, "s3", ActionUnpublish)
			fold(t, c, now, ConferenceCancelled{})
			return c
		}, "s3", ConferenceUnpublished{Reason: "why", Schedule: "s3"}},
		{"a called-off plan: nothing", func(t *testing.T) *Conference {
			c := approved()
			plan(t, c, "s2", ActionCancel)
			ev, err := c.CallOff("s2", "")
			if err != nil {
				t.Fatal(err)
			}
			fold(t, c, now, ev)
			return c
		}, "s2", nil},
		{"a replaced plan: nothing", func(t *testing.T) *Conference {
			c := approved()
			plan(t, c, "s2", ActionCancel)
			plan(t, c, "s4", ActionCancel)
			return c
		}, "s2", nil},
		{"its replacement acts", func(t *testing.T) *Conference {
			c := approved()
			plan(t, c, "s2", ActionCancel)
			plan(t, c, "s4", ActionCancel)
			return c
		}, "s4", ConferenceCancelled{Reason: "why"}},
		{"a plan that came due once: nothing the second time", func(t *testing.T) *Conference {
			c := approved()
			plan(t, c, "s2", ActionCancel)
			fold(t, c, due, c.Fire("s2"))
			return c
		}, "s2", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.setup(t)
			if got := c.Fire(tc.id); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Fire = %#v, want %#v", got, tc.want)
			}
		})
	}
}

// TestScheduleRefuses: plans the conference cannot take.
func TestScheduleRefuses(t *testing.T) {
	now := time.Now()
	c := &Conference{}
	fold(t, c, now, ConferenceSubmitted{Details: ConferenceDetails{Title: "x"}})
	var ve *ValidationError
	if _, err := c.Schedule("s1", ActionPublish, now.Add(-time.Second), now, ""); !errors.As(err, &ve) || ve.Fields[0].Field != "at" {
		t.Fatalf("a past instant: %v", err)
	}
	if _, err := c.Schedule("s1", ActionPublish, now.Add(6*366*24*time.Hour), now, ""); !errors.As(err, &ve) {
		t.Fatalf("six years ahead: %v", err)
	}
	if _, err := c.Schedule("s.1", ActionPublish, now.Add(time.Hour), now, ""); !errors.As(err, &ve) {
		t.Fatalf("a bad id: %v", err)
	}
	if _, err := c.Schedule("s1", ActionCancel, now.Add(time.Hour), now, ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("cancel a pending conference: %v", err)
	}
	// With a publication planned before it, a cancellation may be planned.
	ev, err := c.Schedule("s1", ActionPublish, now.Add(time.Hour), now, "")
	if err != nil {
		t.Fatal(err)
	}
	fold(t, c, now, ev)
	if _, err := c.Schedule("s2", ActionCancel, now.Add(2*time.Hour), now, ""); err != nil {
		t.Fatalf("cancel after the planned publication: %v", err)
	}
	if _, err := c.Schedule("s2", ActionCancel, now.Add(30*time.Minute), now, ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("cancel before the planned publication: %v", err)
	}
	if _, err := c.CallOff("nope", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("call off an unknown plan: %v", err)
	}
	if got := c.Schedules.Pending(); len(got) != 1 || got[0].ID != "s1" || got[0].By != "editor" {
		t.Fatalf("pending: %+v", got)
	}
}
