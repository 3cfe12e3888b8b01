package web

import (
	"cmp"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/feeds"
)

// The month view, GET /month/{YYYY-MM}: the published conferences of one
// month, past months too, under the days they start on (or the month's
// first day, for one that began before it), with the list's filters
// (?topic=&region=&sponsor=&q=) and links to the months around it. A list
// of days, each a heading over its conferences, rather than a grid: it
// reads in order with a screen reader and on a phone, needs no script, and
// a busy month (hundreds of conferences) continues on further pages within
// the page budget, as the list does.

// monthLayout is the month in the path.
const monthLayout = "2006-01"

// Months the view answers; others are 404.
const (
	firstMonthYear = 1970
	lastMonthYear  = 2200
)

// monthPath is the month view of m (YYYY-MM) for the filter f.
func monthPath(m string, f feeds.Filter) string {
	q := url.Values{}
	f.AddQuery(q)
	if len(q) == 0 {
		return "/month/" + m
	}
	return "/month/" + m + "?" + q.Encode()
}

// monthLabel is "June 2027" for 2027-06.
func monthLabel(m string) string {
	t, err := time.Parse(monthLayout, m)
	if err != nil {
		return m
	}
	return t.Format("January 2006")
}

// dayGroup is one day of the month view and the conferences shown under it.
type dayGroup struct {
	ID, Label, Date string
	Conferences     []conferenceView
}

type monthData struct {
	Heading     string
	Selection   string // the filters, in words; "" for the whole calendar
	ListHref    string // the list with the same filters, from the month's first day
	Prev, Next  link
	Total       int
	First, Last int
	Days        []dayGroup
	Earlier     string // the pages of a busy month
	Later       string
	Subscribe   subscribeData
}

// monthPageBudget leaves room for the navigation and the subscribe box.
const monthPageBudget = pageBudget - homeFilterBudget

func (s *Server) handleMonth(w http.ResponseWriter, r *http.Request) {
	m := r.PathValue("month")
	t, err := time.Parse(monthLayout, m)
	if err != nil || t.Format(monthLayout) != m || t.Year() < firstMonthYear || t.Year() > lastMonthYear {
		s.serve(w, r, "month", "month|bad", func(time.Time) rendered {
			return s.errorPage(http.StatusNotFound, "No such month",
				"A month's address is /month/ and the year and month, such as /month/"+time.Now().UTC().Format(monthLayout)+".", "")
		})
		return
	}
	q := r.URL.Query()
	delete(q, "from") // the month is the range
	delete(q, "to")
	h := parseHomeQuery(q, time.Now())
	if len(h.errs) > 0 {
		var msgs []string
		for _, k := range slices.Sorted(maps.Keys(h.errs)) {
			msgs = append(msgs, k+": "+strings.Join(h.errs[k], "; "))
		}
		s.message(w, r, http.StatusBadRequest, "month", "calendar", "Check the filters", strings.Join(msgs, " · "))
		return
	}
	last := t.AddDate(0, 1, -1)
	h.from, h.to = t.Format(domain.DateLayout), last.Format(domain.DateLayout)
	s.serve(w, r, "month", "month|"+h.key(), func(time.Time) rendered {
		d := s.monthData(t, h)
		return rendered{http.StatusOK, s.render("month", layoutData{
			Title:       d.Heading,
			Description: "Criminal-justice conferences in " + monthLabel(m) + ", approved by the Justice Events editors, day by day.",
			Section:     "calendar",
			Alternate:   &alternate{Title: "Justice Events", Href: "/calendar.ics"},
			Body:        d,
		})}
	})
}

// monthData selects the month's conferences (h.from to h.to, the month's
// first and last days) and groups them by day.
func (s *Server) monthData(t time.Time, h homeQuery) monthData {
	f := h.filter
	m := t.Format(monthLayout)
	d := monthData{Heading: "Conferences in " + t.Format("January 2006"),
		Prev:     link{Href: monthPath(t.AddDate(0, -1, 0).Format(monthLayout), f), Label: t.AddDate(0, -1, 0).Format("January 2006")},
		Next:     link{Href: monthPath(t.AddDate(0, 1, 0).Format(monthLayout), f), Label: t.AddDate(0, 1, 0).Format("January 2006")},
		ListHref: homeQuery{filter: f, from: h.from}.pageQuery(0)}
	if !f.IsZero() {
		d.Selection = strings.TrimPrefix(s.feedName(f), "Justice Events: ")
	}
	d.Subscribe = s.selectionBox(f, "the month narrows this page only")

	type item struct {
		l   *listed
		day string
	}
	var sel []item
	for _, l := range s.index().list {
		if h.match(l) {
			sel = append(sel, item{l, max(l.first, h.from)})
		}
	}
	slices.SortStableFunc(sel, func(a, b item) int { return cmp.Compare(a.day, b.day) })
	d.Total = len(sel)
	start := min(h.start, len(sel))
	snap := s.dir.Snapshot()
	budget := monthPageBudget
	shown := 0
	for _, it := range sel[start:] {
		v := newConference(snap, it.l.c)
		cost := v.cost() + 200 // its share of a day's heading
		if (cost > budget || shown == homePageSize*5) && shown > 0 {
			break
		}
		budget -= cost
		shown++
		if n := len(d.Days); n == 0 || d.Days[n-1].Date != it.day {
			day, _ := time.Parse(domain.DateLayout, it.day)
			d.Days = append(d.Days, dayGroup{ID: "d-" + it.day, Date: it.day, Label: day.Format("Monday, January 2")})
		}
		g := &d.Days[len(d.Days)-1]
		g.Conferences = append(g.Conferences, v)
	}
	d.First, d.Last = start+1, start+shown
	page := func(at int) string {
		p := monthPath(m, f)
		sep := "?"
		if strings.Contains(p, "?") {
			sep = "&"
		}
		if at == 0 {
			return p
		}
		return p + sep + "start=" + strconv.Itoa(at)
	}
	if d.Last < len(sel) {
		d.Later = page(d.Last)
	}
	if start > 0 {
		// Back to the month's first page: pages of a month are few.
		d.Earlier = page(0)
	}
	return d
}
