package ical

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	goical "github.com/emersion/go-ical"
)

// ImportOptions say how Import reads what a file leaves open.
type ImportOptions struct {
	Limits Limits
	// FloatingZone is the zone of floating times (neither UTC nor TZID,
	// RFC 5545 §3.3.5 form #1). When nil, the calendar's X-WR-TIMEZONE is
	// used if it names an IANA zone; without either, a floating time is a
	// problem of its VEVENT.
	FloatingZone *time.Location
	// ZoneAliases gives the IANA name of a zone name that is not one: the
	// Windows names Outlook and Exchange write ("Eastern Standard Time")
	// and Outlook's display names without their offset ("Eastern Time (US
	// & Canada)"). nil: IANA names only (and vendor-prefixed ones). The
	// product passes domain.ZoneAlias, its one table of zone names.
	ZoneAliases func(name string) (iana string, ok bool)
}

// Imported is what Import read from an iCalendar object.
type Imported struct {
	// Method is the calendar's METHOD (RFC 5545 §3.7.2), upper case, or "".
	Method string
	// DefaultZone is the IANA zone named by X-WR-TIMEZONE, or "".
	DefaultZone string
	// Events are the VEVENTs in file order, each with its problems.
	Events []ImportedEvent
	// Ignored counts the other components of the calendar by name
	// (VTODO, VJOURNAL, X-…); VTIMEZONEs are read, not ignored.
	Ignored map[string]int
}

// ImportedEvent is one VEVENT read from a file. TEXT values are unescaped
// and otherwise as written (line breaks included); the caller normalises
// and validates them.
type ImportedEvent struct {
	// Index is the position among the file's VEVENTs, from 0.
	Index       int
	UID         string
	Summary     string
	Description string
	Location    string
	URL         string
	// Categories are the values of every CATEGORIES property, split at
	// unescaped commas (RFC 5545 §3.8.1.2), trimmed, empty ones dropped.
	Categories []string
	// OrganizerEmail and OrganizerName come from ORGANIZER;CN=…:mailto:….
	OrganizerEmail string
	OrganizerName  string
	// Conference are the ways to join online: CONFERENCE URIs (RFC 7986
	// §5.11) and the vendors' properties of the same meaning
	// (conferenceProps).
	Conference []string

	// AllDay events have DATE values: Start is the first day and End the
	// day after the last (exclusive), both midnight UTC. Timed events have
	// instants in the event's zone (Start.Location()).
	AllDay     bool
	Start, End time.Time
	// Zone is the IANA name of a timed event's zone; "" when it was given
	// in UTC or only by a VTIMEZONE with one fixed offset.
	Zone string

	// Problems say why the event cannot be taken; empty when it can.
	Problems []Problem
}

// conferenceProps are the properties that give a way to join an event
// online: RFC 7986's CONFERENCE, Google Calendar's X-GOOGLE-CONFERENCE (a
// Meet link), and Outlook's and Exchange's Teams and Skype links.
var conferenceProps = []string{"CONFERENCE", "X-GOOGLE-CONFERENCE", "X-MICROSOFT-SKYPETEAMSMEETINGURL",
	"X-MICROSOFT-ONLINEMEETINGCONFLINK", "X-MICROSOFT-ONLINEMEETINGEXTERNALLINK"}

// Problem is one reason a VEVENT cannot be taken, named after the
// property at fault.
type Problem struct {
	Property string `json:"property"`
	Code     string `json:"code"` // required, invalid, unsupported, unknown_zone, cancelled, private, duplicate
	Message  string `json:"message"`
}

