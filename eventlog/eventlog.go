// Package eventlog is where the events of Justice Events are written and
// read: the JetStream stream that is the source of truth (its
// configuration), appends with optimistic concurrency and de-duplication,
// atomic batches of creations, and loading an aggregate's events back and
// folding them into its state.
//
// It imports the domain package and nats.go, and knows nothing of HTTP or of
// read models. Producers use it to decide and append; the history API
// (eventlog/history) uses it to read. Projections never use it: the engine
// (projections/engine) consumes the stream itself.
package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/justiceevents/jevents/domain"
)

// Header names set on every event besides Nats-Msg-Id and
// domain.HeaderEventType.
const (
	HeaderSchema = "Jevents-Schema"
	HeaderActor  = "Jevents-Actor"
	// HeaderPrev is the stream sequence of the aggregate's previous event
	// ("0" on its first): the sequence the append expected, which the
	// server checked, so the chain is exact. Load follows it back from the
	// aggregate's last event, so that loading one aggregate costs its own
	// events, not a scan of the log (issue 16). Events stored before the
	// header existed have none; Load scans for those.
	HeaderPrev = "Jevents-Prev-Seq"
)

// StreamConfig are the operator's choices for the event stream.
type StreamConfig struct {
	// Replicas is 1 on the embedded server and 3 on a cluster.
	Replicas int
	// MaxBytes is the byte budget. When it is reached appends fail loudly
	// (DiscardNew) and no event is ever dropped.
	MaxBytes int64
	// Duplicates is the window in which a repeated Nats-Msg-Id is ignored.
	Duplicates time.Duration
}

// Timeout bounds every call of a Log: an append with all its retries, a
// load, a batch. A caller's earlier deadline wins. An append that has not
// been acknowledged when it runs out answers domain.ErrUnavailable (503,
// retry with the same key): nothing waits on the log longer than this.
const Timeout = 5 * time.Second

// AttemptTimeout bounds the wait for one publish's acknowledgement; Append
// retries after it with the same Nats-Msg-Id until Timeout (or the caller's
// deadline) runs out.
const AttemptTimeout = 2 * time.Second

// MaxEventSize bounds one stored event. Submissions are limited far below it.
const MaxEventSize = 256 << 10

// streamConfig is the one definition of the event stream.
func streamConfig(c StreamConfig) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        domain.StreamName,
		Description: "Justice Events: every conference and resource event, the source of truth",
		Subjects:    []string{domain.StreamSubjects},
		Storage:     jetstream.FileStorage,
		Replicas:    c.Replicas,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    c.MaxBytes,
		MaxMsgs:     -1,
		MaxAge:      0,
		MaxMsgSize:  MaxEventSize,
		Duplicates:  c.Duplicates,
		DenyDelete:  true,
		DenyPurge:   true,
		AllowRollup: false,
		AllowDirect: true,
		// An .ics file's conferences are appended as one atomic batch
		// (CreateAll): all of them or none.
		AllowAtomicPublish: true,
	}
}

// EnsureStream creates the event stream or brings an existing one to the
// configuration, idempotently. It is safe to call from every process at start.
func EnsureStream(ctx context.Context, js jetstream.JetStream, c StreamConfig) (jetstream.Stream, error) {
	if c.Replicas < 1 {
		c.Replicas = 1
	}
	if c.Duplicates <= 0 {
		c.Duplicates = 10 * time.Minute
	}
	if c.MaxBytes <= 0 {
		return nil, errors.New("eventlog: the stream needs an explicit byte budget")
	}
	s, err := js.CreateOrUpdateStream(ctx, streamConfig(c))
	if err != nil {
		return nil, fmt.Errorf("eventlog: ensure stream %s: %w", domain.StreamName, err)
	}
	return s, nil
}

// Log appends events and reads aggregates back. It is safe for concurrent use.
type Log struct {
	js      jetstream.JetStream
	metrics *Metrics
	guard   Guard
}

// Guard is asked before every append; an error refuses the append before it
// reaches the server (the service refuses submissions while its data volume
// is nearly full, so that the log never fails half-way, and the read models
// keep room to catch up). It is asked again when an append could not be
// acknowledged, so that a disk that filled meanwhile is named (507) rather
// than an outage (503). It must be fast and safe for concurrent use.
type Guard func(env domain.Envelope) error

// Option configures a Log.
type Option func(*Log)

// WithGuard sets the Log's Guard.
func WithGuard(g Guard) Option { return func(l *Log) { l.guard = g } }

