// Package webhooks owns webhook subscriptions and their deliveries.
//
// A subscription is an aggregate of the event log (domain.Webhook*):
// editors register it (target URL, a change-feed filter in the feeds'
// query syntax, a Standard Webhooks secret shown once), remove it, and
// resume it after a pause, through the editors' API (Routes) and the CLI.
// The secret is stored in the registration event: the log is private
// (contacts live there too), and the deliverer needs it.
//
// The deliverer (Run) follows, for every active subscription, the PUBLIC
// change stream (projections/changes) from the cursor at registration,
// filtered by the subscription's filter, and POSTs each change in order,
// signed per Standard Webhooks (sign.go), with exponential backoff; a
// target failing for longer than PauseAfter is paused with the reason
// (an event editors see), and resumes where it stopped. The delivered
// cursor and the delivery log live in the KV bucket jevents_webhooks,
// written by one deliverer at a time (a lease in the same bucket).
// Targets on private addresses are refused when the connection is made,
// after DNS resolution (dial.go).
//
// It is a reactor: it imports the domain, the event log (to read and
// append subscriptions), httpapi and internal plumbing, and READS the
// change stream through projections/changes' Reader (and the feeds'
// filter); never a producer.
package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/projections/changes"
	"github.com/justiceevents/jevents/projections/feeds"
)

// Bucket is the KV bucket of the deliverer's state: per subscription its
// delivered cursor and delivery log (state.<id>), and the deliverer's
// lease (leader).
const Bucket = "jevents_webhooks"

// EnsureBucket creates the bucket when it is missing (jevents setup, the
// embedded server's set-up).
func EnsureBucket(ctx context.Context, js jetstream.JetStream, replicas int) (string, error) {
	_, err := js.KeyValue(ctx, Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		_, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket, History: 1, Replicas: max(replicas, 1),
			Description: "Justice Events: webhook deliveries: cursors, delivery logs, the deliverer's lease"})
		if errors.Is(err, jetstream.ErrBucketExists) {
			err = nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("webhooks: open %s: %w", Bucket, err)
	}
	return Bucket, nil
}

// Config are the operator's choices.
type Config struct {
	// AllowPrivate lets targets resolve to loopback, private, link-local
	// addresses (--webhook-allow-private: operators' own receivers, tests).
	AllowPrivate bool
	// PauseAfter is how long a target may keep failing before its
	// subscription is paused (--webhook-pause-after, default 24h).
	PauseAfter time.Duration
	// MinBackoff and MaxBackoff bound the wait between two attempts
	// (doubling from MinBackoff, default 1 s, up to MaxBackoff, 1 min).
	MinBackoff, MaxBackoff time.Duration
	// Poll is how often the deliverer looks for new subscriptions, and
	// retries reading its state or the changes after an error (default
	// 500 ms). New changes wake it through the change stream's watch.
	Poll time.Duration
	// Timeout bounds one delivery's request (default 10 s).
	Timeout time.Duration
	// Lease is how long the deliverer's lease lasts unrenewed (default 15 s).
	Lease time.Duration
}

func (c Config) withDefaults() Config {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&c.PauseAfter, 24*time.Hour)
	set(&c.MinBackoff, time.Second)
	set(&c.MaxBackoff, time.Minute)
	set(&c.Poll, 500*time.Millisecond)
	set(&c.Timeout, 10*time.Second)
	set(&c.Lease, 15*time.Second)
	return c
}

// Webhooks registers subscriptions and delivers their changes.
type Webhooks struct {
	log     *eventlog.Log
	js      jetstream.JetStream
	changes *changes.Reader
	cfg     Config
	logger  *slog.Logger
	metrics *Metrics
	client  *http.Client

	behindMu  sync.Mutex
	behindSet map[string]bool

	// The subscriptions' events read so far, by subscription in order of
	// registration, up to stream sequence subsSeen: each read asks the
	// log only for what came since, so the deliverer's poll (every Poll)
	// does not scan the whole log each time. (A log created again under
	// a running process is followed after its restart, as the projectors'
	// read models are.)
	subsMu    sync.Mutex
	subsSeen  uint64
	subsRecs  map[string][]domain.Record
	subsOrder []string
}

// New returns the subscriptions' commands and deliverer.
func New(log *eventlog.Log, js jetstream.JetStream, rd *changes.Reader, cfg Config, logger *slog.Logger, m *Metrics) *Webhooks {
	if m == nil {
		m = NewMetrics(nil)
	}
	cfg = cfg.withDefaults()
	return &Webhooks{log: log, js: js, changes: rd, cfg: cfg, logger: logger, metrics: m, client: newClient(cfg)}
}

