package calendar_test

import (
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/engine"
)

// TestApplyFollowsModeration: what the record says after each event of a
// conference's life, and when it is public.
func TestApplyFollowsModeration(t *testing.T) {
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	details := domain.ConferenceDetails{Title: "Summit", AllDay: true, Start: "2027-06-12", End: "2027-06-13", Topics: []string{"courts"}}
	steps := []struct {
		event    domain.Event
		status   domain.Status
		public   bool
		sequence int
	}{
		{domain.ConferenceSubmitted{Details: details, Contact: domain.Contact{Email: "org@example.org"}}, domain.StatusPending, false, 0},
		{domain.ConferenceUpdated{Details: func() domain.ConferenceDetails { d := details; d.Title = "Summit 2027"; return d }(), Changed: []string{"title"}}, domain.StatusPending, false, 0},
		{domain.ConferenceApproved{}, domain.StatusApproved, true, 0},
		{domain.ConferenceUpdated{Details: details, Changed: []string{"title"}}, domain.StatusApproved, true, 1},
		{domain.ConferenceCancelled{Reason: "venue closed"}, domain.StatusCancelled, true, 2},
	}
	tx := engine.NewTx[calendar.Conference]()
	for i, st := range steps {
		env, err := domain.NewEnvelope("e", "c1", "x", at.Add(time.Duration(i)*time.Minute), st.event)
		if err != nil {
			t.Fatal(err)
		}
		if err := (calendar.Projection{}).Apply(tx, domain.Record{Seq: uint64(10 + i), Envelope: env, Event: st.event}); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		c, ok := tx.Get(calendar.Key("c1"))
		if _, hidden := calendar.Unpublished(tx, "c1"); ok == !st.public || hidden == st.public {
			t.Fatalf("after %s: public record %v, unpublished record %v", st.event.EventType(), ok, hidden)
		}
		if !st.public {
			c, ok = calendar.Unpublished(tx, "c1")
		}
		if !ok || c.Status != st.status || c.Public() != st.public || c.Sequence != st.sequence || c.Version != uint64(10+i) || !c.Updated.Equal(env.Time) {
			t.Fatalf("after %s: %+v (public %v), want %s public=%v sequence %d", st.event.EventType(), c, c.Public(), st.status, st.public, st.sequence)
		}
	}
}

// TestCancelledWithoutApprovalIsNotPublic: a cancellation stored for a
// conference that was never approved keeps it private.
func TestCancelledWithoutApprovalIsNotPublic(t *testing.T) {
	tx := engine.NewTx[calendar.Conference]()
	for i, e := range []domain.Event{domain.ConferenceSubmitted{Details: domain.ConferenceDetails{Title: "Spam"}}, domain.ConferenceCancelled{}} {
		env, _ := domain.NewEnvelope("e", "c2", "x", time.Now(), e)
		if err := (calendar.Projection{}).Apply(tx, domain.Record{Seq: uint64(i + 1), Envelope: env, Event: e}); err != nil {
			t.Fatal(err)
		}
	}
	if c, ok := tx.Get(calendar.Key("c2")); ok {
		t.Fatalf("%+v is among the public records", c)
	}
	if c, _ := calendar.Unpublished(tx, "c2"); c.Status != domain.StatusCancelled || c.Public() {
		t.Fatalf("%+v is public", c)
	}
}

