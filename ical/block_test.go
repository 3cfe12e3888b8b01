package ical

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// blocks encodes each event of f on its own.
func blocks(t testing.TB, f Feed) []*EventBlock {
	t.Helper()
	out := make([]*EventBlock, len(f.Events))
	for i, e := range f.Events {
		b, err := EncodeEvent(e)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if b.UID() != e.UID || b.Len() == 0 {
			t.Fatalf("event %d: block %q of %d bytes", i, b.UID(), b.Len())
		}
		out[i] = b
	}
	return out
}

// TestAssembleIsRender: a feed assembled from blocks encoded one by one is
// byte for byte the feed Render writes, for every golden feed.
func TestAssembleIsRender(t *testing.T) {
	for _, tt := range []struct {
		name string
		feed func(testing.TB) Feed
	}{
		{"typical", typicalFeed},
		{"hostile", hostileFeed},
		{"empty", emptyFeed},
		{"zones", zonesFeed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.feed(t)
			want, err := Render(f)
			if err != nil {
				t.Fatal(err)
			}
			bs := blocks(t, f)
			header := f
			header.Events = nil
			got, err := Assemble(header, bs)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("assembled feed differs from Render:\n%s", firstDiff(got, want))
			}
		})
	}
}

// TestAssembleZoneSpans: the VTIMEZONE spans the years of every block, as
// Render's does for the same events, whichever block comes first.
func TestAssembleZoneSpans(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	ny2 := mustLoad(t, "America/New_York") // another *Location of the same zone
	f := Feed{Events: []Event{
		{UID: "1@x.example", Start: time.Date(2029, 5, 1, 9, 0, 0, 0, ny), End: time.Date(2029, 5, 1, 10, 0, 0, 0, ny), LastModified: modified},
		{UID: "2@x.example", Start: time.Date(2027, 5, 1, 9, 0, 0, 0, ny2), End: time.Date(2027, 5, 1, 10, 0, 0, 0, ny2), LastModified: modified},
	}}
	want, err := Render(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Assemble(Feed{}, blocks(t, f))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("assembled feed differs from Render:\n%s", firstDiff(got, want))
	}
	if !bytes.Contains(got, []byte("DTSTART:20260101T000000")) {
		t.Fatalf("VTIMEZONE does not start in 2026:\n%s", got)
	}
}

func TestAssembleErrors(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	good := Event{UID: "1@x.example", Start: time.Date(2027, 5, 1, 9, 0, 0, 0, ny), End: time.Date(2027, 5, 1, 10, 0, 0, 0, ny), LastModified: modified}
	fake := time.FixedZone("America/New_York", 3600)
	other := good
	other.UID = "2@x.example"
	other.Start, other.End = other.Start.In(fake), other.End.In(fake)
	tests := []struct {
		name   string
		feed   Feed
		events []Event
	}{
		{"duplicate UID", Feed{}, []Event{good, good}},
		{"two zones, one name", Feed{}, []Event{good, other}},
		{"events in the feed", Feed{Events: []Event{good}}, nil},
		{"bad SOURCE", Feed{Source: "webcal://x.example/"}, []Event{good}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bs []*EventBlock
			for _, e := range tt.events {
				b, err := EncodeEvent(e)
				if err != nil {
					t.Fatal(err)
				}
				bs = append(bs, b)
			}
			if b, err := Assemble(tt.feed, bs); err == nil {
				t.Fatalf("no error; wrote\n%s", b)
			} else if !strings.HasPrefix(err.Error(), "ical: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	if _, err := EncodeEvent(Event{UID: "x\r\nATTENDEE:y", Start: good.Start, End: good.End, LastModified: modified}); err == nil {
		t.Fatal("EncodeEvent took a UID with CRLF")
	}
}

// FuzzAssemble: any text in any TEXT field gives the same bytes through
// blocks as through Render.
func FuzzAssemble(f *testing.F) {
	for _, s := range hostileText {
		f.Add(s, s+s, "Law, Order")
	}
	f.Fuzz(func(t *testing.T, summary, description, category string) {
		ny := mustLoad(t, "America/New_York")
		feed := Feed{Name: summary, Description: description, Events: []Event{{
			UID: "1@x.example", Summary: summary, Description: description, Location: category,
			Categories: []string{category, summary}, Start: time.Date(2027, 11, 7, 1, 30, 0, 0, ny),
			End: time.Date(2027, 11, 7, 6, 30, 0, 0, time.UTC).In(ny), LastModified: modified,
		}, {
			UID: "2@x.example", Summary: description, AllDay: true, Start: date(2027, 6, 1), End: date(2027, 6, 3), LastModified: modified,
		}}}
		want, err := Render(feed)
		if err != nil {
			t.Fatal(err)
		}
		header := feed
		header.Events = nil
		got, err := Assemble(header, blocks(t, feed))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("assembled feed differs from Render:\n%s", firstDiff(got, want))
		}
	})
}
