package ical

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	created  = time.Date(2026, 8, 20, 9, 0, 0, 0, time.UTC)
	modified = time.Date(2026, 9, 1, 14, 30, 0, 0, time.UTC)
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func typicalFeed(t testing.TB) Feed {
	ny := mustLoad(t, "America/New_York")
	return Feed{
		Name:        "Justice Events",
		Description: "Conferences on criminal justice: courts, policing, corrections and reentry.",
		Source:      "https://justice-events.example/calendar.ics",
		URL:         "https://justice-events.example/",
		Refresh:     6 * time.Hour,
		Events: []Event{{
			UID:          "event-101@justice-events.example",
			Summary:      "National Forum on Sentencing Reform",
			Description:  "Three days of panels on sentencing, reentry and public defense.\nRegistration opens in May.",
			Location:     "Hyatt Regency, 400 New Jersey Ave NW, Washington, DC",
			URL:          "https://justice-events.example/conferences/101",
			Categories:   []string{"Sentencing", "Reentry", "Public defense"},
			AllDay:       true,
			Start:        date(2027, time.June, 12),
			End:          date(2027, time.June, 15), // 12–14 June
			Created:      created,
			LastModified: modified,
		}, {
			UID:          "event-102@justice-events.example",
			Summary:      "Bail Reform Workshop",
			Description:  "A one-day workshop, on the day the clocks spring forward.",
			Location:     "John Jay College, New York, NY",
			URL:          "https://justice-events.example/conferences/102",
			Categories:   []string{"Pretrial, bail"},
			Start:        time.Date(2027, time.March, 14, 9, 0, 0, 0, ny),
			End:          time.Date(2027, time.March, 14, 17, 0, 0, 0, ny),
			Created:      created,
			LastModified: modified,
			Sequence:     2,
		}, {
			UID:          "event-103@justice-events.example",
			Summary:      "Cancelled: Policing Data Summit",
			Location:     "Philadelphia, PA",
			Cancelled:    true,
			Start:        time.Date(2027, time.November, 8, 8, 30, 0, 0, ny),
			End:          time.Date(2027, time.November, 9, 16, 0, 0, 0, ny),
			Created:      created,
			LastModified: modified,
			Sequence:     3,
		}, {
			UID:          "event-104@justice-events.example",
			Summary:      "Webinar: Victim Services Online",
			URL:          "https://justice-events.example/conferences/104",
			Start:        time.Date(2027, time.January, 20, 17, 0, 0, 0, time.UTC),
			End:          time.Date(2027, time.January, 20, 18, 30, 0, 0, time.UTC),
			LastModified: modified,
		}},
	}
}

// hostileText is text people could submit, meant to break or inject into
// a feed, or just unusual. Invalid UTF-8 is tested apart (TestInvalidUTF8):
// it becomes U+FFFD, which icscheck's model checks report as a possible
// split character, so it has no place in a golden file that must pass them.
var hostileText = []string{
	"Line one\r\nLine two\rLine three\nLine four",
	"semicolon; comma, backslash \\ colon: quote \"",
	`A literal \n typed by a user, and \\n, \N, \, \;`,
	"<script>alert('xss')</script> &amp; <b>bold</b> <a href=\"javascript:alert(1)\">x</a>",
	"Title\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil@evil.example\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:20270101T000000Z\r\nSUMMARY:Phishing",
	"Title\r\nATTENDEE;CN=Evil:mailto:x@evil.example",
	"Title\nBEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-PT5M\nEND:VALARM",
	"Lone CR\rATTENDEE:mailto:cr@evil.example",
	"Bare LF\nATTACH:https://evil.example/x.exe",
	"NUL\x00 BEL\x07 BS\x08 ESC\x1b[31m VT\x0b FF\x0c US\x1f DEL\x7f TAB\t end",
	"Unicode line breaks: NEL\u0085ATTENDEE:a LS\u2028ATTENDEE:b PS\u2029end",
	"第十回 刑事司法国際会議：刑事手続のデジタル化と犯罪被害者支援の新たな課題（東京・霞が関）",
	"⚖️👩‍⚖️🚔 Criminal Justice Summit 🏛️🇺🇸🇨🇦🇲🇽 with a very long emoji title that must fold 🎉🎉🎉🎉🎉",
	"   leading and trailing spaces   ",
	"Ends with a backslash \\",
	":starts with a colon;X-PARAM=1:value",
	"\r\n",
}

