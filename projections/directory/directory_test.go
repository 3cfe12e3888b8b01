package directory_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/projections/directory"
	"github.com/justiceevents/jevents/projections/engine"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// writer appends resource events as the producer would.
type writer struct {
	t    testing.TB
	log  *eventlog.Log
	last map[string]uint64
	n    int
}

func newWriter(t testing.TB, js jetstream.JetStream) *writer {
	t.Helper()
	if _, err := eventlog.EnsureStream(context.Background(), js, eventlog.StreamConfig{MaxBytes: 256 << 20}); err != nil {
		t.Fatal(err)
	}
	return &writer{t: t, log: eventlog.New(js, nil), last: map[string]uint64{}}
}

func (w *writer) append(id string, e domain.Event) uint64 {
	w.t.Helper()
	w.n++
	env, err := domain.NewEnvelope(fmt.Sprint("ev-", w.n), id, "editor", time.Now(), e)
	if err != nil {
		w.t.Fatal(err)
	}
	a, err := w.log.Append(context.Background(), env, env.ID, w.last[id])
	if err != nil {
		w.t.Fatal(err)
	}
	seq := a.Seq
	w.last[id] = seq
	return seq
}

func details(name, short string, topics ...string) domain.ResourceDetails {
	return domain.ResourceDetails{Name: name, ShortName: short, Kind: domain.KindOffice, Description: "About " + name + ".", Topics: topics}
}

// bucketValues reads a bucket's raw bytes per key.
func bucketValues(t *testing.T, js jetstream.JetStream, bucket string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	out := map[string]string{}
	for {
		select {
		case e := <-w.Updates():
			if e == nil {
				return out
			}
			out[e.Key()] = string(e.Value())
		case <-ctx.Done():
			t.Fatal("timed out reading", bucket)
		}
	}
}

func activeBucket(t *testing.T, js jetstream.JetStream) string {
	t.Helper()
	kv, err := js.KeyValue(context.Background(), engine.MetaBucket)
	if err != nil {
		return ""
	}
	e, err := kv.Get(context.Background(), "readmodel."+directory.Name)
	if err != nil {
		return ""
	}
	return string(e.Value())
}

// waitReplica polls the replica until its checkpoint reaches seq.
func waitReplica(t *testing.T, r *engine.Replica[directory.Resource], seq uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if got, _ := r.Checkpoint(); got >= seq {
			return
		}
		if time.Now().After(deadline) {
			got, _ := r.Checkpoint()
			t.Fatalf("replica at %d, want %d", got, seq)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestProjectionFoldsEveryEvent: additions, edits, retirements and
// restorations reach the replica and the index; a rebuild of the read
// model is byte-identical to the live one.
func TestProjectionFoldsEveryEvent(t *testing.T) {
	_, _, js := natstest.Start(t)
	w := newWriter(t, js)
	ovc := details("Office for Victims of Crime", "OVC", "victims-of-crime", "trafficking-in-persons")
	w.append("ovc", domain.ResourceAdded{Details: ovc, Source: "seed"})
	w.append("ice", domain.ResourceAdded{Details: details("U.S. Immigration and Customs Enforcement", "ICE", "trafficking-in-persons")})
	w.append("ncmec", domain.ResourceAdded{Details: details("National Center for Missing & Exploited Children", "NCMEC", "victims-of-crime")})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := engine.NewProjector(js, directory.Projection{}, engine.BucketConfig{}, quiet, nil)
	go func() { _ = p.Run(ctx) }()
	replica := engine.NewReplica[directory.Resource](js, directory.Name, quiet, nil)
	index := directory.NewIndex(replica)
	replica.OnChange(index.Changed)
	replica.OnReset(index.Reset)
	go func() { _ = replica.Run(ctx) }()

	// Changes arrive while the projector runs, in several commits.
	renamed := ovc
	renamed.Name = "Office for Victims of Crime (OJP)"
	w.append("ovc", domain.ResourceUpdated{Details: renamed, Changed: []string{"name"}})
	w.append("ice", domain.ResourceRetired{Reason: "replaced"})
	waitReplica(t, replica, w.last["ice"])
	for i := range 30 {
		d := renamed
		d.Description = fmt.Sprint("Edit ", i)
		w.append("ovc", domain.ResourceUpdated{Details: d, Changed: []string{"description"}})
	}
	// An event that cannot apply (no resource.added before it) is skipped.
	w.append("ghost", domain.ResourceUpdated{Details: ovc, Changed: []string{"name"}})
	w.append("ncmec", domain.ResourceRetired{})
	last := w.append("ncmec", domain.ResourceRestored{Reason: "back"})
	waitReplica(t, replica, last)

	s := index.Snapshot()
	got, ok := s.Get("ovc")
	if !ok || got.Details.Name != renamed.Name || got.Details.Description != "Edit 29" || got.Version != w.last["ovc"] || !got.Active() {
		t.Fatalf("ovc = %+v", got)
	}
	if ice, _ := s.Get("ice"); ice.Active() || ice.RetiredAt.IsZero() {
		t.Fatalf("ice = %+v", ice)
	}
	if _, ok := s.Get("ghost"); ok {
		t.Fatal("an update without an addition made a resource")
	}
	if n, _ := s.Get("ncmec"); !n.Active() || !n.RetiredAt.IsZero() {
		t.Fatalf("ncmec = %+v", n)
	}
	var names []string
	for _, r := range s.Active() {
		names = append(names, r.ID)
	}
	if fmt.Sprint(names) != "[ncmec ovc]" {
		t.Fatalf("active, by name: %v", names)
	}
	if name, ok := index.SponsorName("ice"); !ok || name != "U.S. Immigration and Customs Enforcement" {
		t.Fatalf("SponsorName(ice) = %q, %v", name, ok)
	}

	live := bucketValues(t, js, activeBucket(t, js))
	bucket, seq, err := engine.Rebuild(context.Background(), js, directory.Projection{}, engine.BucketConfig{}, quiet, nil)
	if err != nil || seq != last {
		t.Fatalf("rebuild to %d: %v (want %d)", seq, err, last)
	}
	rebuilt := bucketValues(t, js, bucket)
	if len(rebuilt) != len(live) || len(live) != 4 {
		t.Fatalf("rebuilt %d keys, live %d; want 4 (3 resources and the checkpoint)", len(rebuilt), len(live))
	}
	for k, v := range live {
		if rebuilt[k] != v {
			t.Fatalf("key %s differs:\nlive    %s\nrebuilt %s", k, v, rebuilt[k])
		}
	}
	// The replica follows the switch and keeps answering.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, b := replica.Checkpoint(); b == bucket {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("replica never moved to the rebuilt generation")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r, ok := index.Snapshot().Get("ovc"); !ok || r.Details.Description != "Edit 29" {
		t.Fatalf("after the switch ovc = %+v", r)
	}
}
