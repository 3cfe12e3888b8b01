package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/web"
)

// form is a blank /submit form as a browser holds it: its cookie and its
// hidden fields.
type form struct {
	cookie, csrf, idem string
}

func openForm(t *testing.T, a *app) form {
	t.Helper()
	r := a.do("GET", "/submit", nil, nil)
	if r.status != 200 {
		t.Fatalf("GET /submit: %d", r.status)
	}
	c := r.cookie("jevents_form")
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Fatalf("form cookie: %+v", c)
	}
	f := form{cookie: "jevents_form=" + c.Value, csrf: r.hidden("csrf"), idem: r.hidden("idem")}
	if f.csrf != c.Value || f.idem == "" {
		t.Fatalf("hidden fields: %+v", f)
	}
	return f
}

// values are a valid submission, as the form posts it.
func (f form) values(title string) url.Values {
	return url.Values{
		"csrf": {f.csrf}, "idem": {f.idem}, "title": {title}, "description": {"Two days on court technology."},
		"all_day": {"yes"}, "start_date": {nextYear(6, 12)}, "end_date": {nextYear(6, 13)},
		"format": {"in_person"}, "venue": {"Convention Center"}, "city": {"Baltimore"}, "region": {"MD"},
		"url": {"https://example.org/" + url.PathEscape(title)}, "sponsors": {"Office for Victims of Crime\r\nLocal Coalition"},
		"topics": {"courts", "victims-of-crime"}, "contact_name": {"Pat"}, "contact_email": {"pat.form@example.org"},
		"leave_empty": {""},
	}
}

func (f form) post(a *app, v url.Values, header ...string) reply {
	h := map[string]string{"Cookie": f.cookie}
	for i := 0; i+1 < len(header); i += 2 {
		h[header[i]] = header[i+1]
	}
	return a.post("/submit", v, h)
}

// checkFormPage holds for every page of a form: the page's security
// headers, never stored by a cache, under 100 KB.
func checkFormPage(t *testing.T, what string, r reply) {
	t.Helper()
	if got := r.header.Get("Content-Security-Policy"); !strings.HasPrefix(got, "default-src 'self'") || !strings.Contains(got, "frame-ancestors 'none'") {
		t.Errorf("%s: CSP %q", what, got)
	}
	if r.header.Get("X-Frame-Options") != "DENY" || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s: headers %v", what, r.header)
	}
	if len(r.body) >= web.MaxPageBytes {
		t.Errorf("%s: %d bytes", what, len(r.body))
	}
	checkPage(t, what, page{r.status, r.header, r.body})
}

