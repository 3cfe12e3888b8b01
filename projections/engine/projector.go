package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/justiceevents/jevents/domain"
)

// Projection folds events into read-model values of type V. Its Name is a
// constant: it names the buckets, the pointer and the metrics, and renaming
// it starts an empty read model.
type Projection[V any] interface {
	// Name is the projection's constant name ([a-z]+).
	Name() string
	// Subjects are the event subjects the projection consumes.
	Subjects() []string
	// Apply folds one event into the model through tx. It is called from one
	// goroutine, in stream order. Values got from tx may be modified in place
	// but must be Put to be written. An error skips the event (it is counted
	// and logged as poison) and must leave tx as it was.
	Apply(tx *Tx[V], r domain.Record) error
}

// Forgetful is implemented by a projection whose model holds keys it
// writes once and never reads again (an append-only log, such as the
// public change stream of projections/changes): once encoded for a commit
// they leave the projector's memory, and loading a generation skips them.
// Their readers read them from the bucket's stream. A commit that fails
// restarts the projector from the bucket, so nothing forgotten is lost.
//
// Remembered names, as KV key filters (NATS wildcards: "state.>"), every
// key the projection does not forget: a generation is loaded by watching
// only those (and the checkpoint), so start-up reads none of the records
// forgotten, however many the bucket holds.
type Forgetful interface {
	Forget(key string) bool
	Remembered() []string
}

// Tx is the projection's view of the model while it applies events.
type Tx[V any] struct {
	values map[string]V
	dirty  map[string]struct{}
	forget func(key string) bool // Forgetful's, or nil
}

// NewTx returns an empty model, for testing a projection's Apply on its own.
func NewTx[V any]() *Tx[V] {
	return &Tx[V]{values: map[string]V{}, dirty: map[string]struct{}{}}
}

// Get returns the value of key.
func (tx *Tx[V]) Get(key string) (V, bool) {
	v, ok := tx.values[key]
	return v, ok
}

// Put sets the value of key; it is written with the next commit.
func (tx *Tx[V]) Put(key string, v V) {
	tx.values[key] = v
	tx.dirty[key] = struct{}{}
}

// Delete removes key; the deletion is written with the next commit (a KV
// delete marker, which replicas apply and a bucket's later readers skip).
func (tx *Tx[V]) Delete(key string) {
	if _, ok := tx.values[key]; !ok {
		return
	}
	delete(tx.values, key)
	tx.dirty[key] = struct{}{}
}

// Range calls fn for every key until fn returns false, in no fixed order.
func (tx *Tx[V]) Range(fn func(key string, v V) bool) {
	for k, v := range tx.values {
		if !fn(k, v) {
			return
		}
	}
}

// maxBatchKeys leaves room for the checkpoint in the server's limit of 1000
// messages per atomic batch.
const maxBatchKeys = 999

// rebuildReportEvery is how often a rebuild logs its progress.
const rebuildReportEvery = 5 * time.Second

// flushAfter bounds how long applied events wait for their commit while more
// events keep arriving.
const flushAfter = 50 * time.Millisecond

// errFenced means another writer moved the checkpoint.
var errFenced = errors.New("readmodel: checkpoint moved by another writer")

// Projector runs one projection into the active generation of its read model.
type Projector[V any] struct {
	js      jetstream.JetStream
	proj    Projection[V]
	cfg     BucketConfig
	log     *slog.Logger
	metrics *Metrics

	id string // names this instance in the lease

	// progress, when set, is told how far a rebuild's replay is.
	progress Progress

	mu       sync.Mutex    // guards closing caughtUp
	caughtUp chan struct{} // closed once the model has caught up with the log
}

// NewProjector returns a projector; metrics may be nil.
func NewProjector[V any](js jetstream.JetStream, p Projection[V], cfg BucketConfig, log *slog.Logger, m *Metrics) *Projector[V] {
	if m == nil {
		m = NewMetrics(nil)
	}
	host, _ := os.Hostname()
	id := fmt.Sprintf("%s-%d-%08x", host, os.Getpid(), rand.Uint32())
	return &Projector[V]{js: js, proj: p, cfg: cfg, log: log.With(slog.String("projection", p.Name())), metrics: m,
		id: id, caughtUp: make(chan struct{})}
}

