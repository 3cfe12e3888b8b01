package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
)

// BenchmarkCluster measures Justice Events on the three-node cluster of
// TestCluster (R3 stream and buckets, sync_interval: always, every role its
// own process under its own user), all in one run:
//
//   - intake: concurrent clients POST submissions to one intake process
//     (decode, validate, create-once append, 202);
//
//   - raw: as many concurrent raw JetStream publishers append the same
//     envelope bytes with the same headers intake uses (Nats-Msg-Id,
//     expected last subject sequence 0 on a new aggregate): the ceiling
//     intake is measured against;
//
//   - feeds: concurrent clients GET /calendar.ics from one feed server,
//     full answers (200) and conditional ones (304);
//
//   - failover: SIGKILL the stream leader while clients submit; the time
//     from the kill to the first 202 for a request sent after it, three
//     times (the node is restarted and caught up in between).
//
//     go test -run '^$' -bench Cluster -benchtime 1x ./cmd/jevents/
//
// Every process shares the machine's cores with the others and with the
// load generator, so these are floors for a cluster on three hosts.
func BenchmarkCluster(b *testing.B) {
	const (
		clients      = 64
		submissions  = 4000 // per side: intake, raw
		published    = 300  // approved conferences in the feed
		feedRequests = 20_000
	)
	c := startCluster(b)
	c.setup(b)
	intake := c.startRole(b, "intake")
	editors := c.startRole(b, "editors")
	c.startRole(b, "projector")
	c.startRole(b, "projector")
	feeds := c.startRole(b, "feeds")

	transport := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	client := &http.Client{Transport: transport, Timeout: 60 * time.Second}
	body := submission("Benchmark conference")

	nc, js := c.connect(b, "admin")
	defer nc.Close()
	var in domain.SubmissionInput
	if err := json.Unmarshal(body, &in); err != nil {
		b.Fatal(err)
	}
	sub, err := domain.ValidateSubmission(in, time.Now())
	if err != nil {
		b.Fatal(err)
	}

	var intakeRate, rawRate, fullRate, condRate float64
	var failovers []time.Duration
	for b.Loop() {
		var idsMu sync.Mutex
		var ids []string
		intakeRate = runConcurrently(b, clients, submissions, func(i int) error {
			req, _ := http.NewRequest(http.MethodPost, intake.base+"/api/v1/conferences", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", uuid.NewString())
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			var rec struct{ ID string }
			_ = json.NewDecoder(resp.Body).Decode(&rec)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				return fmt.Errorf("submit: status %d", resp.StatusCode)
			}
			if i <= published {
				idsMu.Lock()
				ids = append(ids, rec.ID)
				idsMu.Unlock()
			}
			return nil
		})
		rawRate = runConcurrently(b, clients, submissions, func(i int) error {
			id := uuid.NewString()
			env, _ := domain.NewEnvelope(uuid.NewString(), id, "public", time.Now(), domain.ConferenceSubmitted{
				Details: sub.Details, Contact: sub.Contact, Source: "api", RequestHash: sub.Hash()})
			data, _ := json.Marshal(env)
			msg := nats.NewMsg(env.Subject())
			msg.Data = data
			msg.Header.Set(domain.HeaderEventType, env.Type)
			_, err := js.PublishMsg(context.Background(), msg, jetstream.WithMsgID("submit:"+id),
				jetstream.WithExpectLastSequenceForSubject(0, domain.AggregateSubject(domain.AggregateConference, id)),
				jetstream.WithExpectStream(domain.StreamName))
			return err
		})

		// A calendar worth serving: approve some, wait for the feed.
		runConcurrently(b, 16, len(ids), func(i int) error {
			code, err := approveAt(editors.base, ids[i-1])
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("approve: status %d", code)
			}
			return err
		})
		var etag string
		waitFor(b, 2*time.Minute, "approved conferences in the feed", func() error {
			uids, _, err := feedUIDs(feeds.base)
			if err != nil {
				return err
			}
			if len(uids) < len(ids) {
				return fmt.Errorf("%d of %d", len(uids), len(ids))
			}
			resp, err := client.Get(feeds.base + "/calendar.ics")
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			etag = resp.Header.Get("ETag")
			return nil
		})
		feedGet := func(conditional bool) func(int) error {
			want := http.StatusOK
			if conditional {
				want = http.StatusNotModified
			}
			return func(int) error {
				req, _ := http.NewRequest(http.MethodGet, feeds.base+"/calendar.ics", nil)
				req.Header.Set("Accept-Encoding", "gzip")
				if conditional {
					req.Header.Set("If-None-Match", etag)
				}
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					return fmt.Errorf("feed: status %d, want %d", resp.StatusCode, want)
				}
				return nil
			}
		}
		fullRate = runConcurrently(b, clients, feedRequests, feedGet(false))
		condRate = runConcurrently(b, clients, feedRequests, feedGet(true))

		for range 3 {
			failovers = append(failovers, measureFailover(b, c, intake.base, client))
		}
	}
	slices.Sort(failovers)
	b.ReportMetric(intakeRate, "intake-req/s")
	b.ReportMetric(rawRate, "raw-pub/s")
	b.ReportMetric(intakeRate/rawRate, "intake/raw")
	b.ReportMetric(fullRate, "feed-200/s")
	b.ReportMetric(condRate, "feed-304/s")
	b.ReportMetric(failovers[0].Seconds(), "failover-min-s")
	b.ReportMetric(failovers[len(failovers)/2].Seconds(), "failover-median-s")
	b.ReportMetric(failovers[len(failovers)-1].Seconds(), "failover-max-s")
	b.Logf("failover (leader SIGKILL → first 202 for a request sent after it): %v", failovers)
}

