package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/calendar"
)

// day is midnight UTC n days from today.
func day(n int) time.Time {
	y, m, d := time.Now().UTC().Date()
	return time.Date(y, m, d+n, 0, 0, 0, 0, time.UTC)
}

// listedIDs are the conferences a calendar page lists, in order.
func listedIDs(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<p class="title"><a href="/conferences/([^"]+)">`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func calendarFixture() calSource {
	ovc := domain.Sponsor{ID: "ovc", Name: "OVC"}
	a := conference("a", "Court Innovation Summit", day(10), 2, domain.StatusApproved, []string{"courts"}, ovc)
	b := conference("b", "Reentry Forum", day(20), 1, domain.StatusApproved, []string{"reentry"}, domain.Sponsor{Name: "Local Coalition"})
	b.Details.Location.Region = "VA"
	c := conference("c", "Courts and Technology", day(30), 1, domain.StatusApproved, []string{"courts"})
	c.Details.Location.Region, c.Details.Description = "VA", "Digital evidence in the courtroom."
	d := conference("d", "Pending court meeting", day(12), 1, domain.StatusPending, []string{"courts"})
	e := conference("e", "Past court meeting", day(-12), 1, domain.StatusApproved, []string{"courts"})
	f := conference("f", "Cancelled court meeting", day(40), 1, domain.StatusCancelled, []string{"courts"})
	g := conference("g", "Trafficking webinar", day(400), 1, domain.StatusApproved, []string{"trafficking-in-persons"})
	g.Details.Format, g.Details.Location = domain.FormatOnline, domain.Location{Region: "CA", Country: "US"}
	h := conference("h", "Rejected court meeting", day(15), 1, domain.StatusRejected, []string{"courts"})
	cal := calSource{}
	for _, x := range []calendar.Conference{a, b, c, d, e, f, g, h} {
		cal[calendar.Key(x.ID)] = x
	}
	return cal
}