// New returns a Log over the stream; metrics may be nil.
func New(js jetstream.JetStream, m *Metrics, opts ...Option) *Log {
	if m == nil {
		m = NewMetrics(nil)
	}
	l := &Log{js: js, metrics: m}
	for _, o := range opts {
		o(l)
	}
	return l
}

func (l *Log) check(env domain.Envelope) error {
	if l.guard == nil {
		return nil
	}
	return l.guard(env)
}

// Append stores one event with msgID as its Nats-Msg-Id, if and only if the
// last event of its aggregate is at stream sequence expect (0: the aggregate
// must not exist yet). It returns the event's stream sequence, and whether
// the event was already stored by an earlier attempt with the same msgID.
//
// A retry with the same msgID is safe: inside the duplicate window the
// server answers with the original sequence, and outside it (or on a single
// node, where the version check runs before de-duplication) an expectation
// failure whose last event carries msgID is our own earlier append and
// counts as success. Any other expectation failure is a *domain.VersionError.
// Timeouts and missing responders are retried with the same msgID until
// Timeout (or ctx) runs out, because a timed-out publish may still have
// been stored; then the answer is domain.ErrUnavailable. A stream that does
// not exist is domain.ErrUnavailable at once (ErrStreamMissing).
func (l *Log) Append(ctx context.Context, env domain.Envelope, msgID string, expect uint64) (Appended, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	a, err := l.append(ctx, env, msgID, expect)
	l.metrics.observe(env.Type, time.Since(start), err)
	return a, err
}

// Appended says where an event is stored.
type Appended struct {
	Seq uint64
	// Duplicate: an earlier attempt with the same message id stored it;
	// this one appended nothing.
	Duplicate bool
}

// message is the stored form of one event whose aggregate's previous event
// is at sequence prev (0: none).
func message(env domain.Envelope, prev uint64) (*nats.Msg, error) {
	data, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	msg := nats.NewMsg(env.Subject())
	msg.Data = data
	msg.Header.Set(domain.HeaderEventType, env.Type)
	msg.Header.Set(HeaderSchema, fmt.Sprint(env.Schema))
	msg.Header.Set(HeaderActor, env.Actor)
	msg.Header.Set(HeaderPrev, strconv.FormatUint(prev, 10))
	return msg, nil
}

func (l *Log) append(ctx context.Context, env domain.Envelope, msgID string, expect uint64) (Appended, error) {
	op := "append " + env.Type
	if err := l.check(env); err != nil {
		return Appended{}, fmt.Errorf("eventlog: %s: %w", op, err)
	}
	msg, err := message(env, expect)
	if err != nil {
		return Appended{}, err
	}
	aggSubject := domain.AggregateSubject(env.Aggregate, env.AggregateID)
	opts := []jetstream.PublishOpt{
		jetstream.WithMsgID(msgID),
		jetstream.WithExpectLastSequenceForSubject(expect, aggSubject),
		jetstream.WithExpectStream(domain.StreamName),
		jetstream.WithRetryAttempts(0),
	}
	var a Appended
	err = l.retry(ctx, op, env, func(actx context.Context) error {
		ack, err := l.js.PublishMsg(actx, msg, opts...)
		if err == nil {
			a = Appended{Seq: ack.Sequence, Duplicate: ack.Duplicate}
		}
		return err
	})
	switch {
	case err == nil:
		return a, nil
	case isWrongLastSequence(err):
		seq, current, gerr := l.since(ctx, aggSubject, expect, msgID)
		if gerr != nil {
			return Appended{}, l.classify(ctx, op+": check the events since "+fmt.Sprint(expect), gerr)
		}
		if seq != 0 {
			return Appended{Seq: seq, Duplicate: true}, nil // our own earlier attempt landed
		}
		return Appended{}, &domain.VersionError{Expected: expect, Current: current}
	}
	return Appended{}, err
}