// TestSubmitForm: the form validates as the API does and says what is
// wrong next to each field, keeping what was typed; a valid submission
// lands in the moderation queue once, however often the same form is
// posted; the confirmation page gives the tracking number.
func TestSubmitForm(t *testing.T) {
	a := startApp(t)
	f := openForm(t, a)

	bad := f.values("")
	bad.Set("end_date", nextYear(6, 1))
	bad.Set("region", "ZZ")
	bad.Del("topics")
	bad.Set("contact_email", "not-an-address")
	bad.Set("sponsors", "Fine sponsor\n"+strings.Repeat("x", 201))
	bad.Set("description", "Kept <b>as typed</b>")
	r := f.post(a, bad)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid: %d", r.status)
	}
	checkFormPage(t, "invalid", r)
	for _, want := range []string{
		`<p class="error" id="title-error">Is required. </p>`,
		`<input id="title" name="title" type="text" maxlength="` + strconv.Itoa(domain.MaxTitleLength) + `" value="" aria-invalid="true" aria-describedby="title-error">`,
		`<p class="error" id="end_date-error">Must not be before the start. </p>`,
		`<p class="error" id="region-error">Must be a US state, DC or territory`,
		`value="ZZ" aria-describedby="region-hint region-error" aria-invalid="true"`,
		`<p class="error" id="topics-error">Must name at least one topic. </p>`,
		`<p class="error" id="contact_email-error">Is not a valid e-mail address. </p>`,
		`value="not-an-address"`,
		`<p class="error" id="sponsors-error">Line 2: Must be at most 200 characters. </p>`,
		"Kept &lt;b&gt;as typed&lt;/b&gt;</textarea>",
		`<li><a href="#title">Title: Is required.</a></li>`,
		`<title>Error: Add your conference · Justice Events</title>`,
		`<input type="hidden" name="idem" value="` + f.idem + `">`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("invalid form: no %s", want)
		}
	}

	good := f.values("Court Technology Forum")
	r = f.post(a, good)
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/submit/done/") {
		t.Fatalf("valid: %d %q %s", r.status, loc, r.body)
	}
	id := strings.TrimPrefix(loc, "/submit/done/")
	done := a.do("GET", loc, nil, nil)
	checkFormPage(t, "done", done)
	if !strings.Contains(done.body, `<strong id="tracking">`+id+`</strong>`) || !strings.Contains(done.body, "What happens next") {
		t.Fatalf("confirmation page: %s", done.body)
	}
	// The same form again (a double click, or back and submit again):
	// the same conference, nothing new.
	if again := f.post(a, good); again.status != http.StatusSeeOther || again.header.Get("Location") != loc {
		t.Fatalf("posted again: %d %q", again.status, again.header.Get("Location"))
	}
	// The same form with other values: refused, said so, nothing new.
	changed := f.values("Court Technology Forum, renamed")
	r = f.post(a, changed)
	if r.status != http.StatusConflict || !strings.Contains(r.body, "already sent, with other values, as conference "+id) {
		t.Fatalf("reused with other values: %d", r.status)
	}
	checkFormPage(t, "reused", r)
	if r.hidden("idem") == f.idem {
		t.Fatal("the form shown again keeps the used idempotency key")
	}
	g := openForm(t, a)
	a.submitAPI("Marker after the form posts", nextYear(7, 1), nil)
	a.waitFor("the marker in the queue", func() bool { return count(a.pending(), "Marker after the form posts") == 1 })
	q := a.pending()
	if count(q, "Court Technology Forum") != 1 || count(q, "Court Technology Forum, renamed") != 0 || count(q, "") != 0 {
		t.Fatalf("queue after the posts: %q", q)
	}
	_ = g
}

// TestSubmitGuards: posts without the form's token, from another site,
// or with the honeypot filled in append nothing; a client address is
// limited to a burst of posts, and X-Forwarded-For counts only from a
// trusted proxy.
func TestSubmitGuards(t *testing.T) {
	a := startApp(t)
	f := openForm(t, a)
	for _, tc := range []struct {
		name   string
		mutate func(v url.Values) (url.Values, []string)
		status int
	}{
		{"no token", func(v url.Values) (url.Values, []string) { v.Del("csrf"); return v, nil }, http.StatusForbidden},
		{"another token", func(v url.Values) (url.Values, []string) { v.Set("csrf", strings.Repeat("A", 32)); return v, nil }, http.StatusForbidden},
		{"no cookie", func(v url.Values) (url.Values, []string) { return v, []string{"Cookie", ""} }, http.StatusForbidden},
		{"cross-site", func(v url.Values) (url.Values, []string) { return v, []string{"Sec-Fetch-Site", "cross-site"} }, http.StatusForbidden},
		{"other origin", func(v url.Values) (url.Values, []string) { return v, []string{"Origin", "https://evil.example"} }, http.StatusForbidden},
		{"honeypot", func(v url.Values) (url.Values, []string) { v.Set("leave_empty", "http://spam.example"); return v, nil }, http.StatusBadRequest},
	} {
		v, h := tc.mutate(f.values("Refused: " + tc.name))
		r := f.post(a, v, h...)
		if r.status != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, r.status, tc.status)
			continue
		}
		checkFormPage(t, tc.name, r)
		if !strings.Contains(r.body, `value="Refused: `+tc.name+`"`) {
			t.Errorf("%s: the values are not kept", tc.name)
		}
	}
	a.submitAPI("Marker after the refused posts", nextYear(7, 1), nil)
	a.waitFor("the marker in the queue", func() bool { return count(a.pending(), "Marker after the refused posts") == 1 })
	for _, title := range a.pending() {
		if strings.HasPrefix(title, "Refused: ") {
			t.Errorf("%q was appended", title)
		}
	}

	// The rate limit: 10 posts at once per address (6 spent above), then
	// 429 with Retry-After, whatever X-Forwarded-For says.
	var last reply
	for i := range 4 {
		last = f.post(a, url.Values{"csrf": {f.csrf}}, "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
	}
	if last.status == http.StatusTooManyRequests {
		t.Fatal("limited before the burst was spent")
	}
	r := f.post(a, url.Values{"csrf": {f.csrf}}, "X-Forwarded-For", "198.51.100.99")
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many submissions") {
		t.Fatalf("past the burst: %d %v", r.status, r.header)
	}
	checkFormPage(t, "429", r)

	// Behind a trusted proxy each forwarded client has its own bucket.
	b := startApp(t, trustProxies("127.0.0.0/8"))
	g := openForm(t, b)
	for i := range 11 {
		if r := g.post(b, url.Values{"csrf": {g.csrf}}, "X-Forwarded-For", "203.0.113.7, 127.0.0.1"); (r.status == http.StatusTooManyRequests) != (i == 10) {
			t.Fatalf("post %d from one forwarded client: %d", i, r.status)
		}
	}
	if r := g.post(b, url.Values{"csrf": {g.csrf}}, "X-Forwarded-For", "203.0.113.8"); r.status == http.StatusTooManyRequests {
		t.Fatal("another forwarded client is limited")
	}
}

