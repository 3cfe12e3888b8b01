package feeds

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/ical"
	"github.com/justiceevents/jevents/internal/httpcache"
	"github.com/justiceevents/jevents/projections/calendar"
)

// goldenFeeds are the feeds kept in testdata/, byte for byte.
var goldenFeeds = []struct {
	name    string
	fixture func(testing.TB) []calendar.Conference
	filter  Filter
}{
	{"all", sample, Filter{}},
	{"topic-courts", sample, Facet("topic", "courts")},
	{"region-ny", sample, Facet("region", "NY")},
	{"sponsor", sample, Filter{Sponsors: []string{"office for victims of crime"}}},
	{"query", sample, Filter{Terms: map[string][]string{"topic": {"courts", "law-enforcement"}, "region": {"NY", "PA"}}, Words: []string{"summit"}}},
	{"conference", sample, Filter{ID: "c-summit"}},
	{"conference-cancelled", sample, Filter{ID: "c-policing"}},
	{"conference-past", sample, Filter{ID: "c-old"}},
	{"empty", sample, Facet("topic", "cybercrime")},
	{"hostile", hostile, Filter{}},
}

func goldenPath(name string) string { return filepath.Join("testdata", name+".ics") }

// TestGolden renders every golden feed on fixedNow and compares it with
// testdata/<name>.ics byte for byte (go test -update rewrites them). Each
// must be valid for the structural rules checked here and read back
// through ical.Import with the events' text as stored.
func TestGolden(t *testing.T) {
	for _, tt := range goldenFeeds {
		t.Run(tt.name, func(t *testing.T) {
			cs := tt.fixture(t)
			s := newServer(t, newSource(cs...))
			e, err := s.Feed(tt.filter, fixedNow)
			if err != nil {
				t.Fatal(err)
			}
			got := e.Body
			checkLines(t, got)
			if bytes.Contains(got, []byte(contactEmail)) || bytes.Contains(got, []byte("Private Organiser")) {
				t.Fatal("the organiser's contact is in a public feed")
			}
			path := goldenPath(tt.name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s differs (run go test -update to accept):\n%s", path, firstDiff(got, want))
			}
			// A second server, and this one after a reset, give the same bytes.
			again, err := newServer(t, newSource(cs...)).Feed(tt.filter, fixedNow)
			if err != nil || !bytes.Equal(again.Body, got) || again.ETag != e.ETag {
				t.Fatalf("a second server renders different bytes (%v)", err)
			}
			s.Reset()
			if again, err = s.Feed(tt.filter, fixedNow); err != nil || !bytes.Equal(again.Body, got) {
				t.Fatalf("rendering after a reset differs (%v)", err)
			}
			checkContent(t, s, tt.filter, cs, got)
		})
	}
}

// checkLines checks the framing of a feed: CRLF line endings, lines of at
// most 75 octets, folds never inside a UTF-8 sequence.
func checkLines(t testing.TB, b []byte) {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Fatal("feed does not end in CRLF")
	}
	for i, line := range bytes.Split(b[:len(b)-2], []byte("\r\n")) {
		if len(line) > 75 {
			t.Fatalf("line %d: %d octets", i+1, len(line))
		}
		if bytes.ContainsAny(line, "\r\n") {
			t.Fatalf("line %d: bare CR or LF", i+1)
		}
		if len(line) > 1 && line[0] == ' ' && line[1]&0xc0 == 0x80 {
			t.Fatalf("line %d: a fold splits a UTF-8 sequence", i+1)
		}
	}
}

