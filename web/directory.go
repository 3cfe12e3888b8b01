package web

import (
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/directory"
	"github.com/justiceevents/jevents/projections/feeds"
)

// Byte budgets that keep every page under MaxPageBytes: the layout and the
// fixed text of a page take less than layoutBudget, and lists stop adding
// items once their escaped text would pass their budget.
const (
	layoutBudget       = 12 << 10
	pageBudget         = MaxPageBytes - layoutBudget
	indexPerTopic      = 25   // entries per topic on /resources
	topicPageEntries   = 50   // entries per topic page at most
	maxConferences     = 25   // conferences listed on one page at most
	excerptRunes       = 1000 // description excerpts on lists
	entryOverhead      = 420  // markup of one entry around its text
	conferenceOverhead = 520  // markup of one conference around its text
)

// entryView is a resource as lists and its own page show it.
type entryView struct {
	ID        string
	Name      string
	Title     string // "Name (SHORT): Focus"
	ShortName string
	Parent    string
	Kind      string
	URL       string
	Phones    []phoneView
	Excerpt   string
	Truncated bool
}

type phoneView struct {
	Number string
	Label  string
	Tel    template.URL // built from digits only
}

func newEntry(r *directory.Resource, excerpt int) entryView {
	d := r.Details
	e := entryView{ID: r.ID, Name: d.Name, Title: d.Title(), ShortName: d.ShortName, Parent: d.Parent, Kind: d.Kind.Label(), URL: d.URL}
	for _, p := range d.Phones {
		e.Phones = append(e.Phones, phoneView{Number: p.Number, Label: p.Label, Tel: template.URL(p.TelURI())})
	}
	if excerpt > 0 {
		e.Excerpt, e.Truncated = cut(d.Description, excerpt)
	}
	return e
}

// cost estimates the bytes an entry takes on a page: its escaped text and
// the markup around it.
func (e entryView) cost() int {
	n := entryOverhead + 2*escapedLen(e.ID) + escapedLen(e.Title) + 2*escapedLen(e.Name) + escapedLen(e.Parent) +
		escapedLen(e.Kind) + escapedLen(e.URL) + escapedLen(e.Excerpt)
	for _, p := range e.Phones {
		n += 60 + 2*escapedLen(p.Number) + escapedLen(p.Label)
	}
	return n
}

func escapedLen(s string) int { return len(template.HTMLEscapeString(s)) }

// cut shortens text to at most n runes at a word boundary.
func cut(s string, n int) (string, bool) {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s, false
	}
	runes := []rune(s)[:n]
	out := string(runes)
	if i := strings.LastIndexByte(out, ' '); i > n/2 {
		out = out[:i]
	}
	return strings.TrimRight(out, " ,;:.") + "…", true
}

// topicGroup is one topic on /resources.
type topicGroup struct {
	Slug, Label string
	Intro       []string
	Entries     []entryView
	Total, More int
}

type indexData struct {
	Groups  []topicGroup
	Closing []string
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	s.serve(w, r, "resources", "index", func(time.Time) rendered {
		snap := s.dir.Snapshot()
		byTopic := map[string][]*directory.Resource{}
		for _, res := range snap.Active() {
			for _, t := range res.Details.Topics {
				byTopic[t] = append(byTopic[t], res)
			}
		}
		d := indexData{Closing: paragraphs(s.cfg.Closing)}
		budget := pageBudget - escapedLen(s.cfg.Closing)
		for _, t := range domain.Topics {
			list := byTopic[t.Slug]
			if len(list) == 0 {
				continue
			}
			g := topicGroup{Slug: t.Slug, Label: t.Label, Intro: paragraphs(s.cfg.TopicIntros[t.Slug]), Total: len(list)}
			budget -= 400 + escapedLen(s.cfg.TopicIntros[t.Slug])
			for _, res := range list[:min(len(list), indexPerTopic)] {
				e := newEntry(res, excerptRunes)
				if e.cost() > budget {
					break
				}
				budget -= e.cost()
				g.Entries = append(g.Entries, e)
			}
			g.More = g.Total - len(g.Entries)
			d.Groups = append(d.Groups, g)
		}
		return rendered{http.StatusOK, s.render("resources", layoutData{
			Title:       "Related resources",
			Description: "Agencies, offices, initiatives and task forces related to criminal-justice conferences, grouped by topic.",
			Body:        d,
		})}
	})
}

// conferenceView is a conference on a page: what the pages format for
// people, and D, its fields as stored, for templates that show a field as
// it is (html/template escapes it).
type conferenceView struct {
	D         domain.ConferenceDetails
	ID        string
	Title     string
	When      string
	Datetime  string
	Where     string
	URL       string
	Cancelled bool
	Sponsors  []sponsorView
	Topics    []domain.Topic
}