// TestSubmitDuplicates: before a submission is sent, the form shows the
// published conferences with the same title and dates or the same
// address, and sends it only when asked again; pending ones stay private.
func TestSubmitDuplicates(t *testing.T) {
	a := startApp(t)
	pub := a.submitAPI("National Forum on Court Technology", nextYear(6, 12), map[string]any{"end": nextYear(6, 13)})
	a.approveAPI(pub.ID)
	a.submitAPI("Private pending summit", nextYear(8, 1), map[string]any{"url": "https://pending.example/summit"})

	f := openForm(t, a)
	v := f.values("national forum on COURT technology!")
	r := f.post(a, v)
	if r.status != http.StatusOK {
		t.Fatalf("a likely duplicate: %d", r.status)
	}
	checkFormPage(t, "duplicate", r)
	for _, want := range []string{"This conference may already be in the calendar",
		`<a href="/conferences/` + pub.ID + `">National Forum on Court Technology</a>`, "(same title and dates)",
		`<input type="hidden" name="confirm" value="1">`, "Submit anyway", `value="national forum on COURT technology!"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("no %s", want)
		}
	}
	v.Set("confirm", "1")
	if r := f.post(a, v); r.status != http.StatusSeeOther {
		t.Fatalf("submitted anyway: %d", r.status)
	}

	g := openForm(t, a)
	w := g.values("Another summit")
	w.Set("url", "https://pending.example/summit/")
	if r := g.post(a, w); r.status != http.StatusSeeOther {
		t.Fatalf("the same address as a pending conference: %d (pending ones are private)", r.status)
	}
}

// editorSession signs in through the form and returns the Cookie header.
func editorSession(t *testing.T, a *app) string {
	t.Helper()
	r := a.do("GET", "/moderation", nil, nil)
	if r.status != 200 || !strings.Contains(r.body, "Editors: sign in") || r.header.Get("X-Robots-Tag") != "noindex" {
		t.Fatalf("sign-in page: %d %v", r.status, r.header)
	}
	checkFormPage(t, "sign-in", r)
	fc := r.cookie("jevents_form")
	v := url.Values{"csrf": {r.hidden("csrf")}, "next": {r.hidden("next")}, "token": {"wrong-token-0123456789abcdef"}}
	if w := a.post("/moderation/sign-in", v, map[string]string{"Cookie": "jevents_form=" + fc.Value}); w.status != http.StatusUnauthorized ||
		!strings.Contains(w.body, "not an editor") || w.cookie("jevents_editor") != nil {
		t.Fatalf("a wrong token: %d", w.status)
	}
	v.Set("token", editorToken)
	if w := a.post("/moderation/sign-in", v, nil); w.status != http.StatusForbidden {
		t.Fatalf("signing in without the form's cookie: %d", w.status)
	}
	w := a.post("/moderation/sign-in", v, map[string]string{"Cookie": "jevents_form=" + fc.Value})
	c := w.cookie("jevents_editor")
	if w.status != http.StatusSeeOther || w.header.Get("Location") != "/moderation" || c == nil {
		t.Fatalf("sign-in: %d %v", w.status, w.header)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/moderation" || c.MaxAge <= 0 {
		t.Fatalf("session cookie: %+v", c)
	}
	return "jevents_editor=" + c.Value
}

// TestModerationPages: an editor signs in with a token and works the
// queue, which shows the organiser's contact; approve, reject, cancel
// and edit carry the version the editor saw, and a change made by someone
// else first is said plainly, with the current version; every post needs
// the session's token; the contact is on no public page.
func TestModerationPages(t *testing.T) {
	a := startApp(t, publicHTTPS)
	first := a.submitAPI("First in the queue", nextYear(5, 1), nil)
	second := a.submitAPI("Second in the queue", nextYear(5, 2), map[string]any{"description": "To be <edited>."})
	online := a.submitAPI("Online in the queue", nextYear(5, 3), map[string]any{"format": "online", "location": nil})
	a.waitFor("the queue", func() bool { return len(a.pending()) == 3 })

	// Secure cookies when the public URL is https.
	r := a.do("GET", "/moderation", nil, nil)
	if c := r.cookie("jevents_form"); c == nil || !c.Secure {
		t.Fatalf("form cookie over https: %+v", c)
	}
	sess := editorSession(t, a)
	h := map[string]string{"Cookie": sess}

	q := a.do("GET", "/moderation", h, nil)
	checkFormPage(t, "queue", q)
	if i, j := strings.Index(q.body, "First in the queue"), strings.Index(q.body, "Second in the queue"); i < 0 || j < i {
		t.Fatal("the queue is not oldest first")
	}
	// An online conference's place is said once.
	if i := strings.Index(q.body, `id="q-`+online.ID+`"`); i < 0 || !strings.Contains(q.body[i:], "<dt>Where</dt><dd>Online</dd>") || strings.Contains(q.body, "Online · Online") {
		t.Error(`the queue does not say "Where: Online" once for an online conference`)
	}
	// A pending conference's page offers its decisions, and never says
	// it takes none.
	if p := a.do("GET", "/moderation/conferences/"+first.ID, h, nil); !strings.Contains(p.body, "Approve and publish") || strings.Contains(p.body, "takes no more decisions") {
		t.Error("the pending conference's page says it takes no more decisions")
	}
	for _, want := range []string{"3 conferences waiting", `href="mailto:pat.organiser@example.org?subject=`, "Pat Organiser",
		`action="/moderation/conferences/` + first.ID + `/approve"`, "Signed in as <strong>editor</strong>"} {
		if !strings.Contains(q.body, want) {
			t.Errorf("queue: no %s", want)
		}
	}
	csrf := q.hidden("csrf")
	if csrf == "" {
		t.Fatal("no CSRF token in the queue's forms")
	}
	current := func(id string) uint64 {
		p := a.do("GET", "/moderation/conferences/"+id, h, nil)
		m := regexp.MustCompile(`version (\d+)</p>`).FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("no version on the page of %s", id)
		}
		v, _ := strconv.ParseUint(m[1], 10, 64)
		return v
	}
	posts := 0
	decide := func(id, what string, version uint64, extra ...string) reply {
		posts++
		v := url.Values{"csrf": {csrf}, "version": {strconv.FormatUint(version, 10)}, "idem": {"k" + strconv.Itoa(posts)}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return a.post("/moderation/conferences/"+id+"/"+what, v, h)
	}

	// Without the session's token, or from another site: nothing changes.
	if r := a.post("/moderation/conferences/"+first.ID+"/approve", url.Values{"version": {"1"}}, h); r.status != http.StatusForbidden {
		t.Fatalf("approve without the token: %d", r.status)
	}
	if r := decide(first.ID, "approve", first.Version, "return", "queue"); r.status != http.StatusSeeOther {
		// (the token is right; this one is the real approval, below)
		t.Fatalf("approve: %d %s", r.status, r.body)
	} else if loc := r.header.Get("Location"); !strings.HasPrefix(loc, "/moderation?done=approve&id="+first.ID) {
		t.Fatalf("after approve: %q", loc)
	} else {
		p := a.do("GET", loc, h, nil)
		if !strings.Contains(p.body, "Approved “First in the queue”") && !strings.Contains(p.body, "Approved "+first.ID) {
			t.Errorf("no flash after approve")
		}
		if strings.Contains(p.body, `action="/moderation/conferences/`+first.ID+`/approve"`) {
			t.Error("the approved conference is still in the queue")
		}
	}
	a.waitFor("the approved page", func() bool { return a.do("GET", "/conferences/"+first.ID, nil, nil).status == 200 })
	// Its history, newest first: the approval links to what the public
	// saw just after it (?as_of=), the submission was not public.
	hist := a.do("GET", "/moderation/conferences/"+first.ID, h, nil).body
	link := regexp.MustCompile(`<a href="(/api/v1/conferences/` + first.ID + `\?as_of=[^"]+)">as the public saw it on ([^<]+)</a> \(<a href="([^"]+)">\.ics</a>\)`).FindStringSubmatch(hist)
	if !strings.Contains(hist, `<h2 id="h-history">History</h2>`) || link == nil || !strings.Contains(hist, "conference.submitted by ") ||
		!strings.Contains(hist, "not public then") || strings.Index(hist, "conference.approved") > strings.Index(hist, "conference.submitted") {
		t.Fatalf("the moderation page's history:\n%s", hist)
	}
	for _, u := range []string{link[1], link[3]} {
		u = html.UnescapeString(u)
		if r := a.do("GET", u, nil, nil); r.status != http.StatusOK || !strings.Contains(r.body, "First in the queue") {
			t.Fatalf("%s: %d %s", u, r.status, r.body)
		}
	}
	// A second press of the same button: already approved, said so.
	if r := decide(first.ID, "approve", first.Version); r.status != http.StatusConflict || !strings.Contains(r.body, "already approved") {
		t.Fatalf("approve twice: %d", r.status)
	}
	// From another site, even with the right token: refused.
	approved := current(first.ID)
	v := url.Values{"csrf": {csrf}, "version": {strconv.FormatUint(approved, 10)}, "reason": {"x"}}
	if r := a.post("/moderation/conferences/"+first.ID+"/cancel", v, map[string]string{"Cookie": sess, "Sec-Fetch-Site": "cross-site"}); r.status != http.StatusForbidden {
		t.Fatalf("a cross-site cancel: %d", r.status)
	}

	// Someone else edits the second conference through the API; the
	// editor's approval of the version they saw is refused, with the
	// current version shown.
	var res struct {
		Version uint64 `json:"version"`
	}
	if st := a.api("PATCH", "/api/v1/conferences/"+second.ID, map[string]any{"title": "Second, renamed by someone else"},
		map[string]string{"If-Match": strconv.FormatUint(second.Version, 10)}, &res); st != 200 {
		t.Fatalf("API edit: %d", st)
	}
	r = decide(second.ID, "approve", second.Version)
	checkFormPage(t, "conflict", r)
	if r.status != http.StatusConflict || !strings.Contains(r.body, fmt.Sprintf("you saw version %d, and it is now version %d", second.Version, res.Version)) ||
		!strings.Contains(r.body, "<h1>Second, renamed by someone else</h1>") {
		t.Fatalf("stale approve: %d %s", r.status, r.body)
	}

	// Edit: the form holds the current values; a stale edit is refused
	// with what was typed and the current version; an invalid one says
	// which field; a valid one is saved.
	e := a.do("GET", "/moderation/conferences/"+second.ID+"/edit", h, nil)
	checkFormPage(t, "edit", e)
	if !strings.Contains(e.body, `value="Second, renamed by someone else"`) || !strings.Contains(e.body, "To be &lt;edited&gt;.</textarea>") ||
		e.hidden("version") != strconv.FormatUint(res.Version, 10) || strings.Contains(e.body, `name="contact_email"`) {
		t.Fatalf("edit form: %s", e.body)
	}
	edit := url.Values{"csrf": {csrf}, "idem": {"e1"}, "version": {strconv.FormatUint(second.Version, 10)}, "title": {"Second, as the editor wants it"},
		"all_day": {"yes"}, "start_date": {nextYear(5, 2)}, "format": {"in_person"}, "city": {"Baltimore"}, "region": {"MD"}, "topics": {"courts"}}
	r = a.post("/moderation/conferences/"+second.ID+"/edit", edit, h)
	checkFormPage(t, "stale edit", r)
	for _, want := range []string{"Your changes were not saved", "What you had typed", "<dd>Second, as the editor wants it</dd>",
		`value="Second, renamed by someone else"`, fmt.Sprintf(`<input type="hidden" name="version" value="%d">`, res.Version)} {
		if !strings.Contains(r.body, want) {
			t.Errorf("stale edit: no %s", want)
		}
	}
	edit.Set("version", strconv.FormatUint(res.Version, 10))
	edit.Set("region", "ZZ")
	r = a.post("/moderation/conferences/"+second.ID+"/edit", edit, h)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `<p class="error" id="region-error">`) || !strings.Contains(r.body, `value="ZZ"`) {
		t.Fatalf("invalid edit: %d", r.status)
	}
	edit.Set("region", "VA")
	r = a.post("/moderation/conferences/"+second.ID+"/edit", edit, h)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/moderation/conferences/"+second.ID+"?done=edit" {
		t.Fatalf("edit: %d %q", r.status, r.header.Get("Location"))
	}
	p := a.do("GET", r.header.Get("Location"), h, nil)
	if !strings.Contains(p.body, "Saved your changes") || !strings.Contains(p.body, "<h1>Second, as the editor wants it</h1>") || !strings.Contains(p.body, "Baltimore, VA") {
		t.Fatalf("after the edit: %s", p.body)
	}
	if r := decide(second.ID, "reject", current(second.ID), "reason", "Not a <criminal-justice> conference"); r.status != http.StatusSeeOther {
		t.Fatalf("reject: %d", r.status)
	}
	if p := a.do("GET", "/moderation/conferences/"+second.ID, h, nil); !strings.Contains(p.body, "Status: <strong>rejected</strong>") ||
		!strings.Contains(p.body, "takes no more decisions") {
		t.Fatal("the rejected conference's page")
	}

	// Cancel the published one: its public page says so.
	if r := decide(first.ID, "cancel", approved, "reason", "The venue closed."); r.status != http.StatusSeeOther {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	a.waitFor("the cancellation on the public page", func() bool {
		return strings.Contains(a.do("GET", "/conferences/"+first.ID, nil, nil).body, "This conference is cancelled.</strong> The venue closed.")
	})
	for _, path := range []string{"/", "/conferences/" + first.ID, "/resources", "/resources/topics/courts", "/api/v1/conferences/" + first.ID, "/calendar.ics"} {
		if p := a.do("GET", path, nil, nil); strings.Contains(p.body, "pat.organiser@example.org") || strings.Contains(p.body, "Pat Organiser") {
			t.Errorf("%s shows the organiser's contact", path)
		}
	}

	// Signing out ends the session in this browser…
	r = a.post("/moderation/sign-out", url.Values{"csrf": {csrf}}, h)
	if c := r.cookie("jevents_editor"); r.status != 200 || c == nil || c.MaxAge >= 0 || !strings.Contains(r.body, "You have signed out") {
		t.Fatalf("sign out: %d %+v", r.status, c)
	}
	if r := a.do("GET", "/moderation/conferences/"+first.ID, nil, nil); !strings.Contains(r.body, "Editors: sign in") || strings.Contains(r.body, "pat.organiser") {
		t.Fatal("an editor's page without a session")
	}
	// …and in every copy of its cookie: the session is over on the server.
	if r := a.do("GET", "/moderation/conferences/"+first.ID, h, nil); !strings.Contains(r.body, "Your session has ended") || strings.Contains(r.body, "pat.organiser") {
		t.Fatal("a copy of a signed-out session's cookie still opens an editor's page")
	}
	if r := a.post("/moderation/conferences/"+first.ID+"/approve", url.Values{"csrf": {csrf}, "version": {"9"}}, h); r.status != http.StatusForbidden {
		t.Fatalf("a post with a signed-out session's cookie: %d", r.status)
	}
	if r := a.post("/moderation/conferences/"+first.ID+"/approve", url.Values{"csrf": {csrf}, "version": {"9"}}, map[string]string{"Cookie": "jevents_editor=v1.forged"}); r.status != http.StatusForbidden {
		t.Fatalf("a post with a forged session: %d", r.status)
	}
}

