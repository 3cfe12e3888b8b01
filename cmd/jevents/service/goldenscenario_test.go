package service_test

import (
	"fmt"
	"html"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
)

// runGoldenScenario drives a freshly seeded service the way people do:
// submissions from the API, the CLI, the form and .ics files (hostile text
// among them), editors' approvals, rejections (one by one and in bulk),
// cancellations and edits (API and form, before and after publication),
// and the directory's changes (added, edited, renamed sponsors, retired,
// restored). It returns the paths whose answers are recorded, by golden
// file.
//
// The dates are absolute: the scenario ran once, in December 2026, and the
// submissions had to fall within a year before and five years after that.
func runGoldenScenario(t *testing.T, a *app) map[string][]string {
	t.Helper()
	a.waitFor("/api/v1/resources", nil, func(r response) bool { return total(t, r) == 14 }) // the seed
	g := &golden{t: t, a: a, rnd: rand.New(rand.NewPCG(11, 2026))}

	// The directory before any conference: two new resources that
	// submissions will name as sponsors.
	g.resource("POST", "/api/v1/resources", map[string]any{"name": "Bureau of Justice Assistance", "short_name": "BJA",
		"kind": "office", "url": "https://bja.ojp.gov/", "topics": []string{"courts", "law-enforcement", "corrections"},
		"description": "BJA helps make American communities safer by strengthening the nation's criminal justice system."})
	g.resource("POST", "/api/v1/resources", map[string]any{"name": "National Institute of Justice", "short_name": "NIJ",
		"kind": "office", "url": "https://nij.ojp.gov/", "topics": []string{"research-and-statistics", "forensic-science"},
		"description": "NIJ is the research, development and evaluation agency of the U.S. Department of Justice."})

	for _, in := range g.specialSubmissions() {
		g.submitAPI(in, "")
	}
	for i := range 96 {
		in := g.generated(i)
		source := ""
		if i%12 == 5 {
			source = "cli"
		}
		g.submitAPI(in, source)
	}
	g.submitICS()
	for i := range 4 {
		g.submitForm(i)
	}

	// Editors at work. Every fourth waiting conference is edited before it
	// is decided; most are approved, some rejected one by one, a batch in
	// bulk.
	ids := slices.Clone(g.ids)
	var bulk []string
	for i, id := range ids {
		if i%4 == 1 {
			g.edit(id, g.patchFor(i))
		}
		switch {
		case i%9 == 4:
			g.decide(id, "reject", []string{"", "not a criminal-justice conference", "duplicate of another submission", "spam"}[i%4])
		case i%13 == 7 && len(bulk) < 6:
			bulk = append(bulk, id)
		case i%17 == 3:
			// left waiting
		default:
			g.decide(id, "approve", []string{"", "", "checked the website", "organiser confirmed the dates"}[i%4])
		}
	}
	g.bulkReject(bulk, "flood of copies")

	// The directory changes under published conferences: sponsors renamed,
	// one retired (pages show its name without a link) and restored, one
	// retired for good.
	g.resource("PATCH", "/api/v1/resources/ovc", map[string]any{"name": "Office for Victims of Crime (OJP)", "url": "https://ovc.ojp.gov/"})
	g.resource("PATCH", "/api/v1/resources/bja", map[string]any{"name": "Bureau of Justice Assistance, U.S. DOJ"})
	g.resource("PATCH", "/api/v1/resources/fbi", map[string]any{"url": "https://www.fbi.gov/investigate/violent-crime/human-trafficking"})
	g.resource("POST", "/api/v1/resources/ice/retire", map[string]any{"reason": "listed under HSI"})
	g.resource("POST", "/api/v1/resources/nij/retire", map[string]any{"reason": "moved"})
	g.resource("POST", "/api/v1/resources/nij/restore", map[string]any{"reason": "still the research agency"})
	g.resource("POST", "/api/v1/resources", map[string]any{"name": "Polaris Project", "kind": "organization",
		"topics": []string{"trafficking-in-persons"}, "url": "https://polarisproject.org/"})
	g.resource("PATCH", "/api/v1/resources/polaris-project", map[string]any{"description": "Runs the U.S. National Human Trafficking Hotline; commas, \"quotes\" & <tags> kept."})

	// After publication: edits (SEQUENCE moves), an edit that changes
	// nothing, form edits, cancellations.
	published := g.published()
	for i, id := range published {
		switch {
		case i%7 == 2:
			g.edit(id, g.patchFor(i+1))
		case i%11 == 6:
			g.decide(id, "cancel", []string{"", "venue closed", "speakers unavailable; see the website, the new dates follow"}[i%3])
		}
	}
	g.edit(published[0], map[string]any{"title": g.details(published[0])["title"]}) // changes nothing: no event
	for _, id := range published[1:4] {
		g.editForm(id)
	}
	g.decide(published[5], "cancel", "moved online, see the next edition")
	return g.paths()
}

