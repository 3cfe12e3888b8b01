package web_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/producers/resources"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/directory"
	"github.com/justiceevents/jevents/projections/feeds"
	"github.com/justiceevents/jevents/web"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// dirSource and calSource are read models held in maps.
type dirSource map[string]directory.Resource

func (m dirSource) Get(k string) (directory.Resource, bool) { r, ok := m[k]; return r, ok }
func (m dirSource) Range(fn func(string, directory.Resource) bool) {
	for k, v := range m {
		if !fn(k, v) {
			return
		}
	}
}

type calSource map[string]calendar.Conference

func (m calSource) Get(k string) (calendar.Conference, bool) { c, ok := m[k]; return c, ok }
func (m calSource) Range(fn func(string, calendar.Conference) bool) {
	for k, v := range m {
		if !fn(k, v) {
			return
		}
	}
}

var epoch = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// seeded is the directory as the published page seeds it.
func seeded() dirSource {
	m := dirSource{}
	for i, e := range resources.Published().Entries() {
		m[directory.Key(e.ID)] = directory.Resource{ID: e.ID, Version: uint64(i + 1), Status: directory.StatusActive,
			Details: e.Details, Added: epoch, Updated: epoch}
	}
	return m
}

type site struct {
	t     *testing.T
	srv   *httptest.Server
	web   *web.Server
	index *directory.Index
	dir   dirSource
	cal   calSource
}

func newSite(t *testing.T, dir dirSource, cal calSource) *site {
	t.Helper()
	page := resources.Published()
	intros := map[string]string{}
	for _, s := range page.Sections {
		intros[s.Topic] = s.Intro
	}
	pub, _ := url.Parse("https://events.example")
	index := directory.NewIndex(dir)
	fs := feeds.New(feeds.Config{PublicURL: pub, Window: 90 * 24 * time.Hour}, cal, quiet, nil)
	fs.SetSponsorNames(index)
	ws, err := web.New(web.Config{PublicURL: pub, TopicIntros: intros, Closing: page.Closing, Feeds: fs}, index, cal, quiet, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	_ = httpapi.Handle(mux, ws.Routes(), nil, nil)                    // public routes only
	_ = httpapi.Handle(mux, fs.Routes(ws.ConferencePage()), nil, nil) // public routes only
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &site{t: t, srv: srv, web: ws, index: index, dir: dir, cal: cal}
}

// changeResource stores r and tells the index and the pages, as the
// replica's callbacks do.
func (s *site) changeResource(r directory.Resource) {
	old, had := s.dir[directory.Key(r.ID)]
	s.dir[directory.Key(r.ID)] = r
	s.index.Changed(directory.Key(r.ID), old, had, r)
	s.web.DirectoryChanged(directory.Key(r.ID), old, had, r)
}

type page struct {
	status int
	header http.Header
	body   string
}

func (s *site) get(path string, header map[string]string) page {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.srv.URL+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Header, string(b)}
}

func conference(id, title string, start time.Time, days int, status domain.Status, topics []string, sponsors ...domain.Sponsor) calendar.Conference {
	c := calendar.Conference{ID: id, Status: status, Version: 1, Details: domain.ConferenceDetails{
		Title: title, AllDay: true, Start: start.Format(domain.DateLayout), End: start.AddDate(0, 0, days-1).Format(domain.DateLayout),
		Format: domain.FormatInPerson, Location: domain.Location{Venue: "Convention Center", City: "Baltimore", Region: "MD", Country: "US"},
		Topics: topics, Sponsors: sponsors,
	}, Submitted: epoch, Updated: epoch}
	if status.Public() {
		c.Published = epoch // approved (and perhaps cancelled since)
	}
	return c
}

