package feeds

import (
	"slices"

	"github.com/justiceevents/jevents/domain"
)

// SponsorNames gives the current name of a directory resource by its id,
// so that a conference shows its sponsors' names as the directory has them
// now: a renamed resource shows its new name in every feed once the
// directory's projector has caught up. The directory index implements it.
// Implementations must be safe for concurrent use.
type SponsorNames interface {
	SponsorName(id string) (string, bool)
}

// SetSponsorNames makes feeds and the conference API name linked sponsors
// from names; call it before serving. Without it, sponsors show the name
// stored with the conference.
func (s *Server) SetSponsorNames(names SponsorNames) { s.names = names }

// SponsorsRenamed drops every cached feed, because a resource that
// conferences name as a sponsor changed its name (or the directory was
// reloaded). Wire it to the directory replica.
func (s *Server) SponsorsRenamed() { s.Reset() }

// sponsorName is how a sponsor is shown: the directory's current name of
// a linked sponsor, else the name stored with the conference.
func (s *Server) sponsorName(sp domain.Sponsor) string {
	if sp.ID != "" && s.names != nil {
		if n, ok := s.names.SponsorName(sp.ID); ok {
			return n
		}
	}
	return sp.Name
}

// currentSponsors returns the sponsors with their current names, as a new
// slice: the replica's records are never modified.
func (s *Server) currentSponsors(sponsors []domain.Sponsor) []domain.Sponsor {
	if s.names == nil || len(sponsors) == 0 {
		return sponsors
	}
	out := slices.Clone(sponsors)
	for i := range out {
		out[i].Name = s.sponsorName(out[i])
	}
	return out
}

// sponsorLabels names the sponsors of a feed's filter for its title: a
// directory id becomes the resource's current name, a name stays as given.
func (s *Server) sponsorLabels(sponsors []string) []string {
	out := make([]string, len(sponsors))
	for i, v := range sponsors {
		out[i] = s.sponsorName(domain.Sponsor{ID: v, Name: v})
	}
	return out
}
