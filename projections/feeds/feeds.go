// Package feeds owns the public iCalendar feeds of Justice Events and the
// read API for conferences. It serves them from an in-memory replica of the
// calendar read model and never reads the event log, so any number of feed
// servers can run beside one projector.
//
// Each conference version is encoded once as a VEVENT block (ical.EventBlock)
// and a feed is assembled from blocks once per change of the conferences it
// contains and per day of its window, then served from memory with a strong
// ETag, its gzip form and 304s: a request costs the same for 10 or 100,000
// conferences, and a change re-encodes one conference, not the feed.
//
// The window: a conference stays in list feeds until Config.Window (by
// default a year, DefaultWindow) after it ended, cancelled ones too
// (STATUS:CANCELLED, "Cancelled: " before the title), so subscribers see
// the cancellation; then it drops out, and a syncing client (vdirsyncer,
// Thunderbird) deletes it from the subscriber's calendar. A year keeps last
// year's conferences in view when people plan this year's; ?past=all
// (Filter.AllPast) keeps every one. The window moves once a day, at
// midnight UTC. The feed of one conference (/conferences/{id}.ics) has no
// window. Each feed's description (X-WR-CALDESC) says how long past
// conferences stay (Retention).
//
// It imports the domain package, the calendar projection's record type,
// ical, httpapi and internal packages; never a producer nor the event log.
package feeds

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/ical"
	"github.com/justiceevents/jevents/internal/httpcache"
	"github.com/justiceevents/jevents/projections/calendar"
)

// Source is the calendar read model as the feed server reads it: the
// replica in production and in tests. Range must not call back into the
// source.
type Source interface {
	Get(key string) (calendar.Conference, bool)
	Range(fn func(key string, c calendar.Conference) bool)
}

// Config are the feed server's settings.
type Config struct {
	// PublicURL is where people reach the service (https://events.example);
	// links, SOURCE and the UID domain derive from it.
	PublicURL *url.URL
	// Window is how long a conference stays in list feeds after it ended;
	// cancelled conferences too, so subscribers see the cancellation.
	// Default DefaultWindow; ?past=all feeds have none.
	Window time.Duration
	// Refresh is the suggested polling interval (REFRESH-INTERVAL,
	// X-PUBLISHED-TTL) and the Cache-Control max-age of feeds.
	Refresh time.Duration
	// CacheBytes bounds the memory of prepared feeds (body and gzip form);
	// the least recently requested are dropped first. Default 256 MiB.
	CacheBytes int64
}

// Defaults of Config's zero fields (`jevents serve` shows them as its
// flags' defaults).
const (
	DefaultWindow     = 365 * 24 * time.Hour
	DefaultRefresh    = 6 * time.Hour
	DefaultCacheBytes = 256 << 20
)

// Server renders and serves feeds. Safe for concurrent use.
type Server struct {
	cfg      Config
	src      Source
	log      *slog.Logger
	metrics  *Metrics
	names    SponsorNames // current sponsor names; nil: as stored (sponsors.go)
	asOf     AsOf         // answers ?as_of= (asof.go); nil: 501
	prepared *preparedSet

	// The prepared answers (feeds and read-API lists) and their admission
	// (cache.go): the feeds everybody polls in cache, made-up queries in
	// made, each within half the budget, so that no flood of queries can
	// push out what subscribers poll.
	cache *httpcache.LRU[*slot]
	made  *httpcache.LRU[*slot]
	door  *httpcache.Doorkeeper
	heavy chan struct{} // renders that search text, at most cap at once

	mu       sync.Mutex
	inflight map[string]*slot // renders under way, by key: one per key
	cacheDay time.Time        // the cutoff the cached answers were made for
	gen      uint64           // moved by every change: a render that saw one is not kept

	index atomic.Pointer[pubIndex] // public conferences soonest first (list.go)
}

// slot is one prepared answer; ready is closed once entry is set. A large
// feed's entry is replaced once its gzip form is ready.
type slot struct {
	key    string
	cache  *httpcache.LRU[*slot] // the half it is kept in
	filter Filter
	// What every request for the answer needs, made once: its kind, its
	// Content-Disposition and its request counters.
	kind                string
	disposition         []string
	served, notModified prometheus.Counter

	ready chan struct{}
	entry atomic.Pointer[httpcache.Entry]
	err   error
}

