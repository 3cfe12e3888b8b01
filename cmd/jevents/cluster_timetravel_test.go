package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/eventlog/schedule"
)

// Issue 15 on the cluster: time travel and plans across the roles, under
// the deploy permissions (TestCluster runs these).

// getIdentity fetches a URL without compression: the ETag of the identity
// form.
func getIdentity(u string) (int, string, []byte, error) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := httpc.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("ETag"), b, err
}

// testAsOfAcrossRoles: the feed server, which may not read the log, asks
// the projectors (which may) for the models as of an instant, and answers
// the bytes and ETag it served then.
func testAsOfAcrossRoles(t *testing.T, c *testCluster, r *roles) {
	code, etag, before, err := getIdentity(r.feeds.base + "/calendar.ics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("feed: %d %v", code, err)
	}
	then := time.Now()
	time.Sleep(5 * time.Millisecond)
	id, code, err := submitTo(r.intake.base, "as-of-cluster-1", "Approved after the instant")
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
	waitFor(t, 30*time.Second, "the feed changes", func() error {
		uids, _, err := feedUIDs(r.feeds.base)
		if err == nil && uids[uidOf(id)] != 1 {
			err = fmt.Errorf("not yet")
		}
		return err
	})
	asOf := r.feeds.base + "/calendar.ics?as_of=" + url.QueryEscape(then.UTC().Format(time.RFC3339Nano))
	code, got, body, err := getIdentity(asOf)
	if err != nil || code != http.StatusOK || got != etag || !bytes.Equal(body, before) {
		t.Fatalf("as of before the approval: %d %v, ETag %s (was %s), same bytes %v\n%s", code, err, got, etag, bytes.Equal(body, before), r.feeds.logs)
	}
	for _, p := range append([]*proc{r.feeds}, r.projectors...) {
		if strings.Contains(p.logs.String(), "Permissions Violation") {
			t.Errorf("jevents %v hit a permission violation:\n%s", p.cmd.Args[1:4], p.logs)
		}
	}
	// Only editors write plans; the public roles may not.
	for _, user := range []string{"feeds", "intake", "projector"} {
		nc, _, refused := permissionWatcher(t, c, user)
		subj := schedule.PlanSubject("c1", "p1")
		if err := nc.Publish(subj, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		if err := refused(subj); err != nil {
			t.Error(err)
		}
	}
}

// testPlanAcrossLeaderKill: an embargoed approval fires once although the
// leader of the plans' stream is SIGKILLed just before its instant: the
// plan lives in the replicated stream, and the new leader fires it.
func testPlanAcrossLeaderKill(t *testing.T, c *testCluster, r *roles) {
	id, code, err := submitTo(r.intake.base, "plan-cluster-1", "Published by a plan across a failover")
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("submit: %d %v", code, err)
	}
	due := time.Now().Add(8 * time.Second).UTC().Truncate(time.Second)
	waitFor(t, 30*time.Second, "approve with an embargo", func() error {
		body, _ := json.Marshal(map[string]string{"publish_at": due.Format(time.RFC3339)})
		req, _ := http.NewRequest(http.MethodPost, r.editors.base+"/api/v1/conferences/"+id+"/approve", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "plan-cluster-1")
		resp, err := httpc.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"scheduled"`) {
			return fmt.Errorf("%d %s", resp.StatusCode, b)
		}
		return nil
	})
	_, admin := c.connect(t, "admin")
	st, err := admin.Stream(context.Background(), schedule.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().Config.Replicas; n != 3 {
		t.Fatalf("the plans' stream has %d replicas", n)
	}
	leader := c.node(st.CachedInfo().Cluster.Leader)
	time.Sleep(time.Until(due.Add(-time.Second)))
	c.killNode(leader)
	t.Logf("killed %s, the leader of %s, 1 s before the plan's instant", leader.name, schedule.StreamName)
	// The history, read through the editors process, until the approval.
	var approvals []time.Time
	waitFor(t, time.Minute, "the embargo lifted", func() error {
		req, _ := http.NewRequest(http.MethodGet, r.editors.base+"/api/v1/conferences/"+id+"/history", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := httpc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var h struct {
			Entries []struct {
				Type string    `json:"type"`
				Time time.Time `json:"time"`
			} `json:"entries"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
			return err
		}
		approvals = approvals[:0]
		for _, e := range h.Entries {
			if e.Type == "conference.approved.v1" {
				approvals = append(approvals, e.Time)
			}
		}
		if len(approvals) == 0 {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	c.restartNode(leader)
	time.Sleep(3 * time.Second) // a second firing would come now, if any
	if len(approvals) != 1 || approvals[0].Before(due) {
		t.Fatalf("approvals at %v for a plan due at %v", approvals, due)
	}
	t.Logf("the plan fired %v after its instant, across the leader's death", approvals[0].Sub(due).Round(time.Millisecond))
	waitFor(t, 30*time.Second, "the embargoed conference in the feed", func() error {
		uids, _, err := feedUIDs(r.feeds.base)
		if err == nil && uids[uidOf(id)] != 1 {
			err = fmt.Errorf("not yet")
		}
		return err
	})
	// Once, also after the old leader came back.
	req, _ := http.NewRequest(http.MethodGet, r.editors.base+"/api/v1/conferences/"+id+"/history", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := httpc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := strings.Count(string(b), "conference.approved.v1"); n != 1 {
		t.Fatalf("%d approvals after the old leader came back", n)
	}
}
