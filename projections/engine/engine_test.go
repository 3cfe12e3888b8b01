package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/projections/engine"
)

// tally counts the events of each aggregate and remembers the sequences, so
// that an event applied twice or skipped shows.
type tally struct {
	N    int      `json:"n"`
	Seqs []uint64 `json:"seqs"`
}

type counter struct{}

func (counter) Name() string       { return "counter" }
func (counter) Subjects() []string { return []string{domain.StreamSubjects} }
func (counter) Apply(tx *engine.Tx[tally], r domain.Record) error {
	t, _ := tx.Get(r.AggregateID)
	t.N++
	t.Seqs = append(t.Seqs, r.Seq)
	tx.Put(r.AggregateID, t)
	return nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func mustLog(t *testing.T, js jetstream.JetStream) *eventlog.Log {
	t.Helper()
	if _, err := eventlog.EnsureStream(context.Background(), js, eventlog.StreamConfig{MaxBytes: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	return eventlog.New(js, nil)
}

// appendEvents appends n events spread over aggs aggregates and returns the
// sequences per aggregate.
func appendEvents(t *testing.T, l *eventlog.Log, n, aggs int, tag string) map[string][]uint64 {
	t.Helper()
	ctx := context.Background()
	last := map[string]uint64{}
	out := map[string][]uint64{}
	for i := range n {
		id := fmt.Sprintf("%s%d", tag, i%aggs)
		var ev domain.Event = domain.ConferenceApproved{Note: tag}
		if _, ok := last[id]; !ok {
			ev = domain.ConferenceSubmitted{Details: domain.ConferenceDetails{Title: id}}
		}
		env, err := domain.NewEnvelope(fmt.Sprintf("%s-%d", tag, i), id, "test", time.Now(), ev)
		if err != nil {
			t.Fatal(err)
		}
		a, err := l.Append(ctx, env, env.ID, last[id])
		if err != nil {
			t.Fatal(err)
		}
		seq := a.Seq
		last[id] = seq
		out[id] = append(out[id], seq)
	}
	return out
}

// bucketValues reads a bucket's raw bytes per key; false when it cannot
// be read right now (a busy server, a bucket being created).
func bucketValues(t *testing.T, js jetstream.JetStream, bucket string) (map[string]string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		return nil, false
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, false
	}
	defer w.Stop()
	out := map[string]string{}
	for {
		select {
		case e := <-w.Updates():
			if e == nil {
				return out, true
			}
			out[e.Key()] = string(e.Value())
		case <-ctx.Done():
			return nil, false
		}
	}
}

// activeBucket reads the pointer to the active generation; "" while there
// is none yet.
func activeBucket(t *testing.T, js jetstream.JetStream, name string) string {
	t.Helper()
	kv, err := js.KeyValue(context.Background(), engine.MetaBucket)
	if err != nil {
		return ""
	}
	e, err := kv.Get(context.Background(), "readmodel."+name)
	if err != nil {
		return ""
	}
	return string(e.Value())
}

// waitCheckpoint polls the active bucket until its checkpoint reaches seq.
func waitCheckpoint(t *testing.T, js jetstream.JetStream, name string, seq uint64) map[string]string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b := activeBucket(t, js, name); b != "" {
			if v, ok := bucketValues(t, js, b); ok && checkpointOf(t, v).Seq == seq {
				return v
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("checkpoint of %s never reached %d", name, seq)
	return nil
}

// checkpointOf decodes the checkpoint of a bucket's values.
func checkpointOf(t *testing.T, values map[string]string) engine.Checkpoint {
	t.Helper()
	var cp engine.Checkpoint
	if v, ok := values[engine.CheckpointKey]; ok {
		if err := json.Unmarshal([]byte(v), &cp); err != nil {
			t.Fatalf("checkpoint %q: %v", v, err)
		}
	}
	return cp
}

func checkTallies(t *testing.T, got map[string]string, want map[string][]uint64) {
	t.Helper()
	if len(got) != len(want)+1 {
		t.Fatalf("model has %d keys, want %d aggregates and the checkpoint", len(got), len(want))
	}
	for id, seqs := range want {
		w := fmt.Sprintf(`{"n":%d,"seqs":%s}`, len(seqs), jsonSeqs(seqs))
		if got[id] != w {
			t.Fatalf("%s = %s, want %s", id, got[id], w)
		}
	}
}

func jsonSeqs(s []uint64) string {
	out := "["
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += fmt.Sprint(v)
	}
	return out + "]"
}

func merge(a, b map[string][]uint64) map[string][]uint64 {
	out := map[string][]uint64{}
	for k, v := range a {
		out[k] = append(out[k], v...)
	}
	for k, v := range b {
		out[k] = append(out[k], v...)
	}
	return out
}

func lastSeq(m map[string][]uint64) uint64 {
	var max uint64
	for _, s := range m {
		if s[len(s)-1] > max {
			max = s[len(s)-1]
		}
	}
	return max
}

func runProjector(t *testing.T, js jetstream.JetStream) (*engine.Projector[tally], context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := engine.NewProjector[tally](js, counter{}, engine.BucketConfig{}, quiet, nil)
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return p, stop
}

// TestProjectorAppliesEveryEventOnceAcrossRestarts: the checkpoint travels
// with the model, so a restarted projector neither repeats nor skips.
func TestProjectorAppliesEveryEventOnceAcrossRestarts(t *testing.T) {
	_, _, js := natstest.Start(t)
	l := mustLog(t, js)
	first := appendEvents(t, l, 2500, 300, "a") // more than one batch of keys
	p, stop := runProjector(t, js)
	select {
	case <-p.CaughtUp():
	case <-time.After(20 * time.Second):
		t.Fatal("projector did not catch up")
	}
	checkTallies(t, waitCheckpoint(t, js, "counter", lastSeq(first)), first)
	stop()

	second := appendEvents(t, l, 700, 450, "b")
	all := merge(first, second)
	runProjector(t, js)
	checkTallies(t, waitCheckpoint(t, js, "counter", lastSeq(all)), all)
}

// TestRacingProjectorsAgree: projectors racing on one model past the lease
// end with every event applied exactly once (the refusal itself is
// TestStaleCommitIsRefused).
func TestRacingProjectorsAgree(t *testing.T) {
	_, _, js := natstest.Start(t)
	l := mustLog(t, js)
	m := engine.NewMetrics(nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		p := engine.NewProjector[tally](js, counter{}, engine.BucketConfig{}, quiet, m)
		wg.Go(func() { p.LeadForTest(ctx) })
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	var all map[string][]uint64
	for i := range 4 {
		all = merge(all, appendEvents(t, l, 150, 50, fmt.Sprint("r", i)))
		time.Sleep(50 * time.Millisecond)
	}
	checkTallies(t, waitCheckpoint(t, js, "counter", lastSeq(all)), all)
}

// TestStaleCommitIsRefused: a commit based on a checkpoint revision that is
// no longer current writes nothing, neither its keys nor its checkpoint.
func TestStaleCommitIsRefused(t *testing.T) {
	_, _, js := natstest.Start(t)
	l := mustLog(t, js)
	all := appendEvents(t, l, 50, 5, "f")
	_, stop := runProjector(t, js)
	before := waitCheckpoint(t, js, "counter", lastSeq(all))
	stop()
	bucket := activeBucket(t, js, "counter")
	kv, err := js.KeyValue(context.Background(), bucket)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := kv.Get(context.Background(), engine.CheckpointKey)
	if err != nil {
		t.Fatal(err)
	}
	stale := engine.NewProjector[tally](js, counter{}, engine.BucketConfig{}, quiet, nil)
	err = stale.CommitForTest(context.Background(), bucket, "intruder", []byte(`{"n":1}`), lastSeq(all)+100, cp.Revision()-1)
	if !errors.Is(err, engine.ErrFenced) {
		t.Fatalf("stale commit: %v, want fenced", err)
	}
	after, ok := bucketValues(t, js, bucket)
	if !ok || len(after) != len(before) || after[engine.CheckpointKey] != before[engine.CheckpointKey] {
		t.Fatalf("a refused commit changed the model:\nbefore %v\nafter  %v", before, after)
	}
	// The current revision is accepted: the condition, not the writer, decides.
	if err := stale.CommitForTest(context.Background(), bucket, "next", []byte(`{"n":1}`), lastSeq(all)+100, cp.Revision()); err != nil {
		t.Fatalf("commit at the current revision: %v", err)
	}
}

// TestStandbyTakesOverFromADeadProjector: with several projectors one
// applies; when it dies without a word (its connection gone), a standby
// takes the lapsed lease and goes on from the checkpoint, applying nothing
// twice.
func TestStandbyTakesOverFromADeadProjector(t *testing.T) {
	ns, _, js := natstest.Start(t)
	l := mustLog(t, js)
	cfg := engine.BucketConfig{LeaseTTL: 2 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	conns := map[string]*nats.Conn{} // by projector instance
	for range 3 {
		nc, pjs := natstest.Connect(t, ns)
		p := engine.NewProjector[tally](pjs, counter{}, cfg, quiet, nil)
		conns[p.Instance()] = nc
		wg.Go(func() { _ = p.Run(ctx) })
	}
	all := appendEvents(t, l, 300, 40, "a")
	waitCheckpoint(t, js, "counter", lastSeq(all))

	leases, err := js.KeyValue(context.Background(), engine.LeaseBucket)
	if err != nil {
		t.Fatal(err)
	}
	holder := func() string {
		e, err := leases.Get(context.Background(), "projector.counter")
		if err != nil {
			return ""
		}
		return string(e.Value())
	}
	first := holder()
	if conns[first] == nil {
		t.Fatalf("the lease names %q, not one of the projectors", first)
	}
	conns[first].Close() // a crash: no release, no renewal
	deadline := time.Now().Add(4 * cfg.LeaseTTL)
	for h := holder(); h == first || h == ""; h = holder() {
		if time.Now().After(deadline) {
			t.Fatalf("no standby took over (holder %q)", h)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if conns[holder()] == nil {
		t.Fatalf("the lease went to %q, not a standby", holder())
	}
	all = merge(all, appendEvents(t, l, 300, 60, "b"))
	checkTallies(t, waitCheckpoint(t, js, "counter", lastSeq(all)), all)
}

// TestRebuildIsByteIdentical: replaying the log into a new generation gives
// the same bytes as the model built incrementally, and the live projector
// and replicas move to it.
func TestRebuildIsByteIdentical(t *testing.T) {
	_, _, js := natstest.Start(t)
	l := mustLog(t, js)
	all := appendEvents(t, l, 400, 50, "x")
	runProjector(t, js)
	// Build the live model in several steps, so it is made of many commits.
	for i := range 4 {
		waitCheckpoint(t, js, "counter", lastSeq(all))
		all = merge(all, appendEvents(t, l, 200, 60, fmt.Sprint("y", i)))
	}
	live := waitCheckpoint(t, js, "counter", lastSeq(all))
	before := activeBucket(t, js, "counter")

	replica := engine.NewReplica[tally](js, "counter", quiet, nil)
	rctx, rcancel := context.WithCancel(context.Background())
	defer rcancel()
	go func() { _ = replica.Run(rctx) }()
	<-replica.Ready()

	bucket, seq, err := engine.Rebuild[tally](context.Background(), js, counter{}, engine.BucketConfig{}, quiet, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bucket == before || seq != lastSeq(all) {
		t.Fatalf("rebuild gave %s at %d, want a new bucket at %d (was %s)", bucket, seq, lastSeq(all), before)
	}
	rebuilt, ok := bucketValues(t, js, bucket)
	if !ok {
		t.Fatal("cannot read the rebuilt bucket")
	}
	if len(rebuilt) != len(live) {
		t.Fatalf("rebuilt model has %d keys, live %d", len(rebuilt), len(live))
	}
	for k, v := range live {
		if rebuilt[k] != v {
			t.Fatalf("key %s differs:\nlive    %s\nrebuilt %s", k, v, rebuilt[k])
		}
	}
	if got := activeBucket(t, js, "counter"); got != bucket {
		t.Fatalf("active generation is %s, want %s", got, bucket)
	}

	// The live projector follows the switch and goes on in the new bucket.
	more := appendEvents(t, l, 100, 70, "z")
	all = merge(all, more)
	checkTallies(t, waitCheckpoint(t, js, "counter", lastSeq(all)), all)
	deadline := time.Now().Add(10 * time.Second)
	for {
		seq, b := replica.Checkpoint()
		if seq == lastSeq(all) && b == bucket {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica at %d in %s, want %d in %s", seq, b, lastSeq(all), bucket)
		}
		time.Sleep(20 * time.Millisecond)
	}
	got, ok := replica.Get("x1")
	if want := all["x1"]; !ok || got.N != len(want) {
		t.Fatalf("replica x1 = %+v, want %d events", got, len(want))
	}
}
