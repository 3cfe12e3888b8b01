package changes

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/engine"
)

// changeFeed is a change stream on a real embedded nats-server, served by
// a Reader over real HTTP, with its watch running.
type changeFeed struct {
	t    testing.TB
	ns   *server.Server
	kv   jetstream.KeyValue
	rd   *Reader
	base string
}

func startChangeFeed(t testing.TB, maxWaiters int) *changeFeed {
	return startChangeFeedWith(t, maxWaiters, true)
}

// startChangeFeedWith: without watch, the reader polls every 250 ms, as
// waiters did before the watch.
func startChangeFeedWith(t testing.TB, maxWaiters int, watch bool) *changeFeed {
	t.Helper()
	ns, _, js := natstest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	bucket, err := engine.Setup(ctx, js, Name, engine.BucketConfig{})
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	rd := NewReader(js, slog.New(slog.NewTextHandler(io.Discard, nil)))
	// No re-read but the wake: a waiter answering before its wait= ends
	// was woken by the watch.
	rd.safety = time.Hour
	rd.Poll = time.Hour
	rd.SetMaxWaiters(maxWaiters)
	done := make(chan struct{})
	if watch {
		go func() { defer close(done); _ = rd.Watch(ctx) }()
	} else {
		rd.Poll = 250 * time.Millisecond
		close(done)
	}
	mux := http.NewServeMux()
	if err := httpapi.Handle(mux, rd.Routes(), nil, rd.log); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); cancel(); <-done })
	f := &changeFeed{t: t, ns: ns, kv: kv, rd: rd, base: srv.URL}
	for deadline := time.Now().Add(10 * time.Second); watch && !rd.watching.Load(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the watch did not start")
		}
	}
	return f
}

// put writes the change of event seq: conference id published in topic.
func (f *changeFeed) put(seq uint64, id string) {
	f.t.Helper()
	c := calendar.Conference{ID: id, Status: domain.StatusApproved, Version: 1, Published: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		Details: domain.ConferenceDetails{Title: "Conference " + id, AllDay: true, Start: "2030-06-12", End: "2030-06-14",
			Format: domain.FormatOnline, Topics: []string{"courts"}}}
	data, _ := json.Marshal(Record{Cursor: seq, ID: id, Event: "conference.approved.v1", After: &c})
	if _, err := f.kv.Put(context.Background(), ChangeKey(seq), data); err != nil {
		f.t.Fatal(err)
	}
}

type pollAnswer struct {
	status  int
	retry   string
	page    Page
	elapsed time.Duration
	err     error
}

func (f *changeFeed) poll(query string) <-chan pollAnswer {
	ch := make(chan pollAnswer, 1)
	go func() {
		start := time.Now()
		resp, err := http.Get(f.base + "/api/v1/changes?" + query)
		if err != nil {
			ch <- pollAnswer{err: err}
			return
		}
		defer resp.Body.Close()
		a := pollAnswer{status: resp.StatusCode, retry: resp.Header.Get("Retry-After")}
		a.err = json.NewDecoder(resp.Body).Decode(&a.page)
		a.elapsed = time.Since(start)
		ch <- a
	}()
	return ch
}

// sse opens an SSE stream after the cursor; ids receives each event's id.
func (f *changeFeed) sse(ctx context.Context, after uint64) (*http.Response, <-chan string) {
	f.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.base+"/api/v1/changes?topic=courts", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", fmt.Sprint(after))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	ids := make(chan string, 16)
	if resp.StatusCode == http.StatusOK {
		go func() {
			defer close(ids)
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
					ids <- v
				}
			}
		}()
	}
	return resp, ids
}

// waitFor waits until n requests wait for changes.
func (f *changeFeed) waitFor(n int) {
	f.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(f.rd.waiters) != n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			f.t.Fatalf("%d requests wait, want %d", len(f.rd.waiters), n)
		}
	}
}

// TestWaitersWake: a long-poll (wait=60) and an SSE stream waiting at the
// end of the change stream get a new change when it is written, woken by
// the watch: the Reader here never re-reads on a timer (an hour), so an
// answer well before the 60 s wait can only come from the wake. (The
// bound is generous: 30 s for what takes milliseconds.)
func TestWaitersWake(t *testing.T) {
	f := startChangeFeed(t, 10)
	f.put(1, "a")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, ids := f.sse(ctx, 1)
	defer resp.Body.Close()
	lp := f.poll("topic=courts&after=1&wait=60")
	f.waitFor(2)

	f.put(2, "b")
	select {
	case a := <-lp:
		if a.err != nil || a.status != 200 || len(a.page.Changes) != 1 || a.page.Changes[0].ID != "b" || a.page.Next != 2 {
			t.Fatalf("long poll: %+v", a)
		}
		if a.elapsed > 30*time.Second {
			t.Fatalf("long poll answered after %v: not woken", a.elapsed)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the long poll was not woken by the new change")
	}
	select {
	case id := <-ids:
		if id != "2" {
			t.Fatalf("SSE: event %s, want 2", id)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the SSE stream was not woken by the new change")
	}
	// Again, on the same stream: every change wakes it.
	f.put(3, "c")
	select {
	case id := <-ids:
		if id != "3" {
			t.Fatalf("SSE: event %s, want 3", id)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the SSE stream was not woken by the second change")
	}
	cancel()
	f.waitFor(0) // the client left: its place is free
}

// TestWaitersBounded: beyond the bound, a long-poll answers at once what
// there is (nothing) with Retry-After, and an SSE request gets 503
// problem+json with Retry-After; a long-poll with changes to answer needs
// no place and is served.
func TestWaitersBounded(t *testing.T) {
	f := startChangeFeed(t, 1)
	f.put(1, "a")
	first := f.poll("after=1&wait=60")
	f.waitFor(1)

	a := <-f.poll("after=1&wait=60")
	if a.err != nil || a.status != 200 || len(a.page.Changes) != 0 || a.retry == "" || a.page.Next != 1 {
		t.Fatalf("a long poll beyond the bound: %+v", a)
	}
	if a.elapsed > 30*time.Second {
		t.Fatalf("a long poll beyond the bound waited %v", a.elapsed)
	}
	resp, _ := f.sse(context.Background(), 1)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("SSE beyond the bound: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if a := <-f.poll("after=0&wait=60"); a.status != 200 || len(a.page.Changes) != 1 {
		t.Fatalf("a long poll with a change to answer: %+v", a)
	}
	f.put(2, "b")
	if a := <-first; a.status != 200 || len(a.page.Changes) != 1 || a.page.Changes[0].ID != "b" {
		t.Fatalf("the waiting long poll: %+v", a)
	}
}
