package feeds

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/httpcache"
	"github.com/justiceevents/jevents/projections/calendar"
)

// Filter selects the conferences of a feed: OR within a facet, AND across
// facets, as the published Justice Events search does. The zero Filter is
// the whole calendar.
type Filter struct {
	ID string // one conference
	// Terms are the values selected of each vocabulary (domain.Facets), by
	// its query parameter: "topic" → topic slugs, "region" → USPS codes.
	Terms    map[string][]string
	Sponsors []string // directory ids or sponsor names
	Words    []string // every word must appear in the title, description, location or sponsors
	// AllPast keeps every past conference (?past=all): the feed has no
	// window. Without it a list feed keeps conferences that ended within
	// Config.Window.
	AllPast bool
}

// Facet is a filter of one facet's values: Facet("topic", "courts").
func Facet(param string, values ...string) Filter {
	return Filter{Terms: map[string][]string{param: values}}
}

// terms counts the facet values selected.
func (f Filter) terms() int {
	n := 0
	for _, vs := range f.Terms {
		n += len(vs)
	}
	return n
}

// IsZero reports whether f selects the whole calendar.
func (f Filter) IsZero() bool {
	return f.ID == "" && f.terms()+len(f.Sponsors)+len(f.Words) == 0
}

// Match reports whether c belongs to the feed (publication is checked by
// the caller).
func (f Filter) Match(c calendar.Conference) bool { return f.match(c, nil) }

// match is Match; text, when not nil, is c's SearchText computed before.
func (f Filter) match(c calendar.Conference, text *string) bool {
	d := c.Details
	if f.ID != "" && c.ID != f.ID {
		return false
	}
	for _, facet := range domain.Facets {
		if vs := f.Terms[facet.Param]; len(vs) > 0 && !facet.HasAny(d, vs) {
			return false
		}
	}
	if len(f.Sponsors) > 0 && !slices.ContainsFunc(f.Sponsors, c.Sponsored) {
		return false
	}
	if len(f.Words) > 0 {
		if text == nil {
			t := SearchText(c)
			text = &t
		}
		hay := *text
		for _, w := range f.Words {
			if !strings.Contains(hay, w) {
				return false
			}
		}
	}
	return true
}

// key is the filter's canonical form: equal filters share one cached feed.
func (f Filter) key() string {
	if f.IsZero() {
		if f.AllPast {
			return "all|past"
		}
		return "all"
	}
	f = f.canonical()
	var b strings.Builder
	b.WriteString(strconv.Quote(f.ID))
	if f.AllPast && f.ID == "" {
		b.WriteString("|past")
	}
	lists := make([][]string, 0, len(domain.Facets)+2)
	for _, facet := range domain.Facets {
		lists = append(lists, f.Terms[facet.Param])
	}
	for _, list := range append(lists, f.Sponsors, f.Words) {
		b.WriteByte('|')
		for _, v := range list {
			b.WriteString(strconv.Quote(v))
		}
	}
	return b.String()
}

// single is the facet and value of a filter that selects one value of one
// vocabulary and nothing else.
func (f Filter) single() (domain.Facet, string, bool) {
	if f.ID != "" || f.terms() != 1 || len(f.Sponsors)+len(f.Words) > 0 {
		return domain.Facet{}, "", false
	}
	for _, facet := range domain.Facets {
		if vs := f.Terms[facet.Param]; len(vs) == 1 {
			return facet, vs[0], true
		}
	}
	return domain.Facet{}, "", false
}

// Kind names the feed for metrics: all, conference, the facet's
// parameter for one value of a vocabulary (topic, region, …), sponsor, or
// query (several values or words).
func (f Filter) Kind() string {
	if facet, _, ok := f.single(); ok {
		return facet.Param
	}
	switch {
	case f.ID != "":
		return "conference"
	case f.IsZero():
		return "all"
	case f.terms()+len(f.Words) == 0 && len(f.Sponsors) == 1:
		return "sponsor"
	}
	return "query"
}

// canonical sorts and de-duplicates the values of each facet, so that
// equal filters, however a query orders them, give the same feed bytes
// (NAME, SOURCE) and share one cached feed.
func (f Filter) canonical() Filter {
	norm := func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		s = slices.Clone(s)
		slices.Sort(s)
		return slices.Compact(s)
	}
	var terms map[string][]string
	for param, vs := range f.Terms {
		if vs = norm(vs); vs != nil {
			if terms == nil {
				terms = map[string][]string{}
			}
			terms[param] = vs
		}
	}
	return Filter{ID: f.ID, Terms: terms, Sponsors: norm(f.Sponsors), Words: norm(f.Words),
		AllPast: f.AllPast && f.ID == ""}
}

