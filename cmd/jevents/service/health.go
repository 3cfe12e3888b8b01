package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
)

// What /readyz and jevents_health_problem report besides the workers'
// own readiness (read models loaded, projectors caught up):
//
//	problem             /readyz    when
//	nats_disconnected   503        the NATS connection is down
//	stream_missing      503        the event stream does not exist
//	stream_unreachable  503        the event stream does not answer (twice in a row)
//	log_full            degraded   the log is within logFullMargin of its byte budget,
//	                               or an append was refused as full in the last fullMemory
//	storage_full        degraded   the data volume is below its reserve (embedded), or
//	                               the servers refused an append for lack of storage
//
// A process that cannot reach the log cannot take or change anything, so it
// is not ready: a load balancer sends the requests elsewhere, and each
// request it still gets answers 503 with Retry-After. A full log or store
// leaves it able to serve every read (feeds, pages, the API) and to answer
// writes 507 with what to do, so it stays in rotation and says degraded;
// the alerts in deploy/prometheus fire on both. Feed servers never read the
// log (they may not), so only the processes that append or project check it.

// HealthInterval is how often the health of the log and the storage is
// checked.
const HealthInterval = time.Second

// Problems /readyz and the metrics name.
const (
	problemNATS        = "nats_disconnected"
	problemMissing     = "stream_missing"
	problemUnreachable = "stream_unreachable"
	problemLogFull     = "log_full"
	problemStorageFull = "storage_full"
)

// logFullMargin: a log with less room than this left is full for practical
// purposes (a submission is a few KiB).
const logFullMargin = 64 << 10

// fullMemory is how long an append refused as full keeps the problem up
// after the last such refusal.
const fullMemory = 30 * time.Second

// health holds the current problems. Its methods are safe for concurrent use.
type health struct {
	mu       sync.RWMutex
	problems map[string]problem
	gauge    *prometheus.GaugeVec

	// The log's byte budget as last seen, and since when (watchHealth's
	// goroutine only).
	budget      int64
	budgetSince time.Time
}

type problem struct {
	detail string
	fatal  bool // not ready; otherwise degraded
}

func newHealth(reg prometheus.Registerer, codes []string) *health {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "jevents", Name: "health_problem",
		Help: "1 while the problem holds: nats_disconnected, stream_missing, stream_unreachable (/readyz answers 503), log_full, storage_full (/readyz says degraded)."},
		[]string{"problem"})
	reg.MustRegister(g)
	for _, c := range codes {
		g.WithLabelValues(c).Set(0)
	}
	return &health{problems: map[string]problem{}, gauge: g}
}

// set raises (on) or clears a problem.
func (h *health) set(code, detail string, on bool) {
	fatal := code == problemNATS || code == problemMissing || code == problemUnreachable
	h.mu.Lock()
	defer h.mu.Unlock()
	if on {
		h.problems[code] = problem{detail: detail, fatal: fatal}
		h.gauge.WithLabelValues(code).Set(1)
	} else {
		delete(h.problems, code)
		h.gauge.WithLabelValues(code).Set(0)
	}
}

// list returns the details of the fatal or the other problems, sorted.
func (h *health) list(fatal bool) []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []string
	for _, p := range h.problems {
		if p.fatal == fatal {
			out = append(out, p.detail)
		}
	}
	slices.Sort(out)
	return out
}

// readsLog reports whether the process appends to or projects the log, and
// so depends on it (and may read its state).
func (s *Service) readsLog() bool {
	return s.cfg.Has(RoleIntake) || s.cfg.Has(RoleEditors) || s.cfg.Has(RoleProjector)
}

// newHealthChecks prepares the problems this process checks.
func (s *Service) newHealthChecks() {
	codes := []string{problemNATS}
	if s.readsLog() {
		codes = append(codes, problemMissing, problemUnreachable, problemLogFull, problemStorageFull)
	}
	s.health = newHealth(s.registry, codes)
	if s.cfg.Has(RoleIntake) || s.cfg.Has(RoleEditors) {
		s.appendMetrics() // before the health worker reads it
	}
	if s.cfg.Embedded() {
		s.storage = &storageGuard{dir: s.cfg.DataDir, log: s.log}
	}
}

