package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/mailpittest"
	"github.com/justiceevents/jevents/projections/engine"
)

// roles is one running process per role, as TestCluster starts them.
type roles struct {
	intake, editors, feeds *proc
	projectors             []*proc
	// notifier mails through a real SMTP server (mailpit) as its own
	// least-privileged NATS user.
	notifier *proc
}

// TestCluster runs Justice Events as it runs in production, on one machine:
// a three-node JetStream cluster of real nats-server processes (loopback,
// sync_interval: always, deploy/nats/nats-server-tls.conf: TLS on client
// and route connections, an nkey for every user), the stream and buckets at
// R3 made by `jevents setup` as admin, every role as its own `jevents
// serve` process connected as its own least-privileged user (an intake, an
// editors process, two projectors and a feed server), Caddy in front of
// them with deploy/caddy/Caddyfile, and the NATS exporter of
// deploy/nats-exporter.
//
//	go test -run TestCluster -v ./cmd/jevents/
func TestCluster(t *testing.T) {
	c := startSecureCluster(t)
	c.setup(t)
	r := &roles{}
	// Start everything at once, then wait: the roles find the stream and
	// buckets setup made.
	// A quota far above the test's load, so that intake counts it in the
	// shared bucket as its own NATS user (the permissions hold).
	r.intake = c.launchRole(t, "intake", "--intake-quota", "1000000", "--intake-quota-bytes", "10000000000")
	r.editors = c.launchRole(t, "editors")
	r.projectors = []*proc{c.launchRole(t, "projector"), c.launchRole(t, "projector")}
	r.feeds = c.launchRole(t, "feeds")
	mail := mailpittest.Start(t)
	// With a one-second editors' digest, so that the digest windows'
	// bucket is used under the notifier's permissions too.
	r.notifier = c.launchRole(t, "notifier", "--smtp-url", mail.SMTPURL(), "--editor-emails", "editors@example.org", "--editor-digest", "1s")
	for _, p := range append([]*proc{r.intake, r.editors, r.feeds, r.notifier}, r.projectors...) {
		c.waitReady(t, p, 90*time.Second)
	}

	// One website: deploy/caddy/Caddyfile in front of the roles; the NATS
	// servers' exporter (deploy/nats-exporter).
	px := startProxy(t, []*proc{r.intake}, []*proc{r.editors}, []*proc{r.feeds})
	exporter := natsExporter(t, c)

	t.Run("roles work under their own users", func(t *testing.T) { testRolesWork(t, c, r) })
	t.Run("permissions", func(t *testing.T) { testPermissions(t, c) })
	t.Run("the change feed through a feeds process", func(t *testing.T) { testChangeFeed(t, r) })  // cluster_changes_test.go
	t.Run("as of through the projectors", func(t *testing.T) { testAsOfAcrossRoles(t, c, r) })     // cluster_timetravel_test.go
	t.Run("a plan across a leader kill", func(t *testing.T) { testPlanAcrossLeaderKill(t, c, r) }) // cluster_timetravel_test.go
	t.Run("editors' sessions across editors processes", func(t *testing.T) { testSessionsAcrossEditors(t, c, r) })
	t.Run("one website through the proxy", func(t *testing.T) { testOneWebsite(t, r, px) })
	t.Run("a browser through the proxy over TLS", func(t *testing.T) { testBrowserThroughProxy(t, px) })
	t.Run("projectors' consumers are named", func(t *testing.T) { testConsumerNames(t, c) })
	t.Run("README's commands for TLS and nkeys", func(t *testing.T) { runReadmeCommands(t, c, "tls") })
	t.Run("every role exports its catalogued metrics", func(t *testing.T) { testCatalogue(t, c, r) })
	t.Run("the notifier mails as its own user", func(t *testing.T) {
		// The roles' test submitted and decided conferences: their
		// organisers' mails arrive, read and acknowledged under the
		// notifier's permissions (deploy/nats).
		if n := mail.WaitCount(1, 30*time.Second); n == 0 {
			t.Fatalf("no mail arrived; the notifier's log:\n%s", r.notifier.logs.String())
		}
		// The submissions reached the editors in digests: windows
		// recorded, closed and sent through jevents_notify_digests.
		deadline := time.Now().Add(30 * time.Second)
		for len(mail.Search(`to:"editors@example.org" subject:"waiting ("`)) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("no editors' digest arrived; the notifier's log:\n%s", r.notifier.logs.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
		if n := len(mail.Search(`to:"editors@example.org" subject:"New submission waiting:"`)); n != 0 {
			t.Errorf("%d immediate editors' mails with --editor-digest", n)
		}
		// (Timeouts while a leader is killed are expected; a permission
		// the notifier lacks would say so.)
		for _, bad := range []string{"permissions violation"} {
			if strings.Contains(strings.ToLower(r.notifier.logs.String()), bad) {
				t.Errorf("the notifier's log says %q:\n%s", bad, r.notifier.logs.String())
			}
		}
	})
	t.Run("an organiser's private link, signed by the notifier, opens on intake", func(t *testing.T) { testPrivateLinkAcrossRoles(t, mail, px) }) // cluster_organiser_test.go
	t.Run("prometheus scrapes every role and the NATS servers", func(t *testing.T) { testPrometheus(t, r, exporter) })
	t.Run("feeds serve the last model while no projector runs", func(t *testing.T) { testNoProjector(t, c, r) })
	t.Run("leader and active projector killed under load", func(t *testing.T) { testFailover(t, c, r) })
	t.Run("an R3 backup restores onto one server", func(t *testing.T) { testBackupR3(t, c, r) }) // backup_test.go
}

// httpc is the client of the tests: generous timeout, because a request
// that arrives during a failover waits for the new stream leader.
var httpc = &http.Client{Timeout: 30 * time.Second}

// submitTo submits a conference with an Idempotency-Key and returns its id
// when the answer is 202.
func submitTo(base, key, title string) (string, int, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/conferences", bytes.NewReader(submission(title)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := httpc.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	var rec struct {
		ID string `json:"id"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&rec)
	return rec.ID, resp.StatusCode, nil
}

// approveAt approves a conference through the editors process; a retry
// with the same key is the same command.
func approveAt(base, id string) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/conferences/"+id+"/approve", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", "approve-"+id)
	resp, err := httpc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// feedUIDs fetches /calendar.ics and counts its events by UID.
func feedUIDs(base string) (map[string]int, int, error) {
	resp, err := httpc.Get(base + "/calendar.ics")
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode, nil
	}
	cal, err := goical.NewDecoder(resp.Body).Decode()
	if err != nil {
		return nil, resp.StatusCode, err
	}
	out := map[string]int{}
	for _, e := range cal.Events() {
		if p := e.Props.Get(goical.PropUID); p != nil {
			out[p.Value]++
		}
	}
	return out, resp.StatusCode, nil
}

func uidOf(id string) string { return id + "@events.test" }

// testRolesWork: a submission through intake, approved through editors,
// projected by a projector, is served by the feed server; an invalid one is
// refused. Each process connects as its own user, so this is the proof
// that the deploy permissions are enough for every role.
func testRolesWork(t *testing.T, c *testCluster, r *roles) {
	id, code, err := submitTo(r.intake.base, "roles-work-1", "Roles work")
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("submit: %d %v\n%s", code, err, r.intake.logs)
	}
	// Counted against the quota shared through NATS (internal/admission).
	if _, samples := scrape(t, r.intake.ops); func() bool { v, ok := sample(samples, "jevents_intake_quota_used_events"); return !ok || v < 1 }() {
		t.Errorf("the submission was not counted in the shared intake quota")
	}
	waitFor(t, 30*time.Second, "approve through editors", func() error {
		code, err := approveAt(r.editors.base, id)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("status %d", code)
		}
		return err
	})
	waitFor(t, 30*time.Second, "approved conference in the feed", func() error {
		uids, code, err := feedUIDs(r.feeds.base)
		if err == nil && uids[uidOf(id)] != 1 {
			err = fmt.Errorf("status %d, uid count %d", code, uids[uidOf(id)])
		}
		return err
	})
	// A refused submission, so the reject counters have a series.
	req, _ := http.NewRequest(http.MethodPost, r.intake.base+"/api/v1/conferences", strings.NewReader(`{"title":"","start":"soon"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity && resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("invalid submission: %d", resp.StatusCode)
	}
	// The moderation queue reads the read model through the editors user.
	req, _ = http.NewRequest(http.MethodGet, r.editors.base+"/api/v1/moderation/queue", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = httpc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("moderation queue: %d", resp.StatusCode)
	}
	testWebhookRefused(t, r)
	for _, p := range append([]*proc{r.intake, r.editors, r.feeds}, r.projectors...) {
		if strings.Contains(p.logs.String(), "Permissions Violation") {
			t.Errorf("jevents %v hit a permission violation:\n%s", p.cmd.Args[1:4], p.logs)
		}
	}
}

// permissionError connects as user and returns a function that waits for
// the server to refuse something on subject.
func permissionWatcher(t *testing.T, c *testCluster, user string) (*nats.Conn, jetstream.JetStream, func(subject string) error) {
	t.Helper()
	errs := make(chan error, 64)
	nc, js := c.connect(t, user, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case errs <- err:
		default:
		}
	}))
	t.Cleanup(nc.Close)
	refused := func(subject string) error {
		deadline := time.After(5 * time.Second)
		for {
			select {
			case err := <-errs:
				if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), `"`+subject+`"`) {
					return nil
				}
			case <-deadline:
				return fmt.Errorf("the server did not refuse %s for %s", subject, user)
			}
		}
	}
	return nc, js, refused
}

