package feeds

import (
	"slices"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/calendar"
)

// CatalogEntry is one feed the server offers, with its address.
type CatalogEntry struct {
	Filter Filter
	URL    string
}

// Catalog lists every .ics feed the server offers (each is also served as
// RSS, Atom and JSON Feed, from the same conferences): the whole calendar, each
// facet term's (topic, region, type), each sponsor's that /api/v1/feeds lists, and each
// public conference's. Whoever compares two versions of the calendar
// (`jevents rebuild --dry-run`) asks both for the same catalog.
func (s *Server) Catalog() []CatalogEntry {
	out := []CatalogEntry{{Filter{}, s.feedURL(Filter{}, ICS)}}
	for _, facet := range domain.Facets {
		for _, t := range facet.Terms {
			f := Facet(facet.Param, t.Value)
			out = append(out, CatalogEntry{f, s.feedURL(f, ICS)})
		}
	}
	for _, n := range s.sponsorNames() {
		f := Filter{Sponsors: []string{n}}
		out = append(out, CatalogEntry{f, s.feedURL(f, ICS)})
	}
	var ids []string
	s.src.Range(func(_ string, c calendar.Conference) bool {
		if c.Public() {
			ids = append(ids, c.ID)
		}
		return true
	})
	slices.Sort(ids)
	for _, id := range ids {
		f := Filter{ID: id}
		out = append(out, CatalogEntry{f, s.feedURL(f, ICS)})
	}
	return out
}
