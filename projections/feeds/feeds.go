// Package feeds owns the public iCalendar feeds of Justice Events and the
// read API for conferences. It serves them from an in-memory replica of the
// calendar read model and never reads the event log, so any number of feed
// servers can run beside one projector.
//
// A feed is rendered once per change of the conferences it contains and per
// day of its window, then served from memory with a strong ETag, its gzip
// form and 304s, so a request costs the same for 10 or 100,000 conferences.
//
// It imports the domain package, the calendar projection's record type,
// ical and internal packages; never a producer.
package feeds

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/ical"
	"github.com/justiceevents/jevents/internal/httpcache"
	"github.com/justiceevents/jevents/projections/calendar"
)

// Source is the calendar read model as the feed server reads it: the
// replica in production and in tests.
type Source interface {
	Get(key string) (calendar.Conference, bool)
	Range(fn func(key string, c calendar.Conference) bool)
}

// Config are the feed server's settings.
type Config struct {
	// PublicURL is where people reach the service (https://events.example);
	// links, SOURCE and the UID domain derive from it.
	PublicURL *url.URL
	// Window is how long a conference stays in feeds after it ended;
	// cancelled conferences too, so subscribers see the cancellation.
	Window time.Duration
	// Refresh is the suggested polling interval (REFRESH-INTERVAL,
	// X-PUBLISHED-TTL) and the Cache-Control max-age of feeds.
	Refresh time.Duration
}

// Server renders and serves feeds. Safe for concurrent use.
type Server struct {
	cfg     Config
	src     Source
	log     *slog.Logger
	metrics *Metrics

	mu    sync.Mutex
	cache map[string]*slot
}

// slot is one cached feed; ready is closed once entry is set.
type slot struct {
	filter Filter
	ready  chan struct{}
	entry  *httpcache.Entry
	err    error
}

// New returns a feed server over src; metrics may be nil. Wire Changed and
// Reset to the replica's OnChange and OnReset.
func New(cfg Config, src Source, log *slog.Logger, m *Metrics) *Server {
	if m == nil {
		m = NewMetrics(nil)
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 6 * time.Hour
	}
	return &Server{cfg: cfg, src: src, log: log, metrics: m, cache: map[string]*slot{}}
}

// Changed drops the cached feeds that contained the conference before or
// contain it now, and records how fresh a published change is here.
func (s *Server) Changed(key string, old calendar.Conference, hadOld bool, c calendar.Conference) {
	s.mu.Lock()
	for k, sl := range s.cache {
		if (hadOld && sl.filter.Match(old)) || sl.filter.Match(c) || sl.filter.ID == c.ID {
			delete(s.cache, k)
		}
	}
	s.mu.Unlock()
	if c.Public() && (!hadOld || old.Version != c.Version) {
		s.metrics.freshness.Observe(time.Since(c.Updated).Seconds())
	}
}

// Reset drops every cached feed.
func (s *Server) Reset() {
	s.mu.Lock()
	clear(s.cache)
	s.mu.Unlock()
}

// cutoff is the first instant a conference must end after to be in feeds:
// midnight UTC of today minus the window, so feeds change at most once a day
// by the passing of time.
func (s *Server) cutoff(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Add(-s.cfg.Window)
}

// Feed returns the prepared feed for f, rendering it on first use after a
// change. Concurrent requests for the same feed wait for one rendering.
func (s *Server) Feed(f Filter, now time.Time) (*httpcache.Entry, error) {
	cut := s.cutoff(now)
	key := f.key() + "|" + cut.Format("20060102")
	s.mu.Lock()
	sl, ok := s.cache[key]
	if !ok {
		sl = &slot{filter: f, ready: make(chan struct{})}
		s.cache[key] = sl
	}
	s.mu.Unlock()
	if ok {
		<-sl.ready
		return sl.entry, sl.err
	}
	start := time.Now()
	sl.entry, sl.err = s.render(f, cut)
	s.metrics.render.WithLabelValues(f.Kind()).Observe(time.Since(start).Seconds())
	close(sl.ready)
	if sl.err != nil {
		s.mu.Lock()
		if s.cache[key] == sl {
			delete(s.cache, key)
		}
		s.mu.Unlock()
	}
	return sl.entry, sl.err
}

