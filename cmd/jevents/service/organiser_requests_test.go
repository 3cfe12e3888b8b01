package service_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/internal/serversecret"
	"github.com/justiceevents/jevents/producers/moderation"
	"github.com/justiceevents/jevents/producers/organisers"
)

// The organiser's requests and the editors' answers are two producers
// (producers/organisers, producers/moderation) that never import each
// other; their round trip on one log is tested here, where both are
// wired.

// noQueue is an empty queue: these tests decide by id.
type noQueue struct{}

func (noQueue) Page(time.Time, string, int) ([]moderation.Pending, int) { return nil, 0 }
func (noQueue) Len() int                                                { return 0 }
func (noQueue) Place(string) (time.Time, bool)                          { return time.Time{}, false }
func (noQueue) ByContact(string, int) ([]moderation.Pending, int)       { return nil, 0 }
func (noQueue) Similar(domain.ConferenceDetails, string, int) ([]moderation.Pending, []string) {
	return nil, nil
}

// TestRequestsOnTheLog: an organiser's proposal, made through a valid
// link at the version they saw, is accepted onto the details as an editor
// left them meanwhile (the editor's edit of another field stays); a stale
// version is refused and appends nothing; a retry under the same key
// appends nothing; a cancellation request is declined; a withdrawal ends a
// pending submission for good; a request through a bad link appends nothing.
func TestRequestsOnTheLog(t *testing.T) {
	ctx := context.Background()
	_, _, js := natstest.Start(t)
	if _, err := eventlog.EnsureStream(ctx, js, eventlog.StreamConfig{MaxBytes: 64 << 20}); err != nil {
		t.Fatal(err)
	}
	log := eventlog.New(js, nil)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	keys, _ := serversecret.Load("", []string{strings.Repeat("s", 32)})
	links := organisers.NewLinks(keys, time.Hour)
	org := organisers.New(log, links, nil, quiet)
	mod := moderation.New(log, noQueue{}, quiet, nil)
	submit := func(id string) string {
		allDay := true
		sub, err := domain.ValidateSubmission(domain.SubmissionInput{Title: "Summit " + id, Description: "About it", Start: "2029-06-12",
			End: "2029-06-13", AllDay: &allDay, Location: &domain.LocationInput{City: "Baltimore", Region: "MD"}, Format: "in_person",
			Topics: []string{"courts"}, Contact: &domain.Contact{Email: "pat@example.org"}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		env, _ := domain.NewEnvelope("sub-"+id, id, "public", time.Now(), domain.ConferenceSubmitted{Details: sub.Details, Contact: sub.Contact})
		if _, err := log.Append(ctx, env, "sub-"+id, 0); err != nil {
			t.Fatal(err)
		}
		return links.Token(id, sub.Contact, time.Now())
	}
	load := func(id string) *domain.Conference {
		c, _, err := eventlog.Fold[domain.Conference](ctx, log, id)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	count := func() uint64 {
		info, err := js.Stream(ctx, domain.StreamName)
		if err != nil {
			t.Fatal(err)
		}
		i, _ := info.Info(ctx)
		return i.State.Msgs
	}
	tok := submit("c1")
	if _, err := mod.Decide(ctx, moderation.Command{ID: "c1", Editor: "ed"}, moderation.Approve, ""); err != nil {
		t.Fatal(err)
	}
	v := load("c1").Version
	req := organisers.Request{Token: tok, Version: v, Key: "k1"}
	if _, err := org.Propose(ctx, req, []byte(`{"title": "Summit 2029"}`), "form"); err != nil {
		t.Fatal(err)
	}
	n := count()
	if _, err := org.Propose(ctx, req, []byte(`{"title": "Summit 2029"}`), "form"); err != nil || count() != n {
		t.Fatalf("a retry under the same key: %v, %d events more", err, count()-n)
	}
	if _, err := org.Withdraw(ctx, organisers.Request{Token: tok, Version: v, Key: "k2"}, ""); !errors.As(err, new(*domain.VersionError)) || count() != n {
		t.Fatalf("a stale version: %v", err)
	}
	// An editor's edit of another field meanwhile stays when the proposal
	// is accepted.
	c := load("c1")
	if _, err := mod.Edit(ctx, moderation.Command{ID: "c1", IfMatch: c.Version, Editor: "ed"}, []byte(`{"description": "Edited by an editor"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := mod.Decide(ctx, moderation.Command{ID: "c1", Editor: "ed"}, moderation.AcceptProposal, ""); !errors.Is(err, domain.ErrPreconditionRequired) {
		t.Fatalf("accepting without If-Match: %v", err)
	}
	c = load("c1")
	if _, err := mod.Decide(ctx, moderation.Command{ID: "c1", IfMatch: c.Version, Editor: "ed"}, moderation.AcceptProposal, ""); err != nil {
		t.Fatal(err)
	}
	c = load("c1")
	if c.Details.Title != "Summit 2029" || c.Details.Description != "Edited by an editor" || c.Proposal != nil || c.Waiting() {
		t.Fatalf("after accepting: %+v", c)
	}
	// A cancellation request, declined.
	if _, err := org.RequestCancellation(ctx, organisers.Request{Token: tok, Version: c.Version, Key: "k3"}, "venue"); err != nil {
		t.Fatal(err)
	}
	c = load("c1")
	if c.CancellationRequest == nil || c.CancellationRequest.Reason != "venue" || !c.Waiting() {
		t.Fatalf("request: %+v", c.CancellationRequest)
	}
	if _, err := mod.Decide(ctx, moderation.Command{ID: "c1", IfMatch: c.Version, Editor: "ed"}, moderation.DeclineCancellation, "it goes ahead"); err != nil {
		t.Fatal(err)
	}
	if c = load("c1"); c.CancellationRequest != nil || c.Status != domain.StatusApproved {
		t.Fatalf("declined: %+v", c)
	}
	// A withdrawal; then nothing more applies.
	tok2 := submit("c2")
	c2 := load("c2")
	if _, err := org.Withdraw(ctx, organisers.Request{Token: tok2, Version: c2.Version, Key: "w"}, "moved to next year"); err != nil {
		t.Fatal(err)
	}
	c2 = load("c2")
	if c2.Status != domain.StatusWithdrawn || c2.Waiting() || c2.Public() {
		t.Fatalf("withdrawn: %+v", c2)
	}
	if _, err := mod.Decide(ctx, moderation.Command{ID: "c2", Editor: "ed"}, moderation.Approve, ""); !errors.As(err, new(*domain.TransitionError)) {
		t.Fatalf("approving a withdrawn one: %v", err)
	}
	// Through another conference's link, nothing.
	n = count()
	if _, err := org.Withdraw(ctx, organisers.Request{Token: "c2" + strings.TrimPrefix(tok, "c1"), Version: c2.Version}, ""); !errors.Is(err, organisers.ErrLinkInvalid) || count() != n {
		t.Fatalf("another conference's link: %v", err)
	}
}
