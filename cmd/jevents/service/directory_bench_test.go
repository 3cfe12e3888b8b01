package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/domain"
)

// BenchmarkDirectoryHTTP boots the service on an embedded server (without
// the seed), appends 10k resources and 100k edits of them, measures how
// long the live directory takes to show the last edit after the last
// append, then measures requests/s of 64 concurrent keep-alive clients
// (gzip accepted, as browsers and calendar apps do) on the directory's
// JSON API and pages, served from the prepared answers.
//
//	go test -run '^$' -bench DirectoryHTTP -benchtime 1x ./cmd/jevents/service/
func BenchmarkDirectoryHTTP(b *testing.B) {
	const (
		resources = 10_000
		edits     = 100_000
		clients   = 64
		requests  = 20_000
	)
	cfg := service.Config{DataDir: b.TempDir(), NATSListen: "127.0.0.1:0", HTTP: "127.0.0.1:0", EditorToken: editorToken, NoSeed: true}
	s, err := service.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	base := "http://" + s.HTTPAddr()

	nc, err := service.ConnectLocal(cfg.DataDir, "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	details := func(i int) domain.ResourceDetails {
		return domain.ResourceDetails{
			Name: fmt.Sprintf("Regional Office for Victim Services %05d", i), ShortName: fmt.Sprintf("ROVS%d", i),
			Parent: "U.S. Department of Justice, Office of Justice Programs", Kind: domain.ResourceKinds[i%len(domain.ResourceKinds)].Kind,
			Description: "The office funds victim assistance and compensation programs, supports training for criminal justice and allied " +
				"professionals regarding the rights and needs of crime victims, and publishes resources for practitioners.",
			URL: fmt.Sprintf("https://example.gov/offices/%05d", i), Topics: []string{domain.Topics[i%len(domain.Topics)].Slug},
		}
	}
	at := time.Now()
	put := func(n int, id string, e domain.Event) {
		env, _ := domain.NewEnvelope(fmt.Sprint("e", n), id, "bench", at, e)
		data, _ := json.Marshal(env)
		if _, err := js.PublishAsync(env.Subject(), data, jetstream.WithStallWait(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	for i := range resources {
		put(i, fmt.Sprintf("r%05d", i), domain.ResourceAdded{Details: details(i)})
	}
	for j := range edits {
		i := (j * 7919) % resources
		d := details(i)
		d.Description += fmt.Sprintf(" Edit %d.", j)
		put(resources+j, fmt.Sprintf("r%05d", i), domain.ResourceUpdated{Details: d, Changed: []string{"description"}})
	}
	<-js.PublishAsyncComplete()
	appended := time.Now()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}, Timeout: 30 * time.Second}
	lastEdit := fmt.Sprintf("%s/api/v1/resources?q=edit+%d.", base, edits-1)
	for deadline := time.Now().Add(5 * time.Minute); ; {
		resp, err := client.Get(lastEdit)
		if err == nil {
			var l struct {
				Total int `json:"total"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&l)
			resp.Body.Close()
			if l.Total == 1 {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("the directory never showed the last edit")
		}
		time.Sleep(50 * time.Millisecond)
	}
	lag := time.Since(appended)

	get := func(path string) func(int) error {
		return func(int) error {
			req, _ := http.NewRequest("GET", base+path, nil)
			req.Header.Set("Accept-Encoding", "gzip")
			resp, err := client.Transport.RoundTrip(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: status %d", path, resp.StatusCode)
			}
			return nil
		}
	}
	routes := []struct{ name, path string }{
		{"api-list", "/api/v1/resources"},
		{"api-query", "/api/v1/resources?topic=courts&q=office"},
		{"api-one", "/api/v1/resources/r00042"},
		{"page-resources", "/resources"},
		{"page-topic", "/resources/topics/courts"},
		{"page-resource", "/resources/r00042"},
	}
	for _, r := range routes { // render once, open the connections
		if err := get(r.path)(0); err != nil {
			b.Fatal(err)
		}
	}
	rates := make([]float64, len(routes))
	for b.Loop() {
		for i, r := range routes {
			rates[i] = concurrently(b, clients, requests, get(r.path))
		}
	}
	b.ReportMetric(lag.Seconds(), "catch-up-after-append-s")
	for i, r := range routes {
		b.ReportMetric(rates[i], r.name+"-req/s")
	}
}
