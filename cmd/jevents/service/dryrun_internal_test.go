package service

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/engine"
	"github.com/justiceevents/jevents/projections/feeds"
)

// shout is a changed calendar projection, as a developer might make one:
// the titles of public courts conferences in capitals. A dry run of it
// must name exactly the records and feeds that change.
type shout struct{ calendar.Projection }

func (p shout) Apply(tx *engine.Tx[calendar.Conference], r domain.Record) error {
	if err := p.Projection.Apply(tx, r); err != nil {
		return err
	}
	if c, ok := tx.Get(calendar.Key(r.AggregateID)); ok && slices.Contains(c.Details.Topics, "courts") {
		c.Details.Title = strings.ToUpper(c.Details.Title)
		tx.Put(calendar.Key(r.AggregateID), c)
	}
	return nil
}

// TestDryRunReportsExactlyWhatAProjectionChangeChanges: with the
// projections as they are, a dry run finds nothing to change; with a
// variant of the calendar's, it reports exactly the two records it
// changes (with the field that differs) and exactly the feeds whose bytes
// hold them, and it writes no bucket and switches nothing.
func TestDryRunReportsExactlyWhatAProjectionChangeChanges(t *testing.T) {
	s := startAsOfService(t, t.TempDir())
	h := &script{t: t, s: s, last: map[string]uint64{}}
	now := time.Now().UTC().Add(-time.Hour)
	next := func(m, d int) string { return nextYearDate(m, d) }
	ovc := domain.ResourceDetails{Name: "Office for Victims of Crime", ShortName: "OVC", Kind: domain.KindAgency, Topics: []string{"trafficking-in-persons"}}
	bja := domain.ResourceDetails{Name: "Bureau of Justice Assistance", ShortName: "BJA", Kind: domain.KindAgency, Topics: []string{"courts"}}
	h.add(now, domain.AggregateResource, "ovc", domain.ResourceAdded{Details: ovc, Source: "seed"})
	h.add(now, domain.AggregateResource, "bja", domain.ResourceAdded{Details: bja, Source: "seed"})
	conf := func(title, topic, region string, sponsors ...domain.Sponsor) domain.ConferenceDetails {
		return domain.ConferenceDetails{Title: title, AllDay: true, Start: next(4, 2), End: next(4, 3), Format: domain.FormatInPerson,
			Location: domain.Location{City: "Somewhere", Region: region, Country: "US"}, Sponsors: sponsors, Topics: []string{topic}}
	}
	contact := domain.Contact{Email: "organiser@example.org"}
	for _, c := range []struct {
		id      string
		details domain.ConferenceDetails
		then    []domain.Event
	}{
		{"conf-a", conf("Court summit", "courts", "MD", domain.Sponsor{ID: "ovc", Name: "Office for Victims of Crime"}), []domain.Event{domain.ConferenceApproved{}}},
		{"conf-b", conf("Trafficking forum", "trafficking-in-persons", "MD", domain.Sponsor{ID: "bja", Name: "Bureau of Justice Assistance"}), []domain.Event{domain.ConferenceApproved{}}},
		{"conf-c", conf("Pending court day", "courts", "NY"), nil},
		{"conf-d", conf("Cancelled court day", "courts", "VA"), []domain.Event{domain.ConferenceApproved{}, domain.ConferenceCancelled{Reason: "moved"}}},
	} {
		h.add(now, domain.AggregateConference, c.id, domain.ConferenceSubmitted{Details: c.details, Contact: contact, Source: "api"})
		for _, ev := range c.then {
			h.add(now, domain.AggregateConference, c.id, ev)
		}
	}
	h.settle()
	// The projector has committed up to the last event.
	waitFor(t, 20*time.Second, "the calendar's checkpoint", func() bool {
		diffs, err := readModels.models().DryRun(context.Background(), s.js, engine.BucketConfig{Replicas: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		return err == nil && diffs[0].Sequence >= h.lastConf
	})
	buckets := func() []string {
		var out []string
		names := s.js.KeyValueStoreNames(context.Background())
		for n := range names.Name() {
			out = append(out, n)
		}
		slices.Sort(out)
		return out
	}
	before := buckets()
	cfg := DryRunConfig{Replicas: 1, PublicURL: "https://events.test", FeedWindow: 48 * time.Hour}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	same, err := dryRun(context.Background(), s.js, readModels.models(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range same.Models {
		if !d.Unchanged() {
			t.Fatalf("the projections as they are would change %s: %+v", d.Projection, d)
		}
	}
	if len(same.Feeds.Changed) != 0 || same.Feeds.Compared < 10 {
		t.Fatalf("the projections as they are would change feeds: %+v", same.Feeds)
	}

	variant := readModels.models()
	variant[0] = engine.Define[calendar.Conference](shout{}, engine.OnlyKeys(calendar.Public))
	var progressed []uint64
	cfg.Progress = func(name string, done, total uint64) {
		if name == calendar.Name {
			progressed = append(progressed, done)
		}
	}
	rep, err := dryRun(context.Background(), s.js, variant, cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	cal := rep.Models[0]
	if cal.Projection != calendar.Name || cal.AddedCount != 0 || cal.RemovedCount != 0 ||
		!slices.Equal(cal.Changed, []string{calendar.Key("conf-a"), calendar.Key("conf-d")}) {
		t.Fatalf("calendar: %+v", cal)
	}
	if len(cal.Samples) != 2 || len(cal.Samples[0].Fields) != 1 || cal.Samples[0].Fields[0].Path != "details.title" ||
		string(cal.Samples[0].Fields[0].Old) != `"Court summit"` || string(cal.Samples[0].Fields[0].New) != `"COURT SUMMIT"` {
		b, _ := json.Marshal(cal.Samples)
		t.Fatalf("samples: %s", b)
	}
	for _, d := range rep.Models[1:] {
		if !d.Unchanged() {
			t.Fatalf("%s would change: %+v", d.Projection, d)
		}
	}
	var urls []string
	for _, c := range rep.Feeds.Changed {
		if c.OldETag == "" || c.NewETag == "" || c.OldETag == c.NewETag {
			t.Fatalf("feed change %+v", c)
		}
		urls = append(urls, strings.TrimPrefix(c.URL, "https://events.test"))
	}
	want := []string{"/calendar.ics", "/calendar/countries/US.ics", "/calendar/regions/MD.ics", "/calendar/regions/VA.ics",
		"/calendar/sponsors/Office%20for%20Victims%20of%20Crime.ics", "/calendar/topics/courts.ics",
		"/conferences/conf-a.ics", "/conferences/conf-d.ics"}
	slices.Sort(urls)
	if !slices.Equal(urls, want) {
		t.Fatalf("feeds that would change: %q, want %q", urls, want)
	}
	// The live feed server's ETags are the dry run's "before".
	live, err := s.feeds.Feed(feedsFilterAll(), rep.Feeds.At)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Feeds.Changed[0].OldETag != live.ETag {
		t.Fatalf("the dry run's ETag of the whole calendar %s, the server's %s", rep.Feeds.Changed[0].OldETag, live.ETag)
	}
	if len(progressed) == 0 || progressed[len(progressed)-1] != cal.Sequence {
		t.Fatalf("progress %v, folded up to %d", progressed, cal.Sequence)
	}
	if after := buckets(); !slices.Equal(before, after) {
		t.Fatalf("a dry run changed the buckets: %v → %v", before, after)
	}
	// Nothing switched: the live model is the projection's as it is.
	if c, ok := replicaOf(s, calendar.Model).Get(calendar.Key("conf-a")); !ok || c.Details.Title != "Court summit" {
		t.Fatalf("the live record: %+v", c)
	}
}

func feedsFilterAll() feeds.Filter { return feeds.Filter{} }
