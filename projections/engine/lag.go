package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/justiceevents/jevents/domain"
)

// progress is what a running projector knows of how far behind the log it
// is. The lag metrics are computed from it when they are read (a scrape),
// not when events arrive: a value set on delivery says what the server had
// not yet delivered at that moment, which reads 0 while thousands of
// delivered events wait in the projector's buffers, and never grows while
// the projector is stuck (issue 16 measured 0 in 39 of 43 samples taken
// while 16,000 events behind).
//
// At a read, the lag is the events committed to nothing yet:
//
//	received but not committed (counted here)
//	+ stored in the log after the last event received, among the
//	  projection's subjects (counted by the server's store at the read)
//
// The second part is one batched direct get per subject filter, from the
// sequence after the last received event, batch of 1: the server answers
// with the first such event and, in Nats-Num-Pending, how many more its
// store holds, counted under the stream's lock. It replaced the
// consumer's info (delivered but not received + the consumer's pending
// count), which read BELOW the truth: the server acknowledges a publish
// before it signals the stream's consumers (a queue drained by another
// goroutine), so a consumer's pending count can miss events the log
// already holds — TestLagMetricsAreTrue once read 62 behind while the
// stream said 68. The store's count has no such delay, and an ordered
// consumer recreated mid-reading (new name, new sequences) does not enter
// into it.
//
// "True" here: the reading is the lag of the committed sequence reported
// with it against the log as the server held it at some moment during the
// read — never less than the lag at the read's start, never more than at
// its end (TestLagMetricsAreTrue checks both bounds against the stream's
// last sequence read just before and after every scrape). An event whose
// publish is still on its way to the server is not in the log, and not in
// the lag. On a cluster a direct get may be answered by any current
// replica, and one a write behind the leader answers short by the appends
// in flight between replicas (docs/metrics.md).
type progress struct {
	mu        sync.Mutex
	stored    storedAfter // nil between consumers
	committed uint64      // stream sequence of the last committed event
	recv      uint64      // events received since the consumer started
	done      uint64      // of those, committed or skipped as duplicates
	lastSeq   uint64      // stream sequence of the last event received (or committed at start)
	waiting   []stamp     // received events not committed yet, oldest first
	progress  time.Time   // last event received or commit made
}

// storedAfter counts the projection's events stored in the log after a
// stream sequence, and tells the storage time of the first of them.
type storedAfter func(ctx context.Context, seq uint64) (n uint64, first time.Time, err error)

// storedAfterIn is storedAfter for the event stream and a projection's
// subject filters (which a consumer's filters never let overlap).
func storedAfterIn(js jetstream.JetStream, filters []string) storedAfter {
	return func(ctx context.Context, seq uint64) (uint64, time.Time, error) {
		var n uint64
		var first time.Time
		for _, f := range filters {
			msgs, err := jetstreamext.GetBatch(ctx, js, domain.StreamName, 1, jetstreamext.GetBatchSeq(seq+1), jetstreamext.GetBatchSubject(f))
			if err != nil {
				return 0, time.Time{}, err
			}
			for m, err := range msgs {
				if errors.Is(err, jetstreamext.ErrNoMessages) {
					break
				}
				if err != nil {
					return 0, time.Time{}, err
				}
				more, err := strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64)
				if err != nil {
					return 0, time.Time{}, fmt.Errorf("direct get after %d: Nats-Num-Pending: %w", seq, err)
				}
				n += 1 + more
				if first.IsZero() || m.Time.Before(first) {
					first = m.Time
				}
			}
		}
		return n, first, nil
	}
}

// stamp is when a received event was stored in the log.
type stamp struct {
	seq uint64
	at  time.Time
}

// received counts one event handed over by the consumer.
func (g *progress) received(md *jetstream.MsgMetadata) {
	g.mu.Lock()
	g.recv++
	g.lastSeq = max(g.lastSeq, md.Sequence.Stream)
	g.waiting = append(g.waiting, stamp{md.Sequence.Stream, md.Timestamp})
	g.progress = time.Now()
	g.mu.Unlock()
}

// dropped counts received events that will never be committed (delivered
// twice).
func (g *progress) dropped(n uint64) {
	g.mu.Lock()
	g.done += n
	g.mu.Unlock()
}

