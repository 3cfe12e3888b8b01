package service

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/directory"
	"github.com/justiceevents/jevents/projections/engine"
	"github.com/justiceevents/jevents/projections/feeds"
)

// DryRunConfig says how `jevents rebuild --dry-run` renders the feeds it
// compares: as the feed servers do (their --public-url and --feed-window),
// so that the ETags it prints are the ones subscribers get.
type DryRunConfig struct {
	Replicas   int
	PublicURL  string
	FeedWindow time.Duration
	// Progress, when set, is told how far each model's fold is.
	Progress engine.Progress
}

// DryRunReport is what a rebuild would change, changing nothing: per read
// model the records added, removed and changed with samples of their
// fields' differences, and the feeds whose ETag would change.
type DryRunReport struct {
	Models []engine.Diff `json:"models"`
	Feeds  FeedChanges   `json:"feeds"`
}

// FeedChanges are the feeds whose bytes, and so ETag, would change.
type FeedChanges struct {
	// At is the instant the feeds were rendered for (their window's
	// today); Compared how many feeds were compared (every feed the
	// calendar offers before or after: catalog of feeds.Server).
	At       time.Time    `json:"at"`
	Compared int          `json:"compared"`
	Changed  []FeedChange `json:"changed"`
}

// FeedChange is one feed whose ETag would change; an empty ETag is a feed
// that does not exist on that side (a conference that is not public).
type FeedChange struct {
	URL     string `json:"url"`
	OldETag string `json:"old_etag"`
	NewETag string `json:"new_etag"`
}

// DryRun answers "what would `jevents rebuild` change?" for every read
// model of the registry (readmodels.go): each model's active generation is
// compared with the log folded, up to the same checkpoint, by the
// projection as this binary has it (engine.Definition.DryRun: in memory, no
// bucket written, nothing to clean up, nothing switched).
func DryRun(ctx context.Context, js jetstream.JetStream, c DryRunConfig, log *slog.Logger) (DryRunReport, error) {
	return dryRun(ctx, js, readModels.models(), c, log)
}

func dryRun(ctx context.Context, js jetstream.JetStream, models engine.Registry, c DryRunConfig, log *slog.Logger) (DryRunReport, error) {
	if c.FeedWindow <= 0 {
		c.FeedWindow = Defaults().FeedWindow
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + Defaults().HTTP
	}
	pub, err := url.Parse(c.PublicURL)
	if err != nil {
		return DryRunReport{}, fmt.Errorf("public URL %q: %w", c.PublicURL, err)
	}
	var opts []engine.RebuildOption
	if c.Progress != nil {
		opts = append(opts, engine.WithProgress(c.Progress))
	}
	diffs, err := models.DryRun(ctx, js, engine.BucketConfig{Replicas: max(c.Replicas, 1)}, log, opts...)
	if err != nil {
		return DryRunReport{}, err
	}
	rep := DryRunReport{Models: diffs, Feeds: FeedChanges{At: time.Now().UTC(), Changed: []FeedChange{}}}
	var cal, dir *engine.Diff
	for i := range diffs {
		switch diffs[i].Projection {
		case calendar.Name:
			cal = &diffs[i]
		case directory.Name:
			dir = &diffs[i]
		}
	}
	if cal == nil || dir == nil {
		return rep, nil
	}
	// Feeds render the calendar's public records with the directory's
	// sponsor names: the same feed server over the values before and
	// after.
	cfg := feeds.Config{PublicURL: pub, Window: c.FeedWindow, Refresh: feeds.DefaultRefresh, CacheBytes: 1 << 20}
	server := func(calValues, dirValues map[string]json.RawMessage) (*feeds.Server, *engine.Static[calendar.Conference], error) {
		public := map[string]json.RawMessage{}
		for k, v := range calValues {
			if strings.HasPrefix(k, calendar.KeyPrefix) {
				public[k] = v
			}
		}
		cv, err := calendar.Model.Decode(public)
		if err != nil {
			return nil, nil, err
		}
		dv, err := directory.Model.Decode(dirValues)
		if err != nil {
			return nil, nil, err
		}
		src := engine.NewStatic(cv)
		s := feeds.New(cfg, src, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
		s.SetSponsorNames(directory.NewIndex(engine.NewStatic(dv)))
		return s, src, nil
	}
	before, beforeSrc, err := server(cal.Old, dir.Old)
	if err != nil {
		return rep, err
	}
	after, afterSrc, err := server(cal.New, dir.New)
	if err != nil {
		return rep, err
	}
	entries := map[string]feeds.Filter{}
	for _, e := range append(before.Catalog(), after.Catalog()...) {
		entries[e.URL] = e.Filter
	}
	etag := func(s *feeds.Server, src *engine.Static[calendar.Conference], f feeds.Filter) (string, error) {
		if f.ID != "" {
			if c, ok := src.Get(calendar.Key(f.ID)); !ok || !c.Public() {
				return "", nil
			}
		}
		e, err := s.Feed(f, rep.Feeds.At)
		if err != nil {
			return "", err
		}
		return e.ETag, nil
	}
	for _, u := range slices.Sorted(func(yield func(string) bool) {
		for u := range entries {
			if !yield(u) {
				return
			}
		}
	}) {
		f := entries[u]
		o, err := etag(before, beforeSrc, f)
		if err != nil {
			return rep, err
		}
		n, err := etag(after, afterSrc, f)
		if err != nil {
			return rep, err
		}
		rep.Feeds.Compared++
		if o != n {
			rep.Feeds.Changed = append(rep.Feeds.Changed, FeedChange{URL: u, OldETag: o, NewETag: n})
		}
	}
	return rep, nil
}
