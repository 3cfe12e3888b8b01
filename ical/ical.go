// Package ical writes the public iCalendar feeds of Justice Events
// (RFC 5545, with the calendar properties of RFC 7986), and reads the
// iCalendar files people upload (decode.go, import.go).
//
// It owns the mapping of a Feed onto iCalendar: which properties a feed and
// its events carry, TEXT normalisation, validation of the values that cannot
// be escaped (UID, URL, SOURCE, TZID), VTIMEZONE generation from Go's tz
// database, and line folding. It builds github.com/emersion/go-ical
// components and encodes them with go-ical's Encoder, adding only what
// go-ical lacks: folding, CR and control-character handling, checks of
// non-TEXT values and VTIMEZONE generation.
//
// EncodeEvent and Assemble (block.go) build the same bytes as Render from
// events encoded once, so a feed server re-encodes only what changed.
// Parse and Import read untrusted files within Limits, guarding go-ical's
// Decoder (which panics on some malformed parameters and is quadratic in
// parameter length) with a checking pre-pass.
//
// It imports go-ical and the standard library only; it knows nothing of
// NATS or of the domain package. Callers map their read model to a Feed,
// sort its events and embed time/tzdata (or ship a tz database).
// Encode, Render, EncodeEvent, Assemble, Parse and Import are safe for
// concurrent use; output is deterministic.
package ical

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"
)

// ProductID is the PRODID of every feed (RFC 5545 §3.7.3).
const ProductID = "-//Justice Events//Calendar 1.0//EN"

// Feed is one calendar to publish.
type Feed struct {
	Name        string        // NAME (RFC 7986 §5.1) and X-WR-CALNAME
	Description string        // DESCRIPTION (RFC 7986 §5.2) and X-WR-CALDESC
	Source      string        // SOURCE;VALUE=URI (RFC 7986 §5.8): the feed's own http(s) URL; omitted when empty
	URL         string        // URL (RFC 7986 §5.5): the web page; omitted when empty
	Refresh     time.Duration // REFRESH-INTERVAL (RFC 7986 §5.7) and X-PUBLISHED-TTL, same value; omitted when 0
	Events      []Event       // written in the given order (the caller sorts)
}

// Event is one VEVENT (RFC 5545 §3.6.1). Every TEXT field may hold any
// string: it is written through NormalizeText and escaped, and empty ones
// are omitted. UID and URL are validated instead, and Encode fails on a bad
// one.
type Event struct {
	UID         string   // stable and unique in the feed, e.g. "<id>@<host>"
	Summary     string   // SUMMARY
	Description string   // DESCRIPTION
	Location    string   // LOCATION
	URL         string   // URL: an absolute http(s) link
	Categories  []string // one CATEGORIES property; a category containing a comma stays one category
	Cancelled   bool     // STATUS:CANCELLED, else STATUS:CONFIRMED
	AllDay      bool     // DATE values and TRANSP:TRANSPARENT, else DATE-TIME values and TRANSP:OPAQUE

	// Timed events: Start and End are instants in the event's zone (their
	// Location, loaded by IANA name): written as
	// DTSTART;TZID=<Location().String()> with a VTIMEZONE for that zone in
	// the calendar, or in UTC form when the location is time.UTC, and also
	// for both passes through an hour repeated by a fall-back: a local time
	// cannot name the second (RFC 5545 §3.3.5), and ical.js, libical and
	// python-icalendar all read the first as the second (see ambiguous.go).
	// End equal to Start (a
	// zero-length event) omits DTEND. All-day events: only the calendar
	// dates of Start and End (in their own locations) matter, and End is
	// exclusive: the day after the last day.
	Start, End time.Time

	Created      time.Time // CREATED, in UTC; omitted when zero
	LastModified time.Time // LAST-MODIFIED and DTSTAMP, in UTC; required
	Sequence     int       // SEQUENCE, >= 0
}

