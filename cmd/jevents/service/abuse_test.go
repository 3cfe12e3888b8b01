package service_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/internal/admission"
	"github.com/justiceevents/jevents/internal/embednats"
)

// metricValue reads one sample from a process's operators' listener (0
// when absent).
func metricValue(t *testing.T, svc *service.Service, sample string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + svc.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// startFeeds starts a feeds-role process on the NATS server of a (the
// deployment's separate feed server).
func startFeeds(t *testing.T, a *app) *app {
	t.Helper()
	cfg := service.Config{Roles: []service.Role{service.RoleFeeds}, NATS: a.svc.NATSURL(), HTTP: "127.0.0.1:0",
		NATSAuth:  service.NATSAuth{NKeyFile: filepath.Join(a.dir, embednats.SeedFile)},
		PublicURL: "https://events.test", Replicas: 1}
	s, err := service.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := &app{t: t, svc: s, base: "http://" + s.HTTPAddr()}
	t.Cleanup(f.stop)
	f.waitReady()
	return f
}

func bigSubmission(i int) map[string]any {
	s := validSubmission()
	s["title"] = fmt.Sprintf("Pending flood %d", i)
	s["description"] = strings.Repeat("Flood text that nobody will ever publish. ", 230) // ~10,000 characters
	s["contact"] = map[string]any{"email": fmt.Sprintf("flood%d@example.org", i)}
	return s
}

// TestPendingFloodDoesNotReachFeedServer: a feeds-role replica holds
// published conferences only — a flood of pending submissions, projected
// and queued for editors, leaves its size where it was — while the editors'
// queue holds every one; an approval reaches it.
func TestPendingFloodDoesNotReachFeedServer(t *testing.T) {
	a := startAppWith(t, t.TempDir(), func(c *service.Config) {
		c.Intake = admission.Config{PerAddress: -1, PerContact: -1, Quota: -1, QuotaBytes: -1}
	})
	f := startFeeds(t, a)
	var published []string
	for i := range 3 {
		s := validSubmission()
		s["title"] = fmt.Sprintf("Published %d", i)
		rec := a.submit(s, "")
		a.waitQueued(rec.ID)
		a.approve(rec.ID)
		published = append(published, rec.ID)
	}
	keys := `jevents_readmodel_replica_keys{projection="calendar"}`
	bytes := `jevents_readmodel_replica_value_bytes{projection="calendar"}`
	wait := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("timed out: %s", what)
			}
		}
	}
	wait("the feed server holds the published ones", func() bool { return metricValue(t, f.svc, keys) == 3 })
	before := metricValue(t, f.svc, bytes)

	const flood = 200
	var last string
	for i := range flood {
		last = a.submit(bigSubmission(i), "").ID
	}
	wait("the editors' queue holds the flood", func() bool {
		return metricValue(t, a.svc, `jevents_readmodel_replica_keys{projection="review"}`) == flood
	})
	seq := metricValue(t, a.svc, `jevents_readmodel_replica_sequence{projection="calendar"}`)
	wait("the feed server saw the flood's checkpoint", func() bool {
		return metricValue(t, f.svc, `jevents_readmodel_replica_sequence{projection="calendar"}`) >= seq
	})
	if k, b := metricValue(t, f.svc, keys), metricValue(t, f.svc, bytes); k != 3 || b != before {
		t.Fatalf("after %d pending submissions the feed server holds %v records, %v bytes (was 3, %v)", flood, k, b, before)
	}
	// The all-in-one process's public replica did not take them either.
	if k := metricValue(t, a.svc, keys); k != 3 {
		t.Fatalf("the all-in-one process's calendar replica holds %v records", k)
	}
	// An approval reaches the feed server.
	a.approve(last)
	wait("an approval reaches the feed server", func() bool { return metricValue(t, f.svc, keys) == 4 })
	if r := f.do("GET", "/api/v1/conferences/"+last, nil, nil); r.status != http.StatusOK {
		t.Fatalf("the approved conference on the feed server: %d", r.status)
	}
}