// checkPage holds for every page: well-formed headers for a page that
// loads nothing from elsewhere and runs no script.
func checkPage(t *testing.T, path string, p page) {
	t.Helper()
	if got := p.header.Get("Content-Security-Policy"); !strings.HasPrefix(got, "default-src 'self'") {
		t.Errorf("%s: CSP %q", path, got)
	}
	if ct := p.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("%s: Content-Type %q", path, ct)
	}
	if len(p.body) >= web.MaxPageBytes {
		t.Errorf("%s: %d bytes", path, len(p.body))
	}
	// Text is escaped, so every "<" left starts a real tag, and every '"'
	// in a tag delimits an attribute value: check the tags' names and
	// attributes, and the links' schemes.
	values := regexp.MustCompile(`"[^"]*"`)
	for _, tag := range regexp.MustCompile(`<[^>]*>`).FindAllString(p.body, -1) {
		bare := values.ReplaceAllString(tag, `""`)
		for _, bad := range []*regexp.Regexp{
			regexp.MustCompile(`(?i)^<(script|style|iframe|object|embed|img|base)\b`),
			regexp.MustCompile(`(?i)\s(style|src|on[a-z]+)=`),
		} {
			if bad.MatchString(bare) {
				t.Errorf("%s: tag %s matches %s", path, tag, bad)
			}
		}
		if regexp.MustCompile(`(?i)^<form\b`).MatchString(tag) && !regexp.MustCompile(`^<form [^>]*method="(get|post)" action="/[a-z0-9/-]*"`).MatchString(tag) {
			t.Errorf("%s: form %s does not post to this site", path, tag)
		}
		if regexp.MustCompile(`(?i)^<link[^>]*href="(https?:)?//`).MatchString(tag) ||
			regexp.MustCompile(`(?i)href="\s*(javascript|data|vbscript):`).MatchString(tag) {
			t.Errorf("%s: tag %s", path, tag)
		}
	}
	for _, must := range []string{`<html lang="en">`, `<meta name="viewport"`, `<a class="skip" href="#main">`, `<main id="main"`,
		`<nav aria-label="Main">`, `<li><a href="/"`, `>Calendar</a>`, `href="/submit"`, `href="/resources"`, "<footer"} {
		if !strings.Contains(p.body, must) {
			t.Errorf("%s: no %s", path, must)
		}
	}
	if n := strings.Count(p.body, "<h1"); n != 1 {
		t.Errorf("%s: %d h1 headings", path, n)
	}
}

// TestResourcesPage: the directory as seeded shows the 14 published
// entries under their topic, like the published page, with its
// introduction and disclaimer. The page is golden.
func TestResourcesPage(t *testing.T) {
	s := newSite(t, seeded(), calSource{})
	p := s.get("/resources", nil)
	if p.status != 200 {
		t.Fatalf("%d %s", p.status, p.body)
	}
	checkPage(t, "/resources", p)
	if got := strings.Count(p.body, `<article class="entry"`); got != 14 {
		t.Fatalf("%d entries, want 14", got)
	}
	section := p.body[strings.Index(p.body, "Trafficking in Persons - Related Resources"):]
	for _, e := range resources.Published().Entries() {
		if !strings.Contains(section, `href="/resources/`+e.ID+`"`) {
			t.Errorf("%s is not under Trafficking in Persons", e.ID)
		}
	}
	for _, want := range []string{
		"This section contains examples of nationally recognized agencies and organizations",
		"Links from the NCJRS Web site to non-Federal sites do not constitute an endorsement",
		`<a href="tel:&#43;18664015510">1-866-401-5510</a> (Trafficking victims verification toll-free number)`,
		"Federal Bureau of Investigation (FBI): Human Trafficking",
		`href="/resources/topics/trafficking-in-persons"`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("no %q", want)
		}
	}
	golden(t, "resources.golden.html", p.body)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal([]byte(got), want) {
		t.Fatalf("%s differs (go test -update rewrites it):\n%s", path, got)
	}
}