// golden holds the scenario's state.
type golden struct {
	t       *testing.T
	a       *app
	rnd     *rand.Rand
	ids     []string // every submitted conference, in order
	n       int
	session string // the editor's page session cookie
}

var (
	goldenZones = []string{"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
		"America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico", "Europe/London", "UTC"}
	goldenCities = []struct{ venue, city, region, country string }{
		{"Convention Center", "Baltimore", "MD", ""}, {"Hilton Midtown", "New York", "NY", "US"},
		{"Moscone West", "San Francisco", "CA", ""}, {"", "Austin", "Texas", ""}, {"Omni Shoreham", "Washington", "DC", ""},
		{"Centro de Convenciones", "San Juan", "PR", ""}, {"Metro Toronto Convention Centre", "Toronto", "Ontario", "CA"},
		{"Hyatt Regency", "Denver", "CO", ""}, {"", "Anchorage", "AK", ""}, {"QEII Centre", "London", "", "GB"},
		{"Sheraton", "Philadelphia", "PA", ""}, {"Marriott", "Chicago", "il", ""},
	}
	goldenSponsors = [][]string{nil, {"Office for Victims of Crime"}, {"BJA", "National Institute of Justice"},
		{"Federal Bureau of Investigation", "ICE"}, {"State Bar of Texas"}, {"ovc", "Office for Victims of Crime"},
		{"Bureau of Justice Assistance", "National Sheriffs' Association", "OVW"}, {"NIJ"}}
	goldenKinds = []string{"Conference", "Summit", "Symposium", "Institute", "Forum", "Training", "Academy", "Workshop"}
	goldenTerms = []string{"Victim Services", "Reentry", "Forensic Science", "Tribal Justice", "Juvenile Justice",
		"Court Technology", "Human Trafficking", "Community Policing", "Drug Courts", "Cybercrime Investigation", "Corrections Leadership"}
)

// generated is the i-th ordinary submission: every combination of all-day
// and timed, formats, places, sponsors and topics comes round.
func (g *golden) generated(i int) map[string]any {
	r := g.rnd
	term, kind := goldenTerms[i%len(goldenTerms)], goldenKinds[(i/3)%len(goldenKinds)]
	in := map[string]any{
		"title":       fmt.Sprintf("%d %s %s", 2026+i%4, term, kind),
		"description": fmt.Sprintf("A %s for practitioners in %s.\n\nSessions on policy, practice and research; edition %d.", strings.ToLower(kind), strings.ToLower(term), i),
		"contact":     map[string]any{"name": fmt.Sprintf("Organiser %d", i%23), "email": fmt.Sprintf("organiser%d@example.org", i%23)},
	}
	// Dates from January 2026 (past, within the year allowed) to 2029.
	year, month, day := 2026+i%4, 1+r.IntN(12), 1+r.IntN(24)
	if year == 2026 && month == 12 {
		month = 11
	}
	if i%3 == 0 {
		zone := goldenZones[i%len(goldenZones)]
		start := fmt.Sprintf("%d-%02d-%02dT%02d:%02d", year, month, day, 8+r.IntN(3), []int{0, 30}[r.IntN(2)])
		end := fmt.Sprintf("%d-%02d-%02dT%02d:00", year, month, day+r.IntN(2), 15+r.IntN(3))
		in["start"], in["end"], in["timezone"] = start, end, zone
	} else {
		in["start"] = fmt.Sprintf("%d-%02d-%02d", year, month, day)
		if i%5 != 0 {
			in["end"] = fmt.Sprintf("%d-%02d-%02d", year, month, day+1+r.IntN(3))
		}
		in["all_day"] = true
		if i%7 == 0 {
			in["timezone"] = goldenZones[i%len(goldenZones)]
		}
	}
	switch i % 6 {
	case 0, 1, 2, 3:
		in["format"] = "in_person"
	case 4:
		in["format"] = "online"
	case 5:
		in["format"] = "hybrid"
	}
	if in["format"] != "online" || i%8 == 0 {
		c := goldenCities[i%len(goldenCities)]
		in["location"] = map[string]any{"venue": c.venue, "city": c.city, "region": c.region, "country": c.country}
	}
	if i%4 != 3 {
		in["url"] = fmt.Sprintf("https://conferences.example.org/%d/%s", 2026+i%4, strings.ToLower(strings.ReplaceAll(term, " ", "-")))
	}
	if sp := goldenSponsors[i%len(goldenSponsors)]; sp != nil {
		in["sponsors"] = sp
	}
	topics := []string{domain.Topics[i%len(domain.Topics)].Slug}
	if i%3 == 1 {
		topics = append(topics, domain.Topics[(i*7+3)%len(domain.Topics)].Label) // by label, as people type them
	}
	in["topics"] = topics
	return in
}

