package ical

import (
	"errors"
	"fmt"
	"time"

	goical "github.com/emersion/go-ical"
)

// Layout of a local DATE-TIME without zone (RFC 5545 §3.3.5, form #1), as
// DTSTART of a STANDARD or DAYLIGHT sub-component must be written.
const localLayout = "20060102T150405"

// transitionStep is how far apart Timezone compares zones when it searches
// transitions. Go's tz database (every zone, 1900–2100) has no zone that
// changes and changes back in less than four days, so a change can never
// hide between two looks a day apart.
const transitionStep = 24 * time.Hour

// Timezone returns the VTIMEZONE component (RFC 5545 §3.6.5) for loc
// covering the local years from..to (inclusive), generated from Go's tz
// database: one observance in effect on 1 January of from, whose DTSTART is
// that midnight, then one per transition of loc until the end of to.
// A transition to daylight saving time (time.Time.IsDST) is a DAYLIGHT
// sub-component, any other a STANDARD one; a zone without transitions in
// the span gets a single STANDARD (or DAYLIGHT) sub-component.
//
// Every sub-component is a single onset, without RRULE: longer, but exact
// for any history, which a rule guessed from a few years would not be.
// The output depends only on its arguments and on the tz database.
func Timezone(loc *time.Location, from, to int) (*goical.Component, error) {
	if loc == nil {
		return nil, errors.New("ical: timezone: nil location")
	}
	tzid := loc.String()
	if err := checkTZID(tzid); err != nil {
		return nil, fmt.Errorf("ical: timezone: %w", err)
	}
	if from < 1 || to > 9999 || from > to {
		// DATE-TIME has four-digit years (RFC 5545 §3.3.4).
		return nil, fmt.Errorf("ical: timezone %s: years %d..%d are not a span within 1..9999", tzid, from, to)
	}
	begin := time.Date(from, time.January, 1, 0, 0, 0, 0, loc)
	end := time.Date(to+1, time.January, 1, 0, 0, 0, 0, loc)

	tz := goical.NewComponent(goical.CompTimezone)
	tz.Props.SetText(goical.PropTimezoneID, tzid)
	tz.Children = append(tz.Children, observance(begin, begin))
	prev := begin
	for _, at := range transitions(begin, end) {
		tz.Children = append(tz.Children, observance(prev, at))
		prev = at
	}
	return tz, nil
}

// zoneState is what a transition changes: abbreviation, offset, DST flag.
type zoneState struct {
	name   string
	offset int
	dst    bool
}

func stateAt(t time.Time) zoneState {
	name, offset := t.Zone()
	return zoneState{name, offset, t.IsDST()}
}

// transitions returns the instants in (begin, end] at which the zone of
// begin's location changes. Go does not expose its rules (and ZoneBounds
// reports year boundaries far from a transition), so it compares the zone a
// day apart and bisects each change to the second.
func transitions(begin, end time.Time) []time.Time {
	loc := begin.Location()
	var out []time.Time
	cur := stateAt(begin)
	for lo := begin; lo.Before(end); {
		hi := lo.Add(transitionStep)
		if hi.After(end) {
			hi = end
		}
		if stateAt(hi) == cur {
			lo = hi
			continue
		}
		// stateAt(l) == cur and stateAt(h) != cur: find the first second of
		// the new zone (tz transitions fall on whole seconds).
		l, h := lo.Unix(), hi.Unix()
		for h-l > 1 {
			m := l + (h-l)/2
			if stateAt(time.Unix(m, 0).In(loc)) == cur {
				l = m
			} else {
				h = m
			}
		}
		at := time.Unix(h, 0).In(loc)
		out = append(out, at)
		cur, lo = stateAt(at), at
	}
	return out
}

// observance returns the sub-component for the zone that begins at the
// instant at, after the zone in effect at prev. Its DTSTART is the onset
// as local time on the clock before the change (RFC 5545 §3.6.5: 2:00 for
// both the US spring-forward and fall-back), TZOFFSETFROM the offset before
// and TZOFFSETTO the offset after. For prev == at (the start of the span),
// both offsets are the same.
func observance(prev, at time.Time) *goical.Component {
	_, offsetFrom := prev.Zone()
	name, offsetTo := at.Zone()
	kind := goical.CompTimezoneStandard
	if at.IsDST() {
		kind = goical.CompTimezoneDaylight
	}
	c := goical.NewComponent(kind)
	dtstart := goical.NewProp(goical.PropDateTimeStart)
	dtstart.Value = at.In(time.FixedZone("", offsetFrom)).Format(localLayout)
	c.Props.Set(dtstart)
	c.Props.Set(rawProp(goical.PropTimezoneOffsetFrom, utcOffset(offsetFrom)))
	c.Props.Set(rawProp(goical.PropTimezoneOffsetTo, utcOffset(offsetTo)))
	if name = NormalizeText(name); name != "" {
		c.Props.SetText(goical.PropTimezoneName, name)
	}
	return c
}

// utcOffset formats seconds east of UTC as a UTC-OFFSET (RFC 5545 §3.3.14):
// +hhmm, with seconds only when there are some; zero is +0000, as -0000 is
// not allowed.
func utcOffset(sec int) string {
	sign := '+'
	if sec < 0 {
		sign, sec = '-', -sec
	}
	h, m, s := sec/3600, sec/60%60, sec%60
	if s != 0 {
		return fmt.Sprintf("%c%02d%02d%02d", sign, h, m, s)
	}
	return fmt.Sprintf("%c%02d%02d", sign, h, m)
}

// rawProp is a property whose value is already in its final form.
func rawProp(name, value string) *goical.Prop {
	p := goical.NewProp(name)
	p.Value = value
	return p
}
