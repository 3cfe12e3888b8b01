package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/icalinterop"
)

// The fields of the legacy NCJRS calendar (event type, cost, registration,
// continuing-education credits) end to end: API → log → read API, feeds
// (read back by the interop parsers) and pages; form → log → page; and an
// editor's edit of another field, by the API and by the form, keeps them.

// legacyFields are what an organiser states, as the API's JSON holds them;
// the cost and credits carry hostile text that must stay text.
func legacyFields() map[string]any {
	return map[string]any{
		"type":         "Training",
		"cost":         "$350; students $100\r\nATTENDEE:mailto:x@evil",
		"registration": map[string]any{"url": "https://example.org/register?ref=a&b=c", "deadline": nextYear(6, 1)},
		"credits":      "<script>alert(1)</script> 6 CLE credits; 6.5 CEUs",
	}
}

// storedDetails are the legacy fields as stored, compared on every read.
type storedDetails struct {
	Type         string              `json:"type"`
	Cost         string              `json:"cost"`
	Registration domain.Registration `json:"registration"`
	Credits      string              `json:"credits"`
}

func wantStored() storedDetails {
	return storedDetails{Type: "training", Cost: "$350; students $100 ATTENDEE:mailto:x@evil",
		Registration: domain.Registration{URL: "https://example.org/register?ref=a&b=c", Deadline: nextYear(6, 1)},
		Credits:      "<script>alert(1)</script> 6 CLE credits; 6.5 CEUs"}
}

// loggedEvent is the last event stored under subject, with its type.
func (a *app) loggedEvent(subject string) (string, []byte) {
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
	m, err := s.GetLastMsgForSubject(context.Background(), subject)
	if err != nil {
		a.t.Fatalf("%s: %v", subject, err)
	}
	return m.Header.Get(domain.HeaderEventType), m.Data
}

