package changes

import (
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkWaiters: 500 long-polls (wait=60) wait at the end of the change
// stream of a real embedded nats-server, then one change is written.
// Reported: the messages the server took per second while they waited
// idle (the reads the waiters cost), and how long until every one of
// them answered with the change. "watch": woken by the process's one
// watch (wake.go); "poll": each waiter re-reading every 250 ms, as before.
//
//	go test -run '^$' -bench Waiters -benchtime 1x ./projections/changes/
func BenchmarkWaiters(b *testing.B) {
	waiters := 500
	if v, err := strconv.Atoi(os.Getenv("JEVENTS_BENCH_WAITERS")); err == nil && v > 0 {
		waiters = v
	}
	for _, watch := range []bool{true, false} {
		name := map[bool]string{true: "watch", false: "poll"}[watch]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				f := startChangeFeedWith(b, waiters+1, watch)
				f.put(1, "a")
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: waiters}}
				var wg sync.WaitGroup
				answered := make(chan time.Time, waiters)
				for range waiters {
					wg.Go(func() {
						resp, err := client.Get(f.base + "/api/v1/changes?after=1&wait=60")
						if err != nil || resp.StatusCode != 200 {
							b.Errorf("long poll: %v", err)
							return
						}
						resp.Body.Close()
						answered <- time.Now()
					})
				}
				f.waitFor(waiters)
				time.Sleep(time.Second) // settled
				inMsgs := func() int64 {
					v, err := f.ns.Varz(nil)
					if err != nil {
						b.Fatal(err)
					}
					return v.InMsgs
				}
				before := inMsgs()
				idle := 3 * time.Second
				time.Sleep(idle)
				idleRate := float64(inMsgs()-before) / idle.Seconds()
				start := time.Now()
				f.put(2, "b")
				wg.Wait()
				close(answered)
				var last time.Time
				for at := range answered {
					if at.After(last) {
						last = at
					}
				}
				b.ReportMetric(idleRate, "idle-msgs/s")
				b.ReportMetric(float64(last.Sub(start).Milliseconds()), "ms-to-wake-all")
				b.Logf("%s: %d waiters: %.0f messages/s to the server while idle; all answered %v after the change",
					name, waiters, idleRate, last.Sub(start).Round(time.Millisecond))
			}
		})
	}
}
