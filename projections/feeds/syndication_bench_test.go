package feeds

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/projections/calendar"
)

// BenchmarkSyndicationServe compares serving the whole calendar of 1,000
// conferences as .ics, RSS, Atom and JSON Feed over real HTTP (keep-alive,
// identity, parallel clients): full answers and 304s; and the render of
// each format after a change (one conference edited, the feed assembled
// again).
//
//	go test -run '^$' -bench 'Syndication' -benchtime 2s ./projections/feeds/
func BenchmarkSyndicationServe(b *testing.B) {
	src := newSource()
	now := time.Now().UTC()
	for i := range 1000 {
		day := now.AddDate(0, 0, 1+i%300)
		c := calendar.Conference{ID: fmt.Sprintf("c%04d", i), Status: domain.StatusApproved, Version: uint64(i + 1),
			Published: now, Updated: now.Add(time.Duration(i) * time.Second), Submitted: now,
			Details: domain.ConferenceDetails{Title: fmt.Sprintf("Conference on criminal justice number %d", i),
				Description: "Two days of panels, workshops and site visits for practitioners; registration opens soon.",
				AllDay:      true, Start: day.Format(domain.DateLayout), End: day.AddDate(0, 0, 1).Format(domain.DateLayout),
				Format: domain.FormatInPerson, Location: domain.Location{Venue: "Convention Center", City: "Springfield", Region: "MD", Country: "US"},
				Topics: []string{domain.Topics[i%len(domain.Topics)].Slug}, Sponsors: []domain.Sponsor{{Name: "Office for Victims of Crime"}}}}
		src.m[calendar.Key(c.ID)] = c
	}
	s := newServer(b, src)
	mux := http.NewServeMux()
	if err := httpapi.Handle(mux, s.Routes(nil), nil, nil); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64}}
	for _, format := range Formats {
		u := srv.URL + "/calendar." + string(format)
		resp, err := client.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		etag := resp.Header.Get("ETag")
		b.Run(string(format)+"/200", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Get(u)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
		b.Run(string(format)+"/304", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				req, _ := http.NewRequest("GET", u, nil)
				req.Header.Set("If-None-Match", etag)
				for pb.Next() {
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusNotModified {
						b.Fatalf("%d", resp.StatusCode)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
		b.Run(string(format)+"/render", func(b *testing.B) {
			c := src.m[calendar.Key("c0001")]
			for b.Loop() {
				c.Version++
				src.put(s, c)
				if _, err := s.FeedAs(Filter{}, format, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
