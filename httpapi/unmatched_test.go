package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWantsHTML(t *testing.T) {
	for _, tt := range []struct {
		path, accept string
		want         bool
	}{
		{"/x", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", true}, // Chromium
		{"/x", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true},                       // Firefox
		{"/x", "", false},
		{"/x", "*/*", false}, // curl
		{"/x", "application/json", false},
		{"/x", "application/problem+json, text/html;q=0.5", false},
		{"/x", "text/html, application/json", false}, // a tie: problem+json
		{"/x", "text/html;q=0", false},
		{"/x", "text/*", true},
		{"/x", "text/calendar", false},
		{"/api/v1/x", "text/html", false},
	} {
		r := httptest.NewRequest("GET", tt.path, nil)
		if tt.accept != "" {
			r.Header.Set("Accept", tt.accept)
		}
		if got := WantsHTML(r); got != tt.want {
			t.Errorf("%s, Accept %q: %v, want %v", tt.path, tt.accept, got, tt.want)
		}
	}
}

func TestUnmatched(t *testing.T) {
	mux := http.NewServeMux()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	if err := Handle(mux, []Route{{Pattern: "GET /things/{id}", Handler: ok}, {Pattern: "POST /things/{id}", Handler: ok}, {Pattern: "GET /{$}", Handler: ok}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	var pages []int
	h := Unmatched(mux, func(w http.ResponseWriter, r *http.Request, status int, allow []string) {
		pages = append(pages, status)
		w.WriteHeader(status)
	})
	for _, tt := range []struct {
		method, path, accept string
		status               int
		allow                string
		page                 bool
	}{
		{"GET", "/things/1", "", 204, "", false},
		{"GET", "/", "text/html", 204, "", false},
		{"GET", "/nothing", "text/html", 404, "", true},
		{"GET", "/nothing", "", 404, "", false},
		{"DELETE", "/things/1", "text/html", 405, "GET, HEAD, POST", true},
		{"PUT", "/things/1", "application/json", 405, "GET, HEAD, POST", false},
		{"POST", "/", "", 405, "GET, HEAD", false},
	} {
		pages = nil
		r := httptest.NewRequest(tt.method, tt.path, nil)
		if tt.accept != "" {
			r.Header.Set("Accept", tt.accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		name := tt.method + " " + tt.path
		if w.Code != tt.status || w.Header().Get("Allow") != tt.allow || (len(pages) == 1) != tt.page {
			t.Errorf("%s: %d, Allow %q, page %v", name, w.Code, w.Header().Get("Allow"), pages)
		}
		if tt.status >= 400 && !tt.page && (w.Header().Get("Content-Type") != "application/problem+json" || !strings.Contains(w.Body.String(), `"status":`)) {
			t.Errorf("%s: %s %s", name, w.Header().Get("Content-Type"), w.Body.String())
		}
	}
}
