package service

import (
	"context"
	"slices"

	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/changes"
	"github.com/justiceevents/jevents/projections/directory"
	"github.com/justiceevents/jevents/projections/engine"
	reportsmodel "github.com/justiceevents/jevents/projections/reports"
	"github.com/justiceevents/jevents/projections/review"
)

// readModels is the one list of the read models. Setup creates their
// buckets; the projector role runs their projectors and /readyz waits for
// each to catch up (or stand by); the roles of heldBy hold a replica in
// memory and /readyz waits for it to load; Presence follows every
// projector's lease (/readyz's degraded, jevents_readmodel_projector_present);
// the storage collector counts their buckets; `jevents rebuild` replays
// them, in this order. Adding a projection is its package (which declares
// its engine.Definition) and one line here; what serves it is wired where
// its server is (directory.go, queue.go, web.go).
var readModels = registry{
	{calendar.Model, []Role{RoleFeeds, RoleEditors, RoleIntake}},  // intake: /submit's duplicate check
	{directory.Model, []Role{RoleFeeds, RoleEditors, RoleIntake}}, // sponsor links, names, the read API and pages
	{review.Model, []Role{RoleEditors}},                           // the moderation queue
	{changes.Model, nil},                                          // the public change stream: feed servers read its stream (streamRead), no replica
	{reportsmodel.Model, []Role{RoleEditors}},                     // open reports from the public, in the queue
}

// readModel is one entry of the registry.
type readModel struct {
	engine.Model
	// heldBy are the roles whose processes hold the model's replica: the
	// public records of the calendar never reach a projector-only process,
	// the moderation queue never reaches a public server.
	heldBy []Role
}

type registry []readModel

// streamRead names the read models no process holds a replica of: their
// servers read their bucket's stream itself (the change feed reads the
// change records in order, by cursor).
var streamRead = []string{changes.Name}

// models is the list as the engine iterates it.
func (r registry) models() engine.Registry {
	out := make(engine.Registry, len(r))
	for i, m := range r {
		out[i] = m.Model
	}
	return out
}

// Names are the read models' names, in order.
func (r registry) Names() []string { return r.models().Names() }

// ReadModels names every read model, in the list's order: what a
// projector process projects and `jevents rebuild` replays.
func ReadModels() []string { return readModels.Names() }

// ReplicasHeldBy names the read models whose replica a process playing
// roles holds (and exports jevents_readmodel_replica_sequence for), in
// the list's order.
func ReplicasHeldBy(roles ...Role) []string {
	c := Config{Roles: roles}
	var out []string
	for _, rm := range readModels {
		if rm.heldIn(c) {
			out = append(out, rm.Name())
		}
	}
	return out
}

// heldIn reports whether a process playing roles holds a replica of m.
func (m readModel) heldIn(c Config) bool {
	return slices.ContainsFunc(m.heldBy, c.Has)
}

// startProjectors runs the projector of every read model (projector
// role): /readyz waits for each.
func (s *Service) startProjectors(ctx context.Context, cfg engine.BucketConfig, m *engine.Metrics) {
	for _, rm := range readModels {
		p := rm.NewProjector(s.js, cfg, s.log, m)
		s.ready = append(s.ready, s.projectorReadiness(ctx, p.CaughtUp(), rm.Name(), p.Instance()))
		s.goWorker(ctx, rm.Name()+" projector", p.Run)
	}
}

// newReplicas makes the replica of every read model a role of this
// process holds; /readyz waits for each to load. They are run by
// runReplicas, once their readers have subscribed to their changes.
func (s *Service) newReplicas(m *engine.Metrics) {
	s.replicas = map[string]engine.Follower{}
	for _, rm := range readModels {
		if !rm.heldIn(s.cfg) {
			continue
		}
		r := rm.NewReplica(s.js, s.log, m)
		s.replicas[rm.Name()] = r
		s.ready = append(s.ready, readiness{rm.Name() + " read model loaded", r.Ready()})
	}
}

// runReplicas starts following every replica this process holds.
func (s *Service) runReplicas(ctx context.Context) {
	for _, rm := range readModels {
		if r := s.replicas[rm.Name()]; r != nil {
			s.goWorker(ctx, rm.Name()+" replica", r.Run)
		}
	}
}

// replicaOf is this process's replica of d, nil when no role it plays
// holds one.
func replicaOf[V any](s *Service, d *engine.Definition[V]) *engine.Replica[V] {
	return d.Replica(s.replicas[d.Name()])
}
