// Package schedule keeps editors' plans (an embargoed publication, a
// cancellation or an unpublication at a future instant) in NATS, as
// JetStream message schedules (ADR-51, nats-server 2.12 and later), so
// that a plan survives restarts, crashes and a failover of the servers
// with no timer process of ours: the stream's leader fires it.
//
// The plans live in their own stream, JEVENTS_SCHEDULES, not in the event
// log: a stream that schedules messages must allow roll-ups and purges
// and may not refuse new messages when full, which the log must never
// allow. The log stays the source of truth: a plan is an event of its
// conference (domain/schedule.go); the message here only says when to
// look at it again.
//
//   - Plan publishes, on schedules.plan.<conference>.<plan>, a message with
//     Nats-Schedule "@at <instant>" (whole seconds) and Nats-Schedule-Target
//     schedules.due.<conference>.<plan>. Each plan has its own subject, so
//     replacing a plan is a new plan plus dropping the old one.
//   - At the instant the server stores a message on the target subject
//     and removes the plan's message in the same step (so a new leader
//     does not fire it again).
//   - Drop purges a plan's subject: it never fires.
//   - The Reactor consumes the due messages (a durable consumer, explicit
//     acks, redelivered until handled) and hands each to its handler, which
//     decides on the log's state (producers/moderation Fire) and is
//     idempotent: a plan that comes due twice acts once.
//
// A producer writes the plan message before the plan's event and drops it
// after an event that ends the plan (called off, replaced). Whatever
// crashes in between, the worst is a due message for a plan the log does
// not hold as pending, which the handler ignores.
//
// It imports nats.go and the Prometheus client only.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Names in NATS.
const (
	StreamName = "JEVENTS_SCHEDULES"
	// Consumer is the durable consumer of due plans; its name never
	// changes.
	Consumer    = "jevents-schedules"
	planPrefix  = "schedules.plan."
	duePrefix   = "schedules.due."
	allSubjects = "schedules.>"
	dueSubjects = duePrefix + ">"
)

// PlanSubject is where the plan's scheduled message is stored.
func PlanSubject(conference, plan string) string { return planPrefix + conference + "." + plan }

// DueSubject is where the server stores it when it comes due.
func DueSubject(conference, plan string) string { return duePrefix + conference + "." + plan }

// streamConfig is the one definition of the plans' stream: work-queue
// retention (a due message leaves once handled; a plan's message when it
// fires or is dropped), no age limit (a plan may be years ahead), and the
// message schedules, which need roll-ups and purges allowed and old
// messages discarded when full: with no byte limit, nothing is discarded.
func streamConfig(replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              StreamName,
		Description:       "Justice Events: editors' planned publications, cancellations and unpublications, fired by the server",
		Subjects:          []string{allSubjects},
		Storage:           jetstream.FileStorage,
		Replicas:          max(replicas, 1),
		Retention:         jetstream.WorkQueuePolicy,
		Discard:           jetstream.DiscardOld,
		MaxMsgSize:        4 << 10,
		Duplicates:        2 * time.Minute,
		AllowMsgSchedules: true,
		AllowRollup:       true,
		AllowDirect:       true,
	}
}

// consumerConfig is the due plans' durable consumer.
func consumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       Consumer,
		Description:   "Justice Events: due plans, for the editors' reactor",
		FilterSubject: dueSubjects,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxDeliver:    -1,
		MaxAckPending: 64,
	}
}

// Ensure creates or updates the plans' stream and its consumer; it needs
// permission to manage streams (jevents setup, or the embedded server's
// own process).
func Ensure(ctx context.Context, js jetstream.JetStream, replicas int) error {
	s, err := js.CreateOrUpdateStream(ctx, streamConfig(replicas))
	if err != nil {
		return fmt.Errorf("schedule: ensure stream %s: %w", StreamName, err)
	}
	if _, err := s.CreateOrUpdateConsumer(ctx, consumerConfig()); err != nil {
		return fmt.Errorf("schedule: ensure consumer %s: %w", Consumer, err)
	}
	return nil
}

// Planner writes and drops plans. Safe for concurrent use.
type Planner struct {
	js jetstream.JetStream
}

// NewPlanner returns a planner on js.
func NewPlanner(js jetstream.JetStream) *Planner { return &Planner{js: js} }

// callTimeout bounds one call to NATS.
const callTimeout = 5 * time.Second

// Plan schedules the due message of plan for at (rounded up to the next
// whole second: plans fire to the second). Repeating it with the same
// arguments is harmless.
func (p *Planner) Plan(ctx context.Context, conference, plan string, at time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	at = Second(at)
	msg := nats.NewMsg(PlanSubject(conference, plan))
	msg.Data = []byte(`{"conference":"` + conference + `","schedule":"` + plan + `","at":"` + at.Format(time.RFC3339) + `"}`)
	_, err := p.js.PublishMsg(ctx, msg, jetstream.WithScheduleAt(at), jetstream.WithScheduleTarget(DueSubject(conference, plan)),
		jetstream.WithExpectStream(StreamName), jetstream.WithMsgID("plan:"+plan+":"+at.Format(time.RFC3339)))
	if err != nil {
		return fmt.Errorf("schedule: plan %s of %s at %s: %w", plan, conference, at.Format(time.RFC3339), err)
	}
	return nil
}

