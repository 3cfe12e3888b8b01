package service_test

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/justiceevents/jevents/cmd/jevents/service"
)

// requestPath is a path a route's pattern matches: each wildcard becomes
// an id that exists nowhere ({file} an .ics name).
func requestPath(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{$}", "")
	path = strings.ReplaceAll(path, "{file}", "no-such-thing.ics")
	for strings.Contains(path, "{") {
		i, j := strings.Index(path, "{"), strings.Index(path, "}")
		path = path[:i] + "no-such-thing" + path[j+1:]
	}
	return method, path
}

// TestRouteTable: the route table the composition root builds is what the
// public listener answers, route by route (the HTTP metrics name the
// pattern that matched each request); no pattern is in it twice; and no
// route marked for editors does anything for a request without an
// editor's identity: the API answers 401, the pages the sign-in page (a
// POST 403), a wrong token past the throttle 429, and nothing is appended.
func TestRouteTable(t *testing.T) {
	a := startApp(t, t.TempDir())
	routes := a.svc.Routes()
	var patterns []string
	editorsRoutes := 0
	for _, r := range routes {
		if slices.Contains(patterns, r.Pattern) {
			t.Fatalf("%s is in the table twice", r.Pattern)
		}
		patterns = append(patterns, r.Pattern)
		if r.Editors {
			editorsRoutes++
		}
	}
	// Every role's routes are there (one of each, as a sample).
	for _, want := range []string{"POST /api/v1/conferences", "GET /submit", "POST /api/v1/conferences/{id}/approve",
		"PATCH /api/v1/resources/{id}", "GET /api/v1/conferences/{id}/history", "GET /moderation", "GET /calendar.ics",
		"GET /api/v1/resources", "GET /{$}", "GET /healthz", "GET /readyz"} {
		if !slices.Contains(patterns, want) {
			t.Errorf("%s is not in the table", want)
		}
	}
	if editorsRoutes < 15 {
		t.Fatalf("only %d editors-only routes in the table", editorsRoutes)
	}

	before := a.streamMessages()
	for _, r := range routes {
		method, path := requestPath(r.Pattern)
		if !r.Editors {
			// Public routes: answered by their own pattern (checked
			// below), whatever the status of an unknown id.
			a.do(method, path, nil, nil)
			continue
		}
		for _, h := range []map[string]string{nil, {"Authorization": "Bearer not-a-token-Zx8Qm4Kr7Vt2Lp9Wc5Nb3Hd"}} {
			res := a.do(method, path, h, nil)
			switch {
			case res.status == http.StatusTooManyRequests && h != nil:
				// Past ten wrong tokens from this address the throttle
				// refuses them before any route (README: Limits).
			case strings.HasPrefix(path, "/api/"):
				if res.status != http.StatusUnauthorized {
					t.Errorf("%s with %v: %d, want 401", r.Pattern, h, res.status)
				}
			case method == http.MethodPost:
				if res.status != http.StatusForbidden || !bytes.Contains(res.body, []byte(`action="/moderation/sign-in"`)) {
					t.Errorf("%s with %v: %d, want 403 and the sign-in page", r.Pattern, h, res.status)
				}
			default:
				if !bytes.Contains(res.body, []byte(`action="/moderation/sign-in"`)) {
					t.Errorf("%s with %v: %d without the sign-in page", r.Pattern, h, res.status)
				}
			}
		}
	}
	if a.streamMessages() != before {
		t.Fatal("a request without an editor appended events")
	}
	resp, err := http.Get("http://" + a.svc.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	for _, r := range routes {
		if !bytes.Contains(metrics, []byte(`jevents_http_requests_total{code="`)) ||
			!bytes.Contains(metrics, []byte(`route="`+service.RouteLabel(r.Pattern)+`"`)) {
			t.Errorf("%s: no request was answered by this pattern", r.Pattern)
		}
	}
}