// TestTopicAndResourcePages: a topic page lists its resources, its
// upcoming published conferences and its feed; a resource page the
// conferences it sponsors and its sponsor feed.
func TestTopicAndResourcePages(t *testing.T) {
	now := time.Now().UTC()
	ovc := domain.Sponsor{ID: "ovc", Name: "OVC (as typed)"}
	cal := calSource{
		"conference.a": conference("a", "Upcoming trafficking summit", now.AddDate(0, 1, 0), 3, domain.StatusApproved, []string{"trafficking-in-persons"}, ovc, domain.Sponsor{Name: "Local Coalition"}),
		"conference.b": conference("b", "Pending summit", now.AddDate(0, 1, 0), 1, domain.StatusPending, []string{"trafficking-in-persons"}, ovc),
		"conference.c": conference("c", "Past summit", now.AddDate(0, -2, 0), 1, domain.StatusApproved, []string{"trafficking-in-persons"}, ovc),
		"conference.d": conference("d", "Cancelled summit", now.AddDate(0, 2, 0), 1, domain.StatusCancelled, []string{"trafficking-in-persons"}),
		"conference.e": conference("e", "Courts day", now.AddDate(0, 1, 0), 1, domain.StatusApproved, []string{"courts"}, ovc),
		"conference.f": conference("f", "Happening today", now, 1, domain.StatusApproved, []string{"trafficking-in-persons"}),
	}
	s := newSite(t, seeded(), cal)

	p := s.get("/resources/topics/trafficking-in-persons", nil)
	if p.status != 200 {
		t.Fatalf("topic: %d %s", p.status, p.body)
	}
	checkPage(t, "topic", p)
	for _, want := range []string{
		"Upcoming trafficking summit", "Cancelled summit", "<strong>Cancelled</strong>", "Happening today",
		`<a href="/resources/ovc">Office for Victims of Crime</a>; Local Coalition`,
		`href="webcal://events.example/calendar/topics/trafficking-in-persons.ics"`,
		`href="https://events.example/calendar/topics/trafficking-in-persons.ics"`,
		`<link rel="alternate" type="text/calendar"`,
		"14 resources", "Links from the NCJRS Web site",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("topic page: no %q", want)
		}
	}
	for _, unwanted := range []string{"Pending summit", "Past summit", "Courts day"} {
		if strings.Contains(p.body, unwanted) {
			t.Errorf("topic page shows %q", unwanted)
		}
	}
	if i, j := strings.Index(p.body, "Happening today"), strings.Index(p.body, "Upcoming trafficking summit"); i > j {
		t.Error("conferences are not soonest first")
	}

	p = s.get("/resources/ovc", nil)
	if p.status != 200 {
		t.Fatalf("resource: %d %s", p.status, p.body)
	}
	checkPage(t, "resource", p)
	for _, want := range []string{
		"<h1>Office for Victims of Crime (OVC)</h1>", "Upcoming trafficking summit", "Courts day",
		`href="webcal://events.example/calendar/sponsors/ovc.ics"`, `href="https://events.example/calendar/sponsors/ovc.ics"`,
		`href="/api/v1/resources/ovc/history"`, `href="/resources/topics/trafficking-in-persons"`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("resource page: no %q", want)
		}
	}
	for _, unwanted := range []string{"Pending summit", "Past summit", "Happening today"} {
		if strings.Contains(p.body, unwanted) {
			t.Errorf("resource page shows %q", unwanted)
		}
	}

	// A retired resource leaves the views: its page says so with 410, it
	// leaves the lists, and sponsors linked to it show its name unlinked.
	ovcRec := s.dir[directory.Key("ovc")]
	ovcRec.Status, ovcRec.RetiredAt, ovcRec.Version = directory.StatusRetired, now, 99
	s.changeResource(ovcRec)
	p = s.get("/resources/ovc", nil)
	if p.status != http.StatusGone || !strings.Contains(p.body, "was retired") || !strings.Contains(p.body, "/api/v1/resources/ovc/history") {
		t.Fatalf("retired resource: %d %s", p.status, p.body)
	}
	checkPage(t, "retired", p)
	idx := s.get("/resources", nil)
	if strings.Contains(idx.body, `href="/resources/ovc"`) || strings.Count(idx.body, `<article class="entry"`) != 13 {
		t.Fatal("a retired resource is still listed")
	}
	p = s.get("/resources/topics/trafficking-in-persons", nil)
	if strings.Contains(p.body, `href="/resources/ovc"`) || !strings.Contains(p.body, "Sponsors: Office for Victims of Crime; Local Coalition") {
		t.Fatal("the topic page still links the retired resource")
	}

	for _, path := range []string{"/resources/nope", "/resources/topics/astrology", "/resources/topics/Courts"} {
		if p := s.get(path, nil); p.status != 404 || !strings.Contains(p.body, "not found") {
			t.Errorf("%s: %d", path, p.status)
		}
	}
}

