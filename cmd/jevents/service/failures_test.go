package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/admission"
)

// adminJS connects to the app's embedded server as an operator would with
// the nats CLI: the one place these tests reach NATS behind the service.
func (a *app) adminJS() jetstream.JetStream {
	a.t.Helper()
	nc, err := service.ConnectLocal(a.dir, "admin") // the data directory's credentials
	if err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		a.t.Fatal(err)
	}
	return js
}

// readyz returns /readyz's status and body.
func (a *app) readyz() (int, map[string]json.RawMessage) {
	a.t.Helper()
	r := a.do("GET", "/readyz", nil, nil)
	var body map[string]json.RawMessage
	r.json(a.t, &body)
	return r.status, body
}

// waitReadyz polls /readyz until cond holds.
func (a *app) waitReadyz(what string, cond func(int, map[string]json.RawMessage) bool) {
	a.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := a.readyz()
		if cond(code, body) {
			return
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("/readyz never %s: %d %v", what, code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metric returns the value of one series of /metrics ("" when absent).
func (a *app) metric(series string) string {
	a.t.Helper()
	resp, err := http.Get("http://" + a.svc.MetricsAddr() + "/metrics") // the operators' listener
	if err != nil {
		a.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

// TestRemovedAndRecreatedStream: with the stream removed under a running
// service, a submission answers 503 with Retry-After within seconds (it
// used to hang for good), an approval 503 (it answered 500), and /readyz
// 503 naming the missing stream (it stayed 200). Once an operator creates
// the stream again, the service notices that it is another log: it
// rebuilds its read models from it, a new submission reaches the queue
// and the feeds, and nothing of the old log lingers in them.
func TestRemovedAndRecreatedStream(t *testing.T) {
	a := startApp(t, t.TempDir())
	old := a.submit(validSubmission(), "before-the-reset")
	a.waitQueued(old.ID)
	a.approve(old.ID)
	uidOld := old.ID + "@events.test"
	a.feedEvents("/calendar.ics", hasUID(uidOld))
	js := a.adminJS()

	// An operator removes the stream.
	if err := js.DeleteStream(context.Background(), domain.StreamName); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := a.do("POST", "/api/v1/conferences", map[string]string{"Idempotency-Key": "during-the-gap"}, validSubmission())
	if took := time.Since(start); r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || took > 3*time.Second {
		t.Fatalf("submission without a stream: %d after %v, Retry-After %q: %s", r.status, took, r.header.Get("Retry-After"), r.body)
	}
	if !strings.Contains(r.header.Get("Content-Type"), "problem+json") || !bytes.Contains(r.body, []byte("same Idempotency-Key")) {
		t.Fatalf("503 body: %s", r.body)
	}
	if r := a.do("POST", "/api/v1/conferences/"+old.ID+"/cancel", editor, nil); r.status != http.StatusServiceUnavailable {
		t.Fatalf("cancel without a stream: %d %s", r.status, r.body)
	}
	if r := a.do("GET", "/api/v1/conferences/"+old.ID+"/history", editor, nil); r.status != http.StatusServiceUnavailable {
		t.Fatalf("history without a stream: %d %s", r.status, r.body)
	}
	a.waitReadyz("said the stream is missing", func(code int, body map[string]json.RawMessage) bool {
		return code == http.StatusServiceUnavailable && strings.Contains(string(body["waiting_for"]), "does not exist")
	})
	if v := a.metric(`jevents_health_problem{problem="stream_missing"}`); v != "1" {
		t.Fatalf("jevents_health_problem{stream_missing} = %q", v)
	}
	// Feeds go on from the last model meanwhile.
	a.feedEvents("/calendar.ics", hasUID(uidOld))

	// The operator creates it again (what `jevents setup` does).
	if _, err := service.Setup(context.Background(), js, service.SetupConfig{Replicas: 1, LogMaxBytes: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	a.waitReadyz("became ready again", func(code int, _ map[string]json.RawMessage) bool { return code == http.StatusOK })
	fresh := a.submit(validSubmission(), "after-the-reset")
	a.waitQueued(fresh.ID)
	a.approve(fresh.ID)
	evs, _ := a.feedEvents("/calendar.ics", hasUID(fresh.ID+"@events.test"))
	if hasUID(uidOld)(evs) {
		t.Fatal("the feed still shows a conference of the removed log")
	}
	if r := a.do("GET", "/api/v1/conferences/"+old.ID, nil, nil); r.status != http.StatusNotFound {
		t.Fatalf("the old log's conference is still served: %d", r.status)
	}
	if r := a.do("GET", "/api/v1/moderation/queue", editor, nil); bytes.Contains(r.body, []byte(old.ID)) {
		t.Fatal("the queue still lists a conference of the removed log")
	}
	// Only one generation of each read model is stored: the rebuilt one.
	for name := range js.KeyValueStoreNames(context.Background()).Name() {
		if strings.HasSuffix(name, "_1") && (strings.HasPrefix(name, "calendar") || strings.HasPrefix(name, "directory")) {
			t.Fatalf("the generation folded from the removed log is still stored: %s", name)
		}
	}
	if v := a.metric(`jevents_projector_stream_replaced{projection="calendar"}`); v != "0" {
		t.Fatalf("jevents_projector_stream_replaced = %q after the rebuild", v)
	}
}

// TestFullLogAnswers507AndSaysSo: at the byte budget a submission answers
// 507 with what to do and nothing stored, /readyz stays 200 (feeds and
// reads go on) and lists the full log under degraded, the gauge
// jevents_health_problem{problem="log_full"} is 1, and the budget's use is
// visible before (jevents_stream_bytes against jevents_stream_max_bytes).
// Raising the budget (`jevents setup --log-max-bytes`) brings it back
// without a restart, and the retry of a refused request is stored once.
func TestFullLogAnswers507AndSaysSo(t *testing.T) {
	a := startAppWith(t, t.TempDir(), func(c *service.Config) {
		c.LogMaxBytes = 1 << 20
		c.NoSeed = true
		// The log itself fills here: the intake gate and its editors'
		// reserve, which would stop the public first, are off.
		c.Intake = admission.Config{PerAddress: -1, PerContact: -1, Quota: -1, QuotaBytes: -1, Reserve: -1}
	})
	big := validSubmission()
	big["description"] = strings.Repeat("A long description. ", 150)
	var refusedKey string
	var sawEighty bool
	for i := 0; i < 2000; i++ {
		if i%10 == 0 && ratio(a) >= 0.8 {
			sawEighty = true
		}
		key := fmt.Sprint("fill-", i)
		r := a.do("POST", "/api/v1/conferences", map[string]string{"Idempotency-Key": key}, withTitle(big, key))
		if r.status == http.StatusAccepted {
			continue
		}
		if r.status != http.StatusInsufficientStorage || !bytes.Contains(r.body, []byte("Event log full")) ||
			!bytes.Contains(r.body, []byte("--log-max-bytes")) {
			t.Fatalf("submission %d on a full log: %d %s", i, r.status, r.body)
		}
		refusedKey = key
		break
	}
	if refusedKey == "" {
		t.Fatal("the log never filled")
	}
	if !sawEighty {
		t.Fatal("the metrics never showed the log at 80 % of its budget before it was full")
	}
	before := a.streamMessages()
	a.waitReadyz("listed the full log", func(code int, body map[string]json.RawMessage) bool {
		return code == http.StatusOK && strings.Contains(string(body["degraded"]), "budget")
	})
	if v := a.metric(`jevents_health_problem{problem="log_full"}`); v != "1" {
		t.Fatalf("jevents_health_problem{log_full} = %q", v)
	}
	if a.streamMessages() != before {
		t.Fatal("a refused submission was stored")
	}
	// Reads go on.
	if r := a.do("GET", "/calendar.ics", nil, nil); r.status != http.StatusOK {
		t.Fatalf("feed on a full log: %d", r.status)
	}

	// The operator raises the budget.
	if _, err := service.Setup(context.Background(), a.adminJS(), service.SetupConfig{Replicas: 1, LogMaxBytes: 4 << 20}); err != nil {
		t.Fatal(err)
	}
	a.waitReadyz("cleared the full log", func(code int, body map[string]json.RawMessage) bool {
		return code == http.StatusOK && !strings.Contains(string(body["degraded"]), "budget")
	})
	rec := a.submit(withTitle(big, refusedKey), refusedKey)
	if rec.Duplicate {
		t.Fatal("the refused request was stored after all")
	}
	if again := a.submit(withTitle(big, refusedKey), refusedKey); !again.Duplicate || again.ID != rec.ID {
		t.Fatalf("retry: %+v, want the duplicate of %+v", again, rec)
	}
	// It reaches the read model: approved, it is served.
	a.approve(rec.ID)
	a.waitFor("/api/v1/conferences/"+rec.ID, nil, func(r response) bool { return r.status == http.StatusOK })
}

func withTitle(s map[string]any, title string) map[string]any {
	out := map[string]any{}
	for k, v := range s {
		out[k] = v
	}
	out["title"] = "Conference " + title
	return out
}

// ratio is the log's use of its budget as the metrics say it.
func ratio(a *app) float64 {
	var used, budget float64
	fmt.Sscan(a.metric("jevents_stream_bytes"), &used)
	fmt.Sscan(a.metric("jevents_stream_max_bytes"), &budget)
	if budget == 0 {
		return 0
	}
	return used / budget
}