// Render is Encode into a byte slice.
func Render(f Feed) ([]byte, error) {
	var b bytes.Buffer
	if err := Encode(&b, f); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Encode writes f as an RFC 5545 calendar: PRODID, VERSION:2.0,
// CALSCALE:GREGORIAN, the RFC 7986 and X-WR- calendar properties, one
// VTIMEZONE per TZID used (sorted by TZID), then the events in order. There
// is no METHOD: a subscription feed is not an iTIP message (RFC 5545 §3.7.2).
// The same Feed always gives the same bytes.
//
// Encode checks the whole feed before it writes anything, so on a
// validation error nothing has been written to w.
func Encode(w io.Writer, f Feed) error {
	cal, err := calendar(f)
	if err != nil {
		return err
	}
	fw := newFoldWriter(w)
	if err := goical.NewEncoder(fw).Encode(cal); err != nil {
		return fmt.Errorf("ical: encode: %w", err)
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("ical: encode: %w", err)
	}
	return nil
}

// calendar builds the VCALENDAR of f.
func calendar(f Feed) (*goical.Calendar, error) {
	cal := goical.NewCalendar()
	p := cal.Props
	p.Set(textProp(goical.PropProductID, ProductID))
	p.Set(textProp(goical.PropVersion, "2.0"))
	p.Set(textProp(goical.PropCalendarScale, "GREGORIAN"))
	setText(p, goical.PropName, f.Name)
	setText(p, "X-WR-CALNAME", f.Name)
	setText(p, goical.PropDescription, f.Description)
	setText(p, "X-WR-CALDESC", f.Description)
	if f.Source != "" {
		u, err := webURI("SOURCE", f.Source)
		if err != nil {
			return nil, fmt.Errorf("ical: feed: %w", err)
		}
		prop := rawProp(goical.PropSource, u)
		prop.Params.Set(goical.ParamValue, string(goical.ValueURI)) // as in RFC 7986 §5.8
		p.Set(prop)
	}
	if f.URL != "" {
		u, err := webURI("URL", f.URL)
		if err != nil {
			return nil, fmt.Errorf("ical: feed: %w", err)
		}
		p.Set(rawProp(goical.PropURL, u))
	}
	if f.Refresh != 0 {
		d, err := duration(f.Refresh)
		if err != nil {
			return nil, fmt.Errorf("ical: feed: refresh: %w", err)
		}
		prop := rawProp(goical.PropRefreshInterval, d)
		// VALUE=DURATION is required by RFC 7986 §5.7's grammar.
		prop.Params.Set(goical.ParamValue, string(goical.ValueDuration))
		p.Set(prop)
		p.Set(rawProp("X-PUBLISHED-TTL", d))
	}

	zones := zoneSet{}
	uids := make(map[string]bool, len(f.Events))
	events := make([]*goical.Component, 0, len(f.Events))
	for i, e := range f.Events {
		c, err := event(e, zones)
		if err != nil {
			return nil, fmt.Errorf("ical: event %d (UID %q): %w", i, e.UID, err)
		}
		if uids[e.UID] {
			return nil, fmt.Errorf("ical: event %d: UID %q is not unique in the feed (RFC 5545 §3.8.4.7)", i, e.UID)
		}
		uids[e.UID] = true
		events = append(events, c)
	}

	for _, tzid := range slices.Sorted(maps.Keys(zones)) {
		z := zones[tzid]
		tz, err := Timezone(z.loc, max(z.from-1, 1), min(z.to+1, 9999))
		if err != nil {
			return nil, err
		}
		cal.Children = append(cal.Children, tz)
	}
	if len(events) == 0 {
		// RFC 5545 §3.6 requires at least one component in a VCALENDAR (and
		// go-ical refuses to encode an empty one). A feed without events
		// holds the VTIMEZONE of UTC instead: a component every client
		// accepts and none displays, fixed (1970) so it depends on nothing,
		// not even the clock. An event placeholder would be shown to users.
		tz, err := Timezone(time.UTC, 1970, 1970)
		if err != nil {
			return nil, err
		}
		cal.Children = append(cal.Children, tz)
	}
	cal.Children = append(cal.Children, events...)
	return cal, nil
}

// event builds the VEVENT of e and adds the zones it uses to zones.
func event(e Event, zones zoneSet) (*goical.Component, error) {
	c := goical.NewComponent(goical.CompEvent)
	p := c.Props

	// UID is TEXT (RFC 5545 §3.8.4.7), escaped as such, but clients compare
	// it verbatim, so a control character or line break is refused rather
	// than normalised away.
	if err := checkLine("UID", e.UID); err != nil {
		return nil, err
	}
	p.Set(textProp(goical.PropUID, e.UID))
	setText(p, goical.PropSummary, e.Summary)
	setText(p, goical.PropDescription, e.Description)
	setText(p, goical.PropLocation, e.Location)
	var cats []string
	for _, s := range e.Categories {
		if s = NormalizeText(s); s != "" {
			cats = append(cats, s)
		}
	}
	if len(cats) > 0 {
		// One property; SetTextList escapes the commas inside a category
		// (RFC 5545 §3.8.1.2, §3.3.11).
		p.Set(textProp(goical.PropCategories, cats...))
	}
	if e.URL != "" {
		u, err := webURI("URL", e.URL)
		if err != nil {
			return nil, err
		}
		p.Set(rawProp(goical.PropURL, u))
	}
	status, transp := "CONFIRMED", "OPAQUE"
	if e.Cancelled {
		status = "CANCELLED"
	}
	if e.AllDay {
		transp = "TRANSPARENT"
	}
	p.Set(textProp(goical.PropStatus, status))
	p.Set(textProp(goical.PropTransparency, transp))
	p.Set(textProp(goical.PropClass, "PUBLIC"))

	// Without METHOD, DTSTAMP is when the event was last revised (RFC 5545
	// §3.8.7.2): LastModified, never the time of the request.
	if e.LastModified.IsZero() {
		return nil, fmt.Errorf("last modified time is required (it is also DTSTAMP)")
	}
	for _, s := range []struct {
		name string
		t    time.Time
	}{
		{goical.PropDateTimeStamp, e.LastModified},
		{goical.PropLastModified, e.LastModified},
		{goical.PropCreated, e.Created},
	} {
		if s.t.IsZero() {
			continue
		}
		t := s.t.UTC()
		if err := checkYear(s.name, t); err != nil {
			return nil, err
		}
		p.SetDateTime(s.name, t)
	}
	if e.Sequence < 0 {
		return nil, fmt.Errorf("sequence %d is negative", e.Sequence)
	}
	p.Set(rawProp(goical.PropSequence, strconv.Itoa(e.Sequence)))

	if e.Start.IsZero() {
		return nil, fmt.Errorf("start is required")
	}
	if e.AllDay {
		// DATE values, no TZID; DTEND is exclusive (RFC 5545 §3.6.1).
		start, end := civilDate(e.Start), civilDate(e.End)
		if !end.After(start) {
			return nil, fmt.Errorf("all-day end %s is not after start %s (the end is exclusive: the day after the last day)",
				end.Format(time.DateOnly), start.Format(time.DateOnly))
		}
		for _, s := range []struct {
			name string
			t    time.Time
		}{{goical.PropDateTimeStart, start}, {goical.PropDateTimeEnd, end}} {
			if err := checkYear(s.name, s.t); err != nil {
				return nil, err
			}
			p.SetDate(s.name, s.t)
		}
		return c, nil
	}
	start, end := e.Start.Truncate(time.Second), e.End.Truncate(time.Second)
	if end.Before(start) {
		return nil, fmt.Errorf("end %s is before start %s", e.End.Format(time.RFC3339), e.Start.Format(time.RFC3339))
	}
	prop, err := zones.dateTime(goical.PropDateTimeStart, start)
	if err != nil {
		return nil, err
	}
	p.Set(prop)
	if end.After(start) { // DTEND must be after DTSTART; a zero-length event has none
		prop, err := zones.dateTime(goical.PropDateTimeEnd, end)
		if err != nil {
			return nil, err
		}
		p.Set(prop)
	}
	return c, nil
}

// zoneSet collects the zones the DATE-TIME values of a feed refer to, by
// TZID, with the local years they span.
type zoneSet map[string]*zoneSpan

type zoneSpan struct {
	loc      *time.Location
	from, to int
}

// dateTime returns a DATE-TIME property for t (RFC 5545 §3.3.5): in UTC
// form when t is in UTC or in an hour repeated by a fall-back (either
// pass, see ambiguous), else as local time with TZID=t.Location().String(),
// whose zone it adds to zs.
func (zs zoneSet) dateTime(name string, t time.Time) (*goical.Prop, error) {
	if err := checkYear(name, t); err != nil {
		return nil, err
	}
	prop := goical.NewProp(name)
	loc := t.Location()
	if loc == time.UTC {
		prop.SetDateTime(t)
		return prop, nil
	}
	tzid := loc.String()
	if err := checkTZID(tzid); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if ambiguous(t) {
		prop.SetDateTime(t.UTC())
		return prop, nil
	}
	z := zs[tzid]
	if z == nil {
		z = &zoneSpan{loc: loc, from: t.Year(), to: t.Year()}
		zs[tzid] = z
	}
	// Two *time.Location values with one name must agree, or the single
	// VTIMEZONE for that TZID would misstate one of them.
	if _, off := t.Zone(); loc != z.loc {
		if _, o := t.In(z.loc).Zone(); o != off {
			return nil, fmt.Errorf("%s: two different time zones are named %q", name, tzid)
		}
	}
	z.from, z.to = min(z.from, t.Year()), max(z.to, t.Year())
	prop.SetDateTime(t)
	return prop, nil
}

// repeated reports whether t falls in the hour (or so) that a backward
// change of its zone repeats (a fall-back), as its second occurrence.
// RFC 5545 §3.3.5 reads a repeated local time as the first occurrence, so
// t must be written in UTC form to keep its meaning.
func repeated(t time.Time) bool {
	// No zone has set its clock back by more than a day.
	tr := transitions(t.Add(-25*time.Hour), t)
	if len(tr) == 0 {
		return false
	}
	at := tr[len(tr)-1]
	_, before := at.Add(-time.Second).Zone()
	_, off := t.Zone()
	return before > off && t.Sub(at) < time.Duration(before-off)*time.Second
}

// civilDate is the calendar date of t in its own location, as a DATE.
func civilDate(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// checkYear refuses what DATE and DATE-TIME cannot hold: they have
// four-digit years (RFC 5545 §3.3.4).
func checkYear(name string, t time.Time) error {
	if y := t.Year(); y < 1 || y > 9999 {
		return fmt.Errorf("%s: year %d is outside 1..9999", name, y)
	}
	return nil
}

// duration formats d as an RFC 5545 §3.3.6 dur-value in hours, minutes and
// seconds: PT6H, PT1H30M, PT1H0M5S (the grammar allows S after H only
// through M).
func duration(d time.Duration) (string, error) {
	if d <= 0 || d%time.Second != 0 {
		return "", fmt.Errorf("%v is not a positive whole number of seconds", d)
	}
	s := int64(d / time.Second)
	h, m, sec := s/3600, s/60%60, s%60
	var b strings.Builder
	b.WriteString("PT")
	if h > 0 {
		fmt.Fprintf(&b, "%dH", h)
	}
	if m > 0 || h > 0 && sec > 0 {
		fmt.Fprintf(&b, "%dM", m)
	}
	if sec > 0 {
		fmt.Fprintf(&b, "%dS", sec)
	}
	return b.String(), nil
}

// textProp returns a TEXT property holding NormalizeText of each value,
// escaped by go-ical (RFC 5545 §3.3.11). TEXT is the default type of every
// property written this way, so it carries no VALUE parameter.
func textProp(name string, values ...string) *goical.Prop {
	l := make([]string, len(values))
	for i, v := range values {
		l[i] = NormalizeText(v)
	}
	p := goical.NewProp(name)
	p.SetTextList(l)
	p.Params.Del(goical.ParamValue)
	return p
}

// setText sets a TEXT property to NormalizeText(s), or omits it when that
// is empty.
func setText(p goical.Props, name, s string) {
	if s = NormalizeText(s); s != "" {
		p.Set(textProp(name, s))
	}
}