// specialSubmissions are the hostile and the edge cases.
func (g *golden) specialSubmissions() []map[string]any {
	contact := map[string]any{"email": "edge@example.org"}
	long := strings.Repeat("Procédure pénale — 刑事司法と被害者支援 🚔 ", 60)
	return []map[string]any{
		{"title": "Summit\r\nATTENDEE:mailto:evil@example.com", "description": "Line one\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:Phish\r\nUID:x@evil",
			"start": "2027-05-04", "end": "2027-05-06", "all_day": true, "format": "in_person",
			"location": map[string]any{"venue": "Hall A;B,C", "city": "Baltimore", "region": "MD"},
			"topics":   []string{"courts"}, "sponsors": []string{"Law, Order; and Justice\\", "Office for Victims of Crime"}, "contact": contact},
		{"title": "<script>alert(1)</script> & \"quotes\" 'single' Conference", "description": "<b>bold</b> <a href=\"javascript:alert(1)\">link</a>\rBEGIN:VALARM\rTRIGGER:-PT5M",
			"start": "2027-06-01T09:00", "end": "2027-06-01T17:00", "timezone": "America/New_York", "format": "online",
			"url": "https://example.org/a?b=1&c=%3Cx%3E", "topics": []string{"cybercrime"}, "contact": contact},
		{"title": "Conférence sur la justice — 司法会议 🚔 émigré", "description": long,
			"start": "2027-09-20", "end": "2027-09-23", "all_day": true, "format": "hybrid",
			"location": map[string]any{"venue": "Palais des congrès", "city": "Montréal", "region": "Québec", "country": "CA"},
			"topics":   []string{"victims-of-crime", "Trafficking in Persons"}, "sponsors": []string{"Centre canadien de la statistique juridique"}, "contact": contact},
		{"title": "Bidi \u202eevil\u202c and zero\u200bwidth and\x00 control\x07 characters", "description": "Tab\tkept; NEL\u0085line; sep\u2028line",
			"start": "2027-02-10", "all_day": true, "format": "online", "topics": []string{"research-and-statistics"}, "contact": contact},
		{"title": "Spring-forward night session", "description": "Starts before and ends after the clocks change.",
			"start": "2027-03-14T01:30", "end": "2027-03-14T03:30", "timezone": "America/New_York", "format": "online",
			"topics": []string{"law-enforcement"}, "contact": contact},
		{"title": "Fall-back night session", "description": "The first 01:30 of the night the clocks fall back.",
			"start": "2027-11-07T01:30", "end": "2027-11-07T04:00", "timezone": "America/Chicago", "format": "in_person",
			"location": map[string]any{"city": "Chicago", "region": "IL"}, "topics": []string{"corrections"}, "contact": contact},
		{"title": "Pacific Islands Justice Forum", "start": "2027-08-02T08:00", "end": "2027-08-04T16:00", "timezone": "Pacific/Guam",
			"format": "in_person", "location": map[string]any{"city": "Hagåtña", "region": "GU"}, "topics": []string{"tribal-justice", "courts"},
			"sponsors": []string{"OVW", "Office on Violence Against Women"}, "contact": contact},
		{"title": strings.Repeat("A very long title, ", 10) + "end", "description": strings.Repeat("x", 4000),
			"start": "2028-01-15", "end": "2028-02-14", "all_day": true, "format": "online", "url": "https://example.org/" + strings.Repeat("p", 300),
			"topics": []string{"corrections", "courts", "cybercrime", "reentry", "terrorism", "juvenile-justice", "law-enforcement", "drugs-and-crime"}, "contact": contact},
		{"title": "One-day past workshop", "start": "2026-02-03", "all_day": true, "format": "in_person",
			"location": map[string]any{"city": "Richmond", "region": "Virginia"}, "topics": []string{"reentry"},
			"sponsors": []string{"ICE", "Blue Campaign"}, "contact": map[string]any{"name": "Sam O'Neil, Jr.", "email": "sam@example.org"}},
		{"title": "Cross-midnight UTC webinar", "start": "2027-10-10T22:00", "end": "2027-10-11T02:00", "timezone": "UTC",
			"format": "online", "topics": []string{"cybercrime"}, "url": "http://example.org/plain-http", "contact": contact},
	}
}

