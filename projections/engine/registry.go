package engine

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
)

// A read model is declared once, by its projection package, with Define;
// the composition root lists the declarations in one Registry, and
// everything that concerns every read model iterates that list: Setup
// creates their buckets, the projector role runs their projectors, Presence
// follows their leases (and jevents_readmodel_projector_present reports
// them), the servers hold their replicas, /readyz waits for both, and
// Rebuild replays them. Adding a projection is one new package and one
// line in the registry.

// Model is one read model as the engine runs it, whatever the type of its
// values. *Definition[V] is the only implementation.
type Model interface {
	// Name is the projection's constant name.
	Name() string
	// Setup creates the model's buckets when missing (see Setup).
	Setup(ctx context.Context, js jetstream.JetStream, cfg BucketConfig) (string, error)
	// NewProjector returns a projector of the model; m may be nil.
	NewProjector(js jetstream.JetStream, cfg BucketConfig, log *slog.Logger, m *Metrics) Worker
	// NewReplica returns an in-memory replica of the model, with the
	// definition's replica options; m may be nil.
	NewReplica(js jetstream.JetStream, log *slog.Logger, m *Metrics) Follower
	// Rebuild replays the log into a new generation (see Rebuild).
	Rebuild(ctx context.Context, js jetstream.JetStream, cfg BucketConfig, log *slog.Logger, m *Metrics, opts ...RebuildOption) (string, uint64, error)
	// DryRun compares the active generation with what a rebuild would
	// make of the same events (dryrun.go).
	DryRun(ctx context.Context, js jetstream.JetStream, cfg BucketConfig, log *slog.Logger, opts ...RebuildOption) (Diff, error)
	// NewFold returns an empty in-memory fold of the model (fold.go).
	NewFold() Fold
}

// Worker is a projector whatever the type of its values: *Projector[V].
type Worker interface {
	Run(ctx context.Context) error
	CaughtUp() <-chan struct{}
	Instance() string
}

// Follower is a replica whatever the type of its values: *Replica[V].
// Those who read its values get the typed replica back with
// Definition.Replica.
type Follower interface {
	Run(ctx context.Context) error
	Ready() <-chan struct{}
}

var (
	_ Worker   = (*Projector[int])(nil)
	_ Follower = (*Replica[int])(nil)
	_ Model    = (*Definition[int])(nil)
)

// Definition is one read model: its projection, and how servers replicate
// it. It is immutable once defined; a projection package declares its own
// (calendar.Model) for the registry and for the servers that read it.
type Definition[V any] struct {
	proj     Projection[V]
	replicas []ReplicaOption
}

// Define declares the read model folded by p. The options apply to every
// replica made with NewReplica: what servers hold of the model (OnlyKeys).
func Define[V any](p Projection[V], replicas ...ReplicaOption) *Definition[V] {
	return &Definition[V]{proj: p, replicas: replicas}
}

// Name is the projection's constant name.
func (d *Definition[V]) Name() string { return d.proj.Name() }

// Projection is the projection that folds the model.
func (d *Definition[V]) Projection() Projection[V] { return d.proj }

// Setup creates the model's buckets when missing; it returns the active
// generation's bucket.
func (d *Definition[V]) Setup(ctx context.Context, js jetstream.JetStream, cfg BucketConfig) (string, error) {
	return Setup(ctx, js, d.Name(), cfg)
}

// NewProjector returns a projector of the model.
func (d *Definition[V]) NewProjector(js jetstream.JetStream, cfg BucketConfig, log *slog.Logger, m *Metrics) Worker {
	return NewProjector(js, d.proj, cfg, log, m)
}

// NewReplica returns a replica of the model (a *Replica[V]).
func (d *Definition[V]) NewReplica(js jetstream.JetStream, log *slog.Logger, m *Metrics) Follower {
	return NewReplica[V](js, d.Name(), log, m, d.replicas...)
}

// Replica returns f as the typed replica of this model, or nil when f is
// nil or another model's.
func (d *Definition[V]) Replica(f Follower) *Replica[V] {
	r, ok := f.(*Replica[V])
	if !ok || r.name != d.Name() {
		return nil
	}
	return r
}

// Rebuild replays the log into a new generation of the model and switches
// to it.
func (d *Definition[V]) Rebuild(ctx context.Context, js jetstream.JetStream, cfg BucketConfig, log *slog.Logger, m *Metrics, opts ...RebuildOption) (string, uint64, error) {
	return Rebuild(ctx, js, d.proj, cfg, log, m, opts...)
}

// Registry is the list of every read model of a deployment, in the order
// they are set up, started and rebuilt.
type Registry []Model

// Names are the models' names, in order.
func (r Registry) Names() []string {
	out := make([]string, len(r))
	for i, m := range r {
		out[i] = m.Name()
	}
	return out
}

// Check refuses a registry with an empty or repeated name: two models
// under one name would write the same buckets.
func (r Registry) Check() error {
	seen := map[string]bool{}
	for _, m := range r {
		n := m.Name()
		if n == "" || seen[n] {
			return fmt.Errorf("engine: read model name %q is empty or listed twice", n)
		}
		seen[n] = true
	}
	return nil
}

// Rebuilt says where one read model was rebuilt to.
type Rebuilt struct {
	Projection string `json:"projection"`
	Bucket     string `json:"bucket"`
	Sequence   uint64 `json:"sequence"`
}

// Rebuild replays the log into a fresh generation of every model, one
// after the other, and switches each to it while servers keep serving.
func (r Registry) Rebuild(ctx context.Context, js jetstream.JetStream, cfg BucketConfig, log *slog.Logger, m *Metrics, opts ...RebuildOption) ([]Rebuilt, error) {
	var out []Rebuilt
	for _, model := range r {
		bucket, seq, err := model.Rebuild(ctx, js, cfg, log, m, opts...)
		if err != nil {
			return nil, fmt.Errorf("rebuild %s: %w", model.Name(), err)
		}
		out = append(out, Rebuilt{Projection: model.Name(), Bucket: bucket, Sequence: seq})
	}
	return out, nil
}

// DryRun compares every model's active generation with what a rebuild
// would make of it, changing nothing (dryrun.go).
func (r Registry) DryRun(ctx context.Context, js jetstream.JetStream, cfg BucketConfig, log *slog.Logger, opts ...RebuildOption) ([]Diff, error) {
	var out []Diff
	for _, model := range r {
		d, err := model.DryRun(ctx, js, cfg, log, opts...)
		if err != nil {
			return nil, fmt.Errorf("dry run %s: %w", model.Name(), err)
		}
		out = append(out, d)
	}
	return out, nil
}
