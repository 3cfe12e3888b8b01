package asof_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/projections/asof"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/directory"
	"github.com/justiceevents/jevents/projections/engine"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var models = []engine.Model{calendar.Model, directory.Model}

// writeDays appends, for each of n days from start, one conference
// submitted at 09:00 and approved at 10:00; the description pads each
// record to about size bytes. It returns the time of each approval.
func writeDays(t *testing.T, js jetstream.JetStream, start time.Time, n, size int) []time.Time {
	t.Helper()
	if _, err := eventlog.EnsureStream(context.Background(), js, eventlog.StreamConfig{MaxBytes: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	l := eventlog.New(js, nil)
	var out []time.Time
	for i := range n {
		id := fmt.Sprintf("c%03d", i)
		day := start.Add(time.Duration(i) * 24 * time.Hour)
		d := domain.ConferenceDetails{Title: "Conference " + id, Description: noise(size, i), AllDay: true,
			Start: "2031-01-01", End: "2031-01-02", Format: domain.FormatOnline, Topics: []string{"courts"}}
		sub, _ := domain.NewEnvelope(id+"-s", id, "t", day.Add(9*time.Hour), domain.ConferenceSubmitted{Details: d, Contact: domain.Contact{Email: "o@example.org"}})
		a, err := l.Append(context.Background(), sub, sub.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		app, _ := domain.NewEnvelope(id+"-a", id, "t", day.Add(10*time.Hour), domain.ConferenceApproved{})
		if _, err := l.Append(context.Background(), app, app.ID, a.Seq); err != nil {
			t.Fatal(err)
		}
		out = append(out, app.Time)
	}
	return out
}

// noise is text that does not compress: the snapshots that carry it need
// several chunks.
func noise(n, seed int) string {
	var b strings.Builder
	x := uint32(seed*7919 + 1)
	for b.Len() < n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteByte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"[x%64])
	}
	return b.String()
}

func serve(t *testing.T, nc *nats.Conn, r *asof.Replayer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = r.Serve(ctx, nc) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	time.Sleep(50 * time.Millisecond) // the subscription is made
}

// TestSnapshotsFollowTheInstant: each instant gets the prefix of the log
// stamped up to it, with the keys servers hold only (no pending
// conference), through NATS in chunks when large; a requester that holds
// the prefix gets no bytes again.
func TestSnapshotsFollowTheInstant(t *testing.T) {
	_, nc, js := natstest.Start(t)
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(-20 * 24 * time.Hour)
	approvals := writeDays(t, js, start, 8, 120_000) // about 1 MB of records, 700 kB compressed: two chunks
	r := asof.NewReplayer(js, asof.Config{Models: models, CheckpointEvery: 5}, quiet, nil)
	serve(t, nc, r)
	c := asof.NewClient(nc)
	ctx := context.Background()
	if _, data, err := r.Snapshot(ctx, approvals[len(approvals)-1]); err != nil || len(data) < 600<<10 {
		t.Fatalf("the last snapshot takes %d bytes (%v): not enough for two chunks", len(data), err)
	}
	for _, i := range []int{0, 4, 7} {
		at := approvals[i]
		for _, when := range []time.Time{at.Add(-30 * time.Minute), at} { // submitted, then approved
			ref, snap, err := c.Snapshot(ctx, when, nil)
			if err != nil {
				t.Fatal(err)
			}
			public := i
			if when == at {
				public = i + 1
			}
			if got := len(snap.Models[calendar.Name]); got != public || ref.Seq != snap.Seq || !snap.AsOf.Equal(when) {
				t.Fatalf("as of %s: %d public conferences (want %d), seq %d/%d", when, got, public, ref.Seq, snap.Seq)
			}
			for k := range snap.Models[calendar.Name] {
				if !strings.HasPrefix(k, calendar.KeyPrefix) {
					t.Fatalf("the snapshot holds %s, which servers never hold", k)
				}
			}
			// Asked again by one who holds it: the prefix, no bytes.
			again, none, err := c.Snapshot(ctx, when, []asof.Ref{ref})
			if err != nil || none != nil || again.Key() != ref.Key() {
				t.Fatalf("asked again: %v %v %v", again, none, err)
			}
		}
	}
	// Backwards: from a checkpoint, the same answer.
	ref, snap, err := c.Snapshot(ctx, approvals[2], nil)
	if err != nil || len(snap.Models[calendar.Name]) != 3 || ref.Seq != 6 {
		t.Fatalf("back to day 2: seq %d, %v", ref.Seq, err)
	}
	// Before the first event: nothing.
	if ref, snap, err := c.Snapshot(ctx, start, nil); err != nil || ref.Seq != 0 || len(snap.Models[calendar.Name]) != 0 {
		t.Fatalf("before the log: %v %v", ref, err)
	}
	if _, _, err := c.Snapshot(ctx, time.Now().Add(time.Minute), nil); !errors.Is(err, asof.ErrFuture) {
		t.Fatalf("the future: %v", err)
	}
}

// TestReplaysKeepToTheirBudget: a request that needs more events than the
// budget is refused over budget, and the next goes on from where it
// stopped; requests past the queue are refused busy at once; without a
// replayer, unavailable.
func TestReplaysKeepToTheirBudget(t *testing.T) {
	_, nc, js := natstest.Start(t)
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(-30 * 24 * time.Hour)
	approvals := writeDays(t, js, start, 20, 10)
	c := asof.NewClient(nc)
	ctx := context.Background()
	if _, _, err := c.Snapshot(ctx, approvals[3], nil); !errors.Is(err, asof.ErrUnavailable) {
		t.Fatalf("without a replayer: %v", err)
	}
	r := asof.NewReplayer(js, asof.Config{Models: models, MaxEvents: 15}, quiet, nil)
	serve(t, nc, r)
	last := approvals[len(approvals)-1]
	if _, _, err := c.Snapshot(ctx, last, nil); !errors.Is(err, asof.ErrOverBudget) {
		t.Fatalf("40 events with a budget of 15: %v", err)
	}
	if _, _, err := c.Snapshot(ctx, last, nil); !errors.Is(err, asof.ErrOverBudget) {
		t.Fatalf("second try (30 of 40): %v", err)
	}
	ref, snap, err := c.Snapshot(ctx, last, nil)
	if err != nil || ref.Seq != 40 || len(snap.Models[calendar.Name]) != 20 {
		t.Fatalf("third try goes on to the end: %v %v", ref, err)
	}

	// The queue: one replays, Queue wait, the rest are refused busy.
	slow := asof.NewReplayer(js, asof.Config{Models: models, Queue: 1}, quiet, nil)
	release := asof.HoldForTest(slow, 2)
	if _, _, err := slow.Snapshot(ctx, last); !errors.Is(err, asof.ErrBusy) {
		t.Fatalf("past the queue: %v", err)
	}
	release()
	if _, _, err := slow.Snapshot(ctx, last); err != nil {
		t.Fatalf("with room again: %v", err)
	}
}
