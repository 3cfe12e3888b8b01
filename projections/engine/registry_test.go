package engine_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/projections/engine"
)

// titles is a second projection, of another value type: the title of each
// conference.
type titles struct{}

func (titles) Name() string       { return "titles" }
func (titles) Subjects() []string { return []string{domain.StreamSubjects} }
func (titles) Apply(tx *engine.Tx[string], r domain.Record) error {
	if ev, ok := r.Event.(domain.ConferenceSubmitted); ok {
		tx.Put(r.AggregateID, ev.Details.Title)
	}
	return nil
}

// TestRegistryRunsEveryModel: what the composition root does with its one
// list, on two models of different value types: set up, project, replicate
// (and get each replica back typed), rebuild; a name listed twice is
// refused.
func TestRegistryRunsEveryModel(t *testing.T) {
	_, _, js := natstest.Start(t)
	l := mustLog(t, js)
	all := appendEvents(t, l, 40, 8, "g")
	counts, names := engine.Define[tally](counter{}), engine.Define[string](titles{})
	reg := engine.Registry{counts, names}
	if err := reg.Check(); err != nil {
		t.Fatal(err)
	}
	if err := (engine.Registry{counts, names, engine.Define[tally](counter{})}).Check(); err == nil {
		t.Fatal("a registry with a name listed twice passed its check")
	}
	if got := reg.Names(); len(got) != 2 || got[0] != "counter" || got[1] != "titles" {
		t.Fatalf("names %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	cfg := engine.BucketConfig{}
	m := engine.NewMetrics(nil)
	followers := map[string]engine.Follower{}
	for _, model := range reg {
		if bucket, err := model.Setup(ctx, js, cfg); err != nil || bucket != model.Name()+"_1" {
			t.Fatalf("setup %s: %q %v", model.Name(), bucket, err)
		}
		p := model.NewProjector(js, cfg, quiet, m)
		wg.Go(func() { _ = p.Run(ctx) })
		select {
		case <-p.CaughtUp():
		case <-time.After(20 * time.Second):
			t.Fatalf("%s projector did not catch up", model.Name())
		}
		f := model.NewReplica(js, quiet, m)
		followers[model.Name()] = f
		wg.Go(func() { _ = f.Run(ctx) })
		select {
		case <-f.Ready():
		case <-time.After(20 * time.Second):
			t.Fatalf("%s replica did not load", model.Name())
		}
	}
	if counts.Replica(followers["titles"]) != nil || names.Replica(followers["counter"]) != nil || counts.Replica(nil) != nil {
		t.Fatal("a replica came back as another model's")
	}
	cr, tr := counts.Replica(followers["counter"]), names.Replica(followers["titles"])
	if cr == nil || tr == nil || cr.Len() != len(all) || tr.Len() != len(all) {
		t.Fatalf("replicas: %v %v", cr, tr)
	}
	for id, seqs := range all {
		if c, _ := cr.Get(id); c.N != len(seqs) {
			t.Fatalf("counter of %s: %d, want %d", id, c.N, len(seqs))
		}
		if title, _ := tr.Get(id); title != id {
			t.Fatalf("title of %s: %q", id, title)
		}
	}
	res, err := reg.Rebuild(ctx, js, cfg, quiet, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := lastSeq(all)
	if len(res) != 2 || res[0] != (engine.Rebuilt{Projection: "counter", Bucket: "counter_2", Sequence: last}) ||
		res[1] != (engine.Rebuilt{Projection: "titles", Bucket: "titles_2", Sequence: last}) {
		t.Fatalf("rebuild: %+v (last event %d)", res, last)
	}
}
