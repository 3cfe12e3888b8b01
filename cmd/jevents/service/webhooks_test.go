package service_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/internal/syndcheck"
)

type webhookView struct {
	ID        string `json:"id"`
	URL       string `json:"url"`
	Filter    string `json:"filter"`
	Secret    string `json:"secret"`
	Status    string `json:"status"`
	Reason    string `json:"reason"`
	Delivered uint64 `json:"delivered"`
}

// TestWebhooksDelivered: an editor registers a subscription to the courts
// topic; a real receiver in node verifies every request with the Standard
// Webhooks reference implementation. It is stopped for a moment (shorter
// than the pause) while editors approve and move conferences, then for
// longer than --webhook-pause-after, which pauses the subscription with a
// reason; an editor resumes it; then the service restarts. In the end the
// receiver has every change of the topic's change feed after the
// registration, in order, verified, none twice.
func TestWebhooksDelivered(t *testing.T) {
	dir := t.TempDir()
	configure := func(c *service.Config) {
		c.Webhooks.AllowPrivate = true
		c.Webhooks.PauseAfter = 3 * time.Second
		c.Webhooks.MinBackoff = 50 * time.Millisecond
		c.Webhooks.MaxBackoff = 400 * time.Millisecond
		c.Webhooks.Poll = 100 * time.Millisecond
	}
	a := startAppWith(t, dir, configure)
	n := 0
	var ids []string
	etags := map[string]string{}
	approve := func(topic string) {
		n++
		sub := validSubmission()
		sub["title"] = fmt.Sprintf("Conference %d", n)
		sub["topics"] = []string{topic}
		rec := a.submit(sub, "")
		a.waitQueued(rec.ID)
		r := a.do("POST", "/api/v1/conferences/"+rec.ID+"/approve", editor, nil)
		if r.status != http.StatusOK {
			t.Fatalf("approve: %d %s", r.status, r.body)
		}
		etags[rec.ID] = r.header.Get("ETag")
		ids = append(ids, rec.ID)
	}
	approve("courts") // before the registration: not delivered

	// Without an editor: refused. A bad filter, a bad URL: 422 naming the field.
	if r := a.do("POST", "/api/v1/webhooks", nil, map[string]any{"url": "https://example.org/h"}); r.status != http.StatusUnauthorized {
		t.Fatalf("anonymous registration: %d %s", r.status, r.body)
	}
	for _, bad := range []map[string]any{{"url": "ftp://example.org/"}, {"url": "https://example.org/", "filter": "topic=nosuchtopic"}, {"url": "https://example.org/", "filter": "colour=red"}} {
		r := a.do("POST", "/api/v1/webhooks", editor, bad)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.header.Get("Content-Type"), "problem+json") || !strings.Contains(string(r.body), `"field"`) {
			t.Fatalf("registration %v: %d %s", bad, r.status, r.body)
		}
	}

	// The receiver's secret is the one the registration shows, once.
	r := a.do("POST", "/api/v1/webhooks", editor, map[string]any{"url": "http://127.0.0.1:1/placeholder", "filter": "topic=courts"})
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	var placeholder webhookView
	r.json(t, &placeholder)
	if r := a.do("DELETE", "/api/v1/webhooks/"+placeholder.ID, editor, nil); r.status != http.StatusOK {
		t.Fatalf("remove: %d %s", r.status, r.body)
	}
	port := syndcheck.FreePort(t)
	r = a.do("POST", "/api/v1/webhooks", editor, map[string]any{"url": fmt.Sprintf("http://127.0.0.1:%d/hook", port), "filter": "topic=courts"})
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	var sub webhookView
	r.json(t, &sub)
	if !strings.HasPrefix(sub.Secret, "whsec_") || sub.Status != "active" || sub.Delivered == 0 {
		t.Fatalf("registration answer %+v", sub)
	}
	recv := syndcheck.NewReceiver(t, port, sub.Secret)
	recv.Start()
	// The list never shows the secret again, nor a removed subscription.
	r = a.do("GET", "/api/v1/webhooks", editor, nil)
	if strings.Contains(string(r.body), sub.Secret) || strings.Contains(string(r.body), placeholder.ID) || !strings.Contains(string(r.body), sub.ID) {
		t.Fatalf("list: %s", r.body)
	}

	for i := range 4 {
		approve([]string{"courts", "reentry"}[i%2])
	}
	waitReceived(t, recv, 2)
	recv.Stop() // a short outage: retried, not paused
	for i := range 4 {
		approve([]string{"courts", "reentry"}[i%2])
	}
	// Move one courts conference out of the topic: "removed".
	h := map[string]string{"Authorization": "Bearer " + editorToken, "If-Match": etags[ids[1]]}
	if r := a.do("PATCH", "/api/v1/conferences/"+ids[1], h, map[string]any{"topics": []string{"reentry"}}); r.status != http.StatusOK {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	time.Sleep(time.Second)
	recv.Start()
	want := expectedChanges(a, "topic=courts", sub.Delivered)
	waitReceived(t, recv, len(want))

	// A long outage: paused with a reason editors see.
	recv.Stop()
	approve("courts")
	approve("courts")
	deadline := time.Now().Add(20 * time.Second)
	for {
		var list struct{ Webhooks []webhookView }
		a.do("GET", "/api/v1/webhooks", editor, nil).json(t, &list)
		if len(list.Webhooks) == 1 && list.Webhooks[0].Status == "paused" {
			if !strings.Contains(list.Webhooks[0].Reason, "failing since") {
				t.Fatalf("pause reason %q", list.Webhooks[0].Reason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never paused: %+v", list)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var log struct {
		Deliveries []struct {
			Outcome   string `json:"outcome"`
			Attempts  int    `json:"attempts"`
			LastError string `json:"last_error"`
		}
	}
	a.do("GET", "/api/v1/webhooks/"+sub.ID+"/deliveries", editor, nil).json(t, &log)
	if len(log.Deliveries) == 0 || log.Deliveries[0].Outcome != "failing" || log.Deliveries[0].Attempts < 2 || log.Deliveries[0].LastError == "" {
		t.Fatalf("delivery log: %+v", log)
	}
	recv.Start()
	time.Sleep(300 * time.Millisecond)
	if got := len(recv.Received()); got != len(want) {
		t.Fatalf("a paused subscription delivered: %d, want %d", got, len(want))
	}
	if r := a.do("POST", "/api/v1/webhooks/"+sub.ID+"/resume", editor, nil); r.status != http.StatusOK {
		t.Fatalf("resume: %d %s", r.status, r.body)
	}
	want = expectedChanges(a, "topic=courts", sub.Delivered)
	waitReceived(t, recv, len(want))

	for series, min := range map[string]float64{
		`jevents_webhook_deliveries_total{outcome="delivered"}`: float64(len(want)),
		`jevents_webhook_deliveries_total{outcome="failed"}`:    2,
		`jevents_webhook_subscriptions{status="active"}`:        1,
	} {
		v, err := strconv.ParseFloat(a.metric(series), 64)
		if err != nil || v < min {
			t.Errorf("%s = %v, want at least %v", series, a.metric(series), min)
		}
	}
	// A restart of the service resumes from the stored cursor: nothing
	// delivered again, the next changes delivered. The restarted
	// deliverer polls for nothing within the test (an hour's Poll, a
	// lease to match): the change stream's watch wakes it for the next
	// change.
	a.stop()
	a = startAppWith(t, dir, func(c *service.Config) {
		configure(c)
		c.Webhooks.Poll, c.Webhooks.Lease = time.Hour, 3*time.Hour
	})
	approve("courts")
	want = expectedChanges(a, "topic=courts", sub.Delivered)
	got := waitReceived(t, recv, len(want))
	time.Sleep(300 * time.Millisecond) // anything delivered twice would arrive now
	if got = recv.Received(); len(got) != len(want) {
		t.Fatalf("after the restart the receiver has %d requests, want %d", len(got), len(want))
	}
	for i, g := range got {
		if !g.Verified || g.Duplicate {
			t.Fatalf("request %d: verified %v, duplicate %v (%s)", i, g.Verified, g.Duplicate, g.Error)
		}
		if g.ID != fmt.Sprintf("%s-%d", sub.ID, want[i].Cursor) {
			t.Fatalf("request %d is %s, want the change at %d: out of order", i, g.ID, want[i].Cursor)
		}
		var body struct {
			Cursor uint64 `json:"cursor"`
			Type   string `json:"type"`
			ID     string `json:"id"`
		}
		if err := json.Unmarshal(g.Body, &body); err != nil || body.Cursor != want[i].Cursor || body.Type != want[i].Type || body.ID != want[i].ID {
			t.Fatalf("request %d body %s, want %+v", i, g.Body, want[i])
		}
	}
	t.Logf("%d changes delivered across two outages, a pause and a restart", len(got))
}

type wantChange struct {
	Cursor uint64
	Type   string
	ID     string
}

// expectedChanges reads the change feed of query after cursor to its end.
func expectedChanges(a *app, query string, after uint64) []wantChange {
	a.t.Helper()
	var out []wantChange
	for {
		r := a.do("GET", fmt.Sprintf("/api/v1/changes?%s&after=%d&limit=1000", query, after), nil, nil)
		var p changePage
		r.json(a.t, &p)
		for _, c := range p.Changes {
			out = append(out, wantChange{c.Cursor, c.Type, c.ID})
		}
		if len(p.Changes) == 0 {
			return out
		}
		after = p.Next
	}
}

// waitReceived waits until the receiver holds at least n requests.
func waitReceived(t *testing.T, recv *syndcheck.Receiver, n int) []syndcheck.Received {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := recv.Received()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the receiver has %d requests, want %d: %+v", len(got), n, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
