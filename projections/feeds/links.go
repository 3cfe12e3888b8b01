package feeds

// FeedURL is the address of the feed that holds the conferences f selects
// (its SOURCE, as /api/v1/feeds lists it): the facet's own path for one
// topic, region or sponsor, else /calendar.ics with the query. Pages offer
// it to subscribe to what they show.
func (s *Server) FeedURL(f Filter) string { return s.feedURL(f.canonical()) }
