package eventlog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
)

// BenchmarkCommand measures an editor's command against logs of growing
// size: load one conference's events and fold them (Fold), then append an
// approval expecting its last sequence, as moderation does. Issue 16 saw
// approvals slow from 663/s to 169/s as the log grew to 90k events, 59 % of
// the time in the server scanning the log for one aggregate's events.
//
// Sizes: 10,000 and 100,000 events by default; JEVENTS_BENCH_LOG_EVENTS
// (e.g. "10000,100000,1000000") sets them. Each log holds conferences of
// three events (submitted, edited, approved), written round by round, so
// that an aggregate's events lie far apart, as in a real log, with the
// headers Append writes.
//
//	go test -run '^$' -bench Command -benchtime 2000x ./eventlog/
func BenchmarkCommand(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if v := os.Getenv("JEVENTS_BENCH_LOG_EVENTS"); v != "" {
		sizes = nil
		for f := range strings.SplitSeq(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				b.Fatal(err)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			nc := fastServer(b)
			js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(2000), jetstream.WithPublishAsyncTimeout(time.Minute))
			if err != nil {
				b.Fatal(err)
			}
			mustStream(b, js, 1<<34)
			ids := fillLog(b, js, n)
			l := eventlog.New(js, nil)
			ctx := context.Background()
			// Each operation's time is kept: the median and p99 say more
			// than the mean on a machine shared with other work.
			timed := func(b *testing.B, op func(id string)) {
				var took []time.Duration
				for b.Loop() {
					id := ids[rand.IntN(len(ids))]
					start := time.Now()
					op(id)
					took = append(took, time.Since(start))
				}
				slices.Sort(took)
				b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
			}
			// What Load did before each event named its predecessor: a
			// subject-filtered read from the start of the log.
			b.Run("scan", func(b *testing.B) {
				subject := func(id string) string { return domain.AggregateSubject(domain.AggregateConference, id) }
				timed(b, func(id string) {
					msgs, err := l.ScanForTest(ctx, subject(id))
					if err != nil || len(msgs) < 3 {
						b.Fatalf("scan %s: %d events, %v", id, len(msgs), err)
					}
				})
			})
			b.Run("load", func(b *testing.B) {
				timed(b, func(id string) {
					recs, err := l.Load(ctx, domain.AggregateConference, id)
					if err != nil || len(recs) < 3 {
						b.Fatalf("load %s: %d events, %v", id, len(recs), err)
					}
				})
			})
			i := 0
			b.Run("approve", func(b *testing.B) {
				timed(b, func(id string) {
					_, recs, err := eventlog.Fold[domain.Conference](ctx, l, id)
					if err != nil {
						b.Fatal(err)
					}
					i++
					env, err := domain.NewEnvelope(fmt.Sprintf("bench-%d-%d", n, i), id, "editor", time.Now(), domain.ConferenceApproved{Note: "again"})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := l.Append(ctx, env, env.ID, recs[len(recs)-1].Seq); err != nil {
						b.Fatal(err)
					}
				})
			})
		})
	}
}

// fillLog writes n events: n/3 conferences submitted, then each edited,
// then each approved. It returns the conferences' ids.
func fillLog(b *testing.B, js jetstream.JetStream, n int) []string {
	b.Helper()
	ctx := context.Background()
	aggs := n / 3
	ids := make([]string, aggs)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%07d", i)
	}
	start := time.Now()
	desc := strings.Repeat("Training for investigators, prosecutors and advocates. ", 5)
	for round := range 3 {
		for i, id := range ids {
			var ev domain.Event
			switch round {
			case 0:
				ev = domain.ConferenceSubmitted{Details: domain.ConferenceDetails{Title: "Conference " + id, Description: desc}}
			case 1:
				ev = domain.ConferenceUpdated{Details: domain.ConferenceDetails{Title: "Conference " + id + " (edited)", Description: desc}, Changed: []string{"title"}}
			default:
				ev = domain.ConferenceApproved{}
			}
			env, err := domain.NewEnvelope(fmt.Sprintf("fill-%d-%d", round, i), id, "test", start, ev)
			if err != nil {
				b.Fatal(err)
			}
			data, err := json.Marshal(env)
			if err != nil {
				b.Fatal(err)
			}
			m := nats.NewMsg(env.Subject())
			m.Data = data
			m.Header.Set(domain.HeaderEventType, env.Type)
			// As Append stores it: the aggregate's previous event.
			prev := 0
			if round > 0 {
				prev = (round-1)*aggs + i + 1
			}
			m.Header.Set(eventlog.HeaderPrev, strconv.Itoa(prev))
			if _, err := js.PublishMsgAsync(m, jetstream.WithStallWait(time.Minute)); err != nil {
				b.Fatal(err)
			}
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(10 * time.Minute):
		b.Fatal("log not written in 10 minutes")
	}
	_ = ctx
	b.Logf("wrote %d events in %v", 3*aggs, time.Since(start).Round(time.Millisecond))
	return ids
}

// fastServer starts an embedded server that syncs to disk on the server's
// own schedule, not on every write as the service's does: writing a
// million-event log with a sync per write takes most of an hour on the
// build machine, and the reads measured here do not depend on it. (The
// "approve" figures therefore leave out the fsync of the append, the same
// at every size.)
func fastServer(b *testing.B) *nats.Conn {
	b.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: b.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		b.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		b.Fatal("nats-server not ready")
	}
	b.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	return nc
}