// CaughtUp is closed once the projector has applied every event that was in
// the log when it started.
func (p *Projector[V]) CaughtUp() <-chan struct{} { return p.caughtUp }

func (p *Projector[V]) markCaughtUp() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.caughtUp:
	default:
		close(p.caughtUp)
		p.metrics.caughtUp.WithLabelValues(p.proj.Name()).Set(1)
	}
}

// Run applies events until ctx ends, while this projector holds the
// projection's lease; without it, it stands by and takes over when the
// holder stops renewing. It follows the active generation (a rebuild moves
// it), and after a fence or an error it reloads the model from its bucket
// and goes on from the checkpoint there.
//
// The lease only keeps projectors from wasting work on each other; the
// conditional checkpoint is what keeps a stale one from ever writing.
func (p *Projector[V]) Run(ctx context.Context) error {
	name := p.proj.Name()
	var leases jetstream.KeyValue
	for backoff := 100 * time.Millisecond; leases == nil; backoff = min(2*backoff, 5*time.Second) {
		var err error
		if leases, err = leasesKV(ctx, p.js, p.cfg); err != nil {
			p.log.Warn("lease bucket unavailable; retrying", slog.Any("err", err))
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
		}
	}
	for ctx.Err() == nil {
		rev, err := p.acquire(ctx, leases)
		if err != nil {
			return nil
		}
		p.log.Info("active: holding the lease", slog.String("instance", p.id))
		p.metrics.active.WithLabelValues(name).Set(1)
		lead, cancel := context.WithCancelCause(ctx)
		go p.hold(lead, leases, rev, cancel)
		p.lead(lead)
		cancel(nil)
		p.metrics.active.WithLabelValues(name).Set(0)
		if ctx.Err() != nil {
			p.release(leases)
			return nil
		}
		p.log.Warn("lost the lease; standing by", slog.Any("cause", context.Cause(lead)))
	}
	return nil
}