// checkContent reads the feed back with ical.Import and checks every event
// against the record it comes from: exactly the published conferences of
// the filter within the window, in order, with their text as stored.
func checkContent(t testing.TB, s *Server, f Filter, cs []calendar.Conference, b []byte) {
	t.Helper()
	im, err := ical.Import(b, ical.ImportOptions{Limits: ical.Limits{MaxBytes: len(b) + 1, MaxEvents: len(cs) + 1}})
	if err != nil {
		t.Fatalf("feed does not read back: %v", err)
	}
	byUID := map[string]calendar.Conference{}
	want := 0
	for _, c := range cs {
		p := s.prepared.times(c)
		if c.Public() && f.Match(c) && (f.ID != "" || !p.end.Before(s.cutoff(fixedNow))) {
			byUID[c.ID+"@events.test"] = c
			want++
		}
	}
	if len(im.Events) != want {
		t.Fatalf("%d events, want %d", len(im.Events), want)
	}
	for _, e := range im.Events {
		c, ok := byUID[e.UID]
		if !ok {
			t.Fatalf("unexpected event %s", e.UID)
		}
		title := c.Details.Title
		if c.Status == domain.StatusCancelled {
			title = "Cancelled: " + title
		}
		if e.Summary != title {
			t.Errorf("%s: SUMMARY %q, want %q", c.ID, e.Summary, title)
		}
		if !strings.HasPrefix(e.Description, c.Details.Description) {
			t.Errorf("%s: DESCRIPTION %q does not start with %q", c.ID, e.Description, c.Details.Description)
		}
		for _, sp := range c.Details.Sponsors {
			if !strings.Contains(e.Description, sp.Name) {
				t.Errorf("%s: DESCRIPTION lacks sponsor %q", c.ID, sp.Name)
			}
		}
		if link := c.Details.URL; link != "" && (e.URL != link || !strings.Contains(e.Description, link)) {
			t.Errorf("%s: URL %q, want %q in URL and DESCRIPTION", c.ID, e.URL, link)
		}
		if len(e.Categories) != len(c.Details.Topics) {
			t.Errorf("%s: CATEGORIES %q for topics %q", c.ID, e.Categories, c.Details.Topics)
		}
		for i, topic := range c.Details.Topics {
			if i < len(e.Categories) && e.Categories[i] != domain.TopicLabel(topic) {
				t.Errorf("%s: category %q, want %q", c.ID, e.Categories[i], domain.TopicLabel(topic))
			}
		}
		p := s.prepared.times(c)
		if c.Details.AllDay != e.AllDay || !e.Start.Equal(p.start) || !e.End.Equal(p.end) {
			t.Errorf("%s: %v %v–%v, want %v %v–%v", c.ID, e.AllDay, e.Start, e.End, c.Details.AllDay, p.start, p.end)
		}
	}
}

// firstDiff describes the first line where got and want differ.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\r\n"), strings.Split(string(want), "\r\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got " + strconv.Quote(gl) + "\nwant " + strconv.Quote(wl)
		}
	}
	return "(line endings differ)"
}