// measureFailover kills the stream leader while 8 clients submit, returns
// the time from the kill to the first 202 for a request sent after it, and
// restarts the node.
func measureFailover(b *testing.B, c *testCluster, base string, client *http.Client) time.Duration {
	b.Helper()
	nc, js := c.connect(b, "admin")
	defer nc.Close()
	ctx := context.Background()
	st, err := js.Stream(ctx, domain.StreamName)
	if err != nil {
		b.Fatal(err)
	}
	leader := c.node(st.CachedInfo().Cluster.Leader)
	var (
		killed  atomic.Int64 // unix nanos of the kill
		first   atomic.Int64 // nanos from kill to first accept
		stop    atomic.Bool
		wg      sync.WaitGroup
		running atomic.Int64
	)
	for range 8 {
		wg.Go(func() {
			for !stop.Load() {
				sent := time.Now().UnixNano()
				key := uuid.NewString()
				for !stop.Load() {
					req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/conferences", bytes.NewReader(submission("Failover benchmark")))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Idempotency-Key", key)
					resp, err := client.Do(req)
					if err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode == http.StatusAccepted {
							running.Add(1)
							if k := killed.Load(); k != 0 && sent > k {
								first.CompareAndSwap(0, time.Now().UnixNano()-k)
							}
							break
						}
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	waitFor(b, 30*time.Second, "submissions flowing", func() error {
		if running.Load() < 50 {
			return fmt.Errorf("%d accepted", running.Load())
		}
		return nil
	})
	killed.Store(time.Now().UnixNano())
	c.killNode(leader)
	waitFor(b, 2*time.Minute, "a submission accepted after the kill", func() error {
		if first.Load() == 0 {
			return fmt.Errorf("none yet")
		}
		return nil
	})
	stop.Store(true)
	wg.Wait()
	c.restartNode(leader)
	// Wait until the restarted node is current again, so the next round
	// starts from a whole cluster.
	waitFor(b, 2*time.Minute, "stream replicas current", func() error {
		info, err := st.Info(ctx)
		if err != nil {
			return err
		}
		if info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
			return fmt.Errorf("cluster info %+v", info.Cluster)
		}
		for _, r := range info.Cluster.Replicas {
			if !r.Current || r.Offline {
				return fmt.Errorf("replica %s not current", r.Name)
			}
		}
		return nil
	})
	return time.Duration(first.Load())
}

// runConcurrently runs op for 1..total from n goroutines and returns ops/s.
func runConcurrently(b *testing.B, n, total int, op func(int) error) float64 {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for range n {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				if i > total {
					return
				}
				if err := op(i); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return float64(total) / time.Since(start).Seconds()
}
