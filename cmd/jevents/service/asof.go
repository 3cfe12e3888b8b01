package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/httpcache"
	"github.com/justiceevents/jevents/projections/asof"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/directory"
	"github.com/justiceevents/jevents/projections/engine"
	"github.com/justiceevents/jevents/projections/feeds"
)

// Time travel's part of the wiring (?as_of= on feeds and the read API).
//
// Where it is computed: feed servers may not read the event log, so the
// projectors (which do) fold the log's prefix up to the instant into the
// models feed servers hold (projections/asof: one replay at a time, a
// budget of events and time, checkpoints and a cursor so that sweeps
// through time are cheap) and send them over NATS. The feed server turns
// a snapshot into a feeds.Server over it, with its own configuration, and
// keeps what it made within --as-of-cache-bytes: the instant's prefix
// (for instants older than asof.Settle), the decoded models by the
// prefix's last sequence, and their feed servers by sequence and day (the
// window moves at midnight). So a request for an instant seen before, or
// for any instant whose prefix and day were seen before, costs what a
// cached feed costs; a new one costs a NATS round trip (cached on the
// projector) or a replay.

// asOfModelsOf are the read models feed servers hold, as the replayer
// folds them: the registry's, those the feeds role holds.
func asOfModels() []engine.Model {
	var out []engine.Model
	for _, rm := range readModels {
		if rm.heldIn(Config{Roles: []Role{RoleFeeds}}) {
			out = append(out, rm.Model)
		}
	}
	return out
}

// startAsOfReplayer answers as-of snapshot requests (projector role).
func (s *Service) startAsOfReplayer(ctx context.Context) {
	r := asof.NewReplayer(s.js, asof.Config{Models: asOfModels(), MaxEvents: s.cfg.AsOfMaxEvents}, s.log, asof.NewMetrics(s.registry))
	s.goWorker(ctx, "as-of replayer", func(ctx context.Context) error { return r.Serve(ctx, s.nc) })
}

// asOfWait bounds how long a request waits for its snapshot: the
// replayer's own budget (30 s) and the way there and back.
const asOfWait = 40 * time.Second

// asOfTurns is how many snapshot requests one feed server has under way
// at once; more wait up to asOfQueueWait, then are answered 503.
const (
	asOfTurns     = 2
	asOfQueueWait = 5 * time.Second
)

// asOfServers answers ?as_of= for a feed server (feeds.AsOf).
type asOfServers struct {
	client *asof.Client
	cfg    feeds.Config
	log    *slog.Logger
	turns  chan struct{}

	ends    *httpcache.LRU[asof.Ref]      // a settled instant's prefix
	models  *httpcache.LRU[*asOfModel]    // by prefix
	servers *httpcache.LRU[*feeds.Server] // by prefix and day

	mu       sync.Mutex
	inflight map[string]*asOfCall // by instant
	held     map[string]asof.Ref  // the prefixes models holds
}

// asOfModel is the calendar and directory as of one prefix of the log.
type asOfModel struct {
	ref  asof.Ref
	cal  *engine.Static[calendar.Conference]
	dir  *directory.Index
	size int64
}

type asOfCall struct {
	done chan struct{}
	ref  asof.Ref
	err  error
}

// DefaultAsOfCacheBytes is Config.AsOfCacheBytes' default (Defaults).
const DefaultAsOfCacheBytes = 128 << 20

// newAsOfServers returns the as-of answers of a feed server configured
// with cfg, keeping at most budget bytes.
func newAsOfServers(client *asof.Client, cfg feeds.Config, budget int64, log *slog.Logger) *asOfServers {
	if budget <= 0 {
		budget = DefaultAsOfCacheBytes
	}
	// Each as-of feed server keeps a few prepared feeds; most of the
	// budget is the models.
	cfg.CacheBytes = max(budget/16, 1<<20)
	a := &asOfServers{client: client, cfg: cfg, log: log, turns: make(chan struct{}, asOfTurns),
		ends:     httpcache.NewLRU[asof.Ref](1<<20, nil),
		servers:  httpcache.NewLRU[*feeds.Server](4*cfg.CacheBytes, nil),
		inflight: map[string]*asOfCall{}, held: map[string]asof.Ref{}}
	a.models = httpcache.NewLRU[*asOfModel](budget-4*cfg.CacheBytes, func(key string, _ *asOfModel) {
		a.mu.Lock() // the LRU's lock is held: a.mu never is while calling it
		delete(a.held, key)
		a.mu.Unlock()
	})
	return a
}

// keep holds a model made from a snapshot.
func (a *asOfServers) keep(m *asOfModel) {
	if a.models.Put(m.ref.Key(), m, m.size) {
		a.mu.Lock()
		a.held[m.ref.Key()] = m.ref
		a.mu.Unlock()
	}
}

// At implements feeds.AsOf.
func (a *asOfServers) At(ctx context.Context, t time.Time) (*feeds.Server, error) {
	t = t.UTC()
	key := t.Format(time.RFC3339Nano)
	settled := time.Since(t) >= asof.Settle
	if settled {
		if ref, ok := a.ends.Get(key); ok {
			if srv, ok := a.server(ref, t); ok {
				return srv, nil
			}
		}
	}
	ref, err := a.resolve(ctx, key, t, settled)
	if err != nil {
		return nil, err
	}
	srv, ok := a.server(ref, t)
	if !ok { // pushed out by others meanwhile: once more
		if ref, err = a.fetch(ctx, key, t, settled); err != nil {
			return nil, err
		}
		if srv, ok = a.server(ref, t); !ok {
			return nil, asOfProblem(fmt.Errorf("%w: the as-of cache is too small for this model", asof.ErrBusy))
		}
	}
	return srv, nil
}

