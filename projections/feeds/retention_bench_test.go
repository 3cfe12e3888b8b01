package feeds

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/projections/calendar"
)

// BenchmarkRetention measures what keeping past conferences costs: a
// calendar that has published perYear conferences a year for three years
// and holds the coming year's (each announced up to a year ahead), as of
// fixedNow. The default feed keeps a year of past conferences (about
// 2 × perYear events: last year's and the coming year's), ?past=all every
// one (4 × perYear). For each: the feed's size and gzip size, the time to
// prepare it after one change, and the rates a feed server answers it at
// with 32 keep-alive clients over loopback (full answers, gzip, as
// calendar apps ask; and 304s), 2 s each.
//
//	go test -run '^$' -bench Retention -benchtime 1x -v ./projections/feeds/
func BenchmarkRetention(b *testing.B) {
	for _, perYear := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("%d-a-year", perYear), func(b *testing.B) {
			cs := yearsOf(b, perYear)
			src := newSource(cs...)
			s := newServer(b, src)
			mux := http.NewServeMux()
			if err := httpapi.Handle(mux, s.Routes(nil), nil, nil); err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(mux)
			b.Cleanup(srv.Close)
			for b.Loop() {
				for _, f := range []struct {
					name, path string
					filter     Filter
				}{{"window", "/calendar.ics", Filter{}}, {"past-all", "/calendar.ics?past=all", Filter{AllPast: true}}} {
					now := time.Now()
					e, err := s.Feed(f.filter, now)
					if err != nil {
						b.Fatal(err)
					}
					events := countEvents(e.Body)
					gz := e.WithGzip()
					// One change (an approval's new version), then the feed again.
					c := cs[len(cs)-1]
					c.Version += uint64(time.Now().UnixNano())
					c.Sequence++
					src.put(s, c)
					start := time.Now()
					if _, err := s.Feed(f.filter, now); err != nil {
						b.Fatal(err)
					}
					change := time.Since(start)
					full := rate(b, srv.URL+f.path, http.Header{"Accept-Encoding": {"gzip"}}, http.StatusOK)
					resp, err := http.Get(srv.URL + f.path)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					notMod := rate(b, srv.URL+f.path, http.Header{"If-None-Match": {resp.Header.Get("ETag")}}, http.StatusNotModified)
					b.ReportMetric(float64(events), f.name+"-events")
					b.ReportMetric(float64(len(e.Body))/1e6, f.name+"-MB")
					b.ReportMetric(float64(len(gz.Gzip))/1e6, f.name+"-gzip-MB")
					b.ReportMetric(float64(change.Microseconds())/1e3, f.name+"-change-ms")
					b.ReportMetric(full, f.name+"-gzip-req/s")
					b.ReportMetric(notMod, f.name+"-304-req/s")
				}
			}
		})
	}
}

// yearsOf is three past years and the coming one of perYear conferences a
// year, evenly spread, as of fixedNow.
func yearsOf(tb testing.TB, perYear int) []calendar.Conference {
	tb.Helper()
	cs := conferences(tb, 4*perYear) // the fixture's fields, dates set here
	first := fixedNow.AddDate(-3, 0, 0)
	span := fixedNow.AddDate(1, 0, 0).Sub(first)
	for i := range cs {
		at := first.Add(time.Duration(int64(span) / int64(len(cs)) * int64(i)))
		d := &cs[i].Details
		if d.AllDay {
			d.Start, d.End = at.Format("2006-01-02"), at.AddDate(0, 0, i%3).Format("2006-01-02")
		} else {
			d.Start = at.Format("2006-01-02") + "T09:00:00"
			d.End = at.Format("2006-01-02") + "T17:30:00"
		}
	}
	return cs
}

func countEvents(body []byte) int {
	n := 0
	for i := 0; i+12 <= len(body); i++ {
		if body[i] == 'B' && string(body[i:i+12]) == "BEGIN:VEVENT" {
			n++
		}
	}
	return n
}

// rate is the requests per second 32 keep-alive clients get for url in
// 2 s, each answer read whole and checked for status want.
func rate(b *testing.B, url string, h http.Header, want int) float64 {
	b.Helper()
	const clients = 32
	tr := &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	var n atomic.Int64
	var bad atomic.Value
	deadline := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header = h.Clone()
				resp, err := tr.RoundTrip(req)
				if err != nil {
					bad.Store(err.Error())
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					bad.Store(fmt.Sprintf("status %d", resp.StatusCode))
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	if v := bad.Load(); v != nil {
		b.Fatalf("%s: %v", url, v)
	}
	return float64(n.Load()) / time.Since(start).Seconds()
}
