package service_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/cmd/jevents/service"
)

type changePage struct {
	Changes []struct {
		Cursor     uint64 `json:"cursor"`
		Type       string `json:"type"`
		ID         string `json:"id"`
		Conference *struct {
			Status string `json:"status"`
		} `json:"conference"`
	} `json:"changes"`
	Next uint64 `json:"next"`
}

// follower is a change-feed client: its set of conferences and its
// cursor, all it keeps between runs.
type follower struct {
	query  string
	cursor uint64
	set    map[string]bool
	seen   []uint64 // every cursor applied, to prove none came twice
}

// read applies one page of at most limit changes; it reports whether the
// page was empty.
func (f *follower) read(a *app, limit int) bool {
	a.t.Helper()
	r := a.do("GET", fmt.Sprintf("/api/v1/changes?%s&after=%d&limit=%d", f.query, f.cursor, limit), nil, nil)
	if r.status != http.StatusOK {
		a.t.Fatalf("changes after %d: %d %s", f.cursor, r.status, r.body)
	}
	var p changePage
	r.json(a.t, &p)
	for _, c := range p.Changes {
		if len(f.seen) > 0 && c.Cursor <= f.seen[len(f.seen)-1] {
			a.t.Fatalf("cursor %d after %d: out of order or twice", c.Cursor, f.seen[len(f.seen)-1])
		}
		f.seen = append(f.seen, c.Cursor)
		switch c.Type {
		case "published", "updated", "cancelled":
			f.set[c.ID] = true
		case "removed":
			delete(f.set, c.ID)
		default:
			a.t.Fatalf("change type %q", c.Type)
		}
	}
	if p.Next < f.cursor {
		a.t.Fatalf("next %d goes back from %d", p.Next, f.cursor)
	}
	f.cursor = p.Next
	return len(p.Changes) == 0
}

// TestChangeFeedFollower: a follower of the courts topic reads the change
// feed in random small pages (as if killed and resumed at random points,
// keeping only its cursor) while editors approve, edit conferences between
// topics and cancel them, across a restart of the service (its projector)
// and a `jevents rebuild`; it ends with exactly the conferences of the
// topic's .ics feed, having applied no change twice. Then an SSE client
// resumes with Last-Event-ID and gets exactly the changes after it.
func TestChangeFeedFollower(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir)
	rng := rand.New(rand.NewPCG(13, 13))
	f := &follower{query: "topic=courts", set: map[string]bool{}}
	etags := map[string]string{}
	var ids []string
	submit := func(i int) {
		sub := validSubmission()
		sub["title"] = fmt.Sprintf("Conference %d", i)
		sub["topics"] = []string{[]string{"courts", "reentry"}[i%2]}
		rec := a.submit(sub, "")
		a.waitQueued(rec.ID)
		r := a.do("POST", "/api/v1/conferences/"+rec.ID+"/approve", editor, nil)
		if r.status != http.StatusOK {
			t.Fatalf("approve: %d %s", r.status, r.body)
		}
		etags[rec.ID] = r.header.Get("ETag")
		ids = append(ids, rec.ID)
	}
	cancelled := map[string]bool{}
	edit := func(a *app) {
		var open []string
		for _, id := range ids {
			if !cancelled[id] {
				open = append(open, id)
			}
		}
		id := open[rng.IntN(len(open))]
		h := map[string]string{"Authorization": "Bearer " + editorToken, "If-Match": etags[id]}
		var r response
		if rng.IntN(8) == 0 && len(open) > 3 {
			r = a.do("POST", "/api/v1/conferences/"+id+"/cancel", h, map[string]any{"reason": "moved online"})
			cancelled[id] = true
		} else {
			topics := [][]string{{"courts"}, {"reentry"}, {"courts", "reentry"}}[rng.IntN(3)]
			r = a.do("PATCH", "/api/v1/conferences/"+id, h, map[string]any{"topics": topics})
		}
		if r.status != http.StatusOK {
			t.Fatalf("edit %s: %d %s", id, r.status, r.body)
		}
		etags[id] = r.header.Get("ETag")
	}
	step := func(a *app, n int) {
		for range n {
			edit(a)
			if rng.IntN(3) == 0 {
				f.read(a, 1+rng.IntN(4))
			}
		}
	}
	for i := range 10 {
		submit(i)
		if rng.IntN(2) == 0 {
			f.read(a, 1+rng.IntN(3))
		}
	}
	step(a, 25)

	// The projector restarts with the service; the follower keeps its cursor.
	a.stop()
	a = startApp(t, dir)
	step(a, 15)

	// A rebuild writes the change stream anew; cursors still hold.
	nc, err := service.ConnectLocal(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	if _, err := service.Rebuild(context.Background(), js, 1, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	f.read(a, 2)
	step(a, 15)

	// Caught up, the follower holds exactly the topic's feed.
	deadline := time.Now().Add(15 * time.Second)
	for {
		for !f.read(a, 50) {
		}
		evs, _ := a.feedEvents("/calendar/topics/courts.ics", func([]goical.Event) bool { return true })
		var want []string
		for _, e := range evs {
			uid := e.Props.Get(goical.PropUID).Value
			want = append(want, strings.TrimSuffix(uid, "@events.test"))
		}
		var got []string
		for id := range f.set {
			got = append(got, id)
		}
		slices.Sort(want)
		slices.Sort(got)
		if slices.Equal(got, want) {
			t.Logf("%d changes applied; %d conferences in the courts feed", len(f.seen), len(want))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the follower holds %v, the feed %v", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// SSE: resume after the middle change; exactly the ones after it come.
	if len(f.seen) < 4 {
		t.Fatalf("only %d changes", len(f.seen))
	}
	mid := f.seen[len(f.seen)/2]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", a.base+"/api/v1/changes?topic=courts", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", strconv.FormatUint(mid, 10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("SSE: %d %v", resp.StatusCode, resp.Header)
	}
	want := slices.Clone(f.seen[len(f.seen)/2+1:])
	var got []uint64
	sc := bufio.NewScanner(resp.Body)
	for len(got) < len(want) && sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			n, _ := strconv.ParseUint(v, 10, 64)
			got = append(got, n)
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok && !json.Valid([]byte(v)) {
			t.Fatalf("SSE data %q", v)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("SSE after %d: %v, want %v", mid, got, want)
	}
	// A live change arrives on the open stream.
	edit(a)
	cancel()

	// Long-poll: an answer waits for a change of the filter.
	start := time.Now()
	r := a.do("GET", fmt.Sprintf("/api/v1/changes?topic=cybercrime&after=%d&wait=1", f.cursor), nil, nil)
	if r.status != 200 || time.Since(start) < 900*time.Millisecond || !strings.Contains(string(r.body), `"changes":[]`) {
		t.Fatalf("long poll: %d after %v: %s", r.status, time.Since(start), r.body)
	}
	if r := a.do("GET", "/api/v1/changes?after=999999999", nil, nil); r.status != http.StatusBadRequest {
		t.Fatalf("unknown cursor: %d %s", r.status, r.body)
	}
}