// TestIntakeGate: per address (also behind a trusted proxy, per forwarded
// client), then the quota shared by everyone: 429 with Retry-After and a
// problem document saying why; an .ics file is admitted or refused whole;
// refusals append nothing; editors still decide.
func TestIntakeGate(t *testing.T) {
	a := startAppWith(t, t.TempDir(), func(c *service.Config) {
		c.Intake = admission.Config{Window: time.Hour, PerAddress: 4, PerContact: -1, Quota: 10, QuotaBytes: -1}
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	from := func(client string) map[string]string { return map[string]string{"X-Forwarded-For": client} }
	var ids []string
	for i := range 4 {
		s := validSubmission()
		s["title"] = fmt.Sprintf("From one address %d", i)
		r := a.do("POST", "/api/v1/conferences", from("203.0.113.1"), s)
		if r.status != http.StatusAccepted {
			t.Fatalf("submission %d: %d %s", i, r.status, r.body)
		}
		var rec receipt
		r.json(t, &rec)
		ids = append(ids, rec.ID)
	}
	n := a.streamMessages()
	r := a.do("POST", "/api/v1/conferences", from("203.0.113.1"), validSubmission())
	var p struct {
		Title, Detail string
		Status        int
	}
	r.json(t, &p)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || p.Status != 429 ||
		!strings.Contains(p.Detail, "this address may submit 4") || r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("past the address's limit: %d %v %s", r.status, r.header, r.body)
	}
	// An .ics of 5 VEVENTs from a fresh client: more than its address may,
	// refused whole.
	ics := icsFile(5)
	r = a.do("POST", "/api/v1/conferences?contact=org@example.org&topic=courts&format=online",
		map[string]string{"X-Forwarded-For": "203.0.113.2", "Content-Type": "text/calendar"}, ics)
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("a 5-event file from an address allowed 4: %d %s", r.status, r.body)
	}
	// Three of them fit the address; the quota (10) has 6 left.
	r = a.do("POST", "/api/v1/conferences?contact=org@example.org&topic=courts&format=online",
		map[string]string{"X-Forwarded-For": "203.0.113.2", "Content-Type": "text/calendar"}, icsFile(3))
	if r.status != http.StatusAccepted {
		t.Fatalf("a 3-event file: %d %s", r.status, r.body)
	}
	for i, client := range []string{"203.0.113.3", "203.0.113.4", "203.0.113.5", "203.0.113.6"} {
		s := validSubmission()
		s["title"] = fmt.Sprintf("From client %d", i)
		r = a.do("POST", "/api/v1/conferences", from(client), s)
		if i < 3 && r.status != http.StatusAccepted {
			t.Fatalf("client %d: %d %s", i, r.status, r.body)
		}
	}
	p.Detail = ""
	r.json(t, &p)
	if r.status != http.StatusTooManyRequests || !strings.Contains(p.Detail, "from everyone together") {
		t.Fatalf("past the quota: %d %s", r.status, r.body)
	}
	if m := a.streamMessages(); m != n+3+3 {
		t.Fatalf("the log grew by %d events, want 6 (refusals append nothing)", m-n)
	}
	// Editors are not limited by the public's quota.
	a.waitQueued(ids[0])
	if r := a.do("POST", "/api/v1/conferences/"+ids[0]+"/reject", editor, nil); r.status != http.StatusOK {
		t.Fatalf("an editor's rejection past the quota: %d %s", r.status, r.body)
	}
	// A retry of an accepted submission is not counted again.
	if m := metricValue(t, a.svc, `jevents_intake_admission_events_total{outcome="quota",source="api"}`); m < 1 {
		t.Fatalf("quota refusals not counted: %v", m)
	}
}

// icsFile is an .ics file of n events next year.
func icsFile(n int) []byte {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n")
	y := time.Now().Year() + 1
	for i := range n {
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:gate-%d-%d@test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:%d0%d01\r\nDTEND;VALUE=DATE:%d0%d02\r\nSUMMARY:File event %d %d\r\nEND:VEVENT\r\n",
			n, i, y, 1+i%9, y, 1+i%9, n, i)
	}
	b.WriteString("END:VCALENDAR\r\n")
	return []byte(b.String())
}

// TestReserveKeptForEditors: once the log nears its budget, submissions
// are refused with 507 saying why, and editors' commands still fit.
func TestReserveKeptForEditors(t *testing.T) {
	a := startAppWith(t, t.TempDir(), func(c *service.Config) {
		c.LogMaxBytes = 2 << 20
		c.Intake = admission.Config{PerAddress: -1, PerContact: -1, Quota: -1, QuotaBytes: -1, Reserve: 1 << 20}
		c.NoSeed = true
	})
	var ids []string
	var refused response
	for i := 0; i < 200; i++ {
		r := a.do("POST", "/api/v1/conferences", nil, bigSubmission(i))
		if r.status == http.StatusInsufficientStorage {
			refused = r
			break
		}
		if r.status != http.StatusAccepted {
			t.Fatalf("submission %d: %d %s", i, r.status, r.body)
		}
		var rec receipt
		r.json(t, &rec)
		ids = append(ids, rec.ID)
		time.Sleep(time.Duration(i%20) * time.Millisecond) // let the gate see the stream grow
	}
	if refused.status == 0 || !bytes.Contains(refused.body, []byte("kept for the editors")) {
		t.Fatalf("no 507 before the reserve: %d submissions accepted", len(ids))
	}
	for end := time.Now().Add(20 * time.Second); metricValue(t, a.svc, `jevents_readmodel_replica_keys{projection="review"}`) != float64(len(ids)); {
		if time.Now().After(end) {
			t.Fatal("the queue never held the submissions")
		}
		time.Sleep(20 * time.Millisecond)
	}
	body, _ := json.Marshal(map[string]any{"ids": ids, "reason": "flood"})
	r := a.do("POST", "/api/v1/moderation/reject", editor, body)
	var res struct {
		Rejected []json.RawMessage `json:"rejected"`
	}
	r.json(t, &res)
	if r.status != http.StatusOK || len(res.Rejected) != len(ids) {
		t.Fatalf("editors' bulk rejection within the reserve: %d, %d of %d rejected: %s", r.status, len(res.Rejected), len(ids), r.body)
	}
}