// lead applies events until ctx ends.
func (p *Projector[V]) lead(ctx context.Context) {
	name := p.proj.Name()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := p.runActive(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := backoff
		var replaced *StreamReplacedError
		switch {
		case errors.Is(err, errPointerMoved):
			p.log.Info("active generation moved; reloading")
			backoff = 100 * time.Millisecond
			continue
		case errors.As(err, &replaced), errors.Is(err, errModelMissing):
			if p.rebuildAfterReset(ctx, err) {
				backoff = 100 * time.Millisecond
				continue
			}
			backoff = min(2*backoff, 5*time.Second)
		case errors.Is(err, errStreamMissing):
			p.log.Error("the event stream is missing: nothing is applied until it is back (`jevents setup` creates it)",
				slog.Duration("backoff", backoff))
			backoff = min(2*backoff, 5*time.Second)
		case errors.Is(err, errFenced):
			// Another writer is ahead: reload at once, with a little jitter
			// so that two projectors do not keep colliding.
			p.metrics.fenced.WithLabelValues(name).Inc()
			p.log.Warn("fenced: another projector committed first; reloading")
			wait = time.Duration(rand.Int64N(int64(100 * time.Millisecond)))
		default:
			p.log.Error("projector stopped; retrying", slog.Any("err", err), slog.Duration("backoff", backoff))
			backoff = min(2*backoff, 5*time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

var errPointerMoved = errors.New("readmodel: active generation moved")

// rebuildAfterReset answers a read model that cannot go on: the event
// stream was replaced, or the active generation's bucket is gone. It
// rebuilds the model from the log into a new generation and switches to it
// (Rebuild), and reports whether it did. Where this projector may not (on
// a cluster only the admin user moves the pointer) it says so loudly each
// time, and jevents_projector_stream_replaced stays 1 until someone runs
// `jevents rebuild`.
func (p *Projector[V]) rebuildAfterReset(ctx context.Context, cause error) bool {
	name := p.proj.Name()
	p.metrics.streamReplaced.WithLabelValues(name).Set(1)
	p.log.Error("the read model does not match the event log: rebuilding it from the log", slog.Any("cause", cause))
	bucket, seq, err := Rebuild(ctx, p.js, p.proj, p.cfg, p.log, p.metrics)
	if err != nil {
		if ctx.Err() == nil {
			p.log.Error("cannot rebuild the read model: it stays as it was and nothing is applied; run `jevents rebuild` with the admin user",
				slog.Any("err", err))
		}
		return false
	}
	p.metrics.streamReplaced.WithLabelValues(name).Set(0)
	p.log.Warn("read model rebuilt from the event log", slog.String("bucket", bucket), slog.Uint64("seq", seq))
	return true
}

// runActive applies events into the active generation until the pointer
// moves, a commit is fenced or an error happens.
func (p *Projector[V]) runActive(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	meta, err := metaKV(cctx, p.js, p.cfg)
	if err != nil {
		cancel()
		return err
	}
	bucket, _, err := activeBucket(cctx, p.js, meta, p.proj.Name(), p.cfg, true)
	cancel()
	if err != nil {
		return err
	}
	// The watch starts with the pointer's current value: a switch between
	// the read above and the watch is seen too.
	w, err := meta.Watch(ctx, PointerKey(p.proj.Name()))
	if err != nil {
		return fmt.Errorf("readmodel: watch pointer: %w", err)
	}
	defer w.Stop()
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	go func() {
		for e := range w.Updates() {
			if e != nil && string(e.Value()) != bucket {
				stop(errPointerMoved)
				return
			}
		}
	}()
	_, err = p.runGeneration(runCtx, bucket, false)
	if cause := context.Cause(runCtx); errors.Is(cause, errPointerMoved) {
		return errPointerMoved
	}
	return err
}

// runGeneration folds events into bucket from its checkpoint. With
// untilCaughtUp it returns once every event in the log is committed, with
// the checkpoint's sequence.
func (p *Projector[V]) runGeneration(ctx context.Context, bucket string, untilCaughtUp bool) (uint64, error) {
	name := p.proj.Name()
	id, last, err := streamState(ctx, p.js)
	if err != nil {
		return 0, err
	}
	var kv jetstream.KeyValue
	if untilCaughtUp {
		kv, err = ensureBucket(ctx, p.js, bucket, p.cfg) // a rebuild's new generation
	} else {
		kv, err = openBucket(ctx, p.js, bucket, p.cfg)
	}
	if err != nil {
		return 0, err
	}
	var st *loaded[V]
	if f, ok := p.proj.(Forgetful); ok {
		st, err = loadKeys[V](ctx, kv, append(f.Remembered(), CheckpointKey))
	} else {
		st, err = load[V](ctx, kv)
	}
	if err != nil {
		return 0, err
	}
	if err := checkStream(bucket, st.checkpoint, id, last); err != nil {
		return 0, err
	}
	if !untilCaughtUp {
		p.metrics.streamReplaced.WithLabelValues(name).Set(0)
	}
	tx := &Tx[V]{values: st.values, dirty: map[string]struct{}{}}
	if f, ok := p.proj.(Forgetful); ok {
		tx.forget = f.Forget
	}
	committed, rev := st.checkpoint.Seq, st.cpRevision
	p.setApplied(committed)

	// From here on the stream is watched: removed or replaced, the
	// projector stops at once (stream.go).
	wctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	go watchStream(wctx, p.js, bucket, id, stop)
	ctx = wctx
	if st.checkpoint.Stream == nil {
		// A new generation, or a checkpoint from before checkpoints named
		// their stream: say which stream the model is folded from.
		if rev, err = p.commit(ctx, bucket, nil, committed, rev, id); err != nil {
			return committed, err
		}
	}

	// An ordered consumer, named after what reads (consumerPrefix), so that
	// `nats consumer report JEVENTS` shows each projector's: the checkpoint
	// in the read model is the truth, not a durable consumer's state
	// (deploy/README.md: "Operators' view of the projectors").
	cons, err := p.js.OrderedConsumer(ctx, domain.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: p.proj.Subjects(),
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    committed + 1,
		NamePrefix:     consumerPrefix(untilCaughtUp, name, p.id),
		Metadata:       map[string]string{"jevents_projection": name, "jevents_bucket": bucket, "jevents_instance": p.id},
	})
	if err != nil {
		return 0, fmt.Errorf("readmodel: %s consumer: %w", name, err)
	}
	// The lag metrics are computed from this run's progress when they are
	// read (lag.go).
	prog := &progress{}
	prog.start(storedAfterIn(p.js, p.proj.Subjects()), committed)
	p.metrics.lag.attach(name, prog)
	defer p.metrics.lag.detach(name, prog)
	info, err := cons.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("readmodel: %s consumer info: %w", name, err)
	}
	if info.NumPending == 0 {
		if untilCaughtUp {
			return committed, nil
		}
		p.markCaughtUp()
	}
	p.log.Info("projecting", slog.String("bucket", bucket), slog.Uint64("from_seq", committed+1), slog.Uint64("pending", info.NumPending))
	if p.progress != nil {
		p.progress(name, committed, max(last, committed))
	}

	// Events are decoded on the consumer's goroutine, beside the one that
	// applies and commits: decoding is the larger half of the work.
	msgs := make(chan delivered, 2*maxBatchKeys)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		d := delivered{}
		d.md, d.err = m.Metadata()
		if d.err == nil {
			prog.received(d.md)
			d.rec, d.decodeErr = domain.DecodeTyped(d.md.Sequence.Stream, m.Subject(), m.Headers().Get(domain.HeaderEventType), m.Data())
		}
		select {
		case msgs <- d:
		case <-ctx.Done():
		}
	}, jetstream.PullMaxMessages(2*maxBatchKeys))
	if err != nil {
		return 0, fmt.Errorf("readmodel: %s consume: %w", name, err)
	}
	defer cc.Stop()

	// Commits are pipelined: while one batch is on its way to the server,
	// the next one is being applied. At most one commit is in flight,
	// because each commit's checkpoint condition needs the revision the
	// previous one produced. Events that arrive while a commit is in flight
	// go into the next one, so a projector that keeps up with a burst
	// commits in groups instead of waiting for one commit per event (issue
	// 16 measured 230-430 events/s against a 1.5-1.9k/s intake when every
	// event that arrived alone was committed, and waited for, on its own).
	var (
		pending  uint64 // last applied event
		launched uint64 // last event handed to a commit
		applied  uint64 // events received since the last launch
		idle     bool   // nothing was waiting after the last applied event
		flight   *inflight
		timer    = time.NewTimer(time.Hour)
	)
	timer.Stop()
	started, startSeq, lastReport := time.Now(), committed, time.Now()
	// settle waits for the commit in flight and takes its result.
	settle := func() error {
		if flight == nil {
			return nil
		}
		<-flight.done
		f := flight
		flight = nil
		if f.err != nil {
			return f.err
		}
		p.metrics.commitSeconds.WithLabelValues(name).Observe(f.took.Seconds())
		committed, rev = f.seq, f.rev
		prog.committedTo(committed, f.events)
		p.setApplied(committed)
		switch {
		case p.progress != nil:
			// A command's rebuild reports to its terminal (jevents
			// rebuild: a redrawn line, or a line every few seconds).
			p.progress(name, committed, max(last, committed))
		case untilCaughtUp && time.Since(lastReport) >= rebuildReportEvery:
			// A rebuild inside the service says how far it is in the log
			// (issue 16: a 105k-event rebuild showed nothing for seconds
			// on end).
			lastReport = time.Now()
			lag, _ := prog.read(ctx)
			p.log.Info("rebuilding", slog.String("bucket", bucket), slog.Uint64("committed_seq", committed),
				slog.Uint64("events_left", lag.events), slog.Float64("events_per_second", float64(committed-startSeq)/time.Since(started).Seconds()))
		}
		return nil
	}
	// flush hands what was applied since the last flush to a commit.
	flush := func() error {
		if pending <= launched {
			return nil
		}
		batch, err := encodeDirty(tx)
		if err != nil {
			return err
		}
		if err := settle(); err != nil {
			return err
		}
		f := &inflight{seq: pending, events: applied, done: make(chan struct{})}
		flight, launched, applied = f, pending, 0
		go func(rev uint64) {
			defer close(f.done)
			start := time.Now()
			f.rev, f.err = p.commit(ctx, bucket, batch, f.seq, rev, id)
			f.took = time.Since(start)
		}(rev)
		return nil
	}
	// caughtUp is reached when nothing waits: every applied event committed.
	caughtUp := func() bool {
		if !idle || flight != nil || pending > committed {
			return false
		}
		if !untilCaughtUp {
			p.markCaughtUp()
		}
		return untilCaughtUp
	}
	defer func() { _ = settle() }() // never leave a commit behind
	launched = committed
	for {
		var landed <-chan struct{}
		if flight != nil {
			landed = flight.done
		}
		select {
		case <-ctx.Done():
			return committed, context.Cause(ctx)
		case <-timer.C:
			if err := flush(); err != nil {
				return committed, err
			}
			if err := settle(); err != nil {
				return committed, err
			}
			if caughtUp() {
				return committed, nil
			}
		case <-landed:
			if err := settle(); err != nil {
				return committed, err
			}
			if idle {
				// What was applied while the commit was on its way
				// goes now.
				timer.Stop()
				if err := flush(); err != nil {
					return committed, err
				}
			}
			if caughtUp() {
				return committed, nil
			}
		case d := <-msgs:
			if d.err != nil {
				return committed, fmt.Errorf("readmodel: %s metadata: %w", name, d.err)
			}
			md := d.md
			seq := md.Sequence.Stream
			if seq <= pending || seq <= committed {
				prog.dropped(1)
				continue // never apply an event twice
			}
			p.apply(tx, seq, d.rec, d.decodeErr)
			if pending <= launched {
				timer.Reset(flushAfter)
			}
			pending = seq
			applied++
			// More to come: the server has more, or they wait in the
			// buffer. (The server's count alone is 0 for every event that
			// was delivered as soon as it was stored.)
			idle = md.NumPending == 0 && len(msgs) == 0
			if !idle {
				if len(tx.dirty) < maxBatchKeys {
					continue
				}
				timer.Stop()
				if err := flush(); err != nil {
					return committed, err
				}
				continue
			}
			// Nothing waits: commit now, so the change is visible at once;
			// if a commit is still on its way, this one follows when it
			// lands.
			if flight == nil {
				timer.Stop()
				if err := flush(); err != nil {
					return committed, err
				}
			}
		}
	}
}

