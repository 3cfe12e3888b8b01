package engine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/projections/engine"
)

// BenchmarkBurst: 16 writers append 8,000 events as fast as the log takes
// them (the embedded server syncs every write, as the service's does) while
// a projector follows. It reports the append rate, the projector's rate
// over the same burst (until it has committed the last event), how far
// behind it was at most (its lag metric, scraped every 10 ms) and how long
// after the burst it caught up. Issue 16 saw a projector apply 230-430
// events/s under a 1.5-1.9k/s intake: it committed, and waited for, every
// event that arrived on its own.
//
//	go test -run '^$' -bench Burst -benchtime 1x -count 3 ./projections/engine/
func BenchmarkBurst(b *testing.B) {
	for b.Loop() {
		_, _, js := natstest.Start(b)
		if _, err := eventlog.EnsureStream(context.Background(), js, eventlog.StreamConfig{MaxBytes: 1 << 30}); err != nil {
			b.Fatal(err)
		}
		l := eventlog.New(js, nil)
		reg := prometheus.NewRegistry()
		ctx, cancel := context.WithCancel(context.Background())
		p := engine.NewProjector[tally](js, counter{}, engine.BucketConfig{}, quiet, engine.NewMetrics(reg))
		done := make(chan struct{})
		go func() { defer close(done); _ = p.Run(ctx) }()
		<-p.CaughtUp()

		const writers, each = 16, 500
		var wg sync.WaitGroup
		var lastSeq uint64
		var mu sync.Mutex
		start := time.Now()
		for w := range writers {
			wg.Go(func() {
				last := map[string]uint64{}
				for i := range each {
					id := fmt.Sprintf("w%d-%d", w, i%50)
					var ev domain.Event = domain.ConferenceApproved{}
					if last[id] == 0 {
						ev = domain.ConferenceSubmitted{Details: domain.ConferenceDetails{Title: id}}
					}
					env, _ := domain.NewEnvelope(fmt.Sprintf("w%d-%d", w, i), id, "bench", time.Now(), ev)
					a, err := l.Append(context.Background(), env, env.ID, last[id])
					if err != nil {
						b.Error(err)
						return
					}
					last[id] = a.Seq
					mu.Lock()
					lastSeq = max(lastSeq, a.Seq)
					mu.Unlock()
				}
			})
		}
		burst := make(chan struct{})
		go func() { wg.Wait(); close(burst) }()
		var maxLag float64
		var appended time.Duration
		for {
			s := scrapeLag(b, reg, "counter")
			maxLag = max(maxLag, s.events)
			select {
			case <-burst:
				if appended == 0 {
					appended = time.Since(start)
				}
				mu.Lock()
				caught := s.applied >= float64(lastSeq) && s.events == 0
				mu.Unlock()
				if caught {
					all := time.Since(start)
					n := float64(writers * each)
					b.ReportMetric(n/appended.Seconds(), "appends/s")
					b.ReportMetric(n/all.Seconds(), "projector-events/s")
					b.ReportMetric(maxLag, "max-lag-events")
					b.ReportMetric((all-appended).Seconds()*1000, "behind-after-burst-ms")
					cancel()
					<-done
					goto next
				}
			default:
			}
			time.Sleep(10 * time.Millisecond)
		}
	next:
	}
}
