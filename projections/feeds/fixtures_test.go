package feeds

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the tests do not depend on the host's tz database

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/calendar"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixedNow is the day the golden feeds are rendered on: it places the
// window, so the goldens do not change with the date they are run.
var fixedNow = time.Date(2026, 11, 20, 15, 4, 5, 0, time.UTC)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// source is an in-memory calendar read model, safe for concurrent use.
type source struct {
	mu sync.RWMutex
	m  map[string]calendar.Conference
}

func newSource(cs ...calendar.Conference) *source {
	s := &source{m: map[string]calendar.Conference{}}
	for _, c := range cs {
		s.m[calendar.Key(c.ID)] = c
	}
	return s
}

func (s *source) Get(key string) (calendar.Conference, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.m[key]
	return c, ok
}

func (s *source) Range(fn func(string, calendar.Conference) bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for k, c := range s.m {
		if !fn(k, c) {
			return
		}
	}
}

// put changes a conference as the replica does: the value, then Changed.
func (s *source) put(srv *Server, c calendar.Conference) {
	s.mu.Lock()
	old, had := s.m[calendar.Key(c.ID)]
	s.m[calendar.Key(c.ID)] = c
	s.mu.Unlock()
	srv.Changed(calendar.Key(c.ID), old, had, c)
}

func newServer(t testing.TB, src Source) *Server {
	t.Helper()
	u, err := url.Parse("https://events.test")
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{PublicURL: u, Refresh: 6 * time.Hour}, src, quiet, nil) // the default window: a year
}

// contactEmail is in every fixture submission; it must never be published.
const contactEmail = "private.organiser@example.org"

// record validates a submission as intake does (on fixedNow) and makes it
// a read-model record in the given status.
func record(t testing.TB, id string, status domain.Status, in domain.SubmissionInput) calendar.Conference {
	t.Helper()
	in.Contact = &domain.Contact{Name: "Private Organiser", Email: contactEmail}
	sub, err := domain.ValidateSubmission(in, fixedNow.AddDate(0, -6, 0))
	if err != nil {
		t.Fatalf("fixture %s: %v", id, err)
	}
	submitted := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	c := calendar.Conference{ID: id, Status: status, Version: 10, Details: sub.Details, Submitted: submitted, Updated: submitted}
	if status.Public() {
		c.Published = submitted.Add(2 * time.Hour)
		c.Updated = c.Published
		c.Version = 11
	}
	if status == domain.StatusCancelled {
		c.Sequence, c.Version, c.Updated = 1, 12, submitted.Add(48*time.Hour)
	}
	return c
}

func allDay(title, start, end string, topics ...string) domain.SubmissionInput {
	yes := true
	return domain.SubmissionInput{Title: title, Start: start, End: end, AllDay: &yes, Format: "in_person",
		Location: &domain.LocationInput{Venue: "Convention Center", City: "Baltimore", Region: "MD"}, Topics: topics}
}

func timed(title, zone, start, end, city, region string, topics ...string) domain.SubmissionInput {
	no := false
	return domain.SubmissionInput{Title: title, Start: start, End: end, AllDay: &no, Timezone: zone, Format: "in_person",
		Location: &domain.LocationInput{City: city, Region: region}, Topics: topics}
}