func hostileFeed(t testing.TB) Feed {
	f := Feed{
		Name:        "Justice Events\r\nX-INJECTED:1",
		Description: "Calendar; of, conferences \\ \nBEGIN:VEVENT",
		Source:      "https://justice-events.example/calendar.ics?format=ics&v=1",
		URL:         "https://justice-events.example/",
		Refresh:     6 * time.Hour,
	}
	n := len(hostileText)
	for i := range hostileText {
		f.Events = append(f.Events, Event{
			UID:          "event-" + string(rune('a'+i)) + "@justice-events.example",
			Summary:      hostileText[i],
			Description:  hostileText[(i+1)%n] + "\n" + hostileText[(i+2)%n],
			Location:     hostileText[(i+3)%n],
			Categories:   []string{hostileText[(i+4)%n], hostileText[(i+5)%n], "Law, Order"},
			AllDay:       true,
			Start:        date(2027, time.May, 1+i),
			End:          date(2027, time.May, 2+i),
			LastModified: modified,
		})
	}
	return f
}

func emptyFeed(testing.TB) Feed {
	return Feed{
		Name:        "Justice Events: nothing scheduled",
		Description: "No conferences match this filter yet.",
		Source:      "https://justice-events.example/topics/none/calendar.ics",
		URL:         "https://justice-events.example/topics/none",
		Refresh:     6 * time.Hour,
	}
}

func zonesFeed(t testing.TB) Feed {
	f := Feed{
		Name:    "Justice Events: worldwide",
		Source:  "https://justice-events.example/world/calendar.ics",
		Refresh: 12 * time.Hour,
	}
	add := func(zone, summary string, y int, m time.Month, d, h, min int, length time.Duration) {
		loc := time.UTC
		if zone != "UTC" {
			loc = mustLoad(t, zone)
		}
		start := time.Date(y, m, d, h, min, 0, 0, loc)
		f.Events = append(f.Events, Event{
			UID:          "event-" + strings.ToLower(strings.ReplaceAll(zone, "/", "-")) + "@justice-events.example",
			Summary:      summary,
			Location:     zone,
			Start:        start,
			End:          start.Add(length),
			LastModified: modified,
		})
	}
	// Out of TZID order on purpose: VTIMEZONEs are sorted, events are not.
	add("Australia/Sydney", "Australasian Corrections Conference", 2027, time.April, 3, 9, 0, 26*time.Hour) // across the end of DST
	add("Asia/Tokyo", "Japanese Society of Criminal Law: annual meeting", 2027, time.May, 22, 10, 0, 7*time.Hour)
	add("America/New_York", "Reentry Symposium", 2027, time.November, 6, 18, 0, 10*time.Hour) // across the fall-back
	add("Asia/Kolkata", "Forensic Science Colloquium", 2027, time.February, 10, 9, 30, 8*time.Hour)
	add("America/Phoenix", "Southwest Probation Officers Meeting", 2027, time.March, 14, 8, 0, 9*time.Hour)
	add("Europe/London", "European Society of Criminology: annual conference", 2027, time.September, 8, 9, 0, 56*time.Hour)
	add("UTC", "Online: International Restorative Justice Day", 2027, time.October, 1, 12, 0, 2*time.Hour)
	return f
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		feed func(testing.TB) Feed
	}{
		{"typical", typicalFeed},
		{"hostile", hostileFeed},
		{"empty", emptyFeed},
		{"zones", zonesFeed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.feed(t)
			got, err := Render(f)
			if err != nil {
				t.Fatal(err)
			}
			checkLines(t, got)
			checkRoundTrip(t, f, got)
			again, _ := Render(f)
			if !bytes.Equal(got, again) {
				t.Fatal("two renderings of one feed differ")
			}
			path := filepath.Join("testdata", tt.name+".ics")
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
				t.Errorf("output differs from %s (run go test -update to accept):\n%s", path, firstDiff(got, want))
			}
		})
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

