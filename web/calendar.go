package web

import (
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/feeds"
)

// calIndex holds the published conferences of one generation, soonest
// first, with their times parsed once: the calendar's pages filter it
// instead of ranging over and sorting the replica.
type calIndex struct {
	gen  uint64
	list []*listed
	// present are the terms of the sparse facets (domain.Facet.Sparse)
	// some published conference has, by parameter: what the filter form
	// offers of them.
	present map[string]map[string]bool
}

// listed is a published conference with its times.
type listed struct {
	c           calendar.Conference
	start, end  time.Time // end is exclusive (the midnight after an all-day conference)
	first, last string    // its first and last local dates, YYYY-MM-DD
	// text is its feeds.SearchText, kept from the first keyword search that
	// reached it in this generation.
	text atomic.Pointer[string]
}

// searchText is the conference's feeds.SearchText.
func (l *listed) searchText() string {
	if t := l.text.Load(); t != nil {
		return *t
	}
	t := feeds.SearchText(l.c)
	l.text.Store(&t)
	return t
}

// index returns the index of the current generation, building it on first
// use after a change.
func (s *Server) index() *calIndex {
	gen := s.gen.Load()
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	if s.idx != nil && s.idx.gen == gen {
		return s.idx
	}
	zones := map[string]*time.Location{}
	n := 0
	if s.idx != nil {
		n = len(s.idx.list) + 16
	}
	list := make([]*listed, 0, n)
	s.cal.Range(func(_ string, c calendar.Conference) bool {
		if !c.Public() {
			return true
		}
		if l, ok := parseTimes(c, zones); ok {
			list = append(list, l)
		}
		return true
	})
	slices.SortFunc(list, func(a, b *listed) int {
		return cmp.Or(a.start.Compare(b.start), strings.Compare(a.c.ID, b.c.ID))
	})
	present := map[string]map[string]bool{}
	for _, facet := range domain.Facets {
		if !facet.Sparse {
			continue
		}
		present[facet.Param] = map[string]bool{}
		for _, l := range list {
			for _, t := range facet.Terms {
				if facet.Has(l.c.Details, t.Value) {
					present[facet.Param][t.Value] = true
				}
			}
		}
	}
	s.idx = &calIndex{gen: gen, list: list, present: present}
	return s.idx
}

// parseTimes reads a conference's start and end, loading each time zone
// once per index.
func parseTimes(c calendar.Conference, zones map[string]*time.Location) (*listed, bool) {
	d := c.Details
	l := &listed{c: c, first: datePart(d.Start), last: datePart(d.End)}
	if d.AllDay {
		st, err1 := time.Parse(domain.DateLayout, d.Start)
		en, err2 := time.Parse(domain.DateLayout, d.End)
		if err1 != nil || err2 != nil {
			return l, false
		}
		l.start, l.end = st, en.AddDate(0, 0, 1)
		return l, true
	}
	loc, ok := zones[d.Timezone]
	if !ok {
		var err error
		if loc, err = time.LoadLocation(d.Timezone); err != nil {
			return l, false
		}
		zones[d.Timezone] = loc
	}
	st, err1 := time.ParseInLocation(domain.LocalTimeLayout, d.Start, loc)
	en, err2 := time.ParseInLocation(domain.LocalTimeLayout, d.End, loc)
	if err1 != nil || err2 != nil {
		return l, false
	}
	l.start, l.end = st, en
	return l, true
}

func datePart(s string) string {
	if len(s) >= 10 {
		return s[:10]
	}
	return s
}

