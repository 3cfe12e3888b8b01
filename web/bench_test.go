package web_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/projections/calendar"
)

// benchCalendar is n published conferences spread over two years, with
// descriptions, sponsors and topics of realistic sizes, half of them
// timed in one of several zones.
func benchCalendar(n int) calSource {
	r := rand.New(rand.NewPCG(1, 2))
	zones := []string{"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Pacific/Honolulu"}
	words := strings.Fields("justice court victims reentry training investigators prosecutors advocates forensic evidence " +
		"community policing juvenile corrections research technology tribal trafficking cyber drugs prevention summit")
	cal := calSource{}
	for i := range n {
		start := day(r.IntN(730) - 30)
		c := conference(fmt.Sprintf("c%05d", i), fmt.Sprintf("%s %s conference %d", words[r.IntN(len(words))], words[r.IntN(len(words))], i),
			start, 1+r.IntN(3), domain.StatusApproved, nil)
		var desc []string
		for range 80 {
			desc = append(desc, words[r.IntN(len(words))])
		}
		c.Details.Description = strings.Join(desc, " ")
		for range 1 + r.IntN(3) {
			c.Details.Topics = append(c.Details.Topics, domain.Topics[r.IntN(len(domain.Topics))].Slug)
		}
		c.Details.Sponsors = []domain.Sponsor{{ID: "ovc", Name: "Office for Victims of Crime"}, {Name: fmt.Sprintf("Coalition %d", r.IntN(500))}}
		c.Details.Location.Region = domain.Regions[r.IntN(len(domain.Regions))].Code
		if i%2 == 1 {
			c.Details.AllDay, c.Details.Timezone = false, zones[r.IntN(len(zones))]
			c.Details.Start = start.Format("2006-01-02") + "T09:00:00"
			c.Details.End = start.Format("2006-01-02") + "T17:00:00"
		}
		if i%50 == 0 {
			c.Status = domain.StatusPending
		}
		cal[calendar.Key(c.ID)] = c
	}
	return cal
}

// BenchmarkHome measures GET / with 10,000 conferences in the handler,
// server-side (no network): "cold" renders after a change of a published
// conference (the index of the calendar is rebuilt, the page rendered and
// compressed; "cold/keyword" is the first keyword search after a change,
// which also lowers the text of every conference once), "uncached" a
// selection not asked for before in this generation (the index is built,
// the page is not), "cached" answers from the prepared page. It reports the median and the 99th percentile per
// request.
//
//	go test -run '^$' -bench Home -benchtime 200x ./web/
func BenchmarkHome(b *testing.B) {
	cal := benchCalendar(10_000)
	s := newSite(&testing.T{}, seeded(), cal)
	mux := http.NewServeMux()
	_ = httpapi.Handle(mux, s.web.Routes(), nil, nil) // public routes only
	changed := cal[calendar.Key("c00001")]
	for _, bc := range []struct {
		name, query string
		cold        bool
		vary        bool
	}{
		{"uncached/keyword-and-page", "/?q=justice&start=", false, true},
		{"cold/all", "/", true, false},
		{"cold/filtered", "/?topic=courts&topic=reentry&region=MD&region=VA&region=CA&q=justice", true, false},
		{"cold/keyword", "/?q=justice", true, false},
		{"cold/page5", "/?start=80", true, false},
		{"cold/dates", "/?from=" + day(100).Format("2006-01-02") + "&to=" + day(200).Format("2006-01-02"), true, false},
		{"cached/all", "/", false, false},
		{"cached/filtered", "/?topic=courts&topic=reentry&region=MD&region=VA&region=CA&q=justice", false, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", bc.query, nil)
			req.Header.Set("Accept-Encoding", "gzip")
			if bc.vary {
				// A new generation whose index is built: the pages asked
				// for below are not cached yet.
				s.web.ConferenceChanged(calendar.Key(changed.ID), changed, true, changed)
				mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/?q=warm-up", nil))
			}
			times := make([]time.Duration, 0, b.N)
			i := 0
			for b.Loop() {
				if i++; bc.vary {
					req = httptest.NewRequest("GET", fmt.Sprint(bc.query, i), nil)
					req.Header.Set("Accept-Encoding", "gzip")
				}
				if bc.cold {
					s.web.ConferenceChanged(calendar.Key(changed.ID), changed, true, changed)
				}
				start := time.Now()
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, req)
				times = append(times, time.Since(start))
				if rec.Code != 200 {
					b.Fatalf("%d", rec.Code)
				}
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