// watchHealth checks the connection and the log every HealthInterval
// until ctx ends.
func (s *Service) watchHealth(ctx context.Context) error {
	t := time.NewTicker(HealthInterval)
	defer t.Stop()
	failures := 0
	var unreachableSince time.Time
	var restarted time.Time
	for {
		if s.nc.IsConnected() {
			s.health.set(problemNATS, "", false)
		} else {
			s.health.set(problemNATS, "the NATS connection is down: reconnecting", true)
		}
		if s.readsLog() {
			err := s.checkStream(ctx)
			switch {
			case err == nil:
				failures, unreachableSince = 0, time.Time{}
				s.health.set(problemMissing, "", false)
				s.health.set(problemUnreachable, "", false)
			case errors.Is(err, eventlog.ErrStreamMissing):
				failures, unreachableSince = 0, time.Time{}
				s.health.set(problemMissing, fmt.Sprintf("the event stream %s does not exist: nothing can be taken or changed; `jevents setup` creates it (the all-in-one service at start)", domain.StreamName), true)
				s.health.set(problemUnreachable, "", false)
			case ctx.Err() != nil:
			default:
				failures++
				if unreachableSince.IsZero() {
					unreachableSince = time.Now()
				}
				if failures >= 2 {
					s.health.set(problemMissing, "", false)
					s.health.set(problemUnreachable, "the event stream does not answer: "+err.Error(), true)
				}
				// The embedded server's JetStream does not answer while
				// its process is up: a stream stopped by a write error
				// can wedge it. Starting it again is the cure.
				if s.cfg.Embedded() && s.nc.IsConnected() && time.Since(unreachableSince) > 15*time.Second && time.Since(restarted) > time.Minute {
					restarted = time.Now()
					s.log.Error("the embedded JetStream has not answered for 15 s: restarting the embedded server", slog.Any("err", err))
					if err := s.restartEmbedded(); err != nil {
						s.log.Error("could not restart the embedded NATS server", slog.Any("err", err))
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// checkStream reads the event stream's state and updates the log_full
// problem; it returns eventlog.ErrStreamMissing, or another error when the
// stream cannot be read.
func (s *Service) checkStream(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := s.js.Stream(ctx, domain.StreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return eventlog.ErrStreamMissing
	}
	if err != nil {
		return err
	}
	info := st.CachedInfo()
	left := info.Config.MaxBytes - int64(info.State.Bytes)
	// Refusals count for fullMemory, and only since the budget last
	// changed: a raised budget clears the problem at once.
	if info.Config.MaxBytes != s.health.budget {
		s.health.budget, s.health.budgetSince = info.Config.MaxBytes, time.Now()
	}
	refused := func(full error) bool {
		since := time.Now().Add(-fullMemory)
		if full == domain.ErrLogFull && s.health.budgetSince.After(since) {
			since = s.health.budgetSince
		}
		return s.appendM != nil && s.appendM.RefusedSince(full, since)
	}
	recent := refused(domain.ErrLogFull)
	switch {
	case info.Config.MaxBytes > 0 && left < logFullMargin, recent:
		s.health.set(problemLogFull, fmt.Sprintf("the event log holds %s of its %s budget: submissions answer 507 until the budget is raised (--log-max-bytes, `jevents setup --log-max-bytes`)",
			humanBytes(info.State.Bytes), humanBytes(uint64(max(info.Config.MaxBytes, 0)))), true)
	default:
		s.health.set(problemLogFull, "", false)
	}
	// Servers that refused appends for lack of storage (a cluster's
	// storage limits), where the volume is not ours to watch.
	if s.storage == nil {
		if refused(domain.ErrStorageFull) {
			s.health.set(problemStorageFull, "the NATS servers refused appends for lack of storage: submissions answer 507 until space is freed", true)
		} else {
			s.health.set(problemStorageFull, "", false)
		}
	}
	return nil
}

// deadline bounds the handling of every request that may change something
// (any method but GET, HEAD and OPTIONS): its work on the event log ends
// after WriteDeadline, and it answers then, 503 with Retry-After when the
// log could not be reached. Bodies are small (64 KiB of JSON, 1 MiB of
// iCalendar), so the time to read them counts too. Reads of the log
// (history, moderation) are bounded by eventlog.Timeout each.
func deadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			ctx, cancel := context.WithTimeout(r.Context(), WriteDeadline)
			defer cancel()
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

// WriteDeadline is how long a request that may change something works on
// the event log at most: eventlog.Timeout. Its answer leaves at the latest
// then (README: a 503 with Retry-After, retry with the same key).
const WriteDeadline = eventlog.Timeout