// retry runs attempt, each under AttemptTimeout, until it succeeds (nil)
// or returns something other than a transient error, or ctx ends. It
// returns attempt's last error, mapped: a full log or storage, the stream
// missing, or, when ctx ran out, domain.ErrUnavailable (or what the guard
// says when the storage filled meanwhile). Errors for the caller to handle
// (expectation failures, duplicates in a batch) come back as they are.
func (l *Log) retry(ctx context.Context, op string, env domain.Envelope, attempt func(context.Context) error) error {
	backoff := 50 * time.Millisecond
	for {
		// Each attempt waits for its acknowledgement a bounded time: a
		// publish caught by a stream leader's death gets no answer, and the
		// retry (same Nats-Msg-Id) reaches the new leader sooner than the
		// client's 5 s default would.
		actx, cancel := context.WithTimeout(ctx, AttemptTimeout)
		err := attempt(actx)
		cancel()
		switch {
		case err == nil, isWrongLastSequence(err), isBatchDuplicate(err):
			return err
		case isLogFull(err), isStorageFull(err):
			return l.classify(ctx, op, err)
		case isStreamNotFound(err):
			return l.unavailable(op, ErrStreamMissing)
		case (errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders)) && l.streamMissing(ctx):
			return l.unavailable(op, ErrStreamMissing)
		case isTransient(err) && ctx.Err() == nil:
		default:
			// Out of time, or not worth a retry. A storage that filled
			// while the attempt waited is named as such.
			if gerr := l.check(env); gerr != nil && (isTransient(err) || isGone(err)) {
				return fmt.Errorf("eventlog: %s: %w", op, gerr)
			}
			return l.classify(ctx, op, err)
		}
		select {
		case <-ctx.Done():
			if gerr := l.check(env); gerr != nil {
				return fmt.Errorf("eventlog: %s: %w", op, gerr)
			}
			return l.unavailable(op, err)
		case <-time.After(backoff):
		}
		// Short: while a stream leader is elected every answer is "no
		// responders" at once, and the first retry after the election
		// is the append's latency (docs/performance.md, failover).
		backoff = min(2*backoff, 250*time.Millisecond)
	}
}

// since looks through the aggregate's events after sequence expect for the
// one stored with msgID (an earlier attempt of this append that landed,
// perhaps with others after it). It returns that event's sequence (0: not
// there) and the aggregate's last sequence.
func (l *Log) since(ctx context.Context, subject string, expect uint64, msgID string) (ours, last uint64, err error) {
	next := expect + 1
	for {
		msgs, err := jetstreamext.GetBatch(ctx, l.js, domain.StreamName, 256,
			jetstreamext.GetBatchSubject(subject), jetstreamext.GetBatchSeq(next))
		if err != nil {
			return 0, 0, err
		}
		n := 0
		for m, err := range msgs {
			if errors.Is(err, jetstreamext.ErrNoMessages) {
				break
			}
			if err != nil {
				return 0, 0, err
			}
			n++
			last, next = m.Sequence, m.Sequence+1
			if ours == 0 && m.Header.Get(jetstream.MsgIDHeader) == msgID {
				ours = m.Sequence
			}
		}
		if n == 0 { // only an empty answer is the end (see scan)
			return ours, last, nil
		}
	}
}

