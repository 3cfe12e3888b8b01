package feeds

import (
	"strings"

	"github.com/justiceevents/jevents/projections/calendar"
)

// FeedURL is the address of the feed that holds the conferences f selects
// (its SOURCE, as /api/v1/feeds lists it): the facet's own path for one
// topic, region or sponsor, else /calendar.ics with the query. Pages offer
// it to subscribe to what they show.
func (s *Server) FeedURL(f Filter) string { return s.feedURL(f.canonical(), ICS) }

// FeedURLAs is FeedURL in one of the formats: the same path with the
// format's extension (/calendar/topics/courts.atom, /calendar.rss?q=…).
func (s *Server) FeedURLAs(f Filter, format Format) string { return s.feedURL(f.canonical(), format) }

// SearchText is the lower-case text a filter's words are looked for in:
// the title, description, location and sponsor names of c.
func SearchText(c calendar.Conference) string {
	d := c.Details
	hay := strings.ToLower(d.Title + "\n" + d.Description + "\n" + d.Place())
	for _, s := range d.Sponsors {
		hay += "\n" + strings.ToLower(s.Name)
	}
	return hay
}

// MatchText is Match with c's SearchText computed before, for pages that
// filter the same conferences many times.
func (f Filter) MatchText(c calendar.Conference, text string) bool { return f.match(c, &text) }