// gzipLater is the body size from which a feed is served at once and
// compressed in the background: compressing 10,000 conferences (9 MB)
// takes about 50 ms, which would delay every change by as much.
const gzipLater = 256 << 10

// New returns a feed server over src; metrics may be nil. Wire Changed and
// Reset to the replica's OnChange and OnReset.
func New(cfg Config, src Source, log *slog.Logger, m *Metrics) *Server {
	if m == nil {
		m = NewMetrics(nil)
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultRefresh
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	s := &Server{cfg: cfg, src: src, log: log, metrics: m, prepared: newPreparedSet(),
		door: httpcache.NewDoorkeeper(doorkeeperKeys), heavy: make(chan struct{}, heavyRenders()),
		inflight: map[string]*slot{}}
	evicted := func(string, *slot) { s.metrics.evictions.Inc() }
	s.cache = httpcache.NewLRU[*slot](cfg.CacheBytes/2, evicted)
	s.made = httpcache.NewLRU[*slot](cfg.CacheBytes/2, evicted)
	return s
}

// Changed re-encodes the changed conference on its next use, drops the
// cached answers that published it before or publish it now, and records
// how fresh a published change is here. Feeds that never held it keep their
// bytes and validators.
func (s *Server) Changed(key string, old calendar.Conference, hadOld bool, c calendar.Conference) {
	s.prepared.forget(c.ID)
	if hadOld {
		s.prepared.forget(old.ID)
	}
	if !c.Public() && !(hadOld && old.Public()) {
		return // nothing a feed shows
	}
	s.mu.Lock()
	s.gen++
	s.mu.Unlock()
	s.index.Store(nil)
	// Each conference's search text once, not once per cached feed.
	var oldText, newText *string
	text := func(c calendar.Conference, p **string) *string {
		if *p == nil {
			t := SearchText(c)
			*p = &t
		}
		return *p
	}
	drop := func(_ string, sl *slot) bool {
		f := sl.filter
		if f.ID != "" {
			return f.ID == c.ID || hadOld && f.ID == old.ID
		}
		if hadOld && old.Public() && f.match(old, text(old, &oldText)) {
			return true
		}
		return c.Public() && f.match(c, text(c, &newText))
	}
	s.cache.RemoveIf(drop)
	s.made.RemoveIf(drop)
	s.metrics.cacheBytes.Set(float64(s.cacheBytes()))
	if c.Public() && (!hadOld || old.Version != c.Version) {
		s.metrics.freshness.Observe(time.Since(c.Updated).Seconds())
	}
}

// Reset drops every cached answer and encoded conference.
func (s *Server) Reset() {
	s.prepared.reset()
	s.mu.Lock()
	s.gen++
	s.mu.Unlock()
	s.index.Store(nil)
	s.cache.Clear()
	s.made.Clear()
	s.metrics.cacheBytes.Set(0)
}

// cutoff is the first instant a conference must end after to be in feeds:
// midnight UTC of today minus the window, so feeds change at most once a day
// by the passing of time.
func (s *Server) cutoff(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Add(-s.cfg.Window)
}

// keepFrom is the cutoff of the feed of f: none for ?past=all.
func (s *Server) keepFrom(f Filter, cut time.Time) time.Time {
	if f.AllPast {
		return time.Time{}
	}
	return cut
}

// dropsOut is the midnight (UTC) at which a conference that ends at end
// leaves the feeds: the first day whose cutoff is after end.
func (s *Server) dropsOut(end time.Time) time.Time {
	y, m, d := end.Add(s.cfg.Window).UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}

// Feed returns the prepared feed for f at time now, assembling it on first
// use after a change. Concurrent requests for the same feed wait for one
// assembly.
func (s *Server) Feed(f Filter, now time.Time) (*httpcache.Entry, error) {
	return s.FeedAs(f, ICS, now)
}

// FeedAs is Feed in one of the formats (syndication.go).
func (s *Server) FeedAs(f Filter, format Format, now time.Time) (*httpcache.Entry, error) {
	_, e, err := s.feed(context.Background(), f, format, now)
	return e, err
}

// feed prepares the feed of f in format: every format of every feed kind
// goes through here, cached and invalidated alike (a change drops every
// format of the feeds that held the conference, as they share the filter).
func (s *Server) feed(ctx context.Context, f Filter, format Format, now time.Time) (*slot, *httpcache.Entry, error) {
	f = f.canonical()
	cut := s.cutoff(now)
	keep := alwaysKept(f.Kind())
	return s.prepare(ctx, format.cacheKey(f), f, format.metricKind(f.Kind()), keep, cut, format, func() (*httpcache.Entry, error) {
		var e *httpcache.Entry
		var err error
		if format == ICS {
			e, err = s.render(f, s.keepFrom(f, cut))
		} else {
			e, err = s.renderSyndication(f, format, s.keepFrom(f, cut))
		}
		// Compressed now when small; a large one in the background once
		// it is kept (cache.go).
		if err == nil && len(e.Body) < gzipLater {
			e = e.WithGzip()
		}
		return e, err
	})
}

// render assembles one feed from the replica and the encoded conferences.
//
// Last-Modified: for the feed of one conference, the time of its last
// event. For every other feed it is the time of the last change to any
// published conference when the feed was assembled, or the midnight a
// conference of the feed dropped out of the window if that is later: a
// feed's content changes only through such changes, so a client's
// If-Modified-Since never hides one (a conference edited out of a topic is
// no longer in the topic's feed, but its edit still moves the time). The
// ETag, a hash of the bytes, is the exact validator.
func (s *Server) render(f Filter, cut time.Time) (*httpcache.Entry, error) {
	var (
		blocks []*ical.EventBlock
		last   time.Time
	)
	if f.ID != "" {
		if c, ok := s.src.Get(calendar.Key(f.ID)); ok && c.Public() {
			last = c.Updated
			if b := s.block(c, s.prepared.times(c)); b != nil {
				blocks = append(blocks, b)
			}
		}
	} else {
		ix := s.publicIndex() // list.go: soonest first, times read once
		last = ix.last
		for _, l := range ix.list {
			if !f.matches(l) {
				continue
			}
			if l.p.end.Before(cut) {
				if d := s.dropsOut(l.p.end); d.After(last) {
					last = d
				}
				continue
			}
			if b := s.block(l.c, l.p); b != nil {
				blocks = append(blocks, b)
			}
		}
	}
	body, err := ical.Assemble(ical.Feed{
		Name:        s.title(f),
		Description: s.description(f),
		Source:      s.feedURL(f, ICS),
		URL:         s.pageURL(f),
		Refresh:     s.cfg.Refresh,
	}, blocks)
	if err != nil {
		return nil, fmt.Errorf("feeds: assemble %s: %w", f.key(), err)
	}
	cc := fmt.Sprintf("public, max-age=%d", int(min(s.cfg.Refresh, time.Hour).Seconds()))
	return httpcache.NewPlainEntry(body, "text/calendar; charset=utf-8", cc, last), nil
}

// event maps a conference record to its VEVENT, with the times prepared
// for it. A cancelled conference keeps its UID and says so in STATUS and
// in its title, as calendar apps show STATUS:CANCELLED differently (Google
// drops the event, Outlook shows it unchanged).
func (s *Server) event(c calendar.Conference, p *prepared) (ical.Event, error) {
	d := c.Details
	ev := ical.Event{
		UID:          c.ID + "@" + s.cfg.PublicURL.Hostname(),
		Summary:      d.Title,
		Description:  s.eventDescription(c),
		Location:     d.Place(),
		URL:          cmp.Or(d.URL, s.absolute("/conferences/"+c.ID)),
		Cancelled:    c.Status == domain.StatusCancelled,
		AllDay:       d.AllDay,
		Start:        p.start,
		End:          p.end,
		Created:      c.Submitted,
		LastModified: c.Updated,
		Sequence:     c.Sequence,
	}
	if ev.Cancelled {
		ev.Summary = "Cancelled: " + d.Title
	}
	// CATEGORIES (RFC 5545 §3.8.1.2): the event type, then the topics.
	// Cost, registration and credits have no property of RFC 5545 or
	// RFC 7986; the description says them.
	if t := d.TypeLabel(); t != "" {
		ev.Categories = append(ev.Categories, t)
	}
	for _, t := range d.Topics {
		ev.Categories = append(ev.Categories, domain.TopicLabel(t))
	}
	return ev, nil
}

// described are the fields the description lists after the text, in
// this order: each as "<Label>: <Text>" (domain.ConferenceFields), when
// set.
var described = []string{"type", "sponsors", "format", "cost", "registration", "credits"}

// eventDescription is the conference's description followed by its
// cancellation, the described fields and its link, so every calendar app
// shows them. Sponsors are named as the directory names them now.
func (s *Server) eventDescription(c calendar.Conference) string {
	d := s.withSponsorNames(c.Details)
	var b strings.Builder
	b.WriteString(d.Description)
	add := func(label, v string) {
		if v == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(label)
		b.WriteString(v)
	}
	if c.Status == domain.StatusCancelled {
		add("Cancelled. ", c.CancelReason)
		if c.CancelReason == "" {
			add("", "Cancelled.")
		}
	}
	for _, name := range described {
		if f, ok := domain.Field(name); ok {
			add(f.Label+": ", f.Text(d))
		}
	}
	add("More: ", cmp.Or(d.URL, s.absolute("/conferences/"+c.ID)))
	return b.String()
}

// withSponsorNames is d with its sponsors named as the directory names
// them now.
func (s *Server) withSponsorNames(d domain.ConferenceDetails) domain.ConferenceDetails {
	sponsors := make([]domain.Sponsor, len(d.Sponsors))
	for i, sp := range d.Sponsors {
		sponsors[i] = domain.Sponsor{ID: sp.ID, Name: s.sponsorName(sp)}
	}
	d.Sponsors = sponsors
	return d
}

func (s *Server) absolute(path string) string {
	u := *s.cfg.PublicURL
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	return u.String()
}

// Metrics are the feed server's Prometheus series.
type Metrics struct {
	requests   *prometheus.CounterVec
	render     *prometheus.HistogramVec
	freshness  prometheus.Histogram
	broken     prometheus.Counter
	cacheBytes prometheus.Gauge
	evictions  prometheus.Counter
	busy       prometheus.Counter
	asOf       *prometheus.CounterVec
}

// NewMetrics registers the series on reg (nil: unregistered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "feed", Name: "requests_total",
			Help: "Feed and conference API requests, by feed kind and HTTP status (304s included)."}, []string{"feed", "code"}),
		render: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "jevents", Subsystem: "feed", Name: "render_duration_seconds",
			Help:    "Time to assemble a feed after a change (encoding the conferences that changed), by feed kind.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"feed"}),
		freshness: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "jevents", Subsystem: "feed", Name: "freshness_seconds",
			Help:    "Time from a published change's event (an approval, an edit, a cancellation) to its arrival in this server's read model.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}),
		broken: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "feed", Name: "unrenderable_conferences_total",
			Help: "Conference versions left out of feeds because they cannot be rendered (logged; should stay 0)."}),
		cacheBytes: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "jevents", Subsystem: "feed", Name: "cache_bytes",
			Help: "Bytes of prepared feeds and read-API answers held in memory (bodies, gzip forms and their bookkeeping)."}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "feed", Name: "cache_evictions_total",
			Help: "Prepared feeds and read-API answers dropped to keep the cache within its byte budget."}),
		busy: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "feed", Name: "search_busy_total",
			Help: "Keyword searches (feeds and read API) answered 503 because they waited too long for a render turn."}),
		asOf: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "feed", Name: "as_of_requests_total",
			Help: "Requests with ?as_of= (feeds, the conference API, the list of feeds), by how the instant was resolved: 200, or the error status (400 bad instant, 503 busy or over budget, 501 not served here)."}, []string{"code"}),
	}
	for _, code := range []string{"200", "400", "501", "503"} {
		m.asOf.WithLabelValues(code)
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.render, m.freshness, m.broken, m.cacheBytes, m.evictions, m.busy, m.asOf)
	}
	return m
}
