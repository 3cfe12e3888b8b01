package feeds_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/engine"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// app is a running jevents service (all roles, embedded NATS).
type app struct {
	svc  *service.Service
	base string
	dir  string
	ops  string // the operators' listener: /metrics
}

func startApp(t testing.TB, dir string) *app {
	t.Helper()
	cfg := service.Config{DataDir: dir, NATSListen: "127.0.0.1:0", HTTP: "127.0.0.1:0", PublicURL: "https://events.test",
		EditorToken: "feeds-test-Vx4Kq9Rm2Zp7Lt3Wn8Hb5Jc"}
	s, err := service.New(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := &app{svc: s, base: "http://" + s.HTTPAddr(), dir: dir, ops: "http://" + s.MetricsAddr()}
	t.Cleanup(func() { a.stop(t) })
	return a
}

func (a *app) stop(t testing.TB) {
	if a.svc != nil {
		if err := a.svc.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		a.svc = nil
	}
}

func (a *app) connect(t testing.TB) jetstream.JetStream {
	t.Helper()
	nc, err := service.ConnectLocal(a.dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func get(t testing.TB, url string) (int, []byte, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header.Get("ETag")
}

// history appends a long, mixed, reproducible history of conference events
// through the event log, as intake and moderation would: submissions (of
// all kinds of text, dates and zones), edits, approvals, rejections and
// cancellations, each appended with the aggregate's version.
type history struct {
	rng   *rand.Rand
	now   time.Time
	confs []*domain.Conference
	last  uint64 // sequence of the last conference event
}

func (h *history) details(t testing.TB, i int) domain.ConferenceDetails {
	t.Helper()
	r := h.rng
	titles := []string{"National Forum on Sentencing Reform", "Reentry Symposium", "Bail Reform Workshop; Policy, Practice",
		"Tribal Justice Summit — 第十回 ⚖️", "Victim Services <b>Online</b>", "Forensic Science Colloquium \\ Lab",
		"Line one\r\nLine two", "Policing Data Summit"}
	zones := []string{"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix"}
	regions := []string{"MD", "NY", "CA", "TX", "IL", "DC", "PA", "WA"}
	in := domain.SubmissionInput{
		Title:       fmt.Sprintf("%s %d", titles[i%len(titles)], i),
		Description: fmt.Sprintf("Conference %d.\nPanels, workshops; and a reception.", i),
		Format:      []string{"in_person", "online", "hybrid"}[r.IntN(3)],
		Location:    &domain.LocationInput{Venue: "Convention Center", City: "Springfield", Region: regions[r.IntN(len(regions))]},
		Topics:      []string{domain.Topics[r.IntN(len(domain.Topics))].Slug, domain.Topics[r.IntN(len(domain.Topics))].Slug},
		Contact:     &domain.Contact{Email: "organiser@example.org"},
	}
	if r.IntN(3) == 0 {
		in.Sponsors = []string{[]string{"Bureau of Justice Statistics", "Office for Victims of Crime", "Polaris Project"}[r.IntN(3)]}
	}
	if r.IntN(4) == 0 {
		in.URL = fmt.Sprintf("https://example.org/conference/%d", i)
	}
	// From 300 days ago to 600 days ahead: some have left the window.
	start := h.now.AddDate(0, 0, r.IntN(900)-300)
	if r.IntN(2) == 0 {
		yes := true
		in.AllDay = &yes
		in.Start, in.End = start.Format(domain.DateLayout), start.AddDate(0, 0, r.IntN(3)).Format(domain.DateLayout)
	} else {
		no := false
		in.AllDay, in.Timezone = &no, zones[r.IntN(len(zones))]
		at := time.Date(start.Year(), start.Month(), start.Day(), 8+r.IntN(4), 30*r.IntN(2), 0, 0, time.UTC)
		in.Start, in.End = at.Format("2006-01-02T15:04"), at.Add(time.Duration(1+r.IntN(30))*time.Hour).Format("2006-01-02T15:04")
	}
	sub, err := domain.ValidateSubmission(in, h.now)
	if err != nil {
		t.Fatalf("history: conference %d: %v", i, err)
	}
	return sub.Details
}

// append appends ev to c's aggregate with c's version and folds it in.
func (h *history) append(t testing.TB, log *eventlog.Log, c *domain.Conference, id string, ev domain.Event) {
	t.Helper()
	env, err := domain.NewEnvelope(fmt.Sprintf("h-%s-%d", id, c.Version), id, "test", time.Now(), ev)
	if err != nil {
		t.Fatal(err)
	}
	a, err := log.Append(context.Background(), env, env.ID, c.Version)
	if err != nil {
		t.Fatalf("append %s to %s: %v", ev.EventType(), id, err)
	}
	seq := a.Seq
	c.Apply(domain.Record{Seq: seq, Envelope: env, Event: ev})
	h.last = seq
}

// run appends n events.
func (h *history) run(t testing.TB, log *eventlog.Log, n int) {
	t.Helper()
	for range n {
		pick := func(ok func(*domain.Conference) bool) *domain.Conference {
			for range 20 {
				if len(h.confs) == 0 {
					return nil
				}
				if c := h.confs[h.rng.IntN(len(h.confs))]; ok(c) {
					return c
				}
			}
			return nil
		}
		pending := func(c *domain.Conference) bool { return c.Status == domain.StatusPending }
		open := func(c *domain.Conference) bool {
			return c.Status == domain.StatusPending || c.Status == domain.StatusApproved
		}
		var (
			c  *domain.Conference
			ev domain.Event
		)
		switch op := h.rng.IntN(100); {
		case op < 35 || len(h.confs) < 5:
			i := len(h.confs)
			c = &domain.Conference{}
			d := h.details(t, i)
			h.confs = append(h.confs, c)
			h.append(t, log, c, fmt.Sprintf("conf-%04d", i), domain.ConferenceSubmitted{Details: d, Contact: domain.Contact{Email: "organiser@example.org"}, Source: "api", RequestHash: "x"})
			continue
		case op < 55:
			if c = pick(open); c != nil {
				d := h.details(t, h.rng.IntN(10_000))
				ev, _ = c.Update(d)
			}
		case op < 80:
			if c = pick(pending); c != nil {
				ev, _ = c.Approve("")
			}
		case op < 88:
			if c = pick(pending); c != nil {
				ev, _ = c.Reject("not in scope")
			}
		default:
			if c = pick(open); c != nil {
				ev, _ = c.Cancel("venue closed; see you next year")
			}
		}
		if c != nil && ev != nil {
			h.append(t, log, c, c.ID, ev)
		}
	}
}

// bucketOf returns the active generation of the calendar read model and
// the raw bytes of its keys.
func bucketOf(t testing.TB, js jetstream.JetStream) (string, map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	meta, err := js.KeyValue(ctx, engine.MetaBucket)
	if err != nil {
		return "", nil
	}
	e, err := meta.Get(ctx, "readmodel."+calendar.Name)
	if err != nil {
		return "", nil
	}
	kv, err := js.KeyValue(ctx, string(e.Value()))
	if err != nil {
		return "", nil
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return "", nil
	}
	defer w.Stop()
	out := map[string]string{}
	for {
		select {
		case e := <-w.Updates():
			if e == nil {
				return kv.Bucket(), out
			}
			out[e.Key()] = string(e.Value())
		case <-ctx.Done():
			t.Fatal("reading the read model timed out")
		}
	}
}

// metric reads a series of the calendar read model from the service's
// /metrics on the operators' listener (replica_sequence,
// replica_reloads_total).
func metric(t testing.TB, base, name string) int {
	t.Helper()
	_, b, _ := get(t, base+"/metrics")
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+"{") && strings.Contains(line, `"`+calendar.Name+`"`) {
			f := strings.Fields(line)
			n, _ := strconv.ParseFloat(f[len(f)-1], 64)
			return int(n)
		}
	}
	return -1
}

// TestRebuildIsByteIdentical builds a long, mixed history (hundreds of
// conferences: submissions, edits, approvals, rejections, cancellations)
// while the service, projector included, is stopped and started again
// several times mid-stream; then `jevents rebuild` (service.Rebuild),
// after an interrupted attempt, replays the log into a new generation
// while pollers keep reading feeds. The rebuilt read model is byte for
// byte the incremental one, every feed answers 200 with the same bytes
// throughout, the service switches to the new generation, and its feeds
// are byte-identical, ETags included; a change after the switch is served.
func TestRebuildIsByteIdentical(t *testing.T) {
	dir := t.TempDir()
	h := &history{rng: rand.New(rand.NewPCG(3, 7)), now: time.Now().UTC()}
	for round := range 4 {
		a := startApp(t, dir)
		h.run(t, eventlog.New(a.connect(t), nil), 350)
		a.stop(t) // the projector may be anywhere in its work
		_ = round
	}
	a := startApp(t, dir)
	js := a.connect(t)
	if len(h.confs) < 300 {
		t.Fatalf("only %d conferences in the history", len(h.confs))
	}
	deadline := time.Now().Add(60 * time.Second)
	var live map[string]string
	var liveBucket string
	for {
		liveBucket, live = bucketOf(t, js)
		var cp engine.Checkpoint
		_ = json.Unmarshal([]byte(live[engine.CheckpointKey]), &cp)
		if cp.Seq == h.last {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the projector never caught up to %d (at %s)", h.last, live[engine.CheckpointKey])
		}
		time.Sleep(20 * time.Millisecond)
	}
	counts := map[domain.Status]int{}
	for _, c := range h.confs {
		counts[c.Status]++
	}
	t.Logf("history: %d conferences, %d events; %v; live model %s with %d keys", len(h.confs), h.last, counts, liveBucket, len(live))
	for _, s := range []domain.Status{domain.StatusPending, domain.StatusApproved, domain.StatusRejected, domain.StatusCancelled} {
		if counts[s] == 0 {
			t.Fatalf("the history has no %s conference", s)
		}
	}

	// The feeds, once the service's replica holds the whole model.
	urls := []string{"/calendar.ics", "/calendar/topics/courts.ics", "/calendar/topics/reentry.ics", "/calendar/regions/MD.ics",
		"/calendar/regions/NY.ics", "/calendar/sponsors/Bureau%20of%20Justice%20Statistics.ics",
		"/calendar.ics?topic=courts&topic=reentry&region=NY&region=CA", "/calendar.ics?q=summit", "/api/v1/conferences?topic=courts"}
	for i, c := range h.confs {
		if c.Status.Public() && i%7 == 0 {
			urls = append(urls, "/conferences/"+c.ID+".ics")
		}
	}
	deadline = time.Now().Add(30 * time.Second)
	for metric(t, a.ops, "jevents_readmodel_replica_sequence") != int(h.last) {
		if time.Now().After(deadline) {
			t.Fatal("the service's replica never caught up with the history")
		}
		time.Sleep(20 * time.Millisecond)
	}
	type snapshot struct {
		body []byte
		etag string
	}
	before := map[string]snapshot{}
	for _, u := range urls {
		code, body, etag := get(t, a.base+u)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", u, code, body)
		}
		before[u] = snapshot{body, etag}
	}
	reloads := metric(t, a.ops, "jevents_readmodel_replica_reloads_total")

	// Pollers read every feed while the read model is rebuilt.
	var (
		stop               atomic.Bool
		served, overlapped atomic.Int64
		rebuilding         atomic.Bool
		mu                 sync.Mutex
		failures           []string
		wg                 sync.WaitGroup
	)
	client := &http.Client{Timeout: 30 * time.Second}
	for w := range 4 {
		wg.Go(func() {
			for i := w; !stop.Load(); i++ {
				u := urls[i%len(urls)]
				during := rebuilding.Load()
				resp, err := client.Get(a.base + u)
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !bytes.Equal(body, before[u].body) {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("GET %s: %d, %d bytes (want %d)", u, resp.StatusCode, len(body), len(before[u].body)))
					mu.Unlock()
				}
				served.Add(1)
				if during && rebuilding.Load() {
					overlapped.Add(1)
				}
			}
		})
	}

	ctx := context.Background()
	rebuilding.Store(true)
	// An interrupted rebuild leaves a half-filled generation behind...
	ictx, cancel := context.WithTimeout(ctx, 15*time.Millisecond)
	if _, _, err := engine.Rebuild(ictx, js, calendar.Projection{}, engine.BucketConfig{}, quiet, nil); err == nil {
		t.Log("the interrupted rebuild finished before it was interrupted")
	}
	cancel()
	// ...which `jevents rebuild` starts over.
	res, err := service.Rebuild(ctx, js, 1, quiet)
	rebuilding.Store(false)
	if err != nil {
		t.Fatal(err)
	}
	var rebuilt string
	for _, r := range res {
		if r.Projection == calendar.Name {
			rebuilt = r.Bucket
			if r.Sequence != h.last {
				t.Fatalf("rebuilt to %d, want %d", r.Sequence, h.last)
			}
		}
	}
	newBucket, model := bucketOf(t, js)
	if newBucket != rebuilt || newBucket == liveBucket {
		t.Fatalf("active generation %s after rebuilding into %s (was %s)", newBucket, rebuilt, liveBucket)
	}
	if len(model) != len(live) {
		t.Fatalf("rebuilt model has %d keys, the incremental one %d", len(model), len(live))
	}
	for k, v := range live {
		if model[k] != v {
			t.Fatalf("key %s differs:\nincremental %s\nrebuilt     %s", k, v, model[k])
		}
	}

	// The service moves to the new generation and serves the same bytes.
	deadline = time.Now().Add(20 * time.Second)
	for metric(t, a.ops, "jevents_readmodel_replica_reloads_total") <= reloads {
		if time.Now().After(deadline) {
			t.Fatal("the service's replica never moved to the rebuilt generation")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed during the rebuild, e.g. %s", len(failures), served.Load(), failures[0])
	}
	if overlapped.Load() == 0 {
		t.Fatalf("no request was served during the rebuild (%d in all)", served.Load())
	}
	t.Logf("%d feed requests answered, %d of them during the rebuild, all byte-identical", served.Load(), overlapped.Load())
	for _, u := range urls {
		code, body, etag := get(t, a.base+u)
		if code != http.StatusOK || !bytes.Equal(body, before[u].body) || etag != before[u].etag {
			t.Fatalf("GET %s after the rebuild: %d, ETag %s (was %s), bytes equal: %v", u, code, etag, before[u].etag, bytes.Equal(body, before[u].body))
		}
	}

	// The projector follows the new generation: a new approval is served.
	var pending *domain.Conference
	for _, c := range h.confs {
		if c.Status == domain.StatusPending {
			pending = c
			break
		}
	}
	ev, err := pending.Approve("")
	if err != nil {
		t.Fatal(err)
	}
	h.append(t, eventlog.New(js, nil), pending, pending.ID, ev)
	deadline = time.Now().Add(20 * time.Second)
	for {
		if code, _, _ := get(t, a.base+"/conferences/"+pending.ID+".ics"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an approval after the rebuild was never served")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
