package feeds

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/calendar"
)

// conferences is a calendar of n published conferences as intake
// stores them: all-day and timed in five US zones over two years, two
// topics, a sponsor, a description of a few hundred characters.
func conferences(tb testing.TB, n int) []calendar.Conference {
	tb.Helper()
	zones := []string{"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix"}
	regions := []string{"MD", "NY", "CA", "TX", "IL", "DC", "PA", "WA", "GA", "OH"}
	out := make([]calendar.Conference, 0, n)
	for i := range n {
		day := fixedNow.AddDate(0, 0, 1+i%700)
		d := domain.ConferenceDetails{
			Title:       fmt.Sprintf("Conference on criminal justice number %d: courts, corrections and reentry", i),
			Description: strings.Repeat("Two days of panels, workshops and site visits for practitioners; registration opens soon. ", 3),
			Format:      domain.FormatInPerson,
			Location:    domain.Location{Venue: "Convention Center", City: "Springfield", Region: regions[i%len(regions)], Country: "US"},
			Topics:      []string{domain.Topics[i%len(domain.Topics)].Slug, domain.Topics[(i+5)%len(domain.Topics)].Slug},
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
		out = append(out, calendar.Conference{ID: fmt.Sprintf("c%06d", i), Status: domain.StatusApproved, Version: uint64(2*i + 2),
			Details: d, Submitted: fixedNow.Add(-time.Hour), Updated: fixedNow, Published: fixedNow.Add(-time.Minute)})
	}
	return out
}

// BenchmarkRender10k measures, over 10,000 published conferences, the
// cost of preparing /calendar.ics (body, strong ETag, gzip form):
//
//   - cold: nothing prepared yet (a server's first request, or after a
//     rebuild's switch): every conference is encoded, then assembled;
//
//   - change: after one conference changed (the common case: an
//     approval): that conference is encoded again, the feed assembled;
//
//   - gzip: the gzip form of the feed, which a large feed gets in the
//     background, after it is served.
//
//     go test -run '^$' -bench Render10k -benchtime 20x ./projections/feeds/
func BenchmarkRender10k(b *testing.B) {
	cs := conferences(b, 10_000)
	src := newSource(cs...)
	s := newServer(b, src)
	e, err := s.Feed(Filter{}, fixedNow)
	if err != nil {
		b.Fatal(err)
	}
	gz := e.WithGzip()
	b.Logf("feed of %d conferences: %d bytes, gzip %d bytes", len(cs), len(e.Body), len(gz.Gzip))
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			s.Reset()
			if _, err := s.Feed(Filter{}, fixedNow); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("change", func(b *testing.B) {
		i := 0
		for b.Loop() {
			c := cs[i%len(cs)]
			c.Version += uint64(1_000_000 + i)
			c.Sequence++
			src.put(s, c)
			if _, err := s.Feed(Filter{}, fixedNow); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("gzip", func(b *testing.B) {
		for b.Loop() {
			e.WithGzip()
		}
	})
}
