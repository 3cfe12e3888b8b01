package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// changeFollower reads GET /api/v1/changes of a feed server from the
// start, keeping only its cursor and its set, as a partner would.
type changeFollower struct {
	base string

	mu     sync.Mutex
	cursor uint64
	set    map[string]bool
	seen   int
	errs   int    // failed reads (retried), during a failover
	broken string // a change out of order or twice: the test fails
}

func newChangeFollower(base string) *changeFollower {
	return &changeFollower{base: base, set: map[string]bool{}}
}

// read asks one page (wait: long-poll seconds) and applies it; it reports
// how many changes came.
func (f *changeFollower) read(wait int) (int, error) {
	f.mu.Lock()
	after := f.cursor
	f.mu.Unlock()
	resp, err := httpc.Get(fmt.Sprintf("%s/api/v1/changes?after=%d&limit=1000&wait=%d", f.base, after, wait))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("changes after %d: %d", after, resp.StatusCode)
	}
	var p struct {
		Changes []struct {
			Cursor uint64 `json:"cursor"`
			Type   string `json:"type"`
			ID     string `json:"id"`
		} `json:"changes"`
		Next uint64 `json:"next"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	last := f.cursor
	for _, c := range p.Changes {
		if c.Cursor <= last {
			f.broken = fmt.Sprintf("cursor %d after %d: out of order or twice", c.Cursor, last)
		}
		last = c.Cursor
		f.seen++
		switch c.Type {
		case "published", "updated", "cancelled":
			f.set[c.ID] = true
		case "removed":
			delete(f.set, c.ID)
		default:
			f.broken = "change type " + c.Type
		}
	}
	if p.Next < f.cursor {
		f.broken = fmt.Sprintf("next %d goes back from %d", p.Next, f.cursor)
	}
	f.cursor = p.Next
	return len(p.Changes), nil
}

// follow long-polls until stop is closed, counting failed reads.
func (f *changeFollower) follow(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		if _, err := f.read(2); err != nil {
			f.mu.Lock()
			f.errs++
			f.mu.Unlock()
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// matchesFeed reads to the end and compares the set with /calendar.ics.
func (f *changeFollower) matchesFeed() error {
	for {
		n, err := f.read(0)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	uids, code, err := feedUIDs(f.base)
	if err != nil || code != http.StatusOK {
		return fmt.Errorf("feed: %d %v", code, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.broken != "" {
		return fmt.Errorf("broken: %s", f.broken)
	}
	var want, got []string
	for uid := range uids {
		want = append(want, strings.TrimSuffix(uid, "@events.test"))
	}
	got = slices.Collect(maps.Keys(f.set))
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		return fmt.Errorf("the follower holds %d conferences, the feed %d", len(got), len(want))
	}
	return nil
}

// testChangeFeed: a partner follows the whole calendar's change feed
// through a feeds process (its own NATS user: it reads the change stream
// with direct gets and watches it to wake long-polls): a submission
// approved while it waits arrives on the waiting long-poll, and from the
// start it ends with exactly the .ics feed's conferences.
func testChangeFeed(t *testing.T, r *roles) {
	f := newChangeFollower(r.feeds.base)
	waitFor(t, 30*time.Second, "the change feed matches the .ics feed", f.matchesFeed)
	got := make(chan error, 1)
	go func() {
		n, err := f.read(30)
		if err == nil && n == 0 {
			err = fmt.Errorf("the long poll answered no change")
		}
		got <- err
	}()
	id, code, err := submitTo(r.intake.base, "change-feed-1", "Change feed on the cluster")
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("submit: %d %v", code, err)
	}
	waitFor(t, 30*time.Second, "approve", func() error {
		code, err := approveAt(r.editors.base, id)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("status %d", code)
		}
		return err
	})
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("the waiting long poll did not answer")
	}
	waitFor(t, 30*time.Second, "the change feed matches the .ics feed", f.matchesFeed)
	if !f.set[id] {
		t.Fatalf("the follower does not hold %s", id)
	}
	if logs := r.feeds.logs.String(); strings.Contains(logs, "watching new changes") {
		t.Errorf("the feeds process could not watch the change stream:\n%s", logs)
	}
	t.Logf("%d changes followed; %d conferences", f.seen, len(f.set))
}