// Drop removes a plan's message: it never fires. Dropping a plan that
// fired already or was never written is harmless.
func (p *Planner) Drop(ctx context.Context, conference, plan string) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	s, err := p.js.Stream(ctx, StreamName)
	if err != nil {
		return fmt.Errorf("schedule: drop %s: %w", plan, err)
	}
	if err := s.Purge(ctx, jetstream.WithPurgeSubject(PlanSubject(conference, plan))); err != nil {
		return fmt.Errorf("schedule: drop %s: %w", plan, err)
	}
	return nil
}

// Pending reports whether a plan's message is waiting to fire (for tests
// and operators).
func (p *Planner) Pending(ctx context.Context, conference, plan string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	s, err := p.js.Stream(ctx, StreamName)
	if err != nil {
		return false, err
	}
	_, err = s.GetLastMsgForSubject(ctx, PlanSubject(conference, plan))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Second rounds t up to a whole second (a plan never fires early).
func Second(t time.Time) time.Time {
	t = t.UTC()
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}

// Handler decides what a due plan does. A nil error acknowledges the due
// message; an error has it delivered again after a pause. It must be
// idempotent.
type Handler func(ctx context.Context, conference, plan string) error

// Reactor hands due plans to its handler.
type Reactor struct {
	js      jetstream.JetStream
	handle  Handler
	log     *slog.Logger
	metrics *Metrics
}

// NewReactor returns a reactor; metrics may be nil.
func NewReactor(js jetstream.JetStream, h Handler, log *slog.Logger, m *Metrics) *Reactor {
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Reactor{js: js, handle: h, log: log.With(slog.String("component", "schedule")), metrics: m}
}

// handleTimeout bounds one handler call: a few appends to the log.
const handleTimeout = 20 * time.Second

// Run consumes due plans until ctx ends, reconnecting to the consumer
// after errors (the stream between leaders, not set up yet).
func (r *Reactor) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := r.consume(ctx)
		if ctx.Err() != nil {
			return nil
		}
		r.log.Warn("due plans: consumer stopped; retrying", slog.Any("err", err), slog.Duration("backoff", backoff))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	return nil
}

func (r *Reactor) consume(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	cons, err := r.js.Consumer(cctx, StreamName, Consumer)
	cancel()
	if err != nil {
		return fmt.Errorf("consumer %s: %w", Consumer, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(16), jetstream.PullHeartbeat(5*time.Second))
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	// Plans that come due together are handled together (each appends to
	// its own conference), so that none waits for the others' appends.
	turns := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		m, err := it.Next()
		if err != nil {
			return err
		}
		turns <- struct{}{}
		wg.Go(func() {
			defer func() { <-turns }()
			r.react(ctx, m)
		})
	}
}

// concurrency is how many due plans are handled at once.
const concurrency = 8

func (r *Reactor) react(ctx context.Context, m jetstream.Msg) {
	rest, ok := strings.CutPrefix(m.Subject(), duePrefix)
	conference, plan, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || conference == "" || plan == "" || strings.Contains(plan, ".") {
		r.metrics.due.WithLabelValues("bad_subject").Inc()
		r.log.Error("due plan on a subject that names none; dropped", slog.String("subject", m.Subject()))
		_ = m.Term()
		return
	}
	late := time.Duration(0)
	if md, err := m.Metadata(); err == nil {
		late = time.Since(md.Timestamp)
	}
	hctx, cancel := context.WithTimeout(ctx, handleTimeout)
	err := r.handle(hctx, conference, plan)
	cancel()
	if err != nil {
		r.metrics.due.WithLabelValues("retried").Inc()
		r.log.Warn("due plan not handled; it comes again", slog.String("conference", conference), slog.String("schedule", plan), slog.Any("err", err))
		_ = m.NakWithDelay(time.Second)
		return
	}
	if err := m.DoubleAck(ctx); err != nil {
		r.log.Warn("due plan handled, its acknowledgement lost: it comes again and does nothing", slog.String("schedule", plan), slog.Any("err", err))
	}
	r.metrics.due.WithLabelValues("handled").Inc()
	r.metrics.delay.Observe(late.Seconds())
}

// Metrics are the reactor's Prometheus series.
type Metrics struct {
	due   *prometheus.CounterVec
	delay prometheus.Histogram
}

// NewMetrics registers the series on reg (nil: unregistered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		due: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "schedule", Name: "due_total",
			Help: "Due plans (scheduled publications, cancellations, unpublications) the reactor took, by outcome: handled, retried (the log could not be written), bad_subject."}, []string{"outcome"}),
		delay: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "jevents", Subsystem: "schedule", Name: "handle_delay_seconds",
			Help:    "Time from a plan's due message being stored (when the server fired it) to the reactor having handled it.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}),
	}
	for _, o := range []string{"handled", "retried", "bad_subject"} {
		m.due.WithLabelValues(o)
	}
	if reg != nil {
		reg.MustRegister(m.due, m.delay)
	}
	return m
}
