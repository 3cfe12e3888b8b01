package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
)

// TestOrganiserRequestsFromEveryStatus: which request each status takes.
func TestOrganiserRequestsFromEveryStatus(t *testing.T) {
	d := domain.ConferenceDetails{Title: "Summit", AllDay: true, Start: "2030-06-12", End: "2030-06-12", Format: domain.FormatOnline, Topics: []string{"courts"}}
	d2 := d
	d2.Title = "Summit 2030"
	for _, c := range []struct {
		status                    domain.Status
		withdraw, cancel, propose bool
	}{
		{domain.StatusPending, true, false, true},
		{domain.StatusApproved, false, true, true},
		{domain.StatusUnpublished, false, false, true},
		{domain.StatusRejected, false, false, false},
		{domain.StatusCancelled, false, false, false},
		{domain.StatusWithdrawn, false, false, false},
	} {
		conf := &domain.Conference{ID: "c", Status: c.status, Details: d}
		_, err := conf.Withdraw("")
		if (err == nil) != c.withdraw || err != nil && !errors.As(err, new(*domain.TransitionError)) {
			t.Errorf("%s: withdraw %v", c.status, err)
		}
		_, err = conf.RequestCancellation("x")
		if (err == nil) != c.cancel {
			t.Errorf("%s: request cancellation %v", c.status, err)
		}
		ev, err := conf.ProposeChange(d2, "form")
		if (err == nil && ev != nil) != c.propose {
			t.Errorf("%s: propose %v %v", c.status, ev, err)
		}
	}
}

// TestProposalLifecycle: proposing the current details or the open
// proposal again is nothing; the diff is against the details now and
// leaves out a field they meanwhile hold as proposed; accepting carries
// the proposed fields only; a declined or replaced proposal is no longer
// the one to answer.
func TestProposalLifecycle(t *testing.T) {
	d := domain.ConferenceDetails{Title: "Summit", Description: "Old", AllDay: true, Start: "2030-06-12", End: "2030-06-12",
		Format: domain.FormatOnline, Topics: []string{"courts"}}
	c := &domain.Conference{}
	seq := uint64(0)
	apply := func(id string, e domain.Event) {
		seq++
		c.Apply(domain.Record{Seq: seq, Envelope: domain.Envelope{ID: id, AggregateID: "c", Time: time.Unix(int64(seq), 0)}, Event: e})
	}
	apply("s", domain.ConferenceSubmitted{Details: d})
	apply("a", domain.ConferenceApproved{})
	if ev, _ := c.ProposeChange(d, "form"); ev != nil {
		t.Fatal("proposing the current details appended something")
	}
	p := d
	p.Title, p.Description = "Summit 2030", "New"
	ev, err := c.ProposeChange(p, "form")
	if err != nil || ev == nil {
		t.Fatal(err)
	}
	apply("p1", ev)
	if !c.Waiting() || !c.Queued.Equal(time.Unix(3, 0)) {
		t.Fatalf("waiting %v since %v", c.Waiting(), c.Queued)
	}
	if ev, _ := c.ProposeChange(p, "form"); ev != nil {
		t.Fatal("the open proposal again appended something")
	}
	// An editor meanwhile makes the description what was proposed, and
	// changes the topics.
	e := d
	e.Description, e.Topics = "New", []string{"courts", "corrections"}
	apply("e", domain.ConferenceUpdated{Details: e, Changed: domain.ChangedFields(d, e)})
	diff := c.ProposalDiff()
	if len(diff) != 1 || diff[0].Name != "title" || diff[0].Label != "Title" || diff[0].Now != "Summit" || diff[0].Proposed != "Summit 2030" {
		t.Fatalf("diff %+v", diff)
	}
	in, ok := c.ProposedDetails()
	if !ok {
		t.Fatal("no proposal")
	}
	merged, err := domain.ValidateDetails(in, time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if merged.Title != "Summit 2030" || len(merged.Topics) != 2 {
		t.Fatalf("merged %+v", merged)
	}
	if _, err := c.AcceptProposal("p0", merged); err == nil {
		t.Fatal("accepted a proposal that is not the open one")
	}
	if _, err := c.DeclineProposal("p0", ""); err == nil {
		t.Fatal("declined a proposal that is not the open one")
	}
	acc, err := c.AcceptProposal("p1", merged)
	if err != nil {
		t.Fatal(err)
	}
	apply("u", acc)
	if c.Proposal != nil || c.Waiting() || c.Details.Title != "Summit 2030" {
		t.Fatalf("after accepting: %+v", c)
	}
	if _, err := c.DeclineCancellation(""); err == nil {
		t.Fatal("declined a cancellation nobody requested")
	}
}