// TestHomeFilters: the home page lists published conferences that have
// not ended, soonest first, each linking to its page; filters combine as
// the feeds do (OR within a facet, AND across), plus a date range on the
// conferences' own dates; the subscribe box offers the same selection's
// feed in every calendar app's form.
func TestHomeFilters(t *testing.T) {
	s := newSite(t, seeded(), calendarFixture())
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"everything upcoming", "", []string{"a", "b", "c", "f", "g"}},
		{"one topic", "topic=courts", []string{"a", "c", "f"}},
		{"two topics: or", "topic=courts&topic=reentry", []string{"a", "b", "c", "f"}},
		{"topic and state: and", "topic=courts&region=VA", []string{"c"}},
		{"two states by code and name", "region=MD&region=California", []string{"a", "f", "g"}},
		{"sponsor by directory id", "sponsor=ovc", []string{"a"}},
		{"sponsor by name", "sponsor=local+coalition", []string{"b"}},
		{"keyword in the description", "q=EVIDENCE", []string{"c"}},
		{"keywords: and", "q=court+summit", []string{"a"}},
		{"date range", "from=" + day(15).Format("2006-01-02") + "&to=" + day(35).Format("2006-01-02"), []string{"b", "c"}},
		{"range overlapping a start", "from=" + day(11).Format("2006-01-02") + "&to=" + day(11).Format("2006-01-02"), []string{"a"}},
		{"from the past", "from=" + day(-20).Format("2006-01-02"), []string{"e", "a", "b", "c", "f", "g"}},
		{"nothing matches", "topic=courts&q=astrology", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := s.get("/?"+tc.query, nil)
			if p.status != 200 {
				t.Fatalf("%d", p.status)
			}
			checkPage(t, tc.query, p)
			if got := listedIDs(p.body); !slices.Equal(got, tc.want) {
				t.Fatalf("listed %v, want %v", got, tc.want)
			}
			if len(tc.want) == 0 && !strings.Contains(p.body, "No conferences match") {
				t.Fatal("an empty selection does not say so")
			}
		})
	}

	p := s.get("/?topic=courts", nil)
	for _, want := range []string{
		`<strong>Cancelled</strong>`,
		`<a href="/resources/ovc">Office for Victims of Crime</a>`,
		`<a href="/resources/topics/courts">Courts</a>`,
		`<input type="checkbox" name="topic" value="courts" checked>`,
		`<details class="facet" open>`,
		`value="https://events.example/calendar/topics/courts.ics"`,
		`href="webcal://events.example/calendar/topics/courts.ics"`,
		`href="https://calendar.google.com/calendar/r?cid=https%3A%2F%2Fevents.example%2Fcalendar%2Ftopics%2Fcourts.ics"`,
		// Outlook names the calendar as the link says: the feed's own name.
		`href="https://outlook.live.com/calendar/0/addfromweb?name=Justice&#43;Events%3A&#43;Courts&amp;url=https%3A%2F%2Fevents.example%2Fcalendar%2Ftopics%2Fcourts.ics"`,
		`href="https://outlook.office.com/calendar/0/addfromweb?name=Justice&#43;Events%3A&#43;Courts&amp;url=https%3A%2F%2Fevents.example%2Fcalendar%2Ftopics%2Fcourts.ics"`,
		// How long past conferences stay, and the feed that keeps them all.
		"Past conferences, cancelled ones too, stay in this feed for 90 days after they end.",
		`<a href="https://events.example/calendar/topics/courts.ics?past=all">The feed with every past conference</a>`,
		// The month view of the same selection, from the first one listed.
		`<a href="/month/` + day(10).Format("2006-01") + `?topic=courts">See them by month, from ` + day(10).Format("January 2006") + `</a>`,
		"Google refreshes every 8 to 24 hours", "Outlook refreshes about every 3 hours", "Thunderbird refreshes every 30 minutes",
		"as often as you choose",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("no %s", want)
		}
	}
	// A cancelled conference offers nothing to add; the others' links
	// name what they add, their visible text first (WCAG 2.5.3).
	if strings.Count(p.body, `<p class="add">`) != 2 || strings.Contains(p.body, `href="/conferences/f.ics"`) {
		t.Errorf("add links: %d, one of the cancelled f", strings.Count(p.body, `<p class="add">`))
	}
	if !strings.Contains(p.body, `<a href="/conferences/a.ics">Add to calendar<span class="visually-hidden">: Court Innovation Summit</span></a>`) ||
		strings.Contains(p.body, `aria-label="Add `) {
		t.Error("the add link's accessible name does not start with its visible text")
	}
	for path, name := range map[string]string{
		"/?sponsor=ovc":     "Justice&#43;Events%3A&#43;Office&#43;for&#43;Victims&#43;of&#43;Crime",
		"/?region=VA&q=law": "Justice&#43;Events%3A&#43;Virginia%2C&#43;%E2%80%9Claw%E2%80%9D",
		"/":                 "Justice&#43;Events&amp;",
	} {
		if p := s.get(path, nil); !strings.Contains(p.body, "addfromweb?name="+name) {
			t.Errorf("%s: the Outlook link does not name the feed %s", path, name)
		}
	}
	p = s.get("/?region=VA&topic=courts&q=Digital", nil)
	if !strings.Contains(p.body, `value="https://events.example/calendar.ics?q=digital&amp;region=VA&amp;topic=courts"`) {
		t.Error("the subscribe box does not offer the selection's feed")
	}
	// The offered feed holds what the page lists.
	feed := s.get("/calendar.ics?q=digital&region=VA&topic=courts", nil)
	if feed.status != 200 || !strings.Contains(feed.body, "UID:c@events.example") || strings.Count(feed.body, "BEGIN:VEVENT") != 1 {
		t.Fatalf("the selection's feed: %d\n%s", feed.status, feed.body)
	}

	// Bad filters: 400, the page says what is wrong next to each filter,
	// and keeps what was typed.
	p = s.get("/?topic=astrology&from=soon&q=kept+words", nil)
	if p.status != http.StatusBadRequest {
		t.Fatalf("bad filters: %d", p.status)
	}
	checkPage(t, "bad filters", p)
	for _, want := range []string{
		`<p class="error" id="topic-error">&#34;astrology&#34; is not a topic of the calendar </p>`,
		`<p class="error" id="from-error">must be a date such as`,
		`id="from" name="from" type="date" value="soon" aria-invalid="true" aria-describedby="from-error"`,
		`value="kept words"`, "Check the filters above",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("bad filters: no %s", want)
		}
	}
	p = s.get("/?from="+day(5).Format("2006-01-02")+"&to="+day(1).Format("2006-01-02"), nil)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "must not be before the first date") {
		t.Fatalf("a range ending before it starts: %d", p.status)
	}
}

