package directory

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/httpcache"
)

// Query selects resources: OR within a facet, AND across facets, as the
// conference feeds do. The zero Query lists every active resource.
type Query struct {
	Topics []string              // topic slugs
	Kinds  []domain.ResourceKind // kinds
	Words  []string              // every word must appear in the resource's text
	Status string                // active (default), retired or all
	Offset int
	Limit  int
}

// Default and largest page sizes of the list.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
	maxOffset    = 1_000_000
)

// ParseQuery reads ?topic=&kind=&q=&status=&offset=&limit=, naming the
// parameter at fault.
func ParseQuery(v url.Values) (Query, error) {
	q := Query{Status: StatusActive, Limit: DefaultLimit}
	var errs domain.ValidationError
	for _, s := range v["topic"] {
		if t, ok := domain.LookupTopic(s); ok {
			q.Topics = append(q.Topics, t.Slug)
		} else {
			errs.Add("topic", "unknown", "%q is not a topic of the calendar", s)
		}
	}
	for _, s := range v["kind"] {
		if k, ok := domain.ParseKind(s); ok {
			q.Kinds = append(q.Kinds, k)
		} else {
			errs.Add("kind", "unknown", "%q is not a kind of resource", s)
		}
	}
	for _, s := range v["q"] {
		if len(s) > 200 {
			errs.Add("q", "too_long", "must be at most 200 characters")
			continue
		}
		q.Words = append(q.Words, strings.Fields(strings.ToLower(domain.CleanLine(s)))...)
	}
	if len(q.Topics)+len(q.Kinds)+len(q.Words) > 50 {
		errs.Add("q", "too_many", "a query may combine at most 50 values")
	}
	switch s := v.Get("status"); s {
	case "", StatusActive:
	case StatusRetired, "all":
		q.Status = s
	default:
		errs.Add("status", "invalid", "must be active, retired or all")
	}
	if s := v.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > maxOffset {
			errs.Add("offset", "invalid", "must be a number from 0 to %d", maxOffset)
		}
		q.Offset = n
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			errs.Add("limit", "invalid", "must be a number from 1 to %d", MaxLimit)
		}
		q.Limit = n
	}
	if err := errs.Err(); err != nil {
		return Query{}, &httpapi.Error{Status: http.StatusBadRequest, Title: "Invalid directory query", Fields: err.(*domain.ValidationError).Fields}
	}
	return q, nil
}

// key is the query's canonical form: equal queries share one prepared answer.
func (q Query) key() string {
	norm := func(s []string) string {
		s = slices.Clone(s)
		slices.Sort(s)
		return strings.Join(slices.Compact(s), ",")
	}
	kinds := make([]string, len(q.Kinds))
	for i, k := range q.Kinds {
		kinds[i] = string(k)
	}
	return strings.Join([]string{norm(q.Topics), norm(kinds), norm(q.Words), q.Status, strconv.Itoa(q.Offset), strconv.Itoa(q.Limit)}, "|")
}

// Match reports whether r is selected by the query's facets and words.
func (q Query) Match(r *Resource) bool {
	switch q.Status {
	case StatusActive, "":
		if !r.Active() {
			return false
		}
	case StatusRetired:
		if r.Active() {
			return false
		}
	}
	d := r.Details
	if len(q.Topics) > 0 && !slices.ContainsFunc(q.Topics, func(t string) bool { return slices.Contains(d.Topics, t) }) {
		return false
	}
	if len(q.Kinds) > 0 && !slices.Contains(q.Kinds, d.Kind) {
		return false
	}
	if len(q.Words) > 0 {
		hay := SearchText(d)
		for _, w := range q.Words {
			if !strings.Contains(hay, w) {
				return false
			}
		}
	}
	return true
}

// SearchText is the lower-cased text q= searches: names, parent, focus,
// description, kind and topic labels, phone numbers.
func SearchText(d domain.ResourceDetails) string {
	parts := []string{d.Name, d.ShortName, d.Focus, d.Parent, d.Description, d.Kind.Label()}
	for _, t := range d.Topics {
		parts = append(parts, domain.TopicLabel(t))
	}
	for _, p := range d.Phones {
		parts = append(parts, p.Number, p.Label)
	}
	return strings.ToLower(strings.Join(parts, "\n"))
}

