package history_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/eventlog/history"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/auth/authtest"
	"github.com/justiceevents/jevents/internal/natstest"
)

const aliceToken = "history-alice-Rp7Vx2Kq9Zm4Wt8Lb3Nc6Hd"

type fixture struct {
	t    *testing.T
	log  *eventlog.Log
	last map[string]uint64
	base string
}

func start(t *testing.T) *fixture {
	t.Helper()
	_, _, js := natstest.Start(t)
	if _, err := eventlog.EnsureStream(context.Background(), js, eventlog.StreamConfig{MaxBytes: 64 << 20}); err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte("alice:"+aliceToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gate := authtest.Gate(t, js, "alice:"+aliceToken)
	l := eventlog.New(js, nil)
	mux := http.NewServeMux()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := httpapi.Handle(mux, history.New(l, quiet).Routes(), gate, quiet); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gate.Identify(mux, httpapi.Refuse(quiet)))
	t.Cleanup(srv.Close)
	return &fixture{t: t, log: l, last: map[string]uint64{}, base: srv.URL}
}

func (f *fixture) append(id, actor string, e domain.Event) uint64 {
	f.t.Helper()
	env, err := domain.NewEnvelope(fmt.Sprint("ev-", len(f.last), "-", time.Now().UnixNano()), id, actor, time.Now(), e)
	if err != nil {
		f.t.Fatal(err)
	}
	a, err := f.log.Append(context.Background(), env, env.ID, f.last[id])
	if err != nil {
		f.t.Fatal(err)
	}
	seq := a.Seq
	f.last[id] = seq
	return seq
}

// get fetches a history as an editor (alice) or as anyone.
func (f *fixture) get(path string, asEditor bool) (int, string, history.History) {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.base+path, nil)
	if asEditor {
		req.Header.Set("Authorization", "Bearer "+aliceToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var h history.History
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, &h); err != nil {
			f.t.Fatalf("%s: %v", b, err)
		}
	}
	return resp.StatusCode, string(b), h
}

// summary renders entries as "type actor field:from→to …" lines.
func summary(h history.History) []string {
	var out []string
	for _, e := range h.Entries {
		s := e.Type + " " + e.Actor
		for _, c := range e.Changes {
			s += " " + c.Field + ":" + string(c.From) + "→" + string(c.To)
		}
		if e.Reason != "" {
			s += " reason=" + e.Reason
		}
		if e.Note != "" {
			s += " note=" + e.Note
		}
		out = append(out, s)
	}
	return out
}

