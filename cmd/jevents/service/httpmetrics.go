package service

import (
	"net/http"
	"strconv"
	"strings"
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := routeLabel(r.Pattern)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
		duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
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