func (g *golden) nextKey() string {
	g.n++
	return fmt.Sprintf("golden-%03d", g.n)
}

// submitAPI submits through the JSON API (as the CLI when source is cli).
func (g *golden) submitAPI(in map[string]any, source string) {
	g.t.Helper()
	h := map[string]string{"Idempotency-Key": g.nextKey()}
	if source == "cli" {
		h["X-Jevents-Source"] = "cli"
	}
	r := g.a.do("POST", "/api/v1/conferences", h, in)
	if r.status != http.StatusAccepted {
		g.t.Fatalf("submit %v: %d %s", in["title"], r.status, r.body)
	}
	var rec receipt
	r.json(g.t, &rec)
	g.ids = append(g.ids, rec.ID)
}

// submitICS sends two .ics files: every VEVENT becomes a conference.
func (g *golden) submitICS() {
	g.t.Helper()
	files := []struct{ query, body string }{
		{"?topic=corrections&contact=ics@example.org", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//golden//EN\r\n" +
			"BEGIN:VEVENT\r\nUID:a@golden\r\nDTSTAMP:20261201T000000Z\r\nDTSTART;VALUE=DATE:20270921\r\nDTEND;VALUE=DATE:20270923\r\n" +
			"SUMMARY:Regional Reentry and Corrections Forum\r\nDESCRIPTION:Two days for corrections staff\\, probation officers\\nand providers.\r\n" +
			"LOCATION:Convention Center\\, Denver\\, CO\r\nURL:https://example.org/reentry-forum\r\nCATEGORIES:Reentry,Corrections\r\nEND:VEVENT\r\n" +
			"BEGIN:VEVENT\r\nUID:b@golden\r\nDTSTAMP:20261201T000000Z\r\nDTSTART;TZID=America/Denver:20270922T190000\r\nDTEND;TZID=America/Denver:20270922T210000\r\n" +
			"SUMMARY:Forum reception\r\nLOCATION:Convention Center\\, Denver\\, CO\r\nEND:VEVENT\r\n" +
			"BEGIN:VEVENT\r\nUID:c@golden\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:20271005T140000Z\r\nDTEND:20271005T153000Z\r\n" +
			"SUMMARY:Online follow-up: housing after release\r\nCONFERENCE;VALUE=URI:https://meet.example.org/reentry\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"},
		{"", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//golden outlook//EN\r\n" +
			"BEGIN:VEVENT\r\nUID:d@golden\r\nDTSTAMP:20261201T000000Z\r\nDTSTART;TZID=America/Los_Angeles:20280314T090000\r\nDTEND;TZID=America/Los_Angeles:20280314T170000\r\n" +
			"SUMMARY:Forensic DNA Backlog Workshop\r\nLOCATION:Crime Lab\\, Sacramento\\, CA\r\nORGANIZER;CN=Lab Director:mailto:lab@example.org\r\n" +
			"CATEGORIES:Forensic Science\r\nEND:VEVENT\r\n" +
			"BEGIN:VEVENT\r\nUID:e@golden\r\nDTSTAMP:20261201T000000Z\r\nDTSTART;VALUE=DATE:20280601\r\n" +
			"SUMMARY:Victim Advocacy Day\\; statewide\r\nLOCATION:Capitol\\, Sacramento\\, CA\r\nORGANIZER:mailto:lab@example.org\r\n" +
			"CATEGORIES:Victims of Crime\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"},
	}
	for _, f := range files {
		r := g.a.do("POST", "/api/v1/conferences"+f.query, map[string]string{"Content-Type": "text/calendar", "Idempotency-Key": g.nextKey()}, f.body)
		if r.status != http.StatusAccepted {
			g.t.Fatalf("submit .ics: %d %s", r.status, r.body)
		}
		var out struct {
			Items []receipt `json:"items"`
		}
		r.json(g.t, &out)
		if len(out.Items) == 0 {
			g.t.Fatalf(".ics answer without items: %s", r.body)
		}
		for _, it := range out.Items {
			g.ids = append(g.ids, it.ID)
		}
	}
}

