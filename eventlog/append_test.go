package eventlog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/internal/natstest"
)

func approved(t *testing.T, eventID, id string) domain.Envelope {
	t.Helper()
	env, err := domain.NewEnvelope(eventID, id, "editor", time.Now(), domain.ConferenceApproved{Note: eventID})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func messages(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), domain.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func versionError(t *testing.T, err error, expected, current uint64) {
	t.Helper()
	var ve *domain.VersionError
	if !errors.As(err, &ve) || ve.Expected != expected || ve.Current != current || !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("got %v, want a conflict: version %d is stale, current %d", err, expected, current)
	}
}

// TestAppendConflicts: every append states the version it is based on; a
// creation of an aggregate that exists, or an edit based on an older
// version, is a *domain.VersionError naming the current version and stores
// nothing; of editors racing from one version exactly one wins.
func TestAppendConflicts(t *testing.T) {
	_, _, js := natstest.Start(t)
	mustStream(t, js, 64<<20)
	l := eventlog.New(js, nil)
	ctx := context.Background()
	// Another aggregate first: versions are stream sequences, not counts.
	if _, err := l.Append(ctx, submitted(t, "other", "O"), "other", 0); err != nil {
		t.Fatal(err)
	}
	first, err := l.Append(ctx, submitted(t, "c1", "A"), "create-c1", 0)
	if err != nil || first.Duplicate || first.Seq != 2 {
		t.Fatalf("create: %+v %v", first, err)
	}
	_, err = l.Append(ctx, submitted(t, "c1", "B"), "create-c1-again", 0)
	versionError(t, err, 0, first.Seq)

	second, err := l.Append(ctx, approved(t, "approve-1", "c1"), "approve-1", first.Seq)
	if err != nil || second.Seq != 3 {
		t.Fatalf("edit on the current version: %+v %v", second, err)
	}
	_, err = l.Append(ctx, approved(t, "approve-2", "c1"), "approve-2", first.Seq)
	versionError(t, err, first.Seq, second.Seq)
	// A version that never was the aggregate's is stale too.
	_, err = l.Append(ctx, approved(t, "approve-3", "c1"), "approve-3", 1)
	versionError(t, err, 1, second.Seq)
	if n := messages(t, js); n != 3 {
		t.Fatalf("%d events stored, want 3: a refused append stored something", n)
	}

	// Editors racing from the same version: one wins, the others are told
	// the winner's version.
	const racers = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		won  []uint64
		errs []error
	)
	for i := range racers {
		wg.Go(func() {
			id := fmt.Sprintf("race-%d", i)
			a, err := l.Append(ctx, approved(t, id, "c1"), id, second.Seq)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else {
				won = append(won, a.Seq)
			}
		})
	}
	wg.Wait()
	if len(won) != 1 || len(errs) != racers-1 {
		t.Fatalf("%d racers won (%v), %d lost: want exactly one winner", len(won), won, len(errs))
	}
	for _, err := range errs {
		versionError(t, err, second.Seq, won[0])
	}
	c, recs, err := eventlog.Fold[domain.Conference](ctx, l, "c1")
	if err != nil || len(recs) != 3 || c.Version != won[0] || c.Status != domain.StatusApproved || c.Details.Title != "A" {
		t.Fatalf("c1 after the race: %+v, %d events (%v)", c, len(recs), err)
	}
}

// TestAppendDuplicateRetries: a retry with the same message id stores
// nothing and answers the first attempt's sequence: at once (the server's
// duplicate window), after other events of the aggregate landed, and after
// the window has passed (the events since the expected version are searched
// for the message id). Another message id on the same version is a
// conflict, never mistaken for a retry.
func TestAppendDuplicateRetries(t *testing.T) {
	_, _, js := natstest.Start(t)
	if _, err := eventlog.EnsureStream(context.Background(), js,
		eventlog.StreamConfig{MaxBytes: 64 << 20, Duplicates: time.Second}); err != nil {
		t.Fatal(err)
	}
	l := eventlog.New(js, nil)
	ctx := context.Background()
	env := submitted(t, "c1", "A")
	first, err := l.Append(ctx, env, "key-1", 0)
	if err != nil || first.Duplicate {
		t.Fatalf("first: %+v %v", first, err)
	}
	again, err := l.Append(ctx, env, "key-1", 0)
	if err != nil || !again.Duplicate || again.Seq != first.Seq {
		t.Fatalf("immediate retry: %+v %v, want a duplicate of %d", again, err, first.Seq)
	}
	edit, err := l.Append(ctx, approved(t, "approve", "c1"), "approve", first.Seq)
	if err != nil {
		t.Fatal(err)
	}
	late, err := l.Append(ctx, env, "key-1", 0)
	if err != nil || !late.Duplicate || late.Seq != first.Seq {
		t.Fatalf("retry after an edit landed: %+v %v, want a duplicate of %d", late, err, first.Seq)
	}
	_, err = l.Append(ctx, submitted(t, "c1", "A"), "key-2", 0)
	versionError(t, err, 0, edit.Seq)

	time.Sleep(1500 * time.Millisecond) // past the duplicate window
	editAgain, err := l.Append(ctx, approved(t, "approve", "c1"), "approve", first.Seq)
	if err != nil || !editAgain.Duplicate || editAgain.Seq != edit.Seq {
		t.Fatalf("retry of the edit past the window: %+v %v, want a duplicate of %d", editAgain, err, edit.Seq)
	}
	createAgain, err := l.Append(ctx, env, "key-1", 0)
	if err != nil || !createAgain.Duplicate || createAgain.Seq != first.Seq {
		t.Fatalf("retry of the creation past the window: %+v %v, want a duplicate of %d", createAgain, err, first.Seq)
	}
	if n := messages(t, js); n != 2 {
		t.Fatalf("%d events stored, want 2", n)
	}
}