// fileName is the name a browser saves the feed under:
// justice-events[-<term>|-sponsor|-search|-conference-<id>].<ext>: a
// term is a topic's slug, a region's code, ….
func (f Filter) fileName(format Format) string {
	slug := func(s string) string {
		var b strings.Builder
		for _, r := range strings.ToLower(s) {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
				b.WriteRune(r)
			case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
				b.WriteByte('-')
			}
		}
		return strings.Trim(b.String(), "-")
	}
	suffix := ""
	if _, v, ok := f.single(); ok {
		suffix = v
	}
	switch f.Kind() {
	case "conference":
		suffix = "conference-" + slug(f.ID)
	case "sponsor":
		suffix = slug(f.Sponsors[0])
	case "query":
		suffix = "search"
	}
	if len(suffix) > 60 {
		suffix = strings.TrimRight(suffix[:60], "-")
	}
	if f.AllPast && f.ID == "" {
		suffix = strings.TrimPrefix(suffix+"-all", "-")
	}
	if suffix == "" {
		return "justice-events" + format.ext()
	}
	return "justice-events-" + suffix + format.ext()
}

// Routes are the feed and read routes: a feed per value of each facet of
// domain.Facets (/calendar/topics/courts.ics, /calendar/types/webinar.ics,
// …) and per sponsor. pages, when not nil, answers /conferences/{id} for
// names that are not .ics files.
func (s *Server) Routes(pages http.Handler) []httpapi.Route {
	route := func(pattern string, h http.HandlerFunc) httpapi.Route {
		return httpapi.Route{Pattern: pattern, Handler: h}
	}
	routes := []httpapi.Route{
		route("GET /calendar.ics", s.handleQuery(ICS)),
		route("GET /calendar.rss", s.handleQuery(RSS)),
		route("GET /calendar.atom", s.handleQuery(Atom)),
		route("GET /calendar.json", s.handleQuery(JSONFeed)),
	}
	for _, facet := range domain.Facets {
		routes = append(routes, route("GET /calendar/"+facet.Path+"/{file}", s.handleFacet(facet)))
	}
	return append(routes,
		route("GET /calendar/sponsors/{file}", s.handleSponsor),
		route("GET /conferences/{file}", s.conferenceFile(pages)),
		route("GET /api/v1/conferences/{id}", s.handleConference),
		route("GET /api/v1/conferences", s.handleList),
		route("GET /api/v1/feeds", s.handleFeeds),
	)
}

// conferenceFile answers /conferences/{id}.ics, and hands other names to
// pages.
func (s *Server) conferenceFile(pages http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, format, ok := cutFormat(r.PathValue("file"))
		if !ok && pages != nil {
			pages.ServeHTTP(w, r)
			return
		}
		srv, now, answer := s.at(w, r)
		if !answer {
			return
		}
		c, found := srv.src.Get(calendar.Key(id))
		if !ok || !found || !c.Public() {
			s.notFound(w, r, "conference")
			return
		}
		srv.serveFeed(w, r, Filter{ID: id}, format, now)
	}
}

func (s *Server) serveFeed(w http.ResponseWriter, r *http.Request, f Filter, format Format, now time.Time) {
	sl, e, err := s.feed(r.Context(), f, format, now)
	if err != nil {
		s.fail(w, r, format.metricKind(f.canonical().Kind()), err)
		return
	}
	w.Header()["Content-Disposition"] = sl.disposition
	s.serveSlot(w, r, sl, e)
}

// serveSlot answers from a prepared answer, counting it.
func (s *Server) serveSlot(w http.ResponseWriter, r *http.Request, sl *slot, e *httpcache.Entry) {
	switch status := httpcache.Serve(w, r, e); status {
	case http.StatusOK:
		sl.served.Inc()
	case http.StatusNotModified:
		sl.notModified.Inc()
	default:
		s.metrics.requests.WithLabelValues(sl.kind, strconv.Itoa(status)).Inc()
	}
}

