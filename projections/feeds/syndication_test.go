package feeds

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/syndcheck"
	"github.com/justiceevents/jevents/projections/calendar"
)

// expectedItems are the conferences of f's .ics feed on fixedNow, newest
// change first: what every syndication format must hold.
func expectedItems(s *Server, cs []calendar.Conference, f Filter) []calendar.Conference {
	var want []calendar.Conference
	for _, c := range cs {
		p := s.prepared.times(c)
		if !c.Public() || !f.Match(c) || f.ID == "" && p.end.Before(s.cutoff(fixedNow)) {
			continue
		}
		want = append(want, c)
	}
	slices.SortFunc(want, func(a, b calendar.Conference) int {
		if d := b.Updated.Compare(a.Updated); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	return want
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestSyndicationParsers renders every golden feed's filter (the hostile
// fixtures included) as RSS, Atom and JSON Feed and reads them with
// independent parsers: RSS and Atom with Debian's python3-feedparser, which
// must find them well formed and read exactly the conferences of the .ics
// feed, newest change first, with their titles (cancellations said),
// stable ids, links, categories, dates and text; JSON Feed validated
// against the JSON Feed 1.1 schema by ajv, and read back the same.
func TestSyndicationParsers(t *testing.T) {
	dir := t.TempDir()
	type rendered struct {
		name string
		s    *Server
		f    Filter
		want []calendar.Conference
	}
	var all []rendered
	var xmlPaths, jsonPaths []string
	for _, tt := range goldenFeeds {
		cs := tt.fixture(t)
		s := newServer(t, newSource(cs...))
		all = append(all, rendered{tt.name, s, tt.filter, expectedItems(s, cs, tt.filter)})
		for _, format := range []Format{RSS, Atom, JSONFeed} {
			e, err := s.FeedAs(tt.filter, format, fixedNow)
			if err != nil {
				t.Fatalf("%s.%s: %v", tt.name, format, err)
			}
			again, _ := newServer(t, newSource(cs...)).FeedAs(tt.filter, format, fixedNow)
			if !bytes.Equal(e.Body, again.Body) {
				t.Errorf("%s.%s: two servers over the same model render different bytes", tt.name, format)
			}
			if bytes.Contains(e.Body, []byte(contactEmail)) {
				t.Errorf("%s.%s publishes the organiser's contact", tt.name, format)
			}
			path := filepath.Join(dir, tt.name+"."+string(format))
			if err := os.WriteFile(path, e.Body, 0o644); err != nil {
				t.Fatal(err)
			}
			if format == JSONFeed {
				jsonPaths = append(jsonPaths, path)
			} else {
				xmlPaths = append(xmlPaths, path)
			}
		}
	}
	read := syndcheck.ReadFeeds(t, xmlPaths...)
	checks := syndcheck.ValidateJSONFeeds(t, jsonPaths...)
	for i, r := range all {
		for j, format := range []Format{RSS, Atom} {
			got := read[2*i+j]
			t.Run(r.name+"."+string(format), func(t *testing.T) {
				if got.Bozo {
					t.Fatalf("feedparser finds it malformed: %s", got.BozoException)
				}
				wantVersion := map[Format]string{RSS: "rss20", Atom: "atom10"}[format]
				if got.Version != wantVersion {
					t.Errorf("version %q, want %q", got.Version, wantVersion)
				}
				if got.Title != r.s.title(r.f) {
					t.Errorf("title %q, want %q", got.Title, r.s.title(r.f))
				}
				self := r.s.feedURL(r.f, format)
				if !slices.Contains(got.Links, syndcheck.Link{Rel: "self", Href: self}) {
					t.Errorf("no self link %s in %v", self, got.Links)
				}
				compareEntries(t, r.s, format, r.want, got.Entries)
			})
		}
		t.Run(r.name+".json", func(t *testing.T) {
			v := checks[i]
			if !v.Valid {
				t.Fatalf("not valid JSON Feed 1.1: %v", v.Errors)
			}
			body, _ := os.ReadFile(jsonPaths[i])
			var doc jsonFeed
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatal(err)
			}
			var entries []syndcheck.Entry
			for _, it := range doc.Items {
				e := syndcheck.Entry{ID: it.ID, Title: it.Title, Link: it.URL, Updated: it.DateModified,
					Published: it.DatePublished, Text: it.ContentText}
				for _, tag := range it.Tags {
					e.Tags = append(e.Tags, syndcheck.Tag{Label: tag})
				}
				entries = append(entries, e)
			}
			compareEntries(t, r.s, JSONFeed, r.want, entries)
			for k, it := range doc.Items {
				c := r.want[k]
				p := r.s.prepared.times(c)
				_, start, end := whenText(c.Details, p)
				if x := it.Extension; x.Start != start || x.End != end || x.AllDay != c.Details.AllDay || x.Status != string(c.Status) {
					t.Errorf("%s: extension %+v, want start %s end %s status %s", c.ID, x, start, end, c.Status)
				}
			}
		})
	}
}

// compareEntries checks the entries a parser read against the conferences
// the feed must hold, in order.
func compareEntries(t *testing.T, s *Server, format Format, want []calendar.Conference, got []syndcheck.Entry) {
	t.Helper()
	if len(got) != len(want) {
		ids := []string{}
		for _, e := range got {
			ids = append(ids, e.ID)
		}
		t.Fatalf("%d entries %v, want %d", len(got), ids, len(want))
	}
	for k, c := range want {
		e := got[k]
		d := c.Details
		id := "https://events.test/conferences/" + c.ID
		if e.ID != id || e.Link != id {
			t.Errorf("entry %d: id %q link %q, want %q (newest change first)", k, e.ID, e.Link, id)
			continue
		}
		title := d.Title
		if c.Status == domain.StatusCancelled {
			title = "Cancelled: " + d.Title
		}
		// feedparser reads a title as text unless it holds markup, which
		// it then sanitises: it must read back exactly what was typed.
		if e.Title != title && !(format != JSONFeed && e.TitleType == "text/html" && squash(e.Title) == squash(title)) {
			t.Errorf("%s: title %q, want %q", c.ID, e.Title, title)
		}
		if e.Updated != c.Updated.UTC().Format(time.RFC3339) {
			t.Errorf("%s: updated %q, want %s", c.ID, e.Updated, c.Updated.UTC().Format(time.RFC3339))
		}
		if format != RSS && e.Published != c.Published.UTC().Format(time.RFC3339) {
			t.Errorf("%s: published %q, want %s", c.ID, e.Published, c.Published.UTC().Format(time.RFC3339))
		}
		var labels []string
		for _, tag := range e.Tags {
			labels = append(labels, cmpOr(tag.Label, tag.Term))
			if format == Atom && (tag.Scheme != "https://events.test/calendar/topics/" || !slices.Contains(d.Topics, tag.Term)) {
				t.Errorf("%s: category %+v", c.ID, tag)
			}
		}
		var wantLabels []string
		for _, topic := range d.Topics {
			wantLabels = append(wantLabels, domain.TopicLabel(topic))
		}
		if !slices.Equal(labels, wantLabels) {
			t.Errorf("%s: categories %q, want %q", c.ID, labels, wantLabels)
		}
		p := s.prepared.times(c)
		when, _, _ := whenText(d, p)
		text := squash(e.Text)
		for _, part := range []string{when, d.Description, d.Place()} {
			if !strings.Contains(text, squash(part)) {
				t.Errorf("%s: text %q lacks %q", c.ID, text, squash(part))
			}
		}
		if strings.Contains(strings.ToLower(e.Raw), "<script") {
			t.Errorf("%s: markup from the text reached the content: %q", c.ID, e.Raw)
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestSyndicationFollowsChanges: a change re-renders every format of the
// feeds that hold the conference, and a cancellation shows in the title.
func TestSyndicationFollowsChanges(t *testing.T) {
	cs := sample(t)
	src := newSource(cs...)
	s := newServer(t, src)
	var c calendar.Conference
	for _, x := range cs {
		if x.Public() && x.Status != domain.StatusCancelled && !s.prepared.times(x).end.Before(s.cutoff(fixedNow)) {
			c = x
			break
		}
	}
	before := map[Format][]byte{}
	for _, format := range Formats {
		e, err := s.FeedAs(Filter{}, format, fixedNow)
		if err != nil {
			t.Fatal(err)
		}
		before[format] = e.Body
	}
	c.Status, c.Version, c.Updated = domain.StatusCancelled, c.Version+1, c.Updated.Add(time.Hour)
	src.put(s, c)
	for _, format := range Formats {
		e, _ := s.FeedAs(Filter{}, format, fixedNow)
		if bytes.Equal(e.Body, before[format]) {
			t.Errorf("%s: unchanged after a cancellation", format)
		}
		if format != ICS && !bytes.Contains(e.Body, []byte("Cancelled: ")) {
			t.Errorf("%s: the cancellation is not in a title", format)
		}
	}
}
