package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/engine"
)

// What the service stores, and the room it keeps.
//
// The byte budget (--log-max-bytes) bounds the event log alone. Beside it
// the NATS store holds the read models (one bucket per read model for the
// active generation, about as large as the events it folds; during a
// rebuild a second generation until the switch, after which every older
// one is removed) and the small meta and lease buckets. So the data volume
// must hold a few times the budget: docs/metrics.md gives the measured
// multiple, and jevents_storage_bytes{part} says what is stored right now.
//
// On the embedded server the service also watches the data volume itself:
//
//   - while less than volumeReserve is free, it refuses public submissions
//     before they reach the server (507 Storage full, saying what to do),
//     and editors' commands below a quarter of it, so that the log never
//     fails half-way and the read models, which follow the log, keep room
//     to catch up with what was accepted; /readyz lists the volume under
//     degraded;
//   - when room returns after that, it restarts the embedded server
//     (embedded.go), so that streams the server stopped writing after a
//     full disk (a single-node server marks a stream that failed to write
//     and writes it no more) accept writes again: the service recovers by
//     itself.
//
// The embedded server's storage limit is the size of the volume, or four
// times the log's budget if that is more (embeddedStoreLimit), so that its
// own accounting (which otherwise stops at three quarters of the space
// free at start, read models included, and refuses to create buckets once
// the stream's budget is reserved) never refuses writes while the volume
// has room: the guard above is what watches the volume.

// volumeReserve is the room kept free on the data volume: 5 % of it, at
// least 4 MiB and at most 1 GiB.
func volumeReserve(size uint64) uint64 {
	return min(max(size/20, 4<<20), 1<<30)
}

// volume is the data volume's state.
type volume struct {
	Size, Free uint64
}

// statVolume reads the volume of dir, or of its nearest existing parent
// (the data directory may not exist yet).
func statVolume(dir string) (volume, error) {
	var st syscall.Statfs_t
	for {
		err := syscall.Statfs(dir, &st)
		if err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if !errors.Is(err, syscall.ENOENT) || parent == dir {
			return volume{}, err
		}
		dir = parent
	}
	return volume{Size: st.Blocks * uint64(st.Bsize), Free: st.Bavail * uint64(st.Bsize)}, nil
}

// embeddedStoreLimit is the embedded server's JetStream storage limit: the
// size of the data volume, at least four times the log's budget (0, the
// server's own default, when the volume cannot be read).
func embeddedStoreLimit(dir string, logMaxBytes int64) int64 {
	v, err := statVolume(dir)
	if err != nil || v.Size == 0 {
		return 0
	}
	return max(int64(v.Size), 4*logMaxBytes)
}

// storageGuard watches the data volume of the embedded server. Its methods
// are safe for concurrent use.
type storageGuard struct {
	dir string
	log *slog.Logger

	mu      sync.Mutex
	last    volume
	checked time.Time
	err     error
	full    bool // below the reserve, until it has half the reserve again above it
}

// refreshEvery bounds how stale the guard's view of the volume may be.
const refreshEvery = 200 * time.Millisecond

// state returns the volume's state, read at most refreshEvery ago.
func (g *storageGuard) state() (volume, bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if time.Since(g.checked) >= refreshEvery {
		g.last, g.err = statVolume(g.dir)
		g.checked = time.Now()
		if g.err == nil {
			reserve := volumeReserve(g.last.Size)
			switch {
			case g.last.Free < reserve:
				g.full = true
			case g.last.Free >= reserve+reserve/2:
				g.full = false
			}
		}
	}
	return g.last, g.full, g.err
}

// check is the event log's guard (eventlog.WithGuard): public submissions
// are refused below the reserve, editors' events below a quarter of it.
func (g *storageGuard) check(env domain.Envelope) error {
	v, _, err := g.state()
	if err != nil {
		return nil // cannot tell: let the server decide
	}
	limit := volumeReserve(v.Size)
	if env.Type != domain.TypeConferenceSubmitted {
		limit /= 4
	}
	if v.Free < limit {
		return fmt.Errorf("%w: %d bytes free on the data volume, below the %d the service keeps free", domain.ErrStorageFull, v.Free, limit)
	}
	return nil
}

