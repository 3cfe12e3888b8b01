package feeds

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
)

// Time travel: every feed, the conference API and the list of feeds take
// ?as_of=<RFC 3339 instant> and answer what they answered at that
// instant: the same bytes (so the same ETag), made by a Server over the
// read model as it was then (an AsOf gives it), with the instant as "now"
// for the window. What depends on this server's configuration (the public
// URL, the window's length, the refresh interval) is today's: the log
// does not record it.

// AsOf gives a Server answering as of an instant: over the calendar and
// the directory as they were then, with this server's configuration. The
// error is what the client is answered (an *httpapi.Error, or one that
// httpapi.WriteError maps). Implementations must be safe for concurrent
// use and bound their cost.
type AsOf interface {
	At(ctx context.Context, t time.Time) (*Server, error)
}

// SetAsOf makes ?as_of= answered through a; call it before serving.
// Without it, ?as_of= is answered 501.
func (s *Server) SetAsOf(a AsOf) { s.asOf = a }

// ParseAsOf reads the as_of parameter: one RFC 3339 instant (fractions
// of a second allowed), not in the future.
func ParseAsOf(values []string, now time.Time) (time.Time, error) {
	bad := func(msg string) error {
		return &httpapi.Error{Status: http.StatusBadRequest, Title: "Invalid as_of",
			Fields: []domain.FieldError{{Field: "as_of", Code: "invalid", Message: msg}}}
	}
	if len(values) != 1 {
		return time.Time{}, bad("give one instant")
	}
	t, err := time.Parse(time.RFC3339Nano, values[0])
	if err != nil {
		return time.Time{}, bad("must be an RFC 3339 instant such as 2030-03-01T12:00:00Z")
	}
	if t.After(now) {
		return time.Time{}, &httpapi.Error{Status: http.StatusBadRequest, Title: "Invalid as_of",
			Fields: []domain.FieldError{{Field: "as_of", Code: "out_of_range", Message: "is in the future: feeds are known up to now"}}}
	}
	return t, nil
}

// at is the server that answers r, and its "now": this one and the
// present, or, with ?as_of=, the one the AsOf gives for that instant.
// When it cannot answer it writes the error itself and returns false.
func (s *Server) at(w http.ResponseWriter, r *http.Request) (*Server, time.Time, bool) {
	values, ok := r.URL.Query()["as_of"]
	now := time.Now()
	if !ok {
		return s, now, true
	}
	t, err := ParseAsOf(values, now)
	if err == nil && s.asOf == nil {
		err = &httpapi.Error{Status: http.StatusNotImplemented, Title: "No time travel here",
			Detail: "this server does not answer as_of"}
	}
	var srv *Server
	if err == nil {
		srv, err = s.asOf.At(r.Context(), t)
	}
	if err != nil {
		if r.Context().Err() == nil {
			code := 500
			if e, ok := err.(*httpapi.Error); ok {
				code = e.Status
			}
			s.metrics.asOf.WithLabelValues(strconv.Itoa(code)).Inc()
			httpapi.WriteError(w, r, s.log, err)
		}
		return nil, time.Time{}, false
	}
	s.metrics.asOf.WithLabelValues("200").Inc()
	return srv, t, true
}
