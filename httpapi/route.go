package httpapi

import "net/http"

// Route is one route of the service, JSON API or page: its ServeMux
// pattern ("GET /api/v1/conferences/{id}"), its handler, and whether only
// editors may use it. Each package declares its routes beside their
// handlers (a Routes method); the composition root collects those of the
// roles a process plays into one table and registers it in one place, so
// that every route the service answers can be listed (and tested).
type Route struct {
	Pattern string
	Handler http.Handler
	// Editors is true when the route is for editors only: a request
	// without an editor's identity is refused (401 on the API, the
	// sign-in page on pages) and changes nothing.
	Editors bool
}

// Handle registers every route on mux; ServeMux panics on a pattern given
// twice or two patterns that conflict.
func Handle(mux *http.ServeMux, routes []Route) {
	for _, r := range routes {
		mux.Handle(r.Pattern, r.Handler)
	}
}
