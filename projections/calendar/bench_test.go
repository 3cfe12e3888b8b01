package calendar_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/engine"
)

// history appends n events of a realistic mix to the log: each conference
// is submitted, edited once and approved, some are later cancelled (about
// 3.5 events per conference). Appends are asynchronous: this builds the
// fixture, it is not what is measured.
func history(tb testing.TB, js jetstream.JetStream, n int) uint64 {
	tb.Helper()
	ctx := context.Background()
	if _, err := eventlog.EnsureStream(ctx, js, eventlog.StreamConfig{MaxBytes: 4 << 30}); err != nil {
		tb.Fatal(err)
	}
	details := domain.ConferenceDetails{
		Title: "Regional training on trafficking investigations", Description: "Two days of sessions for investigators and victim advocates.",
		AllDay: true, Start: "2027-06-12", End: "2027-06-13", Format: domain.FormatInPerson,
		Location: domain.Location{City: "Baltimore", Region: "MD", Country: "US"}, Topics: []string{"trafficking-in-persons"},
	}
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	count := 0
	put := func(id string, ev domain.Event) {
		env, err := domain.NewEnvelope(fmt.Sprint("e", count), id, "bench", at, ev)
		if err != nil {
			tb.Fatal(err)
		}
		msg := nats.NewMsg(env.Subject())
		msg.Data, _ = json.Marshal(env)
		msg.Header.Set(domain.HeaderEventType, env.Type) // as eventlog.Append stores it
		if _, err := js.PublishMsgAsync(msg, jetstream.WithStallWait(time.Minute)); err != nil {
			tb.Fatal(err)
		}
		count++
	}
	for c := 0; count < n; c++ {
		id := fmt.Sprintf("c%07d", c)
		put(id, domain.ConferenceSubmitted{Details: details, Contact: domain.Contact{Email: "org@example.org"}})
		if count < n {
			d := details
			d.Title += " (updated)"
			put(id, domain.ConferenceUpdated{Details: d, Changed: []string{"title"}})
		}
		if count < n {
			put(id, domain.ConferenceApproved{})
		}
		if count < n && c%2 == 0 {
			put(id, domain.ConferenceCancelled{Reason: "moved online"})
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(2 * time.Minute):
		tb.Fatal("fixture appends did not complete")
	}
	s, _ := js.Stream(ctx, domain.StreamName)
	info, _ := s.Info(ctx)
	return info.State.LastSeq
}

// BenchmarkCatchUp measures, on one server in one run, the raw ordered
// consumer read rate over the whole log and the calendar projector's
// catch-up rate from an empty read model over the same log (decode, fold,
// atomic commits of keys and checkpoint). The ratio projector/raw is the
// figure docs/performance.md tracks (target ≥ 0.5).
//
//	go test -run '^$' -bench CatchUp -benchtime 1x ./projections/calendar/
//
// JEVENTS_BENCH_REBUILD_EVENTS sets the log's size (default 100,000; the
// 1M-event rebuild in docs/performance.md sets 1000000).
func BenchmarkCatchUp(b *testing.B) {
	n := 100_000
	if v := os.Getenv("JEVENTS_BENCH_REBUILD_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("JEVENTS_BENCH_REBUILD_EVENTS=%q: want a positive number of events", v)
		}
	}
	ns := natstest.Server(b, b.TempDir())
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	last := history(b, js, n)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()

	var raw, proj, commits, commitSum, commitShare, rebuildSecs float64
	for i := 0; b.Loop(); i++ {
		// Raw: an ordered consumer reading every event, doing nothing.
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
			md, _ := m.Metadata()
			if md.Sequence.Stream == last {
				break
			}
		}
		it.Stop()
		raw = float64(n) / time.Since(start).Seconds()

		// Projector: a fresh generation from the first event (a rebuild).
		reg := prometheus.NewRegistry()
		start = time.Now()
		_, seq, err := engine.Rebuild(ctx, js, calendar.Projection{}, engine.BucketConfig{}, quiet, engine.NewMetrics(reg))
		if err != nil || seq != last {
			b.Fatalf("rebuild to %d: %v", seq, err)
		}
		took := time.Since(start)
		proj = float64(n) / took.Seconds()
		// The commits' time against the rebuild's: commits are pipelined
		// (one in flight while the next group is applied), so a sum near
		// the wall time means the rebuild waits for its commits (the
		// server's staging and fsync of each atomic batch).
		commits, commitSum = commitStats(b, reg)
		commitShare = commitSum / took.Seconds()
		rebuildSecs = took.Seconds()
	}
	b.ReportMetric(raw, "raw-events/s")
	b.ReportMetric(proj, "projector-events/s")
	b.ReportMetric(proj/raw, "projector/raw")
	b.ReportMetric(rebuildSecs, "rebuild-s")
	b.ReportMetric(commits, "commits")
	b.ReportMetric(commitSum/max(commits, 1)*1000, "ms/commit")
	b.ReportMetric(commitShare, "commit-time/rebuild-time")
}

// commitStats reads the projector's commit-duration histogram: how many
// commits, and their total seconds.
func commitStats(b *testing.B, reg *prometheus.Registry) (count, sum float64) {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "jevents_projector_commit_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			count += float64(m.GetHistogram().GetSampleCount())
			sum += m.GetHistogram().GetSampleSum()
		}
	}
	return count, sum
}