// fail answers a request whose answer could not be made: busy (503 with
// Retry-After), its client gone, or an error.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, kind string, err error) {
	switch {
	case isBusy(err):
		s.metrics.requests.WithLabelValues(kind, "503").Inc()
	case r.Context().Err() != nil:
		return // nobody is listening
	default:
		s.metrics.requests.WithLabelValues(kind, "500").Inc()
	}
	httpapi.WriteError(w, r, s.log, err)
}

func (s *Server) handleQuery(format Format) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "" {
			s.serveFeed(w, r, Filter{}, format, time.Now()) // the whole calendar: most polls
			return
		}
		f, err := ParseQuery(r.URL.Query())
		if err != nil {
			s.metrics.requests.WithLabelValues(format.metricKind("query"), "400").Inc()
			httpapi.WriteError(w, r, s.log, err)
			return
		}
		srv, now, ok := s.at(w, r)
		if !ok {
			return
		}
		srv.serveFeed(w, r, f, format, now)
	}
}

func (s *Server) handleFacet(facet domain.Facet) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, format, ok := cutFormat(r.PathValue("file"))
		t, found := facet.FromPath(v)
		if !ok || !found {
			s.notFound(w, r, facet.Param)
			return
		}
		f, err := parsePast(r.URL.Query()["past"])
		if err != nil {
			s.metrics.requests.WithLabelValues(facet.Param, "400").Inc()
			httpapi.WriteError(w, r, s.log, err)
			return
		}
		f.Terms = map[string][]string{facet.Param: {t.Value}}
		srv, now, answer := s.at(w, r)
		if !answer {
			return
		}
		srv.serveFeed(w, r, f, format, now)
	}
}

func (s *Server) handleSponsor(w http.ResponseWriter, r *http.Request) {
	v, format, ok := cutFormat(r.PathValue("file"))
	if !ok || v == "" || len(v) > domain.MaxNameLength || domain.CleanLine(v) != v {
		s.notFound(w, r, "sponsor")
		return
	}
	f, err := parsePast(r.URL.Query()["past"])
	if err != nil {
		s.metrics.requests.WithLabelValues("sponsor", "400").Inc()
		httpapi.WriteError(w, r, s.log, err)
		return
	}
	f.Sponsors = []string{v}
	srv, now, answer := s.at(w, r)
	if !answer {
		return
	}
	srv.serveFeed(w, r, f, format, now)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, kind string) {
	s.metrics.requests.WithLabelValues(kind, "404").Inc()
	httpapi.WriteError(w, r, s.log, domain.ErrNotFound)
}

// pastAll is the value of ?past= that keeps every past conference.
const pastAll = "all"

// parsePast reads ?past= of a feed whose facets are in its path.
func parsePast(vs []string) (Filter, error) {
	var f Filter
	var errs domain.ValidationError
	f.readPast(vs, &errs)
	if err := errs.Err(); err != nil {
		return Filter{}, &httpapi.Error{Status: http.StatusBadRequest, Title: "Invalid feed query", Fields: err.(*domain.ValidationError).Fields}
	}
	return f, nil
}

// readPast sets AllPast from ?past=all; any other value is an error.
func (f *Filter) readPast(vs []string, errs *domain.ValidationError) {
	for _, v := range vs {
		if strings.TrimSpace(v) == "" {
			continue
		}
		if v != pastAll {
			errs.Add("past", "invalid", "must be %q (every past conference) or absent (those that ended within the feed's window)", pastAll)
			continue
		}
		f.AllPast = true
	}
}

// AddQuery adds the filter's facets and words to q as ParseQuery reads
// them (?topic=&region=&type=&sponsor=&q=&past=: a parameter per facet
// of domain.Facets): the one place a filter becomes a query string, for
// the feeds' addresses and the pages' links alike. The ID of a single
// conference's feed is in its path, not in a query.
func (f Filter) AddQuery(q url.Values) {
	if f.AllPast && f.ID == "" {
		q.Set("past", pastAll)
	}
	for _, facet := range domain.Facets {
		for _, v := range f.Terms[facet.Param] {
			q.Add(facet.Param, v)
		}
	}
	for _, sp := range f.Sponsors {
		q.Add("sponsor", sp)
	}
	if len(f.Words) > 0 {
		q.Set("q", strings.Join(f.Words, " "))
	}
}

