package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/internal/embednats"
	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/projections/engine"
)

func streamCreated(t *testing.T, js jetstream.JetStream) time.Time {
	t.Helper()
	s, err := js.Stream(context.Background(), domain.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().Created
}

// TestStreamIdentitySurvivesRestartsAndUpdates: the identity a checkpoint
// records (the stream's creation time) stays the same across a server
// restart and a change of the stream's configuration, and differs for a
// stream created again under the same name.
func TestStreamIdentitySurvivesRestartsAndUpdates(t *testing.T) {
	dir := t.TempDir()
	ns := natstest.Server(t, dir)
	_, js := natstest.Connect(t, ns)
	mustLog(t, js)
	created := streamCreated(t, js)
	if _, err := eventlog.EnsureStream(context.Background(), js, eventlog.StreamConfig{MaxBytes: 2 << 30}); err != nil {
		t.Fatal(err)
	}
	if got := streamCreated(t, js); !got.Equal(created) {
		t.Fatalf("an update changed the creation time: %v → %v", created, got)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	ns2, err := embednats.Start(context.Background(), embednats.Config{StoreDir: dir, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer ns2.Shutdown()
	_, js2 := natstest.Connect(t, ns2)
	if got := streamCreated(t, js2); !got.Equal(created) {
		t.Fatalf("a restart changed the creation time: %v → %v", created, got)
	}
	if err := js2.DeleteStream(context.Background(), domain.StreamName); err != nil {
		t.Fatal(err)
	}
	mustLog(t, js2)
	if got := streamCreated(t, js2); got.Equal(created) {
		t.Fatal("a stream created again has the same creation time")
	}
}

// TestRecreatedStreamIsRebuiltNotSkipped: a stream removed and created
// again under a running projector (a reset log) is noticed: the projector
// rebuilds its read model from the new log into a new generation, the new
// events reach it, none of the old log's remain, and the old generation is
// removed. Before, the projector kept its checkpoint and waited for
// sequences the new log had already used: the new events never arrived.
func TestRecreatedStreamIsRebuiltNotSkipped(t *testing.T) {
	_, _, js := natstest.Start(t)
	l := mustLog(t, js)
	old := appendEvents(t, l, 300, 30, "old")
	m := engine.NewMetrics(nil)
	ctx, cancel := context.WithCancel(context.Background())
	p := engine.NewProjector[tally](js, counter{}, engine.BucketConfig{}, quiet, m)
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	checkTallies(t, waitCheckpoint(t, js, "counter", lastSeq(old)), old)
	oldBucket := activeBucket(t, js, "counter")

	// The admin removes the stream and creates it again.
	if err := js.DeleteStream(context.Background(), domain.StreamName); err != nil {
		t.Fatal(err)
	}
	time.Sleep(engine.StreamCheckInterval + 500*time.Millisecond) // the projector sees it missing
	l = mustLog(t, js)
	fresh := appendEvents(t, l, 40, 10, "new") // sequences 1..40: below the old checkpoint
	if lastSeq(fresh) >= lastSeq(old) {
		t.Fatal("the new log should end below the old checkpoint")
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		b := activeBucket(t, js, "counter")
		if v, ok := bucketValues(t, js, b); ok && b != oldBucket && checkpointOf(t, v).Seq == lastSeq(fresh) {
			checkTallies(t, v, fresh) // only the new log: nothing of the old lingers
			cp := checkpointOf(t, v)
			if cp.Stream == nil || !cp.Stream.Created.Equal(streamCreated(t, js)) {
				t.Fatalf("the checkpoint names %+v, not the new stream", cp.Stream)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the read model was never rebuilt from the new log (active %s)", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := js.KeyValue(context.Background(), oldBucket); err == nil {
		t.Fatalf("the old generation %s is still stored", oldBucket)
	}
	// And it goes on from there.
	more := appendEvents(t, l, 30, 5, "more")
	checkTallies(t, waitCheckpoint(t, js, "counter", lastSeq(more)), merge(fresh, more))
}

// TestOldCheckpointBeyondTheLogIsRebuilt: a checkpoint written before
// checkpoints named their stream, past the end of the log, means the log
// was reset: the model is rebuilt, not left waiting.
func TestOldCheckpointBeyondTheLogIsRebuilt(t *testing.T) {
	_, _, js := natstest.Start(t)
	l := mustLog(t, js)
	events := appendEvents(t, l, 20, 4, "e")
	bucket, err := engine.Setup(context.Background(), js, "counter", engine.BucketConfig{})
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(context.Background(), bucket)
	if err != nil {
		t.Fatal(err)
	}
	// An old-style checkpoint far ahead, and a key of the log that was.
	if _, err := kv.Put(context.Background(), engine.CheckpointKey, []byte(`{"seq":5000}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(context.Background(), "ghost", []byte(`{"n":1,"seqs":[4999]}`)); err != nil {
		t.Fatal(err)
	}
	runProjector(t, js)
	checkTallies(t, waitCheckpoint(t, js, "counter", lastSeq(events)), events)
}

// TestProjectorTakesBackItsOwnLease: a projector that finds the lease in
// its own name (it lost it after errors while the key outlived the lapse)
// takes it back at once instead of standing by behind itself until the
// lease expires.
func TestProjectorTakesBackItsOwnLease(t *testing.T) {
	_, _, js := natstest.Start(t)
	l := mustLog(t, js)
	events := appendEvents(t, l, 20, 4, "o")
	if _, err := engine.Setup(context.Background(), js, "counter", engine.BucketConfig{}); err != nil {
		t.Fatal(err)
	}
	p := engine.NewProjector[tally](js, counter{}, engine.BucketConfig{}, quiet, nil)
	leases, err := js.KeyValue(context.Background(), engine.LeaseBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leases.Put(context.Background(), "projector.counter", []byte(p.Instance())); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-p.CaughtUp():
	case <-time.After(engine.DefaultLeaseTTL / 2):
		t.Fatal("the projector stood by behind its own lease")
	}
	checkTallies(t, waitCheckpoint(t, js, "counter", lastSeq(events)), events)
}

// TestStaleLeaseIsTakenOverAtOnce: a lease last renewed before the moment
// no live projector can have renewed it (the embedded server's start) is
// a dead process's: the projector takes over at once. A lease renewed
// after that moment is respected.
func TestStaleLeaseIsTakenOverAtOnce(t *testing.T) {
	_, _, js := natstest.Start(t)
	l := mustLog(t, js)
	events := appendEvents(t, l, 20, 4, "s")
	if _, err := engine.Setup(context.Background(), js, "counter", engine.BucketConfig{}); err != nil {
		t.Fatal(err)
	}
	leases, _ := js.KeyValue(context.Background(), engine.LeaseBucket)
	if _, err := leases.Put(context.Background(), "projector.counter", []byte("ghost-of-a-former-process")); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	fresh := engine.NewProjector[tally](js, counter{}, engine.BucketConfig{StaleBefore: started.Add(-time.Minute)}, quiet, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = fresh.Run(ctx) }()
	select {
	case <-fresh.CaughtUp():
		t.Fatal("took over a lease renewed after StaleBefore")
	case <-time.After(2 * time.Second):
	}
	cancel()
	<-done

	p := engine.NewProjector[tally](js, counter{}, engine.BucketConfig{StaleBefore: time.Now()}, quiet, nil)
	ctx, cancel = context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-p.CaughtUp():
	case <-time.After(engine.DefaultLeaseTTL / 2):
		t.Fatal("the projector waited for a dead process's lease")
	}
	checkTallies(t, waitCheckpoint(t, js, "counter", lastSeq(events)), events)
}

// TestRebuildRemovesOldGenerations: after a switch only the active
// generation is stored (it used to keep the previous one as well).
func TestRebuildRemovesOldGenerations(t *testing.T) {
	_, _, js := natstest.Start(t)
	l := mustLog(t, js)
	events := appendEvents(t, l, 50, 5, "g")
	runProjector(t, js)
	waitCheckpoint(t, js, "counter", lastSeq(events))
	var bucket string
	for range 3 {
		var err error
		if bucket, _, err = engine.Rebuild[tally](context.Background(), js, counter{}, engine.BucketConfig{}, quiet, nil); err != nil {
			t.Fatal(err)
		}
	}
	var generations []string
	for name := range js.KeyValueStoreNames(context.Background()).Name() {
		if strings.HasPrefix(name, "counter_") {
			generations = append(generations, name)
		}
	}
	if len(generations) != 1 || generations[0] != bucket {
		t.Fatalf("generations stored after three rebuilds: %v, want only %s", generations, bucket)
	}
	more := appendEvents(t, l, 10, 3, "h")
	checkTallies(t, waitCheckpoint(t, js, "counter", lastSeq(more)), merge(events, more))
}
