// Package web owns the HTML pages of Justice Events: server-rendered
// html/template pages in one layout (header with the site's navigation,
// footer), with their templates and one small stylesheet embedded in the
// binary. Pages load nothing from other sites and run no scripts, so a
// Content-Security-Policy of default-src 'self' holds; they are accessible
// (landmarks, headings, skip link, labels, visible focus, usable with the
// keyboard alone), fit a phone, and stay under 100 KB however large the
// calendar or the directory grows (long lists are cut to a byte budget and
// continue on further pages).
//
// Read pages (the feeds role), rendered once per change of what they show
// (and per day, for "upcoming"), then served from memory with a strong
// ETag, gzip and 304s:
//   - GET /: upcoming conferences, filtered by topic, state, sponsor, date
//     range and keyword (OR within a facet, AND across, as the feeds do),
//     paged, with a box to subscribe to the same selection;
//   - GET /month/{YYYY-MM}: the conferences of a month, day by day, with
//     the same filters (month.go);
//   - GET /conferences/{id}: one published conference (feeds.Server.Routes
//     hands these to ConferencePage);
//   - GET /resources, /resources/topics/{topic}, /resources/{id}: the
//     directory, as the published page groups it, with each topic's and
//     sponsor's upcoming conferences and feeds;
//   - GET /assets/site.css: the stylesheet.
//
// Forms, answered per request and never cached (submit.go, moderation.go):
//   - /submit (the intake role): "Add your conference", validated as the
//     API validates, with field messages, a duplicate check, a honeypot, a
//     per-address rate limit and idempotent posts;
//   - /moderation (the editors role): sign-in with an editor token, the
//     queue, approve, reject, cancel and edit with If-Match semantics, and
//     the answers to organisers' requests (a proposal's diff);
//     /moderation/webhooks, the webhook subscriptions (webhooks.go);
//     /moderation/mail lists the mails the notifier gave up on, to send
//     again or drop (mail.go);
//   - /organiser/{token} (the intake role): the organiser's private page,
//     opened by the signed link in their mails (organiser.go).
//
// Every POST is checked against cross-site forgery twice: the browser's
// Sec-Fetch-Site/Origin (http.CrossOriginProtection) and a token in the
// form (security.go).
//
// It reads the read models through the small interfaces it declares
// (Directory, Conferences) and writes through the producers' methods
// (Submitter, Moderator, Webhooks); it is an adapter, so it may import producers and
// projections (never the event log: it appends through the producers), and
// nothing imports it but the composition root, cmd/jevents/service.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/clientaddr"
	"github.com/justiceevents/jevents/internal/httpcache"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/directory"
	"github.com/justiceevents/jevents/projections/feeds"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/site.css
var siteCSS []byte

// pageNames are the page templates, each parsed with the layout and the
// form partials.
var pageNames = []string{"resources", "topic", "resource", "error", "home", "conference", "month",
	"submit", "submitted", "signin", "queue", "moderate", "edit", "embed", "report", "organiser", "propose", "webhooks", "webhook", "mail"}

// ContentSecurityPolicy is sent with every page: nothing but this site's
// own stylesheet may load, nothing may frame the pages.
const ContentSecurityPolicy = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// MaxPageBytes is the size every page stays under.
const MaxPageBytes = 100 << 10

// Directory is the resource directory as pages read it (the directory
// index in production).
type Directory interface {
	Snapshot() *directory.Snapshot
}

// Conferences is the calendar read model as pages read it (the replica).
// Range must not call back into it.
type Conferences interface {
	Get(key string) (calendar.Conference, bool)
	Range(fn func(key string, c calendar.Conference) bool)
}

// FeedLinks gives the address of the feed of a selection, its name in
// calendar apps and how long it keeps past conferences (the feed server).
type FeedLinks interface {
	FeedURL(f feeds.Filter) string
	FeedURLAs(f feeds.Filter, format feeds.Format) string
	FeedName(f feeds.Filter) string
	Retention(f feeds.Filter) string
}

// Config are the pages' settings.
type Config struct {
	// PublicURL is where people reach the service; feed links derive from it.
	PublicURL *url.URL
	// TopicIntros are the introductions of topics, by slug, and Closing the
	// text shown under the directory (the published page's disclaimer
	// about links to non-federal sites); paragraphs are separated by blank
	// lines.
	TopicIntros map[string]string
	Closing     string
	// Feeds makes the subscribe links of the calendar's pages; without it
	// they point at /calendar.ics with the page's query.
	Feeds FeedLinks
	// Clients finds a request's client (internal/clientaddr), for the
	// forms' rate limits; the process shares it with the intake gate. When
	// nil, one is made from TrustedProxies.
	Clients *clientaddr.Resolver
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed when Clients is nil: the client is the right-most address in
	// it that is not a trusted proxy. Without any, the connection's address
	// is the client's and X-Forwarded-For is ignored (anyone can write it).
	TrustedProxies []netip.Prefix
	// EmbedOrigins are the sites allowed to frame /embed (its CSP
	// frame-ancestors), as origins (https://partner.example); none means
	// any site may.
	EmbedOrigins []string
	// SubmitLimit bounds the posts of one client address (an IPv6 /64) to
	// /submit, whatever they hold; zero takes the default: 10 at once, then
	// one every 3 minutes. (What a submission may append is the intake
	// gate's to decide; wrong tokens on the sign-in page are counted by
	// auth.Throttle.)
	SubmitLimit Limit
}

