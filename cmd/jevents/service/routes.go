package service

import (
	"slices"

	"github.com/justiceevents/jevents/httpapi"
)

// The public listener's routes, one table per process: Start adds the
// routes of each role it plays, each package declaring its own beside their
// handlers (intake.Routes, moderation.Routes, feeds.Routes, web's pages…),
// and registers the table on the mux in one place. The operators' listener
// (/metrics, /healthz, /readyz) is operators.go's.

// addRoutes adds routes to the process's table.
func (s *Service) addRoutes(routes ...[]httpapi.Route) {
	for _, rs := range routes {
		s.routes = append(s.routes, rs...)
	}
}

// Routes are every route the public listener answers, in the order the
// roles added them: what a test enumerates to check, for instance, that
// no editors-only route answers without an editor. Valid once Start has
// returned.
func (s *Service) Routes() []httpapi.Route { return slices.Clone(s.routes) }
