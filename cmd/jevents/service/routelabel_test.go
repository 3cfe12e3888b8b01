package service

import "testing"

func TestRouteLabel(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "unmatched"},
		{"GET /{$}", "GET /"},
		{"GET /calendar.ics", "GET /calendar.ics"},
		{"POST /api/v1/conferences/{id}/approve", "POST /api/v1/conferences/{id}/approve"},
		{"GET /files/{path...}", "GET /files/{path}"},
	} {
		if got := routeLabel(tc.in); got != tc.want {
			t.Errorf("routeLabel(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// RouteLabel lets the external tests name a route as the metrics do.
var RouteLabel = routeLabel
