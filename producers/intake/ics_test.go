package intake

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
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/ical"
	"github.com/justiceevents/jevents/internal/natstest"
)

// corpusDir holds the public parser test calendars (see its ORIGIN.md),
// kept with the decoder that reads them.
const corpusDir = "../../ical/testdata/corpus"

// sample reads a test file with its placeholders filled: {{YEAR}} is next
// year, so that the dates stay inside intake's range whenever the tests
// run; {{LONG}} is a title longer than intake allows.
func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.ReplaceAll(b, []byte("{{YEAR}}"), []byte(fmt.Sprint(time.Now().Year()+1)))
	return bytes.ReplaceAll(b, []byte("{{LONG}}"), []byte(strings.Repeat("Long title ", domain.MaxTitleLength/10)))
}

func defaults(t testing.TB, query string) icsDefaults {
	t.Helper()
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	d, err := parseICSQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestParsePlace: US addresses as before, places abroad with their
// country (never a state from a country's code), the ambiguity rule of
// parsePlace, and what cannot be placed.
func TestParsePlace(t *testing.T) {
	type L = domain.LocationInput
	for _, tt := range []struct {
		in, zone string
		want     L
		refused  bool
	}{
		{"Baltimore Convention Center, 1 W Pratt St, Baltimore, MD 21201", "", L{Venue: "Baltimore Convention Center, 1 W Pratt St", City: "Baltimore", Region: "MD", Country: "US"}, false},
		{"Hyatt Regency Chicago, 151 E Wacker Dr, Chicago, IL 60601, USA", "", L{Venue: "Hyatt Regency Chicago, 151 E Wacker Dr", City: "Chicago", Region: "IL", Country: "US"}, false},
		{"Denver, CO", "", L{City: "Denver", Region: "CO", Country: "US"}, false},
		{"Washington, District of Columbia 20001-1234", "", L{City: "Washington", Region: "DC", Country: "US"}, false},
		{"Room 4, Justice Center, Springfield, Illinois", "", L{Venue: "Room 4, Justice Center", City: "Springfield", Region: "IL", Country: "US"}, false},
		{"Line one\nBaltimore, MD", "", L{Venue: "Line one", City: "Baltimore", Region: "MD", Country: "US"}, false},
		{"Baltimore, MD", "America/New_York", L{City: "Baltimore", Region: "MD", Country: "US"}, false},
		{" , ,", "", L{}, false},
		// The places.
		{"Messe Berlin, Berlin, DE", "", L{Venue: "Messe Berlin", City: "Berlin", Country: "DE"}, false},
		{"Messe Berlin, Berlin, DE", "Europe/Berlin", L{Venue: "Messe Berlin", City: "Berlin", Country: "DE"}, false},
		{"Vancouver Convention Centre, Vancouver, CA", "America/Vancouver", L{Venue: "Vancouver Convention Centre", City: "Vancouver", Country: "CA"}, false},
		{"Vancouver Convention Centre, Vancouver, CA", "America/Los_Angeles", L{Venue: "Vancouver Convention Centre", City: "Vancouver", Region: "CA", Country: "US"}, false},
		{"Vancouver Convention Centre, Vancouver, BC, CA", "", L{Venue: "Vancouver Convention Centre", City: "Vancouver", Region: "BC", Country: "CA"}, false},
		{"Chennai Trade Centre, Chennai, IN", "Asia/Kolkata", L{Venue: "Chennai Trade Centre", City: "Chennai", Country: "IN"}, false},
		{"Chennai Trade Centre, Chennai, Tamil Nadu, India", "", L{Venue: "Chennai Trade Centre", City: "Chennai", Region: "Tamil Nadu", Country: "IN"}, false},
		{"Expo Georgia, Tbilisi, Georgia", "", L{Venue: "Expo Georgia", City: "Tbilisi", Country: "GE"}, false},
		{"Expo Georgia, Tbilisi, GE", "", L{Venue: "Expo Georgia", City: "Tbilisi", Country: "GE"}, false},
		{"Georgia World Congress Center, Atlanta, Georgia", "America/New_York", L{Venue: "Georgia World Congress Center", City: "Atlanta", Region: "GA", Country: "US"}, false},
		{"Georgia World Congress Center, Atlanta, GA 30313", "", L{Venue: "Georgia World Congress Center", City: "Atlanta", Region: "GA", Country: "US"}, false},
		{"Palais des Congrès, 2 Place de la Porte Maillot, 75017 Paris, France", "", L{Venue: "Palais des Congrès, 2 Place de la Porte Maillot", City: "Paris", Country: "FR"}, false},
		{"Metro Toronto Convention Centre, 255 Front St W, Toronto, ON M5V 2W6, Canada", "", L{Venue: "Metro Toronto Convention Centre, 255 Front St W", City: "Toronto", Region: "ON", Country: "CA"}, false},
		{"QEII Centre, Broad Sanctuary, London SW1P 3EE, United Kingdom", "", L{Venue: "QEII Centre, Broad Sanctuary", City: "London", Country: "GB"}, false},
		{"QEII Centre, London, UK", "", L{Venue: "QEII Centre", City: "London", Country: "GB"}, false},
		{"MiCo, Viale Eginardo, 20149 Milano MI, Italia", "", L{Venue: "MiCo, Viale Eginardo", City: "Milano", Region: "MI", Country: "IT"}, false},
		{"Centro de Convenções, São Paulo - SP, 01310-100, Brasil", "", L{Venue: "Centro de Convenções", City: "São Paulo", Region: "SP", Country: "BR"}, false},
		{"IFEMA, Av. del Partenón 5, 28042 Madrid, España", "", L{Venue: "IFEMA, Av. del Partenón 5", City: "Madrid", Country: "ES"}, false},
		{"Kongresshaus, Zürich, CHE", "", L{Venue: "Kongresshaus", City: "Zürich", Country: "CH"}, false},
		{"Toronto, Ontario, Canada", "", L{City: "Toronto", Region: "Ontario", Country: "CA"}, false},
		{"Congress Center Hamburg, Hamburg, Deutschland", "", L{Venue: "Congress Center Hamburg", City: "Hamburg", Country: "DE"}, false},
		{"Palais des congrès, Montréal", "America/Toronto", L{Venue: "Palais des congrès", City: "Montréal", Country: "CA"}, false},
		{"Tribstrül", "America/Chicago", L{City: "Tribstrül", Country: "US"}, false},
		// Nothing says where: refused, saying what to send.
		{"Palais des congrès, Montréal", "", L{}, true},
		{"Tribstrül", "UTC", L{}, true},
	} {
		got, msg := parsePlace(tt.in, placeHints{zone: tt.zone, at: time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)})
		if tt.refused {
			if msg == "" || !strings.Contains(msg, "country") {
				t.Errorf("parsePlace(%q, %q) = %+v, want a refusal saying what to send", tt.in, tt.zone, *got)
			}
			continue
		}
		if msg != "" || *got != tt.want {
			t.Errorf("parsePlace(%q, %q) = %+v %q, want %+v", tt.in, tt.zone, *got, msg, tt.want)
		}
	}
}

