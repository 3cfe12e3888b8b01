package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/eventlog/schedule"
	"github.com/justiceevents/jevents/internal/admission"
	"github.com/justiceevents/jevents/internal/auth"
	"github.com/justiceevents/jevents/projections/engine"
	"github.com/justiceevents/jevents/reactors/notify"
	"github.com/justiceevents/jevents/reactors/webhooks"
)

// Who creates the stream and the buckets:
//
//   - The embedded server belongs to its process, which creates or updates
//     everything at start (Setup), as it always did.
//   - On a cluster, `jevents setup`, run once (and again after an upgrade)
//     with the admin user, creates or updates the stream and creates the
//     buckets. The roles never create or change them: intake, editors and
//     projector wait for the stream at start, the projector and the servers
//     retry until the buckets exist. So no role needs the permission to
//     create, change or delete a stream, and no two processes started with
//     different --log-max-bytes fight over the stream's configuration.

// SetupConfig are the operator's choices for the stream and the buckets.
type SetupConfig struct {
	// Replicas of the stream and of every bucket.
	Replicas int
	// LogMaxBytes is the stream's byte budget.
	LogMaxBytes int64
}

// SetupResult says what exists after Setup.
type SetupResult struct {
	Stream string `json:"stream"`
	// Schedules is the stream of editors' plans (eventlog/schedule).
	Schedules  string            `json:"schedules"`
	Replicas   int               `json:"replicas"`
	MaxBytes   int64             `json:"max_bytes"`
	Buckets    []string          `json:"buckets"`
	ReadModels map[string]string `json:"read_models"` // projection → active generation
}

// Setup creates or updates the event stream and creates the meta and lease
// buckets and the active generation of every read model. It is idempotent;
// it needs permission to manage streams.
func Setup(ctx context.Context, js jetstream.JetStream, c SetupConfig) (SetupResult, error) {
	s, err := eventlog.EnsureStream(ctx, js, eventlog.StreamConfig{Replicas: c.Replicas, MaxBytes: c.LogMaxBytes})
	if err != nil {
		return SetupResult{}, err
	}
	info := s.CachedInfo()
	res := SetupResult{Stream: info.Config.Name, Replicas: info.Config.Replicas, MaxBytes: info.Config.MaxBytes,
		Buckets: []string{engine.MetaBucket, engine.LeaseBucket}, ReadModels: map[string]string{}}
	// Editors' plans fire from a stream of their own (the log may not
	// allow what message schedules need).
	if err := schedule.Ensure(ctx, js, c.Replicas); err != nil {
		return SetupResult{}, err
	}
	res.Schedules = schedule.StreamName
	// The intake gate's shared quota (internal/admission).
	quota, err := admission.EnsureBucket(ctx, js, c.Replicas)
	if err != nil {
		return SetupResult{}, err
	}
	res.Buckets = append(res.Buckets, quota)
	// The editors' sessions (internal/auth), shared by every editors process.
	sessions, err := auth.EnsureSessionBucket(ctx, js, c.Replicas)
	if err != nil {
		return SetupResult{}, err
	}
	res.Buckets = append(res.Buckets, sessions)
	// The notifier's consumer and buckets (reactors/notify).
	nb, err := notify.Setup(ctx, js, c.Replicas)
	if err != nil {
		return SetupResult{}, err
	}
	res.Buckets = append(res.Buckets, nb...)
	// The webhook deliverer's cursors and delivery logs (reactors/webhooks).
	hooks, err := webhooks.EnsureBucket(ctx, js, c.Replicas)
	if err != nil {
		return SetupResult{}, err
	}
	res.Buckets = append(res.Buckets, hooks)
	for _, rm := range readModels { // readmodels.go
		name := rm.Name()
		bucket, err := rm.Setup(ctx, js, engine.BucketConfig{Replicas: c.Replicas})
		if err != nil {
			return SetupResult{}, fmt.Errorf("setup %s: %w", name, err)
		}
		res.ReadModels[name] = bucket
		res.Buckets = append(res.Buckets, bucket)
	}
	return res, nil
}

// prepare makes sure the stream exists before the roles start: the
// embedded process sets everything up itself; on a cluster the roles that
// append or project wait for `jevents setup` to have run.
func (s *Service) prepare(ctx context.Context) error {
	cfg := s.cfg
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if cfg.Embedded() {
		_, err := Setup(ctx, s.js, SetupConfig{Replicas: cfg.Replicas, LogMaxBytes: cfg.LogMaxBytes})
		return err
	}
	if !cfg.Has(RoleIntake) && !cfg.Has(RoleEditors) && !cfg.Has(RoleProjector) {
		return nil // feeds read buckets only, and wait for them in /readyz
	}
	return waitForStream(ctx, s.js, s.log)
}

// waitForStream polls until the event stream exists or ctx ends.
func waitForStream(ctx context.Context, js jetstream.JetStream, log *slog.Logger) error {
	logged := false
	for {
		_, err := js.Stream(ctx, domain.StreamName)
		if err == nil {
			return nil
		}
		if !logged && errors.Is(err, jetstream.ErrStreamNotFound) {
			log.Warn("waiting for the event stream: create it with `jevents setup` and the admin user", slog.String("stream", domain.StreamName))
			logged = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("service: event stream %s: %w (run `jevents setup` with the admin user to create it)", domain.StreamName, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// eventLog is the event log as the producers of this process use it: with
// the shared metrics and, on the embedded server, the data volume's guard
// (storage.go).
func (s *Service) eventLog() *eventlog.Log {
	var opts []eventlog.Option
	if s.storage != nil {
		opts = append(opts, eventlog.WithGuard(s.storage.check))
	}
	return eventlog.New(s.js, s.appendMetrics(), opts...)
}

// appendMetrics are the event log's series, shared by intake and editors
// when one process plays both.
func (s *Service) appendMetrics() *eventlog.Metrics {
	if s.appendM == nil {
		s.appendM = eventlog.NewMetrics(s.registry)
	}
	return s.appendM
}
