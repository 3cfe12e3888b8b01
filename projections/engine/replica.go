package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Replica is an in-memory copy of the active generation of one read model,
// kept current by a KV watch. Servers answer from it and never read the log.
// While NATS or the projector is away it keeps serving the last model it had.
// Its methods are safe for concurrent use.
type Replica[V any] struct {
	js      jetstream.JetStream
	name    string
	log     *slog.Logger
	metrics *Metrics

	onChange []func(key string, old V, hadOld bool, v V)
	onReset  []func()

	// keys, when set, are the key filters the replica follows (with the
	// checkpoint): the rest of the bucket never reaches it, not even over
	// the network.
	keys []string

	mu     sync.RWMutex
	values map[string]V
	sizes  map[string]int // encoded size of each value, for the size gauge
	size   int64
	seq    uint64
	bucket string
	ready  chan struct{}
}

// ReplicaOption configures a Replica.
type ReplicaOption func(*replicaOptions)

type replicaOptions struct {
	keys []string
}

// OnlyKeys makes a replica hold only the keys matching these NATS subject
// filters ("conference.>"): a public server's replica of a model that also
// holds what it must not serve (cmd/jevents/service).
func OnlyKeys(filters ...string) ReplicaOption {
	return func(o *replicaOptions) { o.keys = append(o.keys, filters...) }
}

// NewReplica returns a replica of the read model of the named projection;
// metrics may be nil. Call Run to fill it.
func NewReplica[V any](js jetstream.JetStream, name string, log *slog.Logger, m *Metrics, opts ...ReplicaOption) *Replica[V] {
	if m == nil {
		m = NewMetrics(nil)
	}
	var o replicaOptions
	for _, opt := range opts {
		opt(&o)
	}
	var keys []string
	if len(o.keys) > 0 {
		keys = append(slices.Clone(o.keys), CheckpointKey)
	}
	return &Replica[V]{js: js, name: name, log: log.With(slog.String("replica", name)), metrics: m, keys: keys,
		values: map[string]V{}, sizes: map[string]int{}, ready: make(chan struct{})}
}

// Len is the number of keys the replica holds, and Size the bytes of their
// encoded values: the measure of its memory that a pending flood must not
// move on a public server (engine_test, cmd/jevents/service).
func (r *Replica[V]) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.values)
}

// Size: see Len.
func (r *Replica[V]) Size() int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.size
}

// OnChange registers fn to be called after a key changed, with its previous
// value. OnReset registers fn to be called after the whole model was
// replaced (first load, a rebuild's switch, a reload). Register before Run;
// callbacks run on the replica's goroutine, one at a time.
func (r *Replica[V]) OnChange(fn func(key string, old V, hadOld bool, v V)) {
	r.onChange = append(r.onChange, fn)
}

// OnReset: see OnChange.
func (r *Replica[V]) OnReset(fn func()) { r.onReset = append(r.onReset, fn) }

// Ready is closed once the replica holds a full copy of the model.
func (r *Replica[V]) Ready() <-chan struct{} { return r.ready }

// Get returns the value of key.
func (r *Replica[V]) Get(key string) (V, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, ok := r.values[key]
	return v, ok
}

// Range calls fn for every key until fn returns false, in no fixed order,
// holding a read lock: fn must not call back into the replica.
func (r *Replica[V]) Range(fn func(key string, v V) bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for k, v := range r.values {
		if !fn(k, v) {
			return
		}
	}
}

// Checkpoint is the stream sequence of the last event in the model as seen
// by this replica, and the generation's bucket.
func (r *Replica[V]) Checkpoint() (uint64, string) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.seq, r.bucket
}

// Run follows the active generation until ctx ends, reloading after a
// generation switch or a lost watch.
func (r *Replica[V]) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := r.follow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errPointerMoved) {
			backoff = 100 * time.Millisecond
			continue
		}
		level := slog.LevelWarn
		if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrKeyNotFound) {
			level = slog.LevelDebug // no projector has created the read model yet
		}
		r.log.Log(ctx, level, "read-model watch ended; keeping the last model and retrying", slog.Any("err", err), slog.Duration("backoff", backoff))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	return nil
}

