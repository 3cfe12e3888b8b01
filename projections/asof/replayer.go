package asof

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/internal/httpcache"
	"github.com/justiceevents/jevents/projections/engine"
)

// Config bounds what the replayer spends. Zero fields take the defaults.
type Config struct {
	// Models are the read models snapshots hold: those feed servers
	// hold, each as its servers hold it.
	Models []engine.Model
	// MaxEvents is the most events one request may replay (default
	// 5,000,000).
	MaxEvents uint64
	// Timeout is the longest one request may replay (default 30 s).
	Timeout time.Duration
	// Queue is how many requests may wait while one replays (default 4).
	Queue int
	// CacheBytes bounds the compressed snapshots and checkpoints kept
	// (default 64 MiB).
	CacheBytes int64
	// CheckpointEvery is how many events apart checkpoints are kept
	// (default 50,000).
	CheckpointEvery uint64
}

// DefaultMaxEvents is Config.MaxEvents' default.
const DefaultMaxEvents = 5_000_000

func (c *Config) defaults() {
	if c.MaxEvents == 0 {
		c.MaxEvents = DefaultMaxEvents
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Queue <= 0 {
		c.Queue = 4
	}
	if c.CacheBytes <= 0 {
		c.CacheBytes = 64 << 20
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = 50_000
	}
}

// Replayer folds prefixes of the log into snapshots. Safe for concurrent
// use; replays run one at a time.
type Replayer struct {
	js      jetstream.JetStream
	cfg     Config
	log     *slog.Logger
	metrics *Metrics

	slots chan struct{} // a request's place: the one replaying and those waiting
	turn  chan struct{} // the one replay under way

	mu     sync.Mutex             // guards what follows
	stream time.Time              // the stream the kept state belongs to
	cur    *state                 // the last replay's folds (nil: none)
	points []*checkpoint          // by sequence
	snaps  *httpcache.LRU[[]byte] // encoded snapshots by sequence
	ends   *httpcache.LRU[uint64] // the prefix's end by settled instant
}

// state is the models folded up to seq.
type state struct {
	folds []engine.Fold
	seq   uint64
	// latest is the latest envelope time among the events folded: the
	// state is a prefix of an instant's prefix when latest is not after
	// the instant.
	latest time.Time
	wants  map[string][]bool // by subject kind, one per fold
}

// checkpoint is a state kept encoded (every key of every model, gzipped).
type checkpoint struct {
	seq    uint64
	latest time.Time
	data   []byte
}

// NewReplayer returns a replayer over the event log; metrics may be nil.
func NewReplayer(js jetstream.JetStream, cfg Config, log *slog.Logger, m *Metrics) *Replayer {
	cfg.defaults()
	if m == nil {
		m = NewMetrics(nil)
	}
	r := &Replayer{js: js, cfg: cfg, log: log.With(slog.String("component", "asof")), metrics: m,
		slots: make(chan struct{}, cfg.Queue+1), turn: make(chan struct{}, 1)}
	r.snaps = httpcache.NewLRU[[]byte](cfg.CacheBytes/2, nil)
	r.ends = httpcache.NewLRU[uint64](1<<20, nil) // 16k instants at 64 bytes
	return r
}

// Snapshot returns the models as of at, encoded (gzipped JSON of a
// Snapshot), and the prefix they hold.
func (r *Replayer) Snapshot(ctx context.Context, at time.Time) (Ref, []byte, error) {
	start := time.Now()
	ref, data, outcome, err := r.snapshot(ctx, at)
	r.metrics.requests.WithLabelValues(outcome).Inc()
	r.metrics.seconds.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
	return ref, data, err
}

func (r *Replayer) snapshot(ctx context.Context, at time.Time) (Ref, []byte, string, error) {
	at = at.UTC()
	now := time.Now()
	if at.After(now) {
		return Ref{}, nil, "future", ErrFuture
	}
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	default:
		return Ref{}, nil, "busy", ErrBusy
	}
	id, _, err := engine.Stream(ctx, r.js)
	if err != nil {
		return Ref{}, nil, "unavailable", fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	settled := now.Sub(at) >= Settle
	atKey := at.Format(time.RFC3339Nano)
	if data, seq, ok := r.cached(id.Created, atKey, settled); ok {
		return Ref{id.Created, seq}, data, "cached", nil
	}
	// One replay at a time; the others wait their turn here.
	select {
	case r.turn <- struct{}{}:
		defer func() { <-r.turn }()
	case <-ctx.Done():
		return Ref{}, nil, "busy", fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
	if data, seq, ok := r.cached(id.Created, atKey, settled); ok { // made while this one waited
		return Ref{id.Created, seq}, data, "cached", nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	st, err := r.startFor(at)
	if err != nil {
		return Ref{}, nil, "error", err
	}
	from := st.seq
	events := uint64(0)
	over := false
	_, _, err = engine.Replay(ctx, r.js, st.seq+1, func(rd engine.Read) bool {
		if rd.DecodeErr == nil && rd.Record.Time.After(at) {
			return false // the first event stamped after the instant ends the prefix
		}
		if events++; events > r.cfg.MaxEvents {
			over = true
			return false
		}
		st.apply(rd)
		if rd.Seq%r.cfg.CheckpointEvery == 0 {
			r.keep(st)
		}
		return true
	})
	r.metrics.events.Add(float64(st.seq - from))
	r.mu.Lock()
	r.cur = st // where the folds are, whatever happened
	r.mu.Unlock()
	switch {
	case over:
		return Ref{}, nil, "over_budget", fmt.Errorf("%w: the instant needs more than %d events replayed", ErrOverBudget, r.cfg.MaxEvents)
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return Ref{}, nil, "over_budget", fmt.Errorf("%w: replaying took more than %v (at sequence %d)", ErrOverBudget, r.cfg.Timeout, st.seq)
	case engine.IsStreamMissing(err):
		return Ref{}, nil, "unavailable", fmt.Errorf("%w: %w", ErrUnavailable, err)
	case err != nil:
		return Ref{}, nil, "error", fmt.Errorf("asof: replay to %s: %w", atKey, err)
	}
	data, err := st.encode(at, id.Created)
	if err != nil {
		return Ref{}, nil, "error", err
	}
	r.mu.Lock()
	if r.stream.Equal(id.Created) {
		r.snaps.Put(seqKey(st.seq), data, int64(len(data)))
		if settled {
			r.ends.Put(atKey, st.seq, 64)
		}
	}
	r.mu.Unlock()
	r.log.Debug("as-of snapshot made", slog.String("as_of", atKey), slog.Uint64("seq", st.seq),
		slog.Uint64("replayed", st.seq-from), slog.Int("bytes", len(data)))
	return Ref{id.Created, st.seq}, data, "replayed", nil
}

// cached returns a snapshot made before, for the stream created at stream;
// it forgets everything kept for another stream.
func (r *Replayer) cached(stream time.Time, atKey string, settled bool) ([]byte, uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stream.Equal(stream) {
		r.stream, r.cur, r.points = stream, nil, nil
		r.snaps.Clear()
		r.ends.Clear()
		return nil, 0, false
	}
	if !settled {
		return nil, 0, false
	}
	seq, ok := r.ends.Get(atKey)
	if !ok {
		return nil, 0, false
	}
	data, ok := r.snaps.Get(seqKey(seq))
	return data, seq, ok
}

func seqKey(seq uint64) string { return strconv.FormatUint(seq, 10) }

// startFor returns the state a replay to at resumes from: the last
// replay's, or the latest checkpoint, that holds no event stamped after
// at; else empty folds.
func (r *Replayer) startFor(at time.Time) (*state, error) {
	r.mu.Lock()
	cur := r.cur
	var best *checkpoint
	for _, p := range r.points {
		if !p.latest.After(at) && (best == nil || p.seq > best.seq) {
			best = p
		}
	}
	r.mu.Unlock()
	if cur != nil && !cur.latest.After(at) && (best == nil || cur.seq >= best.seq) {
		return cur, nil
	}
	st := r.empty()
	if best == nil {
		return st, nil
	}
	if err := st.load(best); err != nil {
		return nil, err
	}
	return st, nil
}

func (r *Replayer) empty() *state {
	st := &state{wants: map[string][]bool{}}
	for _, m := range r.cfg.Models {
		st.folds = append(st.folds, m.NewFold())
	}
	return st
}

// apply folds one event into every model that consumes it.
func (st *state) apply(rd engine.Read) {
	kind := subjectKind(rd.Subject)
	w, ok := st.wants[kind]
	if !ok {
		w = make([]bool, len(st.folds))
		for i, f := range st.folds {
			w[i] = f.Wants(rd.Subject)
		}
		st.wants[kind] = w
	}
	for i, f := range st.folds {
		if w[i] {
			f.Apply(rd.Record, rd.DecodeErr)
		}
	}
	if rd.DecodeErr == nil && rd.Record.Time.After(st.latest) {
		st.latest = rd.Record.Time
	}
	st.seq = rd.Seq
}

// subjectKind is events.<aggregate>.*.<type>: what decides which
// projections consume an event.
func subjectKind(subject string) string {
	parts := strings.SplitN(subject, ".", 4)
	if len(parts) == 4 {
		return parts[0] + "." + parts[1] + ".*." + parts[3]
	}
	return subject
}

// keep stores a checkpoint of st, within the cache's budget: the oldest
// checkpoints (but the first) give way.
func (r *Replayer) keep(st *state) {
	models := map[string]map[string]json.RawMessage{}
	for _, f := range st.folds {
		v, err := f.Encode(true)
		if err != nil {
			r.log.Warn("as-of checkpoint not kept", slog.Any("err", err))
			return
		}
		models[f.Name()] = v
	}
	data, err := gz(models)
	if err != nil {
		return
	}
	p := &checkpoint{seq: st.seq, latest: st.latest, data: data}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.points = append(r.points, p)
	budget := r.cfg.CacheBytes / 2
	for total := r.pointBytes(); total > budget && len(r.points) > 1; total = r.pointBytes() {
		r.points = append(r.points[:1:1], r.points[2:]...)
	}
	r.metrics.cacheBytes.Set(float64(r.pointBytes() + r.snaps.Bytes()))
}

func (r *Replayer) pointBytes() int64 {
	var n int64
	for _, p := range r.points {
		n += int64(len(p.data))
	}
	return n
}

// load makes st the checkpoint's state.
func (st *state) load(p *checkpoint) error {
	var models map[string]map[string]json.RawMessage
	if err := ungz(p.data, &models); err != nil {
		return fmt.Errorf("asof: checkpoint at %d: %w", p.seq, err)
	}
	for _, f := range st.folds {
		if err := f.Load(models[f.Name()]); err != nil {
			return err
		}
	}
	st.seq, st.latest = p.seq, p.latest
	return nil
}

// encode makes the snapshot of st: the keys servers hold.
func (st *state) encode(at, stream time.Time) ([]byte, error) {
	s := Snapshot{AsOf: at, Seq: st.seq, Stream: stream, Models: map[string]map[string]json.RawMessage{}}
	for _, f := range st.folds {
		v, err := f.Encode(false)
		if err != nil {
			return nil, err
		}
		s.Models[f.Name()] = v
	}
	return gz(s)
}

func gz(v any) ([]byte, error) {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func ungz(data []byte, v any) error {
	r, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return err
	}
	defer r.Close()
	return json.NewDecoder(io.LimitReader(r, 4<<30)).Decode(v)
}

// Decode reads an encoded snapshot.
func Decode(data []byte) (*Snapshot, error) {
	var s Snapshot
	if err := ungz(data, &s); err != nil {
		return nil, fmt.Errorf("asof: decode snapshot: %w", err)
	}
	return &s, nil
}

// Metrics are the replayer's Prometheus series.
type Metrics struct {
	requests   *prometheus.CounterVec
	seconds    *prometheus.HistogramVec
	events     prometheus.Counter
	cacheBytes prometheus.Gauge
}

// NewMetrics registers the series on reg (nil: unregistered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "asof", Name: "snapshots_total",
			Help: "As-of snapshot requests answered by this projector, by outcome (cached, replayed, busy, over_budget, future, unavailable, error)."}, []string{"outcome"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "jevents", Subsystem: "asof", Name: "snapshot_duration_seconds",
			Help:    "Time to answer an as-of snapshot request (replay, encoding), by outcome.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"outcome"}),
		events: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "asof", Name: "replayed_events_total",
			Help: "Events folded by as-of replays."}),
		cacheBytes: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "asof", Name: "cache_bytes",
			Help: "Bytes of compressed as-of snapshots and checkpoints this projector keeps."}),
	}
	for _, o := range []string{"cached", "replayed", "busy", "over_budget", "future", "unavailable", "error"} {
		m.requests.WithLabelValues(o)
		m.seconds.WithLabelValues(o)
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.seconds, m.events, m.cacheBytes)
	}
	return m
}
