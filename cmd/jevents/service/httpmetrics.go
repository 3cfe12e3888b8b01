package service

import (
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics counts and times every answer by the route pattern that
// matched (e.g. "POST /api/v1/conferences"), so intake traffic, feed
// traffic and 5xx rates read the same way on every role. It must wrap the
// ServeMux directly: the mux records the pattern on the request it is given.
func (s *Service) httpMetrics(next http.Handler) http.Handler {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "jevents", Subsystem: "http", Name: "requests_total",
		Help: `HTTP requests answered, by route pattern ("unmatched" for none) and status code.`}, []string{"route", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "jevents", Subsystem: "http", Name: "request_duration_seconds",
		Help:    "Time from a request's arrival to the end of its answer, by route pattern.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"route"})
	s.registry.MustRegister(requests, duration)
	routes := &routeSeries{requests: requests, duration: duration}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		rs := routes.of(r.Pattern)
		rs.code(sw.code).Inc()
		rs.duration.Observe(time.Since(start).Seconds())
	})
}

// routeSeries keeps, per route pattern, the series httpMetrics updates,
// looked up once: a request then costs no label hashing, no routeLabel and
// no status formatting (issue 16's profile of the feeds' 304 path). The
// maps are copied on write: patterns are the route table's (plus
// "unmatched") and status codes a handful per route, so writes stop soon
// after start and reads take no lock.
type routeSeries struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	mu        sync.Mutex // serializes writers of byPatternn
	byPattern atomic.Pointer[map[string]*route]
}

// route is one route's series.
type route struct {
	label    string
	duration prometheus.Observer
	requests *prometheus.CounterVec
	mu       sync.Mutex // serializes writers of byCode
	byCode   atomic.Pointer[map[int]prometheus.Counter]
}

func (rs *routeSeries) of(pattern string) *route {
	if m := rs.byPattern.Load(); m != nil {
		if r, ok := (*m)[pattern]; ok {
			return r
		}
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	old := rs.byPattern.Load()
	if old != nil {
		if r, ok := (*old)[pattern]; ok {
			return r
		}
	}
	label := routeLabel(pattern)
	r := &route{label: label, duration: rs.duration.WithLabelValues(label), requests: rs.requests}
	m := make(map[string]*route, 1+lenOf(old))
	if old != nil {
		maps.Copy(m, *old)
	}
	m[pattern] = r
	rs.byPattern.Store(&m)
	return r
}

func (r *route) code(code int) prometheus.Counter {
	if m := r.byCode.Load(); m != nil {
		if c, ok := (*m)[code]; ok {
			return c
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.byCode.Load()
	if old != nil {
		if c, ok := (*old)[code]; ok {
			return c
		}
	}
	c := r.requests.WithLabelValues(r.label, strconv.Itoa(code))
	m := make(map[int]prometheus.Counter, 1+lenOf(old))
	if old != nil {
		maps.Copy(m, *old)
	}
	m[code] = c
	r.byCode.Store(&m)
	return c
}

func lenOf[K comparable, V any](m *map[K]V) int {
	if m == nil {
		return 0
	}
	return len(*m)
}

// routeLabel is the route label of a pattern: the pattern as registered,
// without the ServeMux's markers, so that it reads as a path does ("GET /"
// for the home page's "GET /{$}"; "GET /{path}" for "GET /{path...}"), and
// "unmatched" for no pattern (docs/metrics.md).
func routeLabel(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	if strings.Contains(pattern, "{") {
		pattern = strings.ReplaceAll(pattern, "{$}", "")
		pattern = strings.ReplaceAll(pattern, "...}", "}")
	}
	return pattern
}

// statusWriter remembers the status code of an answer.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flush,
// deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes on for handlers that stream.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