// consumerPrefix names a projector's ordered consumer on the log:
// jevents-projector-<projection>-<instance>-<random> (jevents-rebuild-… for
// a rebuild), with every character a consumer name may not hold replaced;
// the consumer adds _1, _2, … as it is recreated. The random part keeps a
// new consumer of the same projector (after a fence or a switch) from
// taking the name of one the server has not removed yet.
func consumerPrefix(rebuild bool, projection, instance string) string {
	kind := "projector"
	if rebuild {
		kind = "rebuild"
	}
	b := fmt.Appendf(nil, "jevents-%s-%s-%s-%04x", kind, projection, instance, rand.Uint32()&0xffff)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '-'
		}
	}
	return string(b)
}

// delivered is one event as the consumer delivered and decoded it.
type delivered struct {
	md        *jetstream.MsgMetadata
	err       error // no metadata: not a JetStream message
	rec       domain.Record
	decodeErr error // poison: applied as a skip
}

// inflight is a commit on its way to the server.
type inflight struct {
	seq    uint64 // checkpoint it writes
	events uint64 // events it commits
	rev    uint64 // checkpoint's revision once committed
	err    error
	took   time.Duration
	done   chan struct{}
}

// entry is one encoded key of a commit; a nil value deletes the key.
type entry struct {
	key   string
	value []byte
}

