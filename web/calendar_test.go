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
		`href="https://outlook.live.com/calendar/0/addfromweb?name=Justice&#43;Events&amp;url=https%3A%2F%2Fevents.example%2Fcalendar%2Ftopics%2Fcourts.ics"`,
		"Google refreshes every 8 to 24 hours", "Outlook refreshes about every 3 hours", "Thunderbird refreshes every 30 minutes",
		"as often as you choose",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("no %s", want)
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

	p = s.get("/conferences/f", nil)
	checkPage(t, "/conferences/f", p)
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
		body := withoutJSONLD(t, path, p.body)
		for _, raw := range []string{"<img", "<iframe", "<script", "</p><h1>", "\r"} {
			if strings.Contains(body, raw) {
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
	s := newSite(t, seeded(), calSource{calendar.Key("big"): c})
	for _, path := range []string{"/conferences/big", "/", "/?q=" + url.QueryEscape(long(200))} {
		p := s.get(path, nil)
		checkPage(t, path, p)
		t.Logf("%s: %d bytes", path, len(p.body))
	}
}