type sponsorView struct {
	ID   string // set when the sponsor is an active resource of the directory
	Name string
}

// costed are the fields cost counts one by one; any other field a
// template shows counts as its text, twice (a label and a link or an
// attribute may repeat it), and the markup around it.
var costed = []string{"title", "description", "all_day", "start", "end", "timezone", "format", "location", "url", "sponsors", "topics"}

func (c conferenceView) cost() int {
	n := conferenceOverhead + 3*escapedLen(c.ID) + 2*escapedLen(c.Title) + len(c.When) + len(c.Datetime) + escapedLen(c.Where) + escapedLen(c.URL)
	for _, sp := range c.Sponsors {
		n += 40 + escapedLen(sp.ID) + escapedLen(sp.Name)
	}
	for _, t := range c.Topics {
		n += 50 + len(t.Slug) + escapedLen(t.Label)
	}
	for _, f := range domain.ConferenceFields {
		if v := f.Text(c.D); v != "" && !slices.Contains(costed, f.Name) {
			n += 80 + 2*escapedLen(v)
		}
	}
	return n
}

// conferenceViews turns conferences into views within a byte budget and
// says how many did not fit.
func conferenceViews(snap *directory.Snapshot, list []calendar.Conference, budget int) ([]conferenceView, int) {
	var out []conferenceView
	for _, c := range list[:min(len(list), maxConferences)] {
		v := newConference(snap, c)
		if v.cost() > budget {
			break
		}
		budget -= v.cost()
		out = append(out, v)
	}
	return out, len(list) - len(out)
}

func newConference(snap *directory.Snapshot, c calendar.Conference) conferenceView {
	d := c.Details
	v := conferenceView{D: d, ID: c.ID, Title: d.Title, URL: d.URL, Cancelled: c.Status == domain.StatusCancelled, Where: where(d),
		Topics: topicViews(d.Topics)}
	v.When, v.Datetime = when(d)
	for _, sp := range d.Sponsors {
		sv := sponsorView{Name: sp.Name}
		if sp.ID != "" {
			if r, ok := snap.Get(sp.ID); ok {
				sv.Name = r.Details.Name
				if r.Active() {
					sv.ID = r.ID
				}
			}
		}
		v.Sponsors = append(v.Sponsors, sv)
	}
	return v
}

// when formats a conference's dates for people, and its start for <time>.
func when(d domain.ConferenceDetails) (string, string) {
	if d.AllDay {
		first, last := d.StartTime(), d.EndTime().AddDate(0, 0, -1)
		dt := first.Format(domain.DateLayout)
		switch {
		case first.Equal(last):
			return first.Format("Monday, January 2, 2006"), dt
		case first.Year() == last.Year() && first.Month() == last.Month():
			return first.Format("January 2") + "–" + last.Format("2, 2006"), dt
		case first.Year() == last.Year():
			return first.Format("January 2") + " – " + last.Format("January 2, 2006"), dt
		}
		return first.Format("January 2, 2006") + " – " + last.Format("January 2, 2006"), dt
	}
	loc, err := time.LoadLocation(d.Timezone)
	if err != nil {
		loc = time.UTC
	}
	st, et := d.StartTime().In(loc), d.EndTime().In(loc)
	dt := st.Format(time.RFC3339)
	y1, m1, d1 := st.Date()
	if y2, m2, d2 := et.Date(); y1 == y2 && m1 == m2 && d1 == d2 {
		return st.Format("Monday, January 2, 2006, 3:04 PM") + " – " + et.Format("3:04 PM MST"), dt
	}
	return st.Format("January 2, 2006, 3:04 PM") + " – " + et.Format("January 2, 2006, 3:04 PM MST"), dt
}

// where is "Venue, City, MD", "Online" or "".
func where(d domain.ConferenceDetails) string {
	l := d.Location
	var parts []string
	for _, p := range []string{l.Venue, l.City, l.Region} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if l.Country != "" && l.Country != "US" {
		parts = append(parts, l.Country)
	}
	switch d.Format {
	case domain.FormatOnline:
		if len(parts) == 0 {
			return "Online"
		}
	case domain.FormatHybrid:
		parts = append(parts, "and online")
	}
	return strings.Join(parts, ", ")
}

type topicData struct {
	Slug, Label     string
	Intro           []string
	Entries         []entryView
	Total           int
	Paged           bool
	First, Last     int
	Next            int
	Prev            bool
	Conferences     []conferenceView
	MoreConferences int
	Subscribe       subscribeData
	Closing         []string
}

