package feeds

import (
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/icalinterop"
	"github.com/justiceevents/jevents/projections/calendar"
)

// TestInterop reads every golden feed (testdata/*.ics, the hostile one
// included) with ical.js, libical and python-icalendar, and checks that
// each reads exactly the published conferences of the feed with the text
// that was submitted (after intake's normalisation: line breaks become
// LF, controls are dropped, ends are trimmed), the categories of their
// topics, their status and their instants, across the New York DST
// changes, and nothing injected. A parser's known misreading is accepted
// only as exactly that (icalinterop.KnownBugs).
func TestInterop(t *testing.T) {
	for _, tt := range goldenFeeds {
		cs := tt.fixture(t)
		s := newServer(t, newSource(cs...))
		want := icalinterop.Calendar{Name: s.title(tt.filter), WRName: s.title(tt.filter)}
		for _, c := range cs {
			p := s.prepared.times(c)
			if !c.Public() || !tt.filter.Match(c) || tt.filter.ID == "" && p.end.Before(s.cutoff(fixedNow)) {
				continue
			}
			want.Events = append(want.Events, expectEvent(s, c, p))
		}
		for _, parser := range icalinterop.Parsers {
			t.Run(tt.name+"/"+parser, func(t *testing.T) {
				t.Parallel()
				got := icalinterop.Read(t, parser, goldenPath(tt.name))
				icalinterop.Compare(t, parser, got, want)
			})
		}
	}
}

// expectEvent is what a parser must read for c: its submitted text, not
// the feed's rendering of it.
func expectEvent(s *Server, c calendar.Conference, p *prepared) icalinterop.Event {
	d := c.Details
	e := icalinterop.Event{
		UID:         c.ID + "@events.test",
		Summary:     d.Title,
		Description: s.eventDescription(c),
		Location:    d.Place(),
		URL:         d.URL,
		Status:      "CONFIRMED",
	}
	if e.URL == "" {
		e.URL = "https://events.test/conferences/" + c.ID
	}
	if c.Status == domain.StatusCancelled {
		e.Summary, e.Status = "Cancelled: "+d.Title, "CANCELLED"
	}
	if t := d.TypeLabel(); t != "" {
		e.Categories = append(e.Categories, t) // the event type comes first
	}
	for _, topic := range d.Topics {
		e.Categories = append(e.Categories, domain.TopicLabel(topic))
	}
	if d.AllDay {
		e.Start, e.End = p.start.Format(time.DateOnly), p.end.Format(time.DateOnly)
	} else {
		e.Start, e.End = p.start.UTC().Format(time.RFC3339), p.end.UTC().Format(time.RFC3339)
	}
	return e
}
