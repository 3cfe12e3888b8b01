package feeds_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
)

// seed publishes n approved conferences into the service's log (submitted
// and approved, as intake and moderation would store them) and waits until
// the service's replica holds them all.
func seed(b *testing.B, a *app, n int) {
	b.Helper()
	js := a.connect(b)
	ajs, err := jetstream.New(js.Conn(), jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		b.Fatal(err)
	}
	zones := []string{"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix"}
	regions := []string{"MD", "NY", "CA", "TX", "IL", "DC", "PA", "WA", "GA", "OH"}
	now := time.Now().UTC()
	var last atomic.Uint64
	put := func(id string, ev domain.Event) {
		env, err := domain.NewEnvelope(id+"-"+ev.EventType(), id, "bench", now, ev)
		if err != nil {
			b.Fatal(err)
		}
		data, _ := json.Marshal(env)
		if _, err := ajs.PublishAsync(env.Subject(), data, jetstream.WithMsgID(env.ID), jetstream.WithStallWait(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	for i := range n {
		day := now.AddDate(0, 0, 1+i%700)
		d := domain.ConferenceDetails{
			Title:       fmt.Sprintf("Conference on criminal justice number %d: courts, corrections and reentry", i),
			Description: strings.Repeat("Two days of panels, workshops and site visits for practitioners; registration opens soon. ", 3),
			Format:      domain.FormatInPerson,
			Location:    domain.Location{Venue: "Convention Center", City: "Springfield", Region: regions[i%len(regions)], Country: "US"},
			Topics:      []string{domain.Topics[i%len(domain.Topics)].Slug},
			Sponsors:    []domain.Sponsor{{Name: fmt.Sprintf("Sponsor %d", i%50)}},
			URL:         fmt.Sprintf("https://example.org/conferences/%d", i),
		}
		if i%2 == 0 {
			d.AllDay, d.Start, d.End = true, day.Format(domain.DateLayout), day.AddDate(0, 0, i%3).Format(domain.DateLayout)
		} else {
			d.Timezone = zones[i%len(zones)]
			d.Start = time.Date(day.Year(), day.Month(), day.Day(), 9, 0, 0, 0, time.UTC).Format(domain.LocalTimeLayout)
			d.End = time.Date(day.Year(), day.Month(), day.Day(), 17, 30, 0, 0, time.UTC).Format(domain.LocalTimeLayout)
		}
		id := fmt.Sprintf("seed-%06d", i)
		put(id, domain.ConferenceSubmitted{Details: d, Contact: domain.Contact{Email: "org@example.org"}, Source: "api", RequestHash: id})
		put(id, domain.ConferenceApproved{})
	}
	select {
	case <-ajs.PublishAsyncComplete():
	case <-time.After(2 * time.Minute):
		b.Fatal("seeding did not complete")
	}
	s, err := js.Stream(context.Background(), domain.StreamName)
	if err != nil {
		b.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	last.Store(info.State.LastSeq)
	deadline := time.Now().Add(2 * time.Minute)
	for metric(b, a.base, "jevents_readmodel_replica_sequence") < int(last.Load()) {
		if time.Now().After(deadline) {
			b.Fatal("the replica never caught up with the seed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// loadResult is what one run of the load generator measured.
type loadResult struct {
	requests int
	bytes    int64
	elapsed  time.Duration
}

func (r loadResult) rate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// load is the bounded load generator: clients goroutines, each with its
// own keep-alive connection and no transparent gzip, send GET url (with
// header) back to back for d, read every body to the end, and check the
// status.
func load(b *testing.B, clients int, d time.Duration, url string, header http.Header, want int) loadResult {
	b.Helper()
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	var (
		n     atomic.Int64
		bytes atomic.Int64
		fail  atomic.Value
		wg    sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(d)
	for range clients {
		wg.Go(func() {
			for time.Now().Before(end) {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				req.Header = header.Clone()
				resp, err := client.Do(req)
				if err != nil {
					fail.Store(err)
					return
				}
				k, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					fail.Store(fmt.Errorf("GET %s: %d, want %d", url, resp.StatusCode, want))
					return
				}
				n.Add(1)
				bytes.Add(k)
			}
		})
	}
	wg.Wait()
	if err, _ := fail.Load().(error); err != nil {
		b.Fatal(err)
	}
	return loadResult{requests: int(n.Load()), bytes: bytes.Load(), elapsed: time.Since(start)}
}

// staticServer serves body with http.ServeContent, its ETag and
// Last-Modified set: a static file server of the same bytes.
func staticServer(b *testing.B, body []byte, etag string, modified time.Time) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
		http.ServeContent(w, r, "calendar.ics", modified, bytes.NewReader(body))
	})}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/calendar.ics"
}

// BenchmarkServe compares, in one run on loopback, GET /calendar.ics of a
// running jevents (all roles, embedded NATS, 10,000 published conferences)
// with a static file server (http.ServeContent) of the same bytes: full
// responses (identity, no gzip) and conditional requests answered 304.
// 32 concurrent keep-alive clients, 2 s per side, five rounds alternating
// the four measures, so that other load on the machine falls on both sides. The ratios jevents/static are what docs/performance.md
// tracks (target ≥ 0.8).
//
//	go test -run '^$' -bench Serve -benchtime 1x -timeout 20m ./projections/feeds/
func BenchmarkServe(b *testing.B) {
	const (
		n       = 10_000
		clients = 32
		each    = 2 * time.Second
	)
	a := startApp(b, b.TempDir())
	seed(b, a, n)
	feedURL := a.base + "/calendar.ics"
	resp, err := http.Get(feedURL)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	modified, _ := http.ParseTime(resp.Header.Get("Last-Modified"))
	if count := bytes.Count(body, []byte("BEGIN:VEVENT")); count != n {
		b.Fatalf("the feed has %d events, want %d", count, n)
	}
	static := staticServer(b, body, etag, modified)
	full, notModified := http.Header{}, http.Header{"If-None-Match": {etag}}

	for b.Loop() {
		var jf, sf, jn, sn loadResult
		add := func(acc *loadResult, r loadResult) {
			acc.requests += r.requests
			acc.bytes += r.bytes
			acc.elapsed += r.elapsed
		}
		for range 5 {
			add(&jf, load(b, clients, each, feedURL, full, http.StatusOK))
			add(&sf, load(b, clients, each, static, full, http.StatusOK))
			add(&jn, load(b, clients, each, feedURL, notModified, http.StatusNotModified))
			add(&sn, load(b, clients, each, static, notModified, http.StatusNotModified))
		}
		b.ReportMetric(jf.rate(), "jevents-full-req/s")
		b.ReportMetric(sf.rate(), "static-full-req/s")
		b.ReportMetric(jf.rate()/sf.rate(), "full-ratio")
		b.ReportMetric(jn.rate(), "jevents-304-req/s")
		b.ReportMetric(sn.rate(), "static-304-req/s")
		b.ReportMetric(jn.rate()/sn.rate(), "304-ratio")
		b.ReportMetric(float64(len(body))/1e6, "MB-feed")
		b.Logf("feed %d bytes; jevents full %d req in %v (%.0f MB/s), static full %d req in %v (%.0f MB/s)",
			len(body), jf.requests, jf.elapsed, float64(jf.bytes)/jf.elapsed.Seconds()/1e6, sf.requests, sf.elapsed, float64(sf.bytes)/sf.elapsed.Seconds()/1e6)
	}
}

// BenchmarkFreshness measures approval-to-feed freshness at rest on a
// running jevents: submit a conference (JSON, HTTP), then approve it
// (HTTP, editor token) and poll GET /calendar.ics with If-None-Match, as a
// subscribed client would, until its UID appears; the time from sending
// the approval to the first answer holding the UID, over many samples, with
// 100 and with 10,000 published conferences in the feed. Target: p99
// under 250 ms.
//
//	go test -run '^$' -bench Freshness -benchtime 1x -timeout 20m ./projections/feeds/
func BenchmarkFreshness(b *testing.B) {
	for _, size := range []struct {
		conferences, samples int
	}{{100, 200}, {10_000, 100}} {
		b.Run(fmt.Sprint(size.conferences), func(b *testing.B) {
			a := startApp(b, b.TempDir())
			seed(b, a, size.conferences)
			client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: time.Minute}
			do := func(method, path string, header http.Header, body []byte) (*http.Response, []byte) {
				req, _ := http.NewRequest(method, a.base+path, bytes.NewReader(body))
				req.Header = header
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				defer resp.Body.Close()
				out, _ := io.ReadAll(resp.Body)
				return resp, out
			}
			editor := http.Header{"Authorization": {"Bearer feeds-test-Vx4Kq9Rm2Zp7Lt3Wn8Hb5Jc"}, "Content-Type": {"application/json"}}
			for b.Loop() {
				var samples []time.Duration
				etag := ""
				for i := range size.samples {
					sub, _ := json.Marshal(map[string]any{
						"title": fmt.Sprintf("Freshness probe %d", i), "start": fmt.Sprintf("%d-05-04", time.Now().Year()+1), "all_day": true,
						"format": "online", "topics": []string{"courts"}, "contact": map[string]string{"email": "org@example.org"},
					})
					resp, body := do("POST", "/api/v1/conferences", http.Header{"Content-Type": {"application/json"}}, sub)
					var rec struct{ ID string }
					if err := json.Unmarshal(body, &rec); err != nil || resp.StatusCode != http.StatusAccepted {
						b.Fatalf("submit: %d %s", resp.StatusCode, body)
					}
					start := time.Now()
					if resp, body := do("POST", "/api/v1/conferences/"+rec.ID+"/approve", editor, []byte(`{}`)); resp.StatusCode != http.StatusOK {
						b.Fatalf("approve: %d %s", resp.StatusCode, body)
					}
					for {
						h := http.Header{}
						if etag != "" {
							h.Set("If-None-Match", etag)
						}
						resp, body := do("GET", "/calendar.ics", h, nil)
						if resp.StatusCode == http.StatusOK {
							etag = resp.Header.Get("ETag")
							if bytes.Contains(body, []byte("UID:"+rec.ID+"@")) {
								break
							}
						}
						if time.Since(start) > 30*time.Second {
							b.Fatalf("conference %s never appeared in the feed", rec.ID)
						}
						time.Sleep(time.Millisecond)
					}
					samples = append(samples, time.Since(start))
				}
				slices.Sort(samples)
				q := func(p float64) float64 { return float64(samples[int(p*float64(len(samples)-1))].Microseconds()) / 1000 }
				b.ReportMetric(q(0.5), "p50-ms")
				b.ReportMetric(q(0.95), "p95-ms")
				b.ReportMetric(q(0.99), "p99-ms")
				b.ReportMetric(q(1), "max-ms")
			}
		})
	}
}