// today is midnight UTC of now's day: conferences that ended before it are
// no longer upcoming.
func today(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// upcoming lists the published conferences that match and have not ended
// before today (UTC), soonest first.
func (s *Server) upcoming(now time.Time, match func(calendar.Conference) bool) []calendar.Conference {
	t := today(now)
	var out []calendar.Conference
	for _, l := range s.index().list {
		if !l.end.Before(t) && match(l.c) {
			out = append(out, l.c)
		}
	}
	return out
}

// Page sizes of the home page.
const (
	homePageSize     = 20
	homeFilterBudget = 16 << 10 // the filter form, the subscribe box and the pager
	maxSponsorHints  = 60
)

// homeQuery is the selection of the home page: the feed filter (topic,
// region, sponsor, q) and what only pages add (a date range, an offset).
type homeQuery struct {
	filter   feeds.Filter
	from, to string // YYYY-MM-DD, inclusive
	start    int
	errs     map[string][]string
	values   url.Values
}

func parseHomeQuery(q url.Values, now time.Time) homeQuery {
	// The filter form sends its empty fields too: they select nothing.
	for k, vs := range q {
		q[k] = slices.DeleteFunc(vs, func(v string) bool { return strings.TrimSpace(v) == "" })
	}
	h := homeQuery{values: q, errs: map[string][]string{}}
	f, err := feeds.ParseQuery(q)
	var he *httpapi.Error
	switch {
	case err == nil:
		h.filter = f
	case errors.As(err, &he):
		for _, fe := range he.Fields {
			if len(h.errs[fe.Field]) < 3 { // messages quote what was typed: a few, cut short
				msg, _ := cut(fe.Message, 120)
				h.errs[fe.Field] = append(h.errs[fe.Field], msg)
			}
		}
	default:
		h.errs["q"] = append(h.errs["q"], err.Error())
	}
	for _, k := range []string{"from", "to"} {
		v := strings.TrimSpace(q.Get(k))
		if v == "" {
			continue
		}
		if _, err := time.Parse(domain.DateLayout, v); err != nil {
			h.errs[k] = append(h.errs[k], "must be a date such as "+now.Format(domain.DateLayout))
			continue
		}
		if k == "from" {
			h.from = v
		} else {
			h.to = v
		}
	}
	if h.from != "" && h.to != "" && h.to < h.from {
		h.errs["to"] = append(h.errs["to"], "must not be before the first date")
	}
	if n, err := strconv.Atoi(q.Get("start")); err == nil && n > 0 {
		h.start = n
	}
	return h
}

// key is the cache key of the page: equal selections share one page.
func (h homeQuery) key() string {
	f := h.filter
	var b strings.Builder
	lists := make([][]string, 0, len(domain.Facets)+2)
	for _, facet := range domain.Facets {
		lists = append(lists, f.Terms[facet.Param])
	}
	for _, list := range append(lists, f.Sponsors, f.Words) {
		v := slices.Clone(list)
		slices.Sort(v)
		for _, x := range slices.Compact(v) {
			b.WriteString(strconv.Quote(x))
		}
		b.WriteByte('|')
	}
	fmt.Fprintf(&b, "%s|%s|%d", h.from, h.to, h.start)
	return b.String()
}

// match reports whether a listed conference is in the selection: the feed
// filter (with the conference's search text, when the filter has words),
// and the date range on the conference's own local dates.
func (h homeQuery) match(l *listed) bool {
	if h.from != "" && l.last < h.from {
		return false
	}
	if h.to != "" && l.first > h.to {
		return false
	}
	if len(h.filter.Words) == 0 {
		return h.filter.Match(l.c)
	}
	facets := h.filter
	facets.Words = nil
	return facets.Match(l.c) && h.filter.MatchText(l.c, l.searchText())
}

// pageQuery is the query string of the selection at another offset.
func (h homeQuery) pageQuery(start int) string {
	q := url.Values{}
	h.filter.AddQuery(q) // the feeds' own encoding of a filter
	if h.from != "" {
		q.Set("from", h.from)
	}
	if h.to != "" {
		q.Set("to", h.to)
	}
	if start > 0 {
		q.Set("start", strconv.Itoa(start))
	}
	if len(q) == 0 {
		return "/"
	}
	return "/?" + q.Encode()
}

// option is one checkbox of a facet.
type option struct {
	Value, Label string
	Checked      bool
}

// facetView is one facet's group of boxes in the filter form.
type facetView struct {
	Param, Label string
	Class        string // site.css lays both classes out as a grid
	Options      []option
	Open         bool // a box is ticked, or a value is wrong
	Errors       []string
}

type homeData struct {
	Facets       []facetView
	Sponsors     []string // the sponsor inputs' values (at least one)
	SponsorHints []string
	Q, From, To  string
	Errors       map[string][]string
	Filtered     bool
	Total        int
	First, Last  int
	Conferences  []conferenceView
	Next, Prev   string
	FirstPage    string
	Subscribe    subscribeData
	MoreOpen     bool // the "More filters" box: open when one of its filters is wrong
	Active       int  // how many of its filters are chosen (the box says it, closed)
	Month        *link
}

// link is a link's address and text.
type link struct{ Href, Label string }

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	h := parseHomeQuery(r.URL.Query(), now)
	if len(h.errs) > 0 {
		// Not cached: the page says what to fix, next to each filter.
		d := s.homeData(h, now)
		s.page(w, r, http.StatusBadRequest, "home", "home", layoutData{Title: "Criminal-justice conferences", Section: "calendar", Body: d})
		return
	}
	s.serve(w, r, "home", "home|"+h.key(), func(now time.Time) rendered {
		d := s.homeData(h, now)
		title := "Criminal-justice conferences"
		if d.Filtered {
			title = "Conferences: your selection"
		}
		return rendered{http.StatusOK, s.render("home", layoutData{
			Title:       title,
			Description: "Upcoming criminal-justice conferences approved by the Justice Events editors, by topic, state, sponsor and date, with calendar subscriptions.",
			Section:     "calendar",
			Alternate:   &alternate{Title: "Justice Events", Href: "/calendar.ics"},
			OG:          &openGraph{Type: "website", Title: title, Description: "Upcoming criminal-justice conferences approved by the Justice Events editors.", URL: s.absolute("/")},
			JSONLD:      s.itemListLD(d.First, d.Conferences),
			Body:        d,
		})}
	})
}