// decode parses b with go-ical's Decoder, which panics on some malformed
// parameters: a panic fails the test instead of crashing it.
func decode(t testing.TB, b []byte) (cal *goical.Calendar) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("go-ical Decoder panicked: %v", r)
		}
	}()
	dec := goical.NewDecoder(bytes.NewReader(b))
	cal, err := dec.Decode()
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if _, err := dec.Decode(); err != io.EOF {
		t.Fatalf("something follows the calendar: %v", err)
	}
	return cal
}

// checkRoundTrip parses the rendering b of f back and checks that it holds
// exactly f: the expected components and properties and nothing else, every
// TEXT value equal to NormalizeText of its input, the same instants.
func checkRoundTrip(t testing.TB, f Feed, b []byte) {
	t.Helper()
	cal := decode(t, b)

	want := map[string]string{
		"PRODID":   ProductID,
		"VERSION":  "2.0",
		"CALSCALE": "GREGORIAN",
	}
	if s := NormalizeText(f.Name); s != "" {
		want["NAME"], want["X-WR-CALNAME"] = s, s
	}
	if s := NormalizeText(f.Description); s != "" {
		want["DESCRIPTION"], want["X-WR-CALDESC"] = s, s
	}
	for name, v := range map[string]string{"SOURCE": f.Source, "URL": f.URL} {
		if v != "" {
			want[name] = v
		}
	}
	if f.Refresh != 0 {
		d, _ := duration(f.Refresh)
		want["REFRESH-INTERVAL"], want["X-PUBLISHED-TTL"] = d, d
	}
	checkProps(t, "VCALENDAR", cal.Component, want, nil)

	var zones, events []*goical.Component
	for _, c := range cal.Children {
		switch c.Name {
		case goical.CompTimezone:
			if len(events) > 0 {
				t.Fatal("VTIMEZONE after VEVENT")
			}
			zones = append(zones, c)
		case goical.CompEvent:
			events = append(events, c)
		default:
			t.Fatalf("unexpected component %s", c.Name)
		}
	}
	if len(events) != len(f.Events) {
		t.Fatalf("%d VEVENTs, want %d", len(events), len(f.Events))
	}
	if len(f.Events) == 0 && len(zones) != 1 {
		t.Fatalf("empty feed: %d VTIMEZONEs, want the one of UTC", len(zones))
	}
	tzids := map[string]bool{}
	for i, z := range zones {
		tzid := z.Props.Get(goical.PropTimezoneID).Value
		if i > 0 && tzid <= zones[i-1].Props.Get(goical.PropTimezoneID).Value {
			t.Fatalf("VTIMEZONE %s out of order", tzid)
		}
		tzids[tzid] = true
	}

	for i, e := range f.Events {
		c := events[i]
		if len(c.Children) > 0 {
			t.Fatalf("event %d: nested %s", i, c.Children[0].Name)
		}
		want := map[string]string{
			"UID":           e.UID,
			"DTSTAMP":       e.LastModified.UTC().Format("20060102T150405Z"),
			"LAST-MODIFIED": e.LastModified.UTC().Format("20060102T150405Z"),
			"SEQUENCE":      strconv.Itoa(e.Sequence),
			"STATUS":        "CONFIRMED",
			"TRANSP":        "OPAQUE",
			"CLASS":         "PUBLIC",
			"DTSTART":       "",
		}
		if e.Cancelled {
			want["STATUS"] = "CANCELLED"
		}
		if e.AllDay {
			want["TRANSP"] = "TRANSPARENT"
		}
		if e.AllDay || !e.End.Truncate(time.Second).Equal(e.Start.Truncate(time.Second)) {
			want["DTEND"] = ""
		}
		if !e.Created.IsZero() {
			want["CREATED"] = e.Created.UTC().Format("20060102T150405Z")
		}
		for name, v := range map[string]string{"SUMMARY": e.Summary, "DESCRIPTION": e.Description, "LOCATION": e.Location} {
			if s := NormalizeText(v); s != "" {
				want[name] = s
			}
		}
		if e.URL != "" {
			want["URL"], _ = webURI("URL", e.URL)
		}
		var cats []string
		for _, s := range e.Categories {
			if s = NormalizeText(s); s != "" {
				cats = append(cats, s)
			}
		}
		if len(cats) > 0 {
			want["CATEGORIES"] = ""
		}
		checkProps(t, "event "+strconv.Itoa(i), c, want, cats)

		// The instants read back are the instants written.
		for _, p := range []struct {
			name string
			t    time.Time
		}{{"DTSTART", e.Start}, {"DTEND", e.End}} {
			prop := c.Props.Get(p.name)
			if prop == nil {
				continue
			}
			if e.AllDay {
				if prop.Params.Get("VALUE") != "DATE" || prop.Value != p.t.Format("20060102") || len(prop.Params) != 1 {
					t.Fatalf("event %d: %s %v %q, want VALUE=DATE:%s", i, p.name, prop.Params, prop.Value, p.t.Format("20060102"))
				}
				continue
			}
			got, err := prop.DateTime(time.UTC)
			if err != nil {
				t.Fatalf("event %d: %s: %v", i, p.name, err)
			}
			if !got.Equal(p.t) {
				t.Fatalf("event %d: %s reads back as %v, want %v", i, p.name, got, p.t)
			}
			if tzid := prop.Params.Get("TZID"); tzid != "" && !tzids[tzid] {
				t.Fatalf("event %d: %s: no VTIMEZONE for TZID %s", i, p.name, tzid)
			}
		}
	}
}

