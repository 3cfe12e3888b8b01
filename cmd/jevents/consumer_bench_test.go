package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/engine"
)

// BenchmarkProjectorConsumers is the measurement behind the projectors'
// consumer design (deploy/README.md, "Operators' view of the projectors"):
// what would a durable named consumer, whose pending count `nats consumer
// report` shows, cost the calendar projector's catch-up, against the
// ephemeral ordered consumer it uses? On the three-node cluster of
// TestCluster (R3 stream, sync_interval: always), over the same log, in
// one run:
//
//   - ordered: an ordered consumer reads every conference event, doing
//     nothing else (what the projector's reading costs today);
//
//   - durable: a durable pull consumer with the stream's replicas (R3, so
//     that it survives a node as the log does) reads the same events and
//     acknowledges (AckAll) the last event of every 999, as a projector
//     would after each atomic commit: its ack floor is then the checkpoint
//     and its pending count the lag;
//
//   - projector: a rebuild of the calendar read model (decode, fold,
//     atomic commits), the work the reading is part of.
//
//     go test -run '^$' -bench ProjectorConsumers -benchtime 1x ./cmd/jevents/
func BenchmarkProjectorConsumers(b *testing.B) {
	const conferences = 25_000 // submitted and approved: 50,000 events
	c := startCluster(b)
	c.setup(b)
	nc, js := c.connect(b, "admin")
	defer nc.Close()
	ctx := context.Background()
	last := benchHistory(b, nc, conferences)
	n := float64(2 * conferences)
	filter := calendar.Projection{}.Subjects()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	read := func(cons jetstream.Consumer, ack bool) time.Duration {
		start := time.Now()
		it, err := cons.Messages(jetstream.PullMaxMessages(2 * 999))
		if err != nil {
			b.Fatal(err)
		}
		defer it.Stop()
		for i := 1; ; i++ {
			m, err := it.Next()
			if err != nil {
				b.Fatal(err)
			}
			md, _ := m.Metadata()
			end := md.Sequence.Stream == last
			if ack && (i%999 == 0 || end) {
				if err := m.Ack(); err != nil {
					b.Fatal(err)
				}
			}
			if end {
				break
			}
		}
		return time.Since(start)
	}
	var ordered, durable, projector time.Duration
	for i := 0; b.Loop(); i++ {
		oc, err := js.OrderedConsumer(ctx, domain.StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: filter})
		if err != nil {
			b.Fatal(err)
		}
		ordered = read(oc, false)

		name := fmt.Sprintf("bench-calendar-%d", i)
		dc, err := js.CreateConsumer(ctx, domain.StreamName, jetstream.ConsumerConfig{
			Durable: name, FilterSubjects: filter, AckPolicy: jetstream.AckAllPolicy,
			DeliverPolicy: jetstream.DeliverAllPolicy, MaxAckPending: 4 * 999, AckWait: time.Minute,
		})
		if err != nil {
			b.Fatal(err)
		}
		durable = read(dc, true)
		waitFor(b, 30*time.Second, "the durable consumer's acks", func() error {
			info, err := dc.Info(ctx)
			if err == nil && (info.NumAckPending != 0 || info.NumPending != 0) {
				err = fmt.Errorf("pending %d, ack pending %d", info.NumPending, info.NumAckPending)
			}
			return err
		})
		_ = js.DeleteConsumer(ctx, domain.StreamName, name)

		start := time.Now()
		if _, seq, err := engine.Rebuild(ctx, js, calendar.Projection{}, engine.BucketConfig{Replicas: 3}, quiet, nil); err != nil || seq != last {
			b.Fatalf("rebuild to %d: %v", seq, err)
		}
		projector = time.Since(start)
	}
	b.ReportMetric(n/ordered.Seconds(), "ordered-events/s")
	b.ReportMetric(n/durable.Seconds(), "durable-events/s")
	b.ReportMetric(n/projector.Seconds(), "projector-events/s")
	// What switching would add to a catch-up, as a share of the catch-up.
	b.ReportMetric((durable-ordered).Seconds()/projector.Seconds(), "durable-extra/catch-up")
}

// benchHistory appends a submitted and an approved event for each of n
// conferences, asynchronously, and returns the last sequence.
func benchHistory(b *testing.B, nc *nats.Conn, n int) uint64 {
	b.Helper()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(2048))
	if err != nil {
		b.Fatal(err)
	}
	details := domain.ConferenceDetails{
		Title: "Regional training on trafficking investigations", Description: "Two days of sessions for investigators and victim advocates.",
		AllDay: true, Start: "2031-06-12", End: "2031-06-13", Format: domain.FormatInPerson,
		Location: domain.Location{City: "Baltimore", Region: "MD", Country: "US"}, Topics: []string{"trafficking-in-persons"},
	}
	at := time.Now().UTC()
	put := func(id string, ev domain.Event) {
		env, err := domain.NewEnvelope(id+ev.EventType(), id, "bench", at, ev)
		if err != nil {
			b.Fatal(err)
		}
		msg := nats.NewMsg(env.Subject())
		msg.Data, _ = json.Marshal(env)
		msg.Header.Set(domain.HeaderEventType, env.Type)
		if _, err := js.PublishMsgAsync(msg, jetstream.WithStallWait(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	for i := range n {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		put(id, domain.ConferenceSubmitted{Details: details, Contact: domain.Contact{Email: "org@example.org"}})
		put(id, domain.ConferenceApproved{})
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(5 * time.Minute):
		b.Fatal("fixture appends did not complete")
	}
	s, err := js.Stream(context.Background(), domain.StreamName)
	if err != nil {
		b.Fatal(err)
	}
	return s.CachedInfo().State.LastSeq
}