// Import parses b with Parse and reads every VEVENT of the calendar. A
// VEVENT it cannot take gets Problems (recurrence rules, missing or bad
// dates, time zones it cannot resolve, …); the error is for the object as
// a whole (*SyntaxError, *LimitError).
//
// Time zones: a TZID that names an IANA zone (also after a vendor prefix
// such as /mozilla.org/…/, and Windows or Outlook display names) is read
// with Go's tz database, which is the current truth for those names, even
// when the file carries a VTIMEZONE for it. Any other TZID needs a
// VTIMEZONE in the file: one that names an IANA zone in X-LIC-LOCATION, or
// has one fixed offset. A VTIMEZONE with daylight-saving rules under a
// name that is none of these is refused, so that no time is guessed.
func Import(b []byte, opt ImportOptions) (*Imported, error) {
	cal, err := Parse(b, opt.Limits)
	if err != nil {
		return nil, err
	}
	im := &Imported{Ignored: map[string]int{}}
	if p := cal.Props.Get(goical.PropMethod); p != nil {
		im.Method = strings.ToUpper(strings.TrimSpace(p.Value))
	}
	floating := opt.FloatingZone
	if p := cal.Props.Get("X-WR-TIMEZONE"); p != nil {
		name := strings.TrimSpace(unescapeText(p.Value))
		if loc, ok := ianaZone(name); ok {
			im.DefaultZone = name
			if floating == nil {
				floating = loc
			}
		}
	}
	zones := map[string]*goical.Component{}
	for _, c := range cal.Children {
		if c.Name == goical.CompTimezone {
			if p := c.Props.Get(goical.PropTimezoneID); p != nil {
				zones[strings.TrimSpace(p.Value)] = c
			}
		}
	}
	r := eventReader{zones: zones, floating: floating, aliases: opt.ZoneAliases, resolved: map[string]resolvedZone{}}
	for _, c := range cal.Children {
		switch c.Name {
		case goical.CompEvent:
			im.Events = append(im.Events, r.read(len(im.Events), c))
		case goical.CompTimezone:
		default:
			im.Ignored[c.Name]++
		}
	}
	return im, nil
}

// eventReader reads VEVENTs with the calendar's zones.
type eventReader struct {
	zones    map[string]*goical.Component
	floating *time.Location
	aliases  func(string) (string, bool)
	resolved map[string]resolvedZone // TZIDs already resolved, so a file pays once per TZID
}

type resolvedZone struct {
	loc *time.Location
	msg string
}

// when is a DATE or DATE-TIME value read from a property.
type when struct {
	date bool
	t    time.Time // a date at midnight UTC, or an instant in its zone
	zone string    // IANA name of t's zone, "" for UTC or a fixed offset
}

