package export_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/eventlog/export"
	"github.com/justiceevents/jevents/internal/natstest"
)

// benchEvents is the size of the benchmarks' log: 10,000 conferences of
// ten events each (a submission, an approval, eight edits).
const benchConferences, benchPerConference = 10_000, 10

// benchMessages makes the log's messages as eventlog writes them.
func benchMessages(b *testing.B) []*nats.Msg {
	b.Helper()
	base := time.Now().Add(-100 * 24 * time.Hour)
	var out []*nats.Msg
	for i := range benchConferences {
		id := fmt.Sprintf("bench-%05d", i)
		d := domain.ConferenceDetails{Title: "Benchmark conference " + strconv.Itoa(i), Description: "A day of training for investigators and prosecutors.",
			AllDay: true, Start: "2031-03-02", End: "2031-03-03", Format: domain.FormatInPerson,
			Location: domain.Location{City: "Baltimore", Region: "MD", Country: "US"}, Topics: []string{"courts"},
			Sponsors: []domain.Sponsor{{ID: "ovc", Name: "Office for Victims of Crime"}}}
		for k := range benchPerConference {
			var ev domain.Event
			switch k {
			case 0:
				ev = domain.ConferenceSubmitted{Details: d, Contact: domain.Contact{Email: "org@example.org"}, Source: "api"}
			case 1:
				ev = domain.ConferenceApproved{}
			default:
				d.Title = fmt.Sprintf("Benchmark conference %d, edition %d", i, k)
				ev = domain.ConferenceUpdated{Details: d, Changed: []string{"title"}}
			}
			at := base.Add(time.Duration(k*benchConferences+i) * 50 * time.Millisecond)
			env, err := domain.NewEnvelope(fmt.Sprintf("%s-%d", id, k), id, "bench", at, ev)
			if err != nil {
				b.Fatal(err)
			}
			data, _ := json.Marshal(env)
			m := nats.NewMsg(env.Subject())
			m.Data = data
			m.Header.Set(domain.HeaderEventType, env.Type)
			m.Header.Set("Nats-Msg-Id", env.ID)
			out = append(out, m)
		}
	}
	return out
}

// publishAll publishes msgs in order, 512 in flight (what import does,
// without its expected-sequence checks).
func publishAll(b *testing.B, js jetstream.JetStream, msgs []*nats.Msg) {
	b.Helper()
	var futures []jetstream.PubAckFuture
	for _, m := range msgs {
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			b.Fatal(err)
		}
		if futures = append(futures, f); len(futures) == 512 {
			for _, f := range futures {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					b.Fatal(err)
				}
			}
			futures = futures[:0]
		}
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			b.Fatal(err)
		}
	}
}

// BenchmarkExportImport measures, on one embedded server in one run, the
// raw rates the export and the import are bound by (an ordered consumer
// reading the whole stream; asynchronous publishes, 512 in flight) and the
// export's and import's own, over 100,000 events (10,000 conferences).
// Each is reported in events/s. docs/performance.md has the figures:
//
//	go test -run '^$' -bench BenchmarkExportImport -benchtime 1x ./eventlog/export/
func BenchmarkExportImport(b *testing.B) {
	ctx := context.Background()
	msgs := benchMessages(b)
	n := float64(len(msgs))
	key, _ := keys(b)
	for range b.N {
		_, _, src := natstest.Start(b)
		if _, err := eventlog.EnsureStream(ctx, src, eventlog.StreamConfig{Replicas: 1, MaxBytes: 1 << 30}); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		publishAll(b, src, msgs)
		b.ReportMetric(n/time.Since(t0).Seconds(), "raw-publish-events/s")

		t0 = time.Now()
		cons, err := src.OrderedConsumer(ctx, "JEVENTS", jetstream.OrderedConsumerConfig{})
		if err != nil {
			b.Fatal(err)
		}
		it, err := cons.Messages(jetstream.PullMaxMessages(2000))
		if err != nil {
			b.Fatal(err)
		}
		for range msgs {
			if _, err := it.Next(); err != nil {
				b.Fatal(err)
			}
		}
		it.Stop()
		b.ReportMetric(n/time.Since(t0).Seconds(), "raw-read-events/s")

		file := filepath.Join(b.TempDir(), "export.jsonl")
		f, err := os.Create(file)
		if err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		if _, err := export.Write(ctx, src, f, key, export.Options{}); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(n/time.Since(t0).Seconds(), "export-events/s")
		st, _ := os.Stat(file)
		b.ReportMetric(float64(st.Size())/n, "export-bytes/event")

		t0 = time.Now()
		r, _ := os.Open(file)
		if _, _, err := export.Verify(r, key.Public().(ed25519.PublicKey)); err != nil {
			b.Fatal(err)
		}
		r.Close()
		b.ReportMetric(n/time.Since(t0).Seconds(), "verify-events/s")

		_, _, dst := natstest.Start(b)
		if _, err := eventlog.EnsureStream(ctx, dst, eventlog.StreamConfig{Replicas: 1, MaxBytes: 1 << 30}); err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		if _, err := export.Import(ctx, dst, file, export.ImportOptions{}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(n/time.Since(t0).Seconds(), "import-events/s")
	}
}
