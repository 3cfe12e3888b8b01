package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// LeaseBucket holds one lease per projection: the key names the active
// projector, and the bucket's TTL lets a lease lapse when its holder stops
// renewing it (a crash, a partition, a paused process).
const LeaseBucket = "jevents_leases"

// DefaultLeaseTTL is how long a lease outlives its holder's last renewal,
// and so how long a standby waits before it takes over from a dead holder.
const DefaultLeaseTTL = 10 * time.Second

func leaseKey(name string) string { return "projector." + name }

// Instance names this projector in the lease (host-pid-random), as
// Presence reports the holder.
func (p *Projector[V]) Instance() string { return p.id }

// leasesKV opens the lease bucket, creating it when missing.
func leasesKV(ctx context.Context, js jetstream.JetStream, cfg BucketConfig) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, LeaseBucket)
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("readmodel: open %s: %w", LeaseBucket, err)
	}
	kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      LeaseBucket,
		Description: "Justice Events: which projector applies each read model",
		History:     1,
		TTL:         cfg.leaseTTL(),
		Storage:     jetstream.FileStorage,
		Replicas:    max(cfg.Replicas, 1),
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		return js.KeyValue(ctx, LeaseBucket)
	}
	if err != nil {
		return nil, fmt.Errorf("readmodel: create %s: %w", LeaseBucket, err)
	}
	return kv, nil
}

func (c BucketConfig) leaseTTL() time.Duration {
	if c.LeaseTTL > 0 {
		return c.LeaseTTL
	}
	return DefaultLeaseTTL
}

// acquire blocks until this projector holds the lease, or ctx ends. It
// returns the lease entry's revision.
func (p *Projector[V]) acquire(ctx context.Context, kv jetstream.KeyValue) (uint64, error) {
	key := leaseKey(p.proj.Name())
	// A standby exports its state too: active 0, and the counters at 0, so
	// that every projector process shows the same series (docs/metrics.md).
	name := p.proj.Name()
	p.metrics.active.WithLabelValues(name).Set(0)
	p.metrics.caughtUp.WithLabelValues(name)
	p.metrics.fenced.WithLabelValues(name)
	p.metrics.streamReplaced.WithLabelValues(name)
	p.metrics.events.WithLabelValues(name, "applied")
	p.metrics.events.WithLabelValues(name, "skipped")
	every := p.cfg.leaseTTL() / 4
	logged := false
	for {
		rev, err := p.tryAcquire(ctx, kv, key)
		if err == nil {
			return rev, nil
		}
		// A held lease is ErrKeyExists, or on a clustered bucket the
		// server's 10164 "wrong last sequence", which nats.go v1.55 does not
		// translate.
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongLastSeq(err) {
			p.log.Warn("lease: could not try to take the lease", slog.Any("err", err))
		} else if !logged {
			holder := "?"
			gctx, cancel := context.WithTimeout(ctx, callTimeout)
			if e, err := kv.Get(gctx, key); err == nil {
				holder = string(e.Value())
			}
			cancel()
			p.log.Info("standing by: another projector holds the lease", slog.String("holder", holder))
			logged = true
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(every):
		}
	}
}

// tryAcquire takes the lease if nobody holds it, if this projector itself
// still holds it (it lost it after errors, a disk that filled, a lapse in
// renewing, while the key outlived the lapse), or if its holder is known
// to be gone (BucketConfig.StaleBefore). The two takeovers are conditional
// on the lease's revision, so a holder that renews meanwhile keeps it.
func (p *Projector[V]) tryAcquire(ctx context.Context, kv jetstream.KeyValue, key string) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	rev, err := kv.Create(ctx, key, []byte(p.id))
	if err == nil || (!errors.Is(err, jetstream.ErrKeyExists) && !isWrongLastSeq(err)) {
		return rev, err
	}
	e, gerr := kv.Get(ctx, key)
	if gerr != nil {
		return 0, err
	}
	switch {
	case string(e.Value()) == p.id:
		p.log.Info("lease: taking back this projector's own lease")
	case !p.cfg.StaleBefore.IsZero() && e.Created().Before(p.cfg.StaleBefore):
		p.log.Info("lease: taking over a lease its holder last renewed before this server started: that holder is gone",
			slog.String("holder", string(e.Value())))
	default:
		return 0, err
	}
	return kv.Update(ctx, key, []byte(p.id), e.Revision())
}

// hold renews the lease until ctx ends or the lease is lost (another
// holder, or no renewal for a whole TTL); then it cancels lead.
func (p *Projector[V]) hold(ctx context.Context, kv jetstream.KeyValue, rev uint64, lead context.CancelCauseFunc) {
	key := leaseKey(p.proj.Name())
	ttl := p.cfg.leaseTTL()
	renewed := time.Now()
	tick := time.NewTicker(ttl / 4)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rctx, cancel := context.WithTimeout(ctx, ttl/4)
		next, err := kv.Update(rctx, key, []byte(p.id), rev)
		cancel()
		switch {
		case err == nil:
			rev, renewed = next, time.Now()
		case ctx.Err() != nil:
			return // a stop that began during the renewal: not a failure
		case errors.Is(err, jetstream.ErrKeyExists) || isWrongLastSeq(err) || errors.Is(err, jetstream.ErrKeyNotFound):
			lead(errLeaseLost)
			return
		case time.Since(renewed) > ttl-ttl/4:
			// Not renewed for most of a TTL: another projector may take
			// over any moment. Stop before it does; the fence covers the rest.
			lead(errLeaseLost)
			return
		default:
			p.log.Warn("lease: renewal failed; retrying", slog.Any("err", err))
		}
	}
}

// release gives the lease up at a clean stop, so a standby takes over at
// once instead of after the TTL.
func (p *Projector[V]) release(kv jetstream.KeyValue) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	e, err := kv.Get(ctx, leaseKey(p.proj.Name()))
	if err != nil || string(e.Value()) != p.id {
		return
	}
	_ = kv.Delete(ctx, leaseKey(p.proj.Name()), jetstream.LastRevision(e.Revision()))
}

var errLeaseLost = errors.New("readmodel: lease lost")

func isWrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}