// render builds one feed from the replica.
func (s *Server) render(f Filter, cut time.Time) (*httpcache.Entry, error) {
	var list []calendar.Conference
	s.src.Range(func(_ string, c calendar.Conference) bool {
		if c.Public() && f.Match(c) && (f.ID != "" || !c.Details.EndTime().Before(cut)) {
			list = append(list, c)
		}
		return true
	})
	slices.SortFunc(list, func(a, b calendar.Conference) int {
		return cmp.Or(a.Details.StartTime().Compare(b.Details.StartTime()), cmp.Compare(a.ID, b.ID))
	})
	feed := ical.Feed{
		Name:        s.title(f),
		Description: s.description(f),
		Source:      s.feedURL(f),
		URL:         s.absolute("/"),
		Refresh:     s.cfg.Refresh,
		Events:      make([]ical.Event, 0, len(list)),
	}
	var last time.Time
	for _, c := range list {
		ev, err := s.event(c)
		if err != nil {
			return nil, fmt.Errorf("feeds: conference %s: %w", c.ID, err)
		}
		feed.Events = append(feed.Events, ev)
		if c.Updated.After(last) {
			last = c.Updated
		}
	}
	body, err := ical.Render(feed)
	if err != nil {
		return nil, fmt.Errorf("feeds: render %s: %w", f.key(), err)
	}
	cc := fmt.Sprintf("public, max-age=%d", int(min(s.cfg.Refresh, time.Hour).Seconds()))
	return httpcache.NewEntry(body, "text/calendar; charset=utf-8", cc, last), nil
}

// event maps a conference record to its VEVENT.
func (s *Server) event(c calendar.Conference) (ical.Event, error) {
	d := c.Details
	ev := ical.Event{
		UID:          c.ID + "@" + s.cfg.PublicURL.Hostname(),
		Summary:      d.Title,
		Description:  s.eventDescription(c),
		Location:     locationText(d),
		URL:          d.URL,
		Cancelled:    c.Status == domain.StatusCancelled,
		AllDay:       d.AllDay,
		Created:      c.Submitted,
		LastModified: c.Updated,
		Sequence:     c.Sequence,
	}
	if ev.URL == "" {
		ev.URL = s.absolute("/conferences/" + c.ID)
	}
	for _, t := range d.Topics {
		ev.Categories = append(ev.Categories, domain.TopicLabel(t))
	}
	if d.AllDay {
		ev.Start, ev.End = d.StartTime(), d.EndTime()
		return ev, nil
	}
	loc, err := time.LoadLocation(d.Timezone)
	if err != nil {
		return ical.Event{}, err
	}
	ev.Start, ev.End = d.StartTime().In(loc), d.EndTime().In(loc)
	return ev, nil
}

// eventDescription is the conference's description followed by its link,
// its sponsors and its format, so every calendar app shows them.
func (s *Server) eventDescription(c calendar.Conference) string {
	d := c.Details
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
	names := make([]string, len(d.Sponsors))
	for i, sp := range d.Sponsors {
		names[i] = sp.Name
	}
	add("Sponsors: ", strings.Join(names, "; "))
	add("Format: ", formatText(d.Format))
	add("More: ", cmp.Or(d.URL, s.absolute("/conferences/"+c.ID)))
	return b.String()
}

func formatText(f domain.Format) string {
	switch f {
	case domain.FormatInPerson:
		return "in person"
	case domain.FormatOnline:
		return "online"
	case domain.FormatHybrid:
		return "hybrid (in person and online)"
	}
	return string(f)
}

// locationText is "Venue, City, MD, US", or "Online".
func locationText(d domain.ConferenceDetails) string {
	l := d.Location
	var parts []string
	for _, p := range []string{l.Venue, l.City, l.Region, l.Country} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if d.Format == domain.FormatOnline && len(parts) == 0 {
		return "Online"
	}
	return strings.Join(parts, ", ")
}

func (s *Server) absolute(path string) string {
	u := *s.cfg.PublicURL
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	return u.String()
}

// Metrics are the feed server's Prometheus series.
type Metrics struct {
	requests  *prometheus.CounterVec
	render    *prometheus.HistogramVec
	freshness prometheus.Histogram
}

// NewMetrics registers the series on reg (nil: unregistered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "feed", Name: "requests_total",
			Help: "Feed and conference API requests, by feed kind and HTTP status (304s included)."}, []string{"feed", "code"}),
		render: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "jevents", Subsystem: "feed", Name: "render_duration_seconds",
			Help:    "Time to render a feed after a change, by feed kind.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"feed"}),
		freshness: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "jevents", Subsystem: "feed", Name: "freshness_seconds",
			Help:    "Time from a published change's event (an approval, an edit, a cancellation) to its arrival in this server's read model.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.render, m.freshness)
	}
	return m
}
