package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
)

// TestFailuresOfTheLogAreExplained: the log's failures, however deeply
// wrapped, answer 503 or 507 with Retry-After and a body that says what
// happened and what to do; never 500.
func TestFailuresOfTheLogAreExplained(t *testing.T) {
	for _, tt := range []struct {
		err        error
		status     int
		retryAfter string
		says       []string
	}{
		{fmt.Errorf("eventlog: append: %w: %w", domain.ErrUnavailable, errors.New("the event stream JEVENTS does not exist")),
			http.StatusServiceUnavailable, httpapi.RetryAfterUnavailable, []string{"cannot be reached", "same Idempotency-Key"}},
		{fmt.Errorf("eventlog: append: %w: maximum bytes exceeded", domain.ErrLogFull),
			http.StatusInsufficientStorage, httpapi.RetryAfterFull, []string{"Nothing was stored", "byte budget", "--log-max-bytes", "same Idempotency-Key"}},
		{fmt.Errorf("eventlog: append: %w: 0 bytes free", domain.ErrStorageFull),
			http.StatusInsufficientStorage, httpapi.RetryAfterFull, []string{"Nothing was stored", "free space", "same Idempotency-Key"}},
	} {
		rec := httptest.NewRecorder()
		httpapi.WriteError(rec, httptest.NewRequest("POST", "/api/v1/conferences", nil), slog.New(slog.NewTextHandler(io.Discard, nil)), tt.err)
		body := rec.Body.String()
		if rec.Code != tt.status || rec.Header().Get("Retry-After") != tt.retryAfter ||
			rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%v: %d Retry-After %q %s", tt.err, rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("Content-Type"))
		}
		for _, s := range tt.says {
			if !strings.Contains(body, s) {
				t.Errorf("%v: the body does not say %q: %s", tt.err, s, body)
			}
		}
	}
}

// TestClientGoneIsNotAServerError: a request whose client went away while
// the log was asked answers 499 (what the metrics count) and logs nothing
// above debug; a context.Canceled that is not the request's own stays a
// logged 500.
func TestClientGoneIsNotAServerError(t *testing.T) {
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	err := fmt.Errorf("eventlog: load conference x: %w: %w", domain.ErrUnavailable, context.Canceled)

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client closed the connection
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/v1/conferences/x/approve", nil)
	w := httptest.NewRecorder()
	httpapi.WriteError(w, r, log, err)
	if w.Code != httpapi.StatusClientClosedRequest {
		t.Fatalf("client gone: status %d, want 499", w.Code)
	}
	if logs.Len() != 0 {
		t.Fatalf("client gone was logged: %s", logs.String())
	}

	r = httptest.NewRequest(http.MethodPost, "/api/v1/conferences/x/approve", nil)
	w = httptest.NewRecorder()
	httpapi.WriteError(w, r, log, fmt.Errorf("worker: %w", context.Canceled))
	if w.Code != http.StatusInternalServerError || !strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("our own cancellation: status %d, log %q; want a logged 500", w.Code, logs.String())
	}
}

// TestEveryTypeErrorNamed: a body with several values of the wrong type
// is answered with every one of them, by path, not only the first.
func TestEveryTypeErrorNamed(t *testing.T) {
	body := `{"title": 7, "all_day": "yes", "location": {"city": ["Berlin"], "country": 49}, "sponsors": ["ok", 3], "topics": "courts", "description": "fine"}`
	r := httptest.NewRequest(http.MethodPost, "/api/v1/conferences", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	var in domain.SubmissionInput
	err := httpapi.Decode(httptest.NewRecorder(), r, 1<<16, &in)
	var he *httpapi.Error
	if !errors.As(err, &he) || he.Status != http.StatusBadRequest {
		t.Fatalf("%v", err)
	}
	var got []string
	for _, f := range he.Fields {
		got = append(got, f.Field)
	}
	want := []string{"title", "all_day", "location.city", "location.country", "sponsors[1]", "topics"}
	if !slices.Equal(got, want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	if err := httpapi.DecodeBytes([]byte(`{"title": true, "end": 5}`), &in); !errors.As(err, &he) || len(he.Fields) != 2 {
		t.Fatalf("DecodeBytes: %v", err)
	}
}

// TestLogPathHidesTokens: a path holding a private link's token is logged
// and answered as its pattern.
func TestLogPathHidesTokens(t *testing.T) {
	for _, c := range []struct{ pattern, path, want string }{
		{"GET /organiser/{token}", "/organiser/abc.def.ghi", "/organiser/{token}"},
		{"POST /organiser/{token}/withdraw", "/organiser/abc.def.ghi/withdraw", "/organiser/{token}/withdraw"},
		{"", "/organiser/abc.def.ghi/nothing", "/organiser/{token}"},
		{"GET /conferences/{id}", "/conferences/c1", "/conferences/c1"},
	} {
		r := httptest.NewRequest("GET", c.path, nil)
		r.Pattern = c.pattern
		if got := httpapi.LogPath(r); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.pattern, c.path, got, c.want)
		}
	}
}
