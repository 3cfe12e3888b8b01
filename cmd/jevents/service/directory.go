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
	"github.com/justiceevents/jevents/eventlog/history"
	"github.com/justiceevents/jevents/producers/intake"
	"github.com/justiceevents/jevents/producers/resources"
	"github.com/justiceevents/jevents/projections/directory"
	"github.com/justiceevents/jevents/projections/engine"
	"github.com/justiceevents/jevents/projections/feeds"
)

// The resource directory's part of the wiring: its seed, the index over
// its replica (the projector and the replica are readmodels.go's), its
// producer and history, its read API.
// Start calls these helpers, one per role.

// directoryModel is a process's copy of the directory read model: the
// replica and the index over it that links sponsors, names them in feeds,
// and answers the read API and pages.
type directoryModel struct {
	replica *engine.Replica[directory.Resource]
	index   *directory.Index
}

// newDirectory builds the index over the directory replica for the roles
// that hold it (readmodels.go): feeds (read API, pages, sponsor names) and
// intake and editors (sponsor linking). It returns nil for a
// projector-only process.
func (s *Service) newDirectory() *directoryModel {
	r := replicaOf(s, directory.Model)
	if r == nil {
		return nil
	}
	d := &directoryModel{replica: r, index: directory.NewIndex(r)}
	r.OnChange(d.index.Changed) // first: later callbacks read the index
	r.OnReset(d.index.Reset)
	return d
}

// linker is the sponsor linker for intake and moderation; nil (names stay
// text) without a directory.
func (d *directoryModel) linker() intake.SponsorLinker {
	if d == nil {
		return nil
	}
	return d.index
}

// registerDirectoryEditors adds the editors' directory commands and the
// history API (editors role: both read the log).
func (s *Service) registerDirectoryEditors(log *eventlog.Log) {
	s.addRoutes(resources.New(log, s.log, resources.NewMetrics(s.registry)).Routes(), history.New(log, s.log).Routes())
}

// registerDirectoryAPI adds the directory's read API (feeds role), and
// makes the feeds name linked sponsors as the directory does now. Its
// pages are the web package's (web.go).
func (s *Service) registerDirectoryAPI(fs *feeds.Server, d *directoryModel) {
	fs.SetSponsorNames(d.index)
	d.replica.OnChange(func(_ string, old directory.Resource, hadOld bool, r directory.Resource) {
		if directory.Renamed(old, hadOld, r) {
			fs.SponsorsRenamed()
		}
	})
	d.replica.OnReset(fs.SponsorsRenamed)
	s.addRoutes(directory.NewServer(d.index, s.log, directory.NewMetrics(s.registry)).Routes())
}

// seedDirectory appends the published directory page's entries the first
// time a process with the editors role starts on a log that holds no
// resource event yet (a fresh deployment, or one from before the
// directory), unless Config.NoSeed. The seed is create-once per entry, so
// processes starting together append each entry once; `jevents seed` runs
// it by hand.
func (s *Service) seedDirectory(ctx context.Context) error {
	if s.cfg.NoSeed || !s.cfg.Has(RoleEditors) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	empty, err := noResources(ctx, s.js)
	if err != nil {
		return fmt.Errorf("service: seed the directory: %w", err)
	}
	if !empty {
		return nil
	}
	log := s.eventLog()
	res, err := resources.New(log, s.log, nil).Seed(ctx, resources.Published())
	if err != nil {
		// The service is useful without its directory: say so and go on.
		s.log.Error("could not seed the resource directory; run `jevents seed`", slog.Any("err", err))
		return nil
	}
	s.log.Info("seeded the resource directory from the published page", slog.Int("added", len(res.Added)), slog.Int("existing", len(res.Existing)))
	return nil
}

// noResources reports whether the log holds no resource event.
func noResources(ctx context.Context, js jetstream.JetStream) (bool, error) {
	st, err := js.Stream(ctx, domain.StreamName)
	if err != nil {
		return false, err
	}
	_, err = st.GetLastMsgForSubject(ctx, domain.AggregateFilter(domain.AggregateResource))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return true, nil
	}
	return false, err
}

// Seed appends the published directory page (or page, when not nil) to the
// log behind js, for `jevents seed`. Running it again adds nothing.
func Seed(ctx context.Context, js jetstream.JetStream, page *resources.SeedPage, log *slog.Logger) (resources.SeedResult, error) {
	if page == nil {
		page = resources.Published()
	}
	if _, err := js.Stream(ctx, domain.StreamName); err != nil {
		return resources.SeedResult{}, fmt.Errorf("event stream %s: %w (start `jevents serve` or run `jevents setup` first)", domain.StreamName, err)
	}
	return resources.New(eventlog.New(js, nil), log, nil).Seed(ctx, page)
}
