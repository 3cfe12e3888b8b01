package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/directory"
	"github.com/justiceevents/jevents/projections/feeds"
)

const asOfToken = "asof-editor-Qx7Lm2Vb9Rt4Kw8Zp3Nd6Hs"

// startAsOfService boots the all-in-one service on dir without the seeded
// directory (the scripted history writes its own), with a 48-hour feed
// window so that days passing move conferences out of feeds.
func startAsOfService(t *testing.T, dir string) *Service {
	t.Helper()
	cfg := Config{DataDir: dir, NATSListen: "127.0.0.1:0", HTTP: "127.0.0.1:0", PublicURL: "https://events.test",
		EditorToken: asOfToken, NoSeed: true, FeedWindow: 48 * time.Hour}
	s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	waitFor(t, 20*time.Second, "ready", func() bool { return len(s.waitingFor()) == 0 })
	return s
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// get fetches path without compression, so the ETag is the identity
// form's.
func get(t *testing.T, s *Service, path string, header map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.HTTPAddr()+path, nil)
	req.Header.Set("Accept-Encoding", "identity")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// seen is what a feed or API answered at an instant.
type seen struct {
	at     time.Time
	path   string
	status int
	etag   string
	body   []byte
}

func withAsOf(path string, at time.Time) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "as_of=" + url.QueryEscape(at.UTC().Format(time.RFC3339Nano))
}

// history writes events into the log of a running service with the times
// the script gives them.
type script struct {
	t    *testing.T
	s    *Service
	last map[string]uint64 // aggregate's last sequence
	n    int
	// the last event of each kind of aggregate, for waiting on the
	// replicas
	lastConf, lastRes uint64
}

func (h *script) add(at time.Time, aggregate, id string, ev domain.Event) {
	h.t.Helper()
	h.n++
	env, err := domain.NewEnvelope(fmt.Sprintf("script-%d", h.n), id, "script", at, ev)
	if err != nil {
		h.t.Fatal(err)
	}
	a, err := h.s.eventLog().Append(context.Background(), env, env.ID, h.last[aggregate+id])
	if err != nil {
		h.t.Fatal(err)
	}
	h.last[aggregate+id] = a.Seq
	if aggregate == domain.AggregateConference {
		h.lastConf = a.Seq
	} else {
		h.lastRes = a.Seq
	}
}

// settle waits until the feed server's replicas hold every event written.
func (h *script) settle() {
	h.t.Helper()
	cal, dir := replicaOf(h.s, calendar.Model), replicaOf(h.s, directory.Model)
	waitFor(h.t, 20*time.Second, "the replicas", func() bool {
		c, _ := cal.Checkpoint()
		d, _ := dir.Checkpoint()
		return c >= h.lastConf && d >= h.lastRes
	})
}