// watchStorage checks the volume every HealthInterval until ctx ends, and
// restarts the embedded server once the volume has room again after it
// ran full (see above). It reports the volume's problem to h.
func (s *Service) watchStorage(ctx context.Context, g *storageGuard, h *health) error {
	t := time.NewTicker(HealthInterval)
	defer t.Stop()
	if v, _, err := g.state(); err == nil && v.Size < 3*uint64(max(s.cfg.LogMaxBytes, 0)) {
		s.log.Warn("the data volume is smaller than three times the log's byte budget: it may fill before the log does (the read models share it); submissions then answer 507",
			slog.String("dir", g.dir), slog.Uint64("volume_bytes", v.Size), slog.Int64("log_max_bytes", s.cfg.LogMaxBytes))
	}
	wasFull := false
	for {
		v, full, err := g.state()
		switch {
		case err != nil:
			h.set(problemStorageFull, "", false)
		case full:
			if !wasFull {
				s.log.Error("the data volume is nearly full: submissions are refused (507) until space is freed",
					slog.String("dir", g.dir), slog.Uint64("free_bytes", v.Free), slog.Uint64("reserve_bytes", volumeReserve(v.Size)))
			}
			wasFull = true
			h.set(problemStorageFull, fmt.Sprintf("the data volume (%s) has %s free, below the %s kept free: submissions answer 507 until space is freed",
				g.dir, humanBytes(v.Free), humanBytes(volumeReserve(v.Size))), true)
		default:
			if wasFull {
				s.log.Warn("the data volume has room again: restarting the embedded NATS server so that every stream accepts writes again",
					slog.Uint64("free_bytes", v.Free))
				if err := s.restartEmbedded(); err != nil {
					s.log.Error("could not restart the embedded NATS server; retrying", slog.Any("err", err))
				} else {
					wasFull = false
				}
			}
			if !wasFull {
				h.set(problemStorageFull, "", false)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func humanBytes(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	default:
		return fmt.Sprintf("%d KiB", b>>10)
	}
}

// storageCollector says at each scrape what the service stores: the log,
// the read models' active generations, older generations not removed yet,
// and the meta and lease buckets; on the embedded server also the data
// volume's size, free space and reserve.
type storageCollector struct {
	js    jetstream.JetStream
	guard *storageGuard // nil unless embedded
}

var (
	storageBytesDesc = prometheus.NewDesc("jevents_storage_bytes",
		"Bytes the service stores in NATS, by part: log (the event stream), readmodels (active generations), old_generations (older generations not removed yet), meta (pointers and leases).",
		[]string{"part"}, nil)
	volumeSizeDesc    = prometheus.NewDesc("jevents_data_volume_size_bytes", "Size of the volume holding the embedded server's data directory.", nil, nil)
	volumeFreeDesc    = prometheus.NewDesc("jevents_data_volume_free_bytes", "Free bytes on the volume holding the embedded server's data directory.", nil, nil)
	volumeReserveDesc = prometheus.NewDesc("jevents_data_volume_reserve_bytes", "Free bytes the service keeps on the data volume: below it submissions answer 507.", nil, nil)
)

func (c *storageCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- storageBytesDesc
	if c.guard != nil {
		ch <- volumeSizeDesc
		ch <- volumeFreeDesc
		ch <- volumeReserveDesc
	}
}

func (c *storageCollector) Collect(ch chan<- prometheus.Metric) {
	if c.guard != nil {
		if v, _, err := c.guard.state(); err == nil {
			ch <- prometheus.MustNewConstMetric(volumeSizeDesc, prometheus.GaugeValue, float64(v.Size))
			ch <- prometheus.MustNewConstMetric(volumeFreeDesc, prometheus.GaugeValue, float64(v.Free))
			ch <- prometheus.MustNewConstMetric(volumeReserveDesc, prometheus.GaugeValue, float64(volumeReserve(v.Size)))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// Only the process that owns the server lists its streams: on a
	// cluster the roles may not (a refused request is logged as a
	// permission violation).
	parts, err := storedParts(ctx, c.js, c.guard != nil)
	if err != nil {
		return // the stream series say whether the log can be read
	}
	for _, p := range []string{"log", "readmodels", "old_generations", "meta"} {
		if v, ok := parts[p]; ok {
			ch <- prometheus.MustNewConstMetric(storageBytesDesc, prometheus.GaugeValue, float64(v), p)
		}
	}
}

// storedParts measures the streams the service keeps. Old generations are
// counted when list is set (the process may list the streams: the
// embedded server); otherwise that part is left out.
func storedParts(ctx context.Context, js jetstream.JetStream, list bool) (map[string]uint64, error) {
	bytesOf := func(stream string) (uint64, bool) {
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return 0, false
		}
		return s.CachedInfo().State.Bytes, true
	}
	parts := map[string]uint64{}
	log, ok := bytesOf(domain.StreamName)
	if !ok {
		return nil, fmt.Errorf("no event stream")
	}
	parts["log"] = log
	active := map[string]bool{}
	if meta, err := js.KeyValue(ctx, engine.MetaBucket); err == nil {
		for _, name := range readModels.Names() {
			if e, err := meta.Get(ctx, engine.PointerKey(name)); err == nil {
				active[string(e.Value())] = true
				if b, ok := bytesOf("KV_" + string(e.Value())); ok {
					parts["readmodels"] += b
				}
			}
		}
	}
	for _, b := range []string{engine.MetaBucket, engine.LeaseBucket} {
		if n, ok := bytesOf("KV_" + b); ok {
			parts["meta"] += n
		}
	}
	if !list {
		return parts, nil
	}
	names := js.StreamNames(ctx)
	var old uint64
	for name := range names.Name() {
		bucket, ok := strings.CutPrefix(name, "KV_")
		if !ok || active[bucket] {
			continue
		}
		for _, rm := range readModels.Names() {
			if strings.HasPrefix(bucket, rm+"_") {
				if n, ok := bytesOf(name); ok {
					old += n
				}
			}
		}
	}
	if names.Err() == nil {
		parts["old_generations"] = old
	}
	return parts, nil
}