func (r eventReader) read(index int, c *goical.Component) ImportedEvent {
	ev := ImportedEvent{Index: index}
	problem := func(prop, code, format string, args ...any) {
		ev.Problems = append(ev.Problems, Problem{Property: prop, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	one := func(name string) *goical.Prop {
		ps := c.Props.Values(name)
		if len(ps) > 1 {
			problem(name, "duplicate", "appears %d times; a VEVENT has at most one", len(ps))
		}
		if len(ps) == 0 {
			return nil
		}
		return &ps[0]
	}
	text := func(name string) string {
		if p := one(name); p != nil {
			return unescapeText(p.Value)
		}
		return ""
	}
	ev.UID = strings.TrimSpace(text(goical.PropUID))
	ev.Summary = text(goical.PropSummary)
	ev.Description = text(goical.PropDescription)
	ev.Location = text(goical.PropLocation)
	if p := one(goical.PropURL); p != nil {
		ev.URL = strings.TrimSpace(p.Value)
	}
	for _, p := range c.Props.Values(goical.PropCategories) {
		for _, s := range splitTextList(p.Value) {
			if s = strings.TrimSpace(s); s != "" {
				ev.Categories = append(ev.Categories, s)
			}
		}
	}
	if p := one(goical.PropOrganizer); p != nil {
		v := strings.TrimSpace(p.Value)
		if len(v) > 7 && strings.EqualFold(v[:7], "mailto:") {
			ev.OrganizerEmail = strings.TrimSpace(v[7:])
		}
		ev.OrganizerName = strings.TrimSpace(p.Params.Get(goical.ParamCommonName))
	}
	for _, name := range conferenceProps {
		for _, p := range c.Props.Values(name) {
			if v := strings.TrimSpace(p.Value); v != "" && !slices.Contains(ev.Conference, v) {
				ev.Conference = append(ev.Conference, v)
			}
		}
	}

	// What cannot be taken as one conference.
	for _, name := range []string{goical.PropRecurrenceRule, goical.PropRecurrenceDates, "EXRULE"} {
		if len(c.Props.Values(name)) > 0 {
			problem(name, "unsupported", "a recurring event cannot be submitted: submit each occurrence as its own VEVENT, without %s", name)
		}
	}
	if one(goical.PropRecurrenceID) != nil {
		problem(goical.PropRecurrenceID, "unsupported", "this VEVENT changes one occurrence of a recurring event; submit the occurrence as an event of its own, without RECURRENCE-ID")
	}
	if p := one(goical.PropStatus); p != nil && strings.EqualFold(strings.TrimSpace(p.Value), "CANCELLED") {
		problem(goical.PropStatus, "cancelled", "the event is cancelled; there is nothing to submit")
	}
	if p := one(goical.PropClass); p != nil {
		if v := strings.ToUpper(strings.TrimSpace(p.Value)); v == "PRIVATE" || v == "CONFIDENTIAL" {
			problem(goical.PropClass, "private", "the event is marked %s in your calendar; set CLASS:PUBLIC (or remove CLASS) to publish it", v)
		}
	}

	// When.
	dtstart := one(goical.PropDateTimeStart)
	if dtstart == nil {
		problem(goical.PropDateTimeStart, "required", "is required")
		return ev
	}
	start, msg := r.when(dtstart)
	if msg != "" {
		problem(goical.PropDateTimeStart, codeOf(msg), "%s", msg)
		return ev
	}
	dtend, dur := one(goical.PropDateTimeEnd), one(goical.PropDuration)
	if dtend != nil && dur != nil {
		problem(goical.PropDuration, "invalid", "DTEND and DURATION cannot both be given")
		return ev
	}
	ev.AllDay, ev.Start, ev.Zone = start.date, start.t, start.zone
	switch {
	case dtend != nil:
		end, msg := r.when(dtend)
		if msg != "" {
			problem(goical.PropDateTimeEnd, codeOf(msg), "%s", msg)
			return ev
		}
		if end.date != start.date {
			problem(goical.PropDateTimeEnd, "invalid", "must be a DATE when DTSTART is a DATE, and a DATE-TIME when DTSTART is one")
			return ev
		}
		ev.End = end.t
		if start.date && end.t.Equal(start.t) {
			// DTEND equal to DTSTART is the classic inclusive-end
			// mistake; it means one day.
			ev.End = start.t.AddDate(0, 0, 1)
		}
		if !start.date {
			ev.End = end.t.In(start.t.Location())
		}
	case dur != nil:
		days, d, err := parseDuration(dur.Value)
		if err != nil {
			problem(goical.PropDuration, "invalid", "%v", err)
			return ev
		}
		if start.date && d != 0 {
			problem(goical.PropDuration, "invalid", "must be whole days or weeks (P1D, P2W) for an all-day event")
			return ev
		}
		ev.End = start.t.AddDate(0, 0, days).Add(d)
	case start.date:
		ev.End = start.t.AddDate(0, 0, 1) // RFC 5545 §3.6.1: one day
	default:
		problem(goical.PropDateTimeEnd, "required", "is required for an event with times (or give DURATION)")
		return ev
	}
	if !ev.End.After(ev.Start) {
		problem(goical.PropDateTimeEnd, "invalid", "must be after DTSTART")
	}
	return ev
}

// codeOf picks the problem code of a date-time message.
func codeOf(msg string) string {
	switch {
	case strings.Contains(msg, "floating"):
		return "required"
	case strings.Contains(msg, "TZID"):
		return "unknown_zone"
	}
	return "invalid"
}

// when reads a DATE or DATE-TIME property; the message says what is wrong.
func (r eventReader) when(p *goical.Prop) (when, string) {
	v := strings.TrimSpace(p.Value)
	vt := strings.ToUpper(p.Params.Get(goical.ParamValue))
	switch {
	case vt == "DATE" || vt == "" && len(v) == 8:
		d, err := time.Parse("20060102", v)
		if err != nil {
			return when{}, fmt.Sprintf("%q is not a DATE such as 20270612", clip(v))
		}
		return when{date: true, t: d}, ""
	case vt != "" && vt != "DATE-TIME":
		return when{}, fmt.Sprintf("VALUE=%s is not supported; give a DATE or DATE-TIME", clip(vt))
	}
	utc := strings.HasSuffix(v, "Z") || strings.HasSuffix(v, "z")
	civil, err := time.Parse("20060102T150405", strings.TrimRight(v, "Zz"))
	if err != nil || len(v) > 16 {
		return when{}, fmt.Sprintf("%q is not a DATE-TIME such as 20270612T090000 or 20270612T130000Z", clip(v))
	}
	if utc {
		// UTC form; a TZID beside it is invalid and ignored (RFC 5545
		// §3.3.5 form #2).
		return when{t: civil}, ""
	}
	tzid := strings.TrimSpace(p.Params.Get(goical.PropTimezoneID))
	if tzid == "" {
		if r.floating == nil {
			return when{}, "is a floating time (no Z, no TZID): say which zone it is in (TZID, or the request's time zone)"
		}
		return local(civil, r.floating), ""
	}
	w, msg := r.zone(tzid)
	if msg != "" {
		return when{}, msg
	}
	return local(civil, w), ""
}

// zone resolves a TZID: by name (IANA, vendor-prefixed, Windows), else by
// the file's VTIMEZONE of that TZID.
func (r eventReader) zone(tzid string) (*time.Location, string) {
	if z, ok := r.resolved[tzid]; ok {
		return z.loc, z.msg
	}
	loc, msg := r.resolveZone(tzid)
	r.resolved[tzid] = resolvedZone{loc, msg}
	return loc, msg
}

func (r eventReader) resolveZone(tzid string) (*time.Location, string) {
	if loc, ok := zoneByName(tzid, r.aliases); ok {
		return loc, ""
	}
	tz := r.zones[tzid]
	if tz == nil {
		return nil, fmt.Sprintf("TZID %q is not a time zone this service knows (IANA or Windows name), and the file has no VTIMEZONE for it", clip(tzid))
	}
	if p := tz.Props.Get("X-LIC-LOCATION"); p != nil {
		if loc, ok := zoneByName(p.Value, r.aliases); ok {
			return loc, ""
		}
	}
	// A zone without daylight saving time: every observance has the same
	// offset, so its rules cannot matter.
	offset, fixed := 0, len(tz.Children) > 0
	for i, obs := range tz.Children {
		p := obs.Props.Get(goical.PropTimezoneOffsetTo)
		if p == nil {
			fixed = false
			break
		}
		off, err := parseUTCOffset(p.Value)
		if err != nil || i > 0 && off != offset {
			fixed = false
			break
		}
		offset = off
	}
	if fixed {
		return time.FixedZone("", offset), ""
	}
	return nil, fmt.Sprintf("TZID %q is not an IANA or Windows zone name, and its VTIMEZONE names none (no X-LIC-LOCATION) and has daylight-saving rules: export with IANA zone names or in UTC", clip(tzid))
}

// local is the instant of a civil time in loc, read as RFC 5545 §3.3.5
// says: a time that a fall-back repeats is its first occurrence, and a
// time that a spring-forward skips takes the offset before the gap. The
// result is in loc; its when.zone is loc's name when loc is an IANA zone.
func local(civil time.Time, loc *time.Location) when {
	u := time.Date(civil.Year(), civil.Month(), civil.Day(), civil.Hour(), civil.Minute(), civil.Second(), 0, time.UTC)
	_, before := u.Add(-36 * time.Hour).In(loc).Zone()
	_, after := u.Add(36 * time.Hour).In(loc).Zone()
	var best time.Time
	for _, off := range []int{before, after} {
		t := u.Add(-time.Duration(off) * time.Second).In(loc)
		if t.Year() == civil.Year() && t.YearDay() == civil.YearDay() && t.Hour() == civil.Hour() &&
			t.Minute() == civil.Minute() && t.Second() == civil.Second() && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	if best.IsZero() { // in the gap
		best = u.Add(-time.Duration(before) * time.Second).In(loc)
	}
	w := when{t: best}
	if name := loc.String(); name != "" && name != "UTC" && checkTZID(name) == nil {
		if _, err := time.LoadLocation(name); err == nil {
			w.zone = name
		}
	}
	return w
}

// parseDuration reads an RFC 5545 §3.3.6 dur-value: whole days (weeks
// count 7) and the time part apart, as DTSTART + DURATION adds days on
// the calendar and time exactly. Negative durations are refused.
func parseDuration(s string) (days int, d time.Duration, err error) {
	orig := s
	s = strings.ToUpper(strings.TrimSpace(s))
	bad := fmt.Errorf("%q is not a duration such as PT2H, P1D or P1W", clip(orig))
	if strings.HasPrefix(s, "-") {
		return 0, 0, fmt.Errorf("%q is negative", clip(orig))
	}
	s = strings.TrimPrefix(s, "+")
	s, ok := strings.CutPrefix(s, "P")
	if !ok || s == "" {
		return 0, 0, bad
	}
	num := func() (int, bool) {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i > 6 {
			return 0, false
		}
		n, _ := strconv.Atoi(s[:i])
		s = s[i:]
		return n, true
	}
	inTime := false
	seen := ""
	for s != "" {
		if s[0] == 'T' {
			if inTime {
				return 0, 0, bad
			}
			inTime, s = true, s[1:]
			if s == "" {
				return 0, 0, bad
			}
			continue
		}
		n, ok := num()
		if !ok || s == "" || strings.Contains(seen, s[:1]) {
			return 0, 0, bad
		}
		unit := s[0]
		s = s[1:]
		seen += string(unit)
		switch {
		case !inTime && unit == 'W':
			days += 7 * n
		case !inTime && unit == 'D':
			days += n
		case inTime && unit == 'H':
			d += time.Duration(n) * time.Hour
		case inTime && unit == 'M':
			d += time.Duration(n) * time.Minute
		case inTime && unit == 'S':
			d += time.Duration(n) * time.Second
		default:
			return 0, 0, bad
		}
	}
	return days, d, nil
}

// parseUTCOffset reads a UTC-OFFSET (RFC 5545 §3.3.14): ±hhmm[ss].
func parseUTCOffset(s string) (int, error) {
	s = strings.TrimSpace(s)
	if len(s) != 5 && len(s) != 7 || s[0] != '+' && s[0] != '-' {
		return 0, fmt.Errorf("bad UTC offset %q", s)
	}
	n := 0
	for i, unit := range []int{3600, 60, 1} {
		if 1+2*i+2 > len(s) {
			break
		}
		v, err := strconv.Atoi(s[1+2*i : 3+2*i])
		if err != nil || v < 0 {
			return 0, fmt.Errorf("bad UTC offset %q", s)
		}
		n += v * unit
	}
	if s[0] == '-' {
		n = -n
	}
	return n, nil
}

// unescapeText reads a TEXT value (RFC 5545 §3.3.11) leniently, as calendar
// programs write it: \\ \; \, \n \N are the escapes; a backslash before any
// other character stands for that character, and a backslash at the end
// for itself. Unescaped commas and semicolons are kept (go-ical's Text
// would cut the value at the first comma).
func unescapeText(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\\' || i+1 == len(v) {
			b.WriteByte(c)
			continue
		}
		i++
		switch v[i] {
		case 'n', 'N':
			b.WriteByte('\n')
		default:
			b.WriteByte(v[i])
		}
	}
	return b.String()
}

// splitTextList splits a list of TEXT values at unescaped commas and
// unescapes each.
func splitTextList(v string) []string {
	var out []string
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case ',':
			out = append(out, unescapeText(v[start:i]))
			start = i + 1
		}
	}
	return append(out, unescapeText(v[start:]))
}
