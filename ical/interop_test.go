package ical

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/justiceevents/jevents/internal/icalinterop"
)

// TestInterop reads every golden feed of this package with ical.js,
// libical and python-icalendar and checks that each reads exactly the
// events written, with their text (NormalizeText of the input: line breaks
// become LF, nothing else changes), categories and instants, and nothing
// injected.
func TestInterop(t *testing.T) {
	for _, tt := range []struct {
		name string
		feed func(testing.TB) Feed
	}{
		{"typical", typicalFeed},
		{"hostile", hostileFeed},
		{"empty", emptyFeed},
		{"zones", zonesFeed},
	} {
		want := expectInterop(tt.feed(t))
		for _, parser := range icalinterop.Parsers {
			t.Run(tt.name+"/"+parser, func(t *testing.T) {
				t.Parallel()
				got := icalinterop.Read(t, parser, filepath.Join("testdata", tt.name+".ics"))
				icalinterop.Compare(t, parser, got, want)
			})
		}
	}
}

// expectInterop is what a parser must read from the rendering of f.
func expectInterop(f Feed) icalinterop.Calendar {
	name := NormalizeText(f.Name)
	c := icalinterop.Calendar{Name: name, WRName: name}
	when := func(e Event, t time.Time) string {
		if e.AllDay {
			return civilDate(t).Format(time.DateOnly)
		}
		return t.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	for _, e := range f.Events {
		ev := icalinterop.Event{
			UID: e.UID, Summary: NormalizeText(e.Summary), Description: NormalizeText(e.Description),
			Location: NormalizeText(e.Location), URL: e.URL, Status: "CONFIRMED",
			Start: when(e, e.Start), End: when(e, e.End),
		}
		if e.Cancelled {
			ev.Status = "CANCELLED"
		}
		if !e.AllDay && e.End.Truncate(time.Second).Equal(e.Start.Truncate(time.Second)) {
			ev.End = "" // no DTEND; parsers differ on what end they report
		}
		for _, s := range e.Categories {
			if s = NormalizeText(s); s != "" {
				ev.Categories = append(ev.Categories, s)
			}
		}
		c.Events = append(c.Events, ev)
	}
	return c
}