// sample is a small calendar: published, cancelled, pending, rejected,
// past and far-past conferences, all-day and timed ones across the New
// York DST changes, topics whose label holds a comma, sponsors.
func sample(t testing.TB) []calendar.Conference {
	t.Helper()
	summit := allDay("National Conference on Human Trafficking", "2027-06-12", "2027-06-14", "trafficking-in-persons", "victims-of-crime")
	summit.Description = "Three days of training for investigators, prosecutors and victim advocates."
	summit.URL = "https://example.org/trafficking-conference"
	summit.Sponsors = []string{"Office for Victims of Crime", "Polaris Project"}

	bail := timed("Bail Reform Workshop", "America/New_York", "2027-03-14T01:00", "2027-03-14T04:00", "New York", "NY", "courts", "drugs-and-crime")
	bail.Description = "Across the spring-forward: two hours long."

	policing := timed("Policing Data Summit", "America/New_York", "2027-11-07T01:30", "2027-11-07T03:00", "Philadelphia", "PA", "law-enforcement")

	webinar := timed("Webinar: Measuring Reentry Outcomes", "America/Chicago", "2027-01-20T11:00", "2027-01-20T12:30", "", "", "research-and-statistics", "reentry")
	webinar.Format, webinar.Location = "online", nil
	webinar.Sponsors = []string{"Bureau of Justice Statistics"}

	recent := allDay("Autumn Corrections Forum", "2026-10-01", "2026-10-02", "corrections")
	recentCancelled := allDay("Juvenile Justice Roundtable", "2026-10-05", "2026-10-05", "juvenile-justice")
	old := allDay("Summer Tribal Justice Gathering", "2026-07-01", "2026-07-03", "tribal-justice")

	cs := []calendar.Conference{
		record(t, "c-summit", domain.StatusApproved, summit),
		record(t, "c-bail", domain.StatusApproved, bail),
		record(t, "c-policing", domain.StatusCancelled, policing),
		record(t, "c-webinar", domain.StatusApproved, webinar),
		record(t, "c-recent", domain.StatusApproved, recent),
		record(t, "c-recent-cancelled", domain.StatusCancelled, recentCancelled),
		record(t, "c-old", domain.StatusApproved, old),
		record(t, "c-pending", domain.StatusPending, allDay("Pending Conference", "2027-02-01", "2027-02-01", "courts")),
		record(t, "c-rejected", domain.StatusRejected, allDay("Rejected Conference", "2027-02-01", "2027-02-01", "courts")),
	}
	cs[1].Sequence, cs[1].Version, cs[1].Updated = 2, 14, cs[1].Updated.Add(72*time.Hour) // edited twice after approval
	cs[2].CancelReason = "The venue closed; the summit moves to 2028."
	return cs
}

// hostileText is what people could submit to break or inject into a feed,
// or just unusual text: CR/LF, ; , \, HTML, emoji and CJK titles longer
// than a folded line.
var hostileText = []string{
	"Line one\r\nLine two\rLine three\nLine four",
	"semicolon; comma, backslash \\ colon: quote \" — all kept",
	`A literal \n typed by a user, and \\n, \N, \, \;`,
	"<script>alert('xss')</script> &amp; <b>bold</b> <a href=\"javascript:alert(1)\">x</a>",
	"Title\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil@evil.example\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:20270101T000000Z\r\nSUMMARY:Phishing",
	"Title\r\nATTENDEE;CN=Evil:mailto:x@evil.example",
	"Title\nBEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-PT5M\nEND:VALARM",
	"Lone CR\rATTENDEE:mailto:cr@evil.example",
	"第十回 刑事司法国際会議：刑事手続のデジタル化と犯罪被害者支援の新たな課題（東京・霞が関）",
	"⚖️👩‍⚖️🚔 Criminal Justice Summit 🏛️🇺🇸🇨🇦🇲🇽 with a very long emoji title that must fold 🎉🎉🎉🎉🎉",
	"Ends with a backslash \\",
	":starts with a colon;X-PARAM=1:value",
}

// hostile is a calendar of hostile text, timed across the DST edges of
// America/New_York (the spring-forward gap, the repeated hour).
func hostile(t testing.TB) []calendar.Conference {
	t.Helper()
	type span struct{ start, end string }
	spans := []span{
		{"2027-03-14T01:30", "2027-03-14T03:30"}, // across the gap (02:00–03:00 does not exist)
		{"2027-03-14T03:00", "2027-03-14T04:00"}, // the first instant after the gap
		{"2027-11-07T00:30", "2027-11-07T01:30"}, // ends in the repeated hour (first occurrence)
		{"2027-11-07T01:30", "2027-11-07T03:00"}, // starts in the repeated hour
		{"2027-11-06T22:00", "2027-11-07T02:00"}, // across the fall-back
	}
	var cs []calendar.Conference
	n := len(hostileText)
	for i := range hostileText {
		sp := spans[i%len(spans)]
		in := timed(hostileText[i], "America/New_York", sp.start, sp.end, hostileText[(i+3)%n], "NY", "courts", "drugs-and-crime")
		in.Description = hostileText[(i+1)%n] + "\n" + hostileText[(i+2)%n]
		in.Location.Venue = hostileText[(i+4)%n]
		in.Sponsors = []string{hostileText[(i+5)%n]}
		if i%3 == 0 {
			yes := true
			in.AllDay = &yes
			in.Start, in.End, in.Timezone = fmt.Sprintf("2027-05-%02d", 1+i), fmt.Sprintf("2027-05-%02d", 2+i), ""
		}
		status := domain.StatusApproved
		if i%4 == 3 {
			status = domain.StatusCancelled
		}
		c := record(t, fmt.Sprintf("h-%02d", i), status, in)
		if status == domain.StatusCancelled {
			c.CancelReason = domain.CleanText(hostileText[(i+6)%n]) // as moderation stores it
		}
		cs = append(cs, c)
	}
	return cs
}