// Server renders and serves the pages. Safe for concurrent use.
type Server struct {
	cfg     Config
	dir     Directory
	cal     Conferences
	log     *slog.Logger
	metrics *Metrics

	tmpl    map[string]*template.Template
	shown   domain.Shown // the controls of the conference form (forms.go)
	css     *httpcache.Entry
	cssPath string

	gen   atomic.Uint64 // bumped by every change that can alter a page
	mu    sync.Mutex
	cache pageCache
	door  *httpcache.Doorkeeper // pages with a query are kept from their second request

	idxMu sync.Mutex
	idx   *calIndex // published conferences by start, for one generation

	cop           *http.CrossOriginProtection
	clients       *clientaddr.Resolver
	submitLimiter *limiter
	deadLetters   DeadLetters // the notifier's undelivered mail (mail.go); nil: not shown
}

// pageCache holds the rendered pages of one generation and one day, within
// a byte budget (least recently requested dropped first). Pages without a
// query are kept from their first request; a page with one (a filter, a
// keyword) from its second, so that a flood of made-up searches renders
// each once and pushes nothing out.
type pageCache struct {
	gen     uint64
	day     string
	entries *httpcache.LRU[*httpcache.Entry]
}

// pageCacheBytes bounds the memory of rendered pages (each is at most
// MaxPageBytes, and its gzip form).
const pageCacheBytes = 32 << 20

// New returns the pages' server; metrics may be nil. Wire
// DirectoryChanged, ConferenceChanged and Reset to the replicas (after the
// directory index's own callbacks).
func New(cfg Config, dir Directory, cal Conferences, log *slog.Logger, m *Metrics) (*Server, error) {
	if m == nil {
		m = NewMetrics(nil)
	}
	if cfg.PublicURL == nil {
		return nil, fmt.Errorf("web: a public URL is required")
	}
	if err := checkOrigins(cfg.EmbedOrigins); err != nil {
		return nil, err
	}
	if cfg.SubmitLimit == (Limit{}) {
		cfg.SubmitLimit = Limit{Burst: 10, Every: 3 * time.Minute}
	}
	if cfg.Clients == nil {
		cfg.Clients = clientaddr.New(cfg.TrustedProxies)
	}
	s := &Server{cfg: cfg, dir: dir, cal: cal, log: log, metrics: m, tmpl: map[string]*template.Template{},
		cop: http.NewCrossOriginProtection(), clients: cfg.Clients, door: httpcache.NewDoorkeeper(16 << 10),
		submitLimiter: newLimiter(cfg.SubmitLimit)}
	for _, name := range pageNames {
		t, err := template.New(name).ParseFS(templateFS, "templates/layout.html", "templates/form.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: templates: %w", err)
		}
		s.tmpl[name] = t
	}
	s.shown = formControls(s.tmpl["submit"])
	sum := sha256.Sum256(siteCSS)
	s.cssPath = "/assets/site.css?v=" + hex.EncodeToString(sum[:6])
	s.css = httpcache.NewEntry(siteCSS, "text/css; charset=utf-8", "public, max-age=31536000, immutable", time.Time{})
	return s, nil
}

// Routes are the read pages' routes: the calendar's home page, the
// directory's pages and the stylesheet (the feeds role). The pages of
// single conferences come through ConferencePage.
func (s *Server) Routes() []httpapi.Route {
	for _, page := range []string{"home", "month", "conference", "resources", "topic", "resource", "embed"} {
		s.metrics.requests.WithLabelValues(page, "200") // exported from the start
	}
	return append([]httpapi.Route{
		{Pattern: "GET /{$}", Handler: http.HandlerFunc(s.handleHome)},
		{Pattern: "GET /month/{month}", Handler: http.HandlerFunc(s.handleMonth)},
		{Pattern: "GET /embed", Handler: http.HandlerFunc(s.handleEmbed)},
		{Pattern: "GET /resources", Handler: http.HandlerFunc(s.handleIndex)},
		{Pattern: "GET /resources/topics/{topic}", Handler: http.HandlerFunc(s.handleTopic)},
		{Pattern: "GET /resources/{id}", Handler: http.HandlerFunc(s.handleResource)},
	}, s.AssetRoutes()...)
}

