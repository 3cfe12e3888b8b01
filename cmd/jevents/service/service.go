package service

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/eventlog/schedule"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/auth"
	"github.com/justiceevents/jevents/internal/clientaddr"
	"github.com/justiceevents/jevents/internal/connlimit"
	"github.com/justiceevents/jevents/internal/dirlock"
	"github.com/justiceevents/jevents/internal/embednats"
	"github.com/justiceevents/jevents/internal/serversecret"
	"github.com/justiceevents/jevents/producers/intake"
	"github.com/justiceevents/jevents/producers/moderation"
	"github.com/justiceevents/jevents/producers/organisers"
	"github.com/justiceevents/jevents/producers/reports"
	"github.com/justiceevents/jevents/projections/asof"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/changes"
	"github.com/justiceevents/jevents/projections/engine"
	"github.com/justiceevents/jevents/projections/feeds"
	reportsmodel "github.com/justiceevents/jevents/projections/reports"
	"github.com/justiceevents/jevents/reactors/notify"
	"github.com/justiceevents/jevents/reactors/webhooks"
	"github.com/justiceevents/jevents/web"
)

// Service is one running Justice Events process.
type Service struct {
	cfg Config
	log *slog.Logger

	ns       *server.Server // nil unless embedded; embedded.go may restart it
	nsCfg    embednats.Config
	nsMu     sync.RWMutex  // guards ns against a restart
	lock     *dirlock.Lock // the data directory, held while embedded (startup.go)
	nc       *nats.Conn
	js       jetstream.JetStream
	registry *prometheus.Registry
	httpSrv  *http.Server
	listener net.Listener
	clients  *clientaddr.Resolver // the one answer to "which client" (limits.go)
	conns    *connlimit.Listener  // the public listener's limits (limits.go)

	opsSrv      *http.Server // the operators' listener (operators.go)
	opsListener net.Listener

	ready    []readiness
	routes   []httpapi.Route            // the public listener's table: routes.go
	mux      *http.ServeMux             // the table registered
	pages    *web.Server                // the HTML pages, when a role has them
	replicas map[string]engine.Follower // by read model: readmodels.go
	presence *engine.Presence           // nil unless the process reads or writes read models
	appendM  *eventlog.Metrics          // shared by the producers of intake and editors
	feeds    *feeds.Server              // nil unless the feeds role is played
	health   *health                    // health.go
	storage  *storageGuard              // nil unless embedded (storage.go)
	notifier *notify.Notifier           // nil unless the notifier role (notifier.go)
	keysOnce sync.Once                  // the server's secrets, loaded once (gate.go)
	keys     *serversecret.Keys
	keysErr  error
	// embeddedSince is when the embedded server started: leases renewed
	// before it are former processes' (engine.BucketConfig.StaleBefore).
	embeddedSince time.Time
	workers       sync.WaitGroup
	cancel        context.CancelFunc
}

// readiness is one condition /readyz waits for.
type readiness struct {
	name string
	done <-chan struct{}
}

// New validates cfg and prepares a service; Start runs it.
func New(cfg Config, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, log: log}, nil
}

// Run starts the service and blocks until ctx ends, then shuts it down.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	s, err := New(cfg, log)
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		s.Close()
		if ctx.Err() != nil { // asked to stop while starting: a clean stop
			log.Info("stopped during start-up", slog.Any("cause", context.Cause(ctx)), slog.Any("err", err))
			return nil
		}
		return err
	}
	<-ctx.Done()
	return s.Close()
}

// HTTPAddr is the address the HTTP server listens on, once started.
func (s *Service) HTTPAddr() string { return s.listener.Addr().String() }

// NATSURL is the client URL of the embedded server ("" when external).
// Only the data directory's credentials connect to it: use ConnectLocal.
func (s *Service) NATSURL() string {
	ns := s.server()
	if ns == nil {
		return ""
	}
	return ns.ClientURL()
}