// TestHomePaging: following the pages shows every upcoming conference
// once, soonest first, each page under 100 KB, even when every field is
// as long and as costly to escape as validation allows; "earlier" leads
// back to the page before.
func TestHomePaging(t *testing.T) {
	long := func(n int) string { return strings.Repeat(`&"`, n/2) }
	cal := calSource{}
	const n = 75
	for i := range n {
		c := conference(fmt.Sprintf("c%03d", i), fmt.Sprintf("%03d ", i)+long(domain.MaxTitleLength-4), day(1+i), 2, domain.StatusApproved, []string{"courts"})
		if i%3 == 0 {
			for j := range domain.MaxSponsors {
				c.Details.Sponsors = append(c.Details.Sponsors, domain.Sponsor{Name: fmt.Sprint(j) + long(domain.MaxNameLength-2)})
			}
			c.Details.Location = domain.Location{Venue: long(domain.MaxNameLength), City: long(domain.MaxNameLength), Region: "MD", Country: "US"}
			c.Details.Topics = nil
			for _, tp := range domain.Topics[:domain.MaxTopics] {
				c.Details.Topics = append(c.Details.Topics, tp.Slug)
			}
		}
		cal[calendar.Key(c.ID)] = c
	}
	s := newSite(t, seeded(), cal)
	var seen []string
	path, pages := "/", 0
	prev := map[string]string{} // page → its "earlier" link
	var paths []string
	for path != "" {
		if pages++; pages > n {
			t.Fatal("the pages never end")
		}
		p := s.get(path, nil)
		checkPage(t, path, p)
		ids := listedIDs(p.body)
		if len(ids) == 0 {
			t.Fatalf("%s lists nothing", path)
		}
		seen = append(seen, ids...)
		paths = append(paths, path)
		if m := regexp.MustCompile(`href="([^"]+)" rel="prev"`).FindStringSubmatch(p.body); m != nil {
			prev[path] = strings.ReplaceAll(m[1], "&amp;", "&")
		}
		path = ""
		if m := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(p.body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("c%03d", i)
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("the pages list %v", seen)
	}
	if pages < 4 {
		t.Fatalf("%d pages for %d long conferences: the byte budget does not cut", pages, n)
	}
	// The page before the second page is the first page's selection.
	if p := prev[paths[1]]; p == "" || listedIDs(s.get(p, nil).body)[0] != "c000" {
		t.Fatalf("the second page's earlier link %q", p)
	}
}

// TestConferencePage: a published conference's page shows every public
// field, links its sponsors to the directory and its topics to their
// pages, offers its own feed, and marks a cancellation; unpublished and
// unknown conferences are 404; the page answers 304 to its ETag.
func TestConferencePage(t *testing.T) {
	cal := calendarFixture()
	a := cal[calendar.Key("a")]
	a.Details.Description = "First paragraph about courts.\n\nSecond paragraph,\nwith a line break."
	a.Details.URL = "https://example.org/summit"
	a.Details.AllDay, a.Details.Start, a.Details.End, a.Details.Timezone = false, day(10).Format("2006-01-02")+"T09:00:00", day(10).Format("2006-01-02")+"T17:30:00", "America/Chicago"
	a.Details.Sponsors = append(a.Details.Sponsors, domain.Sponsor{Name: "Local Coalition"})
	a.Details.Topics = []string{"courts", "victims-of-crime"}
	a.Published = epoch
	cal[calendar.Key("a")] = a
	f := cal[calendar.Key("f")]
	f.CancelReason = "The venue closed."
	cal[calendar.Key("f")] = f
	s := newSite(t, seeded(), cal)

	p := s.get("/conferences/a", nil)
	if p.status != 200 {
		t.Fatalf("%d %s", p.status, p.body)
	}
	checkPage(t, "/conferences/a", p)
	for _, want := range []string{
		"<h1>Court Innovation Summit</h1>",
		"9:00 AM – 5:30 PM C", "(America/Chicago)",
		"<dd>In person</dd>", "Convention Center, Baltimore, MD",
		`<a href="https://example.org/summit" rel="external noopener">example.org/summit</a>`,
		`<li><a href="/resources/ovc">Office for Victims of Crime</a></li><li>Local Coalition</li>`,
		`<a href="/resources/topics/courts">Courts</a>, <a href="/resources/topics/victims-of-crime">Victims of Crime</a>`,
		`<p class="desc">First paragraph about courts.</p>`, "Second paragraph,\nwith a line break.",
		`href="/conferences/a.ics"`, `href="webcal://events.example/conferences/a.ics"`,
		`value="https://events.example/conferences/a.ics"`, `<link rel="alternate" type="text/calendar"`,
		"Published November 1, 2026", `href="/moderation/conferences/a"`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("no %s", want)
		}
	}
	if again := s.get("/conferences/a", map[string]string{"If-None-Match": p.header.Get("ETag")}); again.status != http.StatusNotModified {
		t.Errorf("with its ETag: %d", again.status)
	}
	if ics := s.get("/conferences/a.ics", nil); ics.status != 200 || !strings.Contains(ics.body, "SUMMARY:Court Innovation Summit") {
		t.Errorf("its feed: %d", ics.status)
	}

	// One-event links: Google Calendar's and Outlook's forms, filled in
	// (local times and the zone for Google, UTC instants for Outlook).
	date := day(10).Format("20060102")
	chicago, _ := time.LoadLocation("America/Chicago")
	startUTC := time.Date(day(10).Year(), day(10).Month(), day(10).Day(), 9, 0, 0, 0, chicago).UTC().Format("2006-01-02T15:04:05Z")
	for _, want := range []string{
		`href="https://calendar.google.com/calendar/render?action=TEMPLATE&amp;ctz=America%2FChicago&amp;dates=` + date + `T090000%2F` + date + `T173000&amp;details=First&#43;paragraph`,
		`&amp;text=Court&#43;Innovation&#43;Summit"`, `location=Convention&#43;Center%2C&#43;Baltimore%2C&#43;MD`,
		`href="https://outlook.live.com/calendar/0/deeplink/compose?allday=false&amp;body=First&#43;paragraph`,
		`startdt=` + url.QueryEscape(startUTC), `subject=Court&#43;Innovation&#43;Summit`,
		`href="https://outlook.office.com/calendar/0/deeplink/compose?`,
		">Add to Google Calendar</a>", ">Add to Outlook.com</a>", ">Download the event (.ics)</a>",
		// The breadcrumb is the way here, not the conference's topics.
		`<nav aria-label="Breadcrumb" class="crumbs"><a href="/">Calendar</a> › <span aria-current="page">Court Innovation Summit</span></nav>`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("no %s", want)
		}
	}
	if strings.Contains(p.body, `Calendar</a> › <a href="/resources/topics/courts">Courts</a> › `) {
		t.Error("the breadcrumb chains the conference's topics")
	}

	p = s.get("/conferences/f", nil)
	checkPage(t, "/conferences/f", p)
	for _, never := range []string{"calendar.google.com", "deeplink/compose", `<a href="/conferences/f.ics"`, "webcal://", "Add to"} {
		if strings.Contains(p.body, never) {
			t.Errorf("the cancelled conference offers %s", never)
		}
	}
	for _, want := range []string{`<h1><span class="badge">Cancelled</span> Cancelled court meeting</h1>`,
		"<strong>This conference is cancelled.</strong> The venue closed.", "<title>Cancelled: Cancelled court meeting"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("cancelled: no %s", want)
		}
	}
	for _, id := range []string{"d", "h", "nope", "%3Cscript%3E"} {
		p := s.get("/conferences/"+id, nil)
		if p.status != http.StatusNotFound || !strings.Contains(p.body, "Conference not found") {
			t.Errorf("%s: %d", id, p.status)
		}
		checkPage(t, id, p)
	}
}