// checkProps checks that c holds exactly the properties named in want, once
// each, with the given TEXT or raw values ("" means: any value), and that
// CATEGORIES, if wanted, holds cats.
func checkProps(t testing.TB, what string, c *goical.Component, want map[string]string, cats []string) {
	t.Helper()
	var got, names []string
	for name := range c.Props {
		got = append(got, name)
	}
	for name := range want {
		names = append(names, name)
	}
	slices.Sort(got)
	slices.Sort(names)
	if !slices.Equal(got, names) {
		t.Fatalf("%s: properties %v, want %v", what, got, names)
	}
	for name, v := range want {
		props := c.Props[name]
		if len(props) != 1 {
			t.Fatalf("%s: %d %s properties", what, len(props), name)
		}
		p := props[0]
		if name == "CATEGORIES" {
			l, err := p.TextList()
			if err != nil {
				t.Fatalf("%s: CATEGORIES: %v", what, err)
			}
			if !slices.Equal(l, cats) {
				t.Fatalf("%s: CATEGORIES %q, want %q", what, l, cats)
			}
			continue
		}
		if v == "" {
			continue
		}
		got := p.Value
		switch name {
		case "SUMMARY", "DESCRIPTION", "LOCATION", "NAME", "X-WR-CALNAME", "X-WR-CALDESC", "UID", "PRODID":
			var err error
			if got, err = p.Text(); err != nil {
				t.Fatalf("%s: %s: %v", what, name, err)
			}
		}
		if got != v {
			t.Fatalf("%s: %s = %q, want %q", what, name, got, v)
		}
	}
}

func TestHostileText(t *testing.T) {
	f := hostileFeed(t)
	b, err := Render(f)
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, b)
	checkRoundTrip(t, f, b)
	// Unfolded, no line may start with an injected name.
	unfolded := strings.ReplaceAll(string(b), "\r\n ", "")
	for _, line := range strings.Split(unfolded, "\r\n") {
		for _, evil := range []string{"ATTENDEE", "ATTACH", "X-INJECTED", "BEGIN:VALARM", "DTSTAMP:20270101T000000Z", "UID:evil"} {
			if strings.HasPrefix(line, evil) {
				t.Errorf("injected line %q", line)
			}
		}
	}
}

