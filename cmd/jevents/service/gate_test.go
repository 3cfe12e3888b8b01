package service_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/internal/auth"
	"github.com/justiceevents/jevents/internal/serversecret"
)

// publicRoutes are the routes anyone may use, the only ones of the public
// listener that may answer a request without an editor's identity. A new
// route is either added here, on purpose, or declared for editors (Route.
// Editors), which puts it behind the gate; TestRouteTable fails otherwise.
var publicRoutes = []string{
	"POST /api/v1/conferences",
	"GET /api/v1/resources/{id}/history",   // editors see more (their identity from the gate)
	"GET /api/v1/conferences/{id}/history", // and unpublished conferences
	"GET /api/v1/resources",
	"GET /api/v1/resources/{id}",
	"GET /{$}",
	"GET /month/{month}", // the month view (issue 14)
	"GET /resources",
	"GET /resources/topics/{topic}",
	"GET /resources/{id}",
	"GET /assets/site.css",
	"GET /calendar.ics",
	"GET /calendar.rss",
	"GET /calendar.atom",
	"GET /calendar.json",
	"GET /month/{month}",
	"GET /embed",
	"GET /api/v1/changes",
	"POST /api/v1/conferences/{id}/reports",
	"GET /conferences/{id}/report",
	"POST /conferences/{id}/report",
	// the organiser's private page: its signed link is the credential
	// (producers/organisers), checked by the page itself
	"GET /organiser/{token}",
	"GET /organiser/{token}/propose",
	"POST /organiser/{token}/propose",
	"POST /organiser/{token}/withdraw",
	"POST /organiser/{token}/cancellation",
	"GET /calendar/topics/{file}",
	"GET /calendar/regions/{file}",
	"GET /calendar/types/{file}",
	"GET /calendar/countries/{file}",
	"GET /calendar/sponsors/{file}",
	"GET /conferences/{file}",
	"GET /api/v1/conferences/{id}",
	"GET /api/v1/conferences",
	"GET /api/v1/feeds",
	"GET /submit",
	"POST /submit",
	"GET /submit/done/{id}",
	"POST /moderation/sign-in",
	"GET /healthz",
	"GET /readyz",
}

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// send is app.do for forms and cookies, without following redirects.
func (a *app) send(method, path string, header map[string]string, form url.Values) response {
	a.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, a.base+path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs in through the page with token and returns the session's
// Cookie header and the CSRF token of its forms.
func (a *app) signIn(token string) (cookie, csrf string) {
	a.t.Helper()
	page := a.send("GET", "/moderation", nil, nil)
	m := csrfField.FindSubmatch(page.body)
	form := cookieOf(page.header, "jevents_form")
	if m == nil || form == "" {
		a.t.Fatalf("sign-in page: %d, no form token", page.status)
	}
	r := a.send("POST", "/moderation/sign-in", map[string]string{"Cookie": form},
		url.Values{"csrf": {string(m[1])}, "next": {"/moderation"}, "token": {token}})
	cookie = cookieOf(r.header, auth.CookieName)
	if r.status != http.StatusSeeOther || cookie == "" {
		a.t.Fatalf("sign-in: %d %s", r.status, r.body)
	}
	q := a.send("GET", "/moderation", map[string]string{"Cookie": cookie}, nil)
	m = csrfField.FindSubmatch(q.body)
	if q.status != 200 || m == nil {
		a.t.Fatalf("the queue after signing in: %d", q.status)
	}
	return cookie, string(m[1])
}

// signedCookie makes a session cookie signed with the data directory's
// server secret, as the gate makes them (internal/auth/session.go): a
// forger who somehow had the secret still needs a recorded session, and no
// signature makes an expired cookie valid.
func signedCookie(t *testing.T, dataDir, editor, sessionID string, expires time.Time) string {
	t.Helper()
	keys, err := serversecret.Load(dataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	name := base64.RawURLEncoding.EncodeToString([]byte(editor))
	exp := strconv.FormatInt(expires.Unix(), 10)
	mac := keys.Derive("editor-session").Sign([]byte(strings.Join([]string{"v2", name, sessionID, exp}, "\x00")))
	return auth.CookieName + "=" + strings.Join([]string{"v2", name, sessionID, exp, base64.RawURLEncoding.EncodeToString(mac)}, ".")
}

// refused reports whether the gate refused a request to an editors' route,
// as the route's audience is told: the API 401 problem+json with
// WWW-Authenticate (429 for a client past its wrong tokens), the pages the
// sign-in page (a post 403: nothing changed).
func refused(method, path string, r response, wrongToken bool) bool {
	if wrongToken && r.status == http.StatusTooManyRequests {
		return r.header.Get("Retry-After") != "" // the throttle, inside the gate
	}
	if strings.HasPrefix(path, "/api/") {
		return r.status == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") != "" &&
			r.header.Get("Content-Type") == "application/problem+json"
	}
	signIn := bytes.Contains(r.body, []byte(`action="/moderation/sign-in"`))
	if method == http.MethodPost {
		return r.status == http.StatusForbidden && signIn
	}
	return r.status == http.StatusOK && signIn
}

// TestRouteTable: for every role, every route the process registers is
// either one anyone may use (publicRoutes) or declared for editors, and
// every route declared for editors is registered behind the one gate
// (auth.Required). Then each editors' route refuses a request without an
// identity, with a wrong token, with a forged cookie, with an expired
// one (validly signed), with a validly signed one of a session never
// opened and with a copy of a signed-out session's cookie — appending
// nothing — and accepts an editor's token and session; each public route
// answers without an identity. A route added without the gate fails here.
func TestRouteTable(t *testing.T) {
	for _, roles := range [][]service.Role{service.AllRoles, {service.RoleEditors}, {service.RoleIntake},
		{service.RoleFeeds}, {service.RoleProjector}} {
		t.Run(joinRoles(roles), func(t *testing.T) { checkRouteTable(t, roles) })
	}
}

func joinRoles(roles []service.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

func checkRouteTable(t *testing.T, roles []service.Role) {
	dir := t.TempDir()
	a := startAppWith(t, dir, func(c *service.Config) { c.Roles = roles })
	routes := a.svc.Routes()
	var patterns []string
	editorsRoutes := 0
	for _, r := range routes {
		if slices.Contains(patterns, r.Pattern) {
			t.Fatalf("%s is in the table twice", r.Pattern)
		}
		patterns = append(patterns, r.Pattern)
		public := slices.Contains(publicRoutes, r.Pattern)
		switch {
		case r.Editors && public:
			t.Errorf("%s is declared for editors and listed as public: say which", r.Pattern)
		case !r.Editors && !public:
			t.Errorf("%s is neither declared for editors nor listed as public (publicRoutes): a new route must choose", r.Pattern)
		case r.Editors:
			editorsRoutes++
			method, path := requestPath(r.Pattern)
			req, _ := http.NewRequest(method, a.base+path, nil)
			h, pattern := a.svc.Mux().Handler(req)
			if _, gated := h.(*auth.Required); !gated || pattern != r.Pattern {
				t.Errorf("%s is registered as %T for %q, not behind the gate", r.Pattern, h, pattern)
			}
		}
	}
	hasEditors := slices.Contains(roles, service.RoleEditors)
	if !hasEditors && editorsRoutes > 0 {
		t.Fatalf("a process without the editors role registered %d editors' routes", editorsRoutes)
	}
	if slices.Equal(roles, service.AllRoles) {
		for _, want := range []string{"POST /api/v1/conferences", "GET /submit", "POST /api/v1/conferences/{id}/approve",
			"PATCH /api/v1/resources/{id}", "GET /api/v1/conferences/{id}/history", "GET /moderation", "GET /calendar.ics",
			"GET /api/v1/resources", "GET /{$}", "GET /healthz", "GET /readyz"} {
			if !slices.Contains(patterns, want) {
				t.Errorf("%s is not in the table", want)
			}
		}
		if editorsRoutes < 20 {
			t.Fatalf("only %d editors-only routes in the table", editorsRoutes)
		}
	}

	var (
		expired, neverOpened, signedOut string
		cookie, csrf                    string
	)
	if slices.Contains(patterns, "GET /moderation") { // the editors' pages: sessions to test
		expired = signedCookie(t, dir, "editor", "c2Vzc2lvbi1leHBpcmVk", time.Now().Add(-time.Minute))
		neverOpened = signedCookie(t, dir, "editor", "bmV2ZXItb3BlbmVkLXNlc3Npb24", time.Now().Add(time.Hour))
		var outCSRF string
		signedOut, outCSRF = a.signIn(editorToken)
		if r := a.send("POST", "/moderation/sign-out", map[string]string{"Cookie": signedOut}, url.Values{"csrf": {outCSRF}}); r.status != 200 {
			t.Fatalf("sign out: %d", r.status)
		}
		cookie, csrf = a.signIn(editorToken)
	}
	before := a.streamMessages()
	for _, r := range routes {
		method, path := requestPath(r.Pattern)
		if !r.Editors {
			// Public routes: answered by their own pattern (the metrics
			// below), whatever the status of an unknown id, never 401.
			if res := a.do(method, path, nil, nil); res.status == http.StatusUnauthorized {
				t.Errorf("%s (public): 401 without a token", r.Pattern)
			}
			continue
		}
		var form url.Values
		if method == http.MethodPost && !strings.HasPrefix(path, "/api/") {
			form = url.Values{"csrf": {csrf}} // a valid form's token: the gate must refuse all the same
		}
		for _, c := range []struct {
			name   string
			header map[string]string
			wrong  bool
		}{
			{"no identity", nil, false},
			{"a wrong token", map[string]string{"Authorization": "Bearer not-a-token-Zx8Qm4Kr7Vt2Lp9Wc5Nb3Hd"}, true},
			{"not a bearer token", map[string]string{"Authorization": "Basic ZWRpdG9yOmVkaXRvcg=="}, true},
			{"a forged cookie", map[string]string{"Cookie": auth.CookieName + "=v2.ZWRpdG9y.Zm9yZ2Vk.9999999999.Zm9yZ2Vk"}, false},
			{"an old-style cookie", map[string]string{"Cookie": auth.CookieName + "=v1.ZWRpdG9y.9999999999.abcdef.Zm9yZ2Vk"}, false},
			{"an expired cookie", map[string]string{"Cookie": expired}, false},
			{"a session never opened", map[string]string{"Cookie": neverOpened}, false},
			{"a signed-out session's copied cookie", map[string]string{"Cookie": signedOut}, false},
		} {
			if c.header != nil && c.header["Cookie"] == "" && !c.wrong {
				continue // no editors role: no cookie to make
			}
			res := a.send(method, path, c.header, form)
			if !refused(method, path, res, c.wrong) {
				t.Errorf("%s with %s: %d, not refused by the gate\n%.300s", r.Pattern, c.name, res.status, res.body)
			}
		}
	}
	if a.streamMessages() != before {
		t.Fatal("a request without an editor appended events")
	}
	// An editor passes the gate on every editors' route: with the token
	// (API and pages), and with the session (pages). What the route then
	// answers for an id that exists nowhere is the route's business, but
	// it is never a refusal of the gate.
	for _, r := range routes {
		if !r.Editors {
			continue
		}
		method, path := requestPath(r.Pattern)
		ways := []map[string]string{{"Authorization": "Bearer " + editorToken}}
		if !strings.HasPrefix(path, "/api/") && r.Pattern != "POST /moderation/sign-out" {
			ways = append(ways, map[string]string{"Cookie": cookie})
		}
		for _, h := range ways {
			var form url.Values
			if method == http.MethodPost && !strings.HasPrefix(path, "/api/") {
				form = url.Values{"csrf": {csrf}}
			}
			res := a.send(method, path, h, form)
			signInPage := bytes.Contains(res.body, []byte(`action="/moderation/sign-in"`))
			if r.Pattern == "POST /moderation/sign-out" { // it answers with the sign-in page, saying so
				signInPage = !bytes.Contains(res.body, []byte("You have signed out"))
			}
			if refused(method, path, res, true) || res.status == http.StatusUnauthorized || res.status >= 500 || signInPage {
				t.Errorf("%s with %v: %d: an editor was refused\n%.300s", r.Pattern, h, res.status, res.body)
			}
		}
	}

	resp, err := http.Get("http://" + a.svc.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	for _, r := range routes {
		if !bytes.Contains(metrics, []byte(`route="`+service.RouteLabel(r.Pattern)+`"`)) {
			t.Errorf("%s: no request was answered by this pattern", r.Pattern)
		}
	}
}

// TestSignOutEndsCopiedCookie: signing out ends the session for every copy
// of its cookie (the record is gone from the sessions bucket), at once;
// another session of the same editor goes on.
func TestSignOutEndsCopiedCookie(t *testing.T) {
	a := startApp(t, t.TempDir())
	cookie, csrf := a.signIn(editorToken)
	other, _ := a.signIn(editorToken) // another browser
	copied := map[string]string{"Cookie": cookie}
	if r := a.send("GET", "/moderation", copied, nil); r.status != 200 || !csrfField.Match(r.body) {
		t.Fatalf("the session before signing out: %d", r.status)
	}
	r := a.send("POST", "/moderation/sign-out", copied, url.Values{"csrf": {csrf}})
	if r.status != 200 || !bytes.Contains(r.body, []byte("You have signed out")) || !strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("sign out: %d %v", r.status, r.header)
	}
	if r := a.send("GET", "/moderation", copied, nil); !refused("GET", "/moderation", r, false) || !bytes.Contains(r.body, []byte("Your session has ended")) {
		t.Fatalf("the copied cookie after signing out: %d\n%.300s", r.status, r.body)
	}
	if r := a.send("POST", "/moderation/reject", copied, url.Values{"csrf": {csrf}}); !refused("POST", "/moderation/reject", r, false) {
		t.Fatalf("a post with the copied cookie after signing out: %d", r.status)
	}
	if r := a.send("GET", "/moderation", map[string]string{"Cookie": other}, nil); r.status != 200 || !csrfField.Match(r.body) {
		t.Fatalf("another session of the editor ended too: %d", r.status)
	}
}

// TestTokenRemovalEndsAccess: with a tokens file, removing an editor's
// line ends, without a restart and within seconds, that editor's API
// access and every copy of their session cookie; the other editors go on,
// and a line added lets a new editor in.
func TestTokenRemovalEndsAccess(t *testing.T) {
	const (
		ada   = "ada-Kq7Vm2Xr9Lt4Zp8Wn3Hb6Jc"
		bob   = "bob-Rt8Hq2Wn7Kx4Mz9Pc3Lv6Jd"
		carol = "carol-Vx4Kq9Rm2Zp7Lt3Wn8Hb5Jc"
	)
	dir := t.TempDir()
	file := filepath.Join(t.TempDir(), "tokens")
	write := func(lines ...string) {
		t.Helper()
		// Replaced whole, as editors of such files do (write, rename).
		tmp := file + ".new"
		if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	write("ada:"+ada, "bob:"+bob)
	a := startAppWith(t, dir, func(c *service.Config) { c.EditorToken, c.EditorTokensFile = "", file })
	adaCookie, _ := a.signIn(ada)
	bobCookie, _ := a.signIn(bob)
	page := func(cookie string) response {
		return a.send("GET", "/moderation", map[string]string{"Cookie": cookie}, nil)
	}
	api := func(token string) int {
		return a.send("GET", "/api/v1/moderation/queue", map[string]string{"Authorization": "Bearer " + token}, nil).status
	}
	if page(adaCookie).status != 200 || refused("GET", "/moderation", page(adaCookie), false) || api(ada) != 200 {
		t.Fatal("ada before the removal")
	}
	write("bob:"+bob, "carol:"+carol)
	start := time.Now()
	for !refused("GET", "/moderation", page(adaCookie), false) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("ada's copied cookie still valid 10 s after her token was removed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("ada's session ended %v after her line was removed", time.Since(start).Round(10*time.Millisecond))
	if s := api(ada); s != http.StatusUnauthorized {
		t.Fatalf("ada's token after its removal: %d", s)
	}
	if refused("GET", "/moderation", page(bobCookie), false) || api(bob) != 200 {
		t.Fatal("bob's session or token ended with ada's")
	}
	if api(carol) != 200 {
		t.Fatal("a token added to the file is not accepted")
	}
}
