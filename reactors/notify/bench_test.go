package notify_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/reactors/notify"
)

// BenchmarkBacklog measures how fast the notifier empties a backlog of
// 10,000 decisions (approvals: each mail needs its conference read from
// the log) into a real SMTP server (mailpit), with the default 4 workers:
// the figure in docs/performance.md.
//
//	go test -run '^$' -bench Backlog -benchtime 1x ./reactors/notify/
func BenchmarkBacklog(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("JEVENTS_BENCH_BACKLOG")); err == nil && v > 0 {
		n = v // a shorter run while profiling
	}
	for range b.N {
		b.StopTimer()
		e := newEnv(b)
		old := time.Now().Add(-100 * time.Hour) // the receipts are past the max age: the mails are the decisions'
		ids, seqs := make([]string, n), make([]uint64, n)
		parallel(n, func(i int) {
			ids[i], seqs[i] = e.submit(fmt.Sprintf("Backlog %d", i), domain.Contact{Email: fmt.Sprintf("o%d@example.org", i)}, old)
		})
		parallel(n, func(i int) { e.append(ids[i], seqs[i], time.Now(), domain.ConferenceApproved{}) })
		b.StartTimer()
		start := time.Now()
		_, stop := e.run(e.config())
		if got := e.mail.WaitCount(n, 10*time.Minute); got < n {
			b.Fatalf("%d of %d mails", got, n)
		}
		el := time.Since(start)
		b.StopTimer()
		stop()
		b.ReportMetric(float64(n)/el.Seconds(), "mails/s")
	}
}

// BenchmarkIntakeBurst measures the notifier's lag while 5,000
// submissions arrive as fast as 8 writers can append them (each a receipt
// and, with one editor, an editor's mail): the most events waiting, and
// how long after the burst the last mail is out.
//
//	go test -run '^$' -bench IntakeBurst -benchtime 1x ./reactors/notify/
func BenchmarkIntakeBurst(b *testing.B) {
	const n = 5000
	for range b.N {
		b.StopTimer()
		e := newEnv(b)
		cfg := e.config()
		cfg.EditorEmails = []string{"editor@example.org"}
		_, stop := e.run(cfg)
		ctx := context.Background()
		cons, err := e.js.Consumer(ctx, domain.StreamName, notify.ConsumerName)
		if err != nil {
			b.Fatal(err)
		}
		var maxLag uint64
		done := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				if info, err := cons.Info(ctx); err == nil {
					maxLag = max(maxLag, info.NumPending+uint64(info.NumAckPending))
				}
				select {
				case <-done:
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}()
		b.StartTimer()
		start := time.Now()
		parallel(n, func(i int) {
			e.submit(fmt.Sprintf("Burst %d", i), domain.Contact{Email: fmt.Sprintf("o%d@example.org", i)}, time.Now())
		})
		burst := time.Since(start)
		if got := e.mail.WaitCount(2*n, 10*time.Minute); got < 2*n {
			b.Fatalf("%d of %d mails", got, 2*n)
		}
		drained := time.Since(start)
		b.StopTimer()
		close(done)
		<-sampled
		stop()
		b.ReportMetric(float64(n)/burst.Seconds(), "submissions/s")
		b.ReportMetric(float64(maxLag), "max-lag-events")
		b.ReportMetric((drained - burst).Seconds(), "s-behind-after-burst")
		b.ReportMetric(float64(2*n)/drained.Seconds(), "mails/s")
	}
}

// parallel runs fn(0…n-1) on 8 goroutines.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
