package resources_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/auth/authtest"
	"github.com/justiceevents/jevents/internal/natstest"
	"github.com/justiceevents/jevents/producers/resources"
)

const editorToken = "resources-test-Zr8Wm3Kq7Xp2Vt9Ln4Hc6Jb"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fixture is a producer on a real embedded NATS server, behind a real HTTP
// server with the editors' middleware.
type fixture struct {
	t    *testing.T
	js   jetstream.JetStream
	p    *resources.Producer
	base string
}

func start(t *testing.T) *fixture {
	t.Helper()
	_, _, js := natstest.Start(t)
	if _, err := eventlog.EnsureStream(context.Background(), js, eventlog.StreamConfig{MaxBytes: 64 << 20}); err != nil {
		t.Fatal(err)
	}
	p := resources.New(eventlog.New(js, nil), quiet, nil)
	gate := authtest.Gate(t, js, "editor:"+editorToken)
	mux := http.NewServeMux()
	if err := httpapi.Handle(mux, p.Routes(), gate, quiet); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gate.Identify(mux, httpapi.Refuse(quiet)))
	t.Cleanup(srv.Close)
	return &fixture{t: t, js: js, p: p, base: srv.URL}
}

// events is the number of events in the log.
func (f *fixture) events() uint64 {
	f.t.Helper()
	s, err := f.js.Stream(context.Background(), domain.StreamName)
	if err != nil {
		f.t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return info.State.Msgs
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (f *fixture) do(method, path string, header map[string]string, body string) response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.base+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+editorToken)
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, b}
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

// TestSeedTwiceAddsFourteenOnce: the first seed adds the 14 published
// entries; the second adds nothing and appends nothing.
func TestSeedTwiceAddsFourteenOnce(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	first, err := f.p.Seed(ctx, resources.Published())
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Added) != 14 || len(first.Existing) != 0 {
		t.Fatalf("first seed: %+v", first)
	}
	if n := f.events(); n != 14 {
		t.Fatalf("%d events after the first seed, want 14", n)
	}
	second, err := f.p.Seed(ctx, resources.Published())
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Added) != 0 || !slices.Equal(second.Existing, first.Added) {
		t.Fatalf("second seed: %+v", second)
	}
	if n := f.events(); n != 14 {
		t.Fatalf("%d events after the second seed, want 14", n)
	}
	// An editor's change survives a later seed: it only ever adds.
	r, _, err := f.p.Load(ctx, "ovc")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Retire(ctx, "ovc", "test", r.Version, "editor", ""); err != nil {
		t.Fatal(err)
	}
	third, err := f.p.Seed(ctx, resources.Published())
	if err != nil || len(third.Added) != 0 {
		t.Fatalf("third seed: %+v, %v", third, err)
	}
	if r, _, _ := f.p.Load(ctx, "ovc"); !r.Retired {
		t.Fatal("seeding restored a retired resource")
	}
	recs, err := eventlog.New(f.js, nil).Load(ctx, domain.AggregateResource, "orr")
	if err != nil || len(recs) != 1 || recs[0].Actor != resources.ActorSeed {
		t.Fatalf("orr's events: %+v, %v", recs, err)
	}
	if e := recs[0].Event.(domain.ResourceAdded); e.Source != "seed" || e.Details.Phones[0].Number != "1-866-401-5510" {
		t.Fatalf("orr seeded as %+v", e)
	}
}