// server returns the feed server of a prefix for t's day, made from the
// models held.
func (a *asOfServers) server(ref asof.Ref, t time.Time) (*feeds.Server, bool) {
	day := t.UTC().Format(time.DateOnly)
	skey := ref.Key() + "|" + day
	if srv, ok := a.servers.Get(skey); ok {
		return srv, true
	}
	m, ok := a.models.Get(ref.Key())
	if !ok {
		return nil, false
	}
	srv := feeds.New(a.cfg, m.cal, a.log, nil)
	srv.SetSponsorNames(m.dir)
	a.servers.Put(skey, srv, a.cfg.CacheBytes)
	return srv, true
}

// resolve finds the prefix of t, asking the projectors once for every
// concurrent request of the same instant.
func (a *asOfServers) resolve(ctx context.Context, key string, t time.Time, settled bool) (asof.Ref, error) {
	a.mu.Lock()
	if c, ok := a.inflight[key]; ok {
		a.mu.Unlock()
		select {
		case <-c.done:
			return c.ref, c.err
		case <-ctx.Done():
			return asof.Ref{}, ctx.Err()
		}
	}
	c := &asOfCall{done: make(chan struct{})}
	a.inflight[key] = c
	a.mu.Unlock()
	c.ref, c.err = a.fetch(ctx, key, t, settled)
	a.mu.Lock()
	delete(a.inflight, key)
	a.mu.Unlock()
	close(c.done)
	return c.ref, c.err
}

// fetch asks the projectors for t's snapshot (saying which it holds) and
// keeps what it gets.
func (a *asOfServers) fetch(ctx context.Context, key string, t time.Time, settled bool) (asof.Ref, error) {
	wait := time.NewTimer(asOfQueueWait)
	defer wait.Stop()
	select {
	case a.turns <- struct{}{}:
		defer func() { <-a.turns }()
	case <-wait.C:
		return asof.Ref{}, asOfProblem(fmt.Errorf("%w: too many as_of requests under way here", asof.ErrBusy))
	case <-ctx.Done():
		return asof.Ref{}, ctx.Err()
	}
	ctx, cancel := context.WithTimeout(ctx, asOfWait)
	defer cancel()
	a.mu.Lock()
	have := make([]asof.Ref, 0, len(a.held))
	for _, r := range a.held {
		have = append(have, r)
	}
	a.mu.Unlock()
	ref, snap, err := a.client.Snapshot(ctx, t, have)
	if err != nil {
		return asof.Ref{}, asOfProblem(err)
	}
	if snap != nil {
		m, err := newAsOfModel(ref, snap)
		if err != nil {
			return asof.Ref{}, asOfProblem(err)
		}
		a.keep(m)
	} else if _, ok := a.models.Get(ref.Key()); !ok {
		// Said to be held, and dropped since: ask for it whole.
		if ref, snap, err = a.client.Snapshot(ctx, t, nil); err != nil {
			return asof.Ref{}, asOfProblem(err)
		}
		m, err := newAsOfModel(ref, snap)
		if err != nil {
			return asof.Ref{}, asOfProblem(err)
		}
		a.keep(m)
	}
	if settled {
		a.ends.Put(key, ref, 64)
	}
	return ref, nil
}

// newAsOfModel decodes a snapshot's calendar and directory.
func newAsOfModel(ref asof.Ref, snap *asof.Snapshot) (*asOfModel, error) {
	if snap == nil {
		return nil, errors.New("as-of: no snapshot")
	}
	var size int64
	for _, values := range snap.Models {
		for k, v := range values {
			size += int64(len(k) + len(v))
		}
	}
	cal, err := calendar.Model.Decode(snap.Models[calendar.Name])
	if err != nil {
		return nil, err
	}
	dir, err := directory.Model.Decode(snap.Models[directory.Name])
	if err != nil {
		return nil, err
	}
	// Decoded records take about three times their JSON (measured with
	// the feed server's replica, docs/performance.md), and the feed
	// server's prepared conferences as much again.
	return &asOfModel{ref: ref, cal: engine.NewStatic(cal), dir: directory.NewIndex(engine.NewStatic(dir)), size: 6 * size}, nil
}

// asOfProblem maps the as-of errors to the answer a client gets.
func asOfProblem(err error) error {
	var p *httpapi.Error
	switch {
	case errors.As(err, &p):
		return p
	case errors.Is(err, asof.ErrFuture):
		return &httpapi.Error{Status: http.StatusBadRequest, Title: "Invalid as_of", Detail: err.Error()}
	case errors.Is(err, asof.ErrBusy):
		return &httpapi.Error{Status: http.StatusServiceUnavailable, Title: "Time travel is busy",
			Detail: "too many as_of requests are being answered; try again in a moment", RetryAfter: 5}
	case errors.Is(err, asof.ErrOverBudget):
		return &httpapi.Error{Status: http.StatusServiceUnavailable, Title: "Too far back for one request",
			Detail: err.Error() + "; trying again continues where the replay stopped", RetryAfter: 10}
	case errors.Is(err, asof.ErrUnavailable):
		return &httpapi.Error{Status: http.StatusServiceUnavailable, Title: "Time travel unavailable",
			Detail: "no projector answers as_of requests just now", RetryAfter: 5}
	}
	return err
}
