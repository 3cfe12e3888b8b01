package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/projections/engine"
)

// split keeps the aggregates whose id starts with "pub" under "pub.<id>"
// and the others under "hidden.<id>", until their second event deletes
// them: a model with keys its servers must not hold, and deletions.
type split struct{}

func (split) Name() string       { return "split" }
func (split) Subjects() []string { return []string{domain.StreamSubjects} }
func (split) Apply(tx *engine.Tx[tally], r domain.Record) error {
	if !strings.HasPrefix(r.AggregateID, "pub") {
		key := "hidden." + r.AggregateID
		if _, ok := tx.Get(key); ok {
			tx.Delete(key)
			return nil
		}
		tx.Put(key, tally{N: 1, Seqs: []uint64{r.Seq}})
		return nil
	}
	t, _ := tx.Get("pub." + r.AggregateID)
	t.N++
	t.Seqs = append(t.Seqs, r.Seq)
	tx.Put("pub."+r.AggregateID, t)
	return nil
}

// TestReplicaOnlyKeys: a replica following some keys never holds the
// others, also after a rebuild moved it to a new generation; deletions
// reach the bucket and the replica.
func TestReplicaOnlyKeys(t *testing.T) {
	_, _, js := natstest.Start(t)
	log := mustLog(t, js)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := engine.NewProjector(js, split{}, engine.BucketConfig{}, quiet, nil)
	go func() { _ = p.Run(ctx) }()
	all := engine.NewReplica[tally](js, "split", quiet, nil)
	pub := engine.NewReplica[tally](js, "split", quiet, nil, engine.OnlyKeys("pub.>"))
	go func() { _ = all.Run(ctx) }()
	go func() { _ = pub.Run(ctx) }()

	appendEvents(t, log, 20, 5, "pub")    // 5 public aggregates
	appendEvents(t, log, 300, 150, "hid") // 150 hidden, each created then deleted
	appendEvents(t, log, 50, 50, "new")   // 50 hidden left
	wait := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(20 * time.Second); !cond(); {
			if time.Now().After(end) {
				t.Fatalf("timed out: %s (all %d keys, public %d)", what, all.Len(), pub.Len())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait("replicas caught up", func() bool {
		s1, _ := all.Checkpoint()
		s2, _ := pub.Checkpoint()
		return s1 == 370 && s2 == 370
	})
	if all.Len() != 55 || pub.Len() != 5 {
		t.Fatalf("all %d keys (want 55: deletions applied), public %d (want 5)", all.Len(), pub.Len())
	}
	pub.Range(func(k string, _ tally) bool {
		if !strings.HasPrefix(k, "pub.") {
			t.Errorf("the public replica holds %s", k)
		}
		return true
	})
	if pub.Size() <= 0 || pub.Size() >= all.Size() {
		t.Fatalf("sizes: public %d, all %d", pub.Size(), all.Size())
	}
	size := pub.Size()

	// A rebuild moves both to a new generation, which holds the same.
	if _, _, err := engine.Rebuild(ctx, js, split{}, engine.BucketConfig{}, quiet, nil); err != nil {
		t.Fatal(err)
	}
	wait("replicas on the new generation", func() bool {
		_, b1 := all.Checkpoint()
		_, b2 := pub.Checkpoint()
		return b1 == "split_2" && b2 == "split_2"
	})
	appendEvents(t, log, 30, 30, "more") // hidden only
	wait("caught up again", func() bool {
		s1, _ := all.Checkpoint()
		s2, _ := pub.Checkpoint()
		return s1 == 400 && s2 == 400
	})
	if pub.Len() != 5 || pub.Size() != size || all.Len() != 85 {
		t.Fatalf("after the rebuild: public %d keys, %d bytes (was %d); all %d", pub.Len(), pub.Size(), size, all.Len())
	}
}