func (s *Server) handleTopic(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("topic")
	t, ok := domain.LookupTopic(slug)
	from, err := strconv.Atoi(r.URL.Query().Get("from"))
	if err != nil || from < 0 {
		from = 0
	}
	s.serve(w, r, "topic", "topic|"+slug+"|"+strconv.Itoa(from), func(now time.Time) rendered {
		if !ok || t.Slug != slug {
			return s.errorPage(http.StatusNotFound, "Topic not found", "There is no topic "+strconv.Quote(slug)+" in the calendar.", "")
		}
		snap := s.dir.Snapshot()
		var list []*directory.Resource
		var last time.Time
		for _, res := range snap.Active() {
			if slices.Contains(res.Details.Topics, t.Slug) {
				list = append(list, res)
				if res.Updated.After(last) {
					last = res.Updated
				}
			}
		}
		d := topicData{Slug: t.Slug, Label: t.Label, Intro: paragraphs(s.cfg.TopicIntros[t.Slug]), Total: len(list),
			Closing: paragraphs(s.cfg.Closing)}
		d.Subscribe = s.subscribe("Subscribe to "+t.Label+" conferences",
			"Calendar apps keep the subscription up to date as conferences on "+t.Label+" are added, changed or cancelled.",
			feeds.Facet("topic", t.Slug))
		budget := pageBudget - escapedLen(s.cfg.Closing) - escapedLen(s.cfg.TopicIntros[t.Slug])
		confs := s.upcoming(now, func(c calendar.Conference) bool { return slices.Contains(c.Details.Topics, t.Slug) })
		d.Conferences, d.MoreConferences = conferenceViews(snap, confs, budget/3)
		for _, c := range d.Conferences {
			budget -= c.cost()
		}
		if from >= len(list) {
			from = 0
		}
		for _, res := range list[from:min(len(list), from+topicPageEntries)] {
			e := newEntry(res, excerptRunes)
			if e.cost() > budget {
				break
			}
			budget -= e.cost()
			d.Entries = append(d.Entries, e)
		}
		if end := from + len(d.Entries); end < len(list) {
			d.Next = end
		}
		d.Prev = from > 0
		d.Paged = from > 0 || d.Next > 0
		d.First, d.Last = from+1, from+len(d.Entries)
		return rendered{http.StatusOK, s.render("topic", layoutData{
			Title:       t.Label,
			Description: "Resources on " + t.Label + " and upcoming conferences, with a calendar subscription.",
			Alternate:   &alternate{Title: "Justice Events: " + t.Label, Href: "/calendar/topics/" + t.Slug + ".ics"},
			Body:        d,
		})}
	})
}

type resourceData struct {
	R               entryView
	Description     []string
	Topics          []domain.Topic
	Conferences     []conferenceView
	MoreConferences int
	Subscribe       subscribeData
	History         string
	Closing         []string
}

func (s *Server) handleResource(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.serve(w, r, "resource", "resource|"+id, func(now time.Time) rendered {
		snap := s.dir.Snapshot()
		res, ok := snap.Get(id)
		if !ok {
			return s.errorPage(http.StatusNotFound, "Resource not found", "There is no resource "+strconv.Quote(id)+" in the directory.", "")
		}
		if !res.Active() {
			return s.errorPage(http.StatusGone, res.Details.Name+" was retired",
				"This resource was retired from the directory on "+res.RetiredAt.UTC().Format("January 2, 2006")+". Its history stays available.",
				"/api/v1/resources/"+res.ID+"/history")
		}
		d := resourceData{R: newEntry(&res, 0), Description: paragraphs(res.Details.Description), Closing: paragraphs(s.cfg.Closing),
			History: "/api/v1/resources/" + res.ID + "/history"}
		for _, slug := range res.Details.Topics {
			if t, ok := domain.LookupTopic(slug); ok {
				d.Topics = append(d.Topics, t)
			}
		}
		d.Subscribe = s.subscribe("Subscribe to conferences sponsored by "+res.Details.Name,
			"Calendar apps keep the subscription up to date as conferences sponsored by "+res.Details.Name+" are added, changed or cancelled.",
			feeds.Filter{Sponsors: []string{res.ID}})
		budget := pageBudget - d.R.cost() - escapedLen(res.Details.Description) - escapedLen(s.cfg.Closing) - 4*escapedLen(res.Details.Name)
		confs := s.upcoming(now, func(c calendar.Conference) bool { return c.Sponsored(res.ID) })
		d.Conferences, d.MoreConferences = conferenceViews(snap, confs, budget)
		title := res.Details.Name
		if res.Details.ShortName != "" {
			title += " (" + res.Details.ShortName + ")"
		}
		desc, _ := cut(res.Details.Description, 160)
		return rendered{http.StatusOK, s.render("resource", layoutData{
			Title:       title,
			Description: desc,
			Alternate:   &alternate{Title: "Justice Events: sponsored by " + res.Details.Name, Href: "/calendar/sponsors/" + res.ID + ".ics"},
			Body:        d,
		})}
	})
}
