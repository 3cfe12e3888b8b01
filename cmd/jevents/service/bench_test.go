package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/domain"
)

// BenchmarkIntake compares, on one embedded server in one run, 64
// concurrent HTTP clients submitting conferences (decode, validate, append
// with create-once concurrency check, answer 202) with 64 concurrent raw
// JetStream publishers appending the same event bytes with a Nats-Msg-Id.
// The ratio intake/raw is the figure docs/performance.md tracks
// (target ≥ 0.6).
//
//	go test -run '^$' -bench Intake -benchtime 1x ./cmd/jevents/service/
func BenchmarkIntake(b *testing.B) {
	const (
		clients = 64
		perSide = 20_000
	)
	cfg := service.Config{DataDir: b.TempDir(), NATSListen: "127.0.0.1:0", HTTP: "127.0.0.1:0", EditorToken: editorToken,
		Roles: []service.Role{service.RoleIntake}}
	s, err := service.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	base := "http://" + s.HTTPAddr()
	body, _ := json.Marshal(validSubmission())

	nc, err := service.ConnectLocal(cfg.DataDir, "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	// The raw side publishes what intake stores: an envelope of the same size.
	sub, err := domain.ValidateSubmission(decodeInput(b, body), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	env, _ := domain.NewEnvelope(uuid.NewString(), "x", "public", time.Now(), domain.ConferenceSubmitted{Details: sub.Details, Contact: sub.Contact, RequestHash: sub.Hash()})
	raw, _ := json.Marshal(env)

	transport := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	var intakeRate, rawRate float64
	for b.Loop() {
		intakeRate = concurrently(b, clients, perSide, func(i int) error {
			req, _ := http.NewRequest("POST", base+"/api/v1/conferences", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", uuid.NewString())
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		})
		rawRate = concurrently(b, clients, perSide, func(i int) error {
			id := uuid.NewString()
			_, err := js.Publish(context.Background(), domain.EventSubject(domain.AggregateConference, id, "submitted"), raw,
				jetstream.WithMsgID(id))
			return err
		})
	}
	b.ReportMetric(intakeRate, "intake-req/s")
	b.ReportMetric(rawRate, "raw-pub/s")
	b.ReportMetric(intakeRate/rawRate, "intake/raw")
}

// concurrently runs op total times from n goroutines and returns ops/s.
func concurrently(b *testing.B, n, total int, op func(int) error) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for range n {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				if i > total {
					return
				}
				if err := op(i); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return float64(total) / time.Since(start).Seconds()
}

func decodeInput(b *testing.B, body []byte) domain.SubmissionInput {
	var in domain.SubmissionInput
	if err := json.Unmarshal(body, &in); err != nil {
		b.Fatal(err)
	}
	return in
}
