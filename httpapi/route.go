package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/justiceevents/jevents/internal/auth"
)

// Route is one route of the service, JSON API or page: its ServeMux
// pattern ("GET /api/v1/conferences/{id}"), its handler, and whether only
// editors may use it. Each package declares its routes beside their
// handlers (a Routes method); the composition root collects those of the
// roles a process plays into one table and registers it in one place
// (Handle), so that every route the service answers can be listed (and
// tested).
type Route struct {
	Pattern string
	Handler http.Handler
	// Editors is true when the route is for editors only: Handle puts it
	// behind the one gate (auth.Gate.Require), so a request without an
	// editor's identity is refused and never reaches Handler.
	Editors bool
	// Refused answers what the gate refuses on an editors' route: the
	// pages give the sign-in page; nil is the API's answer (Refuse: 401
	// problem+json with WWW-Authenticate, or 429).
	Refused auth.Refuse
}

// Handle registers every route on mux, each route declared for editors
// behind gate. A route for editors with no gate to put it behind is a
// wiring mistake and an error (the process does not start); ServeMux
// panics on a pattern given twice or two patterns that conflict.
func Handle(mux *http.ServeMux, routes []Route, gate *auth.Gate, log *slog.Logger) error {
	for _, r := range routes {
		h := r.Handler
		if r.Editors {
			if gate == nil {
				return fmt.Errorf("httpapi: %s is for editors, and this process has no editors' gate", r.Pattern)
			}
			refuse := r.Refused
			if refuse == nil {
				refuse = Refuse(log)
			}
			h = gate.Require(h, refuse)
		}
		mux.Handle(r.Pattern, h)
	}
	return nil
}
