package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/cmd/jevents/service"
)

// The form tests and the browser tests run the real service in-process:
// an embedded nats-server with JetStream, the intake and moderation
// producers, the projectors and the feed server, on a free port.

const editorToken = "web-test-Qm7xK2vR9pLz4Wt8Nb3Hc6Jd"

// app is one running service.
type app struct {
	t    *testing.T
	svc  *service.Service
	base string // where the test reaches it
	dir  string // its data directory (its server secret)
}

type appOption func(*service.Config)

// publicHTTPS makes the public URL https (cookies become Secure).
func publicHTTPS(c *service.Config) { c.PublicURL = "https://events.test" }

func trustProxies(prefixes ...string) appOption {
	return func(c *service.Config) {
		for _, p := range prefixes {
			c.TrustedProxies = append(c.TrustedProxies, netip.MustParsePrefix(p))
		}
	}
}

// startApp boots the service on a free port whose address is also its
// public URL, so the links its pages offer (feeds) lead back to it.
func startApp(t *testing.T, opts ...appOption) *app {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := service.Config{
		DataDir:     t.TempDir(),
		NATSListen:  "-",
		HTTP:        addr,
		PublicURL:   "http://" + addr,
		EditorToken: editorToken,
	}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := service.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		s.Close()
		t.Fatal(err)
	}
	a := &app{t: t, svc: s, base: "http://" + s.HTTPAddr(), dir: cfg.DataDir}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	a.waitFor("ready", func() bool { return a.do("GET", "/readyz", nil, nil).status == 200 })
	return a
}

// waitFor polls cond until it holds, for at most 20 s.
func (a *app) waitFor(what string, cond func() bool) {
	a.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			a.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type reply struct {
	status int
	header http.Header
	body   string
}

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do sends a request; header values are set as given, Cookie included.
func (a *app) do(method, path string, header map[string]string, body io.Reader) reply {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// post sends a form.
func (a *app) post(path string, form url.Values, header map[string]string) reply {
	a.t.Helper()
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for k, v := range header {
		h[k] = v
	}
	return a.do("POST", path, h, strings.NewReader(form.Encode()))
}

// api sends JSON with the editor's bearer token and decodes the answer.
func (a *app) api(method, path string, body any, header map[string]string, out any) int {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	h := map[string]string{"Authorization": "Bearer " + editorToken, "Content-Type": "application/json"}
	for k, v := range header {
		h[k] = v
	}
	r := a.do(method, path, h, rd)
	if out != nil && r.status < 300 {
		if err := json.Unmarshal([]byte(r.body), out); err != nil {
			a.t.Fatalf("%s %s: %v: %s", method, path, err, r.body)
		}
	}
	return r.status
}

// cookie is the value of a cookie the reply sets.
func (r reply) cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// hidden is the value of a hidden field of the page.
func (r reply) hidden(name string) string {
	m := regexp.MustCompile(`<input type="hidden" name="` + regexp.QuoteMeta(name) + `" value="([^"]*)">`).FindStringSubmatch(r.body)
	if m == nil {
		return ""
	}
	return m[1]
}

// submitReceipt is what the API answers a submission.
type submitReceipt struct {
	ID      string `json:"id"`
	Version uint64 `json:"version"`
}

// submitAPI submits a conference through the JSON API.
func (a *app) submitAPI(title, start string, extra map[string]any) submitReceipt {
	a.t.Helper()
	body := map[string]any{"title": title, "start": start, "all_day": true, "format": "in_person",
		"location": map[string]string{"city": "Baltimore", "region": "MD"}, "topics": []string{"courts"},
		"contact": map[string]string{"name": "Pat Organiser", "email": "pat.organiser@example.org"}}
	for k, v := range extra {
		body[k] = v
	}
	var rec submitReceipt
	if st := a.api("POST", "/api/v1/conferences", body, map[string]string{"Idempotency-Key": fmt.Sprintf("k-%x", sha256.Sum256([]byte(title)))}, &rec); st != http.StatusAccepted {
		a.t.Fatalf("submit %q: %d", title, st)
	}
	return rec
}

// approveAPI approves a conference and waits until its page is public.
func (a *app) approveAPI(id string) {
	a.t.Helper()
	if st := a.api("POST", "/api/v1/conferences/"+id+"/approve", nil, nil, nil); st != http.StatusOK {
		a.t.Fatalf("approve %s: %d", id, st)
	}
	a.waitFor("the page of "+id, func() bool { return a.do("GET", "/conferences/"+id, nil, nil).status == 200 })
}

// pending lists the titles in the moderation queue (the read model).
func (a *app) pending() []string {
	a.t.Helper()
	var q struct {
		Items []struct {
			Details struct {
				Title string `json:"title"`
			} `json:"details"`
		} `json:"items"`
	}
	if st := a.api("GET", "/api/v1/moderation/queue?limit=500", nil, nil, &q); st != 200 {
		a.t.Fatalf("queue: %d", st)
	}
	var out []string
	for _, it := range q.Items {
		out = append(out, it.Details.Title)
	}
	return out
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func nextYear(month, d int) string { return fmt.Sprintf("%d-%02d-%02d", time.Now().Year()+1, month, d) }

// browserAccept is what Chromium sends for a page.
const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

// TestUnmatched: what no route takes is answered as the rest of the site
// answers: an HTML page for a browser, problem+json for an API client (and
// for anything under /api/), 404 for an unknown path, 405 with Allow for
// a method the path does not take.
func TestUnmatched(t *testing.T) {
	a := startApp(t)
	for _, tc := range []struct {
		method, path, accept string
		status               int
		html                 bool
		allow                string
	}{
		{"GET", "/no-such-page", browserAccept, 404, true, ""},
		{"GET", "/no-such-page", "", 404, false, ""},
		{"GET", "/no-such-page", "*/*", 404, false, ""},
		{"GET", "/no-such-page", "application/json", 404, false, ""},
		{"GET", "/api/v1/nothing", browserAccept, 404, false, ""},
		{"GET", "/calendar/nothing/x.ics", "text/calendar", 404, false, ""},
		{"DELETE", "/", browserAccept, 405, true, "GET, HEAD"},
		{"POST", "/calendar.ics", "", 405, false, "GET, HEAD"},
		{"DELETE", "/api/v1/conferences", browserAccept, 405, false, "GET, HEAD, POST"},
		{"PUT", "/submit", browserAccept, 405, true, "GET, HEAD, POST"},
	} {
		r := a.do(tc.method, tc.path, map[string]string{"Accept": tc.accept}, nil)
		name := tc.method + " " + tc.path + " (Accept: " + tc.accept + ")"
		if r.status != tc.status || r.header.Get("Allow") != tc.allow {
			t.Errorf("%s: %d, Allow %q; want %d, %q", name, r.status, r.header.Get("Allow"), tc.status, tc.allow)
			continue
		}
		if tc.html {
			if r.header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(r.body, `<main id="main"`) ||
				!strings.Contains(r.body, "<h1>") || r.header.Get("Content-Security-Policy") == "" {
				t.Errorf("%s: not the site's page: %s\n%.300s", name, r.header.Get("Content-Type"), r.body)
			}
			continue
		}
		var p struct {
			Status int    `json:"status"`
			Title  string `json:"title"`
		}
		if r.header.Get("Content-Type") != "application/problem+json" || json.Unmarshal([]byte(r.body), &p) != nil || p.Status != tc.status {
			t.Errorf("%s: not problem+json: %s %s", name, r.header.Get("Content-Type"), r.body)
		}
	}
}