// Start connects, creates what is missing and starts the workers and the
// HTTP server for the configured roles.
func (s *Service) Start(ctx context.Context) error {
	cfg := s.cfg
	if err := s.claim(); err != nil { // startup.go: the order of start-up
		return err
	}
	if err := s.connect(ctx); err != nil {
		return err
	}
	s.clients = clientaddr.New(cfg.TrustedProxies)
	s.registry = prometheus.NewRegistry()
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.registry.MustRegister(cfg.Collectors...)
	s.newHealthChecks() // health.go
	s.registerNATSMetrics()

	// The event stream exists before anything is accepted or projected
	// (setup.go: who creates it).
	if err := s.prepare(ctx); err != nil {
		return err
	}
	if err := s.seedDirectory(ctx); err != nil { // directory.go
		return err
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	rmMetrics := engine.NewMetrics(s.registry)
	bucketCfg := engine.BucketConfig{Replicas: cfg.Replicas, StaleBefore: s.embeddedSince}
	s.newPresence()
	if cfg.Has(RoleIntake) || cfg.Has(RoleEditors) || cfg.Has(RoleProjector) {
		s.appendMetrics() // the roles that append (the projector: webhook pauses), before the health check reads them
	}
	s.goWorker(wctx, "health", s.watchHealth)
	if s.storage != nil {
		s.goWorker(wctx, "storage", func(ctx context.Context) error { return s.watchStorage(ctx, s.storage, s.health) })
	}

	if cfg.Has(RoleProjector) {
		s.startProjectors(wctx, bucketCfg, rmMetrics) // readmodels.go: every read model's
		s.startAsOfReplayer(wctx)                     // asof.go: ?as_of= for the feed servers
	}
	if cfg.Has(RoleNotifier) {
		if err := s.startNotifier(wctx); err != nil { // notifier.go
			return err
		}
	}

	// The replicas of the read models the roles played hold (readmodels.go);
	// the calendar's holds public conferences only: a pending flood never
	// reaches a server's memory (queue.go).
	s.newReplicas(rmMetrics)
	replica := replicaOf(s, calendar.Model)
	rv := s.newReview() // editors only
	dir := s.newDirectory()
	// The one gate of every editors-only route, page and command (gate.go);
	// only the editors role has one: public-facing intake and feed
	// processes never can approve, edit or sign a session.
	var gate *auth.Gate
	if cfg.Has(RoleEditors) {
		var err error
		if gate, err = s.newGate(wctx); err != nil {
			return err
		}
	}
	var (
		in           *intake.Intake
		org          *organisers.Organisers // the organisers' private pages (intake)
		mod          *moderation.Moderation
		fs           *feeds.Server
		reps, edReps *reports.Reports // the public's (intake) and the editors'
	)
	if cfg.Has(RoleIntake) {
		log := s.eventLog()
		in = intake.New(log, s.log, intake.NewMetrics(s.registry), dir.linker())
		gate := s.gateIntake(wctx, in) // operators.go
		s.addRoutes(in.Routes())
		reps = reports.New(log, s.log, gate, s.clients, nil) // reports from the public pass the same gate
		s.addRoutes(reps.PublicRoutes())
		links, err := s.organiserLinks() // gate.go
		if err != nil {
			return err
		}
		org = organisers.New(log, links, gate, s.log) // the organisers' requests pass it too
	}
	if cfg.Has(RoleEditors) {
		log := s.eventLog()
		mod = moderation.New(log, pendingQueue{rv.queue}, s.log, dir.linker())
		mod.SetPlanner(schedule.NewPlanner(s.js))
		// Plans that come due are the editors' to carry out: only they
		// may append what a plan leads to (eventlog/schedule).
		reactor := schedule.NewReactor(s.js, mod.Fire, s.log, schedule.NewMetrics(s.registry))
		s.goWorker(wctx, "schedule reactor", reactor.Run)
		s.addRoutes(mod.Routes())
		s.addRoutes(notify.NewDeadLetters(s.js).Routes(s.log)) // the notifier's dead letters
		edReps = reports.New(log, s.log, nil, s.clients, openReports{replicaOf(s, reportsmodel.Model)})
		s.addRoutes(edReps.EditorRoutes())
		s.registerDirectoryEditors(log)
	}
	if cfg.Has(RoleFeeds) {
		pub, _ := url.Parse(cfg.PublicURL)
		fcfg := feeds.Config{PublicURL: pub, Window: cfg.FeedWindow, Refresh: cfg.FeedRefresh, CacheBytes: cfg.FeedCacheBytes}
		fs = feeds.New(fcfg, replica, s.log, feeds.NewMetrics(s.registry))
		fs.SetAsOf(newAsOfServers(asof.NewClient(s.nc), fcfg, cfg.AsOfCacheBytes, s.log)) // asof.go
		s.feeds = fs
		replica.OnChange(fs.Changed)
		replica.OnReset(fs.Reset)
		s.registerDirectoryAPI(fs, dir)
		// The change feed reads the public change stream, not a replica;
		// one watch of it wakes the waiting requests (wait=, SSE).
		cr := changes.NewReader(s.js, s.log)
		s.goWorker(wctx, "change feed watch", cr.Watch)
		s.addRoutes(cr.Routes())
	}
	// Webhook subscriptions (reactors/webhooks): editors register them;
	// the projector role delivers (one process at a time, by a lease).
	var wh *webhooks.Webhooks
	if cfg.Has(RoleEditors) || cfg.Has(RoleProjector) {
		var reg prometheus.Registerer // the deliverer's series are the projector's
		if cfg.Has(RoleProjector) {
			reg = s.registry
		}
		wh = webhooks.New(s.eventLog(), s.js, changes.NewReader(s.js, s.log), cfg.Webhooks, s.log, webhooks.NewMetrics(reg))
		if cfg.Has(RoleEditors) {
			s.addRoutes(wh.Routes())
		}
		if cfg.Has(RoleProjector) {
			holder := fmt.Sprintf("%s-%d-%d", cmp.Or(os.Getenv("HOSTNAME"), "jevents"), os.Getpid(), time.Now().UnixNano())
			s.goWorker(wctx, "webhooks", func(ctx context.Context) error { return wh.Run(ctx, holder) })
		}
	}
	// The HTML pages of each role (web.go); it registers the feeds' routes
	// too, which hand /conferences/{id} to a page.
	var (
		rep web.Reporter
		rm  web.ReportModerator
	)
	if reps != nil {
		rep = reps
	}
	if edReps != nil {
		rm = edReps
	}
	if err := s.registerPages(replica, dir, gate, in, mod, fs, rep, rm, org); err != nil {
		return err
	}
	if s.pages != nil && gate != nil && wh != nil { // the editors' pages of webhooks: the API's commands (webhookpages.go)
		s.addRoutes(s.pages.WebhookRoutes(webhookPages{wh}, gate))
	}
	s.runReplicas(wctx) // now that their readers follow their changes

	// /metrics is the operators' listener's only (operators.go).
	s.addRoutes([]httpapi.Route{
		{Pattern: "GET /healthz", Handler: http.HandlerFunc(s.handleHealth)},
		{Pattern: "GET /readyz", Handler: http.HandlerFunc(s.handleReady)},
	})
	s.startPresence(wctx)
	// The one place the public listener's routes are registered: the
	// table of the roles played (routes.go).
	// Every route declared for editors goes behind the gate here.
	mux := http.NewServeMux()
	if err := httpapi.Handle(mux, s.routes, gate, s.log); err != nil {
		return err
	}
	s.mux = mux
	// What no route takes: 404 or 405, a page for browsers, problem+json
	// for the rest (httpapi.Unmatched), in one place for every role.
	var page func(http.ResponseWriter, *http.Request, int, []string)
	if s.pages != nil {
		page = s.pages.Unmatched
	}
	h := s.httpMetrics(httpapi.Unmatched(mux, page)) // inside every wrapper that copies the request, to see its route
	h = deadline(h)                                  // health.go
	if gate != nil {
		h = gate.Identify(h, httpapi.Refuse(s.log)) // every request: an editor's identity, if any
	}
	h = securityHeaders(h)

	ln := s.listener // claimed first (startup.go)
	s.httpSrv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.limitConns(s.httpSrv) // limits.go: connection limits, idle timeouts
	if err := s.startOperators(); err != nil {
		return err
	}
	ln = s.listener
	go func() {
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", slog.Any("err", err))
		}
	}()
	s.log.Info("serving", slog.String("http", "http://"+ln.Addr().String()), slog.String("public_url", cfg.PublicURL),
		slog.Any("roles", cfg.Roles), slog.String("nats", cmp.Or(s.NATSURL(), cfg.NATS)))
	return nil
}