// ParseQuery reads a filter from ?topic=&region=&type=&sponsor=&q=&past=
// (a parameter per facet of domain.Facets), naming the parameter at fault;
// Filter.AddQuery writes it.
func ParseQuery(q map[string][]string) (Filter, error) {
	var f Filter
	var errs domain.ValidationError
	for _, facet := range domain.Facets {
		for _, v := range q[facet.Param] {
			t, ok := facet.Lookup(v)
			if !ok {
				errs.Add(facet.Param, "unknown", "%q %s", v, facet.Unknown)
				continue
			}
			if f.Terms == nil {
				f.Terms = map[string][]string{}
			}
			f.Terms[facet.Param] = append(f.Terms[facet.Param], t.Value)
		}
	}
	for _, v := range q["sponsor"] {
		v = domain.CleanLine(v)
		if v == "" || len(v) > domain.MaxNameLength {
			errs.Add("sponsor", "invalid", "must be a directory id or a sponsor name of at most %d characters", domain.MaxNameLength)
			continue
		}
		f.Sponsors = append(f.Sponsors, v)
	}
	for _, v := range q["q"] {
		if len(v) > 200 {
			errs.Add("q", "too_long", "must be at most 200 characters")
			continue
		}
		f.Words = append(f.Words, strings.Fields(strings.ToLower(domain.CleanLine(v)))...)
	}
	f.readPast(q["past"], &errs)
	if f.terms()+len(f.Sponsors)+len(f.Words) > 50 {
		errs.Add("q", "too_many", "a feed may combine at most 50 values")
	}
	if err := errs.Err(); err != nil {
		return Filter{}, &httpapi.Error{Status: http.StatusBadRequest, Title: "Invalid feed query", Fields: err.(*domain.ValidationError).Fields}
	}
	return f, nil
}

// ConferenceView is a conference as the read API shows it.
type ConferenceView struct {
	calendar.Conference
	Links ConferenceLinks `json:"links"`
}

// ConferenceLinks point to a conference's representations.
type ConferenceLinks struct {
	Self   string `json:"self"`
	ICS    string `json:"ics"`
	Webcal string `json:"webcal"`
}

func (s *Server) view(c calendar.Conference) ConferenceView {
	ics := s.absolute("/conferences/" + c.ID + ".ics")
	c.Details.Sponsors = s.currentSponsors(c.Details.Sponsors)
	return ConferenceView{Conference: c, Links: ConferenceLinks{
		Self: "/api/v1/conferences/" + c.ID, ICS: ics, Webcal: Webcal(ics)}}
}

// Webcal turns an http(s) feed URL into its webcal:// form, which Apple
// Calendar and Outlook open as a subscription.
func Webcal(u string) string {
	if rest, ok := strings.CutPrefix(u, "https://"); ok {
		return "webcal://" + rest
	}
	if rest, ok := strings.CutPrefix(u, "http://"); ok {
		return "webcal://" + rest
	}
	return u
}

// handleConference shows a published conference. Editors read any
// conference, with its contact, from the moderation API
// (GET /api/v1/moderation/conferences/{id}): feed servers hold no editor
// credential.
func (s *Server) handleConference(w http.ResponseWriter, r *http.Request) {
	srv, _, answer := s.at(w, r)
	if !answer {
		return
	}
	c, ok := srv.src.Get(calendar.Key(r.PathValue("id")))
	if !ok || !c.Public() {
		s.notFound(w, r, "api")
		return
	}
	body, _ := json.Marshal(srv.view(c))
	// The view names sponsors as the directory does now, which c.Updated
	// does not date: validated by its ETag alone.
	status := httpcache.Serve(w, r, httpcache.NewEntry(append(body, '\n'), "application/json", "public, max-age=60", time.Time{}))
	s.metrics.requests.WithLabelValues("api", strconv.Itoa(status)).Inc()
}

// ConferenceList is one page of published conferences, with the feed that
// holds the same conferences, to subscribe to.
type ConferenceList struct {
	Total int              `json:"total"`
	Items []ConferenceView `json:"items"`
	Links FeedLinks        `json:"links"`
}

