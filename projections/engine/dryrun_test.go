package engine_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/projections/engine"
)

// titlesV2 is a changed version of the titles projection (same name, so
// the same read model): titles of aggregates ending in 3 in upper case,
// aggregate g5 no longer kept, and one key more.
type titlesV2 struct{}

func (titlesV2) Name() string       { return "titles" }
func (titlesV2) Subjects() []string { return []string{domain.StreamSubjects} }
func (titlesV2) Apply(tx *engine.Tx[string], r domain.Record) error {
	ev, ok := r.Event.(domain.ConferenceSubmitted)
	switch {
	case !ok:
		return nil
	case r.AggregateID == "g5":
		return nil
	case strings.HasSuffix(r.AggregateID, "3"):
		tx.Put(r.AggregateID, strings.ToUpper(ev.Details.Title))
	default:
		tx.Put(r.AggregateID, ev.Details.Title)
	}
	tx.Put("count", "submissions")
	return nil
}

// TestDryRunReportsExactlyWhatChanges: a dry run of an unchanged
// projection reports nothing; one of a changed projection reports exactly
// the keys it adds, removes and changes, with their fields, while
// projecting goes on and nothing switches or is written.
func TestDryRunReportsExactlyWhatChanges(t *testing.T) {
	_, _, js := natstest.Start(t)
	l := mustLog(t, js)
	appendEvents(t, l, 60, 12, "g") // g0 … g11
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	cfg := engine.BucketConfig{}
	v1 := engine.Define[string](titles{})
	if _, err := v1.Setup(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	p := v1.NewProjector(js, cfg, quiet, nil)
	wg.Go(func() { _ = p.Run(ctx) })
	select {
	case <-p.CaughtUp():
	case <-time.After(20 * time.Second):
		t.Fatal("projector did not catch up")
	}
	before, _ := bucketValues(t, js, "titles_1")

	same, err := v1.DryRun(ctx, js, cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if !same.Unchanged() || same.Records != 12 || same.Active != "titles_1" {
		t.Fatalf("dry run of the same projection: %+v", same)
	}

	var calls []uint64
	v2 := engine.Define[string](titlesV2{})
	d, err := v2.DryRun(ctx, js, cfg, quiet, engine.WithProgress(func(name string, done, total uint64) {
		if name != "titles" || done > total {
			t.Errorf("progress %s %d/%d", name, done, total)
		}
		calls = append(calls, done)
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Added, []string{"count"}) || !slices.Equal(d.Removed, []string{"g5"}) ||
		!slices.Equal(d.Changed, []string{"g3"}) || d.AddedCount != 1 || d.RemovedCount != 1 || d.ChangedCount != 1 {
		t.Fatalf("dry run: added %v removed %v changed %v", d.Added, d.Removed, d.Changed)
	}
	if len(d.Samples) != 1 || d.Samples[0].Key != "g3" || len(d.Samples[0].Fields) != 1 ||
		string(d.Samples[0].Fields[0].Old) != `"g3"` || string(d.Samples[0].Fields[0].New) != `"G3"` {
		t.Fatalf("samples: %+v", d.Samples)
	}
	if len(calls) == 0 || calls[len(calls)-1] != d.Sequence {
		t.Fatalf("progress calls %v, want them to end at %d", calls, d.Sequence)
	}
	if got := activeBucket(t, js, "titles"); got != "titles_1" {
		t.Fatalf("the pointer moved to %q", got)
	}
	after, _ := bucketValues(t, js, "titles_1")
	if len(after) != len(before) {
		t.Fatalf("the active generation changed: %d keys, was %d", len(after), len(before))
	}
	ctx2, cancel2 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel2()
	for name := range js.KeyValueStoreNames(ctx2).Name() {
		if strings.HasPrefix(name, "titles") && name != "titles_1" {
			t.Fatalf("the dry run left bucket %s", name)
		}
	}
}

// TestFoldIsWhatTheProjectorCommits: an in-memory fold of the log up to a
// sequence holds the bytes the projector's bucket holds at that
// checkpoint, and a fold resumed from an encoded snapshot goes on the same.
func TestFoldIsWhatTheProjectorCommits(t *testing.T) {
	_, _, js := natstest.Start(t)
	l := mustLog(t, js)
	all := appendEvents(t, l, 50, 7, "f")
	ctx := context.Background()
	counts := engine.Define[tally](counter{})
	bucket, last, err := counts.Rebuild(ctx, js, engine.BucketConfig{}, quiet, nil)
	if err != nil || last != lastSeq(all) {
		t.Fatalf("rebuild to %d: %v", last, err)
	}
	stored, _ := bucketValues(t, js, bucket)

	whole, half := counts.NewFold(), counts.NewFold()
	var snap map[string]json.RawMessage
	took, end, err := engine.Replay(ctx, js, 1, func(rd engine.Read) bool {
		whole.Apply(rd.Record, rd.DecodeErr)
		if rd.Seq <= last/2 {
			half.Apply(rd.Record, rd.DecodeErr)
			if rd.Seq == last/2 {
				snap, _ = half.Encode(true)
			}
		}
		return true
	})
	if err != nil || took != last || end != last {
		t.Fatalf("replay took %d of %d: %v", took, end, err)
	}
	enc, err := whole.Encode(true)
	if err != nil {
		t.Fatal(err)
	}
	if len(enc)+1 != len(stored) { // the bucket has its checkpoint too
		t.Fatalf("fold holds %d keys, bucket %d", len(enc), len(stored))
	}
	for k, v := range enc {
		if stored[k] != string(v) {
			t.Fatalf("key %s: fold %s, bucket %s", k, v, stored[k])
		}
	}
	resumed := counts.NewFold()
	if err := resumed.Load(snap); err != nil {
		t.Fatal(err)
	}
	if _, _, err := engine.Replay(ctx, js, last/2+1, func(rd engine.Read) bool {
		resumed.Apply(rd.Record, rd.DecodeErr)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	again, _ := resumed.Encode(true)
	for k, v := range enc {
		if string(again[k]) != string(v) {
			t.Fatalf("resumed fold, key %s: %s, want %s", k, again[k], v)
		}
	}
	// A replay stopped by its reader says where.
	took, _, err = engine.Replay(ctx, js, 1, func(rd engine.Read) bool { return rd.Seq < 10 })
	if err != nil || took != 9 {
		t.Fatalf("stopped replay took %d: %v", took, err)
	}
}

func TestSubjectMatches(t *testing.T) {
	for _, tc := range []struct {
		filter, subject string
		want            bool
	}{
		{"conference.>", "conference.c1", true},
		{"conference.>", "conference", false},
		{"conference.>", "unpublished.c1", false},
		{"events.conference.>", "events.conference.c1.submitted", true},
		{"events.*.c1.*", "events.resource.c1.added", true},
		{"events.*.c1.*", "events.resource.c2.added", false},
		{"events.*.c1.*", "events.resource.c1", false},
		{"a.b", "a.b", true},
		{"a.b", "a.b.c", false},
		{">", "anything.at.all", true},
	} {
		if got := engine.SubjectMatches(tc.filter, tc.subject); got != tc.want {
			t.Errorf("SubjectMatches(%q, %q) = %v", tc.filter, tc.subject, got)
		}
	}
}