// connect starts the embedded server when configured and connects to NATS.
func (s *Service) connect(ctx context.Context) error {
	cfg := s.cfg
	opts := []nats.Option{
		nats.Name("jevents " + joinRoles(cfg.Roles)),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err == nil { // our own Close or Drain: nothing went wrong
				s.log.Debug("nats connection closed")
				return
			}
			s.log.Warn("nats disconnected", slog.Any("err", err))
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			s.log.Info("nats reconnected", slog.String("url", nc.ConnectedUrl()))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			s.log.Warn("nats error", slog.Any("err", err))
		}),
		// Why a connection attempt failed (a refused nkey or password, a
		// certificate not trusted), and why the client gave up: without
		// these a process with wrong credentials says only "connection
		// closed".
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			s.log.Warn("nats connection attempt failed", slog.Any("err", err))
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			if err := nc.LastError(); err != nil {
				s.log.Error("nats connection closed for good: restart the process once the cause is fixed", slog.Any("err", err))
			}
		}),
	}
	url := cfg.NATS
	if cfg.Embedded() {
		u, o, err := s.startEmbedded(ctx) // startup.go
		if err != nil {
			return err
		}
		url = u
		opts = append(opts, o...)
	} else {
		authOpts, err := cfg.NATSAuth.options()
		if err != nil {
			return err
		}
		opts = append(opts, authOpts...)
		opts = append(opts, nats.RetryOnFailedConnect(true))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("service: connect to nats: %w", err)
	}
	s.nc = nc
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("service: jetstream: %w", err)
	}
	s.js = js
	return nil
}