// TestHostileTextIsEscaped: HTML and line breaks typed into a resource or
// a conference show as text on every page.
func TestHostileTextIsEscaped(t *testing.T) {
	dir := dirSource{}
	evil, err := domain.ValidateResource(domain.ResourceInput{
		Name: `<script>alert("name")</script>`, ShortName: `"><img src=x onerror=alert(1)>`, Focus: "</h3><h1>focus",
		Parent: "Parent\r\nSet-Cookie: x=y", Kind: "office",
		Description: "First <b>bold</b> line\r\nsecond line\r\rthird\n\n<iframe src=//evil.example>",
		URL:         `https://example.org/?q=%22%3E%3Cscript%3Ex%3C/script%3E`, Topics: []string{"courts"},
		Phones: []domain.PhoneInput{{Number: "1-800-555-0100", Label: `<a href="javascript:x">label</a>`}},
	})
	if err != nil {
		t.Fatal(err)
	}
	dir[directory.Key("evil")] = directory.Resource{ID: "evil", Version: 1, Status: directory.StatusActive, Details: evil, Added: epoch, Updated: epoch}
	now := time.Now().UTC()
	x := conference("x", `<script>alert("title")</script>`, now.AddDate(0, 1, 0), 1, domain.StatusApproved,
		[]string{"courts"}, domain.Sponsor{ID: "evil", Name: "x"}, domain.Sponsor{Name: `<b onmouseover=alert(1)>sponsor</b>`})
	x.Details.Location.Venue = `<marquee>venue</marquee>`
	cal := calSource{"conference.x": x}
	s := newSite(t, dir, cal)
	for _, path := range []string{"/resources", "/resources/topics/courts", "/resources/evil"} {
		p := s.get(path, nil)
		if p.status != 200 {
			t.Fatalf("%s: %d", path, p.status)
		}
		checkPage(t, path, p)
		for _, raw := range []string{"<img", "<iframe", "<b>", "<b ", "</h3><h1>", "<marquee", "\r"} {
			if strings.Contains(p.body, raw) {
				t.Errorf("%s: raw %q in the page", path, raw)
			}
		}
		if !strings.Contains(p.body, "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;") {
			t.Errorf("%s: the name is not shown as text", path)
		}
	}
}

// TestPagesStayUnder100KB: with thousands of resources whose every field
// is as long and as costly to escape as validation allows, every page
// stays under 100 KB, and following a topic's pages shows every resource
// once.
func TestPagesStayUnder100KB(t *testing.T) {
	dir := dirSource{}
	long := func(n int) string { return strings.Repeat(`&"`, n/2) }
	const n = 240
	for i := range n {
		d := domain.ResourceDetails{Name: fmt.Sprintf("%04d ", i) + long(domain.MaxNameLength-6), ShortName: long(domain.MaxShortNameLength),
			Focus: long(domain.MaxNameLength), Parent: long(domain.MaxNameLength), Kind: domain.KindTaskForce,
			Description: long(domain.MaxDescriptionLength), URL: "https://example.org/" + strings.Repeat("a", 2000),
			Topics: []string{"courts", "reentry", "corrections", "terrorism", "cybercrime", "drugs-and-crime", "forensic-science", "tribal-justice"}}
		for range domain.MaxPhones {
			d.Phones = append(d.Phones, domain.Phone{Number: "+1 (800) 555-0100 ", Label: long(domain.MaxNameLength)})
		}
		id := fmt.Sprintf("r%04d", i)
		dir[directory.Key(id)] = directory.Resource{ID: id, Version: 1, Status: directory.StatusActive, Details: d, Added: epoch, Updated: epoch}
	}
	cal := calSource{}
	now := time.Now().UTC()
	for i := range 60 {
		sponsors := []domain.Sponsor{}
		for j := range domain.MaxSponsors {
			sponsors = append(sponsors, domain.Sponsor{ID: fmt.Sprintf("r%04d", j), Name: long(domain.MaxNameLength)})
		}
		c := conference(fmt.Sprint("c", i), long(domain.MaxTitleLength), now.AddDate(0, 0, i+1), 2, domain.StatusApproved, []string{"courts"}, sponsors...)
		c.Details.URL = "https://example.org/" + strings.Repeat("b", 2000)
		c.Details.Location = domain.Location{Venue: long(domain.MaxNameLength), City: long(domain.MaxNameLength), Region: "MD", Country: "US"}
		cal[fmt.Sprint("conference.c", i)] = c
	}
	s := newSite(t, dir, cal)
	for _, path := range []string{"/resources", "/resources/r0000", "/resources/r0001"} {
		p := s.get(path, nil)
		if p.status != 200 {
			t.Fatalf("%s: %d", path, p.status)
		}
		checkPage(t, path, p)
	}
	seen := map[string]bool{}
	next := regexp.MustCompile(`href="(/resources/topics/courts\?from=\d+)" rel="next"`)
	entry := regexp.MustCompile(`<article class="entry" id="r-(r\d+)">`)
	path := "/resources/topics/courts"
	for pages := 0; path != ""; pages++ {
		if pages > n {
			t.Fatal("the pages never end")
		}
		p := s.get(path, nil)
		checkPage(t, path, p)
		for _, m := range entry.FindAllStringSubmatch(p.body, -1) {
			if seen[m[1]] {
				t.Fatalf("%s shown twice", m[1])
			}
			seen[m[1]] = true
		}
		path = ""
		if m := next.FindStringSubmatch(p.body); m != nil {
			path = m[1]
		}
	}
	if len(seen) != n {
		t.Fatalf("the topic's pages show %d resources, want %d", len(seen), n)
	}
}