func TestInvalidUTF8(t *testing.T) {
	bad := "Invalid UTF-8: \xff\xfe \xc3( \xe2\x82 end" + strings.Repeat("\xe2\x82", 40)
	f := Feed{Name: bad, Description: bad, Events: []Event{{UID: "1@x.example", Summary: bad, Description: bad,
		Location: bad, Categories: []string{bad}, AllDay: true, Start: date(2027, 1, 1), End: date(2027, 1, 2), LastModified: modified}}}
	b, err := Render(f)
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, b)
	checkRoundTrip(t, f, b)
	if !bytes.Contains(b, []byte("SUMMARY:Invalid UTF-8: \uFFFD\uFFFD \uFFFD( \uFFFD\uFFFD end")) {
		t.Fatalf("no U+FFFD in\n%s", b)
	}
}

func TestAllDayExclusiveEnd(t *testing.T) {
	tokyo := mustLoad(t, "Asia/Tokyo")
	tests := []struct {
		name       string
		start, end time.Time
		want       []string
	}{
		{"one day", date(2027, 6, 12), date(2027, 6, 13),
			[]string{"DTSTART;VALUE=DATE:20270612", "DTEND;VALUE=DATE:20270613"}},
		{"three days", date(2027, 6, 12), date(2027, 6, 15),
			[]string{"DTSTART;VALUE=DATE:20270612", "DTEND;VALUE=DATE:20270615"}},
		{"across a year", date(2027, 12, 31), date(2028, 1, 2),
			[]string{"DTSTART;VALUE=DATE:20271231", "DTEND;VALUE=DATE:20280102"}},
		// Only the calendar date in the value's own location counts (in
		// UTC, this start is on the 11th).
		{"dates of a zoned time", time.Date(2027, 6, 12, 1, 0, 0, 0, tokyo), time.Date(2027, 6, 13, 23, 0, 0, 0, tokyo),
			[]string{"DTSTART;VALUE=DATE:20270612", "DTEND;VALUE=DATE:20270613"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Feed{Events: []Event{{UID: "1@x.example", Summary: "S", AllDay: true, Start: tt.start, End: tt.end, LastModified: modified}}}
			b, err := Render(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range append(tt.want, "TRANSP:TRANSPARENT") {
				if !bytes.Contains(b, []byte("\r\n"+w+"\r\n")) {
					t.Errorf("no line %q in\n%s", w, b)
				}
			}
			if bytes.Contains(b, []byte("TZID")) {
				t.Errorf("all-day event with a TZID:\n%s", b)
			}
		})
	}
}

// TestDaylightSavingEdges writes timed events around the 2027 US changes
// and checks the DTSTART/DTEND lines and the instants they read back as.
func TestDaylightSavingEdges(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	utc := func(h, m int) time.Time { return time.Date(2027, time.November, 7, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name       string
		start, end time.Time
		want       []string
	}{{
		name:  "across spring forward",
		start: time.Date(2027, time.March, 14, 1, 0, 0, 0, ny), // EST
		end:   time.Date(2027, time.March, 14, 4, 0, 0, 0, ny), // EDT: two hours later
		want:  []string{"DTSTART;TZID=America/New_York:20270314T010000", "DTEND;TZID=America/New_York:20270314T040000"},
	}, {
		name:  "right after spring forward",
		start: time.Date(2027, time.March, 14, 7, 0, 0, 0, time.UTC).In(ny), // 03:00 EDT, the first instant after the gap
		end:   time.Date(2027, time.March, 14, 8, 0, 0, 0, time.UTC).In(ny),
		want:  []string{"DTSTART;TZID=America/New_York:20270314T030000", "DTEND;TZID=America/New_York:20270314T040000"},
	}, {
		name:  "first occurrence of the repeated hour",
		start: utc(5, 30).In(ny), // 01:30 EDT: in UTC too, as parsers read 01:30 local as EST
		end:   utc(6, 15).In(ny), // 01:15 EST: the second occurrence, written in UTC
		want:  []string{"DTSTART:20271107T053000Z", "DTEND:20271107T061500Z"},
	}, {
		name:  "after fall back",
		start: utc(7, 0).In(ny), // 02:00 EST, no longer repeated
		end:   utc(8, 0).In(ny),
		want:  []string{"DTSTART;TZID=America/New_York:20271107T020000", "DTEND;TZID=America/New_York:20271107T030000"},
	}, {
		name:  "UTC",
		start: utc(5, 30),
		end:   utc(6, 30),
		want:  []string{"DTSTART:20271107T053000Z", "DTEND:20271107T063000Z"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Feed{Events: []Event{{UID: "1@x.example", Summary: "S", Start: tt.start, End: tt.end, LastModified: modified}}}
			b, err := Render(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range append(tt.want, "TRANSP:OPAQUE") {
				if !bytes.Contains(b, []byte("\r\n"+w+"\r\n")) {
					t.Errorf("no line %q in\n%s", w, b)
				}
			}
			checkRoundTrip(t, f, b)
			// The VTIMEZONE agrees with the local times written: each
			// instant's offset per VTIMEZONE is the one Go used.
			cal := decode(t, b)
			for _, c := range cal.Children {
				if c.Name != goical.CompTimezone {
					continue
				}
				offset := tzOffsets(t, c)
				for _, u := range []time.Time{tt.start, tt.end} {
					if _, want := u.In(ny).Zone(); offset(u) != want {
						t.Errorf("VTIMEZONE offset at %v is %d, want %d", u, offset(u), want)
					}
				}
			}
		})
	}
}

func TestRepeated(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	sydney := mustLoad(t, "Australia/Sydney")
	lordHowe := mustLoad(t, "Australia/Lord_Howe") // sets its clock back by 30 minutes
	for _, tt := range []struct {
		u    time.Time
		want bool
	}{
		{time.Date(2027, 4, 3, 15, 30, 0, 0, time.UTC).In(sydney), false},   // 02:30 AEDT
		{time.Date(2027, 4, 3, 16, 30, 0, 0, time.UTC).In(sydney), true},    // 02:30 AEST
		{time.Date(2027, 4, 3, 17, 0, 0, 0, time.UTC).In(sydney), false},    // 03:00 AEST
		{time.Date(2027, 4, 3, 14, 45, 0, 0, time.UTC).In(lordHowe), false}, // 01:45 +11
		{time.Date(2027, 4, 3, 15, 0, 0, 0, time.UTC).In(lordHowe), true},   // 01:30 +1030
		{time.Date(2027, 4, 3, 15, 29, 59, 0, time.UTC).In(lordHowe), true}, // 01:59:59 +1030
		{time.Date(2027, 4, 3, 15, 30, 0, 0, time.UTC).In(lordHowe), false}, // 02:00 +1030
		{time.Date(2027, 11, 7, 5, 59, 59, 0, time.UTC).In(ny), false},      // 01:59:59 EDT
		{time.Date(2027, 11, 7, 6, 0, 0, 0, time.UTC).In(ny), true},         // 01:00:00 EST
		{time.Date(2027, 11, 7, 6, 59, 59, 0, time.UTC).In(ny), true},       // 01:59:59 EST
		{time.Date(2027, 11, 7, 7, 0, 0, 0, time.UTC).In(ny), false},        // 02:00:00 EST
		{time.Date(2027, 3, 14, 7, 0, 0, 0, time.UTC).In(ny), false},        // 03:00 EDT, after the gap
		{time.Date(2027, 7, 1, 12, 0, 0, 0, time.UTC).In(ny), false},
	} {
		if got := repeated(tt.u); got != tt.want {
			t.Errorf("repeated(%v) = %v, want %v", tt.u, got, tt.want)
		}
	}
}

func TestTimezoneSpan(t *testing.T) {
	// Events in 2027 and 2029 in New York: the VTIMEZONE covers 2026..2030.
	ny := mustLoad(t, "America/New_York")
	f := Feed{Events: []Event{
		{UID: "1@x.example", Start: time.Date(2027, 5, 1, 9, 0, 0, 0, ny), End: time.Date(2027, 5, 1, 10, 0, 0, 0, ny), LastModified: modified},
		{UID: "2@x.example", Start: time.Date(2029, 5, 1, 9, 0, 0, 0, ny), End: time.Date(2029, 5, 1, 10, 0, 0, 0, ny), LastModified: modified},
	}}
	b, err := Render(f)
	if err != nil {
		t.Fatal(err)
	}
	cal := decode(t, b)
	tz := cal.Children[0]
	first := tz.Children[0].Props.Get("DTSTART").Value
	last := tz.Children[len(tz.Children)-1].Props.Get("DTSTART").Value
	if first != "20260101T000000" || last != "20301103T020000" || len(tz.Children) != 11 {
		t.Fatalf("VTIMEZONE spans %s..%s in %d observances, want 20260101T000000..20301103T020000 in 11", first, last, len(tz.Children))
	}
}

func TestEncodeErrors(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	good := func() Event {
		return Event{UID: "1@x.example", Summary: "S", Start: time.Date(2027, 5, 1, 9, 0, 0, 0, ny),
			End: time.Date(2027, 5, 1, 10, 0, 0, 0, ny), LastModified: modified}
	}
	tests := []struct {
		name string
		feed func(f *Feed, e *Event)
	}{
		{"UID empty", func(f *Feed, e *Event) { e.UID = "" }},
		{"UID with CRLF", func(f *Feed, e *Event) { e.UID = "1@x.example\r\nATTENDEE:mailto:x@evil.example" }},
		{"UID with LF", func(f *Feed, e *Event) { e.UID = "1@x.example\nX:y" }},
		{"UID with CR", func(f *Feed, e *Event) { e.UID = "1@x.example\rX:y" }},
		{"UID with NUL", func(f *Feed, e *Event) { e.UID = "1\x00@x.example" }},
		{"UID with LINE SEPARATOR", func(f *Feed, e *Event) { e.UID = "1\u2028X:y" }},
		{"UID invalid UTF-8", func(f *Feed, e *Event) { e.UID = "1\xff@x.example" }},
		{"duplicate UID", func(f *Feed, e *Event) { f.Events = append(f.Events, *e) }},
		{"URL javascript", func(f *Feed, e *Event) { e.URL = "javascript:alert(1)" }},
		{"URL relative", func(f *Feed, e *Event) { e.URL = "/conferences/1" }},
		{"URL with CRLF", func(f *Feed, e *Event) { e.URL = "https://x.example/\r\nATTENDEE:mailto:x@evil.example" }},
		{"feed URL data", func(f *Feed, e *Event) { f.URL = "data:text/html,hi" }},
		{"SOURCE webcal", func(f *Feed, e *Event) { f.Source = "webcal://x.example/calendar.ics" }},
		{"SOURCE with LF", func(f *Feed, e *Event) { f.Source = "https://x.example/\n" }},
		{"refresh negative", func(f *Feed, e *Event) { f.Refresh = -time.Hour }},
		{"refresh sub-second", func(f *Feed, e *Event) { f.Refresh = time.Millisecond }},
		{"TZID Local", func(f *Feed, e *Event) { e.Start, e.End = e.Start.In(time.Local), e.End.In(time.Local) }},
		{"TZID injected", func(f *Feed, e *Event) {
			loc := time.FixedZone("X\r\nATTENDEE:mailto:x@evil.example", 0)
			e.Start, e.End = e.Start.In(loc), e.End.In(loc)
		}},
		{"TZID quoted", func(f *Feed, e *Event) {
			loc := time.FixedZone(`"X"`, 0)
			e.Start, e.End = e.Start.In(loc), e.End.In(loc)
		}},
		{"two zones, one name", func(f *Feed, e *Event) {
			e2 := good()
			e2.UID = "2@x.example"
			fake := time.FixedZone("America/New_York", 3600)
			e2.Start, e2.End = e2.Start.In(fake), e2.End.In(fake)
			f.Events = append(f.Events, e2)
		}},
		{"end before start", func(f *Feed, e *Event) { e.End = e.Start.Add(-time.Minute) }},
		{"zero start", func(f *Feed, e *Event) { e.Start = time.Time{} }},
		{"zero end", func(f *Feed, e *Event) { e.End = time.Time{} }},
		{"all-day inclusive end", func(f *Feed, e *Event) {
			e.AllDay, e.Start, e.End = true, date(2027, 6, 12), date(2027, 6, 12)
		}},
		{"all-day end before start", func(f *Feed, e *Event) {
			e.AllDay, e.Start, e.End = true, date(2027, 6, 12), date(2027, 6, 11)
		}},
		{"no last modified", func(f *Feed, e *Event) { e.LastModified = time.Time{} }},
		{"negative sequence", func(f *Feed, e *Event) { e.Sequence = -1 }},
		{"year 10000", func(f *Feed, e *Event) { e.End = time.Date(10000, 1, 1, 0, 0, 0, 0, ny) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := good()
			f := Feed{Name: "N"}
			tt.feed(&f, &e)
			f.Events = append([]Event{e}, f.Events...)
			var b bytes.Buffer
			if err := Encode(&b, f); err == nil {
				t.Fatalf("no error; wrote\n%s", b.Bytes())
			} else if !strings.HasPrefix(err.Error(), "ical: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if b.Len() != 0 {
				t.Errorf("wrote %d bytes before failing", b.Len())
			}
		})
	}
}

func TestZeroLengthEventHasNoDTEND(t *testing.T) {
	at := time.Date(2027, 5, 1, 9, 0, 0, 0, time.UTC)
	f := Feed{Events: []Event{{UID: "1@x.example", Summary: "S", Start: at, End: at, LastModified: modified}}}
	b, err := Render(f)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("DTEND")) {
		t.Fatalf("zero-length event with DTEND:\n%s", b)
	}
	checkRoundTrip(t, f, b)
}

// TestNoMethod: a subscription feed is not an iTIP message.
func TestNoMethod(t *testing.T) {
	b, err := Render(typicalFeed(t))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("\r\nMETHOD")) {
		t.Fatal("feed has a METHOD")
	}
}

// FuzzEncodeText: any string, in any TEXT field, renders to a valid feed
// that reads back as NormalizeText of that string.
func FuzzEncodeText(f *testing.F) {
	for _, s := range hostileText {
		f.Add(s, s+s, "Washington, DC", "Law, Order")
	}
	f.Add("", "", "", "")
	f.Add(strings.Repeat("é", 100), strings.Repeat("😀", 40), strings.Repeat("a", 75), strings.Repeat("€", 30))
	f.Fuzz(func(t *testing.T, summary, description, location, category string) {
		feed := Feed{
			Name:        summary,
			Description: description,
			Events: []Event{{
				UID:          "1@x.example",
				Summary:      summary,
				Description:  description,
				Location:     location,
				Categories:   []string{category, location},
				Start:        time.Date(2027, 5, 1, 9, 0, 0, 0, time.UTC),
				End:          time.Date(2027, 5, 1, 10, 0, 0, 0, time.UTC),
				LastModified: modified,
			}},
		}
		b, err := Render(feed)
		if err != nil {
			t.Fatal(err)
		}
		checkLines(t, b)
		checkRoundTrip(t, feed, b)
	})
}

// BenchmarkRender renders 500 events in five zones over five years.
func BenchmarkRender(b *testing.B) {
	zones := []string{"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix"}
	f := typicalFeed(b)
	f.Events = nil
	for i := range 500 {
		loc := mustLoad(b, zones[i%len(zones)])
		start := time.Date(2026+i%5, time.Month(1+i%12), 1+i%28, 9, 0, 0, 0, loc)
		f.Events = append(f.Events, Event{
			UID: "event-" + strconv.Itoa(i) + "@justice-events.example", Summary: "Conference on criminal justice number " + strconv.Itoa(i),
			Description: strings.Repeat("A long description, with commas; and semicolons. ", 10),
			Start:       start, End: start.Add(8 * time.Hour), LastModified: modified,
		})
	}
	for b.Loop() {
		if _, err := Render(f); err != nil {
			b.Fatal(err)
		}
	}
}
