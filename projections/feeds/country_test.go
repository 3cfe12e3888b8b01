package feeds

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/icalinterop"
)

// TestCountryFeeds: a conference in Berlin is in Germany's feed
// (/calendar/countries/de.ics, ?country=DE), never in Delaware's; one in
// Dover, DE is in Delaware's and the US's. The country feed reads the
// same in every interop parser.
func TestCountryFeeds(t *testing.T) {
	berlin := timed("European Forum on Restorative Justice", "Europe/Berlin", "2027-06-10T09:00", "2027-06-11T17:00", "Berlin", "", "courts")
	berlin.Location.Country, berlin.Location.Venue = "Germany", "Messe Berlin"
	dover := timed("Delaware Courts Day", "America/New_York", "2027-06-10T09:00", "2027-06-10T17:00", "Dover", "DE", "courts")
	cs := append(sample(t), record(t, "c-berlin", domain.StatusApproved, berlin), record(t, "c-dover", domain.StatusApproved, dover))
	s := newServer(t, newSource(cs...))
	mux := http.NewServeMux()
	if err := httpapi.Handle(mux, s.Routes(nil), nil, nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	for _, tt := range []struct {
		path      string
		has, hasn []string
	}{
		{"/calendar/countries/de.ics", []string{"European Forum on Restorative Justice"}, []string{"Delaware Courts Day"}},
		{"/calendar/countries/DE.ics", []string{"European Forum on Restorative Justice"}, []string{"Delaware Courts Day"}},
		{"/calendar.ics?country=DE", []string{"European Forum on Restorative Justice"}, []string{"Delaware Courts Day"}},
		{"/calendar.ics?country=Germany&topic=courts", []string{"European Forum on Restorative Justice"}, []string{"Delaware Courts Day"}},
		{"/calendar/regions/DE.ics", []string{"Delaware Courts Day"}, []string{"European Forum on Restorative Justice"}},
		{"/calendar/countries/us.ics", []string{"Delaware Courts Day", "Bail Reform Workshop"}, []string{"European Forum on Restorative Justice"}},
	} {
		resp, body := request(t, "GET", srv.URL+tt.path, nil)
		text := strings.ReplaceAll(string(body), "\r\n ", "")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", tt.path, resp.StatusCode, body)
		}
		for _, h := range tt.has {
			if !strings.Contains(text, "SUMMARY:"+h) {
				t.Errorf("%s lacks %q", tt.path, h)
			}
		}
		for _, h := range tt.hasn {
			if strings.Contains(text, "SUMMARY:"+h) {
				t.Errorf("%s has %q", tt.path, h)
			}
		}
	}
	if resp, body := request(t, "GET", srv.URL+"/calendar.ics?country=Atlantis", nil); resp.StatusCode != 400 || !strings.Contains(string(body), `"field":"country"`) {
		t.Errorf("?country=Atlantis: %d %s", resp.StatusCode, body)
	}

	// The interop parsers read Germany's feed as it was submitted.
	_, body := request(t, "GET", srv.URL+"/calendar/countries/DE.ics", nil)
	path := filepath.Join(t.TempDir(), "de.ics")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	f := Facet("country", "DE")
	want := icalinterop.Calendar{Name: s.title(f), WRName: s.title(f)}
	for _, c := range cs {
		p := s.prepared.times(c)
		if c.Public() && f.Match(c) && !p.end.Before(s.cutoff(fixedNow)) {
			want.Events = append(want.Events, expectEvent(s, c, p))
		}
	}
	if len(want.Events) != 1 {
		t.Fatalf("Germany's feed should hold one conference, want lists %d", len(want.Events))
	}
	for _, parser := range icalinterop.Parsers {
		t.Run(parser, func(t *testing.T) {
			icalinterop.Compare(t, parser, icalinterop.Read(t, parser, path), want)
		})
	}
}