func TestFeedProperties(t *testing.T) {
	s := newServer(t, newSource(sample(t)...))
	e, err := s.Feed(Facet("topic", "courts"), fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	unfolded := strings.ReplaceAll(string(e.Body), "\r\n ", "")
	for _, want := range []string{
		"\r\nNAME:Justice Events: Courts\r\n",
		"\r\nX-WR-CALNAME:Justice Events: Courts\r\n",
		"\r\nDESCRIPTION:Criminal-justice conferences from the Justice Events calendar\\, approved by its editors. Conferences\\, cancelled ones too\\, stay in the feed for 90 days after they end.\r\n",
		"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT6H\r\n",
		"\r\nX-PUBLISHED-TTL:PT6H\r\n",
		"\r\nSOURCE;VALUE=URI:https://events.test/calendar/topics/courts.ics\r\n",
		"\r\nURL:https://events.test/\r\n",
		"\r\nCATEGORIES:Courts,Drugs\\, Alcohol and Crime\r\n",
		"\r\nSTATUS:CONFIRMED\r\n",
		"\r\nCLASS:PUBLIC\r\n",
		"\r\nTRANSP:OPAQUE\r\n",
		"\r\nCREATED:20260501T100000Z\r\n",
		"\r\nLAST-MODIFIED:20260504T120000Z\r\n",
		"\r\nDTSTAMP:20260504T120000Z\r\n",
		"\r\nSEQUENCE:2\r\n",
		"\r\nUID:c-bail@events.test\r\n",
		"\r\nDTSTART;TZID=America/New_York:20270314T010000\r\n",
		"\r\nDTEND;TZID=America/New_York:20270314T040000\r\n",
		"\r\nBEGIN:VTIMEZONE\r\nTZID:America/New_York\r\n",
	} {
		if !strings.Contains(unfolded, want) {
			t.Errorf("feed lacks %q", want)
		}
	}
	for _, never := range []string{"METHOD", "ATTENDEE", "ORGANIZER", "VALARM", contactEmail} {
		if strings.Contains(unfolded, never) {
			t.Errorf("feed holds %q", never)
		}
	}
	all, _ := s.Feed(Filter{}, fixedNow)
	unfolded = strings.ReplaceAll(string(all.Body), "\r\n ", "")
	for _, want := range []string{
		"\r\nTRANSP:TRANSPARENT\r\nUID:c-summit@events.test\r\n",
		"\r\nSTATUS:CANCELLED\r\nSUMMARY:Cancelled: Policing Data Summit\r\n",
		"\r\nDESCRIPTION:Cancelled. The venue closed\\; the summit moves to 2028.\\n\\nFormat: in person\\n\\nMore: https://events.test/conferences/c-policing\r\n",
		"\r\nDESCRIPTION:Three days of training for investigators\\, prosecutors and victim advocates.\\n\\nSponsors: Office for Victims of Crime\\; Polaris Project\\n\\nFormat: in person\\n\\nMore: https://example.org/trafficking-conference\r\n",
		"\r\nLOCATION:Online\r\n",
		"\r\nLOCATION:Convention Center\\, Baltimore\\, MD\\, US\r\n",
	} {
		if !strings.Contains(unfolded, want) {
			t.Errorf("feed lacks %q", want)
		}
	}
}

// TestWindow: ended conferences, cancelled ones too, stay for the window
// and drop out at the first midnight (UTC) past it; the feed of one
// conference has no window.
func TestWindow(t *testing.T) {
	s := newServer(t, newSource(sample(t)...))
	uids := func(now time.Time, f Filter) string {
		t.Helper()
		e, err := s.Feed(f, now)
		if err != nil {
			t.Fatal(err)
		}
		im, err := ical.Import(e.Body, ical.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ev := range im.Events {
			out = append(out, strings.TrimSuffix(ev.UID, "@events.test"))
		}
		return strings.Join(out, " ")
	}
	if got, want := uids(fixedNow, Filter{}), "c-recent c-recent-cancelled c-webinar c-bail c-summit c-policing"; got != want {
		t.Fatalf("feed on %v: %s, want %s", fixedNow, got, want)
	}
	// c-recent's last day is 2026-10-02, so it ends at 2026-10-03 00:00
	// and stays 90 days, to 2027-01-01 00:00; the window moves by days,
	// so it is in feeds all of 1 January and drops out at midnight UTC on
	// 2 January.
	last := time.Date(2027, 1, 1, 23, 59, 59, 0, time.UTC)
	before, _ := s.Feed(Filter{}, last)
	if got := uids(last, Filter{}); !strings.HasPrefix(got, "c-recent c-recent-cancelled") {
		t.Fatalf("feed on %v: %s", last, got)
	}
	next := last.Add(time.Second)
	if got := uids(next, Filter{}); strings.Contains(got, "c-recent ") {
		t.Fatalf("feed on %v still holds c-recent: %s", next, got)
	}
	after, _ := s.Feed(Filter{}, next)
	if after.ETag == before.ETag || !after.LastModified.Equal(time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("after the drop: ETag %s (was %s), Last-Modified %v, want the midnight of the drop", after.ETag, before.ETag, after.LastModified)
	}
	if got := uids(fixedNow, Filter{ID: "c-old"}); got != "c-old" {
		t.Fatalf("the feed of a past conference: %q", got)
	}
}

// TestChangeTouchesOnlyItsFeeds: a change to one conference prepares again
// only the feeds that held it or hold it now; the others keep their
// entry, bytes and ETag. Last-Modified never hides a change.
func TestChangeTouchesOnlyItsFeeds(t *testing.T) {
	src := newSource(sample(t)...)
	s := newServer(t, src)
	filters := map[string]Filter{
		"all":     {},
		"courts":  Facet("topic", "courts"),
		"reentry": Facet("topic", "reentry"),
		"ny":      Facet("region", "NY"),
		"md":      Facet("region", "MD"),
		"bail":    {ID: "c-bail"},
		"summit":  {ID: "c-summit"},
	}
	feeds := func() map[string]*entryInfo {
		out := map[string]*entryInfo{}
		for name, f := range filters {
			e, err := s.Feed(f, fixedNow)
			if err != nil {
				t.Fatal(err)
			}
			out[name] = &entryInfo{ptr: e, etag: e.ETag, lm: e.LastModified}
		}
		return out
	}
	before := feeds()

	// An edit of c-bail (courts, NY): moved to Maryland, out of courts.
	bail, _ := src.Get(calendar.Key("c-bail"))
	bail.Details.Location.Region, bail.Details.Location.City = "MD", "Baltimore"
	bail.Details.Topics = []string{"drugs-and-crime"}
	bail.Sequence++
	bail.Version++
	bail.Updated = fixedNow // edits happen now, after any conference dropped out of the window
	src.put(s, bail)
	after := feeds()
	for name, changed := range map[string]bool{"all": true, "courts": true, "ny": true, "md": true, "bail": true, "reentry": false, "summit": false} {
		b, a := before[name], after[name]
		if changed {
			if a.ptr == b.ptr || a.etag == b.etag {
				t.Errorf("%s: not prepared again after a change to a conference it holds", name)
			}
			// The conference left the courts and NY feeds: their
			// Last-Modified must still move, or If-Modified-Since would
			// answer 304 with the old content.
			if !a.lm.After(b.lm) {
				t.Errorf("%s: Last-Modified %v did not move past %v", name, a.lm, b.lm)
			}
		} else if a.ptr != b.ptr || a.etag != b.etag {
			t.Errorf("%s: prepared again after a change to a conference it does not hold", name)
		}
	}
	// A pending submission changes no feed.
	pending := record(t, "c-new", domain.StatusPending, allDay("New", "2027-04-01", "2027-04-01", "courts"))
	src.put(s, pending)
	if again := feeds(); again["all"].ptr != after["all"].ptr || again["courts"].ptr != after["courts"].ptr {
		t.Error("a pending submission invalidated published feeds")
	}
	// Its approval does.
	pending.Status, pending.Version, pending.Updated, pending.Published = domain.StatusApproved, 99, fixedNow.Add(time.Minute), fixedNow.Add(time.Minute)
	src.put(s, pending)
	again := feeds()
	for name, changed := range map[string]bool{"all": true, "courts": true, "md": true, "ny": false, "reentry": false, "bail": false} {
		if (again[name].ptr != after[name].ptr) != changed {
			t.Errorf("%s: changed %v after an approval, want %v", name, again[name].ptr != after[name].ptr, changed)
		}
	}
}

type entryInfo struct {
	ptr  any
	etag string
	lm   time.Time
}

// TestCacheIsBounded: query feeds are kept from their second request;
// beyond the byte budget they evict the least recently requested ones, and
// every feed is still served right.
func TestCacheIsBounded(t *testing.T) {
	s := newServer(t, newSource(sample(t)...))
	s.made = httpcache.NewLRU[*slot](40<<10, nil)
	var first []byte
	for i := range 60 {
		f := Filter{Words: []string{"conference", strconv.Itoa(i)}}
		e, err := s.Feed(f, fixedNow)
		if err != nil {
			t.Fatal(err)
		}
		if _, kept := s.made.Get(f.canonical().key()); kept {
			t.Fatalf("query %d kept from its first request", i)
		}
		if e, err = s.Feed(f, fixedNow); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = e.Body
		}
		if used := s.made.Bytes(); used > 40<<10 {
			t.Fatalf("cache holds %d bytes, budget %d", used, 40<<10)
		}
	}
	if n := s.made.Len(); n >= 60 || n == 0 {
		t.Fatalf("%d feeds cached: nothing was evicted, or nothing kept", n)
	}
	e, err := s.Feed(Filter{Words: []string{"conference", "0"}}, fixedNow)
	if err != nil || !bytes.Equal(e.Body, first) {
		t.Fatalf("an evicted feed comes back different (%v)", err)
	}
	// The whole calendar is kept from its first request, apart from the
	// queries: they never push it out.
	if _, err := s.Feed(Filter{}, fixedNow); err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		for range 2 {
			if _, err := s.Feed(Filter{Words: []string{"conference", "x" + strconv.Itoa(i)}}, fixedNow); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, kept := s.cache.Get(Filter{}.key()); !kept {
		t.Fatal("the whole calendar was not kept, or queries pushed it out")
	}
}

// TestTopicLabelsAreSafeForParsers: feed categories are topic labels. The
// parsers' known CATEGORIES bugs (internal/icalinterop KnownBugs) show
// only on a backslash, a quote, a line break or white space at an end,
// which no label may hold; a comma is allowed (python-icalendar's split
// of it is the one exempted bug that feeds can show).
func TestTopicLabelsAreSafeForParsers(t *testing.T) {
	for _, topic := range domain.Topics {
		if strings.ContainsAny(topic.Label, "\\\"\r\n\t") || strings.TrimSpace(topic.Label) != topic.Label {
			t.Errorf("topic label %q holds a character a parser misreads in CATEGORIES", topic.Label)
		}
	}
	for _, typ := range domain.ConferenceTypes { // the event type is a category too
		if strings.ContainsAny(typ.Label, "\\\"\r\n\t,") || strings.TrimSpace(typ.Label) != typ.Label {
			t.Errorf("event type label %q holds a character a parser misreads in CATEGORIES", typ.Label)
		}
	}
}

// FuzzFeedText: any title, description, venue, sponsor, cost and credits
// a submission can hold come back from the feed, through ical.Import, exactly as stored.
func FuzzFeedText(f *testing.F) {
	for _, s := range hostileText {
		f.Add(s, s+s, s, s)
	}
	f.Fuzz(func(t *testing.T, title, description, venue, sponsor string) {
		in := timed(title, "America/New_York", "2027-11-07T01:30", "2027-11-07T03:00", "New York", "NY", "courts")
		in.Description, in.Location.Venue, in.Sponsors = description, venue, []string{sponsor}
		in.Cost, in.Credits = venue, sponsor // one-line texts of the description, like the venue and sponsor
		in.Contact = &domain.Contact{Email: contactEmail}
		sub, err := domain.ValidateSubmission(in, fixedNow)
		if err != nil {
			return // refused at intake: never in a feed
		}
		c := calendar.Conference{ID: "x", Status: domain.StatusApproved, Version: 1, Details: sub.Details,
			Submitted: fixedNow, Updated: fixedNow}
		s := newServer(t, newSource(c))
		e, err := s.Feed(Filter{}, fixedNow)
		if err != nil {
			t.Fatal(err)
		}
		checkLines(t, e.Body)
		checkContent(t, s, Filter{}, []calendar.Conference{c}, e.Body)
	})
}