// FeedLinks are a feed's addresses: the .ics feed in its two forms, https
// (Google Calendar's "From URL", browsers) and webcal (Apple Calendar and
// Outlook open it as a subscription), and the same conferences for feed
// readers as RSS 2.0, Atom 1.0 and JSON Feed 1.1 (syndication.go).
type FeedLinks struct {
	ICS    string `json:"ics"`
	Webcal string `json:"webcal"`
	RSS    string `json:"rss"`
	Atom   string `json:"atom"`
	JSON   string `json:"json_feed"`
}

// links are the addresses of f's feed in every format.
func (s *Server) links(f Filter) FeedLinks {
	ics := s.feedURL(f, ICS)
	return FeedLinks{ICS: ics, Webcal: Webcal(ics), RSS: s.feedURL(f, RSS), Atom: s.feedURL(f, Atom), JSON: s.feedURL(f, JSONFeed)}
}

// Links are the addresses of the feed that holds the conferences f
// selects, in every format: pages link them (<link rel="alternate">).
func (s *Server) Links(f Filter) FeedLinks { return s.links(f.canonical()) }

// handleList lists the published conferences in the feed window that match
// the query, soonest first: prepared from the index of public conferences
// and cached like a feed (list.go, cache.go).
func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	f, err := ParseQuery(r.URL.Query())
	if err != nil {
		s.metrics.requests.WithLabelValues("api", "400").Inc()
		httpapi.WriteError(w, r, s.log, err)
		return
	}
	f = f.canonical()
	srv, now, ok := s.at(w, r)
	if !ok {
		return
	}
	cut := srv.cutoff(now)
	kind := f.Kind()
	sl, e, err := srv.prepare(r.Context(), "api|"+f.key(), f, "api", alwaysKept(kind) && kind != "conference", cut, JSONFeed,
		func() (*httpcache.Entry, error) { return srv.renderList(f, srv.keepFrom(f, cut)) })
	if err != nil {
		s.fail(w, r, "api", err)
		return
	}
	s.serveSlot(w, r, sl, e)
}

// title names a feed in calendar apps.
func (s *Server) title(f Filter) string {
	var parts []string
	for _, facet := range domain.Facets {
		for _, v := range f.Terms[facet.Param] {
			parts = append(parts, facet.TermLabel(v))
		}
	}
	parts = append(parts, s.sponsorLabels(f.Sponsors)...)
	if len(f.Words) > 0 {
		parts = append(parts, "“"+strings.Join(f.Words, " ")+"”")
	}
	past := ""
	if f.AllPast {
		past = " (every past conference too)"
	}
	switch {
	case f.ID != "":
		if c, ok := s.src.Get(calendar.Key(f.ID)); ok {
			return "Justice Events: " + c.Details.Title
		}
		return "Justice Events"
	case len(parts) == 0:
		return "Justice Events" + past
	}
	return "Justice Events: " + strings.Join(parts, ", ") + past
}

// FeedName is the name of the feed of f in calendar apps (its NAME and
// X-WR-CALNAME): pages pass it to Outlook's subscribe links, which name
// the calendar themselves.
func (s *Server) FeedName(f Filter) string { return s.title(f.canonical()) }

func (s *Server) description(f Filter) string {
	if f.ID != "" {
		return "One conference from the Justice Events calendar of criminal-justice conferences, approved by its editors."
	}
	return "Criminal-justice conferences from the Justice Events calendar, approved by its editors. " + s.Retention(f)
}

// Retention says, in a sentence, how long the feed of f keeps past
// conferences: the feed's description (X-WR-CALDESC) and the pages'
// subscribe boxes say the same.
func (s *Server) Retention(f Filter) string {
	if f.ID != "" {
		return ""
	}
	if f.AllPast {
		return "Every past conference stays in this feed, cancelled ones too."
	}
	return "Past conferences, cancelled ones too, stay in this feed for " + Span(s.cfg.Window) +
		" after they end. To keep every one, add past=all to the feed's address."
}

// Span says a window in words: "a year", "2 years", "90 days", "a day",
// "12 hours".
func Span(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d%(365*day) == 0:
		if n := int(d / (365 * day)); n > 1 {
			return fmt.Sprintf("%d years", n)
		}
		return "a year"
	case d%day == 0:
		if n := int(d / day); n > 1 {
			return fmt.Sprintf("%d days", n)
		}
		return "a day"
	case d%time.Hour == 0 && d > time.Hour:
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	}
	return d.String()
}