// testPermissions: with the deploy accounts, what each user must not do,
// the server refuses. (What each user must do, testRolesWork shows.)
func testPermissions(t *testing.T, c *testCluster) {
	ctx := context.Background()
	evSubject := func(typ string) string {
		return domain.EventSubject(domain.AggregateConference, "11111111-2222-3333-4444-555555555555", typ)
	}
	// The log's size must not change while the refused writes are tried.
	_, admin := c.connect(t, "admin")
	stream, err := admin.Stream(ctx, domain.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	before := stream.CachedInfo().State.Msgs

	cases := []struct {
		user    string
		publish []string // subjects the server must refuse to publish to
		sub     []string // subjects the server must refuse to subscribe to
	}{
		{"feeds",
			[]string{evSubject("submitted"), evSubject("approved"), "$KV.calendar_1.x", "$KV.jevents_leases.projector.calendar",
				"$KV.jevents_admission.quota.1", "$JS.API.DIRECT.GET." + domain.StreamName, "$JS.API.CONSUMER.CREATE." + domain.StreamName + ".x",
				"$JS.API.STREAM.CREATE.X", "$JS.API.STREAM.DELETE." + domain.StreamName, "$KV.jevents_sessions.s1",
				"$JS.API.DIRECT.GET.KV_jevents_sessions.$KV.jevents_sessions.s1", "$JS.API.CONSUMER.CREATE.KV_jevents_sessions"},
			[]string{"_INBOX.>", "_INBOX.intake.>", "events.>"}},
		{"intake",
			[]string{evSubject("approved"), evSubject("updated"), evSubject("cancelled"), "events.resource.r1.added",
				"$KV.calendar_1.x", "$KV.jevents_meta.readmodel.calendar", "$KV.jevents_leases.projector.calendar",
				"$JS.API.STREAM.UPDATE." + domain.StreamName, "$JS.API.STREAM.PURGE." + domain.StreamName, "$KV.jevents_sessions.s1",
				"$JS.API.DIRECT.GET.KV_jevents_sessions.$KV.jevents_sessions.s1", "$JS.API.CONSUMER.CREATE.KV_jevents_sessions.c.x"},
			[]string{"_INBOX.editors.>", "$KV.>"}},
		{"editors",
			[]string{evSubject("submitted"), "$KV.calendar_1.x", "$KV.jevents_admission.quota.1", "$JS.API.STREAM.UPDATE." + domain.StreamName,
				"$JS.API.CONSUMER.CREATE." + domain.StreamName + ".x"},
			[]string{"_INBOX.intake.>"}},
		{"projector",
			[]string{evSubject("submitted"), evSubject("approved"), "$KV.jevents_meta.readmodel.calendar",
				"$KV.jevents_admission.quota.1", "$JS.API.STREAM.CREATE.KV_x", "$JS.API.STREAM.DELETE.KV_calendar_1", "$JS.API.STREAM.UPDATE." + domain.StreamName,
				"$KV.jevents_sessions.s1", "$JS.API.DIRECT.GET.KV_jevents_sessions.$KV.jevents_sessions.s1", "$JS.API.STREAM.INFO.KV_jevents_sessions"},
			[]string{"_INBOX.feeds.>"}},
	}
	for _, tc := range cases {
		t.Run(tc.user, func(t *testing.T) {
			nc, _, refused := permissionWatcher(t, c, tc.user)
			for _, subj := range tc.publish {
				if err := nc.Publish(subj, []byte(`{}`)); err != nil {
					t.Fatal(err)
				}
				if err := refused(subj); err != nil {
					t.Error(err)
				}
			}
			for _, subj := range tc.sub {
				if _, err := nc.SubscribeSync(subj); err != nil {
					t.Fatal(err)
				}
				if err := refused(subj); err != nil {
					t.Error(err)
				}
			}
		})
	}

	// Through the client API as well: the intake user cannot write the
	// read model, the feed user cannot append to the log.
	t.Run("intake cannot put into the read model", func(t *testing.T) {
		_, js, refused := permissionWatcher(t, c, "intake")
		kv, err := js.KeyValue(ctx, "calendar_1") // reading is allowed
		if err != nil {
			t.Fatal(err)
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, err := kv.Put(pctx, "intruder", []byte(`{}`)); err == nil {
			t.Fatal("intake wrote the read model")
		}
		if err := refused("$KV.calendar_1.intruder"); err != nil {
			t.Error(err)
		}
	})
	t.Run("feeds cannot append to the log", func(t *testing.T) {
		_, js, refused := permissionWatcher(t, c, "feeds")
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, err := js.Publish(pctx, evSubject("submitted"), []byte(`{}`), jetstream.WithRetryAttempts(0)); err == nil {
			t.Fatal("feeds appended to the log")
		}
		if err := refused(evSubject("submitted")); err != nil {
			t.Error(err)
		}
	})
	t.Run("no anonymous access, no wrong credentials", func(t *testing.T) {
		refused := func(what string, opts ...nats.Option) {
			t.Helper()
			nc, err := nats.Connect(c.urls(), append(opts, nats.NoReconnect())...)
			if err == nil {
				nc.Close()
				t.Errorf("connected %s", what)
			}
		}
		ca := nats.RootCAs(c.caFile)
		refused("without credentials", ca)
		refused("with a user and password", ca, nats.UserInfo("intake", c.pass["intake"]))
		_, foreign := newNKey(t, t.TempDir(), "stranger")
		o, err := nats.NkeyOptionFromSeed(foreign)
		if err != nil {
			t.Fatal(err)
		}
		refused("with an nkey the servers do not know", ca, o)
		// The right nkey, but without the CA: the servers' certificates
		// are not trusted, so the client never gets to authenticate.
		o, _ = nats.NkeyOptionFromSeed(c.seeds["intake"])
		refused("without checking the servers' certificates against the CA", o)
		// A feed server given an nkey the servers do not know is refused:
		// it never becomes ready, and says why.
		_, stranger := newNKey(t, t.TempDir(), "stranger-feeds")
		p := c.launchRoleAs(t, "feeds", stranger)
		waitFor(t, 20*time.Second, "the refusal in the log of a feed server with a wrong nkey", func() error {
			if !strings.Contains(strings.ToLower(p.logs.String()), "authorization violation") {
				return errors.New("not yet")
			}
			return nil
		})
		if resp, err := httpc.Get(p.ops + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Error("a feed server with a wrong nkey is ready")
			}
		}
		c.stop(t, p, syscall.SIGKILL)

		// Every node requires TLS of its clients, and mutual TLS on its
		// routes (the cluster formed, so the nodes' certificates passed).
		for _, n := range c.nodes {
			resp, err := httpc.Get(fmt.Sprintf("http://127.0.0.1:%d/varz", n.monitor))
			if err != nil {
				t.Fatal(err)
			}
			var v struct {
				TLSRequired bool `json:"tls_required"`
				Cluster     struct {
					TLSRequired bool `json:"tls_required"`
					TLSVerify   bool `json:"tls_verify"`
				} `json:"cluster"`
			}
			err = json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
			if err != nil || !v.TLSRequired || !v.Cluster.TLSRequired || !v.Cluster.TLSVerify {
				t.Errorf("%s: client TLS required %v, routes TLS required %v, verified %v (%v)", n.name, v.TLSRequired, v.Cluster.TLSRequired, v.Cluster.TLSVerify, err)
			}
		}
	})

	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != before {
		t.Fatalf("refused writes changed the log: %d → %d events", before, info.State.Msgs)
	}
}

// scrape reads a process's /metrics (on its operators' listener, ops)
// into family name → type and the samples' lines.
func scrape(t testing.TB, ops string) (map[string]string, []string) {
	t.Helper()
	resp, err := httpc.Get(ops + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return parseMetrics(resp.Body)
}

// parseMetrics reads Prometheus's text format into family name → type and
// the samples' lines.
func parseMetrics(r io.Reader) (map[string]string, []string) {
	types := map[string]string{}
	var samples []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			if name, typ, ok := strings.Cut(f, " "); ok {
				types[name] = typ
			}
		} else if line != "" && !strings.HasPrefix(line, "#") {
			samples = append(samples, line)
		}
	}
	return types, samples
}

