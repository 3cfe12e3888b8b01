package directory_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/projections/directory"
	"github.com/justiceevents/jevents/projections/engine"
)

// BenchFixture sizes: 10k resources and 100k edits of them.
const (
	benchResources = 10_000
	benchEdits     = 100_000
)

// benchDetails is a resource of realistic size (the published entries'
// descriptions run from 100 to 900 characters).
func benchDetails(i int) domain.ResourceDetails {
	t1, t2 := domain.Topics[i%len(domain.Topics)].Slug, domain.Topics[(i/7)%len(domain.Topics)].Slug
	topics := []string{t1}
	if t2 != t1 {
		topics = append(topics, t2)
	}
	return domain.ResourceDetails{
		Name: fmt.Sprintf("Regional Office for Victim Services %05d", i), ShortName: fmt.Sprintf("ROVS%d", i),
		Parent: "U.S. Department of Justice, Office of Justice Programs", Kind: domain.ResourceKinds[i%len(domain.ResourceKinds)].Kind,
		Description: "The office funds victim assistance and compensation programs, supports training for criminal justice and allied " +
			"professionals regarding the rights and needs of crime victims, and publishes resources on human trafficking, " +
			"domestic violence and elder abuse for practitioners in every state and territory.",
		URL: fmt.Sprintf("https://example.gov/offices/%05d", i), Topics: topics,
		Phones: []domain.Phone{{Number: "1-800-851-3420", Label: "Resource center"}},
	}
}

// appendDirectory appends 10k resource.added and 100k resource.updated
// events (asynchronously: this builds the fixture) and returns the last
// sequence.
func appendDirectory(tb testing.TB, js jetstream.JetStream) uint64 {
	tb.Helper()
	ctx := context.Background()
	if _, err := eventlog.EnsureStream(ctx, js, eventlog.StreamConfig{MaxBytes: 4 << 30}); err != nil {
		tb.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	put := func(n int, id string, e domain.Event) {
		env, err := domain.NewEnvelope(fmt.Sprint("e", n), id, "bench", at, e)
		if err != nil {
			tb.Fatal(err)
		}
		data, _ := json.Marshal(env)
		if _, err := js.PublishAsync(env.Subject(), data, jetstream.WithStallWait(time.Minute)); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range benchResources {
		put(i, fmt.Sprintf("r%05d", i), domain.ResourceAdded{Details: benchDetails(i), Source: "bench"})
	}
	for j := range benchEdits {
		i := (j * 7919) % benchResources
		d := benchDetails(i)
		d.Description = fmt.Sprintf("%s Edit %d.", d.Description, j)
		put(benchResources+j, fmt.Sprintf("r%05d", i), domain.ResourceUpdated{Details: d, Changed: []string{"description"}})
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(5 * time.Minute):
		tb.Fatal("fixture appends did not complete")
	}
	s, _ := js.Stream(ctx, domain.StreamName)
	info, _ := s.Info(ctx)
	return info.State.LastSeq
}

// BenchmarkCatchUp measures, on one server in one run over 10k resources
// and 100k edits (110k events), the raw ordered-consumer read rate and the
// directory projector's catch-up rate from an empty read model (decode,
// fold, atomic commits of keys and checkpoint), and their ratio.
//
//	go test -run '^$' -bench CatchUp -benchtime 1x ./projections/directory/
func BenchmarkCatchUp(b *testing.B) {
	ns := natstest.Server(b, b.TempDir())
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	last := appendDirectory(b, js)
	n := float64(benchResources + benchEdits)
	ctx := context.Background()

	var raw, proj float64
	for b.Loop() {
		start := time.Now()
		cons, err := js.OrderedConsumer(ctx, domain.StreamName, jetstream.OrderedConsumerConfig{})
		if err != nil {
			b.Fatal(err)
		}
		it, err := cons.Messages(jetstream.PullMaxMessages(2000))
		if err != nil {
			b.Fatal(err)
		}
		for {
			m, err := it.Next()
			if err != nil {
				b.Fatal(err)
			}
			if md, _ := m.Metadata(); md.Sequence.Stream == last {
				break
			}
		}
		it.Stop()
		raw = n / time.Since(start).Seconds()

		start = time.Now()
		_, seq, err := engine.Rebuild(ctx, js, directory.Projection{}, engine.BucketConfig{}, quiet, nil)
		if err != nil || seq != last {
			b.Fatalf("rebuild to %d: %v", seq, err)
		}
		proj = n / time.Since(start).Seconds()
	}
	b.ReportMetric(raw, "raw-events/s")
	b.ReportMetric(proj, "projector-events/s")
	b.ReportMetric(proj/raw, "projector/raw")
}

// BenchmarkSnapshot measures the index's rebuild after a change of a 10k
// resource directory: what the first request after a change pays.
//
//	go test -run '^$' -bench Snapshot ./projections/directory/
func BenchmarkSnapshot(b *testing.B) {
	src := mapSource{}
	for i := range benchResources {
		src.put(directory.Resource{ID: fmt.Sprintf("r%05d", i), Details: benchDetails(i)})
	}
	index := directory.NewIndex(src)
	for b.Loop() {
		index.Reset()
		if s := index.Snapshot(); len(s.Active()) != benchResources {
			b.Fatal(len(s.Active()))
		}
	}
}