// pageURL is the web page of a feed (its URL property): the conference's
// page, or the calendar's home page.
func (s *Server) pageURL(f Filter) string {
	if f.ID != "" {
		return s.absolute("/conferences/" + f.ID)
	}
	return s.absolute("/")
}

// FeedInfo describes one feed a client can subscribe to.
type FeedInfo struct {
	Kind  string `json:"kind"` // all, a facet's parameter (topic, region, …), sponsor
	Name  string `json:"name"`
	Value string `json:"value,omitempty"` // the term (topic slug, USPS code, …) or sponsor
	FeedLinks
}

// FeedIndex lists the feeds: the whole calendar, one per term of each
// facet (topic, region, …), and one per sponsor named by a published
// conference. Any combination is also a feed:
// /calendar.ics?topic=…&region=…&sponsor=…&q=…, and each feed is also
// .rss, .atom and .json (the same path, another extension).
type FeedIndex struct {
	Feeds []FeedInfo `json:"feeds"`
	Query string     `json:"query"`
}

// handleFeeds lists the feeds with both forms of their address.
func (s *Server) handleFeeds(w http.ResponseWriter, r *http.Request) {
	srv, _, ok := s.at(w, r)
	if !ok {
		return
	}
	body := srv.feedIndex()
	status := httpcache.Serve(w, r, httpcache.NewEntry(append(body, '\n'), "application/json", "public, max-age=60", time.Time{}))
	s.metrics.requests.WithLabelValues("api", strconv.Itoa(status)).Inc()
}

// feedIndex is the JSON of the feeds' list.
func (s *Server) feedIndex() []byte {
	info := func(kind, value string, f Filter) FeedInfo {
		return FeedInfo{Kind: kind, Name: s.title(f), Value: value, FeedLinks: s.links(f)}
	}
	query := s.absolute("/calendar.ics") + "?"
	for _, facet := range domain.Facets {
		query += facet.Param + "={" + facet.Param + "}&"
	}
	out := FeedIndex{Feeds: []FeedInfo{info("all", "", Filter{})}, Query: query + "sponsor={name}&q={words}"}
	for _, facet := range domain.Facets {
		for _, t := range facet.Terms {
			out.Feeds = append(out.Feeds, info(facet.Param, t.Value, Facet(facet.Param, t.Value)))
		}
	}
	for _, n := range s.sponsorNames() {
		out.Feeds = append(out.Feeds, info("sponsor", n, Filter{Sponsors: []string{n}}))
	}
	body, _ := json.Marshal(out)
	return body
}

// sponsorNames are the sponsors of public conferences, one spelling per
// name whatever its case (the first in sort order), sorted.
func (s *Server) sponsorNames() []string {
	sponsors := map[string]string{} // folded name → name as first seen in sort order
	s.src.Range(func(_ string, c calendar.Conference) bool {
		if c.Public() {
			for _, sp := range c.Details.Sponsors {
				k := strings.ToLower(sp.Name)
				if cur, ok := sponsors[k]; !ok || sp.Name < cur {
					sponsors[k] = sp.Name
				}
			}
		}
		return true
	})
	names := make([]string, 0, len(sponsors))
	for _, n := range sponsors {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(strings.Compare(strings.ToLower(a), strings.ToLower(b)), strings.Compare(a, b))
	})
	return names
}

// feedURL is the feed's own address, its SOURCE.
func (s *Server) feedURL(f Filter, format Format) string {
	f = f.canonical()
	ext := format.ext()
	if f.AllPast && f.Kind() != "all" && f.Kind() != "query" {
		f.AllPast = false
		return s.feedURL(f, format) + "?past=" + pastAll
	}
	if facet, v, ok := f.single(); ok {
		return s.absolute("/calendar/" + facet.Path + "/" + v + ext)
	}
	switch f.Kind() {
	case "conference":
		return s.absolute("/conferences/" + f.ID + ext)
	case "sponsor":
		u := *s.cfg.PublicURL
		prefix := strings.TrimSuffix(u.Path, "/") + "/calendar/sponsors/"
		u.Path, u.RawPath = prefix+f.Sponsors[0]+ext, prefix+url.PathEscape(f.Sponsors[0])+ext
		return u.String()
	}
	u := *s.cfg.PublicURL
	u.Path = strings.TrimSuffix(u.Path, "/") + "/calendar" + ext
	q := u.Query()
	f.AddQuery(q)
	u.RawQuery = q.Encode()
	return u.String()
}
