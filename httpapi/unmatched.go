package httpapi

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Unmatched answers what no route of the table takes, in one place for
// the whole public listener: a path no route has is 404, a path whose
// routes take other methods is 405 with Allow. Browsers get an HTML page
// (page), everything else application/problem+json, as the rest of the
// site answers: see WantsHTML. Requests a route takes go to mux as they are
// (mux records its pattern on them, for the metrics around it).
//
// page renders the HTML answer with status (and, for 405, the methods
// allowed); nil answers problem+json always (a process without pages).
func Unmatched(mux *http.ServeMux, page func(w http.ResponseWriter, r *http.Request, status int, allow []string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// ServeMux found nothing: 404, or 405 if another method matches.
		allow := allowed(mux, r)
		status := http.StatusNotFound
		if len(allow) > 0 {
			status = http.StatusMethodNotAllowed
			w.Header().Set("Allow", strings.Join(allow, ", "))
		}
		if page != nil && WantsHTML(r) {
			page(w, r, status, allow)
			return
		}
		err := &Error{Status: status, Title: http.StatusText(status), Detail: "no resource at this address: GET /api/v1/feeds lists the feeds, README's HTTP API section every route"}
		if status == http.StatusMethodNotAllowed {
			err.Detail = r.Method + " is not allowed here; allowed: " + strings.Join(allow, ", ")
		}
		WriteError(w, r, nil, err)
	})
}

// probeMethods are the methods Unmatched tries to build Allow.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// allowed lists the methods some route takes at r's path.
func allowed(mux *http.ServeMux, r *http.Request) []string {
	var out []string
	for _, m := range probeMethods {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" {
			out = append(out, m)
		}
	}
	return out
}

// WantsHTML reports whether a request is a browser's, which is answered
// with a page: not under /api/, and its Accept header prefers text/html
// (named, or text/*) to JSON (application/json, application/problem+json,
// application/*, */*). Ties go to problem+json: curl's */* gets JSON, a
// browser's text/html,…,*/*;q=0.8 gets the page.
func WantsHTML(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return false
	}
	html, json := -1.0, -1.0
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
				q = f
			}
		}
		switch mt {
		case "text/html", "application/xhtml+xml", "text/*":
			html = max(html, q)
		case "application/json", "application/problem+json", "application/*", "*/*":
			json = max(json, q)
		}
	}
	return html > 0 && html > json
}