// form is a browser session: cookies kept by hand (the public URL is
// https, the test talks plain http), redirects not followed.
func (g *golden) formRequest(method, path string, form url.Values, cookies ...string) (int, http.Header, string) {
	g.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, g.a.base+path, body)
	if err != nil {
		g.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c := strings.Join(slices.DeleteFunc(cookies, func(s string) bool { return s == "" }), "; "); c != "" {
		req.Header.Set("Cookie", c)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, resp.Header, b.String()
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func cookieOf(h http.Header, name string) string {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name && c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	return ""
}

func hiddenOf(page, name string) string {
	m := regexp.MustCompile(`<input type="hidden" name="` + regexp.QuoteMeta(name) + `" value="([^"]*)">`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}

// submitForm fills in "Add your conference" as a visitor does.
func (g *golden) submitForm(i int) {
	g.t.Helper()
	_, h, page := g.formRequest("GET", "/submit", nil)
	cookie := cookieOf(h, "jevents_form")
	f := url.Values{"csrf": {hiddenOf(page, "csrf")}, "idem": {hiddenOf(page, "idem")}, "confirm": {"1"},
		"title": {fmt.Sprintf("Form-submitted %s roundtable %d", goldenTerms[i], i)}, "description": {"Typed into the form.\r\nSecond line."},
		"contact_name": {"Form User"}, "contact_email": {fmt.Sprintf("form%d@example.org", i)},
		"topics": {domain.Topics[(i*4)%len(domain.Topics)].Slug, domain.Topics[(i*4+1)%len(domain.Topics)].Slug}}
	if i%2 == 0 {
		f["all_day"], f["start_date"], f["end_date"] = []string{"yes"}, []string{fmt.Sprintf("2027-0%d-1%d", 4+i, i)}, []string{fmt.Sprintf("2027-0%d-1%d", 4+i, i+1)}
		f["format"], f["venue"], f["city"], f["region"] = []string{"in_person"}, []string{"City Hall"}, []string{"Boston"}, []string{"Massachusetts"}
		f["sponsors"] = []string{"Office for Victims of Crime\r\nMassachusetts Office for Victim Assistance"}
	} else {
		f["all_day"], f["start_date"], f["start_time"], f["end_time"] = []string{"no"}, []string{fmt.Sprintf("2027-%02d-05", 9+i)}, []string{"13:00"}, []string{"15:30"}
		f["timezone"], f["format"], f["url"] = []string{"America/Los_Angeles"}, []string{"online"}, []string{"https://example.org/roundtable"}
	}
	st, h, page := g.formRequest("POST", "/submit", f, cookie)
	if st != http.StatusSeeOther {
		g.t.Fatalf("form submission: %d %s", st, page)
	}
	g.ids = append(g.ids, strings.TrimPrefix(h.Get("Location"), "/submit/done/"))
}

// signIn opens an editor's page session.
func (g *golden) signIn() string {
	g.t.Helper()
	if g.session != "" {
		return g.session
	}
	_, h, page := g.formRequest("GET", "/moderation", nil)
	form := cookieOf(h, "jevents_form")
	st, h, page := g.formRequest("POST", "/moderation/sign-in", url.Values{"csrf": {hiddenOf(page, "csrf")}, "token": {editorToken}, "next": {"/moderation"}}, form)
	if st != http.StatusSeeOther {
		g.t.Fatalf("sign in: %d %s", st, page)
	}
	g.session = cookieOf(h, "jevents_editor")
	return g.session
}

// editForm changes a published conference through the editors' form: the
// description and one more topic.
func (g *golden) editForm(id string) {
	g.t.Helper()
	sess := g.signIn()
	_, _, page := g.formRequest("GET", "/moderation/conferences/"+id+"/edit", nil, sess)
	f := url.Values{}
	for _, m := range regexp.MustCompile(`<input (?:type="hidden" )?name="([a-z_]+)"[^>]*?value="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		f.Add(m[1], html.UnescapeString(m[2]))
	}
	for _, m := range regexp.MustCompile(`<input id="([a-z_]+)" name="([a-z_]+)" type="[a-z]+"[^>]*? value="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		f.Set(m[2], html.UnescapeString(m[3]))
	}
	for _, m := range regexp.MustCompile(`<input type="(?:radio|checkbox)" name="([a-z_]+)" value="([^"]*)"[^>]*? checked>`).FindAllStringSubmatch(page, -1) {
		f.Add(m[1], m[2])
	}
	for _, m := range regexp.MustCompile(`(?s)<textarea id="([a-z_]+)" name="([a-z_]+)"[^>]*>\n(.*?)</textarea>`).FindAllStringSubmatch(page, -1) {
		f.Set(m[2], html.UnescapeString(m[3]))
	}
	f.Set("description", f.Get("description")+"\n\nUpdated by the editors through the form.")
	f.Add("topics", "research-and-statistics")
	st, _, body := g.formRequest("POST", "/moderation/conferences/"+id+"/edit", f, sess)
	if st != http.StatusSeeOther {
		g.t.Fatalf("form edit of %s: %d %s", id, st, body)
	}
}

// details is a conference's details as editors read them.
func (g *golden) details(id string) map[string]any {
	g.t.Helper()
	r := g.a.do("GET", "/api/v1/moderation/conferences/"+id, editor, nil)
	if r.status != http.StatusOK {
		g.t.Fatalf("read %s: %d %s", id, r.status, r.body)
	}
	var v struct {
		Version uint64         `json:"version"`
		Details map[string]any `json:"details"`
	}
	r.json(g.t, &v)
	return v.Details
}

func (g *golden) version(id string) uint64 {
	g.t.Helper()
	r := g.a.do("GET", "/api/v1/moderation/conferences/"+id, editor, nil)
	var v struct {
		Version uint64 `json:"version"`
	}
	r.json(g.t, &v)
	return v.Version
}

// patchFor is an editor's partial update, varied by i.
func (g *golden) patchFor(i int) map[string]any {
	switch i % 6 {
	case 0:
		return map[string]any{"title": fmt.Sprintf("Renamed by the editors (%d)", i)}
	case 1:
		return map[string]any{"description": "Programme updated; registration opens soon.\n\nSecond paragraph, with a comma, and a semicolon; too."}
	case 2:
		return map[string]any{"location": map[string]any{"venue": "New Venue Hall"}, "url": "https://example.org/moved"}
	case 3:
		return map[string]any{"topics": []string{"courts", "juvenile-justice"}, "sponsors": []string{"NIJ", "A new partner, Inc."}}
	case 4:
		return map[string]any{"start": "2027-12-01", "end": "2027-12-03", "all_day": true}
	}
	return map[string]any{"start": "2028-04-10T10:00", "end": "2028-04-10T12:30", "timezone": "America/Chicago", "all_day": false}
}

func (g *golden) edit(id string, patch map[string]any) {
	g.t.Helper()
	h := map[string]string{"Authorization": "Bearer " + editorToken, "If-Match": fmt.Sprintf(`"%d"`, g.version(id))}
	r := g.a.do("PATCH", "/api/v1/conferences/"+id, h, patch)
	if r.status != http.StatusOK {
		g.t.Fatalf("edit %s %v: %d %s", id, patch, r.status, r.body)
	}
}

func (g *golden) decide(id, decision, reason string) {
	g.t.Helper()
	var body any
	if reason != "" {
		body = map[string]any{"reason": reason}
	}
	r := g.a.do("POST", "/api/v1/conferences/"+id+"/"+decision, editor, body)
	if r.status != http.StatusOK {
		g.t.Fatalf("%s %s: %d %s", decision, id, r.status, r.body)
	}
}

func (g *golden) bulkReject(ids []string, reason string) {
	g.t.Helper()
	r := g.a.do("POST", "/api/v1/moderation/reject", editor, map[string]any{"ids": ids, "reason": reason})
	if r.status != http.StatusOK {
		g.t.Fatalf("bulk reject: %d %s", r.status, r.body)
	}
}

func (g *golden) resource(method, path string, body map[string]any) {
	g.t.Helper()
	for attempt := 0; ; attempt++ {
		h := map[string]string{"Authorization": "Bearer " + editorToken}
		if method == "PATCH" {
			// The current version, as the directory's read model has it
			// (it may lag a moment behind the log: then 404 or 409, again).
			var v struct {
				Version uint64 `json:"version"`
			}
			if r := g.a.do("GET", path, nil, nil); r.status == http.StatusOK {
				r.json(g.t, &v)
			}
			h["If-Match"] = fmt.Sprintf(`"%d"`, v.Version)
		}
		r := g.a.do(method, path, h, body)
		switch {
		case r.status == http.StatusOK || r.status == http.StatusCreated:
			return
		case (r.status == http.StatusNotFound || r.status == http.StatusConflict || r.status == http.StatusBadRequest) && attempt < 200:
			time.Sleep(20 * time.Millisecond)
			continue
		}
		g.t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
	}
}

// published lists the public conferences, soonest first, once the feed
// server holds every decision.
func (g *golden) published() []string {
	g.t.Helper()
	var list struct {
		Total int `json:"total"`
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	want := 0
	for _, id := range g.ids {
		if st := g.status(id); st == "approved" || st == "cancelled" {
			want++
		}
	}
	g.a.waitFor("/api/v1/conferences", nil, func(r response) bool {
		list.Items = nil
		r.json(g.t, &list)
		return list.Total == want
	})
	var out []string
	for _, it := range list.Items {
		out = append(out, it.ID)
	}
	return out
}

func (g *golden) status(id string) string {
	g.t.Helper()
	r := g.a.do("GET", "/api/v1/moderation/conferences/"+id, editor, nil)
	var v struct {
		Status string `json:"status"`
	}
	r.json(g.t, &v)
	return v.Status
}

// paths are the answers recorded: every feed a subscriber may poll for
// this log (the whole calendar, each topic, the regions and sponsors
// used, combined queries), each published conference's feed, page and
// JSON, the lists, the directory, the moderation API and every history.
func (g *golden) paths() map[string][]string {
	g.t.Helper()
	published := g.published()
	out := map[string][]string{}
	feeds := []string{"/calendar.ics"}
	for _, t := range domain.Topics {
		feeds = append(feeds, "/calendar/topics/"+t.Slug+".ics")
	}
	for _, r := range []string{"MD", "NY", "CA", "TX", "DC", "PR", "CO", "AK", "IL", "GU", "VA", "MA", "WY"} {
		feeds = append(feeds, "/calendar/regions/"+r+".ics")
	}
	for _, s := range []string{"ovc", "bja", "nij", "ice", "fbi", "ovw", "Office%20for%20Victims%20of%20Crime", "State%20Bar%20of%20Texas",
		"Law,%20Order;%20and%20Justice%5C", "national%20sheriffs'%20association", "A%20new%20partner,%20Inc."} {
		feeds = append(feeds, "/calendar/sponsors/"+s+".ics")
	}
	feeds = append(feeds, "/calendar.ics?topic=courts&topic=law-enforcement&region=NY&region=PA",
		"/calendar.ics?q=summit", "/calendar.ics?q=forensic+science&topic=forensic-science",
		"/calendar.ics?sponsor=ovc&region=MD", "/calendar.ics?q=%E5%8F%B8%E6%B3%95", "/calendar.ics?topic=cybercrime&q=webinar")
	out["feeds"] = feeds
	api := []string{"/api/v1/conferences", "/api/v1/conferences?topic=courts", "/api/v1/conferences?region=CA&q=forum",
		"/api/v1/resources?status=all&limit=100", "/api/v1/resources?topic=trafficking-in-persons"}
	for _, id := range published {
		out["conference-feeds"] = append(out["conference-feeds"], "/conferences/"+id+".ics")
		out["pages"] = append(out["pages"], "/conferences/"+id)
		api = append(api, "/api/v1/conferences/"+id)
	}
	for _, id := range []string{"ovc", "bja", "nij", "ice", "fbi", "polaris-project", "blue-campaign"} {
		api = append(api, "/api/v1/resources/"+id)
		out["history"] = append(out["history"], "/api/v1/resources/"+id+"/history")
	}
	out["api"] = api
	out["moderation"] = []string{"/api/v1/moderation/queue?limit=500"}
	for _, id := range g.ids {
		out["moderation"] = append(out["moderation"], "/api/v1/moderation/conferences/"+id)
		out["history"] = append(out["history"], "/api/v1/conferences/"+id+"/history")
	}
	return out
}