func (a NATSAuth) options() ([]nats.Option, error) {
	var opts []nats.Option
	if a.User != "" {
		opts = append(opts, nats.UserInfo(a.User, a.Password))
	}
	if a.NKeyFile != "" {
		o, err := nats.NkeyOptionFromSeed(a.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("service: nkey %s: %w", a.NKeyFile, err)
		}
		opts = append(opts, o)
	}
	if a.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(a.CredsFile))
	}
	if a.TLSCA != "" {
		opts = append(opts, nats.RootCAs(a.TLSCA))
	}
	if a.TLSCert != "" || a.TLSKey != "" {
		opts = append(opts, nats.ClientCert(a.TLSCert, a.TLSKey))
	}
	if a.InboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(a.InboxPrefix))
	}
	return opts, nil
}

func (s *Service) goWorker(ctx context.Context, name string, run func(context.Context) error) {
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		if err := run(ctx); err != nil {
			s.log.Error("worker stopped", slog.String("worker", name), slog.Any("err", err))
		}
	}()
}

// Close stops everything in reverse order of start: HTTP (in-flight
// requests finish), workers, the NATS connection (drained), the embedded
// server. Nothing outlives it.
func (s *Service) Close() error {
	var errs []error
	if s.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		if err := s.httpSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
		cancel()
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.workers.Wait()
	if s.nc != nil {
		if err := s.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, fmt.Errorf("nats drain: %w", err))
		}
		for i := 0; i < 100 && !s.nc.IsClosed(); i++ {
			time.Sleep(20 * time.Millisecond)
		}
		s.nc.Close()
	}
	if s.ns != nil {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	if err := s.closeOperators(ctx); err != nil {
		errs = append(errs, fmt.Errorf("operators' http shutdown: %w", err))
	}
	cancel()
	s.release() // startup.go: the HTTP address and the data directory
	s.log.Info("stopped")
	return errors.Join(errs...)
}