// sample returns the value of the first sample line that starts with
// prefix (metric name and labels as exposed).
func sample(samples []string, prefix string) (float64, bool) {
	for _, s := range samples {
		if rest, ok := strings.CutPrefix(s, prefix); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "{")) {
			f := strings.Fields(s)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			return v, err == nil
		}
	}
	return 0, false
}

// leaseHolder is the instance holding a projection's lease, as admin reads
// it ("" for none).
func leaseHolder(t testing.TB, c *testCluster, projection string) string {
	t.Helper()
	h, err := tryLeaseHolder(t, c, projection)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// tryLeaseHolder is leaseHolder for polling while the cluster recovers.
func tryLeaseHolder(t testing.TB, c *testCluster, projection string) (string, error) {
	t.Helper()
	nc, js := c.connect(t, "admin")
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, engine.LeaseBucket)
	if err != nil {
		return "", err
	}
	e, err := kv.Get(ctx, "projector."+projection)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(e.Value()), nil
}

// holderPID is the process id in an instance name (host-pid-random).
func holderPID(instance string) int {
	f := strings.Split(instance, "-")
	if len(f) < 3 {
		return 0
	}
	pid, _ := strconv.Atoi(f[len(f)-2])
	return pid
}

// activeProjector is the projector process holding the calendar lease.
func activeProjector(t testing.TB, c *testCluster, r *roles) (*proc, *proc) {
	t.Helper()
	pid := holderPID(leaseHolder(t, c, "calendar"))
	for i, p := range r.projectors {
		if p.cmd.Process.Pid == pid {
			return p, r.projectors[1-i]
		}
	}
	t.Fatalf("no running projector holds the lease (holder pid %d)", pid)
	return nil, nil
}