// homeData selects and pages the conferences of the home page.
func (s *Server) homeData(h homeQuery, now time.Time) homeData {
	f := h.filter
	short := func(s string, n int) string {
		if utf8.RuneCountInString(s) > n {
			return string([]rune(s)[:n])
		}
		return s
	}
	d := homeData{Q: short(h.values.Get("q"), 200), From: short(h.values.Get("from"), 32), To: short(h.values.Get("to"), 32), Errors: h.errs}
	for _, v := range h.values["sponsor"][:min(len(h.values["sponsor"]), 5)] {
		d.Sponsors = append(d.Sponsors, short(v, domain.MaxNameLength))
	}
	if len(d.Sponsors) == 0 {
		d.Sponsors = []string{""}
	}
	d.Filtered = !f.IsZero() || h.from != "" || h.to != ""
	for _, facet := range domain.Facets {
		v := facetView{Param: facet.Param, Label: facet.Label, Class: "topics", Errors: h.errs[facet.Param]}
		if facet.Param == "region" {
			v.Class = "states"
		}
		present := s.index().present[facet.Param]
		for _, t := range facet.Terms {
			o := option{Value: t.Value, Label: t.Label, Checked: slices.Contains(f.Terms[facet.Param], t.Value)}
			if facet.Sparse && !o.Checked && !present[t.Value] {
				continue // a country no conference is in
			}
			v.Open = v.Open || o.Checked
			v.Options = append(v.Options, o)
		}
		v.Open = v.Open || len(v.Errors) > 0
		d.Facets = append(d.Facets, v)
	}
	d.Subscribe = s.selectionBox(f, "the dates narrow this page only")
	d.Subscribe.Embed = s.embedSnippet(f)
	for _, k := range []string{"sponsor", "from", "to"} {
		d.MoreOpen = d.MoreOpen || len(h.errs[k]) > 0
	}
	for _, facet := range domain.Facets {
		d.MoreOpen = d.MoreOpen || len(h.errs[facet.Param]) > 0
	}
	for _, vs := range f.Terms {
		d.Active += len(vs)
	}
	d.Active += len(f.Sponsors)
	if h.from != "" {
		d.Active++
	}
	if h.to != "" {
		d.Active++
	}
	if len(h.errs) > 0 {
		return d
	}

	// The selection: from the first date asked for, else from today.
	t := today(now)
	idx := s.index()
	var sel []*listed
	sponsorCount := map[string]int{}
	for _, l := range idx.list {
		if h.from == "" && l.end.Before(t) {
			continue
		}
		if h.match(l) {
			sel = append(sel, l)
		}
		if l.end.Before(t) {
			continue
		}
		for _, sp := range l.c.Details.Sponsors {
			if len(sponsorCount) < 2000 || sponsorCount[sp.Name] > 0 {
				sponsorCount[sp.Name]++
			}
		}
	}
	d.SponsorHints = topSponsors(sponsorCount, maxSponsorHints)
	d.Total = len(sel)
	start := min(h.start, len(sel))
	snap := s.dir.Snapshot()
	budget := pageBudget - homeFilterBudget - escapedLen(strings.Join(d.SponsorHints, ""))*2
	for _, l := range sel[start:min(len(sel), start+homePageSize)] {
		v := newConference(snap, l.c)
		if v.cost() > budget && len(d.Conferences) > 0 {
			break
		}
		budget -= v.cost()
		d.Conferences = append(d.Conferences, v)
	}
	d.First, d.Last = start+1, start+len(d.Conferences)
	if start < len(sel) {
		m := sel[start].first[:7] // the month of the first one shown
		if h.from != "" && h.from[:7] > m {
			m = h.from[:7]
		}
		d.Month = &link{Href: monthPath(m, f), Label: monthLabel(m)}
	}
	if d.Last < len(sel) {
		d.Next = h.pageQuery(d.Last)
	}
	if start > 0 {
		// The previous page ends where this one starts: fit items backwards.
		budget, prev := pageBudget-homeFilterBudget, start
		for prev > 0 && start-prev < homePageSize {
			c := newConference(snap, sel[prev-1].c).cost()
			if c > budget && prev < start {
				break
			}
			budget -= c
			prev--
		}
		d.Prev = h.pageQuery(prev)
		d.FirstPage = h.pageQuery(0)
	}
	return d
}

