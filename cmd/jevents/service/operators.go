package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/admission"
	"github.com/justiceevents/jevents/internal/connlimit"
	"github.com/justiceevents/jevents/producers/intake"
)

// The operators' listener (--metrics-listen, default 127.0.0.1:9180 from
// the command line) serves /metrics, /healthz and /readyz apart from the
// public listener: its connections are not counted against the public
// limits, so Prometheus and the orchestrator's probes get their answers
// while the public listener is saturated. The public listener keeps
// /healthz and /readyz (load balancers probe it) and answers 404 for
// /metrics, which the public has no business reading.
//
// The operators' listener also serves Go's profiles under /debug/pprof/
// (net/http/pprof's handlers, mounted here explicitly: the package's
// init registers them on http.DefaultServeMux, which no listener of ours
// serves). A CPU profile of a loaded process is how the feeds' 304 path
// and the projector were tuned (docs/performance.md); the public listener
// answers 404 for /debug/pprof/ as for anything it does not route. The
// command line (pprof.Cmdline) is not served: flags may carry secrets.

// maxOperatorConns bounds the operators' listener's own connections.
const maxOperatorConns = 64

// startOperators serves the operators' endpoints.
func (s *Service) startOperators() error {
	if s.cfg.MetricsListen == "-" {
		return nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /readyz", s.handleReady)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry}))
	mux.HandleFunc("GET /debug/pprof/", pprof.Index) // also the named profiles: heap, goroutine, allocs, block, mutex
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", s.cfg.MetricsListen)
	if err != nil {
		return fmt.Errorf("service: listen %s (--metrics-listen): %w", s.cfg.MetricsListen, err)
	}
	lim := connlimit.New(ln, connlimit.Config{Max: maxOperatorConns}, nil)
	s.opsListener = ln
	s.opsSrv = &http.Server{
		Handler:           securityHeaders(mux),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    8 << 10,
		ConnState:         lim.ConnState,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := s.opsSrv.Serve(lim); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("operators' http server stopped", slog.Any("err", err))
		}
	}()
	s.log.Info("serving /metrics, /healthz, /readyz and /debug/pprof/ to operators", slog.String("metrics", "http://"+ln.Addr().String()+"/metrics"))
	return nil
}

// MetricsAddr is the address of the operators' listener, once started
// ("" when there is none).
func (s *Service) MetricsAddr() string {
	if s.opsListener == nil {
		return ""
	}
	return s.opsListener.Addr().String()
}

// closeOperators stops the operators' listener, last: probes see the
// process until it is gone.
func (s *Service) closeOperators(ctx context.Context) error {
	if s.opsSrv == nil {
		return nil
	}
	return s.opsSrv.Shutdown(ctx)
}

// gateIntake makes every submission pass the intake gate: per address
// (the process's one client resolver), per contact, the shared quota and
// the editors' reserve (internal/admission).
func (s *Service) gateIntake(ctx context.Context, in *intake.Intake) *admission.Gate {
	g := admission.New(s.js, domain.StreamName, s.cfg.Intake, s.log, admission.NewMetrics(s.registry))
	s.ready = append(s.ready, readiness{"intake quota bucket " + admission.Bucket + " (run `jevents setup`)", g.Ready()})
	s.goWorker(ctx, "intake gate", g.Run)
	in.SetGate(g, s.clients)
	return g
}
