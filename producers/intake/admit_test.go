package intake

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/admission"
	"github.com/justiceevents/jevents/internal/natstest"
)

// TestGateThatCannotCountIs503: the intake gate is plumbing that knows
// nothing of the domain; when it cannot count (its quota bucket is not
// there yet) intake answers as for a log that cannot be reached: 503 with
// Retry-After, nothing stored, for a JSON submission and an .ics file alike.
// Once the bucket exists, the same requests are taken.
func TestGateThatCannotCountIs503(t *testing.T) {
	_, _, js := natstest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if _, err := eventlog.EnsureStream(ctx, js, eventlog.StreamConfig{MaxBytes: 8 << 20}); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := admission.Config{}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	gate := admission.New(js, domain.StreamName, cfg, quiet, nil)
	done := make(chan struct{})
	go func() { defer close(done); _ = gate.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	in := New(eventlog.New(js, nil), quiet, nil, nil)
	in.SetGate(gate, nil)
	mux := http.NewServeMux()
	if err := httpapi.Handle(mux, in.Routes(), nil, nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	body, err := os.ReadFile("../../examples/conference.json")
	if err != nil {
		t.Fatal(err)
	}
	file := icsFile(2, 0)
	const query = "topic=courts&contact=pat@example.org"
	for _, a := range []answer{
		post(t, srv, "", "json-1", "application/json", body),
		post(t, srv, query, "ics-1", "text/calendar", file),
	} {
		if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
			t.Fatalf("while the gate cannot count: %d %s", a.status, a.body)
		}
	}
	if n := messages(t, js); n != 0 {
		t.Fatalf("%d events stored while the gate could not count", n)
	}

	if _, err := admission.EnsureBucket(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gate.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the gate did not find its bucket")
	}
	if a := post(t, srv, "", "json-1", "application/json", body); a.status != http.StatusAccepted {
		t.Fatalf("JSON once the gate counts: %d %s", a.status, a.body)
	}
	if a := post(t, srv, query, "ics-1", "text/calendar", file); a.status != http.StatusAccepted {
		t.Fatalf(".ics once the gate counts: %d %s", a.status, a.body)
	}
	if n := messages(t, js); n != 3 {
		t.Fatalf("%d events stored, want 3", n)
	}
}