// topSponsors are the sponsors named most often, for the sponsor field's
// suggestions, in alphabetical order.
func topSponsors(count map[string]int, n int) []string {
	names := make([]string, 0, len(count))
	for k := range count {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(count[b]-count[a], strings.Compare(a, b)) })
	names = names[:min(n, len(names))]
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(strings.Compare(strings.ToLower(a), strings.ToLower(b)), strings.Compare(a, b))
	})
	return names
}

// subscribeBox is the "Subscribe" box of a selection: the feed in each
// calendar app's form, and how often each app refreshes
// (/work/shared/docs/ical-conventions.md §4).
type subscribeBox struct {
	HTTPS     string
	Webcal    template.URL
	Google    string // "" when the feed is not https: Google cannot read it
	Outlook   string
	Office365 string
	Name      string
	Embed     string // the <iframe> of /embed for partner sites, where offered
}

// feedURL is the feed of a selection: as the feed server names it, or
// /calendar.ics with the selection's query.
func (s *Server) feedURL(f feeds.Filter) string {
	if s.cfg.Feeds != nil {
		return s.cfg.Feeds.FeedURL(f)
	}
	q := homeQuery{filter: f}.pageQuery(0)
	return s.absolute("/calendar.ics") + strings.TrimPrefix(q, "/")
}

// feedName is the feed's name in calendar apps, as the feed names itself.
func (s *Server) feedName(f feeds.Filter) string {
	if s.cfg.Feeds != nil {
		return s.cfg.Feeds.FeedName(f)
	}
	return "Justice Events"
}

// selectionBox is the subscribe box of a selection of the calendar's
// pages; narrow says what the page narrows that the feed does not.
func (s *Server) selectionBox(f feeds.Filter, narrow string) subscribeData {
	if !f.IsZero() {
		return s.subscribe("Subscribe to this selection",
			"The feed holds the conferences of your topics, states, sponsors and keywords, upcoming and past ("+narrow+"). Calendar apps keep it up to date as conferences are added, changed or cancelled.", f)
	}
	return s.subscribe("Subscribe to the calendar", "Calendar apps keep a subscription up to date as conferences are added, changed or cancelled.", f)
}

