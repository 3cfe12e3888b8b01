package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/changes"
	"github.com/justiceevents/jevents/projections/engine"
)

// BenchmarkDeliveries: one subscription (every public change) delivering
// a backlog of 2,000 changes to a local receiver (Go, answering 204, no
// verification) on a real embedded nats-server: signing, one POST per
// change in order, and the cursor and delivery log stored after each.
// Reported: deliveries per second.
//
//	go test -run '^$' -bench Deliveries -benchtime 3x ./reactors/webhooks/
func BenchmarkDeliveries(b *testing.B) {
	const n = 2000
	_, _, js := natstest.Start(b)
	ctx := context.Background()
	bucket, err := engine.Setup(ctx, js, changes.Name, engine.BucketConfig{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := eventlog.EnsureStream(ctx, js, eventlog.StreamConfig{MaxBytes: 1 << 30}); err != nil {
		b.Fatal(err)
	}
	if _, err := EnsureBucket(ctx, js, 1); err != nil {
		b.Fatal(err)
	}
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var msgs []*nats.Msg
	for i := range n {
		id := fmt.Sprintf("c%05d", i)
		c := calendar.Conference{ID: id, Status: domain.StatusApproved, Version: uint64(i + 1), Published: base, Updated: base,
			Details: domain.ConferenceDetails{Title: "Conference " + id, Description: "Training for investigators, prosecutors and victim advocates.",
				AllDay: true, Start: "2030-06-12", End: "2030-06-14", Format: domain.FormatInPerson,
				Location: domain.Location{Venue: "Convention Center", City: "Baltimore", Region: "MD", Country: "US"},
				Topics:   []string{"courts"}}}
		data, _ := json.Marshal(changes.Record{Cursor: uint64(i + 1), ID: id, Time: base, Event: "conference.approved.v1", After: &c})
		m := nats.NewMsg("$KV." + bucket + "." + changes.ChangeKey(uint64(i+1)))
		m.Data = data
		msgs = append(msgs, m)
		if len(msgs) == 500 {
			if _, err := jetstreamext.PublishMsgBatch(ctx, js, msgs); err != nil {
				b.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	log := eventlog.New(js, nil)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := New(log, js, changes.NewReader(js, logger), Config{AllowPrivate: true, Poll: 20 * time.Millisecond}, logger, nil)
	for i := 0; b.Loop(); i++ {
		got.Store(0)
		id := fmt.Sprintf("bench-%d", i)
		env, err := domain.NewEnvelope(id, id, "bench", time.Now(), domain.WebhookRegistered{URL: srv.URL, Secret: "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := log.Append(ctx, env, id, 0); err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { _ = w.Run(rctx, "bench"); close(done) }()
		for got.Load() < n {
			time.Sleep(2 * time.Millisecond)
		}
		cancel()
		<-done
		if _, err := w.Remove(ctx, id, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