// committedTo records a commit of n received events up to stream sequence seq.
func (g *progress) committedTo(seq, n uint64) {
	g.mu.Lock()
	g.committed = seq
	g.done += n
	i := 0
	for i < len(g.waiting) && g.waiting[i].seq <= seq {
		i++
	}
	g.waiting = append(g.waiting[:0], g.waiting[i:]...)
	g.progress = time.Now()
	g.mu.Unlock()
}

// start resets the counts for a new consumer reading from after
// committed; stored counts what the log holds beyond what was received.
func (g *progress) start(stored storedAfter, committed uint64) {
	g.mu.Lock()
	g.stored, g.committed = stored, committed
	g.recv, g.done, g.lastSeq = 0, 0, committed
	g.waiting = g.waiting[:0]
	g.progress = time.Now()
	g.mu.Unlock()
}

// lagReading is one computation of the lag.
type lagReading struct {
	committed uint64
	events    uint64
	seconds   float64
}

// read computes the lag now; ok is false (and only the committed sequence
// is known) when there is no consumer to ask or it did not answer.
func (g *progress) read(ctx context.Context) (lagReading, bool) {
	g.mu.Lock()
	stored, committed := g.stored, g.committed
	buffered := g.recv - g.done
	after := max(g.lastSeq, committed)
	var oldest time.Time
	if len(g.waiting) > 0 {
		oldest = g.waiting[0].at
	}
	since := g.progress
	g.mu.Unlock()
	if stored == nil {
		return lagReading{committed: committed}, false
	}
	notReceived, first, err := stored(ctx, after)
	if err != nil {
		return lagReading{committed: committed}, false
	}
	r := lagReading{committed: committed, events: buffered + notReceived}
	switch {
	case r.events == 0:
	case !oldest.IsZero():
		r.seconds = time.Since(oldest).Seconds()
	case !first.IsZero():
		// Everything behind is still on the server: the age of the
		// first of it.
		r.seconds = time.Since(first).Seconds()
	default:
		r.seconds = time.Since(since).Seconds()
	}
	return r, true
}

// lagCollector exports the running projectors' applied sequence and lag,
// computed at every read; between runs (and for a projector that stood
// down) the last computed values stay.
type lagCollector struct {
	applied, events, seconds *prometheus.Desc

	mu      sync.Mutex
	sources map[string]*progress
	last    map[string]lagReading
}

func newLagCollector() *lagCollector {
	l := []string{"projection"}
	return &lagCollector{
		applied: prometheus.NewDesc("jevents_projector_applied_sequence",
			"Stream sequence of the last event committed to the read model.", l, nil),
		events: prometheus.NewDesc("jevents_projector_lag_events",
			"Events in the log that the projector has not committed to the read model yet, computed when read.", l, nil),
		seconds: prometheus.NewDesc("jevents_projector_lag_seconds",
			"How long the oldest event the projector has not committed yet has been in the log; 0 when caught up. Computed when read.", l, nil),
		sources: map[string]*progress{},
		last:    map[string]lagReading{},
	}
}

// attach makes g the source of name's figures until detach.
func (c *lagCollector) attach(name string, g *progress) {
	c.mu.Lock()
	c.sources[name] = g
	c.mu.Unlock()
}

// detach keeps g's last figures for name, if g is still its source.
func (c *lagCollector) detach(name string, g *progress) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	r, ok := g.read(ctx)
	cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sources[name] != g {
		return
	}
	delete(c.sources, name)
	if !ok {
		last := c.last[name]
		last.committed = r.committed
		r = last
	}
	c.last[name] = r
}

// setApplied records a committed sequence for name outside a run (a
// generation loaded before its consumer starts).
func (c *lagCollector) setApplied(name string, seq uint64) {
	c.mu.Lock()
	r := c.last[name]
	r.committed = seq
	c.last[name] = r
	c.mu.Unlock()
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.applied
	ch <- c.events
	ch <- c.seconds
}

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	sources := make(map[string]*progress, len(c.sources))
	for n, g := range c.sources {
		sources[n] = g
	}
	c.mu.Unlock()
	for n, g := range sources {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		r, ok := g.read(ctx)
		cancel()
		c.mu.Lock()
		if !ok {
			last := c.last[n]
			last.committed = r.committed
			r = last
		}
		c.last[n] = r
		c.mu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for n, r := range c.last {
		ch <- prometheus.MustNewConstMetric(c.applied, prometheus.GaugeValue, float64(r.committed), n)
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.GaugeValue, float64(r.events), n)
		ch <- prometheus.MustNewConstMetric(c.seconds, prometheus.GaugeValue, r.seconds, n)
	}
}
