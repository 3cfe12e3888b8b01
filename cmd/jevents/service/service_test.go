package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/domain"
)

const editorToken = "test-editor-Wq4Zx9Kr2Vm7Pt3Lb8Nc5Hj"

// app is one running service in a test.
type app struct {
	t    *testing.T
	svc  *service.Service
	base string
	dir  string
}

// startApp boots the service as `jevents serve` would, on free ports with
// its data in dir.
func startApp(t *testing.T, dir string) *app {
	t.Helper()
	cfg := service.Config{
		DataDir:     dir,
		NATSListen:  "127.0.0.1:0",
		HTTP:        "127.0.0.1:0",
		PublicURL:   "https://events.test",
		EditorToken: editorToken,
	}
	return bootApp(t, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// bootApp starts the service with cfg, logging to log, stops it when the
// test ends, and waits until it is ready.
func bootApp(t *testing.T, cfg service.Config, log *slog.Logger) *app {
	t.Helper()
	s, err := service.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := &app{t: t, svc: s, base: "http://" + s.HTTPAddr(), dir: cfg.DataDir}
	t.Cleanup(func() { a.stop() })
	a.waitReady()
	return a
}

func (a *app) stop() {
	if a.svc != nil {
		if err := a.svc.Close(); err != nil {
			a.t.Errorf("close: %v", err)
		}
		a.svc = nil
	}
}

func (a *app) waitReady() {
	a.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(a.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.t.Fatal("service never became ready")
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (a *app) do(method, path string, header map[string]string, body any) response {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

var editor = map[string]string{"Authorization": "Bearer " + editorToken}

// nextYear is a date well inside the accepted range.
func nextYear(month, day int) string {
	return fmt.Sprintf("%d-%02d-%02d", time.Now().Year()+1, month, day)
}

func validSubmission() map[string]any {
	return map[string]any{
		"title":       "National Conference on Human Trafficking",
		"description": "Three days of training for investigators, prosecutors and victim advocates.",
		"start":       nextYear(6, 12),
		"end":         nextYear(6, 14),
		"all_day":     true,
		"location":    map[string]any{"venue": "Convention Center", "city": "Baltimore", "region": "MD", "country": "US"},
		"format":      "in_person",
		"url":         "https://example.org/conference",
		"sponsors":    []string{"Office for Victims of Crime"},
		"topics":      []string{"trafficking-in-persons", "victims-of-crime"},
		"contact":     map[string]any{"name": "Pat Organiser", "email": "pat@example.org"},
	}
}

type receipt struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Version   uint64 `json:"version"`
	Duplicate bool   `json:"duplicate"`
}

func (a *app) submit(body any, key string) receipt {
	a.t.Helper()
	h := map[string]string{}
	if key != "" {
		h["Idempotency-Key"] = key
	}
	r := a.do("POST", "/api/v1/conferences", h, body)
	if r.status != http.StatusAccepted {
		a.t.Fatalf("submit: %d %s", r.status, r.body)
	}
	var rec receipt
	r.json(a.t, &rec)
	if rec.Status != "pending" || rec.ID == "" || rec.Version == 0 {
		a.t.Fatalf("receipt %+v", rec)
	}
	return rec
}

// waitQueued polls the moderation queue until it lists id.
func (a *app) waitQueued(id string) {
	a.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := a.do("GET", "/api/v1/moderation/queue", editor, nil)
		if r.status == http.StatusOK && bytes.Contains(r.body, []byte(id)) {
			return
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("the queue never listed %s: %d %s", id, r.status, r.body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (a *app) approve(id string) {
	a.t.Helper()
	if r := a.do("POST", "/api/v1/conferences/"+id+"/approve", editor, nil); r.status != http.StatusOK {
		a.t.Fatalf("approve: %d %s", r.status, r.body)
	}
}

// feedEvents polls path until cond holds for its events, and returns them.
func (a *app) feedEvents(path string, cond func([]goical.Event) bool) ([]goical.Event, response) {
	a.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := a.do("GET", path, nil, nil)
		if r.status != http.StatusOK {
			a.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
		cal, err := goical.NewDecoder(bytes.NewReader(r.body)).Decode()
		if err != nil {
			a.t.Fatalf("feed does not parse: %v\n%s", err, r.body)
		}
		evs := cal.Events()
		if cond(evs) {
			return evs, r
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("feed %s never met the condition; it has %d events", path, len(evs))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func hasUID(uid string) func([]goical.Event) bool {
	return func(evs []goical.Event) bool {
		for _, e := range evs {
			if p := e.Props.Get(goical.PropUID); p != nil && p.Value == uid {
				return true
			}
		}
		return false
	}
}

// streamMessages counts the events in the log.
func (a *app) streamMessages() uint64 {
	a.t.Helper()
	nc, err := service.ConnectLocal(a.dir, "test")
	if err != nil {
		a.t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(context.Background(), domain.StreamName)
	if err != nil {
		a.t.Fatal(err)
	}
	return s.CachedInfo().State.Msgs
}

func text(t *testing.T, e goical.Event, prop string) string {
	t.Helper()
	p := e.Props.Get(prop)
	if p == nil {
		t.Fatalf("event has no %s", prop)
	}
	s, err := p.Text()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSubmitApproveAndSubscribe(t *testing.T) {
	a := startApp(t, t.TempDir())
	rec := a.submit(validSubmission(), "")
	uid := rec.ID + "@events.test"

	// Pending conferences are never public: once the read model holds it
	// (the editors' queue lists it), the public still cannot see it.
	a.waitQueued(rec.ID)
	if r := a.do("GET", "/api/v1/conferences/"+rec.ID, nil, nil); r.status != http.StatusNotFound {
		t.Fatalf("pending conference visible to the public: %d", r.status)
	}
	a.feedEvents("/calendar.ics", func(evs []goical.Event) bool { return !hasUID(uid)(evs) })

	a.approve(rec.ID)
	evs, r := a.feedEvents("/calendar.ics", hasUID(uid))
	if ct := r.header.Get("Content-Type"); ct != "text/calendar; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	e := evs[0]
	if got := text(t, e, goical.PropSummary); got != "National Conference on Human Trafficking" {
		t.Fatalf("SUMMARY %q", got)
	}
	if got := text(t, e, goical.PropDescription); !strings.HasPrefix(got, "Three days of training") || !strings.Contains(got, "Office for Victims of Crime") {
		t.Fatalf("DESCRIPTION %q", got)
	}
	if p := e.Props.Get(goical.PropDateTimeStart); p.Value != strings.ReplaceAll(nextYear(6, 12), "-", "") || p.Params.Get("VALUE") != "DATE" {
		t.Fatalf("DTSTART %+v", p)
	}
	if p := e.Props.Get(goical.PropDateTimeEnd); p.Value != strings.ReplaceAll(nextYear(6, 15), "-", "") {
		t.Fatalf("DTEND %+v: all-day ends are exclusive", p)
	}
	if strings.Contains(string(r.body), "pat@example.org") {
		t.Fatal("the contact e-mail is in the public feed")
	}

	// Validators: the same bytes answer 304 to a client that has them.
	etag := r.header.Get("ETag")
	if etag == "" || r.header.Get("Last-Modified") == "" {
		t.Fatalf("missing validators: %v", r.header)
	}
	if r2 := a.do("GET", "/calendar.ics", map[string]string{"If-None-Match": etag}, nil); r2.status != http.StatusNotModified {
		t.Fatalf("conditional GET: %d", r2.status)
	}
	// The public API shows the published conference without the contact.
	pub := a.do("GET", "/api/v1/conferences/"+rec.ID, nil, nil)
	if pub.status != http.StatusOK || bytes.Contains(pub.body, []byte("pat@example.org")) {
		t.Fatalf("public API: %d %s", pub.status, pub.body)
	}
}

func TestIdempotencyKeyMakesRetriesSafe(t *testing.T) {
	a := startApp(t, t.TempDir())
	first := a.submit(validSubmission(), "retry-key-1")
	before := a.streamMessages()
	again := a.submit(validSubmission(), "retry-key-1")
	if again.ID != first.ID || again.Version != first.Version || first.Duplicate || !again.Duplicate {
		t.Fatalf("a retry was not answered as the same submission: %+v, then %+v", first, again)
	}
	if after := a.streamMessages(); after != before {
		t.Fatalf("a retry appended %d event(s)", after-before)
	}
	// The same key for a different submission is refused.
	other := validSubmission()
	other["title"] = "Another conference"
	if r := a.do("POST", "/api/v1/conferences", map[string]string{"Idempotency-Key": "retry-key-1"}, other); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("reused key: %d %s", r.status, r.body)
	}
	if after := a.streamMessages(); after != before {
		t.Fatal("a refused request appended")
	}
}

func TestConflictingEditsHaveOneWinner(t *testing.T) {
	a := startApp(t, t.TempDir())
	rec := a.submit(validSubmission(), "")
	version := fmt.Sprintf("%q", fmt.Sprint(rec.Version))
	h := map[string]string{"Authorization": "Bearer " + editorToken, "If-Match": version}
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range 2 {
		wg.Go(func() {
			codes[i] = a.do("PATCH", "/api/v1/conferences/"+rec.ID, h, map[string]any{"title": fmt.Sprint("Edited by ", i)}).status
		})
	}
	wg.Wait()
	ok, conflict := 0, 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusConflict:
			conflict++
		}
	}
	if ok != 1 || conflict != 1 {
		t.Fatalf("codes %v: want one 200 and one 409", codes)
	}
	// A stale version appends nothing.
	before := a.streamMessages()
	r := a.do("PATCH", "/api/v1/conferences/"+rec.ID, h, map[string]any{"title": "Too late"})
	if r.status != http.StatusConflict || r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("stale edit: %d %s", r.status, r.body)
	}
	if a.streamMessages() != before {
		t.Fatal("a stale edit appended")
	}
}

func TestEditorsOnly(t *testing.T) {
	a := startApp(t, t.TempDir())
	rec := a.submit(validSubmission(), "")
	before := a.streamMessages()
	for _, h := range []map[string]string{nil, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": editorToken}} {
		for _, path := range []string{"/approve", "/reject", "/cancel"} {
			r := a.do("POST", "/api/v1/conferences/"+rec.ID+path, h, nil)
			if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" {
				t.Fatalf("%s with %v: %d", path, h, r.status)
			}
		}
		if r := a.do("GET", "/api/v1/moderation/queue", h, nil); r.status != http.StatusUnauthorized {
			t.Fatalf("queue with %v: %d", h, r.status)
		}
	}
	if a.streamMessages() != before {
		t.Fatal("an unauthorised command appended")
	}
	// Editors see the queue, with the organiser's contact.
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := a.do("GET", "/api/v1/moderation/queue", editor, nil)
		if r.status == http.StatusOK && bytes.Contains(r.body, []byte(rec.ID)) {
			if !bytes.Contains(r.body, []byte("pat@example.org")) {
				t.Fatalf("queue without contact: %s", r.body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue never listed %s: %s", rec.ID, r.body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestInvalidSubmissionsAppendNothing(t *testing.T) {
	a := startApp(t, t.TempDir())
	with := func(k string, v any) map[string]any {
		s := validSubmission()
		if v == nil {
			delete(s, k)
		} else {
			s[k] = v
		}
		return s
	}
	tests := []struct {
		name   string
		body   any
		status int
		fields []string
	}{
		{"no title", with("title", nil), 422, []string{"title"}},
		{"title too long", with("title", strings.Repeat("é", domain.MaxTitleLength+1)), 422, []string{"title"}},
		{"title of control characters only", with("title", "\u202e\x00\x07"), 422, []string{"title"}},
		{"end before start", with("end", nextYear(6, 1)), 422, []string{"end"}},
		{"too long", with("end", nextYear(8, 30)), 422, []string{"end"}},
		{"far past", func() map[string]any {
			s := with("start", "2001-01-01")
			s["end"] = "2001-01-02"
			return s
		}(), 422, []string{"start"}},
		{"not a date", with("start", "next tuesday"), 422, []string{"start"}},
		{"javascript url", with("url", "javascript:alert(1)"), 422, []string{"url"}},
		{"ftp url", with("url", "ftp://example.org/x"), 422, []string{"url"}},
		{"unknown topic", with("topics", []string{"gardening"}), 422, []string{"topics[0]"}},
		{"no topics", with("topics", []string{}), 422, []string{"topics"}},
		{"unknown state", with("location", map[string]any{"city": "X", "region": "ZZ"}), 422, []string{"location.region"}},
		{"no contact", with("contact", nil), 422, []string{"contact.email"}},
		{"bad email", with("contact", map[string]any{"email": "pat at example"}), 422, []string{"contact.email"}},
		{"bad format", with("format", "telepathy"), 422, []string{"format"}},
		{"timed without zone", func() map[string]any {
			s := with("all_day", false)
			s["start"], s["end"] = nextYear(6, 12)+"T09:00", nextYear(6, 12)+"T17:00"
			return s
		}(), 422, []string{"timezone"}},
		{"time that does not exist", func() map[string]any {
			s := with("all_day", false)
			s["start"], s["end"], s["timezone"] = "2027-03-14T02:30", "2027-03-14T05:00", "America/New_York"
			return s
		}(), 422, []string{"start"}},
		{"several at once", map[string]any{"title": "", "start": "x", "format": "?", "topics": []string{}}, 422,
			[]string{"title", "start", "format", "topics", "contact.email"}},
		{"unknown field", with("organiser_phone", "555"), 400, []string{"organiser_phone"}},
		{"wrong type", with("topics", "trafficking-in-persons"), 400, []string{"topics"}},
		{"malformed json", `{"title": `, 400, nil},
		{"too large", strings.Repeat(" ", 70<<10) + "{}", 413, nil},
	}
	before := a.streamMessages()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do("POST", "/api/v1/conferences", nil, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type %q", ct)
			}
			var p struct {
				Status int `json:"status"`
				Errors []struct {
					Field string `json:"field"`
				} `json:"errors"`
			}
			r.json(t, &p)
			got := map[string]bool{}
			for _, f := range p.Errors {
				got[f.Field] = true
			}
			for _, f := range tc.fields {
				if !got[f] {
					t.Fatalf("no error for %s in %s", f, r.body)
				}
			}
		})
	}
	if a.streamMessages() != before {
		t.Fatal("an invalid submission appended")
	}
}

func TestHostileTextComesBackAsSubmitted(t *testing.T) {
	a := startApp(t, t.TempDir())
	title := "Conférence \"internationale\"; <b>Law</b>, Order \\ Justice — 人身売買と闘うための国際会議 🚨⚖️ " + strings.Repeat("長い題名", 8)
	desc := "Line one\r\nLine two\rLine three\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil@x\r\nATTENDEE:mailto:x@evil\n<script>alert(1)</script> a literal \\n stays; commas, too"
	s := validSubmission()
	s["title"], s["description"] = title, desc
	rec := a.submit(s, "")
	a.approve(rec.ID)
	evs, r := a.feedEvents("/calendar.ics", hasUID(rec.ID+"@events.test"))
	if len(evs) != 1 {
		t.Fatalf("%d events in the feed, want 1: text injected an event", len(evs))
	}
	if got := text(t, evs[0], goical.PropSummary); got != title {
		t.Fatalf("SUMMARY\n got %q\nwant %q", got, title)
	}
	want := domain.CleanText(desc) // line breaks normalised to LF, nothing else
	if got := text(t, evs[0], goical.PropDescription); !strings.HasPrefix(got, want+"\n\n") {
		t.Fatalf("DESCRIPTION\n got %q\nwant prefix %q", got, want)
	}
	if len(evs[0].Props.Values(goical.PropAttendee)) > 0 || bytes.Contains(r.body, []byte("\r\nATTENDEE")) {
		t.Fatal("text injected a property")
	}
	for _, line := range bytes.Split(r.body, []byte("\r\n")) {
		if len(line) > 75 {
			t.Fatalf("line of %d octets: %q", len(line), line)
		}
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir)
	rec := a.submit(validSubmission(), "")
	a.approve(rec.ID)
	pending := a.submit(validSubmission(), "second")
	_, before := a.feedEvents("/calendar.ics", hasUID(rec.ID+"@events.test"))
	a.stop()

	b := startApp(t, dir)
	_, after := b.feedEvents("/calendar.ics", hasUID(rec.ID+"@events.test"))
	if !bytes.Equal(before.body, after.body) || before.header.Get("ETag") != after.header.Get("ETag") {
		t.Fatal("the feed changed across a restart")
	}
	if r := b.do("GET", "/api/v1/moderation/conferences/"+pending.ID, editor, nil); r.status != http.StatusOK {
		t.Fatalf("pending conference lost across a restart: %d", r.status)
	}
}

// TestRetryIsTheSameSubmissionAfterTheDirectoryChanges: a sponsor name
// that the directory learns between a submission and its retry links on
// the retry, and the retry is still answered as the same submission.
func TestRetryIsTheSameSubmissionAfterTheDirectoryChanges(t *testing.T) {
	a := startApp(t, t.TempDir())
	s := validSubmission()
	s["sponsors"] = []string{"Polaris Project"}
	first := a.submit(s, "retry-across-directory-change")
	if r := a.do("POST", "/api/v1/resources", editor, map[string]any{
		"name": "Polaris Project", "kind": "organization", "description": "A non-profit that fights trafficking.",
		"topics": []string{"trafficking-in-persons"},
	}); r.status != http.StatusCreated && r.status != http.StatusOK {
		t.Fatalf("add resource: %d %s", r.status, r.body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for a.do("GET", "/api/v1/resources/polaris-project", nil, nil).status != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the directory never listed the new resource")
		}
		time.Sleep(10 * time.Millisecond)
	}
	again := a.submit(s, "retry-across-directory-change")
	if again.ID != first.ID || !again.Duplicate {
		t.Fatalf("the retry was not the same submission: %+v, then %+v", first, again)
	}
}

// TestEditorRetriesAreSafe: an approval or an edit retried with the same
// Idempotency-Key is answered as done, even though the conference has
// moved on; another command under the same key is a new command.
func TestEditorRetriesAreSafe(t *testing.T) {
	a := startApp(t, t.TempDir())
	rec := a.submit(validSubmission(), "")
	h := map[string]string{"Authorization": "Bearer " + editorToken, "Idempotency-Key": "approve-once"}
	first := a.do("POST", "/api/v1/conferences/"+rec.ID+"/approve", h, nil)
	if first.status != http.StatusOK {
		t.Fatalf("approve: %d %s", first.status, first.body)
	}
	before := a.streamMessages()
	if again := a.do("POST", "/api/v1/conferences/"+rec.ID+"/approve", h, nil); again.status != http.StatusOK {
		t.Fatalf("retried approve: %d %s", again.status, again.body)
	}
	h["Idempotency-Key"] = "edit-once"
	h["If-Match"] = first.header.Get("ETag")
	edit := map[string]any{"title": "Retitled"}
	if r := a.do("PATCH", "/api/v1/conferences/"+rec.ID, h, edit); r.status != http.StatusOK {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	if r := a.do("PATCH", "/api/v1/conferences/"+rec.ID, h, edit); r.status != http.StatusOK {
		t.Fatalf("retried edit (stale If-Match, same key): %d %s", r.status, r.body)
	}
	if got := a.streamMessages(); got != before+1 {
		t.Fatalf("retries appended: %d events after the approval, want 1 (the edit)", got-before)
	}
	// The same key with another command is not a retry.
	edit["title"] = "Retitled again"
	if r := a.do("PATCH", "/api/v1/conferences/"+rec.ID, h, edit); r.status != http.StatusConflict {
		t.Fatalf("another edit under a used key and a stale version: %d %s", r.status, r.body)
	}
}

// TestQueueCursorSurvivesDecisions: the next page follows the previous
// page's last conference even after an editor decided it.
func TestQueueCursorSurvivesDecisions(t *testing.T) {
	a := startApp(t, t.TempDir())
	var ids []string
	for i := range 3 {
		s := validSubmission()
		s["title"] = fmt.Sprint("Queued conference ", i)
		ids = append(ids, a.submit(s, "").ID)
	}
	for _, id := range ids {
		a.waitQueued(id)
	}
	page := func(after string) []string {
		r := a.do("GET", "/api/v1/moderation/queue?limit=1&after="+after, editor, nil)
		var p struct {
			Items []struct{ ID string } `json:"items"`
		}
		r.json(t, &p)
		var out []string
		for _, it := range p.Items {
			out = append(out, it.ID)
		}
		return out
	}
	// The queue's own order (submission time, then id).
	var order []string
	var all struct {
		Items []struct{ ID string } `json:"items"`
	}
	a.do("GET", "/api/v1/moderation/queue", editor, nil).json(t, &all)
	for _, it := range all.Items {
		order = append(order, it.ID)
	}
	if len(order) != 3 {
		t.Fatalf("queue %v, want the 3 submissions", order)
	}
	a.approve(order[0])
	deadline := time.Now().Add(10 * time.Second)
	for bytes.Contains(a.do("GET", "/api/v1/moderation/queue", editor, nil).body, []byte(order[0])) {
		if time.Now().After(deadline) {
			t.Fatal("the approved conference stayed in the queue")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := page(order[0]); len(got) != 1 || got[0] != order[1] {
		t.Fatalf("page after a decided conference: %v, want [%s]", got, order[1])
	}
	if r := a.do("GET", "/api/v1/moderation/queue?after=no-such-conference", editor, nil); r.status != http.StatusBadRequest {
		t.Fatalf("unknown cursor: %d", r.status)
	}
}
