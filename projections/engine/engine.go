// Package engine owns the read models of Justice Events as they live in
// NATS: key-value buckets written by projectors and read by any number of
// servers.
//
// A read model is one KV bucket per generation (calendar_1, calendar_2, …)
// holding one JSON value per key and a checkpoint key, _checkpoint, with the
// stream sequence of the last event folded in. A pointer in the meta bucket
// (jevents_meta, key readmodel.<name>) names the active generation; a
// rebuild fills a new generation from the first event and moves the pointer
// in one step.
//
// The Projector writes a generation: it consumes the event log in order from
// the checkpoint and commits every group of changed keys together with the
// new checkpoint in one atomic batch whose checkpoint write is conditional on
// the checkpoint's previous revision. A crash before the commit applies
// nothing; a commit never applies an event twice; and a second projector
// that commits from the same checkpoint fails the condition and reloads
// (fencing, so a stale projector cannot write).
//
// The Replica reads the active generation into memory and follows it, for
// servers that must never read the event log.
//
// Every read model is declared once, by its projection package, with Define
// (registry.go); the composition root lists the declarations in one
// Registry, which setup, start-up, presence, readiness, storage metrics and
// rebuild iterate.
//
// It imports the domain package and nats.go, never the event log's package
// nor a producer: it consumes the stream itself. Projections plug in through
// the Projection interface.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// MetaBucket holds the pointers to the active generation of each read model.
const MetaBucket = "jevents_meta"

// CheckpointKey is the key of the checkpoint in every read-model bucket.
const CheckpointKey = "_checkpoint"

// Checkpoint is the value stored under CheckpointKey.
type Checkpoint struct {
	// Seq is the stream sequence of the last event folded into the model.
	Seq uint64 `json:"seq"`
	// Stream names the event stream the model was folded from. A stream
	// that was removed and created again (a reset log) starts its
	// sequences over: a projector that finds another stream than its
	// checkpoint's rebuilds the model from the new log instead of waiting
	// for sequences that will never mean the same events (stream.go).
	// Checkpoints written before it existed have none.
	Stream *StreamID `json:"stream,omitempty"`
}

// StreamID identifies one incarnation of the event stream: the time the
// server created it, which survives restarts, leader changes and updates
// of its configuration, and changes when the stream is removed and created
// again.
type StreamID struct {
	Created time.Time `json:"created"`
}

// Same reports whether a and b name the same stream.
func (a StreamID) Same(b StreamID) bool { return a.Created.Equal(b.Created) }

// callTimeout bounds one call to NATS of the projector and the replica (a
// KV get, create or update, a bucket lookup): a server that does not
// answer is an error to retry after, never a wait without end.
const callTimeout = 5 * time.Second

// stallTimeout bounds how long reading a bucket into memory may go without
// receiving anything.
const stallTimeout = 30 * time.Second

// BucketConfig is what every read-model bucket shares.
type BucketConfig struct {
	// Replicas of the meta bucket, the lease bucket and each generation.
	Replicas int
	// LeaseTTL is how long a projector's lease outlives its last renewal;
	// DefaultLeaseTTL when 0.
	LeaseTTL time.Duration
	// StaleBefore, when set, is a moment before which no live projector
	// can have renewed a lease: the start of the embedded NATS server the
	// process runs (its leases bucket was written by former processes
	// only). A lease last renewed before it is taken over at once, instead
	// of after its TTL, so that a restarted all-in-one service resumes
	// projecting without waiting for its own dead predecessor's lease.
	StaleBefore time.Time
}

// PointerKey is the key, in MetaBucket, of the pointer to the named
// projection's active generation.
func PointerKey(name string) string { return "readmodel." + name }

// bucketName is the bucket of one generation: <name>_<gen>.
func bucketName(name string, gen int) string { return name + "_" + strconv.Itoa(gen) }

// generation parses the generation out of a bucket name.
func generation(name, bucket string) (int, error) {
	s, ok := strings.CutPrefix(bucket, name+"_")
	if !ok {
		return 0, fmt.Errorf("readmodel: bucket %q is not a generation of %q", bucket, name)
	}
	return strconv.Atoi(s)
}

// metaKV opens the meta bucket, creating it when missing.
func metaKV(ctx context.Context, js jetstream.JetStream, cfg BucketConfig) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, MetaBucket)
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("readmodel: open %s: %w", MetaBucket, err)
	}
	kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      MetaBucket,
		Description: "Justice Events: active generation of each read model",
		History:     5,
		Storage:     jetstream.FileStorage,
		Replicas:    max(cfg.Replicas, 1),
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		return js.KeyValue(ctx, MetaBucket)
	}
	if err != nil {
		return nil, fmt.Errorf("readmodel: create %s: %w", MetaBucket, err)
	}
	return kv, nil
}

// ensureBucket creates a generation's bucket when missing and makes sure its
// stream accepts atomic batches. The flag is set with UpdateStream because
// CreateOrUpdateKeyValue would clear it.
func ensureBucket(ctx context.Context, js jetstream.JetStream, bucket string, cfg BucketConfig) (jetstream.KeyValue, error) {
	return bucketFor(ctx, js, bucket, cfg, true)
}