// checkLogged: the submission is stored as the second schema with the
// fields as normalised.
func checkLogged(t *testing.T, a *app, id string, want storedDetails) {
	t.Helper()
	typ, data := a.loggedEvent("events.conference." + id + ".submitted")
	var env struct {
		Type string `json:"type"`
		Data struct {
			Details storedDetails `json:"details"`
		} `json:"data"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	if typ != domain.TypeConferenceSubmitted || env.Type != "conference.submitted.v2" || env.Data.Details != want {
		t.Fatalf("logged as %s/%s with %+v, want conference.submitted.v2 with %+v", typ, env.Type, env.Data.Details, want)
	}
}

// readDetails is the conference's legacy fields as path answers them.
func (a *app) readDetails(path string, h map[string]string) storedDetails {
	a.t.Helper()
	r := a.do("GET", path, h, nil)
	if r.status != http.StatusOK {
		a.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	var v struct {
		Details storedDetails `json:"details"`
	}
	r.json(a.t, &v)
	return v.Details
}

func TestLegacyFieldsRoundTrip(t *testing.T) {
	a := startApp(t, t.TempDir())
	in := validSubmission()
	for k, v := range legacyFields() {
		in[k] = v
	}
	rec := a.submit(in, "")
	want := wantStored()
	checkLogged(t, a, rec.ID, want)
	a.waitQueued(rec.ID)
	if got := a.readDetails("/api/v1/moderation/conferences/"+rec.ID, editor); got != want {
		t.Fatalf("moderation API: %+v, want %+v", got, want)
	}
	a.approve(rec.ID)
	uid := rec.ID + "@events.test"

	// The facet: its own feed and ?type= on every feed, the list API
	// and the home page.
	evs, feed := a.feedEvents("/calendar/types/training.ics", hasUID(uid))
	if len(evs) != 1 {
		t.Fatalf("the training feed holds %d events", len(evs))
	}
	if _, r := a.feedEvents("/calendar.ics?type=training&topic=trafficking-in-persons", hasUID(uid)); !bytes.Contains(r.body, []byte("UID:"+uid)) {
		t.Fatal("?type= does not select it")
	}
	if _, r := a.feedEvents("/calendar.ics?type=webinar", func([]goical.Event) bool { return true }); bytes.Contains(r.body, []byte(uid)) {
		t.Fatal("?type=webinar selects a training")
	}
	for path, status := range map[string]int{"/calendar/types/party.ics": 404, "/calendar/types/Training.ics": 404,
		"/calendar.ics?type=party": 400, "/api/v1/conferences?type=party": 400} {
		if r := a.do("GET", path, nil, nil); r.status != status {
			t.Errorf("GET %s: %d, want %d", path, r.status, status)
		} else if status == 400 && !bytes.Contains(r.body, []byte(`"type"`)) {
			t.Errorf("GET %s: the problem does not name the parameter: %s", path, r.body)
		}
	}
	list := a.do("GET", "/api/v1/conferences?type=training", nil, nil)
	if list.status != 200 || !bytes.Contains(list.body, []byte(rec.ID)) || !bytes.Contains(list.body, []byte(`"ics":"https://events.test/calendar/types/training.ics"`)) {
		t.Fatalf("list by type: %d %s", list.status, list.body)
	}
	if got := a.readDetails("/api/v1/conferences/"+rec.ID, nil); got != want {
		t.Fatalf("read API: %+v, want %+v", got, want)
	}
	feeds := a.do("GET", "/api/v1/feeds", nil, nil)
	if !bytes.Contains(feeds.body, []byte("https://events.test/calendar/types/training.ics")) {
		t.Errorf("/api/v1/feeds lists no feed by type: %s", feeds.body)
	}
	if home := a.do("GET", "/?type=training", nil, nil); !bytes.Contains(home.body, []byte(`name="type" value="training" checked`)) ||
		!bytes.Contains(home.body, []byte(rec.ID)) {
		t.Errorf("the home page's filter by type: %d", home.status)
	}

	// The feed, as three independent parsers read it: the type is a
	// category (RFC 5545 CATEGORIES); cost, registration and credits,
	// which no standard property holds, are in the description.
	year := nextYear(1, 1)[:4]
	wantEvent := icalinterop.Event{
		UID: uid, Summary: in["title"].(string), Location: "Convention Center, Baltimore, MD, US",
		URL: "https://example.org/conference", Status: "CONFIRMED",
		Description: in["description"].(string) +
			"\n\nType: Training" +
			"\n\nSponsors: Office for Victims of Crime" +
			"\n\nFormat: " + domain.FormatInPerson.Text() +
			"\n\nCost: $350; students $100 ATTENDEE:mailto:x@evil" +
			"\n\nRegistration: https://example.org/register?ref=a&b=c (by June 1, " + year + ")" +
			"\n\nContinuing-education credits: <script>alert(1)</script> 6 CLE credits; 6.5 CEUs" +
			"\n\nMore: https://example.org/conference",
		Categories: []string{"Training", domain.TopicLabel("trafficking-in-persons"), domain.TopicLabel("victims-of-crime")},
		Start:      nextYear(6, 12), End: nextYear(6, 15),
	}
	cal, err := goical.NewDecoder(bytes.NewReader(feed.body)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	name, _ := cal.Props.Text("NAME")
	path := filepath.Join(t.TempDir(), "training.ics")
	if err := os.WriteFile(path, feed.body, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, parser := range icalinterop.Parsers {
		t.Run(parser, func(t *testing.T) {
			got := icalinterop.Read(t, parser, path)
			icalinterop.Compare(t, parser, got, icalinterop.Calendar{Name: name, WRName: name, Events: []icalinterop.Event{wantEvent}})
		})
	}
	if bytes.Contains(feed.body, []byte("\r\nATTENDEE")) {
		t.Fatal("the cost injected a property")
	}

	// The page says them, as text.
	page := a.do("GET", "/conferences/"+rec.ID, nil, nil)
	for _, s := range []string{"<dt>Type</dt><dd>Training</dd>", "<dt>Cost</dt><dd>$350; students $100 ATTENDEE:mailto:x@evil</dd>",
		`<a href="https://example.org/register?ref=a&amp;b=c" rel="external noopener">Register</a> by June 1, ` + year,
		"<dt>Continuing-education credits</dt><dd>&lt;script&gt;alert(1)&lt;/script&gt; 6 CLE credits; 6.5 CEUs</dd>"} {
		if !bytes.Contains(page.body, []byte(s)) {
			t.Errorf("the page lacks %s", s)
		}
	}
	if bytes.Contains(page.body, []byte("<script>alert")) {
		t.Error("the page runs the credits")
	}

	// An editor's edit of another field, through the API, keeps them.
	g := &golden{t: t, a: a}
	h := map[string]string{"Authorization": "Bearer " + editorToken, "If-Match": fmt.Sprintf(`"%d"`, g.version(rec.ID))}
	if r := a.do("PATCH", "/api/v1/conferences/"+rec.ID, h, map[string]any{"title": "Renamed by the editors"}); r.status != http.StatusOK {
		t.Fatalf("PATCH title: %d %s", r.status, r.body)
	}
	if got := a.readDetails("/api/v1/moderation/conferences/"+rec.ID, editor); got != want {
		t.Fatalf("after an edit of the title: %+v, want %+v", got, want)
	}
	// A PATCH changes one of them alone; a deadline past the last day is
	// refused, naming the field, and changes nothing.
	h["If-Match"] = fmt.Sprintf(`"%d"`, g.version(rec.ID))
	r := a.do("PATCH", "/api/v1/conferences/"+rec.ID, h, map[string]any{"registration": map[string]any{"url": "https://example.org/r", "deadline": nextYear(6, 15)}})
	if r.status != http.StatusUnprocessableEntity || !bytes.Contains(r.body, []byte("registration.deadline")) {
		t.Fatalf("a deadline after the last day: %d %s", r.status, r.body)
	}
	if r := a.do("PATCH", "/api/v1/conferences/"+rec.ID, h, map[string]any{"cost": "free"}); r.status != http.StatusOK {
		t.Fatalf("PATCH cost: %d %s", r.status, r.body)
	}
	want.Cost = "free"
	if got := a.readDetails("/api/v1/moderation/conferences/"+rec.ID, editor); got != want {
		t.Fatalf("after an edit of the cost: %+v, want %+v", got, want)
	}

	// And through the editors' form, which changes the description and a
	// topic.
	g.editForm(rec.ID)
	if got := a.readDetails("/api/v1/moderation/conferences/"+rec.ID, editor); got != want {
		t.Fatalf("after a form edit of the description: %+v, want %+v", got, want)
	}
	typ, data := a.loggedEvent("events.conference." + rec.ID + ".updated")
	if typ != "conference.updated.v2" || !bytes.Contains(data, []byte(`"changed":["description","topics"]`)) {
		t.Fatalf("the form edit is logged as %s: %s", typ, data)
	}

	// The history names the fields: set at submission, the cost's change.
	var hist struct {
		Entries []struct {
			Type    string `json:"type"`
			Changes []struct {
				Field string          `json:"field"`
				To    json.RawMessage `json:"to"`
			} `json:"changes"`
		} `json:"entries"`
	}
	hr := a.do("GET", "/api/v1/conferences/"+rec.ID+"/history", editor, nil)
	hr.json(t, &hist)
	var fields []string
	for _, e := range hist.Entries {
		for _, c := range e.Changes {
			if c.Field == "type" || c.Field == "cost" || c.Field == "registration" || c.Field == "credits" {
				fields = append(fields, e.Type+" "+c.Field+"→"+string(c.To))
			}
		}
	}
	wantHist := []string{`conference.submitted.v2 type→"training"`,
		`conference.submitted.v2 registration→{"url":"https://example.org/register?ref=a\u0026b=c","deadline":"` + nextYear(6, 1) + `"}`,
		`conference.submitted.v2 cost→"$350; students $100 ATTENDEE:mailto:x@evil"`,
		`conference.submitted.v2 credits→"\u003cscript\u003ealert(1)\u003c/script\u003e 6 CLE credits; 6.5 CEUs"`,
		`conference.updated.v2 cost→"free"`}
	if !reflect.DeepEqual(fields, wantHist) {
		t.Errorf("history of the legacy fields:\n%s\nwant\n%s\n%s", strings.Join(fields, "\n"), strings.Join(wantHist, "\n"), hr.body)
	}
}

// TestLegacyFieldsFromTheForm: what a visitor states in "Add your
// conference" is logged, shown to editors and, once approved, on the
// conference's page.
func TestLegacyFieldsFromTheForm(t *testing.T) {
	a := startApp(t, t.TempDir())
	g := &golden{t: t, a: a}
	_, h, page := g.formRequest("GET", "/submit", nil)
	for _, s := range []string{`name="type" value="hearing"`, `name="cost"`, `name="registration_url"`, `name="registration_deadline"`, `name="credits"`} {
		if !strings.Contains(page, s) {
			t.Fatalf("the form has no %s", s)
		}
	}
	f := url.Values{"csrf": {hiddenOf(page, "csrf")}, "idem": {hiddenOf(page, "idem")}, "confirm": {"1"},
		"title": {"Listening session on victim services"}, "all_day": {"yes"}, "start_date": {nextYear(9, 10)}, "end_date": {nextYear(9, 10)},
		"format": {"online"}, "topics": {"victims-of-crime"}, "contact_email": {"form@example.org"},
		"type": {"hearing"}, "cost": {"Free"}, "registration_url": {"https://example.org/listen"}, "registration_deadline": {nextYear(9, 10)},
		"credits": {"1 CEU"}}
	// A deadline after the day is shown again with the error, nothing logged.
	before := a.streamMessages()
	bad := url.Values{}
	for k, v := range f {
		bad[k] = v
	}
	bad.Set("registration_deadline", nextYear(9, 11))
	st, _, body := g.formRequest("POST", "/submit", bad, cookieOf(h, "jevents_form"))
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, `id="registration_deadline-error"`) ||
		!strings.Contains(body, `value="1 CEU"`) || a.streamMessages() != before {
		t.Fatalf("a deadline after the last day: %d", st)
	}
	st, rh, body := g.formRequest("POST", "/submit", f, cookieOf(h, "jevents_form"))
	if st != http.StatusSeeOther {
		t.Fatalf("form submission: %d %s", st, body)
	}
	id := strings.TrimPrefix(rh.Get("Location"), "/submit/done/")
	want := storedDetails{Type: "hearing", Cost: "free", Registration: domain.Registration{URL: "https://example.org/listen", Deadline: nextYear(9, 10)}, Credits: "1 CEU"}
	checkLogged(t, a, id, want)
	a.waitQueued(id)

	sess := g.signIn()
	for _, path := range []string{"/moderation", "/moderation/conferences/" + id} {
		_, _, mp := g.formRequest("GET", path, nil, sess)
		for _, s := range []string{"<dt>Type</dt><dd>Hearing or listening session</dd>", "<dt>Cost</dt><dd>Free</dd>",
			`<a href="https://example.org/listen" rel="external noopener noreferrer">https://example.org/listen</a>, by September 10`, "<dd>1 CEU</dd>"} {
			if !strings.Contains(mp, s) {
				t.Errorf("%s lacks %s", path, s)
			}
		}
	}
	_, _, edit := g.formRequest("GET", "/moderation/conferences/"+id+"/edit", nil, sess)
	for _, s := range []string{`name="type" value="hearing" checked`, `id="cost" name="cost" type="text" maxlength="` + strconv.Itoa(domain.MaxCostLength) + `" value="Free"`,
		`value="https://example.org/listen"`, `value="` + nextYear(9, 10) + `"`, `value="1 CEU"`} {
		if !strings.Contains(edit, s) {
			t.Errorf("the edit form lacks %s", s)
		}
	}

	a.approve(id)
	deadline := time.Now().Add(10 * time.Second)
	var pg response
	for {
		if pg = a.do("GET", "/conferences/"+id, nil, nil); pg.status == http.StatusOK || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	text := html.UnescapeString(string(pg.body))
	for _, s := range []string{"Hearing or listening session", "Cost</dt><dd>Free", `href="https://example.org/listen"`, "by September 10, " + nextYear(1, 1)[:4], "1 CEU"} {
		if !strings.Contains(text, s) {
			t.Errorf("the page lacks %s", s)
		}
	}
}