// AssetRoutes are the stylesheet's route alone, for a process that serves
// forms but not the read pages.
func (s *Server) AssetRoutes() []httpapi.Route {
	return []httpapi.Route{{Pattern: "GET /assets/site.css", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpcache.Serve(w, r, s.css)
	})}}
}

// DirectoryChanged drops the rendered pages; its signature is the
// directory replica's OnChange.
func (s *Server) DirectoryChanged(string, directory.Resource, bool, directory.Resource) { s.gen.Add(1) }

// ConferenceChanged drops the rendered pages when a published conference
// changed; its signature is the calendar replica's OnChange.
func (s *Server) ConferenceChanged(_ string, old calendar.Conference, hadOld bool, c calendar.Conference) {
	if c.Public() || (hadOld && old.Public()) {
		s.gen.Add(1)
	}
}

// Reset drops the rendered pages; its signature is the replicas' OnReset.
func (s *Server) Reset() { s.gen.Add(1) }

// rendered is a page's outcome: its status and prepared bytes.
type rendered struct {
	status int
	entry  *httpcache.Entry
}

// serve answers r with the page under key, rendering it with build on
// first use in this generation and day. Only 200s are kept.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, page, key string, build func(now time.Time) rendered) {
	s.serveWith(w, r, page, key, pageHeaders, build)
}

// serveWith is serve with the page's security headers set by headers.
func (s *Server) serveWith(w http.ResponseWriter, r *http.Request, page, key string, headers func(http.Header), build func(now time.Time) rendered) {
	now := time.Now()
	day := now.UTC().Format("2006-01-02")
	gen := s.gen.Load()
	s.mu.Lock()
	if s.cache.gen != gen || s.cache.day != day || s.cache.entries == nil {
		s.cache = pageCache{gen: gen, day: day, entries: httpcache.NewLRU[*httpcache.Entry](pageCacheBytes, nil)}
	}
	pages := s.cache.entries
	s.mu.Unlock()
	e, ok := pages.Get(key)
	status := http.StatusOK
	if !ok {
		start := time.Now()
		out := build(now)
		s.metrics.render.WithLabelValues(page).Observe(time.Since(start).Seconds())
		e, status = out.entry, out.status
		if status == http.StatusOK && (r.URL.RawQuery == "" || s.door.Seen(key)) {
			// Keep it only if nothing changed while it was rendered.
			if s.gen.Load() == gen {
				pages.Put(key, e, httpcache.EntrySize(key, e))
			}
		}
	}
	h := w.Header()
	headers(h)
	if status != http.StatusOK {
		h.Set("Content-Type", e.ContentType)
		h.Set("Cache-Control", e.CacheControl)
		h.Set("Content-Length", strconv.Itoa(len(e.Body)))
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			_, _ = w.Write(e.Body)
		}
	} else {
		status = httpcache.Serve(w, r, e)
	}
	s.metrics.requests.WithLabelValues(page, strconv.Itoa(status)).Inc()
}

// layoutData is what the layout template reads.
type layoutData struct {
	Title       string
	Description string
	Section     string
	CSS         string
	Alternate   *alternate
	// OG is the page's Open Graph meta, JSONLD its schema.org data
	// (jsonld.go); both optional.
	OG     *openGraph
	JSONLD template.JS
	Body   any
}

type alternate struct {
	Title string
	Href  string
}

// Alternates are the page's feed in every format the feed server offers
// (feeds.Formats): <link rel="alternate"> lines for calendar apps and
// feed readers, from the .ics feed's path.
func (a *alternate) Alternates() []alternateLink {
	if a == nil {
		return nil
	}
	// A reader shows the title when it offers the feeds: a short one
	// (and four of them stay small however a title escapes).
	title, _ := cut(a.Title, 80)
	path, query, _ := strings.Cut(a.Href, "?")
	base, ok := strings.CutSuffix(path, ".ics")
	if !ok {
		return []alternateLink{{Title: title, Href: a.Href, Type: typeAttr(feeds.ICS)}}
	}
	var out []alternateLink
	for _, f := range feeds.Formats {
		href := base + "." + string(f)
		if query != "" {
			href += "?" + query
		}
		out = append(out, alternateLink{Title: title, Href: href, Type: typeAttr(f)})
	}
	return out
}

// typeAttr is the type attribute of a format's link, written as is
// (html/template would escape the "+" of application/rss+xml): the media
// types are the feed server's constants, never input.
func typeAttr(f feeds.Format) template.HTMLAttr {
	return template.HTMLAttr(`type="` + f.MediaType() + `"`)
}

// alternateLink is one <link rel="alternate">.
type alternateLink struct {
	Title, Href string
	Type        template.HTMLAttr
}