// TestETagsAndInvalidation: pages and the stylesheet answer 304 to their
// ETag; a change of the directory or of a published conference renders
// the page again.
func TestETagsAndInvalidation(t *testing.T) {
	s := newSite(t, seeded(), calSource{})
	for _, path := range []string{"/resources", "/resources/topics/trafficking-in-persons", "/resources/orr"} {
		p := s.get(path, nil)
		etag := p.header.Get("ETag")
		// Pages join several models: validated by ETag, with no date.
		if p.status != 200 || etag == "" || p.header.Get("Last-Modified") != "" {
			t.Fatalf("%s: %d, ETag %q, Last-Modified %q", path, p.status, etag, p.header.Get("Last-Modified"))
		}
		if again := s.get(path, map[string]string{"If-None-Match": etag}); again.status != http.StatusNotModified || again.body != "" {
			t.Fatalf("%s with its ETag: %d", path, again.status)
		}
		// Go's client asks for gzip itself (and unzips), so etag above is
		// already the gzip form's tag; asking explicitly shows the bytes.
		if z := s.get(path, map[string]string{"Accept-Encoding": "gzip"}); z.header.Get("Content-Encoding") != "gzip" || z.header.Get("ETag") != etag {
			t.Fatalf("%s gzip: %q %q", path, z.header.Get("Content-Encoding"), z.header.Get("ETag"))
		}
	}
	css := regexp.MustCompile(`href="(/assets/site\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(s.get("/resources", nil).body)
	if css == nil {
		t.Fatal("no stylesheet link")
	}
	c := s.get(css[1], nil)
	if c.status != 200 || !strings.HasPrefix(c.header.Get("Content-Type"), "text/css") || !strings.Contains(c.header.Get("Cache-Control"), "immutable") {
		t.Fatalf("stylesheet: %d %v", c.status, c.header)
	}
	if again := s.get(css[1], map[string]string{"If-None-Match": c.header.Get("ETag")}); again.status != 304 {
		t.Fatalf("stylesheet with its ETag: %d", again.status)
	}

	before := s.get("/resources/orr", nil)
	orr := s.dir[directory.Key("orr")]
	orr.Details.Name = "Office of Refugee Resettlement (renamed)"
	orr.Version++
	s.changeResource(orr)
	after := s.get("/resources/orr", map[string]string{"If-None-Match": before.header.Get("ETag")})
	if after.status != 200 || !strings.Contains(after.body, "Office of Refugee Resettlement (renamed)") {
		t.Fatalf("after a rename: %d", after.status)
	}

	// A pending conference changes no page; a published one does.
	topic := s.get("/resources/topics/trafficking-in-persons", nil)
	pending := conference("p", "Pending", time.Now().AddDate(0, 1, 0), 1, domain.StatusPending, []string{"trafficking-in-persons"})
	s.cal["conference.p"] = pending
	s.web.ConferenceChanged("conference.p", calendar.Conference{}, false, pending)
	if p := s.get("/resources/topics/trafficking-in-persons", map[string]string{"If-None-Match": topic.header.Get("ETag")}); p.status != 304 {
		t.Fatalf("a pending conference changed the page: %d", p.status)
	}
	approved := pending
	approved.Status, approved.Published = domain.StatusApproved, epoch
	s.cal["conference.p"] = approved
	s.web.ConferenceChanged("conference.p", pending, true, approved)
	if p := s.get("/resources/topics/trafficking-in-persons", nil); !strings.Contains(p.body, "Pending") {
		t.Fatal("a published conference does not show")
	}
}