// encodeDirty encodes the keys changed since the last commit, sorted, and
// forgets them: later changes to the same keys go into the next commit.
func encodeDirty[V any](tx *Tx[V]) ([]entry, error) {
	out := make([]entry, 0, len(tx.dirty))
	for k := range tx.dirty {
		v, ok := tx.values[k]
		if !ok {
			out = append(out, entry{k, nil})
			continue
		}
		data, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("readmodel: encode %s: %w", k, err)
		}
		out = append(out, entry{k, data})
		if tx.forget != nil && tx.forget(k) {
			delete(tx.values, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	clear(tx.dirty)
	return out, nil
}

// apply decodes and folds one event; an event that does not decode or apply
// is poison: it is skipped, counted and logged, the same way on every replay.
func (p *Projector[V]) apply(tx *Tx[V], seq uint64, r domain.Record, err error) {
	name := p.proj.Name()
	if err == nil {
		err = p.proj.Apply(tx, r)
	}
	if err != nil {
		p.metrics.events.WithLabelValues(name, "skipped").Inc()
		p.log.Error("skipping event that cannot be applied", slog.Uint64("seq", seq), slog.Any("err", err))
		return
	}
	p.metrics.events.WithLabelValues(name, "applied").Inc()
}

// kvOperationHeader marks a KV delete (nats.go's own constant is
// unexported).
const kvOperationHeader = "KV-Operation"

// commit writes the encoded keys and the checkpoint in one atomic batch;
// the checkpoint write expects the checkpoint's current revision.
func (p *Projector[V]) commit(ctx context.Context, bucket string, batch []entry, seq, rev uint64, stream StreamID) (uint64, error) {
	b, err := jetstreamext.NewBatchPublisher(p.js)
	if err != nil {
		return 0, err
	}
	prefix := "$KV." + bucket + "."
	for _, e := range batch {
		var err error
		if e.value == nil {
			m := nats.NewMsg(prefix + e.key)
			m.Header.Set(kvOperationHeader, "DEL")
			err = b.AddMsg(m)
		} else {
			err = b.Add(prefix+e.key, e.value)
		}
		if err != nil {
			_ = b.Discard()
			return 0, fmt.Errorf("readmodel: commit %s: %w", bucket, err)
		}
	}
	cp, _ := json.Marshal(Checkpoint{Seq: seq, Stream: &stream})
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ack, err := b.Commit(cctx, prefix+CheckpointKey, cp, jetstreamext.WithBatchExpectLastSequencePerSubject(rev))
	if err != nil {
		if isWrongLastSeq(err) {
			return 0, errFenced
		}
		return 0, fmt.Errorf("readmodel: commit %s at seq %d: %w", bucket, seq, err)
	}
	return ack.Sequence, nil
}

func (p *Projector[V]) setApplied(seq uint64) {
	p.metrics.lag.setApplied(p.proj.Name(), seq)
}

// Rebuild replays the whole log into a new generation of the projection's
// read model and, once it has caught up, makes it the active one. Servers
// keep serving the old generation until the switch; projectors and replicas
// follow the pointer. It returns the new bucket and its checkpoint.
func Rebuild[V any](ctx context.Context, js jetstream.JetStream, proj Projection[V], cfg BucketConfig, log *slog.Logger, m *Metrics, opts ...RebuildOption) (string, uint64, error) {
	var o rebuildOptions
	for _, opt := range opts {
		opt(&o)
	}
	name := proj.Name()
	meta, err := metaKV(ctx, js, cfg)
	if err != nil {
		return "", 0, err
	}
	cur, rev, err := activeBucket(ctx, js, meta, name, cfg, true)
	if err != nil {
		return "", 0, err
	}
	gen, err := generation(name, cur)
	if err != nil {
		return "", 0, err
	}
	next := bucketName(name, gen+1)
	// A bucket left by an interrupted rebuild is started over.
	if err := js.DeleteKeyValue(ctx, next); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return "", 0, fmt.Errorf("readmodel: clear %s: %w", next, err)
	}
	p := NewProjector(js, proj, cfg, log, m)
	p.progress = o.progress
	seq, err := p.runGeneration(ctx, next, true)
	if err != nil {
		return "", 0, err
	}
	if _, err := meta.Update(ctx, PointerKey(name), []byte(next), rev); err != nil {
		return "", 0, fmt.Errorf("readmodel: switch %s to %s (another rebuild ran?): %w", name, next, err)
	}
	removeOldGenerations(ctx, js, name, gen+1, log)
	return next, seq, nil
}

// removeOldGenerations deletes every generation of the read model before
// gen, once gen is the active one: what they hold is in gen, and storage
// counts only the active generation (and, during a rebuild, the new one).
// Readers that still follow an old one keep serving what they hold in
// memory and move to gen (Replica follows the pointer); a projector still
// writing one stops at its next commit and reloads. It lists the buckets
// where it may and otherwise removes the two generations before gen.
func removeOldGenerations(ctx context.Context, js jetstream.JetStream, name string, gen int, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var old []string
	names := js.KeyValueStoreNames(ctx)
	for b := range names.Name() {
		if g, err := generation(name, b); err == nil && g < gen {
			old = append(old, b)
		}
	}
	if names.Error() != nil {
		old = []string{bucketName(name, gen-1), bucketName(name, gen-2)}
	}
	for _, b := range old {
		if err := js.DeleteKeyValue(ctx, b); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) && !errors.Is(err, jetstream.ErrInvalidBucketName) {
			log.Warn("could not delete an old generation of the read model", slog.String("bucket", b), slog.Any("err", err))
		}
	}
}