func TestResourceHistory(t *testing.T) {
	f := start(t)
	d := domain.ResourceDetails{Name: "Office for Victims of Crime", ShortName: "OVC", Kind: domain.KindOffice, Topics: []string{"victims-of-crime"}}
	f.append("ovc", "seed", domain.ResourceAdded{Details: d, Source: "seed"})
	d2 := d
	d2.Name, d2.URL = "Office for Victims of Crime <OJP>", "https://ovc.ojp.gov/"
	f.append("ovc", "alice", domain.ResourceUpdated{Details: d2, Changed: []string{"name", "url"}})
	f.append("ovc", "alice", domain.ResourceRetired{Reason: "merged"})
	f.append("ovc", "alice", domain.ResourceRestored{Reason: "still listed"})

	want := []string{
		`resource.added.v1 seed status:→"active" name:→"Office for Victims of Crime" short_name:→"OVC" kind:→"office" topics:→["victims-of-crime"]`,
		`resource.updated.v1 alice name:"Office for Victims of Crime"→"Office for Victims of Crime \u003cOJP\u003e" url:null→"https://ovc.ojp.gov/"`,
		`resource.retired.v1 alice status:"active"→"retired" reason=merged`,
		`resource.restored.v1 alice status:"retired"→"active" reason=still listed`,
	}
	status, body, h := f.get("/api/v1/resources/ovc/history", true)
	if status != 200 || h.Total != 4 || h.Aggregate != "resource" || h.ID != "ovc" {
		t.Fatalf("%d %s", status, body)
	}
	if got := summary(h); !slices.Equal(got, want) {
		t.Fatalf("history:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := 1; i < len(h.Entries); i++ {
		if h.Entries[i].Version <= h.Entries[i-1].Version || h.Entries[i].Time.Before(h.Entries[i-1].Time) {
			t.Fatalf("entries out of order: %+v", h.Entries)
		}
	}
	if h.Entries[0].Source != "seed" || strings.Contains(body, "<") {
		t.Fatalf("body: %s", body)
	}

	// To anyone, editors appear as "editor".
	status, body, h = f.get("/api/v1/resources/ovc/history", false)
	if status != 200 || strings.Contains(body, "alice") || h.Entries[1].Actor != "editor" || h.Entries[0].Actor != "seed" {
		t.Fatalf("public history: %d %s", status, body)
	}

	// Pages.
	_, _, p1 := f.get("/api/v1/resources/ovc/history?limit=3", false)
	if len(p1.Entries) != 3 || p1.Next == "" {
		t.Fatalf("first page: %+v", p1)
	}
	_, _, p2 := f.get(p1.Next, false)
	if len(p2.Entries) != 1 || p2.Next != "" || p2.Entries[0].Type != domain.TypeResourceRestored {
		t.Fatalf("second page: %+v", p2)
	}
	for _, bad := range []string{"?limit=0", "?limit=x", "?after=-1"} {
		if status, _, _ := f.get("/api/v1/resources/ovc/history"+bad, false); status != 400 {
			t.Errorf("%s: %d", bad, status)
		}
	}
	for _, missing := range []string{"/api/v1/resources/nope/history", "/api/v1/resources/no%20pe/history"} {
		if status, _, _ := f.get(missing, true); status != 404 {
			t.Errorf("%s: %d", missing, status)
		}
	}
}

// TestConferenceHistory: the organiser's contact is never shown; a pending
// conference's history is for editors only; editors' notes and names are
// for editors.
func TestConferenceHistory(t *testing.T) {
	f := start(t)
	d := domain.ConferenceDetails{Title: "Summit", AllDay: true, Start: "2027-06-12", End: "2027-06-13", Format: domain.FormatOnline,
		Topics: []string{"courts"}, Sponsors: []domain.Sponsor{{ID: "ovc", Name: "Office for Victims of Crime"}}}
	f.append("c1", "public", domain.ConferenceSubmitted{Details: d, Contact: domain.Contact{Name: "Org Person", Email: "organiser@example.org"},
		Source: "api", RequestHash: "secret-hash"})

	if status, _, _ := f.get("/api/v1/conferences/c1/history", false); status != 404 {
		t.Fatalf("a pending conference's history to anyone: %d", status)
	}
	status, body, h := f.get("/api/v1/conferences/c1/history", true)
	if status != 200 || len(h.Entries) != 1 {
		t.Fatalf("to an editor: %d %s", status, body)
	}
	d2 := d
	d2.Title = "Summit\r\n<script>x</script>"
	f.append("c1", "alice", domain.ConferenceUpdated{Details: d2, Changed: []string{"title"}})
	f.append("c1", "alice", domain.ConferenceApproved{Note: "checked the venue"})
	f.append("c1", "alice", domain.ConferenceCancelled{Reason: "venue closed"})

	want := []string{
		`conference.submitted.v2 public status:→"pending" title:→"Summit" all_day:→true start:→"2027-06-12" end:→"2027-06-13" format:→"online" location:→{} sponsors:→[{"id":"ovc","name":"Office for Victims of Crime"}] topics:→["courts"]`,
		`conference.updated.v2 editor title:"Summit"→"Summit\r\n\u003cscript\u003ex\u003c/script\u003e"`,
		`conference.approved.v1 editor status:"pending"→"approved"`,
		`conference.cancelled.v1 editor status:"approved"→"cancelled" reason=venue closed`,
	}
	status, body, h = f.get("/api/v1/conferences/c1/history", false)
	if status != 200 {
		t.Fatalf("a published conference's history: %d %s", status, body)
	}
	// location is an empty object the submission set: shown only if set.
	want[0] = strings.Replace(want[0], ` location:→{}`, "", 1)
	if got := summary(h); !slices.Equal(got, want) {
		t.Fatalf("public history:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	_, editorBody, eh := f.get("/api/v1/conferences/c1/history", true)
	if eh.Entries[2].Note != "checked the venue" || eh.Entries[2].Actor != "alice" {
		t.Fatalf("editor's view of the approval: %+v", eh.Entries[2])
	}
	for _, b := range []string{body, editorBody} {
		for _, private := range []string{"organiser@example.org", "Org Person", "contact", "secret-hash", "request_hash"} {
			if strings.Contains(b, private) {
				t.Fatalf("history shows %q: %s", private, b)
			}
		}
		if strings.ContainsAny(b[:len(b)-1], "<>\r\n") {
			t.Fatalf("raw markup or line break in JSON: %s", b)
		}
	}
	if strings.Contains(body, "checked the venue") || strings.Contains(body, "alice") {
		t.Fatalf("public history shows an editor's note or name: %s", body)
	}

	// A rejected conference stays editors-only.
	f.append("c2", "public", domain.ConferenceSubmitted{Details: d, Contact: domain.Contact{Email: "b@example.org"}})
	f.append("c2", "alice", domain.ConferenceRejected{Reason: "spam"})
	if status, _, _ := f.get("/api/v1/conferences/c2/history", false); status != 404 {
		t.Fatalf("a rejected conference's history to anyone: %d", status)
	}
	if _, _, h := f.get("/api/v1/conferences/c2/history", true); len(h.Entries) != 2 || h.Entries[1].Reason != "spam" {
		t.Fatalf("rejected, to an editor: %+v", h)
	}
}
