package ical

import (
	"bytes"
	"encoding/json"
	"errors"
	"github.com/justiceevents/jevents/domain"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// importGolden is Import's result in a stable, readable form.
type importGolden struct {
	Error       string           `json:"error,omitempty"`
	Method      string           `json:"method,omitempty"`
	DefaultZone string           `json:"default_zone,omitempty"`
	Ignored     map[string]int   `json:"ignored,omitempty"`
	Events      []importedGolden `json:"events,omitempty"`
}

type importedGolden struct {
	Index          int       `json:"index"`
	UID            string    `json:"uid,omitempty"`
	Summary        string    `json:"summary,omitempty"`
	Description    string    `json:"description,omitempty"`
	Location       string    `json:"location,omitempty"`
	URL            string    `json:"url,omitempty"`
	Categories     []string  `json:"categories,omitempty"`
	OrganizerEmail string    `json:"organizer_email,omitempty"`
	OrganizerName  string    `json:"organizer_name,omitempty"`
	Conference     []string  `json:"conference,omitempty"`
	AllDay         bool      `json:"all_day,omitempty"`
	Start          string    `json:"start,omitempty"`
	End            string    `json:"end,omitempty"`
	Zone           string    `json:"zone,omitempty"`
	Problems       []Problem `json:"problems,omitempty"`
}

func golden(im *Imported, err error) importGolden {
	if err != nil {
		return importGolden{Error: err.Error()}
	}
	g := importGolden{Method: im.Method, DefaultZone: im.DefaultZone, Ignored: im.Ignored}
	if len(g.Ignored) == 0 {
		g.Ignored = nil
	}
	format := func(all bool, t time.Time) string {
		switch {
		case t.IsZero():
			return ""
		case all:
			return t.Format(time.DateOnly)
		}
		return t.Format(time.RFC3339)
	}
	for _, e := range im.Events {
		g.Events = append(g.Events, importedGolden{
			Index: e.Index, UID: e.UID, Summary: e.Summary, Description: e.Description, Location: e.Location,
			URL: e.URL, Categories: e.Categories, OrganizerEmail: e.OrganizerEmail, OrganizerName: e.OrganizerName,
			Conference: e.Conference, AllDay: e.AllDay, Start: format(e.AllDay, e.Start), End: format(e.AllDay, e.End),
			Zone: e.Zone, Problems: e.Problems,
		})
	}
	return g
}

// TestImportGolden imports every file of the corpus (testdata/corpus: test
// calendars of ical.js, python-icalendar and libical, see its ORIGIN.md)
// and of testdata/import (exports as Outlook, Google and Apple write them,
// zones, hostile text) and compares what it read, problems included, with
// testdata/import-golden/<file>.json (rewritten with -update).
func TestImportGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/corpus/*.ics")
	more, _ := filepath.Glob("testdata/import/*.ics")
	files = append(files, more...)
	if len(files) < 15 {
		t.Fatalf("only %d test files", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(golden(Import(b, ImportOptions{ZoneAliases: domain.ZoneAlias}))); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			gpath := filepath.Join("testdata", "import-golden", strings.TrimSuffix(filepath.Base(path), ".ics")+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(gpath), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(gpath, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(gpath)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("import of %s differs from %s (run go test -update to accept):\n%s", path, gpath, got)
			}
		})
	}
}

func mustImport(t *testing.T, path string, opt ImportOptions) *Imported {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	im, err := Import(b, opt)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func problems(e ImportedEvent) []string {
	var out []string
	for _, p := range e.Problems {
		out = append(out, p.Property+":"+p.Code)
	}
	return out
}

// TestImportCorpus states what the golden files show for the corpus, so a
// careless -update cannot change it: what each public test calendar must
// give (ORIGIN.md's "import should" column).
func TestImportCorpus(t *testing.T) {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", "corpus", name)) }
	t.Run("whole-file refusals", func(t *testing.T) {
		for name, want := range map[string]string{
			"libical__2445.ics":                                "exactly one VCALENDAR",
			"pyicalendar__big_bad_calendar.ics":                "END:VCALENDAR is missing",
			"pyicalendar__fuzz_testcase_vtimezone_lone_cr.ics": "CR that does not end the line",
		} {
			b, err := read(name)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Import(b, ImportOptions{ZoneAliases: domain.ZoneAlias})
			var se *SyntaxError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %v, want a SyntaxError saying %q", name, err, want)
			}
		}
	})
	t.Run("blank line tolerated, no events", func(t *testing.T) {
		if im := mustImport(t, "testdata/corpus/icaljs__blank_line_mid.ics", ImportOptions{ZoneAliases: domain.ZoneAlias}); len(im.Events) != 0 {
			t.Fatalf("%d events", len(im.Events))
		}
	})
	t.Run("categories with commas", func(t *testing.T) {
		im := mustImport(t, "testdata/corpus/pyicalendar__issue_127_categories_with_commas.ics", ImportOptions{ZoneAliases: domain.ZoneAlias})
		if len(im.Events) != 1 || !slices.Equal(im.Events[0].Categories, []string{"Meeting, John", "Work, Sarah", "Project"}) {
			t.Fatalf("categories %q", im.Events[0].Categories)
		}
	})
	t.Run("unicode text intact", func(t *testing.T) {
		im := mustImport(t, "testdata/corpus/pyicalendar__created_calendar_with_unicode_fields.ics", ImportOptions{ZoneAliases: domain.ZoneAlias})
		e := im.Events[0]
		if e.Summary != "Non-ASCII Test: ÄÖÜ äöü €" || e.Location != "Tribstrül" || len(e.Problems) != 0 {
			t.Fatalf("%+v", e)
		}
		if got := problems(im.Events[1]); !slices.Equal(got, []string{"DTEND:required"}) {
			t.Fatalf("UID-less event without end: %v", got)
		}
		if got := problems(im.Events[2]); !slices.Equal(got, []string{"DTSTART:required"}) {
			t.Fatalf("event without DTSTART: %v", got)
		}
	})
	t.Run("recurrence refused per VEVENT", func(t *testing.T) {
		for name, want := range map[string][][]string{
			"icaljs__google_birthday.ics":                  {{"RRULE:unsupported", "RDATE:unsupported"}, {"RECURRENCE-ID:unsupported"}, {"RECURRENCE-ID:unsupported"}, {"RECURRENCE-ID:unsupported"}},
			"icaljs__parserv2.ics":                         {{"RRULE:unsupported"}},
			"icaljs__recur_instances.ics":                  {{"RRULE:unsupported", "RDATE:unsupported"}, {"RECURRENCE-ID:unsupported"}, {"RECURRENCE-ID:unsupported"}},
			"pyicalendar__issue_722_missing_timezones.ics": {{"RDATE:unsupported"}, {"RECURRENCE-ID:unsupported", "DTSTART:required"}, {"RDATE:unsupported", "DTSTART:required"}},
		} {
			im := mustImport(t, "testdata/corpus/"+name, ImportOptions{ZoneAliases: domain.ZoneAlias})
			if len(im.Events) != len(want) {
				t.Fatalf("%s: %d events, want %d", name, len(im.Events), len(want))
			}
			for i, w := range want {
				if got := problems(im.Events[i]); !slices.Equal(got, w) {
					t.Errorf("%s: event %d: problems %v, want %v", name, i, got, w)
				}
			}
		}
	})
}

// TestImportExports checks the exports of real calendar programs.
func TestImportExports(t *testing.T) {
	t.Run("outlook", func(t *testing.T) {
		im := mustImport(t, "testdata/import/outlook.ics", ImportOptions{ZoneAliases: domain.ZoneAlias})
		e := im.Events[0]
		if len(e.Problems) != 0 || e.Zone != "America/New_York" || im.Method != "PUBLISH" {
			t.Fatalf("%+v", e)
		}
		if want := time.Date(2027, 9, 15, 13, 0, 0, 0, time.UTC); !e.Start.Equal(want) {
			t.Fatalf("start %v, want %v", e.Start, want)
		}
		if e.Description != "Join prosecutors, defenders and judges for two days on pretrial justice.\n\nAgenda: https://example.org/agenda\n" {
			t.Fatalf("description %q", e.Description)
		}
		if e.OrganizerEmail != "pat@example.org" || e.OrganizerName != "Pat Organiser" || !strings.HasSuffix(e.UID, "A1B2C3D4E5F60718293A4B5C6D7E8F90") {
			t.Fatalf("%+v", e)
		}
		if e2 := im.Events[1]; !e2.AllDay || e2.End.Format(time.DateOnly) != "2027-10-22" || e2.OrganizerEmail != "pat@example.org" {
			t.Fatalf("%+v", e2)
		}
	})
	t.Run("google", func(t *testing.T) {
		im := mustImport(t, "testdata/import/google.ics", ImportOptions{ZoneAliases: domain.ZoneAlias})
		if im.DefaultZone != "America/Chicago" {
			t.Fatalf("default zone %q", im.DefaultZone)
		}
		e := im.Events[0]
		if e.Zone != "" || e.Start.Location() != time.UTC || !slices.Equal(e.Conference, []string{"https://meet.google.com/abc-defg-hij"}) {
			t.Fatalf("%+v", e)
		}
		if e.Location != "Hyatt Regency Chicago, 151 E Wacker Dr, Chicago, IL 60601, USA" {
			t.Fatalf("unescaped commas must stay: %q", e.Location)
		}
		// The floating time is read in X-WR-TIMEZONE.
		if f := im.Events[1]; f.Zone != "America/Chicago" || !f.Start.Equal(time.Date(2027, 6, 4, 14, 0, 0, 0, time.UTC)) {
			t.Fatalf("floating: %+v", f)
		}
	})
	t.Run("apple", func(t *testing.T) {
		im := mustImport(t, "testdata/import/apple.ics", ImportOptions{ZoneAliases: domain.ZoneAlias})
		if e := im.Events[0]; !e.AllDay || e.Start.Format(time.DateOnly) != "2027-08-09" || e.End.Format(time.DateOnly) != "2027-08-12" || e.URL != "https://example.org/tribal-summit" {
			t.Fatalf("%+v", e)
		}
		if got := problems(im.Events[1]); !slices.Equal(got, []string{"DURATION:invalid"}) {
			t.Fatalf("DTEND with DURATION: %v", got)
		}
	})
	t.Run("hostile", func(t *testing.T) {
		e := mustImport(t, "testdata/import/hostile.ics", ImportOptions{ZoneAliases: domain.ZoneAlias}).Events[0]
		if want := "Conférence internationale ⚖️ 刑事司法国際会議 🚨 <b>Law</b>, Order; Justice"; e.Summary != want {
			t.Fatalf("summary\n got %q\nwant %q (a fold inside a UTF-8 sequence is repaired)", e.Summary, want)
		}
		if want := "Line one\nLine two\nLine three\\n stays, escaped; unescaped, too: colon\\"; e.Description != want {
			t.Fatalf("description\n got %q\nwant %q", e.Description, want)
		}
		if want := []string{"Courts", "Drugs, Alcohol and Crime", "Law, Order", "reentry"}; !slices.Equal(e.Categories, want) {
			t.Fatalf("categories %q, want %q", e.Categories, want)
		}
	})
}

func TestImportZones(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	utc := func(mo time.Month, d, h, m int) time.Time { return time.Date(2027, mo, d, h, m, 0, 0, time.UTC) }
	tests := []struct {
		uid        string
		zone       string
		start, end time.Time
		problems   []string
	}{
		{uid: "fixed", start: utc(3, 1, 3, 30), end: utc(3, 1, 11, 30)},
		{uid: "own-rules", problems: []string{"DTSTART:unknown_zone"}},
		{uid: "x-lic", zone: "Europe/Berlin", start: utc(3, 1, 8, 0), end: utc(3, 1, 16, 0)},
		{uid: "mozilla", zone: "America/New_York", start: utc(3, 1, 14, 0), end: utc(3, 1, 22, 0)},
		{uid: "display", zone: "America/Chicago", start: utc(3, 1, 15, 0), end: utc(3, 1, 23, 0)},
		{uid: "unknown", problems: []string{"DTSTART:unknown_zone"}},
		{uid: "iana-no-vtimezone", zone: "America/Phoenix", start: utc(3, 1, 16, 0), end: utc(3, 2, 0, 0)},
		// 02:30 does not exist on 14 March 2027 in New York: it takes the
		// offset before the gap (EST), which is 03:30 EDT.
		{uid: "gap", zone: "America/New_York", start: utc(3, 14, 7, 30), end: utc(3, 14, 8, 0)},
		// 01:30 happens twice on 7 November 2027: the first (EDT).
		{uid: "repeated", zone: "America/New_York", start: utc(11, 7, 5, 30), end: utc(11, 7, 6, 30)},
		{uid: "across-spring", zone: "America/New_York", start: utc(3, 14, 6, 0), end: utc(3, 14, 8, 0)},
		{uid: "two-zones", zone: "America/New_York", start: utc(3, 1, 14, 0), end: utc(3, 1, 17, 0)},
		{uid: "utc-with-tzid", start: utc(3, 1, 14, 0), end: utc(3, 1, 16, 0)},
		{uid: "floating", problems: []string{"DTSTART:required"}},
		{uid: "all-day-inclusive", start: utc(3, 1, 0, 0), end: utc(3, 2, 0, 0)},
		{uid: "all-day-duration", start: utc(3, 1, 0, 0), end: utc(3, 8, 0, 0)},
		{uid: "all-day-no-end", start: utc(3, 1, 0, 0), end: utc(3, 2, 0, 0)},
		{uid: "mixed", problems: []string{"DTEND:invalid"}},
		{uid: "end-before-start", problems: []string{"DTEND:invalid"}},
		{uid: "bad-date", problems: []string{"DTSTART:invalid"}},
		{uid: "period", problems: []string{"DTSTART:invalid"}},
		{uid: "negative-duration", problems: []string{"DURATION:invalid"}},
	}
	im := mustImport(t, "testdata/import/zones.ics", ImportOptions{ZoneAliases: domain.ZoneAlias})
	byUID := map[string]ImportedEvent{}
	for _, e := range im.Events {
		byUID[e.UID] = e
	}
	if len(byUID) != len(tests) {
		t.Fatalf("%d events, want %d", len(byUID), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.uid, func(t *testing.T) {
			e := byUID[tt.uid]
			if got := problems(e); !slices.Equal(got, tt.problems) {
				t.Fatalf("problems %v, want %v", got, tt.problems)
			}
			if len(tt.problems) > 0 {
				return
			}
			if e.Zone != tt.zone || !e.Start.Equal(tt.start) || !e.End.Equal(tt.end) {
				t.Fatalf("zone %q %v–%v, want %q %v–%v", e.Zone, e.Start.UTC(), e.End.UTC(), tt.zone, tt.start, tt.end)
			}
			if e.Zone != "" && e.End.Location() != e.Start.Location() {
				t.Fatalf("end in %v, start in %v", e.End.Location(), e.Start.Location())
			}
		})
	}
	// With a zone for floating times, the floating event is read in it.
	im = mustImport(t, "testdata/import/zones.ics", ImportOptions{ZoneAliases: domain.ZoneAlias, FloatingZone: ny})
	for _, e := range im.Events {
		if e.UID == "floating" && (len(e.Problems) > 0 || e.Zone != "America/New_York" || !e.Start.Equal(utc(3, 1, 14, 0))) {
			t.Fatalf("floating with a zone: %+v", e)
		}
	}
}

func TestZoneByName(t *testing.T) {
	for _, tt := range []struct{ tzid, want string }{
		{"America/New_York", "America/New_York"},
		{"  Europe/Paris ", "Europe/Paris"},
		{"eastern standard time", "America/New_York"},
		{"/mozilla.org/20070129_1/Europe/London", "Europe/London"},
		{"/freeassociation.sourceforge.net/Tzfile/Asia/Tokyo", "Asia/Tokyo"},
		{"/citadel.org/20190914_1/America/Chicago", "America/Chicago"},
		{"(GMT-05.00) Eastern Time (US & Canada)", "America/New_York"},
		{"UTC", "UTC"},
		{"Local", ""},
		{"", ""},
		{"Mars/Olympus_Mons", ""},
		{"../../../etc/passwd", ""},
		{"America/New_York\r\nX", ""},
	} {
		loc, ok := zoneByName(tt.tzid, domain.ZoneAlias)
		got := ""
		if ok {
			got = loc.String()
		}
		if got != tt.want {
			t.Errorf("zoneByName(%q) = %q, want %q", tt.tzid, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cal := func(lines ...string) []byte {
		return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VCALENDAR\r\n")
	}
	event := func(lines ...string) []byte {
		return cal(append(append([]string{"BEGIN:VEVENT", "UID:1", "DTSTART:20270101T000000Z"}, lines...), "END:VEVENT")...)
	}
	tests := []struct {
		name string
		in   []byte
		lim  Limits
		want string // in the error
	}{
		// go-ical's Decoder panics on these two.
		{"quoted parameter followed by junk", event(`X-A;P="v"junk:x`), Limits{}, "malformed parameter value"},
		{"parameter without value end", event(`X-A;P=v`), Limits{}, "malformed parameter value"},
		{"parameter without =", event(`X-A;P:x`), Limits{}, "malformed parameter"},
		{"unterminated quote", event(`X-A;P="v:x`), Limits{}, "unterminated quoted"},
		{"no colon", event(`SUMMARY`), Limits{}, "no colon"},
		{"no name", event(`:value`), Limits{}, "property name"},
		{"bare CR", event("SUMMARY:a\rATTENDEE:x"), Limits{}, "CR that does not end"},
		{"NUL", event("SUMMARY:a\x00b"), Limits{}, "control character"},
		{"escape character", event("SUMMARY:a\x1b[31mb"), Limits{}, "control character"},
		{"invalid UTF-8", event("SUMMARY:caf\xe9"), Limits{}, "not valid UTF-8"},
		{"continuation first", []byte(" BEGIN:VCALENDAR\r\n"), Limits{}, "continuation line"},
		{"empty", []byte("\r\n\r\n"), Limits{}, "empty"},
		{"not a calendar", []byte("BEGIN:VCARD\r\nEND:VCARD\r\n"), Limits{}, "must start with BEGIN:VCALENDAR"},
		{"unbalanced END", cal("BEGIN:VEVENT", "END:VTODO"), Limits{}, "END:VTODO where END:VEVENT"},
		{"missing END", []byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"), Limits{}, "END:VEVENT is missing"},
		{"nested VCALENDAR", cal("BEGIN:VCALENDAR", "END:VCALENDAR"), Limits{}, "VCALENDAR inside"},
		{"two calendars", append(cal(), cal()...), Limits{}, "exactly one VCALENDAR"},
		{"bad component name", cal("BEGIN:V EVENT", "END:V EVENT"), Limits{}, "bad component name"},
		{"object too large", event("SUMMARY:" + strings.Repeat("a", 2000)), Limits{MaxBytes: 1000}, "object larger than 1000 bytes"},
		{"line too long", event("SUMMARY:" + strings.Repeat("a", 2000)), Limits{MaxLineBytes: 1000}, "content line larger than 1000"},
		{"folded line too long", event("SUMMARY:" + strings.Repeat("aa\r\n ", 600)), Limits{MaxLineBytes: 1000}, "content line larger than 1000"},
		{"parameter too long", event(`X-A;P="` + strings.Repeat("a", 5000) + `":x`), Limits{}, "parameters larger than 1024"},
		{"unquoted parameter too long", event(`X-A;P=` + strings.Repeat("a", 5000) + `:x`), Limits{}, "parameters larger than 1024"},
		{"many parameter values", event(`X-A;P=` + strings.Repeat("a,", 600) + `a:x`), Limits{}, "parameters larger than 1024"},
		{"too many parameters", event(`X-A` + strings.Repeat(";P=a", 70) + `:x`), Limits{}, "more than 64 parameters"},
		{"too deep", cal("BEGIN:VEVENT", "BEGIN:VALARM", "BEGIN:X-A", "BEGIN:X-B", "END:X-B", "END:X-A", "END:VALARM", "END:VEVENT"), Limits{}, "nesting larger than 4"},
		{"too many components", cal(strings.Repeat("BEGIN:X-A\r\nEND:X-A\r\n", 30) + "X:y"), Limits{MaxComponents: 20}, "components larger than 20"},
		{"too many events", cal(strings.Repeat("BEGIN:VEVENT\r\nEND:VEVENT\r\n", 5) + "X:y"), Limits{MaxEvents: 4}, "VEVENTs larger than 4"},
		{"event too large", event("DESCRIPTION:" + strings.Repeat("a", 900)), Limits{MaxEventBytes: 800}, "VEVENT larger than 800"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cal, err := Parse(tt.in, tt.lim)
			if err == nil {
				t.Fatalf("no error; parsed %+v", cal)
			}
			var se *SyntaxError
			var le *LimitError
			if !errors.As(err, &se) && !errors.As(err, &le) {
				t.Fatalf("error %T %v is neither a SyntaxError nor a LimitError", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestUnescapeText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`plain`, "plain"},
		{`a\,b\;c\\d\ne\Nf`, "a,b;c\\d\ne\nf"},
		{`unescaped, kept; too`, "unescaped, kept; too"},
		{`\\n is not a line break`, `\n is not a line break`},
		{`\: lenient`, ": lenient"},
		{`ends with \`, `ends with \`},
	} {
		if got := unescapeText(tt.in); got != tt.want {
			t.Errorf("unescapeText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{`a,b`, []string{"a", "b"}},
		{`Law\, Order,Courts`, []string{"Law, Order", "Courts"}},
		{`a\\,b`, []string{`a\`, "b"}},
		{`,`, []string{"", ""}},
		{`x\`, []string{`x\`}},
	} {
		if got := splitTextList(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("splitTextList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, tt := range []struct {
		in   string
		days int
		d    time.Duration
		ok   bool
	}{
		{"PT1H30M", 0, 90 * time.Minute, true},
		{"P1D", 1, 0, true},
		{"P2W", 14, 0, true},
		{"P1DT2H", 1, 2 * time.Hour, true},
		{"+PT15S", 0, 15 * time.Second, true},
		{"pt1h", 0, time.Hour, true},
		{"-PT1H", 0, 0, false},
		{"P", 0, 0, false},
		{"PT", 0, 0, false},
		{"P1H", 0, 0, false},
		{"PT1D", 0, 0, false},
		{"P1D1D", 0, 0, false},
		{"PT1H1H", 0, 0, false},
		{"P9999999D", 0, 0, false},
		{"1H", 0, 0, false},
	} {
		days, d, err := parseDuration(tt.in)
		if (err == nil) != tt.ok || tt.ok && (days != tt.days || d != tt.d) {
			t.Errorf("parseDuration(%q) = %d, %v, %v", tt.in, days, d, err)
		}
	}
}

// TestFeedRoundTrip: every golden feed reads back through Import with the
// text that was rendered (NormalizeText of the input) and the same times.
func TestFeedRoundTrip(t *testing.T) {
	for _, feed := range []func(testing.TB) Feed{typicalFeed, hostileFeed, zonesFeed} {
		f := feed(t)
		b, err := Render(f)
		if err != nil {
			t.Fatal(err)
		}
		checkImport(t, f, b)
	}
}

// checkImport imports b, the rendering of f, and compares it with f.
func checkImport(t testing.TB, f Feed, b []byte) {
	t.Helper()
	im, err := Import(b, ImportOptions{ZoneAliases: domain.ZoneAlias, Limits: Limits{MaxBytes: len(b), MaxEvents: len(f.Events) + 1}})
	if err != nil {
		t.Fatalf("import of a rendered feed: %v", err)
	}
	if len(im.Events) != len(f.Events) {
		t.Fatalf("%d events read back, want %d", len(im.Events), len(f.Events))
	}
	for i, want := range f.Events {
		got := im.Events[i]
		if got.UID != want.UID || got.Summary != NormalizeText(want.Summary) || got.Description != NormalizeText(want.Description) ||
			got.Location != NormalizeText(want.Location) {
			t.Fatalf("event %d reads back as\n%+v\nwritten\n%+v", i, got, want)
		}
		var cats []string
		for _, c := range want.Categories {
			if c = NormalizeText(c); strings.TrimSpace(c) != "" {
				cats = append(cats, strings.TrimSpace(c))
			}
		}
		if !slices.Equal(got.Categories, cats) {
			t.Fatalf("event %d: categories %q, want %q", i, got.Categories, cats)
		}
		if want.Cancelled {
			continue // a cancelled event is a problem for intake, not for reading
		}
		if len(got.Problems) > 0 {
			t.Fatalf("event %d: problems %v", i, got.Problems)
		}
		if want.AllDay {
			if got.Start.Format(time.DateOnly) != want.Start.Format(time.DateOnly) || got.End.Format(time.DateOnly) != want.End.Format(time.DateOnly) {
				t.Fatalf("event %d: %v–%v, want %v–%v", i, got.Start, got.End, want.Start, want.End)
			}
			continue
		}
		if !got.Start.Equal(want.Start) || !got.End.Equal(want.End) {
			t.Fatalf("event %d: %v–%v, want %v–%v", i, got.Start, got.End, want.Start, want.End)
		}
	}
}

// FuzzImport: any bytes either fail with a SyntaxError or LimitError or
// give events whose times are consistent; it never panics.
func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob("testdata/corpus/*.ics")
	more, _ := filepath.Glob("testdata/import/*.ics")
	for _, path := range append(files, more...) {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nX;A=\"b\"c:d\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		im, err := Import(b, ImportOptions{ZoneAliases: domain.ZoneAlias, Limits: Limits{MaxBytes: 64 << 10}})
		if err != nil {
			var se *SyntaxError
			var le *LimitError
			if !errors.As(err, &se) && !errors.As(err, &le) {
				t.Fatalf("error %T: %v", err, err)
			}
			return
		}
		for _, e := range im.Events {
			if len(e.Problems) > 0 {
				continue
			}
			if e.Start.IsZero() || !e.End.After(e.Start) {
				t.Fatalf("event without problems but with times %v–%v", e.Start, e.End)
			}
			if e.Zone != "" && e.Start.Location().String() != e.Zone {
				t.Fatalf("zone %q but start in %v", e.Zone, e.Start.Location())
			}
		}
	})
}

// FuzzRoundTrip: any text, rendered into a feed, reads back through
// Import as NormalizeText of that text.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range hostileText {
		f.Add(s, s+s, "Law, Order")
	}
	f.Fuzz(func(t *testing.T, summary, description, category string) {
		ny := mustLoad(t, "America/New_York")
		feed := Feed{Name: summary, Events: []Event{{
			UID: "1@x.example", Summary: summary, Description: description, Location: category,
			Categories: []string{category, summary}, Start: time.Date(2027, 11, 7, 1, 30, 0, 0, ny),
			End: time.Date(2027, 11, 7, 6, 30, 0, 0, time.UTC).In(ny), LastModified: modified,
		}}}
		b, err := Render(feed)
		if err != nil {
			t.Fatal(err)
		}
		checkImport(t, feed, b)
	})
}