// Find lists the resources the query selects (before paging), sorted by
// name. Retired resources, when asked for, follow the same order.
func (s *Snapshot) Find(q Query) []*Resource {
	var out []*Resource
	if q.Status == StatusActive || q.Status == "" {
		for _, r := range s.active {
			if q.Match(r) {
				out = append(out, r)
			}
		}
		return out
	}
	for _, r := range s.byID {
		if q.Match(r) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *Resource) int {
		if c := strings.Compare(SortKey(a.Details.Name), SortKey(b.Details.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// View is a resource as the read API shows it.
type View struct {
	Resource
	Links Links `json:"links"`
}

// Links point to a resource's representations.
type Links struct {
	Self        string `json:"self"`
	Page        string `json:"page"`
	History     string `json:"history"`
	SponsorFeed string `json:"sponsor_feed"`
}

// NewView adds the links to a record.
func NewView(r Resource) View {
	return View{Resource: r, Links: Links{
		Self:        "/api/v1/resources/" + r.ID,
		Page:        "/resources/" + r.ID,
		History:     "/api/v1/resources/" + r.ID + "/history",
		SponsorFeed: "/calendar/sponsors/" + r.ID + ".ics",
	}}
}

// List is one page of the directory.
type List struct {
	Total  int    `json:"total"`
	Offset int    `json:"offset"`
	Limit  int    `json:"limit"`
	Items  []View `json:"items"`
}

// Server answers the directory's read API from an index. Safe for
// concurrent use.
type Server struct {
	index   *Index
	log     *slog.Logger
	metrics *Metrics
}

// NewServer returns the read API over index; metrics may be nil.
func NewServer(index *Index, log *slog.Logger, m *Metrics) *Server {
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Server{index: index, log: log, metrics: m}
}

// Routes are the directory's read API.
func (s *Server) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Pattern: "GET /api/v1/resources", Handler: http.HandlerFunc(s.handleList)},
		{Pattern: "GET /api/v1/resources/{id}", Handler: http.HandlerFunc(s.handleGet)},
	}
}

// cacheControl of the read API: short, as for the conference API.
const cacheControl = "public, max-age=60"

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	q, err := ParseQuery(r.URL.Query())
	if err != nil {
		s.metrics.requests.WithLabelValues("list", "400").Inc()
		httpapi.WriteError(w, r, s.log, err)
		return
	}
	snap := s.index.Snapshot()
	e := snap.cached("list|"+q.key(), func() *httpcache.Entry {
		found := snap.Find(q)
		out := List{Total: len(found), Offset: q.Offset, Limit: q.Limit, Items: []View{}}
		for _, r := range found[min(q.Offset, len(found)):min(q.Offset+q.Limit, len(found))] {
			out.Items = append(out.Items, NewView(*r))
		}
		body, _ := json.Marshal(out)
		// A list changes when an item leaves it too, which no item's date
		// shows: it is validated by its ETag alone.
		return httpcache.NewEntry(append(body, '\n'), "application/json", cacheControl, time.Time{})
	})
	s.serve(w, r, "list", e)
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	snap := s.index.Snapshot()
	res, ok := snap.Get(r.PathValue("id"))
	if !ok {
		s.metrics.requests.WithLabelValues("resource", "404").Inc()
		httpapi.WriteError(w, r, s.log, domain.ErrNotFound)
		return
	}
	e := snap.cached("get|"+res.ID, func() *httpcache.Entry {
		body, _ := json.Marshal(NewView(res))
		return httpcache.NewEntry(append(body, '\n'), "application/json", cacheControl, res.Updated)
	})
	s.serve(w, r, "resource", e)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, route string, e *httpcache.Entry) {
	status := httpcache.Serve(w, r, e)
	s.metrics.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
}

// Metrics are the directory read API's Prometheus series.
type Metrics struct {
	requests *prometheus.CounterVec
}

// NewMetrics registers the series on reg (nil: unregistered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "directory", Name: "requests_total",
			Help: "Directory read API requests, by route (list, resource) and HTTP status (304s included)."}, []string{"route", "code"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests)
	}
	return m
}
