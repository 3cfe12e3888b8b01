package service

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/calendar"
)

// BenchmarkAsOf measures ?as_of= on the whole calendar's feed at 10,000
// conferences and 100,000 events (a submission, an approval and eight
// edits each, stamped 50 ms apart): the first request after a start (the
// projector replays from the log's start), cold requests at instants no
// one asked before (from the nearest checkpoint, kept every 50,000
// events), and cached ones (the same instant again; another feed of a
// held instant). Reported in milliseconds; docs/performance.md has the
// figures:
//
//	go test -run '^$' -bench BenchmarkAsOf -benchtime 1x ./cmd/jevents/service/
func BenchmarkAsOf(b *testing.B) {
	for range b.N {
		cfg := Config{DataDir: b.TempDir(), NATSListen: "127.0.0.1:0", HTTP: "127.0.0.1:0", PublicURL: "https://events.test",
			EditorToken: asOfToken, NoSeed: true, LogMaxBytes: 1 << 30}
		s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		base := time.Now().UTC().Add(-30 * 24 * time.Hour).Truncate(time.Second)
		const conferences, per = 10_000, 10
		var futures []jetstream.PubAckFuture
		settle := func() {
			for _, f := range futures {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					b.Fatal(err)
				}
			}
			futures = futures[:0]
		}
		at := func(n int) time.Time { return base.Add(time.Duration(n) * 50 * time.Millisecond) }
		for k := range per {
			for i := range conferences {
				id := fmt.Sprintf("bench-%05d", i)
				d := domain.ConferenceDetails{Title: fmt.Sprintf("Benchmark conference %d, edition %d", i, k),
					Description: "A day of training for investigators and prosecutors.", AllDay: true,
					Start: nextYearDate(3, 2), End: nextYearDate(3, 3), Format: domain.FormatInPerson,
					Location: domain.Location{City: "Baltimore", Region: "MD", Country: "US"}, Topics: []string{"courts"}}
				var ev domain.Event
				switch k {
				case 0:
					ev = domain.ConferenceSubmitted{Details: d, Contact: domain.Contact{Email: "org@example.org"}, Source: "api"}
				case 1:
					ev = domain.ConferenceApproved{}
				default:
					ev = domain.ConferenceUpdated{Details: d, Changed: []string{"title"}}
				}
				env, err := domain.NewEnvelope(id+"-"+strconv.Itoa(k), id, "bench", at(k*conferences+i), ev)
				if err != nil {
					b.Fatal(err)
				}
				m := nats.NewMsg(env.Subject())
				m.Data, _ = json.Marshal(env)
				m.Header.Set(domain.HeaderEventType, env.Type)
				f, err := s.js.PublishMsgAsync(m)
				if err != nil {
					b.Fatal(err)
				}
				if futures = append(futures, f); len(futures) == 512 {
					settle()
				}
			}
		}
		settle()
		info, err := s.js.Stream(context.Background(), domain.StreamName)
		if err != nil {
			b.Fatal(err)
		}
		last := info.CachedInfo().State.LastSeq
		cal := replicaOf(s, calendar.Model)
		deadline := time.Now().Add(10 * time.Minute)
		for {
			if c, _ := cal.Checkpoint(); c >= last {
				break
			}
			if time.Now().After(deadline) {
				b.Fatal("the calendar never caught up")
			}
			time.Sleep(100 * time.Millisecond)
		}
		ask := func(path string, t time.Time) time.Duration {
			b.Helper()
			t0 := time.Now()
			resp, err := http.Get("http://" + s.HTTPAddr() + withAsOf(path, t))
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			d := time.Since(t0)
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("%s as of %v: %d %s", path, t, resp.StatusCode, body)
			}
			return d
		}
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		events := conferences * per
		b.ResetTimer()
		// The first: a replay of 90 % of the log from its start.
		b.ReportMetric(ms(ask("/calendar.ics", at(events*9/10).Add(25*time.Millisecond))), "first-ms")
		// Cold: instants never asked, all over the log.
		var cold time.Duration
		fractions := []int{15, 35, 55, 75, 95, 99}
		for _, p := range fractions {
			cold += ask("/calendar.ics", at(events*p/100).Add(25*time.Millisecond))
		}
		b.ReportMetric(ms(cold/time.Duration(len(fractions))), "cold-ms")
		// Cached: the same instant again, and another feed of it.
		t := at(events * 99 / 100).Add(25 * time.Millisecond)
		var cached time.Duration
		const again = 50
		for range again {
			cached += ask("/calendar.ics", t)
		}
		b.ReportMetric(ms(cached/again), "cached-ms")
		b.ReportMetric(ms(ask("/calendar/regions/MD.ics", t)), "held-instant-other-feed-ms")
		b.StopTimer()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