// TestAddIsCreateOnce: the same content again is the same resource; other
// content under a taken id is a conflict; nothing more is appended.
func TestAddIsCreateOnce(t *testing.T) {
	f := start(t)
	body := `{"name":"National Center for Missing & Exploited Children","short_name":"NCMEC","kind":"organization",
		"topics":["victims-of-crime"],"phones":[{"number":"1-800-843-5678","label":"CyberTipline"}]}`
	r := f.do("POST", "/api/v1/resources", nil, body)
	if r.status != http.StatusCreated || r.header.Get("Location") != "/api/v1/resources/ncmec" {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	res := decode[resources.Result](t, r)
	if res.ID != "ncmec" || res.Status != "active" || res.Version == 0 || r.header.Get("ETag") == "" {
		t.Fatalf("add answered %+v", res)
	}
	again := f.do("POST", "/api/v1/resources", nil, body)
	if again.status != http.StatusOK || !decode[resources.Result](t, again).Duplicate {
		t.Fatalf("repeat: %d %s", again.status, again.body)
	}
	other := f.do("POST", "/api/v1/resources", nil, `{"name":"Something else","short_name":"NCMEC","kind":"agency","topics":["courts"]}`)
	if other.status != http.StatusConflict {
		t.Fatalf("taken id: %d %s", other.status, other.body)
	}
	chosen := f.do("POST", "/api/v1/resources", nil, `{"id":"ncmec-2","name":"Something else","short_name":"NCMEC","kind":"agency","topics":["courts"]}`)
	if chosen.status != http.StatusCreated || decode[resources.Result](t, chosen).ID != "ncmec-2" {
		t.Fatalf("chosen id: %d %s", chosen.status, chosen.body)
	}
	if n := f.events(); n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
}

// TestInvalidRequestsAppendNothing: every refused request is problem+json
// with the right status, and the log stays as it was.
func TestInvalidRequestsAppendNothing(t *testing.T) {
	f := start(t)
	if _, err := f.p.Seed(context.Background(), resources.Published()); err != nil {
		t.Fatal(err)
	}
	before := f.events()
	tests := []struct {
		name, method, path string
		header             map[string]string
		body               string
		status             int
		fields             []string
	}{
		{"no token", "POST", "/api/v1/resources", map[string]string{"Authorization": ""}, `{}`, 401, nil},
		{"wrong token", "PATCH", "/api/v1/resources/ovc", map[string]string{"Authorization": "Bearer nope-nope-nope-nope-nope", "If-Match": "8"}, `{}`, 401, nil},
		{"invalid fields", "POST", "/api/v1/resources", nil,
			`{"name":"","kind":"club","url":"ftp://x","topics":["astrology"],"phones":[{"number":"call us"}]}`, 422,
			[]string{"name", "kind", "url", "topics[0]", "phones[0].number"}},
		{"bad id", "POST", "/api/v1/resources", nil, `{"id":"Not An Id","name":"X Office","kind":"office","topics":["courts"]}`, 422, []string{"id"}},
		{"unknown field", "POST", "/api/v1/resources", nil, `{"name":"X","colour":"blue"}`, 400, []string{"colour"}},
		{"wrong type", "POST", "/api/v1/resources", nil, `{"name":["X"]}`, 400, []string{"name"}},
		{"not json", "POST", "/api/v1/resources", map[string]string{"Content-Type": "text/plain"}, `name=X`, 415, nil},
		{"too large", "POST", "/api/v1/resources", nil, `{"description":"` + strings.Repeat("x", 70<<10) + `"}`, 413, nil},
		{"edit without If-Match", "PATCH", "/api/v1/resources/ovc", nil, `{"name":"X"}`, 428, nil},
		{"edit with a bad If-Match", "PATCH", "/api/v1/resources/ovc", map[string]string{"If-Match": "soon"}, `{"name":"X"}`, 400, []string{"If-Match"}},
		{"edit of the id", "PATCH", "/api/v1/resources/ovc", map[string]string{"If-Match": "8"}, `{"id":"other"}`, 422, []string{"id"}},
		{"edit to invalid", "PATCH", "/api/v1/resources/ovc", map[string]string{"If-Match": "8"}, `{"name":"","topics":[]}`, 422, []string{"name", "topics"}},
		{"edit not an object", "PATCH", "/api/v1/resources/ovc", map[string]string{"If-Match": "8"}, `[1]`, 400, nil},
		{"edit of an unknown resource", "PATCH", "/api/v1/resources/nope", map[string]string{"If-Match": "8"}, `{"name":"X"}`, 404, nil},
		{"retire of an unknown resource", "POST", "/api/v1/resources/nope/retire", nil, ``, 404, nil},
		{"restore of an active resource", "POST", "/api/v1/resources/ovc/restore", nil, ``, 409, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(tt.method, tt.path, tt.header, tt.body)
			if r.status != tt.status || r.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d (%s), want %d: %s", r.status, r.header.Get("Content-Type"), tt.status, r.body)
			}
			var p struct {
				Errors []domain.FieldError `json:"errors"`
			}
			_ = json.Unmarshal(r.body, &p)
			var got []string
			for _, fe := range p.Errors {
				got = append(got, fe.Field)
			}
			if !slices.Equal(got, tt.fields) {
				t.Fatalf("fields %v, want %v: %s", got, tt.fields, r.body)
			}
		})
	}
	if after := f.events(); after != before {
		t.Fatalf("refused requests appended %d events", after-before)
	}
}

// TestStaleEditIsRefused: an edit based on an old version gets 409 with
// the current version, and nothing is appended; an edit on the current
// version lands and names the fields it changed.
func TestStaleEditIsRefused(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	if _, err := f.p.Seed(ctx, resources.Published()); err != nil {
		t.Fatal(err)
	}
	r, _, _ := f.p.Load(ctx, "ovc")
	v := r.Version
	first := f.do("PATCH", "/api/v1/resources/ovc", map[string]string{"If-Match": `"` + u64(v) + `"`}, `{"url":"https://ovc.ojp.gov/"}`)
	if first.status != http.StatusOK {
		t.Fatalf("first edit: %d %s", first.status, first.body)
	}
	res := decode[resources.Result](t, first)
	if !slices.Equal(res.Changed, []string{"url"}) || res.Version <= v || first.header.Get("ETag") != `"`+u64(res.Version)+`"` {
		t.Fatalf("first edit answered %+v (ETag %s)", res, first.header.Get("ETag"))
	}
	before := f.events()
	stale := f.do("PATCH", "/api/v1/resources/ovc", map[string]string{"If-Match": u64(v)}, `{"name":"Stale"}`)
	if stale.status != http.StatusConflict {
		t.Fatalf("stale edit: %d %s", stale.status, stale.body)
	}
	var p struct {
		CurrentVersion uint64 `json:"current_version"`
	}
	_ = json.Unmarshal(stale.body, &p)
	if p.CurrentVersion != res.Version {
		t.Fatalf("conflict names version %d, want %d", p.CurrentVersion, res.Version)
	}
	if after := f.events(); after != before {
		t.Fatalf("a stale edit appended %d events", after-before)
	}
	// An edit that changes nothing appends nothing.
	same := f.do("PATCH", "/api/v1/resources/ovc", map[string]string{"If-Match": u64(res.Version)}, `{"url":"https://ovc.ojp.gov/"}`)
	if same.status != http.StatusOK || len(decode[resources.Result](t, same).Changed) != 0 || f.events() != before {
		t.Fatalf("no-op edit: %d %s", same.status, same.body)
	}
	if r, _, _ := f.p.Load(ctx, "ovc"); r.Details.Name != "Office for Victims of Crime" || r.Details.URL != "https://ovc.ojp.gov/" {
		t.Fatalf("ovc is %+v", r.Details)
	}
}