func (s *Service) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !s.nc.IsConnected() {
		http.Error(w, "nats disconnected", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// handleReady answers 200 once the stream exists and every read model this
// process depends on has caught up; otherwise 503 listing what it waits for
// (the event log missing or unreachable among it: health.go). What leaves
// it serving but not whole (no projector moving a read model, a full log
// or data volume) is listed under degraded.
func (s *Service) handleReady(w http.ResponseWriter, r *http.Request) {
	waiting := s.waitingFor()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	status := http.StatusOK
	if len(waiting) > 0 {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	if waiting == nil {
		waiting = []string{}
	}
	body := map[string]any{"ready": len(waiting) == 0, "waiting_for": waiting}
	degraded := s.health.list(false)
	// Whether the read models are moving is news, not a reason to stop
	// serving: servers keep answering from the last model (presence.go).
	if projectors, stalled := s.projectorState(); projectors != nil {
		body["projectors"] = projectors
		degraded = append(degraded, stalled...)
	}
	degraded = append(degraded, s.notifierDegraded()...)
	if degraded == nil {
		degraded = []string{}
	}
	body["degraded"] = degraded
	_ = json.NewEncoder(w).Encode(body)
}

// waitingFor lists what the process waits for before it is ready.
func (s *Service) waitingFor() []string {
	var waiting []string
	for _, c := range s.ready {
		select {
		case <-c.done:
		default:
			waiting = append(waiting, c.name)
		}
	}
	return append(waiting, s.health.list(true)...)
}

// registerNATSMetrics exports the connection state, readiness and the event
// stream's size against its byte budget.
func (s *Service) registerNATSMetrics() {
	s.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "jevents", Name: "ready",
		Help: "1 while /readyz answers 200: the process serves its roles (the alert on feed servers counts these).",
	}, func() float64 {
		if len(s.waitingFor()) == 0 {
			return 1
		}
		return 0
	}))
	s.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "jevents", Subsystem: "nats", Name: "connected",
		Help: "1 while the process is connected to NATS.",
	}, func() float64 {
		if s.nc.IsConnected() {
			return 1
		}
		return 0
	}))
	s.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "jevents", Subsystem: "nats", Name: "reconnects_total",
		Help: "Times the process reconnected to NATS (to the same or another server of the cluster).",
	}, func() float64 { return float64(s.nc.Stats().Reconnects) }))
	// Feed servers never touch the log (deploy/nats: the feeds user may not
	// read it); the processes that append or project report its size.
	if s.readsLog() {
		s.registry.MustRegister(&streamCollector{js: s.js, log: s.log})
		s.registry.MustRegister(&storageCollector{js: s.js, guard: s.storage}) // storage.go
	}
}

func joinRoles(rs []Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

// securityHeaders sets the headers every answer carries. The values are
// shared by every answer and set under their canonical keys (no
// canonicalization or allocation per request); nothing changes a header
// value in place (h.Set replaces the slice).
func securityHeaders(next http.Handler) http.Handler {
	nosniff, referrer := []string{"nosniff"}, []string{"strict-origin-when-cross-origin"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = nosniff
		h["Referrer-Policy"] = referrer
		next.ServeHTTP(w, r)
	})
}

// Dial connects to an external NATS deployment for the CLI's log-level
// commands (rebuild, seed).
func Dial(urls string, a NATSAuth, name string) (*nats.Conn, jetstream.JetStream, error) {
	opts, err := a.options()
	if err != nil {
		return nil, nil, err
	}
	opts = append(opts, nats.Name(name))
	nc, err := nats.Connect(urls, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to nats at %s: %w", urls, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// RebuildResult says where one read model was rebuilt to.
type RebuildResult = engine.Rebuilt

// Rebuild replays the log into a fresh generation of every read model
// (readmodels.go) and switches each to it while the service keeps serving.
// opts may report its progress (engine.WithProgress).
func Rebuild(ctx context.Context, js jetstream.JetStream, replicas int, log *slog.Logger, opts ...engine.RebuildOption) ([]RebuildResult, error) {
	return readModels.models().Rebuild(ctx, js, engine.BucketConfig{Replicas: replicas}, log, nil, opts...)
}