func TestParseICSQuery(t *testing.T) {
	d := defaults(t, "contact=pat@example.org&contact_name=Pat&format=online&topic=courts&topic=Reentry&sponsor=BJS&timezone=America/Chicago")
	if d.contact.Email != "pat@example.org" || d.format != "online" || !slices.Equal(d.topics, []string{"courts", "reentry"}) ||
		d.zone.String() != "America/Chicago" || !slices.Equal(d.sponsors, []string{"BJS"}) {
		t.Fatalf("%+v", d)
	}
	for _, bad := range []string{"contact=nope", "format=telepathy", "topic=gardening", "timezone=Mars/Base", "timezone=Local", "title=x"} {
		q, _ := url.ParseQuery(bad)
		_, err := parseICSQuery(q)
		var he *httpapi.Error
		if !errors.As(err, &he) || he.Status != http.StatusBadRequest || len(he.Fields) == 0 {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// prepared runs the pure part of .ics intake on a file.
func prepared(t *testing.T, body []byte, query string, now time.Time) ([]domain.Submission, *ICSError, error) {
	t.Helper()
	_, subs, err := prepareICS(body, defaults(t, query), now)
	var ie *ICSError
	if errors.As(err, &ie) {
		return nil, ie, nil
	}
	return subs, nil, err
}

func fieldsOf(it icsItemError) []string {
	var out []string
	for _, f := range it.Error.Errors {
		out = append(out, f.Field+":"+f.Code)
	}
	return out
}

// TestICSMapping: how the VEVENTs of an Outlook/Google-style export become
// submissions, with the defaults from the query.
func TestICSMapping(t *testing.T) {
	year := time.Now().Year() + 1
	im, err := ical.Import(sample(t, "outlook.ics"), ical.ImportOptions{Limits: icsLimits, ZoneAliases: domain.ZoneAlias})
	if err != nil || len(im.Events) != 3 {
		t.Fatalf("%v", err)
	}
	d := defaults(t, "topic=courts")
	var subs []domain.Submission
	for i, ev := range im.Events {
		sub, fields := icsSubmission(ev, d, im.DefaultZone, time.Now())
		if i == 2 {
			// No ORGANIZER and no ?contact.
			if len(fields) != 1 || fields[0].Field != "ORGANIZER" || fields[0].Code != "required" {
				t.Fatalf("event 2: %+v", fields)
			}
			sub, fields = icsSubmission(ev, defaults(t, "topic=courts&contact=pat@example.org"), im.DefaultZone, time.Now())
		}
		if len(fields) > 0 {
			t.Fatalf("event %d: %+v", i, fields)
		}
		subs = append(subs, sub)
	}
	forum, webinar, meeting := subs[0].Details, subs[1].Details, subs[2].Details
	if forum.Title != "Mid-Atlantic Pretrial Justice Forum" || forum.Timezone != "America/New_York" ||
		forum.Start != fmt.Sprintf("%d-09-15T09:00:00", year) || forum.End != fmt.Sprintf("%d-09-16T17:00:00", year) ||
		forum.Format != domain.FormatInPerson || forum.Location != (domain.Location{Venue: "Baltimore Convention Center, 1 W Pratt St", City: "Baltimore", Region: "MD", Country: "US"}) ||
		!slices.Equal(forum.Topics, []string{"courts"}) || forum.Description != "Join prosecutors, defenders and judges for two days on pretrial justice.\n\nAgenda: https://example.org/agenda" {
		t.Fatalf("forum: %+v", forum)
	}
	if subs[0].Contact != (domain.Contact{Name: "Pat Organiser", Email: "pat@example.org"}) {
		t.Fatalf("contact from ORGANIZER: %+v", subs[0].Contact)
	}
	if !webinar.AllDay || webinar.Start != fmt.Sprintf("%d-10-20", year) || webinar.End != fmt.Sprintf("%d-10-21", year) ||
		webinar.Format != domain.FormatOnline || !slices.Equal(webinar.Topics, []string{"courts", "juvenile-justice"}) || webinar.URL != "https://example.org/webinars" {
		t.Fatalf("webinar: %+v", webinar)
	}
	// UTC times without ?timezone or X-WR-TIMEZONE stay in UTC; LOCATION
	// and CONFERENCE make it hybrid.
	if meeting.Timezone != "UTC" || meeting.Start != fmt.Sprintf("%d-06-03T14:00:00", year) || meeting.End != fmt.Sprintf("%d-06-03T22:00:00", year) ||
		meeting.Format != domain.FormatHybrid || meeting.Location.City != "Chicago" || meeting.Location.Region != "IL" || meeting.Title != "Victim Compensation Administrators Meeting — 第十回 ⚖️" {
		t.Fatalf("meeting: %+v", meeting)
	}
}

func TestICSDefaults(t *testing.T) {
	body := sample(t, "outlook.ics")
	// ?contact wins over ORGANIZER; ?timezone shows UTC times in a zone;
	// ?format is only for events that describe neither a place nor a way
	// to join: each of these describes its own (in person, online, hybrid).
	subs, ie, err := prepared(t, body, "topic=courts&contact=editor@example.org&timezone=America/Chicago&format=online&sponsor=Office+for+Victims+of+Crime", time.Now())
	if err != nil || ie != nil {
		t.Fatalf("%v %+v", err, ie)
	}
	year := time.Now().Year() + 1
	for i, s := range subs {
		want := []domain.Format{domain.FormatInPerson, domain.FormatOnline, domain.FormatHybrid}[i]
		if s.Contact.Email != "editor@example.org" || s.Details.Format != want || len(s.Details.Sponsors) != 1 {
			t.Fatalf("event %d: format %s, want %s: %+v", i, s.Details.Format, want, s)
		}
	}
	if m := subs[2].Details; m.Timezone != "America/Chicago" || m.Start != fmt.Sprintf("%d-06-03T09:00:00", year) {
		t.Fatalf("UTC time in ?timezone: %+v", m)
	}
	// Without ?topic the first event has no topic: refused, named after
	// CATEGORIES, with the reason.
	_, ie, err = prepared(t, body, "", time.Now())
	if err != nil || ie == nil || len(ie.Items) != 2 || ie.Events != 3 {
		t.Fatalf("%v %+v", err, ie)
	}
	if got := fieldsOf(ie.Items[0]); !slices.Equal(got, []string{"CATEGORIES:required"}) {
		t.Fatalf("first event: %v", got)
	}
	if got := fieldsOf(ie.Items[1]); !slices.Equal(got, []string{"CATEGORIES:required", "ORGANIZER:required"}) || ie.Items[1].UID != "google-3@example.org" {
		t.Fatalf("third event: %v %+v", got, ie.Items[1])
	}
}

// TestICSPartialFile: one VEVENT is fine, the others are not: the whole
// file is refused, each bad VEVENT listed with what is wrong with it.
func TestICSPartialFile(t *testing.T) {
	_, ie, err := prepared(t, sample(t, "mixed.ics"), "contact=pat@example.org", time.Now())
	if err != nil || ie == nil {
		t.Fatalf("%v %+v", err, ie)
	}
	want := map[string][]string{
		"recurring@example.org":    {"RRULE:unsupported"},
		"no-start@example.org":     {"DTSTART:required"},
		"unknown-zone@example.org": {"DTSTART:unknown_zone"},
		"too-long@example.org":     {"LOCATION:required", "SUMMARY:too_long"},
	}
	if len(ie.Items) != len(want) || ie.Events != 5 {
		t.Fatalf("%d items of %d events: %+v", len(ie.Items), ie.Events, ie.Items)
	}
	for _, it := range ie.Items {
		if got := fieldsOf(it); !slices.Equal(got, want[it.UID]) {
			t.Errorf("%s (index %d): %v, want %v", it.UID, it.Index, got, want[it.UID])
		}
	}
}

// TestICSCorpus maps every file of the public corpus. The corpus events
// are dated 1997–2014, so as of today each VEVENT that can be read is
// refused for its date; as of the day of each file (2014-02-04 is after
// all but one), the mapping itself is checked.
func TestICSCorpus(t *testing.T) {
	tests := []struct {
		file   string
		status int              // of the whole file, 0: items
		items  map[int][]string // index → fields, as of the file's day
		day    time.Time        // the file's day; default 2014-02-04
	}{
		{file: "icaljs__blank_line_mid.ics", status: 422},
		{file: "icaljs__google_birthday.ics", items: map[int][]string{0: {"RRULE:unsupported", "RDATE:unsupported"},
			1: {"RECURRENCE-ID:unsupported"}, 2: {"RECURRENCE-ID:unsupported"}, 3: {"RECURRENCE-ID:unsupported"}}},
		{file: "icaljs__parserv2.ics", items: map[int][]string{0: {"RRULE:unsupported"}}},
		{file: "icaljs__recur_instances.ics", items: map[int][]string{0: {"RRULE:unsupported", "RDATE:unsupported"},
			1: {"RECURRENCE-ID:unsupported"}, 2: {"RECURRENCE-ID:unsupported"}}},
		{file: "libical__2445.ics", status: 400},
		{file: "pyicalendar__big_bad_calendar.ics", status: 400},
		{file: "pyicalendar__created_calendar_with_unicode_fields.ics", items: map[int][]string{0: {"LOCATION:unknown_place"}, 1: {"DTEND:required"}, 2: {"DTSTART:required"}}, day: time.Date(2010, 10, 1, 0, 0, 0, 0, time.UTC)},
		{file: "pyicalendar__fuzz_testcase_vtimezone_lone_cr.ics", status: 400},
		{file: "pyicalendar__issue_127_categories_with_commas.ics", items: map[int][]string{0: {"DTEND:required"}}},
		{file: "pyicalendar__issue_722_missing_timezones.ics", items: map[int][]string{0: {"RDATE:unsupported"},
			1: {"RECURRENCE-ID:unsupported", "DTSTART:required"}, 2: {"RDATE:unsupported", "DTSTART:required"}}},
	}
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.ics"))
	if len(files) != len(tests) {
		t.Fatalf("%d corpus files, %d cases", len(files), len(tests))
	}
	const query = "contact=pat@example.org&topic=courts&format=online"
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(corpusDir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			fileDay := tt.day
			if fileDay.IsZero() {
				fileDay = time.Date(2014, 2, 4, 12, 0, 0, 0, time.UTC)
			}
			subs, ie, err := prepared(t, body, query, fileDay)
			if tt.status != 0 {
				var he *httpapi.Error
				if !errors.As(err, &he) || he.Status != tt.status {
					t.Fatalf("error %v, want status %d", err, tt.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[int][]string{}
			if ie != nil {
				for _, it := range ie.Items {
					got[it.Index] = fieldsOf(it)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.items) {
				t.Fatalf("problems as of the file's day:\n got %v\nwant %v", got, tt.items)
			}
			if ie == nil && len(subs) == 0 {
				t.Fatal("nothing taken, nothing refused")
			}
			// As of today, everything that could be read is too old.
			_, ie, err = prepared(t, body, query, time.Now())
			if err != nil || ie == nil {
				t.Fatalf("accepted as of today: %v", err)
			}
			for _, it := range ie.Items {
				if len(tt.items[it.Index]) == 0 && !slices.Contains(fieldsOf(it), "DTSTART:out_of_range") {
					t.Errorf("event %d: %v, want DTSTART:out_of_range", it.Index, fieldsOf(it))
				}
			}
		})
	}
	// The unicode file's first VEVENT, as of its day: text intact.
	body, err := os.ReadFile(filepath.Join(corpusDir, "pyicalendar__created_calendar_with_unicode_fields.ics"))
	if err != nil {
		t.Fatal(err)
	}
	im, err := ical.Import(body, ical.ImportOptions{Limits: icsLimits, ZoneAliases: domain.ZoneAlias})
	if err != nil {
		t.Fatal(err)
	}
	// Its LOCATION "Tribstrül" names no country and its times are in UTC:
	// it cannot be placed (listed above) unless ?timezone says where.
	sub, fields := icsSubmission(im.Events[0], defaults(t, query+"&timezone=Europe/Berlin"), im.DefaultZone, time.Date(2010, 10, 1, 0, 0, 0, 0, time.UTC))
	if len(fields) > 0 || sub.Details.Title != "Non-ASCII Test: ÄÖÜ äöü €" || sub.Details.Location.City != "Tribstrül" ||
		sub.Details.Location.Country != "DE" || sub.Details.Start != "2010-10-10T12:00:00" || sub.Details.Timezone != "Europe/Berlin" {
		t.Fatalf("%+v %+v", sub.Details, fields)
	}
}

// newIntake starts an intake on a real embedded NATS server behind a real
// HTTP server.
func newIntake(t *testing.T) (*httptest.Server, jetstream.JetStream, *eventlog.Log) {
	t.Helper()
	_, _, js := natstest.Start(t)
	if _, err := eventlog.EnsureStream(context.Background(), js, eventlog.StreamConfig{MaxBytes: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	log := eventlog.New(js, nil)
	mux := http.NewServeMux()
	_ = httpapi.Handle(mux, New(log, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil).Routes(), nil, nil) // public routes only
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, js, log
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func post(t *testing.T, srv *httptest.Server, query, key, contentType string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest("POST", srv.URL+"/api/v1/conferences?"+query, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

func messages(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), domain.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// TestICSSubmitOverHTTP submits a real export through POST
// /api/v1/conferences with Content-Type text/calendar: each VEVENT becomes
// a pending conference in the log; a retry adds nothing; the key reused for
// another file or for JSON is refused before anything is appended.
func TestICSSubmitOverHTTP(t *testing.T) {
	srv, js, log := newIntake(t)
	body := sample(t, "outlook.ics")
	const query = "topic=courts&contact=pat@example.org"
	a := post(t, srv, query, "file-1", "text/calendar; charset=utf-8", body)
	if a.status != http.StatusAccepted {
		t.Fatalf("%d %s", a.status, a.body)
	}
	var rec ICSReceipt
	if err := json.Unmarshal(a.body, &rec); err != nil || len(rec.Items) != 3 {
		t.Fatalf("%v %s", err, a.body)
	}
	for i, it := range rec.Items {
		if it.Index != i || it.Status != domain.StatusPending || it.Duplicate || it.Links.Self != "/api/v1/conferences/"+it.ID {
			t.Fatalf("item %d: %+v", i, it)
		}
		c, _, err := eventlog.Fold[domain.Conference](context.Background(), log, it.ID)
		if err != nil || c.Status != domain.StatusPending || c.Contact.Email != "pat@example.org" {
			t.Fatalf("item %d in the log: %+v %v", i, c, err)
		}
	}
	// Their ids derive from their UIDs by their contact, not from the key.
	if rec.Items[1].ID != ConferenceID(uidKey(domain.Submission{Contact: domain.Contact{Email: "pat@example.org"}}, "outlook-2@example.org")) {
		t.Fatalf("ids do not derive from the UIDs: %+v", rec.Items)
	}
	if rec.Items[2].UID != "google-3@example.org" {
		t.Fatalf("uid %q", rec.Items[2].UID)
	}
	c, _, _ := eventlog.Fold[domain.Conference](context.Background(), log, rec.Items[0].ID)
	if c.Details.Title != "Mid-Atlantic Pretrial Justice Forum" || c.Details.Timezone != "America/New_York" {
		t.Fatalf("%+v", c.Details)
	}
	before := messages(t, js)

	// The same file again: the same conferences, nothing appended.
	again := post(t, srv, query, "file-1", "text/calendar", body)
	var rec2 ICSReceipt
	_ = json.Unmarshal(again.body, &rec2)
	if again.status != http.StatusAccepted || len(rec2.Items) != 3 || rec2.Items[1].ID != rec.Items[1].ID || rec2.Items[2].Version != rec.Items[2].Version {
		t.Fatalf("retry: %d %s", again.status, again.body)
	}
	if messages(t, js) != before {
		t.Fatal("a retried file appended events")
	}

	// A VEVENT without a UID keeps the key's id, and the key reused for a
	// different such file is refused, nothing appended.
	noUID := bytes.Replace(sample(t, "outlook.ics"), []byte("UID:google-3@example.org\r\n"), nil, 1)
	noUID = bytes.Replace(noUID, []byte("UID:google-3@example.org\n"), nil, 1)
	a = post(t, srv, query, "file-2", "text/calendar", noUID)
	var rec3 ICSReceipt
	_ = json.Unmarshal(a.body, &rec3)
	if a.status != http.StatusAccepted || rec3.Items[2].ID != ConferenceID("file-2#2") || rec3.Items[2].UID != "" {
		t.Fatalf("no UID: %d %s", a.status, a.body)
	}
	before = messages(t, js)
	other := bytes.Replace(noUID, []byte("Victim Compensation"), []byte("Witness Compensation"), 1)
	if a := post(t, srv, query, "file-2", "text/calendar", other); a.status != http.StatusUnprocessableEntity || !bytes.Contains(a.body, []byte("Idempotency-Key")) {
		t.Fatalf("key reused for another file: %d %s", a.status, a.body)
	}
	if messages(t, js) != before {
		t.Fatal("a refused request appended events")
	}
}

// TestICSReimportByUID: the same file sent again, with a new key or none,
// creates nothing; a changed VEVENT is the organiser's proposal on its
// conference, pending or published (same id, one open, the newer
// replacing it; intake never updates a conference itself); once
// closed (cancelled), a duplicate flagged in the queue (ReimportOf),
// replaced while pending by later sends; never a second conference per UID
// otherwise.
func TestICSReimportByUID(t *testing.T) {
	srv, js, log := newIntake(t)
	ctx := context.Background()
	body := sample(t, "google-international.ics")
	const query = "contact=forum@example.de"
	first := post(t, srv, query, "send-1", "text/calendar", body)
	var rec ICSReceipt
	if err := json.Unmarshal(first.body, &rec); first.status != http.StatusAccepted || err != nil || len(rec.Items) != 3 {
		t.Fatalf("%d %s", first.status, first.body)
	}
	before := messages(t, js)
	for _, key := range []string{"send-2", ""} {
		a := post(t, srv, query, key, "text/calendar", body)
		var again ICSReceipt
		_ = json.Unmarshal(a.body, &again)
		if a.status != http.StatusAccepted || len(again.Items) != 3 {
			t.Fatalf("resend %q: %d %s", key, a.status, a.body)
		}
		for i, it := range again.Items {
			if it.ID != rec.Items[i].ID || !it.Duplicate {
				t.Fatalf("resend %q item %d: %+v, want %s as it was", key, i, it, rec.Items[i].ID)
			}
		}
	}
	if messages(t, js) != before {
		t.Fatal("resending the same file appended events")
	}

	// Changed: the pending conference gets the file's version as its
	// organiser's proposal, for the editors; its details stay.
	changed := bytes.Replace(body, []byte("SUMMARY:European Forum on Restorative Justice"), []byte("SUMMARY:European Forum on Restorative Justice 2"), 1)
	a := post(t, srv, query, "", "text/calendar", changed)
	var rep ICSReceipt
	_ = json.Unmarshal(a.body, &rep)
	if a.status != http.StatusAccepted || rep.Items[0].ID != rec.Items[0].ID || rep.Items[0].Duplicate || !rep.Items[1].Duplicate {
		t.Fatalf("replacement: %d %s", a.status, a.body)
	}
	if got := messages(t, js) - before; got != 1 {
		t.Fatalf("a replacement appended %d events, want 1 (conference.change_proposed)", got)
	}
	records, err := log.Load(ctx, domain.AggregateConference, rec.Items[0].ID)
	if err != nil || len(records) != 2 {
		t.Fatalf("%d records %v", len(records), err)
	}
	if p, ok := records[1].Event.(domain.ConferenceChangeProposed); !ok || p.Details.Title != "European Forum on Restorative Justice 2" {
		t.Fatalf("second event %+v", records[1].Event)
	}

	// Published: the next version is the organiser's proposal on the same
	// conference (one open at a time, the newer replacing it); the same
	// file again proposes nothing new.
	c, _, err := eventlog.Fold[domain.Conference](ctx, log, rec.Items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	env, _ := domain.NewEnvelope("approve-1", c.ID, "editor", time.Now(), domain.ConferenceApproved{})
	if _, err := log.Append(ctx, env, "approve-1", c.Version); err != nil {
		t.Fatal(err)
	}
	for n, title := range []string{"European Forum on Restorative Justice 3", "European Forum on Restorative Justice 4", "European Forum on Restorative Justice 4"} {
		next := bytes.Replace(body, []byte("SUMMARY:European Forum on Restorative Justice"), []byte("SUMMARY:"+title), 1)
		before := messages(t, js)
		a := post(t, srv, query, "", "text/calendar", next)
		var r ICSReceipt
		_ = json.Unmarshal(a.body, &r)
		if a.status != http.StatusAccepted || r.Items[0].ID != rec.Items[0].ID || r.Items[0].Status != domain.StatusApproved {
			t.Fatalf("re-import of a published conference: %d %s", a.status, a.body)
		}
		c, _, err := eventlog.Fold[domain.Conference](ctx, log, rec.Items[0].ID)
		if err != nil || c.Proposal == nil || c.Proposal.Details.Title != title || c.Proposal.Source != "ics" ||
			c.Details.Title != "European Forum on Restorative Justice" || c.Status != domain.StatusApproved {
			t.Fatalf("after re-importing %q: %+v %v", title, c, err)
		}
		want, dup := uint64(1), false
		if n == 2 { // the same file again
			want, dup = 0, true
		}
		if got := messages(t, js) - before; got != want || r.Items[0].Duplicate != dup {
			t.Fatalf("re-importing %q appended %d events (duplicate %v), want %d", title, got, r.Items[0].Duplicate, want)
		}
	}
	// Closed (cancelled): no proposal is taken; the file's version is a
	// flagged duplicate, one per UID.
	c, _, _ = eventlog.Fold[domain.Conference](ctx, log, rec.Items[0].ID)
	env, _ = domain.NewEnvelope("cancel-1", c.ID, "editor", time.Now(), domain.ConferenceCancelled{})
	if _, err := log.Append(ctx, env, "cancel-1", c.Version); err != nil {
		t.Fatal(err)
	}
	var dupID string
	for n, title := range []string{"European Forum on Restorative Justice 5", "European Forum on Restorative Justice 6"} {
		next := bytes.Replace(body, []byte("SUMMARY:European Forum on Restorative Justice"), []byte("SUMMARY:"+title), 1)
		a := post(t, srv, query, "", "text/calendar", next)
		var r ICSReceipt
		_ = json.Unmarshal(a.body, &r)
		if a.status != http.StatusAccepted || r.Items[0].ID == rec.Items[0].ID || r.Items[0].Status != domain.StatusPending {
			t.Fatalf("re-import of a cancelled conference: %d %s", a.status, a.body)
		}
		if n == 0 {
			dupID = r.Items[0].ID
		} else if r.Items[0].ID != dupID {
			t.Fatalf("a second duplicate %s beside %s", r.Items[0].ID, dupID)
		}
		records, err := log.Load(ctx, domain.AggregateConference, dupID)
		if err != nil || len(records) != n+1 {
			t.Fatalf("duplicate's records: %d %v", len(records), err)
		}
		sub, ok := records[0].Event.(domain.ConferenceSubmitted)
		if !ok || sub.ReimportOf != rec.Items[0].ID {
			t.Fatalf("not flagged: %+v", records[0].Event)
		}
	}

	// Another organiser's same UID is another event.
	a = post(t, srv, "contact=other@example.org", "", "text/calendar", body)
	var o ICSReceipt
	_ = json.Unmarshal(a.body, &o)
	if a.status != http.StatusAccepted || o.Items[0].ID == rec.Items[0].ID || o.Items[0].ID == dupID || o.Items[0].Duplicate {
		t.Fatalf("another contact: %d %s", a.status, a.body)
	}

	// A file naming one UID twice is refused.
	twice := bytes.Replace(body, []byte("UID:4h2j6example@google.com"), []byte("UID:0b7l0v9mk1r2q3example@google.com"), 1)
	if a := post(t, srv, query, "", "text/calendar", twice); a.status != http.StatusUnprocessableEntity || !bytes.Contains(a.body, []byte(`"UID"`)) {
		t.Fatalf("UID twice: %d %s", a.status, a.body)
	}
}

func TestICSRefusalsOverHTTP(t *testing.T) {
	srv, js, _ := newIntake(t)
	before := messages(t, js)
	var many bytes.Buffer
	many.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
	for i := range MaxICSEvents + 1 {
		fmt.Fprintf(&many, "BEGIN:VEVENT\r\nUID:%d\r\nDTSTART;VALUE=DATE:%d0501\r\nSUMMARY:x\r\nEND:VEVENT\r\n", i, time.Now().Year()+1)
	}
	many.WriteString("END:VCALENDAR\r\n")
	bigEvent := []byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDESCRIPTION:" + strings.Repeat("a\r\n ", 70<<10/3) + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	tests := []struct {
		name   string
		query  string
		ctype  string
		body   []byte
		status int
		want   string // in the answer
	}{
		{"partial file", "contact=pat@example.org", "text/calendar", sample(t, "mixed.ics"), 422, `"uid":"recurring@example.org"`},
		{"no events", "", "text/calendar", []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"), 422, "VEVENT"},
		{"cancel message", "", "text/calendar", []byte("BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nBEGIN:VEVENT\r\nUID:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"), 422, "METHOD:CANCEL"},
		{"malformed", "", "text/calendar", []byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nX;A=\"b\"c:d\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"), 400, "line 3"},
		{"not utf-8", "", "text/calendar", []byte("BEGIN:VCALENDAR\r\nSUMMARY:caf\xe9\r\nEND:VCALENDAR\r\n"), 400, "UTF-8"},
		{"too many events", "", "text/calendar", many.Bytes(), 422, "at most 50 VEVENTs"},
		{"event too large", "", "text/calendar", bigEvent, 422, "VEVENT"},
		{"file too large", "", "text/calendar", bytes.Repeat([]byte("X:y\r\n"), MaxICSBytes/5+10), 413, "at most"},
		{"unknown parameter", "title=x", "text/calendar", sample(t, "outlook.ics"), 400, `"field":"title"`},
		{"bad contact", "contact=nobody", "text/calendar", sample(t, "outlook.ics"), 400, `"field":"contact"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := post(t, srv, tt.query, "", tt.ctype, tt.body)
			if a.status != tt.status || a.header.Get("Content-Type") != "application/problem+json" || !bytes.Contains(a.body, []byte(tt.want)) {
				t.Fatalf("%d %s\n%s", a.status, a.header.Get("Content-Type"), a.body)
			}
		})
	}
	// The partial file's answer lists every bad VEVENT, in the shape the
	// CLI prints.
	a := post(t, srv, "contact=pat@example.org", "", "text/calendar", sample(t, "mixed.ics"))
	var p struct {
		Title string `json:"title"`
		Items []struct {
			Index int    `json:"index"`
			UID   string `json:"uid"`
			Error struct {
				Title  string              `json:"title"`
				Errors []domain.FieldError `json:"errors"`
			} `json:"error"`
		} `json:"items"`
	}
	if err := json.Unmarshal(a.body, &p); err != nil || len(p.Items) != 4 || p.Items[0].Index != 1 || p.Items[0].Error.Errors[0].Field != "RRULE" {
		t.Fatalf("%v %s", err, a.body)
	}
	if messages(t, js) != before {
		t.Fatal("a refused file appended events")
	}
}

// FuzzICSIntake: any bytes sent as an .ics file are either refused with an
// answer for the file or for its VEVENTs, or give submissions that pass
// every rule of JSON intake. Never a panic.
func FuzzICSIntake(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.ics"))
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, name := range []string{"outlook.ics", "mixed.ics"} {
		f.Add(sample(f, name))
	}
	d := defaults(f, "contact=pat@example.org&topic=courts")
	now := time.Now()
	f.Fuzz(func(t *testing.T, b []byte) {
		_, subs, err := prepareICS(b, d, now)
		var (
			ie *ICSError
			he *httpapi.Error
		)
		switch {
		case errors.As(err, &ie):
			if len(ie.Items) == 0 {
				t.Fatal("ICSError without items")
			}
			for _, it := range ie.Items {
				if len(it.Error.Errors) == 0 {
					t.Fatalf("item %d refused without a reason", it.Index)
				}
			}
		case errors.As(err, &he):
			if he.Status < 400 || he.Status >= 500 {
				t.Fatalf("status %d for the file", he.Status)
			}
		case err != nil:
			t.Fatalf("unexpected error %T %v", err, err)
		default:
			for _, s := range subs {
				if _, err := domain.ValidateDetails(s.Details.Input(), now); err != nil {
					t.Fatalf("a taken VEVENT does not validate: %v", err)
				}
			}
		}
	})
}

// TestICSWorldwide: realistic exports (testdata/README.md says what each
// imitates) are placed in their countries, never a country's code read as
// a US state, and their online meetings recognised per VEVENT; ?format=
// only decides for the event that describes neither.
func TestICSWorldwide(t *testing.T) {
	type want struct {
		format                       domain.Format
		city, region, country, venue string
		zone                         string
	}
	for _, tt := range []struct {
		file, query string
		want        []want
	}{
		{"google-international.ics", "", []want{
			{domain.FormatHybrid, "Berlin", "", "DE", "Messe Berlin, Messedamm 22", "Europe/Berlin"},
			{domain.FormatInPerson, "Tbilisi", "", "GE", "Expo Georgia", ""},
			{domain.FormatOnline, "", "", "", "", "Europe/Berlin"}, // UTC times shown in X-WR-TIMEZONE
		}},
		{"outlook-windows-zones.ics", "", []want{
			{domain.FormatInPerson, "Vancouver", "", "CA", "Vancouver Convention Centre, 1055 Canada Pl", "America/Los_Angeles"},
			{domain.FormatInPerson, "Chennai", "", "IN", "Chennai Trade Centre", "Asia/Kolkata"},
		}},
		{"teams-invitation.ics", "format=in_person", []want{
			{domain.FormatOnline, "", "", "", "", "America/New_York"},
		}},
		{"zoom-webex.ics", "format=online", []want{
			{domain.FormatOnline, "", "", "", "", "UTC"},
			{domain.FormatHybrid, "Chicago", "IL", "US", "Great Hall, Union Station, 225 S Canal St", "America/Chicago"},
			{domain.FormatOnline, "", "", "", "", ""},
		}},
		{"apple-international.ics", "", []want{
			{domain.FormatInPerson, "Paris", "", "FR", "Palais des Congrès de Paris, 2 Place de la Porte Maillot", "Europe/Paris"},
			{domain.FormatInPerson, "Madrid", "", "ES", "IFEMA, Av. del Partenón 5", ""},
			{domain.FormatInPerson, "São Paulo", "SP", "BR", "Centro de Convenções Frei Caneca", "America/Sao_Paulo"},
			{domain.FormatInPerson, "Toronto", "ON", "CA", "Metro Toronto Convention Centre, 255 Front St W", "America/Toronto"},
			{domain.FormatInPerson, "London", "", "GB", "QEII Centre, Broad Sanctuary", "Europe/London"},
			{domain.FormatInPerson, "Milano", "MI", "IT", "MiCo, Viale Eginardo", "Europe/Rome"},
		}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			subs, ie, err := prepared(t, sample(t, tt.file), tt.query, time.Now())
			if err != nil || ie != nil {
				if ie != nil {
					for _, it := range ie.Items {
						t.Errorf("%d %s: %+v", it.Index, it.UID, it.Error.Errors)
					}
				}
				t.Fatalf("%v", err)
			}
			if len(subs) != len(tt.want) {
				t.Fatalf("%d submissions, want %d", len(subs), len(tt.want))
			}
			for i, w := range tt.want {
				d := subs[i].Details
				got := want{d.Format, d.Location.City, d.Location.Region, d.Location.Country, d.Location.Venue, d.Timezone}
				if got != w {
					t.Errorf("event %d:\n got %+v\nwant %+v", i, got, w)
				}
			}
		})
	}
	// Without ?format the event that says nothing of where is refused,
	// saying what to send; the others are not.
	_, ie, err := prepared(t, sample(t, "zoom-webex.ics"), "", time.Now())
	if err != nil || ie == nil || len(ie.Items) != 1 || ie.Items[0].UID != "nowhere@example.org" ||
		!strings.Contains(ie.Items[0].Error.Errors[0].Message, "?format=online") {
		t.Fatalf("%v %+v", err, ie)
	}
}
