package engine

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// PresenceInterval is how often Presence reads the lease keys.
const PresenceInterval = time.Second

// Holder is what a server knows of the projector applying one read model.
type Holder struct {
	// Present is true while a projector holds the lease. A projector that
	// dies keeps it until the lease's TTL runs out (DefaultLeaseTTL).
	Present bool `json:"present"`
	// Instance names the holder (host-pid-random), empty when absent.
	Instance string `json:"instance,omitempty"`
	// Checked is when the lease was last read successfully; zero until the
	// first read. A stale Checked means NATS could not be asked.
	Checked time.Time `json:"checked"`
}

// Presence follows the lease keys of some projections, so that servers
// (which only read the read model) can say whether it is still moving: a
// feed server keeps serving its last model while no projector runs, and
// says so in /readyz and in jevents_readmodel_projector_present. It reads
// the keys with a direct get every PresenceInterval, which needs nothing
// but read access to the lease bucket, and survives reconnects without a
// watcher to supervise. Its methods are safe for concurrent use.
type Presence struct {
	js    jetstream.JetStream
	names []string
	log   *slog.Logger
	gauge *prometheus.GaugeVec

	mu    sync.RWMutex
	state map[string]Holder
}

// NewPresence follows the leases of the named projections and registers
// jevents_readmodel_projector_present on reg (nil: unregistered).
func NewPresence(js jetstream.JetStream, names []string, log *slog.Logger, reg prometheus.Registerer) *Presence {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "readmodel", Name: "projector_present",
		Help: "1 while some projector holds the projection's lease, as this process last read it; 0 while none does (the read model is not moving, servers keep serving the last one)."},
		[]string{"projection"})
	if reg != nil {
		reg.MustRegister(g)
	}
	return &Presence{js: js, names: names, log: log, gauge: g, state: map[string]Holder{}}
}

// Run reads the leases until ctx ends.
func (p *Presence) Run(ctx context.Context) error {
	t := time.NewTicker(PresenceInterval)
	defer t.Stop()
	for {
		p.check(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (p *Presence) check(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, PresenceInterval)
	defer cancel()
	kv, err := p.js.KeyValue(ctx, LeaseBucket)
	if err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return // cannot tell; Checked goes stale
	}
	for _, name := range p.names {
		h := Holder{Checked: time.Now()}
		if kv != nil {
			e, err := kv.Get(ctx, leaseKey(name))
			switch {
			case err == nil:
				h.Present, h.Instance = true, string(e.Value())
			case !errors.Is(err, jetstream.ErrKeyNotFound):
				continue
			}
		}
		p.mu.Lock()
		old, seen := p.state[name]
		p.state[name] = h
		p.mu.Unlock()
		if !seen || old.Present != h.Present || old.Instance != h.Instance {
			if h.Present {
				p.log.Info("projector present", slog.String("projection", name), slog.String("instance", h.Instance))
			} else {
				p.log.Warn("no projector holds the lease: the read model is not moving; serving the last one", slog.String("projection", name))
			}
		}
		v := 0.0
		if h.Present {
			v = 1
		}
		p.gauge.WithLabelValues(name).Set(v)
	}
}

// State returns what is known of each followed projection's projector; a
// projection not read yet is missing.
func (p *Presence) State() map[string]Holder {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make(map[string]Holder, len(p.state))
	for k, v := range p.state {
		out[k] = v
	}
	return out
}
