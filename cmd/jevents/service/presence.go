package service

import (
	"context"
	"time"

	"github.com/justiceevents/jevents/projections/engine"
)

// newPresence follows the projectors' leases in every process that reads or
// writes read models: feed servers and editors report in /readyz and
// jevents_readmodel_projector_present whether the model they serve is still
// moving, and a standby projector knows it is standing by.
func (s *Service) newPresence() {
	if !s.cfg.Has(RoleFeeds) && !s.cfg.Has(RoleEditors) && !s.cfg.Has(RoleProjector) {
		return
	}
	s.presence = engine.NewPresence(s.js, readModels.Names(), s.log, s.registry)
}

func (s *Service) startPresence(ctx context.Context) {
	if s.presence != nil {
		s.goWorker(ctx, "projector presence", s.presence.Run)
	}
}

// projectorReadiness is what /readyz waits for about a projector: that it
// caught up with the log, or, on a cluster, that another instance holds the
// lease (a standby is doing its job). On the embedded server no other
// projector can run, so a lease held by another instance is a dead former
// process's, and the projector is ready only once it took over and caught up.
func (s *Service) projectorReadiness(ctx context.Context, caughtUp <-chan struct{}, name, self string) readiness {
	if s.cfg.Embedded() {
		return readiness{name + " projector caught up", caughtUp}
	}
	return readiness{name + " projector caught up or standing by", s.caughtUpOrStandby(ctx, caughtUp, name, self)}
}

// caughtUpOrStandby is closed once the projector caught up with the log, or
// once another instance is seen holding the lease.
func (s *Service) caughtUpOrStandby(ctx context.Context, caughtUp <-chan struct{}, name, self string) <-chan struct{} {
	out := make(chan struct{})
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-caughtUp:
				close(out)
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if h, ok := s.presence.State()[name]; ok && h.Present && h.Instance != self {
					close(out)
					return
				}
			}
		}
	}()
	return out
}

// projectorState is what /readyz reports about the projectors, and the
// read models that are not moving (or whose state cannot be read).
func (s *Service) projectorState() (map[string]engine.Holder, []string) {
	if s.presence == nil {
		return nil, nil
	}
	st := s.presence.State()
	degraded := []string{}
	for _, name := range readModels.Names() {
		h, ok := st[name]
		switch {
		case !ok || time.Since(h.Checked) > 5*engine.PresenceInterval:
			degraded = append(degraded, name+": cannot tell whether a projector runs (NATS unreachable?); serving the last model")
		case !h.Present:
			degraded = append(degraded, name+": no projector holds the lease; serving the last model, events since are not in it")
		}
	}
	return st, degraded
}