// render executes a page template into a prepared entry.
// Pages join several models (a list, the directory's names, the layout),
// so no one date says when their bytes last changed: they are validated by
// their ETag alone and carry no Last-Modified.
func (s *Server) render(name string, d layoutData) *httpcache.Entry {
	d.CSS = s.cssPath
	if d.Section == "" {
		d.Section = "resources"
	}
	var b bytes.Buffer
	if err := s.tmpl[name].ExecuteTemplate(&b, "layout", d); err != nil {
		// Templates are fixed and tested; an error here is a bug.
		s.log.Error("page template failed", slog.String("template", name), slog.Any("err", err))
		b.Reset()
		b.WriteString("<!DOCTYPE html><title>Error</title><p>This page could not be shown.</p>")
	}
	return httpcache.NewEntry(b.Bytes(), "text/html; charset=utf-8", "public, max-age=60", time.Time{})
}

// page renders a page that depends on the request (forms, editors' pages):
// never stored by any cache.
func (s *Server) page(w http.ResponseWriter, r *http.Request, status int, metric, name string, d layoutData) {
	d.CSS = s.cssPath
	var b bytes.Buffer
	if err := s.tmpl[name].ExecuteTemplate(&b, "layout", d); err != nil {
		s.log.Error("page template failed", slog.String("template", name), slog.Any("err", err))
		status = http.StatusInternalServerError
		b.Reset()
		b.WriteString("<!DOCTYPE html><title>Error</title><p>This page could not be shown.</p>")
	}
	h := w.Header()
	pageHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b.Bytes())
	}
	s.metrics.requests.WithLabelValues(metric, strconv.Itoa(status)).Inc()
}

// message answers with a short page saying what happened.
func (s *Server) message(w http.ResponseWriter, r *http.Request, status int, metric, section, heading, text string) {
	s.page(w, r, status, metric, "error", layoutData{Title: heading, Section: section,
		Body: struct{ Heading, Message, History string }{heading, text, ""}})
}

// errorPage renders a 404 or 410 page.
func (s *Server) errorPage(status int, heading, message, history string) rendered {
	e := s.render("error", layoutData{Title: heading, Body: struct{ Heading, Message, History string }{heading, message, history}})
	e.CacheControl = "public, max-age=60"
	return rendered{status: status, entry: e}
}

// absolute makes a public URL of a path.
func (s *Server) absolute(path string) string {
	u := *s.cfg.PublicURL
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = ""
	return u.String()
}

// subscribeData is a page's "Subscribe" box: its heading, one line on what
// it holds, the feed in every calendar app's form, how long past
// conferences stay in it, and the same feed with every past conference.
type subscribeData struct {
	Heading   string
	Text      string
	Retention string
	AllPast   string // the feed's address with ?past=all
	subscribeBox
}

// subscribe is the box of the feed of f.
func (s *Server) subscribe(heading, text string, f feeds.Filter) subscribeData {
	d := subscribeData{Heading: heading, Text: text, subscribeBox: boxFor(s.feedURL(f), s.feedName(f))}
	if s.cfg.Feeds != nil {
		d.Retention = s.cfg.Feeds.Retention(f)
		past := f
		past.AllPast = true
		d.AllPast = s.feedURL(past)
	}
	return d
}

// Unmatched answers a browser's request that no route takes (the route
// table's httpapi.Unmatched): a page saying so, 404 or 405.
func (s *Server) Unmatched(w http.ResponseWriter, r *http.Request, status int, allow []string) {
	heading, text := "Page not found", "There is no page at this address. It may have moved, or the link that led here is wrong."
	if status == http.StatusMethodNotAllowed {
		heading = "Not allowed here"
		text = "This address does not take " + r.Method + " requests (it takes " + strings.Join(allow, ", ") + ")."
	}
	s.message(w, r, status, "unmatched", "", heading, text)
}

// paragraphs splits text at blank lines.
func paragraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(s, "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Metrics are the pages' Prometheus series.
type Metrics struct {
	requests    *prometheus.CounterVec
	render      *prometheus.HistogramVec
	formRejects *prometheus.CounterVec
}

// NewMetrics registers the series on reg (nil: unregistered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "web", Name: "requests_total",
			Help: "HTML page requests, by page (home, month, conference, resources, topic, resource, submit, moderation, unmatched) and HTTP status (304s included)."}, []string{"page", "code"}),
		render: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "jevents", Subsystem: "web", Name: "render_duration_seconds",
			Help:    "Time to render a page after a change, by page.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25}}, []string{"page"}),
		formRejects: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "web", Name: "form_rejects_total",
			Help: "Form posts refused before reaching a producer, by form (submit, sign_in, moderation) and reason (rate_limited, csrf, honeypot, wrong_token)."},
			[]string{"form", "reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.render, m.formRejects)
	}
	return m
}
