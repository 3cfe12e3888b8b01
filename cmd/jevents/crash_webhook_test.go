package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/justiceevents/jevents/internal/syndcheck"
)

// TestCrashWebhookDelivery: the deliverer is SIGKILLed (the real jevents
// process, on an external nats-server) while the target is holding one of
// its requests (a slow receiver in node, verifying every request with the
// Standard Webhooks reference implementation), twice, and restarted each
// time; editors keep approving meanwhile. In the end the receiver has
// every change of the subscription's filter after its registration, in
// the change feed's order, every request verified, none skipped; a change
// came twice only as the README says (the deliverer stopped between the
// target's answer and the cursor's write), with the same webhook-id and
// the same body, at most once per kill. Bounded: the restarted deliverer
// waits out the killed one's lease (15 s) each time.
func TestCrashWebhookDelivery(t *testing.T) {
	const kills = 2
	start := time.Now()
	n := startNATSServer(t, t.TempDir())
	if code, out, errs := runBuilt(t, "setup", "--nats", n.url(), "--replicas", "1"); code != 0 {
		t.Fatalf("jevents setup: exit %d %s %s", code, out, errs)
	}
	s := newSvc(t, t.TempDir(), "--nats", n.url(), "--webhook-allow-private")
	s.start()
	s.waitReady(60 * time.Second)

	api := func(method, path string, body any, out any) int {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, s.base()+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := crashClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		if out != nil {
			_ = json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode
	}
	nConf := 0
	approve := func() {
		t.Helper()
		nConf++
		key := fmt.Sprintf("crash-hook-%d", nConf)
		a := submitKey(crashClient, s.base(), key, "Crash webhook "+key)
		if a.status != http.StatusAccepted {
			t.Fatalf("submit: %+v", a)
		}
		waitFor(t, 30*time.Second, "approve "+a.id, func() error {
			if code := api("POST", "/api/v1/conferences/"+a.id+"/approve", nil, nil); code != http.StatusOK {
				return fmt.Errorf("status %d", code)
			}
			return nil
		})
	}

	port := syndcheck.FreePort(t)
	var sub struct {
		ID        string `json:"id"`
		Secret    string `json:"secret"`
		Delivered uint64 `json:"delivered"`
	}
	if code := api("POST", "/api/v1/webhooks", map[string]string{"url": fmt.Sprintf("http://127.0.0.1:%d/hook", port), "filter": "topic=courts"}, &sub); code != http.StatusCreated {
		t.Fatalf("register: %d", code)
	}
	recv := syndcheck.NewReceiver(t, port, sub.Secret)
	recv.Hold = 1500 * time.Millisecond
	recv.Start()

	arrived := 0
	for k := range kills {
		approve()
		approve()
		// Kill while the receiver holds a request of this run: it
		// arrived, it is not answered yet.
		waitFor(t, 60*time.Second, "a request held by the receiver", func() error {
			if a, r := recv.Arrivals(), len(recv.Received()); a <= arrived || a <= r {
				return fmt.Errorf("%d arrived (%d before), %d answered", a, arrived, r)
			}
			return nil
		})
		arrived = recv.Arrivals()
		s.kill()
		t.Logf("kill %d: SIGKILL with a delivery held (%d arrived, %d answered)", k+1, recv.Arrivals(), len(recv.Received()))
		s.start()
		s.waitReady(60 * time.Second)
	}
	approve()

	// Every change of the filter after the registration, from the change
	// feed itself (once it has one per approval).
	var want []uint64
	waitFor(t, 60*time.Second, "every approval in the change feed", func() error {
		want = changesAfter(t, api, sub.Delivered)
		if len(want) < nConf {
			return fmt.Errorf("%d of %d changes", len(want), nConf)
		}
		return nil
	})
	if len(want) != nConf {
		t.Fatalf("%d changes in the feed for %d approvals", len(want), nConf)
	}
	var got []syndcheck.Received
	waitFor(t, 90*time.Second, "every change received", func() error {
		got = recv.Received()
		distinct := map[string]bool{}
		for _, g := range got {
			distinct[g.ID] = true
		}
		if len(distinct) < len(want) {
			return fmt.Errorf("%d of %d changes received", len(distinct), len(want))
		}
		return nil
	})
	time.Sleep(2 * recv.Hold) // anything sent again would arrive now
	got = recv.Received()

	// In order, verified, none skipped; duplicates only of the change
	// just before, same body, at most one per kill.
	first := map[string]json.RawMessage{}
	var order []string
	dups := 0
	for i, g := range got {
		if !g.Verified {
			t.Fatalf("request %d (%s) does not verify: %s", i, g.ID, g.Error)
		}
		if body, ok := first[g.ID]; ok {
			dups++
			if !g.Duplicate || g.ID != order[len(order)-1] || !bytes.Equal(body, g.Body) {
				t.Fatalf("request %d (%s) came again out of place or changed (last new: %s)", i, g.ID, order[len(order)-1])
			}
			continue
		}
		first[g.ID] = g.Body
		order = append(order, g.ID)
	}
	if len(order) != len(want) {
		t.Fatalf("%d distinct changes received, the feed has %d", len(order), len(want))
	}
	for i, id := range order {
		if w := fmt.Sprintf("%s-%d", sub.ID, want[i]); id != w {
			t.Fatalf("change %d is %s, want %s: skipped or out of order", i, id, w)
		}
		var body struct {
			Cursor uint64 `json:"cursor"`
		}
		if err := json.Unmarshal(first[id], &body); err != nil || body.Cursor != want[i] {
			t.Fatalf("change %d's body has cursor %d (%v), want %d", i, body.Cursor, err, want[i])
		}
	}
	// Each kill held a request whose answer the deliverer never read: it
	// is sent again, once; nothing else is.
	if dups < 1 || dups > kills {
		t.Fatalf("%d changes sent again for %d kills mid-delivery", dups, kills)
	}
	t.Logf("%d changes delivered in order across %d kills mid-delivery, %d sent again (same webhook-id, same body); %v",
		len(order), kills, dups, time.Since(start).Round(time.Millisecond))
}

// changesAfter reads every cursor of the courts topic's change feed after
// a cursor.
func changesAfter(t *testing.T, api func(method, path string, body any, out any) int, after uint64) []uint64 {
	t.Helper()
	var out []uint64
	for {
		var p struct {
			Changes []struct {
				Cursor uint64 `json:"cursor"`
			} `json:"changes"`
			Next uint64 `json:"next"`
		}
		if code := api("GET", fmt.Sprintf("/api/v1/changes?topic=courts&after=%d&limit=1000", after), nil, &p); code != http.StatusOK {
			t.Fatalf("changes: %d", code)
		}
		for _, c := range p.Changes {
			out = append(out, c.Cursor)
		}
		if p.Next == after {
			return out
		}
		after = p.Next
	}
}