func bucketFor(ctx context.Context, js jetstream.JetStream, bucket string, cfg BucketConfig, create bool) (jetstream.KeyValue, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	kv, err := js.KeyValue(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) && !create {
		return nil, fmt.Errorf("%w: %s", errModelMissing, bucket)
	}
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      bucket,
			Description: "Justice Events read model",
			History:     1,
			Storage:     jetstream.FileStorage,
			Replicas:    max(cfg.Replicas, 1),
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("readmodel: bucket %s: %w", bucket, err)
	}
	s, err := js.Stream(ctx, "KV_"+bucket)
	if err != nil {
		return nil, fmt.Errorf("readmodel: bucket %s: %w", bucket, err)
	}
	if sc := s.CachedInfo().Config; !sc.AllowAtomicPublish {
		sc.AllowAtomicPublish = true
		if _, err := js.UpdateStream(ctx, sc); err != nil {
			return nil, fmt.Errorf("readmodel: allow atomic batches on %s: %w", bucket, err)
		}
	}
	return kv, nil
}

// openBucket opens an existing generation's bucket (errModelMissing when
// it is gone) and makes sure its stream accepts atomic batches.
func openBucket(ctx context.Context, js jetstream.JetStream, bucket string, cfg BucketConfig) (jetstream.KeyValue, error) {
	return bucketFor(ctx, js, bucket, cfg, false)
}

// ActiveBucket is the bucket of the active generation of the read model
// name, for readers that read a bucket's stream rather than hold a replica
// (projections/changes).
func ActiveBucket(ctx context.Context, js jetstream.JetStream, name string) (string, error) {
	meta, err := js.KeyValue(ctx, MetaBucket)
	if err != nil {
		return "", fmt.Errorf("readmodel: meta bucket: %w", err)
	}
	b, _, err := activeBucket(ctx, js, meta, name, BucketConfig{}, false)
	return b, err
}

// activeBucket returns the active generation's bucket name and the pointer's
// revision. With create set, a missing pointer is created at generation 1,
// after the bucket it points to.
func activeBucket(ctx context.Context, js jetstream.JetStream, meta jetstream.KeyValue, name string, cfg BucketConfig, create bool) (string, uint64, error) {
	e, err := meta.Get(ctx, PointerKey(name))
	if err == nil {
		return string(e.Value()), e.Revision(), nil
	}
	if !errors.Is(err, jetstream.ErrKeyNotFound) || !create {
		return "", 0, fmt.Errorf("readmodel: active generation of %s: %w", name, err)
	}
	first := bucketName(name, 1)
	if _, err := ensureBucket(ctx, js, first, cfg); err != nil {
		return "", 0, err
	}
	rev, err := meta.Create(ctx, PointerKey(name), []byte(first))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return activeBucket(ctx, js, meta, name, cfg, false)
	}
	if err != nil {
		return "", 0, fmt.Errorf("readmodel: create pointer of %s: %w", name, err)
	}
	return first, rev, nil
}

// loaded is a bucket read into memory.
type loaded[V any] struct {
	values     map[string]V
	sizes      map[string]int // encoded sizes (replicas only; nil for projectors)
	checkpoint Checkpoint
	cpRevision uint64 // 0 when there is no checkpoint yet
	read       int    // entries the watch delivered
}

// load reads every key of a bucket into memory with one watch.
func load[V any](ctx context.Context, kv jetstream.KeyValue) (*loaded[V], error) {
	return loadKeys[V](ctx, kv, nil)
}

// loadKeys reads the keys of a bucket that match the filters (every key
// when there are none) into memory with one watch: the server sends only
// those (Forgetful).
func loadKeys[V any](ctx context.Context, kv jetstream.KeyValue, filters []string) (*loaded[V], error) {
	var (
		w   jetstream.KeyWatcher
		err error
	)
	if len(filters) > 0 {
		w, err = kv.WatchFiltered(ctx, filters, jetstream.IgnoreDeletes())
	} else {
		w, err = kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	}
	if err != nil {
		return nil, fmt.Errorf("readmodel: load %s: %w", kv.Bucket(), err)
	}
	defer w.Stop()
	l := &loaded[V]{values: map[string]V{}}
	stall := time.NewTimer(stallTimeout)
	defer stall.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-stall.C:
			return nil, fmt.Errorf("readmodel: load %s: nothing received for %v", kv.Bucket(), stallTimeout)
		case e, ok := <-w.Updates():
			stall.Reset(stallTimeout)
			if !ok {
				return nil, fmt.Errorf("readmodel: load %s: watch closed", kv.Bucket())
			}
			if e == nil {
				return l, nil
			}
			l.read++
			if e.Operation() != jetstream.KeyValuePut {
				delete(l.values, e.Key())
				continue
			}
			if err := l.set(e); err != nil {
				return nil, fmt.Errorf("readmodel: load %s: %w", kv.Bucket(), err)
			}
		}
	}
}

// set stores one entry of the bucket.
func (l *loaded[V]) set(e jetstream.KeyValueEntry) error {
	if e.Key() == CheckpointKey {
		var cp Checkpoint
		if err := json.Unmarshal(e.Value(), &cp); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		l.checkpoint, l.cpRevision = cp, e.Revision()
		return nil
	}
	var v V
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return fmt.Errorf("key %s: %w", e.Key(), err)
	}
	l.values[e.Key()] = v
	if l.sizes != nil {
		l.sizes[e.Key()] = len(e.Key()) + len(e.Value())
	}
	return nil
}