// TestRejectedLeavesNoRecord: a rejected conference's record is deleted,
// and the public records never held it.
func TestRejectedLeavesNoRecord(t *testing.T) {
	tx := engine.NewTx[calendar.Conference]()
	for i, e := range []domain.Event{domain.ConferenceSubmitted{Details: domain.ConferenceDetails{Title: "Junk"}}, domain.ConferenceRejected{}} {
		env, _ := domain.NewEnvelope("e", "c3", "x", time.Now(), e)
		if err := (calendar.Projection{}).Apply(tx, domain.Record{Seq: uint64(i + 1), Envelope: env, Event: e}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	tx.Range(func(string, calendar.Conference) bool { n++; return true })
	if n != 0 {
		t.Fatalf("%d records left after a rejection", n)
	}
}

// TestUnpublishedLeavesThePublicRecords: an unpublished conference leaves
// the records servers hold; approved again, it comes back with a higher
// SEQUENCE than calendar apps saw; plans change nothing public.
func TestUnpublishedLeavesThePublicRecords(t *testing.T) {
	tx := engine.NewTx[calendar.Conference]()
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	details := domain.ConferenceDetails{Title: "Summit", AllDay: true, Start: "2027-06-12", End: "2027-06-13", Topics: []string{"courts"}}
	steps := []struct {
		event    domain.Event
		public   bool
		sequence int
	}{
		{domain.ConferenceSubmitted{Details: details}, false, 0},
		{domain.ConferenceApproved{}, true, 0},
		{domain.ConferenceScheduled{Schedule: "s1", Action: domain.ActionUnpublish, At: at.Add(time.Hour)}, true, 0},
		{domain.ConferenceUnpublished{Schedule: "s1"}, false, 1},
		{domain.ConferenceApproved{}, true, 2},
		{domain.ConferenceScheduleCalledOff{Schedule: "s2"}, true, 2},
	}
	for i, st := range steps {
		env, _ := domain.NewEnvelope("e", "c9", "x", at.Add(time.Duration(i)*time.Minute), st.event)
		if err := (calendar.Projection{}).Apply(tx, domain.Record{Seq: uint64(i + 1), Envelope: env, Event: st.event}); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		c, ok := tx.Get(calendar.Key("c9"))
		if _, hidden := calendar.Unpublished(tx, "c9"); ok != st.public || hidden == st.public {
			t.Fatalf("after %s: public record %v, unpublished record %v", st.event.EventType(), ok, hidden)
		}
		if !st.public {
			c, _ = calendar.Unpublished(tx, "c9")
		}
		if c.Sequence != st.sequence || c.Public() != st.public {
			t.Fatalf("after %s: sequence %d public %v, want %d %v", st.event.EventType(), c.Sequence, c.Public(), st.sequence, st.public)
		}
	}
}

// TestOrganiserRequests: an organiser's requests and their declines change
// no record (the public sees nothing until an editor acts); a withdrawn
// submission leaves no record, as a rejected one.
func TestOrganiserRequests(t *testing.T) {
	tx := engine.NewTx[calendar.Conference]()
	d := domain.ConferenceDetails{Title: "Summit", AllDay: true, Start: "2027-06-12", End: "2027-06-13", Topics: []string{"courts"}}
	proposed := d
	proposed.Title = "Summit 2027"
	apply := func(seq uint64, id string, e domain.Event) {
		t.Helper()
		env, _ := domain.NewEnvelope("e", id, "organiser", time.Now(), e)
		if err := (calendar.Projection{}).Apply(tx, domain.Record{Seq: seq, Envelope: env, Event: e}); err != nil {
			t.Fatalf("%s: %v", e.EventType(), err)
		}
	}
	apply(1, "c1", domain.ConferenceSubmitted{Details: d})
	apply(2, "c1", domain.ConferenceApproved{})
	before, _ := tx.Get(calendar.Key("c1"))
	apply(3, "c1", domain.ConferenceChangeProposed{Details: proposed, Changed: []string{"title"}})
	apply(4, "c1", domain.ConferenceProposalDeclined{Proposal: "p"})
	apply(5, "c1", domain.ConferenceCancellationRequested{Reason: "venue"})
	apply(6, "c1", domain.ConferenceCancellationDeclined{Request: "r"})
	if after, _ := tx.Get(calendar.Key("c1")); after.Version != before.Version || after.Details.Title != "Summit" || after.Sequence != before.Sequence {
		t.Fatalf("requests changed the public record: %+v → %+v", before, after)
	}
	apply(7, "c2", domain.ConferenceSubmitted{Details: d})
	apply(8, "c2", domain.ConferenceWithdrawn{})
	if _, ok := calendar.Unpublished(tx, "c2"); ok {
		t.Fatal("a withdrawn submission keeps a record")
	}
	if _, ok := tx.Get(calendar.Key("c2")); ok {
		t.Fatal("a withdrawn submission is public")
	}
}