// readyz reads a process's /readyz.
func readyz(t testing.TB, base string) (int, map[string]json.RawMessage) {
	t.Helper()
	resp, err := httpc.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// testNoProjector: with every projector stopped, the feed server still
// answers from its last model, says in /readyz (still 200) and in
// jevents_readmodel_projector_present that the model is not moving, and
// catches up once a projector is back.
func testNoProjector(t *testing.T, c *testCluster, r *roles) {
	for _, p := range r.projectors {
		c.stop(t, p, syscall.SIGTERM) // a clean stop gives the lease up at once
	}
	waitFor(t, 15*time.Second, "feeds report no projector", func() error {
		code, body := readyz(t, r.feeds.base)
		if code != http.StatusOK {
			return fmt.Errorf("/readyz %d: the feed server must keep serving", code)
		}
		if !strings.Contains(string(body["degraded"]), "no projector holds the lease") {
			return fmt.Errorf("/readyz says %s", body["degraded"])
		}
		_, samples := scrape(t, r.feeds.ops)
		if v, ok := sample(samples, `jevents_readmodel_projector_present{projection="calendar"}`); !ok || v != 0 {
			return fmt.Errorf("projector_present %v %v", v, ok)
		}
		return nil
	})
	before, code, err := feedUIDs(r.feeds.base)
	if err != nil || code != http.StatusOK {
		t.Fatalf("feed without projector: %d %v", code, err)
	}
	// Submissions and approvals still work; the feed does not move.
	id, code, err := submitTo(r.intake.base, "no-projector-1", "Accepted while no projector runs")
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("submit without projector: %d %v", code, err)
	}
	waitFor(t, 15*time.Second, "approve without projector", func() error {
		code, err := approveAt(r.editors.base, id)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("status %d", code)
		}
		return err
	})
	if uids, _, _ := feedUIDs(r.feeds.base); len(uids) != len(before) || uids[uidOf(id)] != 0 {
		t.Fatalf("the feed moved without a projector: %d → %d events", len(before), len(uids))
	}

	r.projectors = []*proc{c.launchRole(t, "projector"), c.launchRole(t, "projector")}
	for _, p := range r.projectors {
		c.waitReady(t, p, 90*time.Second)
	}
	waitFor(t, 30*time.Second, "feed catches up", func() error {
		uids, _, err := feedUIDs(r.feeds.base)
		if err == nil && uids[uidOf(id)] != 1 {
			err = errors.New("not yet")
		}
		return err
	})
	waitFor(t, 15*time.Second, "/readyz says the projectors are back", func() error {
		code, body := readyz(t, r.feeds.base)
		if code != http.StatusOK || string(body["degraded"]) != "[]" {
			return fmt.Errorf("%d %s", code, body["degraded"])
		}
		return nil
	})
}