// TestAsOfAnswersWhatFeedsServed is the scripted history of issue 15: a
// week of submissions, approvals, an edit, a sponsor's rename and a
// cancellation, written into the log with their times, then changes made
// now through the API. While it runs it records what the feeds (and the
// read API) answered at chosen instants — days passing between events
// included, which moves conferences out of the window — and then asks
// every one of them with ?as_of=: the same status, bytes and ETag, also
// after a restart and after a rebuild.
func TestAsOfAnswersWhatFeedsServed(t *testing.T) {
	dir := t.TempDir()
	s := startAsOfService(t, dir)
	h := &script{t: t, s: s, last: map[string]uint64{}}
	cal := replicaOf(s, calendar.Model)
	day := 24 * time.Hour
	d0 := time.Now().UTC().Truncate(day).Add(-8 * day) // midnight, 8 days ago
	date := func(d time.Duration) string { return d0.Add(d).Format(domain.DateLayout) }

	var log []seen
	feedPaths := map[string]feeds.Filter{
		"/calendar.ics": {},
		"/calendar/topics/trafficking-in-persons.ics": feeds.Facet("topic", "trafficking-in-persons"),
		"/calendar/regions/MD.ics":                    feeds.Facet("region", "MD"),
		"/calendar/sponsors/ovc.ics":                  {Sponsors: []string{"ovc"}},
		"/calendar.ics?topic=courts&q=summit":         {Terms: map[string][]string{"topic": {"courts"}}, Words: []string{"summit"}},
		"/conferences/conf-a.ics":                     {ID: "conf-a"},
		"/conferences/conf-b.ics":                     {ID: "conf-b"},
		"/conferences/conf-c.ics":                     {ID: "conf-c"},
	}
	// record asks the live feed server for every feed as it is now, with
	// the instant as its today (what it served at that instant: its
	// replica holds exactly the events stamped up to then).
	record := func(at time.Time) {
		t.Helper()
		h.settle()
		for path, f := range feedPaths {
			if f.ID != "" {
				if c, ok := cal.Get(calendar.Key(f.ID)); !ok || !c.Public() {
					log = append(log, seen{at: at, path: path, status: http.StatusNotFound})
					continue
				}
			}
			e, err := s.feeds.Feed(f, at)
			if err != nil {
				t.Fatal(err)
			}
			log = append(log, seen{at: at, path: path, status: http.StatusOK, etag: e.ETag, body: e.Body})
		}
	}

	ovc := domain.ResourceDetails{Name: "Office for Victims of Crime", ShortName: "OVC", Kind: domain.KindAgency, Topics: []string{"trafficking-in-persons"}}
	bja := domain.ResourceDetails{Name: "Bureau of Justice Assistance", ShortName: "BJA", Kind: domain.KindAgency, Topics: []string{"courts"}}
	h.add(d0.Add(10*time.Hour), domain.AggregateResource, "ovc", domain.ResourceAdded{Details: ovc, Source: "seed"})
	h.add(d0.Add(10*time.Hour+time.Minute), domain.AggregateResource, "bja", domain.ResourceAdded{Details: bja, Source: "seed"})
	record(d0.Add(20 * time.Hour))

	a := domain.ConferenceDetails{Title: "Trafficking investigations summit", AllDay: true, Start: date(day), End: date(day),
		Format: domain.FormatInPerson, Location: domain.Location{City: "Baltimore", Region: "MD", Country: "US"},
		Sponsors: []domain.Sponsor{{ID: "ovc", Name: "Office for Victims of Crime"}}, Topics: []string{"trafficking-in-persons"}}
	b := domain.ConferenceDetails{Title: "Court technology summit", Start: date(3*day) + "T09:00:00", End: date(3*day) + "T11:00:00",
		Timezone: "America/New_York", Format: domain.FormatHybrid, Location: domain.Location{City: "Arlington", Region: "VA", Country: "US"},
		Sponsors: []domain.Sponsor{{ID: "bja", Name: "Bureau of Justice Assistance"}, {Name: "State Justice Institute"}}, Topics: []string{"courts"}}
	c := domain.ConferenceDetails{Title: "Reentry summit", AllDay: true, Start: nextYearDate(3, 2), End: nextYearDate(3, 4),
		Format: domain.FormatOnline, Topics: []string{"courts", "trafficking-in-persons"}}
	contact := domain.Contact{Email: "organiser@example.org"}
	d1 := d0.Add(day + 9*time.Hour)
	h.add(d1, domain.AggregateConference, "conf-a", domain.ConferenceSubmitted{Details: a, Contact: contact, Source: "api"})
	h.add(d1.Add(time.Minute), domain.AggregateConference, "conf-b", domain.ConferenceSubmitted{Details: b, Contact: contact, Source: "api"})
	h.add(d1.Add(2*time.Minute), domain.AggregateConference, "conf-c", domain.ConferenceSubmitted{Details: c, Contact: contact, Source: "form"})
	record(d1.Add(10 * time.Minute)) // nothing public yet
	h.add(d1.Add(30*time.Minute), domain.AggregateConference, "conf-a", domain.ConferenceApproved{})
	h.add(d1.Add(31*time.Minute), domain.AggregateConference, "conf-b", domain.ConferenceApproved{})
	record(d1.Add(3 * time.Hour))

	d2 := d0.Add(2*day + 8*time.Hour)
	a2 := a
	a2.Title = "Trafficking investigations summit (second edition)"
	h.add(d2, domain.AggregateConference, "conf-a", domain.ConferenceUpdated{Details: a2, Changed: []string{"title"}})
	record(d2.Add(time.Hour))
	record(d2.Add(20 * time.Hour)) // the next day: B has happened, both still in the window

	d3 := d0.Add(3*day + 22*time.Hour)
	ovc2 := ovc
	ovc2.Name = "Office for Victims of Crime (OVC)"
	h.add(d3, domain.AggregateResource, "ovc", domain.ResourceUpdated{Details: ovc2, Changed: []string{"name"}})
	record(d3.Add(time.Hour))
	h.add(d3.Add(90*time.Minute), domain.AggregateConference, "conf-b", domain.ConferenceCancelled{Reason: "the venue closed"})
	for _, later := range []time.Duration{2 * time.Hour, day, 2 * day, 3 * day} { // A drops out, then B
		record(d3.Add(later))
	}
	d7 := d0.Add(7*day + 8*time.Hour)
	h.add(d7, domain.AggregateConference, "conf-c", domain.ConferenceApproved{Note: "welcome"})
	record(d7.Add(time.Hour))

	// Now, through the API, as editors and the public do it.
	apiPaths := []string{"/calendar.ics", "/calendar/sponsors/ovc.ics", "/api/v1/conferences", "/api/v1/conferences?topic=courts",
		"/api/v1/conferences/conf-c", "/api/v1/feeds", "/conferences/conf-c.ics"}
	recordLive := func() {
		t.Helper()
		h.settle()
		for _, p := range apiPaths {
			st, hd, body := get(t, s, p, nil)
			log = append(log, seen{at: time.Now(), path: p, status: st, etag: hd.Get("ETag"), body: body})
		}
		time.Sleep(2 * time.Millisecond) // the next change is stamped after the instant recorded
	}
	recordLive()
	post := func(method, path string, body any, header map[string]string) {
		t.Helper()
		j, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, "http://"+s.HTTPAddr()+path, bytes.NewReader(j))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+asOfToken)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
		}
		v := resp.Header.Get("ETag")
		var seq uint64
		fmt.Sscanf(strings.Trim(v, `"`), "%d", &seq)
		h.lastConf = max(h.lastConf, seq)
	}
	post(http.MethodPatch, "/api/v1/conferences/conf-c", map[string]any{"title": "Reentry summit 2.0"},
		map[string]string{"If-Match": fmt.Sprintf(`"%d"`, h.last[domain.AggregateConference+"conf-c"])})
	recordLive()
	post(http.MethodPost, "/api/v1/conferences/conf-c/cancel", map[string]string{"reason": "moved"}, nil)
	recordLive()

	check := func(when string) {
		t.Helper()
		for _, r := range log {
			st, hd, body := get(t, s, withAsOf(r.path, r.at), nil)
			if st != r.status {
				t.Fatalf("%s: %s as of %s: %d, it answered %d then: %s", when, r.path, r.at.Format(time.RFC3339Nano), st, r.status, body)
			}
			if r.status != http.StatusOK {
				continue
			}
			if hd.Get("ETag") != r.etag || !bytes.Equal(body, r.body) {
				t.Fatalf("%s: %s as of %s: ETag %s, it was %s then; bytes:\n%s\nthen:\n%s", when, r.path, r.at.Format(time.RFC3339Nano),
					hd.Get("ETag"), r.etag, body, r.body)
			}
		}
	}
	// The script is worth its name: the whole calendar changed at most
	// steps, the window dropped A, then B, and the rename reached the
	// sponsor's feed.
	distinct := map[string]bool{}
	var renamed, cancelled, aGone bool
	for _, r := range log {
		if r.path != "/calendar.ics" || r.status != http.StatusOK {
			continue
		}
		distinct[string(r.body)] = true
		renamed = renamed || bytes.Contains(r.body, []byte("Office for Victims of Crime (OVC)"))
		cancelled = cancelled || bytes.Contains(r.body, []byte("SUMMARY:Cancelled: Court technology summit"))
		aGone = aGone || (r.at.After(d3) && r.at.Before(d7) && !bytes.Contains(r.body, []byte("conf-a@")))
	}
	if len(distinct) < 8 || !renamed || !cancelled || !aGone || len(log) < 80 {
		t.Fatalf("the script recorded %d answers, %d versions of the calendar (renamed %v, cancelled %v, A dropped out %v)",
			len(log), len(distinct), renamed, cancelled, aGone)
	}
	check("live")
	// Conditional requests with the ETag of then.
	for _, r := range log {
		if r.status == http.StatusOK && strings.HasSuffix(r.path, ".ics") {
			if st, _, _ := get(t, s, withAsOf(r.path, r.at), map[string]string{"If-None-Match": r.etag}); st != http.StatusNotModified {
				t.Fatalf("%s as of %s with its ETag: %d", r.path, r.at, st)
			}
			break
		}
	}
	for _, bad := range []string{"/calendar.ics?as_of=yesterday", "/calendar.ics?as_of=" + url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)),
		"/api/v1/conferences?as_of=2030-01-01T00:00:00Z&as_of=2030-01-02T00:00:00Z"} {
		if st, hd, body := get(t, s, bad, nil); st != http.StatusBadRequest || !strings.Contains(hd.Get("Content-Type"), "problem+json") ||
			!strings.Contains(string(body), "as_of") {
			t.Fatalf("%s: %d %s", bad, st, body)
		}
	}

	// After a restart (nothing cached anywhere), and after a rebuild.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = startAsOfService(t, dir)
	check("after a restart")
	if _, err := Rebuild(context.Background(), s.js, 1, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	check("after a rebuild")
}

func nextYearDate(month, day int) string {
	return fmt.Sprintf("%d-%02d-%02d", time.Now().Year()+1, month, day)
}