// TestCalendarHostileText: HTML and line breaks in a conference show as
// text on the home page and the conference's page.
func TestCalendarHostileText(t *testing.T) {
	// As validation stores it.
	sub, err := domain.ValidateSubmission(domain.SubmissionInput{
		Title: `<script>alert("title")</script>`, Start: day(3).Format("2006-01-02"), Format: "in_person",
		Description: "line one\r\nline two <iframe src=//evil.example></iframe>\rthree",
		Location:    &domain.LocationInput{Venue: "</p><h1>venue\r\nSet-Cookie: x=y", City: "Baltimore", Region: "MD"},
		URL:         `https://example.org/?q=%22%3E%3Cscript%3E`, Topics: []string{"courts"},
		Sponsors: []string{`"><img src=x onerror=alert(1)>`}, Contact: &domain.Contact{Email: "x@example.org"},
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	x := calendar.Conference{ID: "x", Status: domain.StatusApproved, Version: 1, Details: sub.Details, Submitted: epoch, Updated: epoch, Published: epoch}
	s := newSite(t, seeded(), calSource{calendar.Key("x"): x})
	for _, path := range []string{"/", "/conferences/x", "/?q=" + url.QueryEscape(`"><script>alert(2)</script>`)} {
		p := s.get(path, nil)
		checkPage(t, path, p)
		for _, raw := range []string{"<img", "<iframe", "<script", "</p><h1>", "\r"} {
			if strings.Contains(p.body, raw) {
				t.Errorf("%s: raw %q in the page", path, raw)
			}
		}
		if !strings.Contains(p.body, "&lt;script&gt;alert(") {
			t.Errorf("%s: the text is not shown escaped", path)
		}
	}
}

// TestCalendarPagesStayUnder100KB: a conference with every field as long
// and as costly to escape as validation allows has a page under 100 KB.
func TestCalendarPagesStayUnder100KB(t *testing.T) {
	long := func(n int) string { return strings.Repeat(`&"`, n/2) }
	c := conference("big", long(domain.MaxTitleLength), day(2), 3, domain.StatusCancelled, nil)
	c.Details.Description = long(domain.MaxDescriptionLength)
	c.Details.URL = "https://example.org/?" + strings.Repeat("a&b", (domain.MaxURLLength-30)/3)
	c.Details.Location = domain.Location{Venue: long(domain.MaxNameLength), City: long(domain.MaxNameLength), Region: "MD", Country: "US"}
	c.CancelReason = long(domain.MaxReasonLength)
	for j := range domain.MaxSponsors {
		c.Details.Sponsors = append(c.Details.Sponsors, domain.Sponsor{Name: fmt.Sprint(j) + long(domain.MaxNameLength-2)})
	}
	for _, tp := range domain.Topics[:domain.MaxTopics] {
		c.Details.Topics = append(c.Details.Topics, tp.Slug)
	}
	open := c // the same, not cancelled: with its add links
	open.ID, open.Status, open.CancelReason = "big-open", domain.StatusApproved, ""
	s := newSite(t, seeded(), calSource{calendar.Key("big"): c, calendar.Key("big-open"): open})
	for _, path := range []string{"/conferences/big", "/conferences/big-open", "/", "/?q=" + url.QueryEscape(long(200)),
		"/month/" + day(2).Format("2006-01")} {
		p := s.get(path, nil)
		checkPage(t, path, p)
		t.Logf("%s: %d bytes", path, len(p.body))
	}
}

// TestMonthView: /month/YYYY-MM lists the month's published conferences,
// past months too, under the day each starts on (the month's first day for
// one that began before it), with the list's filters; it links the months
// around it, keeping the filters, and the list links to it.
func TestMonthView(t *testing.T) {
	cal := calendarFixture()
	// One that spans the turn of a month: under the first day of the next.
	span := conference("span", "Month-spanning Institute", time.Date(2031, 3, 30, 0, 0, 0, 0, time.UTC), 4, domain.StatusApproved, []string{"courts"})
	early := conference("early", "Early April Courts Day", time.Date(2031, 4, 1, 0, 0, 0, 0, time.UTC), 1, domain.StatusApproved, []string{"courts"})
	late := conference("late", "Late April Reentry Day", time.Date(2031, 4, 20, 0, 0, 0, 0, time.UTC), 1, domain.StatusApproved, []string{"reentry"})
	gone := conference("gone", "Cancelled April Meeting", time.Date(2031, 4, 20, 0, 0, 0, 0, time.UTC), 1, domain.StatusCancelled, []string{"reentry"})
	wait := conference("wait", "Pending April Meeting", time.Date(2031, 4, 21, 0, 0, 0, 0, time.UTC), 1, domain.StatusPending, []string{"reentry"})
	for _, c := range []calendar.Conference{span, early, late, gone, wait} {
		cal[calendar.Key(c.ID)] = c
	}
	s := newSite(t, seeded(), cal)

	p := s.get("/month/2031-04", nil)
	checkPage(t, "/month/2031-04", p)
	if p.status != 200 {
		t.Fatalf("%d", p.status)
	}
	if got := listedIDs(p.body); !slices.Equal(got, []string{"span", "early", "gone", "late"}) {
		t.Fatalf("April 2031 lists %v", got)
	}
	for _, want := range []string{
		"<h1>Conferences in April 2031</h1>",
		`<h3 id="d-2031-04-01"><time datetime="2031-04-01">Tuesday, April 1</time></h3>`,
		`<h3 id="d-2031-04-20"><time datetime="2031-04-20">Sunday, April 20</time></h3>`,
		`<a href="/month/2031-03" rel="prev">Previous month: March 2031</a>`,
		`<a href="/month/2031-05" rel="next">Next month: May 2031</a>`,
		"<strong>Cancelled</strong>",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("no %s", want)
		}
	}
	// March holds the spanning one under its own first day.
	if got := listedIDs(s.get("/month/2031-03", nil).body); !slices.Equal(got, []string{"span"}) {
		t.Errorf("March 2031 lists %v", got)
	}
	// The same filters as the list and the feeds; the month links keep them.
	p = s.get("/month/2031-04?topic=courts", nil)
	if got := listedIDs(p.body); !slices.Equal(got, []string{"span", "early"}) {
		t.Errorf("April 2031, courts: %v", got)
	}
	for _, want := range []string{`href="/month/2031-05?topic=courts"`, "Your selection: Courts.",
		`value="https://events.example/calendar/topics/courts.ics"`, `<a href="/?from=2031-04-01&amp;topic=courts">Change the filters</a>`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("filtered: no %s", want)
		}
	}
	if got := listedIDs(s.get("/month/2031-04?q=reentry", nil).body); !slices.Equal(got, []string{"late"}) {
		t.Errorf("April 2031, keyword: %v", got)
	}
	// A past month is there too.
	past := day(-12)
	if got := listedIDs(s.get("/month/"+past.Format("2006-01"), nil).body); !slices.Contains(got, "e") {
		t.Errorf("the past month %s lists %v", past.Format("2006-01"), got)
	}
	for _, bad := range []string{"/month/2031-13", "/month/2031-4", "/month/june", "/month/1969-12", "/month/2031-04-01"} {
		if p := s.get(bad, nil); p.status != http.StatusNotFound {
			t.Errorf("%s: %d", bad, p.status)
		} else {
			checkPage(t, bad, p)
		}
	}
	if p := s.get("/month/2031-04?topic=astrology", nil); p.status != http.StatusBadRequest || !strings.Contains(p.body, "astrology") {
		t.Errorf("a bad filter: %d", p.status)
	}
}

// TestMonthViewPages: a month busier than one page continues on further
// pages, each under 100 KB, together listing every conference once.
func TestMonthViewPages(t *testing.T) {
	cal := calSource{}
	for i := range 400 {
		c := conference(fmt.Sprintf("m%03d", i), fmt.Sprintf("Busy June Conference number %d on courts and sentencing", i),
			time.Date(2031, 6, 1+i%30, 0, 0, 0, 0, time.UTC), 1, domain.StatusApproved, []string{"courts"})
		cal[calendar.Key(c.ID)] = c
	}
	s := newSite(t, seeded(), cal)
	seen := map[string]bool{}
	next := "/month/2031-06"
	for pages := 0; next != ""; pages++ {
		if pages > 50 {
			t.Fatal("the pages never end")
		}
		p := s.get(next, nil)
		checkPage(t, next, p)
		for _, id := range listedIDs(p.body) {
			if seen[id] {
				t.Fatalf("%s listed twice", id)
			}
			seen[id] = true
		}
		next = ""
		if m := regexp.MustCompile(`<a href="([^"]+)" rel="next">Later in the month</a>`).FindStringSubmatch(p.body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(seen) != 400 {
		t.Fatalf("the month's pages list %d of 400", len(seen))
	}
}