func (r *Replica[V]) follow(ctx context.Context) error {
	cctx, ccancel := context.WithTimeout(ctx, callTimeout)
	defer ccancel()
	meta, err := r.js.KeyValue(cctx, MetaBucket)
	if err != nil {
		return fmt.Errorf("readmodel: open %s: %w", MetaBucket, err)
	}
	bucket, _, err := activeBucket(cctx, r.js, meta, r.name, BucketConfig{}, false)
	if err != nil {
		return err
	}
	kv, err := r.js.KeyValue(cctx, bucket)
	if err != nil {
		return fmt.Errorf("readmodel: open %s: %w", bucket, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The pointer's watch starts with its current value: a switch (after
	// which the old generation is removed) between the read above and the
	// watch is seen too.
	pw, err := meta.Watch(ctx, PointerKey(r.name))
	if err != nil {
		return fmt.Errorf("readmodel: watch pointer: %w", err)
	}
	defer pw.Stop()
	var w jetstream.KeyWatcher
	if r.keys != nil {
		// A copy: nats.go writes the bucket's prefix into the slice.
		w, err = kv.WatchFiltered(ctx, slices.Clone(r.keys))
	} else {
		w, err = kv.WatchAll(ctx)
	}
	if err != nil {
		return fmt.Errorf("readmodel: watch %s: %w", bucket, err)
	}
	defer w.Stop()

	fresh := &loaded[V]{values: map[string]V{}, sizes: map[string]int{}}
	initial := true
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-pw.Updates():
			if !ok {
				return errors.New("readmodel: pointer watch closed")
			}
			if e != nil && string(e.Value()) != bucket {
				return errPointerMoved
			}
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("readmodel: watch of %s closed", bucket)
			}
			switch {
			case e == nil && initial:
				initial = false
				r.swap(bucket, fresh)
			case e == nil:
			case initial:
				if e.Operation() != jetstream.KeyValuePut {
					delete(fresh.values, e.Key())
					delete(fresh.sizes, e.Key())
					continue
				}
				if err := fresh.set(e); err != nil {
					return fmt.Errorf("readmodel: %s: %w", bucket, err)
				}
			default:
				if err := r.update(e); err != nil {
					return fmt.Errorf("readmodel: %s: %w", bucket, err)
				}
			}
		}
	}
}

// swap replaces the whole model.
func (r *Replica[V]) swap(bucket string, l *loaded[V]) {
	var size int64
	for _, n := range l.sizes {
		size += int64(n)
	}
	r.mu.Lock()
	r.values, r.sizes, r.size, r.seq, r.bucket = l.values, l.sizes, size, l.checkpoint.Seq, bucket
	r.mu.Unlock()
	r.metrics.replicaKeys.WithLabelValues(r.name).Set(float64(len(l.values)))
	r.metrics.replicaBytes.WithLabelValues(r.name).Set(float64(size))
	r.metrics.replicaReload.WithLabelValues(r.name).Inc()
	r.metrics.replicaSeq.WithLabelValues(r.name).Set(float64(l.checkpoint.Seq))
	r.metrics.replicaReady.WithLabelValues(r.name).Set(1)
	for _, fn := range r.onReset {
		fn()
	}
	select {
	case <-r.ready:
	default:
		close(r.ready)
	}
}

// update applies one live change.
func (r *Replica[V]) update(e jetstream.KeyValueEntry) error {
	if e.Key() == CheckpointKey {
		var cp Checkpoint
		if err := json.Unmarshal(e.Value(), &cp); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		r.mu.Lock()
		r.seq = cp.Seq
		r.mu.Unlock()
		r.metrics.replicaSeq.WithLabelValues(r.name).Set(float64(cp.Seq))
		return nil
	}
	var v V
	put := e.Operation() == jetstream.KeyValuePut
	if put {
		if err := json.Unmarshal(e.Value(), &v); err != nil {
			return fmt.Errorf("key %s: %w", e.Key(), err)
		}
	}
	r.mu.Lock()
	old, had := r.values[e.Key()]
	r.size -= int64(r.sizes[e.Key()])
	if put {
		r.values[e.Key()] = v
		r.sizes[e.Key()] = len(e.Key()) + len(e.Value())
		r.size += int64(len(e.Key()) + len(e.Value()))
	} else {
		delete(r.values, e.Key())
		delete(r.sizes, e.Key())
	}
	n, size := len(r.values), r.size
	r.mu.Unlock()
	r.metrics.replicaKeys.WithLabelValues(r.name).Set(float64(n))
	r.metrics.replicaBytes.WithLabelValues(r.name).Set(float64(size))
	for _, fn := range r.onChange {
		fn(e.Key(), old, had, v)
	}
	return nil
}
