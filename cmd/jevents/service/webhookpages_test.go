package service_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/internal/syndcheck"
)

var secretField = regexp.MustCompile(`id="hook-secret" type="text" readonly value="(whsec_[^"]+)"`)

// TestWebhookPages: the moderation pages of webhook subscriptions, through
// real HTTP on the real service. Anonymous: the sign-in page, nothing
// registered. An editor registers one with the facets' selects and the
// query-string field (the secret on the answer page, never again: not on
// the list, not on its page, not in the API); bad input re-shows the form
// with the field named (422); a post without the form token changes
// nothing. Its target fails, so it is paused with the reason shown on the
// list and the failing attempts in its delivery log; the editor resumes it
// and removes it, the API seeing each step (one mechanism).
func TestWebhookPages(t *testing.T) {
	a := startAppWith(t, t.TempDir(), func(c *service.Config) {
		c.Webhooks.AllowPrivate = true
		c.Webhooks.PauseAfter = time.Second
		c.Webhooks.MinBackoff = 50 * time.Millisecond
		c.Webhooks.MaxBackoff = 200 * time.Millisecond
		c.Webhooks.Poll = 100 * time.Millisecond
	})
	apiList := func() string {
		t.Helper()
		r := a.do("GET", "/api/v1/webhooks", editor, nil)
		if r.status != 200 {
			t.Fatalf("API list: %d %s", r.status, r.body)
		}
		return string(r.body)
	}
	target := fmt.Sprintf("http://127.0.0.1:%d/hook", syndcheck.FreePort(t)) // nothing listens there
	form := url.Values{"url": {target}, "facet-topic": {"courts"}, "filter": {"past=all"}}

	// Anonymous: the sign-in page; a post changes nothing.
	if r := a.send("GET", "/moderation/webhooks", nil, nil); !refused("GET", "/moderation/webhooks", r, false) {
		t.Fatalf("anonymous list: %d %s", r.status, r.body)
	}
	if r := a.send("POST", "/moderation/webhooks", nil, form); !refused("POST", "/moderation/webhooks", r, false) {
		t.Fatalf("anonymous registration: %d %s", r.status, r.body)
	}

	cookie, csrf := a.signIn(editorToken)
	h := map[string]string{"Cookie": cookie}
	page := func(path string) string {
		t.Helper()
		r := a.send("GET", path, h, nil)
		if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: %d %v", path, r.status, r.header)
		}
		return string(r.body)
	}
	if p := page("/moderation/webhooks"); !strings.Contains(p, "No subscriptions yet") || !strings.Contains(p, `name="facet-topic"`) ||
		!strings.Contains(p, `action="/moderation/webhooks"`) || !strings.Contains(page("/moderation"), `href="/moderation/webhooks"`) {
		t.Fatalf("the list without subscriptions:\n%s", p)
	}
	// Without the form token: nothing registered.
	if r := a.send("POST", "/moderation/webhooks", h, form); r.status != http.StatusForbidden {
		t.Fatalf("registration without the form token: %d", r.status)
	}
	post := func(path string, v url.Values) response {
		t.Helper()
		v = cloneValues(v)
		v.Set("csrf", csrf)
		return a.send("POST", path, h, v)
	}
	for field, bad := range map[string]url.Values{
		"hook-filter": {"url": {target}, "filter": {"colour=red"}},
		"hook-url":    {"url": {"ftp://example.org/"}},
	} {
		r := post("/moderation/webhooks", bad)
		body := string(r.body)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(body, `href="#`+field+`"`) ||
			!strings.Contains(body, `id="`+field+`-error"`) || !strings.Contains(body, `value="`+html.EscapeString(bad.Get(strings.TrimPrefix(field, "hook-")))+`"`) {
			t.Fatalf("registration %v: %d\n%s", bad, r.status, body)
		}
	}
	if l := apiList(); strings.Contains(l, target) || strings.Contains(l, "example.org") {
		t.Fatalf("refused registrations were recorded: %s", l)
	}

	// Registered: the secret once.
	r := post("/moderation/webhooks", form)
	m := secretField.FindStringSubmatch(string(r.body))
	if r.status != http.StatusCreated || m == nil || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("registration: %d %v\n%s", r.status, r.header, r.body)
	}
	secret := m[1]
	var subs struct{ Webhooks []webhookView }
	r = a.do("GET", "/api/v1/webhooks", editor, nil)
	r.json(t, &subs)
	if len(subs.Webhooks) != 1 || subs.Webhooks[0].URL != target || subs.Webhooks[0].Filter != "topic=courts&past=all" || strings.Contains(string(r.body), secret) {
		t.Fatalf("the API sees %s", r.body)
	}
	id := subs.Webhooks[0].ID
	list := page("/moderation/webhooks")
	if !strings.Contains(list, html.EscapeString(target)) || !strings.Contains(list, "topic=courts&amp;past=all") ||
		!strings.Contains(list, "<strong>active</strong>") || strings.Contains(list, secret) {
		t.Fatalf("the list after registration:\n%s", list)
	}
	if p := page("/moderation/webhooks/" + id); strings.Contains(p, secret) || strings.Contains(p, "whsec_") || !strings.Contains(p, "Nothing delivered or tried yet") {
		t.Fatalf("the subscription's page:\n%s", p)
	}

	// A change of its filter: the target fails, the subscription pauses.
	sub := validSubmission()
	sub["topics"] = []string{"courts"}
	rec := a.submit(sub, "")
	a.waitQueued(rec.ID)
	if r := a.do("POST", "/api/v1/conferences/"+rec.ID+"/approve", editor, nil); r.status != 200 {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for list = page("/moderation/webhooks"); !strings.Contains(list, "<strong>paused</strong>"); list = page("/moderation/webhooks") {
		if time.Now().After(deadline) {
			t.Fatalf("not paused:\n%s", list)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(list, `action="/moderation/webhooks/`+id+`/resume"`) {
		t.Fatalf("no resume button for a paused subscription:\n%s", list)
	}
	if api := apiList(); !strings.Contains(api, `"status":"paused"`) || !strings.Contains(api, `"reason":"`) {
		t.Fatalf("the API of a paused subscription: %s", api)
	}
	var reason string
	r = a.do("GET", "/api/v1/webhooks", editor, nil)
	r.json(t, &subs)
	reason = subs.Webhooks[0].Reason
	if reason == "" || !strings.Contains(list, html.EscapeString(reason)) {
		t.Fatalf("the reason %q is not on the list:\n%s", reason, list)
	}
	if !strings.Contains(list, "<td>failing, ") {
		t.Fatalf("the list does not show the last delivery's outcome:\n%s", list)
	}
	log := page("/moderation/webhooks/" + id)
	if !strings.Contains(log, "<td>failing</td>") || !strings.Contains(log, id+"-") || strings.Contains(log, secret) {
		t.Fatalf("the delivery log of a failing subscription:\n%s", log)
	}

	// Resumed, then removed, from the pages; the API sees each.
	if r := post("/moderation/webhooks/"+id+"/resume", nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/moderation/webhooks/"+id+"?done=resumed" {
		t.Fatalf("resume: %d %v", r.status, r.header)
	}
	if api := apiList(); !strings.Contains(api, `"status":"active"`) {
		t.Fatalf("after resuming: %s", api)
	}
	if r := post("/moderation/webhooks/"+id+"/remove", nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/moderation/webhooks?done=removed" {
		t.Fatalf("remove: %d %v", r.status, r.header)
	}
	if api := apiList(); strings.Contains(api, id) {
		t.Fatalf("after removing: %s", api)
	}
	if p := page("/moderation/webhooks?done=removed"); strings.Contains(p, html.EscapeString(target)) || !strings.Contains(p, "was removed") {
		t.Fatalf("the list after removing:\n%s", p)
	}
	if r := a.send("GET", "/moderation/webhooks/"+id, h, nil); r.status != http.StatusNotFound {
		t.Fatalf("a removed subscription's page: %d", r.status)
	}
	if r := post("/moderation/webhooks/"+id+"/remove", nil); r.status != http.StatusNotFound {
		t.Fatalf("removing twice: %d", r.status)
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
