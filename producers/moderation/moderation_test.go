package moderation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/auth/authtest"
	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/producers/moderation"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const editorToken = "moderation-test-Qm7Zr2Kx9Vt4Lp8Wc3Nb6Hd"

// fixture is a moderation producer on a real log, with the conferences the
// test submitted.
type fixture struct {
	js    jetstream.JetStream
	log   *eventlog.Log
	mod   *moderation.Moderation
	queue *logQueue
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	_, _, js := natstest.Start(t)
	if _, err := eventlog.EnsureStream(context.Background(), js, eventlog.StreamConfig{MaxBytes: 64 << 20}); err != nil {
		t.Fatal(err)
	}
	l := eventlog.New(js, nil)
	q := &logQueue{log: l}
	return &fixture{js: js, log: l, mod: moderation.New(l, q, quiet, nil), queue: q}
}

// submit appends a valid submission, as intake would, and returns its id.
func (f *fixture) submit(t *testing.T, id, title, email string) {
	t.Helper()
	allDay := true
	sub, err := domain.ValidateSubmission(domain.SubmissionInput{
		Title: title, Description: "About " + title, Start: "2031-06-12", End: "2031-06-13", AllDay: &allDay,
		Location: &domain.LocationInput{City: "Baltimore", Region: "MD"}, Format: "in_person",
		URL: "https://example.org/" + id, Topics: []string{"courts"}, Sponsors: []string{"OVC"},
		Contact: &domain.Contact{Name: "Pat", Email: email},
	}, time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	env, err := domain.NewEnvelope("sub-"+id, id, "public", time.Now(), domain.ConferenceSubmitted{
		Details: sub.Details, Contact: sub.Contact, Source: "api", RequestHash: sub.Hash()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.Append(context.Background(), env, "sub-"+id, 0); err != nil {
		t.Fatal(err)
	}
	f.queue.add(id)
}

func (f *fixture) conference(t *testing.T, id string) (*domain.Conference, []domain.Record) {
	t.Helper()
	c, recs, err := eventlog.Fold[domain.Conference](context.Background(), f.log, id)
	if err != nil {
		t.Fatal(err)
	}
	return c, recs
}

func (f *fixture) events(t *testing.T) uint64 {
	t.Helper()
	s, err := f.js.Stream(context.Background(), domain.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// logQueue is the moderation queue read from the log itself, for the
// producer's tests (an editors' process reads it from the review read
// model): the submitted conferences still pending, oldest first.
type logQueue struct {
	log *eventlog.Log
	mu  sync.Mutex
	ids []string
}

func (q *logQueue) add(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ids = append(q.ids, id)
}

func (q *logQueue) pending() []*domain.Conference {
	q.mu.Lock()
	ids := slices.Clone(q.ids)
	q.mu.Unlock()
	var out []*domain.Conference
	for _, id := range ids {
		c, _, err := eventlog.Fold[domain.Conference](context.Background(), q.log, id)
		if err == nil && c.Status == domain.StatusPending {
			out = append(out, c)
		}
	}
	return out
}

func view(c *domain.Conference) moderation.Pending {
	return moderation.Pending{ID: c.ID, Version: c.Version, Submitted: c.Created, Title: c.Details.Title}
}

func (q *logQueue) Page(afterSubmitted time.Time, afterID string, limit int) ([]moderation.Pending, int) {
	var out []moderation.Pending
	for _, c := range q.pending() {
		out = append(out, view(c))
	}
	return out[:min(limit, len(out))], len(out)
}

func (q *logQueue) Len() int { return len(q.pending()) }

func (q *logQueue) Place(id string) (time.Time, bool) {
	for _, c := range q.pending() {
		if c.ID == id {
			return c.Created, true
		}
	}
	return time.Time{}, false
}

func (q *logQueue) ByContact(email string, limit int) ([]moderation.Pending, int) {
	var out []moderation.Pending
	for _, c := range q.pending() {
		if strings.EqualFold(c.Contact.Email, email) {
			out = append(out, view(c))
		}
	}
	return out[:min(limit, len(out))], len(out)
}

func (q *logQueue) Similar(domain.ConferenceDetails, string, int) ([]moderation.Pending, []string) {
	return nil, nil
}

// TestDecisions: each decision is decided on the conference as the log
// holds it: approve and reject a pending one, cancel a published one;
// anything else is a TransitionError and appends nothing; an unknown
// conference is not found.
func TestDecisions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.submit(t, "c1", "One", "pat@example.org")
	f.submit(t, "c2", "Two", "pat@example.org")
	ed := moderation.Command{Editor: "ada"}

	c1, _ := f.conference(t, "c1")
	res, err := f.mod.Decide(ctx, moderation.Command{ID: "c1", IfMatch: c1.Version, Editor: "ada"}, moderation.Approve, "looks right")
	if err != nil || res.Status != domain.StatusApproved || res.ID != "c1" || res.Version <= c1.Version {
		t.Fatalf("approve: %+v %v", res, err)
	}
	after, recs := f.conference(t, "c1")
	if after.Status != domain.StatusApproved || after.Version != res.Version || recs[len(recs)-1].Actor != "ada" {
		t.Fatalf("c1 after approval: %+v, actor %q", after, recs[len(recs)-1].Actor)
	}
	ed.ID = "c2"
	if res, err := f.mod.Decide(ctx, ed, moderation.Reject, "not a criminal-justice conference"); err != nil || res.Status != domain.StatusRejected {
		t.Fatalf("reject: %+v %v", res, err)
	}
	ed.ID = "c1"
	if res, err := f.mod.Decide(ctx, ed, moderation.Cancel, "venue closed"); err != nil || res.Status != domain.StatusCancelled {
		t.Fatalf("cancel: %+v %v", res, err)
	}

	before := f.events(t)
	for _, tc := range []struct {
		id string
		d  moderation.Decision
	}{{"c1", moderation.Approve}, {"c2", moderation.Approve}, {"c2", moderation.Cancel}, {"c1", moderation.Reject}} {
		var te *domain.TransitionError
		if _, err := f.mod.Decide(ctx, moderation.Command{ID: tc.id, Editor: "ada"}, tc.d, ""); !errors.As(err, &te) {
			t.Fatalf("%s %s: %v, want a TransitionError", tc.d, tc.id, err)
		}
	}
	if _, err := f.mod.Decide(ctx, moderation.Command{ID: "nobody", Editor: "ada"}, moderation.Approve, ""); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown conference: %v", err)
	}
	if n := f.events(t); n != before {
		t.Fatalf("refused decisions appended %d events", n-before)
	}
}

// TestDecideVersionAndRetries: a decision based on a version that is no
// longer current is refused and appends nothing; a retry with the same
// key appends nothing and answers what the first attempt did, also after
// other changes landed; without a version, a decision is taken on the
// current state.
func TestDecideVersionAndRetries(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.submit(t, "c1", "One", "pat@example.org")
	c, _ := f.conference(t, "c1")
	edit, err := f.mod.Edit(ctx, moderation.Command{ID: "c1", IfMatch: c.Version, Editor: "bob"}, []byte(`{"title": "One, renamed"}`))
	if err != nil || len(edit.Changed) != 1 || edit.Changed[0] != "title" {
		t.Fatalf("edit: %+v %v", edit, err)
	}
	before := f.events(t)
	var ve *domain.VersionError
	_, err = f.mod.Decide(ctx, moderation.Command{ID: "c1", IfMatch: c.Version, Editor: "ada", Key: "k1"}, moderation.Approve, "")
	if !errors.As(err, &ve) || ve.Current != edit.Version {
		t.Fatalf("stale approval: %v, want a VersionError naming %d", err, edit.Version)
	}
	if f.events(t) != before {
		t.Fatal("a stale approval appended")
	}

	cmd := moderation.Command{ID: "c1", Editor: "ada", Key: "k2"} // no version: the current one
	first, err := f.mod.Decide(ctx, cmd, moderation.Approve, "fine")
	if err != nil || first.Status != domain.StatusApproved {
		t.Fatalf("approve: %+v %v", first, err)
	}
	again, err := f.mod.Decide(ctx, cmd, moderation.Approve, "fine")
	if err != nil || !reflect.DeepEqual(again, first) {
		t.Fatalf("retry: %+v %v, want %+v", again, err, first)
	}
	if _, err := f.mod.Decide(ctx, moderation.Command{ID: "c1", Editor: "ada"}, moderation.Cancel, "moved online"); err != nil {
		t.Fatal(err)
	}
	late, err := f.mod.Decide(ctx, cmd, moderation.Approve, "fine")
	if err != nil || late.ID != "c1" {
		t.Fatalf("retry after a cancellation: %+v %v, want the approval answered as done", late, err)
	}
	if n := f.events(t) - before; n != 2 {
		t.Fatalf("%d events appended, want 2 (the approval once, the cancellation)", n)
	}
	// The same key with another command is another command.
	var te *domain.TransitionError
	if _, err := f.mod.Decide(ctx, cmd, moderation.Reject, "fine"); !errors.As(err, &te) {
		t.Fatalf("another command under the same key: %v, want it decided (and refused: cancelled)", err)
	}
}

// TestEdit: an edit needs the version it is based on; it replaces the
// fields it names, keeps the others, is validated as a submission, and an
// edit that changes nothing appends nothing.
func TestEdit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.submit(t, "c1", "One", "pat@example.org")
	c, _ := f.conference(t, "c1")
	cmd := moderation.Command{ID: "c1", Editor: "bob"}
	if _, err := f.mod.Edit(ctx, cmd, []byte(`{"title": "X"}`)); !errors.Is(err, domain.ErrPreconditionRequired) {
		t.Fatalf("edit without a version: %v", err)
	}
	cmd.IfMatch = c.Version
	before := f.events(t)
	var val *domain.ValidationError
	if _, err := f.mod.Edit(ctx, cmd, []byte(`{"title": "", "url": "not a url"}`)); !errors.As(err, &val) || len(val.Fields) != 2 {
		t.Fatalf("invalid edit: %v", err)
	}
	var he *httpapi.Error
	if _, err := f.mod.Edit(ctx, cmd, []byte(`{"nonsense": 1}`)); !errors.As(err, &he) || he.Status != http.StatusBadRequest {
		t.Fatalf("unknown field: %v", err)
	}
	if res, err := f.mod.Edit(ctx, cmd, []byte(`{"title": "One"}`)); err != nil || res.Version != c.Version || len(res.Changed) != 0 {
		t.Fatalf("edit that changes nothing: %+v %v", res, err)
	}
	if f.events(t) != before {
		t.Fatal("refused or empty edits appended")
	}
	res, err := f.mod.Edit(ctx, cmd, []byte(`{"title": "One, renamed", "topics": ["courts", "reentry"]}`))
	if err != nil || !slices.Equal(res.Changed, []string{"title", "topics"}) {
		t.Fatalf("edit: %+v %v", res, err)
	}
	after, _ := f.conference(t, "c1")
	d := after.Details
	if d.Title != "One, renamed" || !slices.Equal(d.Topics, []string{"courts", "reentry"}) || d.Description != c.Details.Description ||
		d.URL != c.Details.URL || d.Start != c.Details.Start || d.Location != c.Details.Location || after.Contact != c.Contact {
		t.Fatalf("after the edit: %+v\nbefore: %+v", after, c)
	}
}

// TestRejectMany: a bulk rejection rejects each pending conference with
// its own event, skips what is not pending or unknown, selects an
// organiser's conferences by one of them, and appends nothing on a retry.
func TestRejectMany(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := range 6 {
		f.submit(t, fmt.Sprintf("s%d", i), fmt.Sprintf("Spam %d", i), "spam@example.org")
	}
	f.submit(t, "good", "Good", "pat@example.org")
	if _, err := f.mod.Decide(ctx, moderation.Command{ID: "s5", Editor: "ada"}, moderation.Approve, ""); err != nil {
		t.Fatal(err)
	}
	ids, more, err := f.mod.Select(ctx, moderation.BulkRequest{ContactOf: "s0"})
	if err != nil || more != 0 || len(ids) != 5 || slices.Contains(ids, "good") {
		t.Fatalf("select by contact: %v %d %v", ids, more, err)
	}
	ids = append(ids, "s5", "nobody")
	res, err := f.mod.RejectMany(ctx, ids, "spam", "ada", "bulk-1")
	if err != nil || len(res.Rejected) != 5 || len(res.Skipped) != 2 {
		t.Fatalf("reject many: %+v %v", res, err)
	}
	for _, id := range []string{"s0", "s1", "s2", "s3", "s4"} {
		c, recs := f.conference(t, id)
		if c.Status != domain.StatusRejected || recs[len(recs)-1].Actor != "ada" {
			t.Fatalf("%s: %s by %q", id, c.Status, recs[len(recs)-1].Actor)
		}
	}
	if c, _ := f.conference(t, "good"); c.Status != domain.StatusPending {
		t.Fatalf("another organiser's conference: %s", c.Status)
	}
	before := f.events(t)
	again, err := f.mod.RejectMany(ctx, ids, "spam", "ada", "bulk-1")
	if err != nil || len(again.Rejected) != 5 || f.events(t) != before {
		t.Fatalf("retry: %+v %v, %d events appended", again, err, f.events(t)-before)
	}
	var val *domain.ValidationError
	if _, err := f.mod.RejectMany(ctx, []string{"good"}, strings.Repeat("x", 5000), "ada", ""); !errors.As(err, &val) {
		t.Fatalf("a bad reason: %v, want the whole request refused", err)
	}
	if c, _ := f.conference(t, "good"); c.Status != domain.StatusPending {
		t.Fatal("a refused bulk rejection rejected something")
	}
}

// TestApproveMany: a bulk approval approves each pending conference with
// its own event and the note, skips what was decided, and appends nothing
// on a retry.
func TestApproveMany(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := range 4 {
		f.submit(t, fmt.Sprintf("g%d", i), fmt.Sprintf("Good %d", i), "pat@example.org")
	}
	if _, err := f.mod.Decide(ctx, moderation.Command{ID: "g3", Editor: "ada"}, moderation.Reject, "no"); err != nil {
		t.Fatal(err)
	}
	ids := []string{"g0", "g1", "g2", "g3", "nobody"}
	res, err := f.mod.DecideMany(ctx, ids, moderation.Approve, "welcome", "ada", "bulk-a")
	if err != nil || len(res.Approved) != 3 || len(res.Rejected) != 0 || len(res.Skipped) != 2 {
		t.Fatalf("approve many: %+v %v", res, err)
	}
	for _, id := range ids[:3] {
		c, recs := f.conference(t, id)
		last := recs[len(recs)-1]
		if c.Status != domain.StatusApproved || last.Actor != "ada" || last.Event.(domain.ConferenceApproved).Note != "welcome" {
			t.Fatalf("%s: %s by %q", id, c.Status, last.Actor)
		}
	}
	before := f.events(t)
	if again, err := f.mod.DecideMany(ctx, ids, moderation.Approve, "welcome", "ada", "bulk-a"); err != nil || len(again.Approved) != 3 || f.events(t) != before {
		t.Fatalf("retry: %+v %v, %d events appended", again, err, f.events(t)-before)
	}
	if _, err := f.mod.DecideMany(ctx, ids, moderation.Cancel, "", "ada", ""); err == nil {
		t.Fatal("a bulk cancellation was accepted")
	}
}

// TestAPI: the editors' routes over HTTP: 401 without an editor, the
// decision and the edit with their version in the ETag, 428 for an edit
// without If-Match, 409 for a stale one, 400 for the contact, and the
// editors' view of a conference with its contact.
func TestAPI(t *testing.T) {
	f := newFixture(t)
	f.submit(t, "c1", "One", "pat@example.org")
	gate := authtest.Gate(t, f.js, "editor:"+editorToken)
	mux := http.NewServeMux()
	if err := httpapi.Handle(mux, f.mod.Routes(), gate, quiet); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gate.Identify(mux, httpapi.Refuse(quiet)))
	t.Cleanup(srv.Close)
	do := func(method, path, token, ifMatch, body string) (int, http.Header, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	for _, route := range [][2]string{
		{"GET", "/api/v1/moderation/queue"}, {"POST", "/api/v1/conferences/c1/approve"}, {"POST", "/api/v1/conferences/c1/reject"},
		{"POST", "/api/v1/conferences/c1/cancel"}, {"PATCH", "/api/v1/conferences/c1"}, {"GET", "/api/v1/moderation/conferences/c1"},
		{"POST", "/api/v1/moderation/reject"},
	} {
		for _, token := range []string{"", "not-the-token-Zx8Qm4Kr7Vt2Lp9Wc5Nb3Hd"} {
			if code, h, _ := do(route[0], route[1], token, "", ""); code != http.StatusUnauthorized || h.Get("WWW-Authenticate") == "" {
				t.Fatalf("%s %s with token %q: %d", route[0], route[1], token, code)
			}
		}
	}
	if n := f.events(t); n != 1 {
		t.Fatalf("refused requests appended %d events", n-1)
	}

	code, _, body := do("GET", "/api/v1/moderation/conferences/c1", editorToken, "", "")
	var v moderation.ConferenceView
	if err := json.Unmarshal(body, &v); code != http.StatusOK || err != nil || v.Contact.Email != "pat@example.org" {
		t.Fatalf("editors' view: %d %s", code, body)
	}
	version := fmt.Sprint(v.Version)
	if code, _, body := do("PATCH", "/api/v1/conferences/c1", editorToken, "", `{"title": "New"}`); code != http.StatusPreconditionRequired {
		t.Fatalf("edit without If-Match: %d %s", code, body)
	}
	if code, _, body := do("PATCH", "/api/v1/conferences/c1", editorToken, version, `{"contact": {"email": "x@example.org"}}`); code != http.StatusBadRequest {
		t.Fatalf("edit of the contact: %d %s", code, body)
	}
	code, h, body := do("PATCH", "/api/v1/conferences/c1", editorToken, `"`+version+`"`, `{"title": "New"}`)
	var res moderation.Result
	if err := json.Unmarshal(body, &res); code != http.StatusOK || err != nil || h.Get("ETag") != fmt.Sprintf("%q", fmt.Sprint(res.Version)) {
		t.Fatalf("edit: %d %v %s", code, h, body)
	}
	if code, _, body := do("POST", "/api/v1/conferences/c1/approve", editorToken, version, ""); code != http.StatusConflict {
		t.Fatalf("stale approval: %d %s", code, body)
	}
	code, _, body = do("POST", "/api/v1/conferences/c1/approve", editorToken, fmt.Sprint(res.Version), `{"reason": "ok"}`)
	if err := json.Unmarshal(body, &res); code != http.StatusOK || err != nil || res.Status != domain.StatusApproved {
		t.Fatalf("approval: %d %s", code, body)
	}
	if _, recs := f.conference(t, "c1"); recs[len(recs)-1].Actor != "editor" {
		t.Fatalf("the approval's actor is %q, want the token's editor", recs[len(recs)-1].Actor)
	}
}