// Subscription is a subscription as the API lists it (the secret only in
// the answer to its registration).
type Subscription struct {
	ID         string    `json:"id"`
	URL        string    `json:"url"`
	Filter     string    `json:"filter"`
	Secret     string    `json:"secret,omitempty"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	Delivered  uint64    `json:"delivered"`
	Registered time.Time `json:"registered"`
	Updated    time.Time `json:"updated"`
	Version    uint64    `json:"version"`
	// LastDelivery is the newest entry of the delivery log (none before
	// the first attempt).
	LastDelivery *Delivery `json:"last_delivery,omitempty"`
}

func view(w *domain.Webhook, st state) Subscription {
	v := Subscription{ID: w.ID, URL: w.URL, Filter: w.Filter, Status: w.Status, Reason: w.Reason,
		Delivered: max(st.Cursor, w.After), Registered: w.Registered, Updated: w.Updated, Version: w.Version}
	if len(st.Deliveries) > 0 {
		d := st.Deliveries[0]
		v.LastDelivery = &d
	}
	return v
}

// Input is a registration request.
type Input struct {
	URL    string `json:"url"`
	Filter string `json:"filter"`
}

// parseFilter reads a filter in the feeds' query syntax
// ("topic=policing&region=uk"; empty: every public change).
func parseFilter(s string) (feeds.Filter, error) {
	q, err := url.ParseQuery(s)
	if err != nil {
		var errs domain.ValidationError
		errs.Add("filter", "invalid", "must be a query string such as topic=policing&region=uk")
		return feeds.Filter{}, errs.Err()
	}
	for k := range q {
		if !slices.Contains(filterParams(), k) {
			var errs domain.ValidationError
			errs.Add("filter", "unknown", "%q is not a filter of the change feed (%v)", k, filterParams())
			return feeds.Filter{}, errs.Err()
		}
	}
	f, err := feeds.ParseQuery(q)
	var he *httpapi.Error
	if errors.As(err, &he) { // the feeds' 400 names the query parameter: here it is the field filter's
		var errs domain.ValidationError
		for _, fe := range he.Fields {
			errs.Add("filter", fe.Code, "%s: %s", fe.Field, fe.Message)
		}
		return f, errs.Err()
	}
	return f, err
}

func filterParams() []string {
	ps := []string{"sponsor", "q", "past"}
	for _, f := range domain.Facets {
		ps = append(ps, f.Param)
	}
	return ps
}

// Register appends a subscription's registration and answers it with its
// secret, the only time the secret is shown.
func (w *Webhooks) Register(ctx context.Context, in Input, actor string) (Subscription, error) {
	target, err := domain.ValidateWebhookURL(in.URL)
	if err != nil {
		return Subscription{}, err
	}
	if err := w.checkLiteral(target); err != nil {
		return Subscription{}, err
	}
	if _, err := parseFilter(in.Filter); err != nil {
		return Subscription{}, err
	}
	after, err := w.changes.Last(ctx)
	if err != nil {
		return Subscription{}, fmt.Errorf("webhooks: the change stream's end: %w", err)
	}
	key := make([]byte, 24)
	_, _ = rand.Read(key)
	ev := domain.WebhookRegistered{URL: target, Filter: in.Filter, Secret: "whsec_" + base64.StdEncoding.EncodeToString(key), After: after}
	id := uuid.Must(uuid.NewV7()).String()
	env, err := domain.NewEnvelope(id, id, actor, time.Now(), ev)
	if err != nil {
		return Subscription{}, err
	}
	a, err := w.log.Append(ctx, env, "webhook:"+id, 0)
	if err != nil {
		return Subscription{}, err
	}
	sub := &domain.Webhook{}
	sub.Apply(domain.Record{Seq: a.Seq, Envelope: env, Event: ev})
	v := view(sub, state{})
	v.Secret = ev.Secret
	return v, nil
}

// checkLiteral refuses a target whose host is a literal address the
// deliverer would refuse (names are checked at every connection).
func (w *Webhooks) checkLiteral(target string) error {
	u, _ := url.Parse(target)
	if w.cfg.AllowPrivate {
		return nil
	}
	if err := checkHost(u.Hostname()); err != nil {
		var errs domain.ValidationError
		errs.Add("url", "private", "%v", err)
		return errs.Err()
	}
	return nil
}

// subscriptions folds every subscription of the log, removed ones too.
func (w *Webhooks) subscriptions(ctx context.Context) ([]*domain.Webhook, error) {
	w.subsMu.Lock()
	defer w.subsMu.Unlock()
	recs, err := w.log.LoadKind(ctx, domain.AggregateWebhook, w.subsSeen)
	if err != nil {
		return nil, err
	}
	if w.subsRecs == nil {
		w.subsRecs = map[string][]domain.Record{}
	}
	for _, r := range recs {
		if _, ok := w.subsRecs[r.AggregateID]; !ok {
			w.subsOrder = append(w.subsOrder, r.AggregateID)
		}
		w.subsRecs[r.AggregateID] = append(w.subsRecs[r.AggregateID], r)
		w.subsSeen = r.Seq
	}
	out := make([]*domain.Webhook, 0, len(w.subsOrder))
	for _, id := range w.subsOrder {
		out = append(out, domain.Fold[domain.Webhook](w.subsRecs[id]))
	}
	return out, nil
}

// List answers every subscription not removed, oldest first.
func (w *Webhooks) List(ctx context.Context) ([]Subscription, error) {
	subs, err := w.subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	out := []Subscription{}
	for _, s := range subs {
		if s.Status == domain.WebhookStatusRemoved || s.ID == "" {
			continue
		}
		st, _ := w.state(ctx, s.ID)
		out = append(out, view(s, st))
	}
	return out, nil
}

// Get answers one subscription (domain.ErrNotFound when it does not
// exist or was removed), without its secret.
func (w *Webhooks) Get(ctx context.Context, id string) (Subscription, error) {
	recs, err := w.log.Load(ctx, domain.AggregateWebhook, id)
	if err != nil {
		return Subscription{}, err
	}
	sub := domain.Fold[domain.Webhook](recs)
	if sub.ID == "" || sub.Status == domain.WebhookStatusRemoved {
		return Subscription{}, domain.ErrNotFound
	}
	st, _ := w.state(ctx, id)
	return view(sub, st), nil
}

// command loads a subscription, decides and appends.
func (w *Webhooks) command(ctx context.Context, id, actor string, decide func(*domain.Webhook) (domain.Event, error)) (Subscription, error) {
	recs, err := w.log.Load(ctx, domain.AggregateWebhook, id)
	if err != nil {
		return Subscription{}, err
	}
	sub := domain.Fold[domain.Webhook](recs)
	if sub.ID == "" || sub.Status == domain.WebhookStatusRemoved {
		return Subscription{}, domain.ErrNotFound
	}
	ev, err := decide(sub)
	if err != nil {
		return Subscription{}, err
	}
	if ev != nil {
		evID := uuid.Must(uuid.NewV7()).String()
		env, err := domain.NewEnvelope(evID, id, actor, time.Now(), ev)
		if err != nil {
			return Subscription{}, err
		}
		a, err := w.log.Append(ctx, env, "webhook:"+id+":"+evID, sub.Version)
		if err != nil {
			return Subscription{}, err
		}
		sub.Apply(domain.Record{Seq: a.Seq, Envelope: env, Event: ev})
	}
	st, _ := w.state(ctx, id)
	return view(sub, st), nil
}

// Remove ends a subscription.
func (w *Webhooks) Remove(ctx context.Context, id, actor string) (Subscription, error) {
	return w.command(ctx, id, actor, func(*domain.Webhook) (domain.Event, error) { return domain.WebhookRemoved{}, nil })
}

// Resume restarts a paused subscription where it stopped (an active one
// is left as it is).
func (w *Webhooks) Resume(ctx context.Context, id, actor string) (Subscription, error) {
	return w.command(ctx, id, actor, func(s *domain.Webhook) (domain.Event, error) {
		if s.Status != domain.WebhookStatusPaused {
			return nil, nil
		}
		return domain.WebhookResumed{}, nil
	})
}

// pause appends the deliverer's pause with its reason.
func (w *Webhooks) pause(ctx context.Context, id, reason string, cursor uint64) error {
	_, err := w.command(ctx, id, "webhooks", func(s *domain.Webhook) (domain.Event, error) {
		if s.Status != domain.WebhookStatusActive {
			return nil, nil
		}
		return domain.WebhookPaused{Reason: reason, Cursor: cursor}, nil
	})
	return err
}

// Delivery is one entry of a subscription's delivery log.
type Delivery struct {
	WebhookID string    `json:"webhook_id"`
	Cursor    uint64    `json:"cursor"`
	Type      string    `json:"type"`
	Status    int       `json:"status,omitempty"`
	Outcome   string    `json:"outcome"` // delivered, failing
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	Time      time.Time `json:"time"`
}

// state is a subscription's record in the bucket.
type state struct {
	Cursor     uint64     `json:"cursor"`
	Deliveries []Delivery `json:"deliveries"` // newest first, at most logSize
}

const logSize = 50

func stateKey(id string) string { return "state." + id }

func (w *Webhooks) state(ctx context.Context, id string) (state, error) {
	kv, err := w.js.KeyValue(ctx, Bucket)
	if err != nil {
		return state{}, err
	}
	e, err := kv.Get(ctx, stateKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return state{}, nil
	}
	if err != nil {
		return state{}, err
	}
	var st state
	err = json.Unmarshal(e.Value(), &st)
	return st, err
}

// Deliveries answers a subscription's delivery log, newest first.
func (w *Webhooks) Deliveries(ctx context.Context, id string) ([]Delivery, error) {
	if _, err := w.log.Load(ctx, domain.AggregateWebhook, id); err != nil {
		return nil, err
	}
	st, err := w.state(ctx, id)
	if err != nil {
		return nil, err
	}
	if st.Deliveries == nil {
		st.Deliveries = []Delivery{}
	}
	return st.Deliveries, nil
}

// Routes are the editors' routes of subscriptions, every one for editors.
func (w *Webhooks) Routes() []httpapi.Route {
	editors := func(pattern string, h func(http.ResponseWriter, *http.Request, string)) httpapi.Route {
		return httpapi.Route{Pattern: pattern, Handler: httpapi.Editor(w.logger, h), Editors: true}
	}
	return []httpapi.Route{
		editors("POST /api/v1/webhooks", w.handleRegister),
		editors("GET /api/v1/webhooks", func(rw http.ResponseWriter, r *http.Request, _ string) {
			subs, err := w.List(r.Context())
			w.answer(rw, r, http.StatusOK, map[string]any{"webhooks": subs}, err)
		}),
		editors("DELETE /api/v1/webhooks/{id}", func(rw http.ResponseWriter, r *http.Request, editor string) {
			s, err := w.Remove(r.Context(), r.PathValue("id"), editor)
			w.answer(rw, r, http.StatusOK, s, err)
		}),
		editors("POST /api/v1/webhooks/{id}/resume", func(rw http.ResponseWriter, r *http.Request, editor string) {
			s, err := w.Resume(r.Context(), r.PathValue("id"), editor)
			w.answer(rw, r, http.StatusOK, s, err)
		}),
		editors("GET /api/v1/webhooks/{id}/deliveries", func(rw http.ResponseWriter, r *http.Request, _ string) {
			ds, err := w.Deliveries(r.Context(), r.PathValue("id"))
			w.answer(rw, r, http.StatusOK, map[string]any{"deliveries": ds}, err)
		}),
	}
}

func (w *Webhooks) handleRegister(rw http.ResponseWriter, r *http.Request, editor string) {
	var in Input
	if err := httpapi.Decode(rw, r, 16<<10, &in); err != nil {
		httpapi.WriteError(rw, r, w.logger, err)
		return
	}
	s, err := w.Register(r.Context(), in, editor)
	w.answer(rw, r, http.StatusCreated, s, err)
}

func (w *Webhooks) answer(rw http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		httpapi.WriteError(rw, r, w.logger, err)
		return
	}
	httpapi.Write(rw, status, v)
}

// Metrics are the deliverer's Prometheus series.
type Metrics struct {
	deliveries *prometheus.CounterVec
	subs       *prometheus.GaugeVec
	behind     prometheus.Gauge
	leader     prometheus.Gauge
}

// NewMetrics registers the series on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Name: "webhook_deliveries_total",
			Help: "Webhook delivery attempts, by outcome (delivered, failed: an error or a status other than 2xx, refused: a private target)."}, []string{"outcome"}),
		subs: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "jevents", Name: "webhook_subscriptions",
			Help: "Webhook subscriptions the deliverer holding the lease knows, by status (active, paused)."}, []string{"status"}),
		behind: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "jevents", Name: "webhook_subscriptions_behind",
			Help: "Active webhook subscriptions with changes not yet delivered (lagging behind the change stream)."}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "jevents", Name: "webhook_deliverer_active",
			Help: "1 while this process holds the webhook deliverer's lease and delivers."}),
	}
	for _, o := range []string{"delivered", "failed", "refused"} {
		m.deliveries.WithLabelValues(o)
	}
	for _, s := range []string{domain.WebhookStatusActive, domain.WebhookStatusPaused} {
		m.subs.WithLabelValues(s)
	}
	if reg != nil {
		reg.MustRegister(m.deliveries, m.subs, m.behind, m.leader)
	}
	return m
}