// boxFor makes the links of the feed at u, named name in the apps that
// take a name (Outlook; Google and Apple read the feed's own NAME).
func boxFor(u, name string) subscribeBox {
	b := subscribeBox{HTTPS: u, Webcal: template.URL(feeds.Webcal(u)), Name: name}
	if strings.HasPrefix(u, "https://") {
		b.Google = "https://calendar.google.com/calendar/r?cid=" + url.QueryEscape(u)
	}
	q := url.Values{"url": {u}, "name": {b.Name}}
	b.Outlook = "https://outlook.live.com/calendar/0/addfromweb?" + q.Encode()
	b.Office365 = "https://outlook.office.com/calendar/0/addfromweb?" + q.Encode()
	return b
}

// conferenceData is a conference's own page.
type conferenceData struct {
	V            conferenceView
	Description  []string
	Format       string
	Timezone     string
	CancelReason string
	Published    string
	Updated      string
	ICS          string // the event's feed, absolute
	ICSPath      string
	Webcal       template.URL
	Add          addLinks // none when cancelled
	Editors      string
	URLText      string // the website's address, shortened for reading
}

// ConferencePage answers GET /conferences/{id} (feeds.Server.Routes hands
// it the names that are not .ics files): one published conference with
// every public field. Pending, rejected and unknown conferences are 404.
func (s *Server) ConferencePage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("file")
		s.serve(w, r, "conference", "conference|"+id, func(time.Time) rendered {
			c, ok := s.cal.Get(calendar.Key(id))
			if !ok || !c.Public() {
				return s.errorPage(http.StatusNotFound, "Conference not found",
					"There is no published conference "+strconv.Quote(id)+" in the calendar. A conference shows here once an editor has approved it.", "")
			}
			d := c.Details
			v := newConference(s.dir.Snapshot(), c)
			ics := s.absolute("/conferences/" + c.ID + ".ics")
			data := conferenceData{V: v, Description: paragraphs(d.Description), Format: formatLabel(d.Format),
				CancelReason: c.CancelReason, ICS: ics, ICSPath: "/conferences/" + c.ID + ".ics", Webcal: template.URL(feeds.Webcal(ics)),
				Updated: c.Updated.UTC().Format("January 2, 2006"), Editors: "/moderation/conferences/" + c.ID}
			if !d.AllDay {
				data.Timezone = d.Timezone
			}
			if !v.Cancelled {
				data.Add = newAddLinks(d, s.absolute("/conferences/"+c.ID))
			}
			data.URLText, _ = cut(strings.TrimPrefix(strings.TrimPrefix(d.URL, "https://"), "http://"), 80)
			if !c.Published.IsZero() {
				data.Published = c.Published.UTC().Format("January 2, 2006")
			}
			title := d.Title
			if v.Cancelled {
				title = "Cancelled: " + title
			}
			desc, _ := cut(v.When+". "+v.Where+". "+d.Description, 160)
			return rendered{http.StatusOK, s.render("conference", layoutData{
				Title:       title,
				Description: desc,
				Section:     "calendar",
				// The feed links name no title: the page says it, and a title as long
				// as validation allows, four times over, would outgrow the page budget.
				Alternate: &alternate{Title: "Justice Events: this conference", Href: "/conferences/" + c.ID + ".ics"},
				OG:        &openGraph{Type: "website", Title: ogTitle(title), Description: desc, URL: s.absolute("/conferences/" + c.ID)},
				JSONLD:    s.eventLD(c, v),
				Body:      data,
			})}
		})
	})
}

// formatLabel says how people attend.
func formatLabel(f domain.Format) string {
	switch f {
	case domain.FormatInPerson:
		return "In person"
	case domain.FormatOnline:
		return "Online"
	case domain.FormatHybrid:
		return "Hybrid: in person and online"
	}
	return string(f)
}

// topicViews are the topics of a conference, in the vocabulary's order.
func topicViews(slugs []string) []domain.Topic {
	var out []domain.Topic
	for _, t := range domain.Topics {
		if slices.Contains(slugs, t.Slug) {
			out = append(out, t)
		}
	}
	return out
}