// TestFormPagesStayUnder100KB: the form, its error page, the edit form,
// its conflict page and the queue stay under 100 KB with every field at
// its longest and costliest to escape, or longer.
func TestFormPagesStayUnder100KB(t *testing.T) {
	a := startApp(t)
	long := func(n int) string { return strings.Repeat(`&"`, n/2) }
	var sponsors []string
	for i := range 20 {
		sponsors = append(sponsors, fmt.Sprint(i)+long(198))
	}
	big := map[string]any{"description": long(10000), "url": "https://example.org/?" + strings.Repeat("a&b", 600),
		"location": map[string]string{"venue": long(200), "city": long(200), "region": "MD"}, "sponsors": sponsors,
		"topics": []string{"courts", "reentry", "corrections", "terrorism", "cybercrime", "drugs-and-crime", "forensic-science", "tribal-justice"}}
	var ids []submitReceipt
	for i := range 8 {
		ids = append(ids, a.submitAPI(fmt.Sprint(i)+long(198), nextYear(3, 1+i), big))
	}
	a.approveAPI(ids[0].ID)
	a.waitFor("the queue", func() bool { return len(a.pending()) == 7 })
	sess := editorSession(t, a)
	h := map[string]string{"Cookie": sess}
	q := a.do("GET", "/moderation", h, nil)
	checkFormPage(t, "queue", q)
	if !strings.Contains(q.body, `rel="next"`) {
		t.Error("the queue of long conferences is not paged")
	}
	e := a.do("GET", "/moderation/conferences/"+ids[1].ID+"/edit", h, nil)
	checkFormPage(t, "edit", e)
	m := a.do("GET", "/moderation/conferences/"+ids[1].ID, h, nil)
	checkFormPage(t, "moderate", m)

	// A stale edit with every field changed and too long.
	edit := url.Values{"csrf": {q.hidden("csrf")}, "version": {"1"}, "title": {long(400)}, "description": {long(30000)},
		"all_day": {"yes"}, "start_date": {nextYear(3, 2)}, "format": {"in_person"}, "city": {long(500)}, "venue": {long(500)},
		"region": {long(500)}, "country": {long(500)}, "url": {strings.Repeat("&", 5000)}, "sponsors": {strings.Repeat(long(400)+"\n", 40)},
		"timezone": {long(500)}, "topics": {"courts"}}
	r := a.post("/moderation/conferences/"+ids[1].ID+"/edit", edit, h)
	if r.status != http.StatusConflict {
		t.Fatalf("stale edit: %d", r.status)
	}
	checkFormPage(t, "stale edit", r)
	edit.Set("version", strconv.FormatUint(ids[1].Version, 10))
	r = a.post("/moderation/conferences/"+ids[1].ID+"/edit", edit, h)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid edit: %d", r.status)
	}
	checkFormPage(t, "invalid edit", r)

	f := openForm(t, a)
	v := f.values(fmt.Sprint(0) + long(198))
	v.Set("start_date", nextYear(3, 1))
	v.Set("end_date", "")
	v.Set("description", long(10000))
	v.Set("sponsors", strings.Join(sponsors, "\n"))
	v.Set("venue", long(200))
	v.Set("city", long(200))
	r = f.post(a, v)
	if r.status != 200 || !strings.Contains(r.body, "may already be in the calendar") {
		t.Fatalf("a long likely duplicate: %d", r.status)
	}
	checkFormPage(t, "duplicate", r)
	for k, val := range edit {
		if k != "csrf" && k != "version" {
			v[k] = val
		}
	}
	v.Set("contact_email", long(1000))
	r = f.post(a, v)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("a long invalid submission: %d", r.status)
	}
	checkFormPage(t, "invalid submission", r)
}