// TestRetireAndRestore: a retired resource can be restored, not retired
// again nor edited; each command with an Idempotency-Key is carried out
// once however often it is sent.
func TestRetireAndRestore(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	if _, err := f.p.Seed(ctx, resources.Published()); err != nil {
		t.Fatal(err)
	}
	key := map[string]string{"Idempotency-Key": "retire-ice-1"}
	r := f.do("POST", "/api/v1/resources/ice/retire", key, `{"reason":"replaced by HSI"}`)
	if r.status != http.StatusOK || decode[resources.Result](t, r).Status != "retired" {
		t.Fatalf("retire: %d %s", r.status, r.body)
	}
	n := f.events()
	retry := f.do("POST", "/api/v1/resources/ice/retire", key, `{"reason":"replaced by HSI"}`)
	if res := decode[resources.Result](t, retry); retry.status != http.StatusOK || !res.Duplicate || res.Status != "retired" {
		t.Fatalf("retried retire: %d %s", retry.status, retry.body)
	}
	if f.events() != n {
		t.Fatal("a retried retire appended")
	}
	if again := f.do("POST", "/api/v1/resources/ice/retire", nil, ``); again.status != http.StatusConflict {
		t.Fatalf("second retire: %d %s", again.status, again.body)
	}
	state, _, _ := f.p.Load(ctx, "ice")
	if edit := f.do("PATCH", "/api/v1/resources/ice", map[string]string{"If-Match": u64(state.Version)}, `{"name":"X"}`); edit.status != http.StatusConflict {
		t.Fatalf("edit of a retired resource: %d %s", edit.status, edit.body)
	}
	// A key reused for another command is refused.
	if reuse := f.do("POST", "/api/v1/resources/ice/restore", key, ``); reuse.status != http.StatusUnprocessableEntity {
		t.Fatalf("reused key: %d %s", reuse.status, reuse.body)
	}
	stale := f.do("POST", "/api/v1/resources/ice/restore", map[string]string{"If-Match": u64(state.Version - 1)}, ``)
	if stale.status != http.StatusConflict {
		t.Fatalf("stale restore: %d %s", stale.status, stale.body)
	}
	back := f.do("POST", "/api/v1/resources/ice/restore", map[string]string{"If-Match": u64(state.Version)}, `{"reason":"still listed"}`)
	if back.status != http.StatusOK || decode[resources.Result](t, back).Status != "active" {
		t.Fatalf("restore: %d %s", back.status, back.body)
	}
	recs, _ := eventlog.New(f.js, nil).Load(ctx, domain.AggregateResource, "ice")
	var types []string
	for _, rec := range recs {
		types = append(types, rec.Type)
	}
	want := []string{domain.TypeResourceAdded, domain.TypeResourceRetired, domain.TypeResourceRestored}
	if !slices.Equal(types, want) {
		t.Fatalf("ice's events %v, want %v", types, want)
	}
	if recs[1].Actor != "editor" || recs[1].Event.(domain.ResourceRetired).Reason != "replaced by HSI" {
		t.Fatalf("retire stored as %+v", recs[1])
	}
}

// TestConcurrentEditsHaveOneWinner: of editors editing the same version at
// once, exactly one lands.
func TestConcurrentEditsHaveOneWinner(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	if _, err := f.p.Seed(ctx, resources.Published()); err != nil {
		t.Fatal(err)
	}
	r, _, _ := f.p.Load(ctx, "fbi")
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			patch, _ := json.Marshal(map[string]string{"description": "Version " + u64(uint64(i))})
			_, err := f.p.Edit(ctx, "fbi", patch, r.Version, "editor", "")
			errs <- err
		}()
	}
	won := 0
	for range n {
		err := <-errs
		var ve *domain.VersionError
		switch {
		case err == nil:
			won++
		case errors.As(err, &ve):
		default:
			t.Fatal(err)
		}
	}
	if won != 1 || f.events() != 15 {
		t.Fatalf("%d edits won, %d events; want 1 and 15", won, f.events())
	}
}

func u64(v uint64) string { return strconv.FormatUint(v, 10) }