// TestBulkReject: every pending submission of one organiser at once, or a
// selection; each its own event; decided ones are skipped.
func TestBulkReject(t *testing.T) {
	a := startAppWith(t, t.TempDir(), func(c *service.Config) {
		c.Intake = admission.Config{PerAddress: -1, PerContact: -1, Quota: -1, QuotaBytes: -1}
	})
	var flood, other []string
	for i := range 6 {
		s := validSubmission()
		s["title"] = fmt.Sprintf("Junk %d", i)
		s["contact"] = map[string]any{"email": "Spammer@Example.org"}
		flood = append(flood, a.submit(s, "").ID)
	}
	for i := range 3 {
		s := validSubmission()
		s["title"] = fmt.Sprintf("Real %d", i)
		other = append(other, a.submit(s, "").ID)
	}
	a.waitQueued(other[2])
	a.waitQueued(flood[5])
	a.approve(other[0])
	r := a.do("POST", "/api/v1/moderation/reject", editor, map[string]any{"contact_of": flood[2], "reason": "spam"})
	var res struct {
		Rejected []struct{ ID, Status string } `json:"rejected"`
		Skipped  []struct{ ID, Reason string } `json:"skipped"`
	}
	r.json(t, &res)
	if r.status != http.StatusOK || len(res.Rejected) != 6 {
		t.Fatalf("by contact: %d %s", r.status, r.body)
	}
	for _, x := range res.Rejected {
		if x.Status != "rejected" {
			t.Fatalf("%+v", x)
		}
	}
	r = a.do("POST", "/api/v1/moderation/reject", editor, map[string]any{"ids": []string{other[0], other[1], flood[0], "00000000-0000-4000-8000-000000000000"}})
	r.json(t, &res)
	if r.status != http.StatusOK || len(res.Rejected) != 1 || res.Rejected[0].ID != other[1] || len(res.Skipped) != 3 {
		t.Fatalf("a selection: %d %s", r.status, r.body)
	}
	if r := a.do("POST", "/api/v1/moderation/reject", nil, map[string]any{"ids": flood}); r.status != http.StatusUnauthorized {
		t.Fatalf("without a token: %d", r.status)
	}
	// Each rejection is its own event in the conference's history.
	r = a.do("GET", "/api/v1/conferences/"+flood[3]+"/history", editor, nil)
	if r.status != http.StatusOK || !bytes.Contains(r.body, []byte("conference.rejected.v1")) || !bytes.Contains(r.body, []byte("spam")) {
		t.Fatalf("history: %d %s", r.status, r.body)
	}
	// The queue holds what is left.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r = a.do("GET", "/api/v1/moderation/queue", editor, nil)
		var q struct{ Total int }
		r.json(t, &q)
		if q.Total == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue: %s", r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOperatorsListener: /metrics and Go's profiles (/debug/pprof/) are on
// the operators' listener only; /healthz and /readyz answer on both.
func TestOperatorsListener(t *testing.T) {
	a := startApp(t, t.TempDir())
	ops := "http://" + a.svc.MetricsAddr()
	for _, c := range []struct {
		url  string
		want int
	}{{a.base + "/metrics", 404}, {ops + "/metrics", 200}, {a.base + "/healthz", 200}, {ops + "/healthz", 200},
		{a.base + "/readyz", 200}, {ops + "/readyz", 200}, {ops + "/calendar.ics", 404},
		{a.base + "/debug/pprof/", 404}, {a.base + "/debug/pprof/heap", 404}, {a.base + "/debug/pprof/profile?seconds=1", 404},
		{ops + "/debug/pprof/", 200}, {ops + "/debug/pprof/heap", 200}, {ops + "/debug/pprof/goroutine?debug=1", 200}} {
		resp, err := http.Get(c.url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s: %d, want %d", c.url, resp.StatusCode, c.want)
		}
	}
}