// TestForeignSubjectRefused: an event counts only under its own subject.
// Whoever can publish to the stream cannot make one aggregate's event count
// for another, nor one type pass for another: Load and Fold refuse the
// aggregate that holds it, naming the subject, rather than fold it.
func TestForeignSubjectRefused(t *testing.T) {
	_, _, js := natstest.Start(t)
	mustStream(t, js, 64<<20)
	l := eventlog.New(js, nil)
	ctx := context.Background()
	if _, err := l.Append(ctx, submitted(t, "c1", "Real"), "c1", 0); err != nil {
		t.Fatal(err)
	}
	publish := func(subject string, env domain.Envelope) {
		t.Helper()
		b, err := json.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		msg := nats.NewMsg(subject)
		msg.Data = b
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	// c1's submission stored under c2's subject; an approval stored as a
	// submission of c3.
	publish(domain.EventSubject(domain.AggregateConference, "c2", "submitted"), submitted(t, "c1", "Forged"))
	publish(domain.EventSubject(domain.AggregateConference, "c3", "submitted"), approved(t, "forged", "c3"))
	for _, id := range []string{"c2", "c3"} {
		_, err := l.Load(ctx, domain.AggregateConference, id)
		if err == nil || errors.Is(err, domain.ErrNotFound) || !strings.Contains(err.Error(), "not its own subject") {
			t.Fatalf("load %s: %v, want a refusal of the foreign event", id, err)
		}
		if c, _, err := eventlog.Fold[domain.Conference](ctx, l, id); err == nil {
			t.Fatalf("fold %s: %+v, want a refusal", id, c)
		}
	}
	// c1 is what its own subject holds, and nothing else.
	c, recs, err := eventlog.Fold[domain.Conference](ctx, l, "c1")
	if err != nil || len(recs) != 1 || c.Details.Title != "Real" {
		t.Fatalf("c1: %+v, %d events (%v)", c, len(recs), err)
	}
	// The subject a log writes is always the envelope's own.
	if env := submitted(t, "c4", "D"); env.Subject() != domain.EventSubject(domain.AggregateConference, "c4", "submitted") {
		t.Fatalf("subject %q", env.Subject())
	}
}

// TestFold: one load-and-fold for every aggregate: a conference and a
// resource come back folded with their events; an id with no events, or
// one that cannot be an id, is domain.ErrNotFound.
func TestFold(t *testing.T) {
	_, _, js := natstest.Start(t)
	mustStream(t, js, 64<<20)
	l := eventlog.New(js, nil)
	ctx := context.Background()
	a, err := l.Append(ctx, submitted(t, "c1", "A"), "c1", 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Append(ctx, approved(t, "ap", "c1"), "ap", a.Seq)
	if err != nil {
		t.Fatal(err)
	}
	res, err := domain.NewEnvelope("r1", "ovc", "seed", time.Now(), domain.ResourceAdded{
		Details: domain.ResourceDetails{Name: "Office for Victims of Crime", Kind: "office", Topics: []string{"victims-of-crime"}}})
	if err != nil {
		t.Fatal(err)
	}
	r1, err := l.Append(ctx, res, "r1", 0)
	if err != nil {
		t.Fatal(err)
	}
	c, recs, err := eventlog.Fold[domain.Conference](ctx, l, "c1")
	if err != nil || len(recs) != 2 || c.ID != "c1" || c.Version != b.Seq || c.Status != domain.StatusApproved {
		t.Fatalf("conference: %+v, %d events (%v)", c, len(recs), err)
	}
	r, recs, err := eventlog.Fold[domain.Resource](ctx, l, "ovc")
	if err != nil || len(recs) != 1 || r.ID != "ovc" || r.Version != r1.Seq || r.Details.Name != "Office for Victims of Crime" {
		t.Fatalf("resource: %+v, %d events (%v)", r, len(recs), err)
	}
	// Kinds are not mixed up: c1 is no resource, ovc no conference.
	for _, err := range []error{
		func() error { _, _, err := eventlog.Fold[domain.Resource](ctx, l, "c1"); return err }(),
		func() error { _, _, err := eventlog.Fold[domain.Conference](ctx, l, "ovc"); return err }(),
		func() error { _, _, err := eventlog.Fold[domain.Conference](ctx, l, "nobody"); return err }(),
		func() error { _, _, err := eventlog.Fold[domain.Conference](ctx, l, "not an id!"); return err }(),
	} {
		if !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	}
}