// testFailover: under a bounded submission load (with approvals and feed
// reads running beside it), SIGKILL the stream leader and the active
// projector. Every submission that got a 202 is in the log once, approved
// once, and in the feed once; the standby projector took over; the feed
// server answered every request throughout.
//
// "Throughout" is measured: two readers poll /calendar.ics (with
// If-None-Match) from before the kills until the last check, and every
// answer must be 200 or 304. During the outage those answers come from the
// feed server's last good model.
func testFailover(t *testing.T, c *testCluster, r *roles) {
	const (
		workers = 6
		total   = 240 // submissions accepted in all
		killAt  = 80  // accepted before the kills
	)
	ctx := context.Background()
	var (
		mu         sync.Mutex
		accepted   = map[string]bool{} // id → true
		approved   = map[string]bool{}
		afterKill  time.Time // when the kills happened
		firstAfter time.Duration
		attempts   atomic.Int64
		failures   atomic.Int64 // non-202 answers and transport errors (retried)
		nextKey    atomic.Int64
		toApprove  = make(chan string, total)
		feedStatus sync.Map // status → *atomic.Int64
		feedFailed atomic.Int64
		feedDuring atomic.Int64 // feed answers while the outage lasted
		outage     atomic.Bool
		stopFeeds  = make(chan struct{})
		wg, fwg    sync.WaitGroup
	)
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(accepted)
	}
	// Feed readers.
	for range 2 {
		fwg.Go(func() {
			etag := ""
			for {
				select {
				case <-stopFeeds:
					return
				case <-time.After(20 * time.Millisecond):
				}
				req, _ := http.NewRequest(http.MethodGet, r.feeds.base+"/calendar.ics", nil)
				if etag != "" {
					req.Header.Set("If-None-Match", etag)
				}
				resp, err := httpc.Do(req)
				if err != nil {
					feedFailed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				n, _ := feedStatus.LoadOrStore(resp.StatusCode, new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
				if outage.Load() {
					feedDuring.Add(1)
				}
				switch resp.StatusCode {
				case http.StatusOK:
					etag = resp.Header.Get("ETag")
				case http.StatusNotModified:
				default:
					feedFailed.Add(1)
				}
			}
		})
	}
	// A partner follows the change feed through the kills
	// (cluster_changes_test.go): no change twice or out of order, and in
	// the end the .ics feed's set.
	follower := newChangeFollower(r.feeds.base)
	fwg.Go(func() { follower.follow(stopFeeds) })
	// Submitters: each key is retried until it is accepted; a retry with
	// the same key is the same submission.
	deadline := time.Now().Add(3 * time.Minute)
	for range workers {
		wg.Go(func() {
			for count() < total && time.Now().Before(deadline) {
				key := fmt.Sprintf("failover-%d", nextKey.Add(1))
				for time.Now().Before(deadline) {
					start := time.Now()
					attempts.Add(1)
					id, code, err := submitTo(r.intake.base, key, "Failover "+key)
					if err == nil && code == http.StatusAccepted {
						mu.Lock()
						if !accepted[id] {
							accepted[id] = true
							toApprove <- id
						}
						if !afterKill.IsZero() && start.After(afterKill) && firstAfter == 0 {
							firstAfter = time.Since(afterKill)
						}
						mu.Unlock()
						break
					}
					failures.Add(1)
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	// Approver: every accepted submission is approved, retried with the
	// same key until the editors process says 200.
	var awg sync.WaitGroup
	for range 2 {
		awg.Go(func() {
			for id := range toApprove {
				for end := time.Now().Add(2 * time.Minute); time.Now().Before(end); {
					code, err := approveAt(r.editors.base, id)
					if err == nil && code == http.StatusOK {
						mu.Lock()
						approved[id] = true
						mu.Unlock()
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}

	// The kills.
	waitFor(t, 2*time.Minute, "load under way", func() error {
		if n := count(); n < killAt {
			return fmt.Errorf("%d accepted", n)
		}
		return nil
	})
	_, admin := c.connect(t, "admin")
	st, err := admin.Stream(ctx, domain.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	leaderName := st.CachedInfo().Cluster.Leader
	leader := c.node(leaderName)
	active, standby := activeProjector(t, c, r)
	mu.Lock()
	afterKill = time.Now()
	mu.Unlock()
	outage.Store(true)
	c.killNode(leader)
	c.stop(t, active, syscall.SIGKILL)
	t.Logf("killed stream leader %s and the active projector (pid %d) after %d accepted submissions", leaderName, active.cmd.Process.Pid, count())

	// The standby takes over once the dead holder's lease runs out.
	waitFor(t, 2*engine.DefaultLeaseTTL+30*time.Second, "standby holds the lease", func() error {
		h, err := tryLeaseHolder(t, c, "calendar")
		if err != nil {
			return err
		}
		if pid := holderPID(h); pid != standby.cmd.Process.Pid {
			return fmt.Errorf("holder pid %d", pid)
		}
		_, samples := scrape(t, standby.ops)
		if v, _ := sample(samples, `jevents_projector_active{projection="calendar"}`); v != 1 {
			return errors.New("standby's jevents_projector_active is not 1")
		}
		return nil
	})
	tookOver := time.Since(afterKill)
	outage.Store(false)
	// The killed node comes back on its store and catches up.
	c.restartNode(leader)

	wg.Wait()
	close(toApprove)
	awg.Wait()
	mu.Lock()
	nAccepted, nApproved, first := len(accepted), len(approved), firstAfter
	mu.Unlock()
	if nAccepted < total {
		t.Fatalf("only %d of %d submissions accepted before the deadline", nAccepted, total)
	}
	if nApproved != nAccepted {
		t.Fatalf("%d of %d accepted submissions approved", nApproved, nAccepted)
	}

	// In the log: one submitted and one approved event per conference.
	info, err := st.Info(ctx, jetstream.WithSubjectFilter("events.conference.*.*"))
	if err != nil {
		t.Fatal(err)
	}
	perType := map[string]map[string]uint64{} // type → id → count
	for subj, n := range info.State.Subjects {
		f := strings.Split(subj, ".")
		if perType[f[3]] == nil {
			perType[f[3]] = map[string]uint64{}
		}
		perType[f[3]][f[2]] += n
	}
	for id := range accepted {
		if n := perType["submitted"][id]; n != 1 {
			t.Errorf("conference %s: %d submitted events", id, n)
		}
		if n := perType["approved"][id]; n != 1 {
			t.Errorf("conference %s: %d approved events", id, n)
		}
	}
	for typ, ids := range perType {
		for id, n := range ids {
			if n != 1 {
				t.Errorf("duplicate: %d %s events for %s", n, typ, id)
			}
		}
	}

	// In the feed: every approved conference, once.
	var uids map[string]int
	waitFor(t, time.Minute, "every approved conference in the feed", func() error {
		var err error
		uids, _, err = feedUIDs(r.feeds.base)
		if err != nil {
			return err
		}
		missing := 0
		for id := range accepted {
			if uids[uidOf(id)] == 0 {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d missing", missing)
		}
		return nil
	})
	for uid, n := range uids {
		if n != 1 {
			t.Errorf("feed has %s %d times", uid, n)
		}
	}
	close(stopFeeds)
	fwg.Wait()
	waitFor(t, time.Minute, "the change feed's follower holds the feed's set", follower.matchesFeed)
	t.Logf("change feed follower: %d changes across the kills, %d failed reads retried", follower.seen, follower.errs)

	statuses := map[int]int64{}
	feedStatus.Range(func(k, v any) bool {
		statuses[k.(int)] = v.(*atomic.Int64).Load()
		return true
	})
	if feedFailed.Load() != 0 {
		t.Errorf("%d feed requests failed (statuses %v)", feedFailed.Load(), statuses)
	}
	if feedDuring.Load() == 0 {
		t.Error("no feed request was answered during the outage")
	}
	if first == 0 {
		t.Error("no submission started after the kills was accepted")
	}
	t.Logf("%d submissions accepted (%d attempts, %d retried answers), %d approved, all once in the log and the feed",
		nAccepted, attempts.Load(), failures.Load(), nApproved)
	t.Logf("first accepted submission %v after the kills; standby projector active %v after", first.Round(time.Millisecond), tookOver.Round(time.Millisecond))
	t.Logf("feed answers %v (%d during the outage), %d failed", statuses, feedDuring.Load(), feedFailed.Load())
}

// testConsumerNames: each active projector reads the log through an ordered
// consumer named after it, so `nats consumer report JEVENTS` tells an
// operator which projector reads and how far it has got (deploy/README.md).
func testConsumerNames(t *testing.T, c *testCluster) {
	_, js := c.connect(t, "admin")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	found := map[string]bool{}
	stream, err := js.Stream(ctx, domain.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	names := stream.ConsumerNames(ctx)
	for n := range names.Name() {
		for _, proj := range []string{"calendar", "directory", "review"} {
			if strings.HasPrefix(n, "jevents-projector-"+proj+"-") {
				cons, err := stream.Consumer(ctx, n)
				if err != nil {
					t.Fatal(err)
				}
				if md := cons.CachedInfo().Config.Metadata; md["jevents_projection"] != proj || md["jevents_instance"] == "" {
					t.Errorf("consumer %s: metadata %v", n, md)
				}
				found[proj] = true
			}
		}
	}
	if err := names.Err(); err != nil {
		t.Fatal(err)
	}
	if len(found) != 3 {
		t.Errorf("named projector consumers for %v, want calendar, directory and review", found)
	}
	// As deploy/README.md shows it: the NATS CLI's consumer report names
	// them.
	bin, err := exec.LookPath("nats")
	if err != nil {
		t.Fatal("the NATS CLI is not installed: run scripts/install-test-deps.sh (make test does)")
	}
	home := t.TempDir()
	cmd := exec.Command(bin, "consumer", "report", domain.StreamName, "--server", c.urls(), "--nkey", c.seeds["admin"], "--tlsca", c.caFile)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "jevents-projector-calendar-") {
		t.Errorf("nats consumer report: %v\n%s", err, out)
	}
}

// testSessionsAcrossEditors: two editors processes with the same
// --server-secret-file and the sessions bucket setup made: a session
// opened on one is accepted by the other, and signing out on the other
// ends it on the first at once (the copied cookie too).
func testSessionsAcrossEditors(t *testing.T, c *testCluster, r *roles) {
	second := c.launchRole(t, "editors")
	c.waitReady(t, second, 90*time.Second)
	cookie, csrf := signInAt(t, r.editors.base, token)
	page := func(base string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/moderation", nil)
		req.Header.Set("Cookie", cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := page(second.base); st != 200 || !strings.Contains(body, `name="csrf"`) || strings.Contains(body, `action="/moderation/sign-in"`) {
		t.Fatalf("the other editors process refuses the session: %d", st)
	}
	form := url.Values{"csrf": {csrf}}
	req, _ := http.NewRequest(http.MethodPost, second.base+"/moderation/sign-out", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "You have signed out") {
		t.Fatalf("sign out on the other process: %d\n%s", resp.StatusCode, b)
	}
	if _, body := page(r.editors.base); !strings.Contains(body, "Your session has ended") {
		t.Fatal("the first editors process still accepts a session signed out on the other")
	}
}

// signInAt signs in on the editors' page of base with token and returns
// the session's Cookie header and its forms' CSRF token.
func signInAt(t *testing.T, base, tok string) (cookie, csrf string) {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	field := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	get := func(cookie string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, base+"/moderation", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("")
	m := field.FindStringSubmatch(body)
	var formCookie string
	for _, ck := range resp.Cookies() {
		if ck.Name == "jevents_form" {
			formCookie = ck.Name + "=" + ck.Value
		}
	}
	if m == nil || formCookie == "" {
		t.Fatalf("sign-in page: %d", resp.StatusCode)
	}
	form := url.Values{"csrf": {m[1]}, "next": {"/moderation"}, "token": {tok}}
	// A 503 says the sessions bucket could not answer in time (its R3
	// stream may be electing a leader after another subtest's SIGKILL):
	// the editor signs in again a moment later, as the page asks.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		req, _ := http.NewRequest(http.MethodPost, base+"/moderation/sign-in", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", formCookie)
		var err error
		if resp, err = client.Do(req); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			break
		}
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "jevents_editor" && ck.Value != "" {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	if resp.StatusCode != http.StatusSeeOther || cookie == "" {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	_, body = get(cookie)
	if m = field.FindStringSubmatch(body); m == nil {
		t.Fatal("no CSRF token on the queue after signing in")
	}
	return cookie, m[1]
}

// testWebhookRefused: editors register a webhook subscription (their user
// appends it), a projector's deliverer reads it from the log and tries it
// (its user writes the delivery log into jevents_webhooks), and refuses
// the target — "localhost" resolves to a loopback address and the cluster
// runs without --webhook-allow-private — at dial time; the editors read
// the delivery log. Then the subscription is removed.
func testWebhookRefused(t *testing.T, r *roles) {
	t.Helper()
	editorsDo := func(method, path, body string) (int, []byte) {
		req, _ := http.NewRequest(method, r.editors.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := httpc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, b := editorsDo("POST", "/api/v1/webhooks", `{"url":"http://127.0.0.1:9/hook"}`); code != http.StatusUnprocessableEntity {
		t.Errorf("a literal loopback target: %d %s", code, b)
	}
	code, b := editorsDo("POST", "/api/v1/webhooks", `{"url":"http://localhost:9/hook","filter":"topic=courts"}`)
	if code != http.StatusCreated {
		t.Fatalf("register a webhook: %d %s\n%s", code, b, r.editors.logs)
	}
	var sub struct{ ID string }
	_ = json.Unmarshal(b, &sub)
	// A change of the topic for the deliverer to try.
	id, code, err := submitTo(r.intake.base, "webhook-refused-1", "Webhook refused")
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("submit: %d %v", code, err)
	}
	waitFor(t, 30*time.Second, "approve through editors", func() error {
		code, err := approveAt(r.editors.base, id)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("status %d", code)
		}
		return err
	})
	waitFor(t, 60*time.Second, "the delivery refused and logged", func() error {
		code, b := editorsDo("GET", "/api/v1/webhooks/"+sub.ID+"/deliveries", "")
		if code != http.StatusOK || !strings.Contains(string(b), "refused") {
			return fmt.Errorf("deliveries: %d %s", code, b)
		}
		return nil
	})
	refused := 0.0
	for _, p := range r.projectors {
		_, samples := scrape(t, p.ops)
		v, _ := sample(samples, `jevents_webhook_deliveries_total{outcome="refused"}`)
		refused += v
	}
	if refused < 1 {
		t.Errorf("no projector counted a refused delivery")
	}
	if code, b := editorsDo("DELETE", "/api/v1/webhooks/"+sub.ID, ""); code != http.StatusOK {
		t.Errorf("remove: %d %s", code, b)
	}
}