// Load reads every event of one aggregate, oldest first. An aggregate with
// no events is domain.ErrNotFound; a log that cannot be read within
// Timeout is domain.ErrUnavailable.
//
// It asks the server for the aggregate's last event of each type (the
// server's per-subject index answers that without reading the log), then
// follows each event's HeaderPrev back to the first, one direct get per
// event. Its cost is the aggregate's events, whatever the size of the log:
// the subject-filtered read it replaces scanned every block between the
// aggregate's first event and the end of the log (docs/performance.md,
// issue 16: 6 ms at 10,000 events, 104 ms at 100,000).
func (l *Log) Load(ctx context.Context, aggregate, id string) ([]domain.Record, error) {
	if !domain.ValidID(id) {
		return nil, domain.ErrNotFound
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	op := "load " + aggregate + " " + id
	subject := domain.AggregateSubject(aggregate, id)
	prefix := strings.TrimSuffix(subject, "*")

	// The aggregate's last event: the server finds the last block holding
	// one of its subjects in its per-subject index and reads that block
	// only. (A multi-subject "last of each" request reads the index of
	// every block, which grows with the log.) It is asked of the stream's
	// leader (lastFromLeader); the older events, which no write changes,
	// come by direct gets.
	lastMsg, err := l.lastFromLeader(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, domain.ErrNotFound
	}
	if err != nil {
		return nil, l.classify(ctx, op, err)
	}
	known := map[uint64]*jetstream.RawStreamMsg{lastMsg.Sequence: lastMsg}
	last := lastMsg.Sequence
	var chain []*jetstream.RawStreamMsg // newest first
	for seq := last; seq != 0; {
		m, ok := known[seq]
		if !ok {
			if m, err = l.getSeq(ctx, seq); err != nil {
				return nil, l.classify(ctx, op, err)
			}
		}
		if !strings.HasPrefix(m.Subject, prefix) {
			return nil, fmt.Errorf("eventlog: %s: event %d, the previous of %d, is %s's", op, seq, chain[len(chain)-1].Sequence, m.Subject)
		}
		chain = append(chain, m)
		prev := m.Header.Get(HeaderPrev)
		if prev == "" {
			// Stored before the chain existed: what came before it is
			// found by a scan.
			older, err := l.scan(ctx, subject, 1, m.Sequence)
			if err != nil {
				return nil, l.classify(ctx, op, err)
			}
			slices.Reverse(older)
			chain = append(chain, older...)
			break
		}
		if seq, err = strconv.ParseUint(prev, 10, 64); err != nil || seq >= m.Sequence {
			return nil, fmt.Errorf("eventlog: %s: event %d: bad %s %q", op, m.Sequence, HeaderPrev, prev)
		}
	}
	out := make([]domain.Record, 0, len(chain))
	for i := len(chain) - 1; i >= 0; i-- {
		m := chain[i]
		r, err := domain.Decode(m.Sequence, m.Subject, m.Data)
		if err != nil {
			return nil, fmt.Errorf("eventlog: %s: %w", op, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// lastFromLeader reads the last event on subject from the stream's
// leader ($JS.API.STREAM.MSG.GET), not by a direct get: on a replicated
// stream any replica answers a direct get, and one that has not yet stored
// the latest acknowledged write would hand an editor who just approved a
// conference its state from before (a 404 for its history, a stale
// version refused as a conflict). The leader has every acknowledged
// write, so a command or history read after a write sees it.
func (l *Log) lastFromLeader(ctx context.Context, subject string) (*jetstream.RawStreamMsg, error) {
	req, _ := json.Marshal(struct {
		LastFor string `json:"last_by_subj"`
	}{subject})
	prefix := l.js.Options().APIPrefix
	if prefix == "" {
		prefix = jetstream.DefaultAPIPrefix
	}
	resp, err := l.js.Conn().RequestWithContext(ctx, prefix+"STREAM.MSG.GET."+domain.StreamName, req)
	if err != nil {
		if errors.Is(err, nats.ErrNoResponders) {
			return nil, jetstream.ErrNoStreamResponse
		}
		return nil, err
	}
	var r struct {
		Error   *jetstream.APIError `json:"error"`
		Message *struct {
			Subject  string    `json:"subject"`
			Sequence uint64    `json:"seq"`
			Header   []byte    `json:"hdrs"`
			Data     []byte    `json:"data"`
			Time     time.Time `json:"time"`
		} `json:"message"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		return nil, fmt.Errorf("last event of %s: %w", subject, err)
	}
	if r.Error != nil {
		if r.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound {
			return nil, jetstream.ErrMsgNotFound
		}
		if r.Error.ErrorCode == jetstream.JSErrCodeStreamNotFound {
			return nil, jetstream.ErrStreamNotFound
		}
		return nil, r.Error
	}
	if r.Message == nil {
		return nil, jetstream.ErrInvalidJetStreamResponse
	}
	m := &jetstream.RawStreamMsg{Subject: r.Message.Subject, Sequence: r.Message.Sequence, Data: r.Message.Data, Time: r.Message.Time}
	if len(r.Message.Header) > 0 {
		if m.Header, err = nats.DecodeHeadersMsg(r.Message.Header); err != nil {
			return nil, fmt.Errorf("last event of %s: %w", subject, err)
		}
	}
	return m, nil
}

// getSeq reads the event at stream sequence seq (the stream denies
// deletes, so every sequence holds its event).
func (l *Log) getSeq(ctx context.Context, seq uint64) (*jetstream.RawStreamMsg, error) {
	msgs, err := jetstreamext.GetBatch(ctx, l.js, domain.StreamName, 1, jetstreamext.GetBatchSeq(seq))
	if err != nil {
		return nil, err
	}
	for m, err := range msgs {
		if err != nil {
			return nil, err
		}
		if m.Sequence != seq {
			return nil, fmt.Errorf("event %d not in the log (got %d)", seq, m.Sequence)
		}
		return m, nil
	}
	return nil, fmt.Errorf("event %d not in the log", seq)
}

// scan reads the events on subject from sequence from up to (not
// including) before, oldest first, by a subject-filtered read of the log:
// for events stored before HeaderPrev existed, and for LoadKind.
func (l *Log) scan(ctx context.Context, subject string, from, before uint64) ([]*jetstream.RawStreamMsg, error) {
	var out []*jetstream.RawStreamMsg
	next := from
	for {
		msgs, err := jetstreamext.GetBatch(ctx, l.js, domain.StreamName, 1000,
			jetstreamext.GetBatchSubject(subject), jetstreamext.GetBatchSeq(next))
		if err != nil {
			return nil, err
		}
		n := 0
		for m, err := range msgs {
			if errors.Is(err, jetstreamext.ErrNoMessages) {
				break
			}
			if err != nil {
				return nil, err
			}
			if m.Sequence >= before {
				return out, nil
			}
			out = append(out, m)
			next = m.Sequence + 1
			n++
		}
		// The server may answer fewer than asked before the end of a
		// large log (it bounds what one request scans): only an empty
		// answer is the end. (Load stopped at the first short answer
		// before, and read one event of three of some conferences in a
		// million-event log.)
		if n == 0 {
			return out, nil
		}
	}
}

// LoadKind reads the events of every aggregate of one kind stored after
// stream sequence after (0: all of them), in log order: for kinds that
// stay small (webhook subscriptions), whose readers fold all of them
// (domain.Fold per AggregateID) and, polling, ask only for what came since
// the last event they read. It scans the log by subject from after on.
func (l *Log) LoadKind(ctx context.Context, aggregate string, after uint64) ([]domain.Record, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	op := "load " + aggregate + "s"
	msgs, err := l.scan(ctx, domain.AggregateFilter(aggregate), after+1, math.MaxUint64)
	if err != nil {
		return nil, l.classify(ctx, op, err)
	}
	out := make([]domain.Record, 0, len(msgs))
	for _, m := range msgs {
		r, err := domain.Decode(m.Sequence, m.Subject, m.Data)
		if err != nil {
			return nil, fmt.Errorf("eventlog: %s: %w", op, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Fold loads the events of one aggregate of state S (domain.Conference,
// domain.Resource) and folds them into its state: the one "load and fold"
// of every aggregate. It answers as Load does: domain.ErrNotFound for an
// aggregate with no events.
//
//	c, recs, err := eventlog.Fold[domain.Conference](ctx, log, id)
func Fold[S any, P interface {
	*S
	domain.State
}](ctx context.Context, l *Log, id string) (*S, []domain.Record, error) {
	recs, err := l.Load(ctx, P(new(S)).AggregateKind(), id)
	if err != nil {
		return nil, nil, err
	}
	return domain.Fold[S, P](recs), recs, nil
}

// Metrics are the event log's Prometheus series.
type Metrics struct {
	appended *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// The last appends refused as full, in Unix nanoseconds.
	lastLogFull, lastStorageFull atomic.Int64
}

// RefusedSince reports whether an append was refused with full
// (domain.ErrLogFull or domain.ErrStorageFull) at or after t.
func (m *Metrics) RefusedSince(full error, t time.Time) bool {
	switch full {
	case domain.ErrLogFull:
		return m.lastLogFull.Load() >= t.UnixNano()
	case domain.ErrStorageFull:
		return m.lastStorageFull.Load() >= t.UnixNano()
	}
	return false
}

// NewMetrics registers the series on reg (nil: unregistered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		appended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "jevents", Name: "events_appended_total",
			Help: "Events appended to the log, by event type and outcome (ok, conflict, full, storage_full, unavailable, error).",
		}, []string{"type", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "jevents", Name: "append_duration_seconds",
			Help:    "Time from the start of an append to the JetStream acknowledgement, by event type.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"type"}),
	}
	if reg != nil {
		reg.MustRegister(m.appended, m.latency)
	}
	return m
}

func (m *Metrics) observe(typ string, d time.Duration, err error) {
	outcome := "ok"
	var ve *domain.VersionError
	switch {
	case err == nil:
	case errors.As(err, &ve):
		outcome = "conflict"
	case errors.Is(err, domain.ErrLogFull):
		outcome = "full"
		m.lastLogFull.Store(time.Now().UnixNano())
	case errors.Is(err, domain.ErrStorageFull):
		outcome = "storage_full"
		m.lastStorageFull.Store(time.Now().UnixNano())
	case errors.Is(err, domain.ErrUnavailable):
		outcome = "unavailable"
	default:
		outcome = "error"
	}
	m.appended.WithLabelValues(typ, outcome).Inc()
	if err == nil {
		m.latency.WithLabelValues(typ).Observe(d.Seconds())
	}
}
