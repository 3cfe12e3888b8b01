package service_test

import (
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/mailpittest"
	"github.com/justiceevents/jevents/internal/serversecret"
	"github.com/justiceevents/jevents/producers/organisers"
)

// organiser is a browser without script: a cookie jar, no redirects
// followed, forms posted as browsers post them.
type organiser struct {
	t      *testing.T
	a      *app
	client *http.Client
}

func newOrganiser(a *app) *organiser {
	jar, _ := cookiejar.New(nil)
	return &organiser{t: a.t, a: a, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (o *organiser) get(path string) response {
	o.t.Helper()
	resp, err := o.client.Get(o.a.base + path)
	if err != nil {
		o.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (o *organiser) post(path string, form url.Values) response {
	o.t.Helper()
	req, _ := http.NewRequest("POST", o.a.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", o.a.base)
	resp, err := o.client.Do(req)
	if err != nil {
		o.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="(csrf|version|idem)" value="([^"]*)">`)

// formOf is the hidden fields of the first form on a page that posts to
// action.
func formOf(t *testing.T, page []byte, action string) url.Values {
	t.Helper()
	s := string(page)
	i := strings.Index(s, `action="`+action+`"`)
	if i < 0 {
		t.Fatalf("no form posting to %s in:\n%s", action, s)
	}
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(s[i:min(len(s), i+2000)], -1) {
		if v.Get(m[1]) == "" {
			v.Set(m[1], html.UnescapeString(m[2]))
		}
	}
	return v
}

var privateLink = regexp.MustCompile(`https://events\.test(/organiser/[A-Za-z0-9_.-]+)`)

// TestOrganiserPrivatePage is the organiser's side end to end, through the
// real service, real HTTP forms and a real SMTP server (mailpit): the
// receipt's private link opens the page; a proposal made there shows in
// the queue and on the moderation page field by field; accepted, the feed
// shows it and the organiser is told; a second proposal is declined with
// a reason that reaches them; a cancellation request, completed by the
// editors' cancel, shows CANCELLED in the feed; a withdrawn submission
// leaves the queue and is never public; another conference's, a tampered
// and an expired link are refused with a page; the links are in no log.
func TestOrganiserPrivatePage(t *testing.T) {
	mp := mailpittest.Start(t)
	logs := &syncWriter{}
	cfg := service.Config{
		DataDir: t.TempDir(), NATSListen: "127.0.0.1:0", HTTP: "127.0.0.1:0", PublicURL: "https://events.test",
		EditorToken: editorToken,
		Mail:        service.MailConfig{SMTPURL: mp.SMTPURL(), From: "Justice Events <events@events.test>"},
	}
	a := bootApp(t, cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	waitMail := func(query string) mailpittest.Message {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if got := mp.Search(query); len(got) > 0 {
				return mp.Message(got[0].ID)
			}
			if time.Now().After(deadline) {
				t.Fatalf("no mail for %s", query)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	linkIn := func(m mailpittest.Message) string {
		t.Helper()
		l := privateLink.FindStringSubmatch(m.Text)
		if l == nil || !strings.Contains(m.HTML, `href="https://events.test`+l[1]+`"`) {
			t.Fatalf("no private link in both parts:\n%s", m.Text)
		}
		return l[1]
	}
	feedHas := func(path, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			r := a.do("GET", path, nil, nil)
			if r.status == 200 && strings.Contains(string(r.body), want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never showed %q: %d %s", path, want, r.status, r.body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	version := func(id string) uint64 {
		var v struct {
			Version uint64 `json:"version"`
		}
		a.do("GET", "/api/v1/moderation/conferences/"+id, editor, nil).json(t, &v)
		return v.Version
	}
	ifMatch := func(id string) map[string]string {
		return map[string]string{"Authorization": editor["Authorization"], "If-Match": strconv.Quote(strconv.FormatUint(version(id), 10))}
	}

	// The receipt carries a working private link.
	body := validSubmission()
	body["contact"] = map[string]any{"name": "Pat Organiser", "email": "pat.private@example.org"}
	rec := a.submit(body, "organiser-1")
	link := linkIn(waitMail(`to:"pat.private@example.org" subject:"We received"`))
	o := newOrganiser(a)
	page := o.get(link)
	if page.status != 200 || !strings.Contains(string(page.body), "Waiting for an editor") || page.header.Get("Referrer-Policy") != "no-referrer" ||
		!strings.Contains(page.header.Get("Cache-Control"), "no-store") {
		t.Fatalf("private page: %d %v\n%s", page.status, page.header, page.body)
	}
	a.waitQueued(rec.ID)
	a.approve(rec.ID)

	// A proposal through the form: the submission form, filled.
	form := o.get(link + "/propose")
	if form.status != 200 || !strings.Contains(string(form.body), `name="title"`) {
		t.Fatalf("proposal form: %d\n%s", form.status, form.body)
	}
	var cur struct {
		Details domain.ConferenceDetails `json:"details"`
	}
	a.do("GET", "/api/v1/moderation/conferences/"+rec.ID, editor, nil).json(t, &cur)
	propose := func(d domain.ConferenceDetails) response {
		t.Helper()
		page := o.get(link + "/propose")
		v := formOf(t, page.body, link+"/propose")
		for k, vs := range domain.FormOf(d) {
			v[k] = vs
		}
		return o.post(link+"/propose", v)
	}
	// Without the form's token nothing is taken.
	noToken := domain.FormOf(cur.Details)
	noToken.Set("title", "Forged")
	if r := o.post(link+"/propose", noToken); r.status != http.StatusForbidden {
		t.Fatalf("a proposal without the form token: %d", r.status)
	}
	proposed := cur.Details
	proposed.Title = "National Conference on Human Trafficking — new venue"
	proposed.Location.Venue = "Harbor Hall"
	if r := propose(proposed); r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "done=proposed") {
		t.Fatalf("proposal: %d %s", r.status, r.body)
	}
	received := waitMail(`to:"pat.private@example.org" subject:"We received your proposed changes"`)
	if !strings.Contains(received.Text, "proposed: National Conference on Human Trafficking — new venue") {
		t.Errorf("proposal receipt:\n%s", received.Text)
	}
	// The queue and the moderation page show it field by field.
	var q struct {
		Items []struct {
			ID       string `json:"id"`
			Status   string `json:"status"`
			Proposal *struct {
				Changes []domain.FieldChange `json:"changes"`
			} `json:"proposal"`
		} `json:"items"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		a.do("GET", "/api/v1/moderation/queue", editor, nil).json(t, &q)
		if len(q.Items) == 1 && q.Items[0].Proposal != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proposal never reached the queue: %+v", q)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if it := q.Items[0]; it.ID != rec.ID || it.Status != "approved" || len(it.Proposal.Changes) != 2 ||
		it.Proposal.Changes[0].Label != "Title" || it.Proposal.Changes[0].Proposed != proposed.Title {
		t.Fatalf("queue item %+v", it)
	}
	mod := a.do("GET", "/moderation/conferences/"+rec.ID, editor, nil)
	if !strings.Contains(string(mod.body), "The organiser proposes changes") || !strings.Contains(string(mod.body), "Harbor Hall") ||
		!strings.Contains(string(mod.body), "/accept-proposal") {
		t.Fatalf("moderation page lacks the proposal:\n%s", mod.body)
	}
	queuePage := a.do("GET", "/moderation", editor, nil)
	if !strings.Contains(string(queuePage.body), "Harbor Hall") {
		t.Fatalf("queue page lacks the diff:\n%s", queuePage.body)
	}
	// Accepted: the feed shows it, the organiser is told what changed.
	if r := a.do("POST", "/api/v1/conferences/"+rec.ID+"/accept-proposal", ifMatch(rec.ID), nil); r.status != 200 {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	feedHas("/calendar.ics", "Harbor Hall")
	accepted := waitMail(`to:"pat.private@example.org" subject:"Your changes are accepted"`)
	if !strings.Contains(accepted.Text, "now: Harbor Hall") {
		t.Errorf("acceptance mail:\n%s", accepted.Text)
	}

	// Declined, with a reason that reaches the organiser.
	again := proposed
	again.Cost = "free"
	if r := propose(again); r.status != http.StatusSeeOther {
		t.Fatalf("second proposal: %d %s", r.status, r.body)
	}
	waitMail(`to:"pat.private@example.org" subject:"We received your proposed changes" "Cost"`)
	if r := a.do("POST", "/api/v1/conferences/"+rec.ID+"/decline-proposal", ifMatch(rec.ID), map[string]string{"reason": "the fee is on the registration page"}); r.status != 200 {
		t.Fatalf("decline: %d %s", r.status, r.body)
	}
	declined := waitMail(`to:"pat.private@example.org" subject:"Your changes were not accepted"`)
	if !strings.Contains(declined.Text, "the fee is on the registration page") {
		t.Errorf("decline mail lacks the reason:\n%s", declined.Text)
	}

	// A cancellation request, completed by the editors' cancel.
	page = o.get(link)
	v := formOf(t, page.body, link+"/cancellation")
	v.Set("reason", "the venue closed")
	if r := o.post(link+"/cancellation", v); r.status != http.StatusSeeOther {
		t.Fatalf("cancellation request: %d %s", r.status, r.body)
	}
	waitMail(`to:"pat.private@example.org" subject:"We received your request to cancel"`)
	if r := a.do("POST", "/api/v1/conferences/"+rec.ID+"/cancel", editor, map[string]string{"reason": "the venue closed"}); r.status != 200 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	feedHas("/conferences/"+rec.ID+".ics", "STATUS:CANCELLED")
	waitMail(`to:"pat.private@example.org" subject:"Marked cancelled"`)
	if r := o.get(link); !strings.Contains(string(r.body), "Cancelled") || !strings.Contains(string(r.body), "You asked for it to be cancelled") {
		t.Errorf("the page after the cancellation:\n%s", r.body)
	}

	// A pending submission withdrawn: out of the queue, never public.
	body2 := validSubmission()
	body2["title"] = "Withdrawn Summit"
	body2["contact"] = map[string]any{"email": "sam.private@example.org"}
	rec2 := a.submit(body2, "organiser-2")
	link2 := linkIn(waitMail(`to:"sam.private@example.org" subject:"We received"`))
	a.waitQueued(rec2.ID)
	o2 := newOrganiser(a)
	v = formOf(t, o2.get(link2).body, link2+"/withdraw")
	if r := o2.post(link2+"/withdraw", v); r.status != http.StatusSeeOther {
		t.Fatalf("withdraw: %d %s", r.status, r.body)
	}
	waitMail(`to:"sam.private@example.org" subject:"Withdrawn"`)
	deadline = time.Now().Add(10 * time.Second)
	for {
		a.do("GET", "/api/v1/moderation/queue", editor, nil).json(t, &q)
		if len(q.Items) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the withdrawn submission stays in the queue: %+v", q)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := a.do("POST", "/api/v1/conferences/"+rec2.ID+"/approve", editor, nil); r.status != http.StatusConflict {
		t.Fatalf("approving a withdrawn submission: %d %s", r.status, r.body)
	}
	if r := a.do("GET", "/conferences/"+rec2.ID, nil, nil); r.status != http.StatusNotFound {
		t.Fatalf("a withdrawn submission's page: %d", r.status)
	}

	// Refused links: a page saying so, never whether the conference exists.
	keys, err := serversecret.Load(cfg.DataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	expired := "/organiser/" + organisers.NewLinks(keys, time.Hour).Token(rec.ID, domain.Contact{Email: "pat.private@example.org"}, time.Now().Add(-2*time.Hour))
	tok := strings.TrimPrefix(link, "/organiser/")
	tampered := link[:len(link)-3] + map[bool]string{true: "AAA", false: "BBB"}[!strings.HasSuffix(link, "AAA")]
	for name, c := range map[string]struct {
		path   string
		status int
		words  string
	}{
		"another conference's": {"/organiser/" + rec2.ID + tok[strings.Index(tok, "."):], 403, "This link does not work"},
		"tampered":             {tampered, 403, "This link does not work"},
		"no such conference":   {"/organiser/nothing-here" + tok[strings.Index(tok, "."):], 403, "This link does not work"},
		"expired":              {expired, 410, "This link has expired"},
		"expired, posting":     {expired + "/withdraw", 403, "Nothing was changed"}, // no form token: refused before the link is read
	} {
		r := o.get(c.path)
		if strings.HasSuffix(name, "posting") {
			r = o.post(c.path, url.Values{})
		}
		if r.status != c.status || !strings.Contains(string(r.body), c.words) || strings.Contains(string(r.body), "Withdrawn Summit") {
			t.Errorf("%s: %d\n%s", name, r.status, r.body)
		}
	}

	// Every read model applied every event (an event a projection does not
	// take is skipped as poison, and logged).
	if strings.Contains(logs.String(), "skipping event") {
		t.Errorf("a projection skipped events:\n%s", logs.String())
	}
	// The links and the organisers' addresses are in no log.
	for _, secret := range []string{tok, strings.TrimPrefix(link2, "/organiser/"), "/organiser/", "pat.private", "sam.private"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
	// Nor in the public history or the read API.
	for _, p := range []string{"/api/v1/conferences/" + rec.ID + "/history", "/api/v1/conferences/" + rec.ID} {
		r := a.do("GET", p, nil, nil)
		var anything any
		if json.Unmarshal(r.body, &anything) != nil || strings.Contains(string(r.body), "change_proposed") || strings.Contains(string(r.body), "pat.private") {
			t.Errorf("GET %s: %d %s", p, r.status, r.body)
		}
	}
}
