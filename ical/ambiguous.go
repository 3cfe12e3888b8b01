package ical

import "time"

// ambiguous reports whether the local time of t occurs twice in its zone,
// because a fall-back repeats it, whichever of the two passes t is.
//
// RFC 5545 §3.3.5 reads such a local time as its first occurrence, so a
// local DTSTART;TZID=America/New_York:20271107T013000 means 01:30 EDT. But
// the parsers of Thunderbird (ical.js 2.2.1), Evolution (libical 3.0.16)
// and python-icalendar 4.0.3 all read it as 01:30 EST, an hour later (the
// interop tests of projections/feeds found it). Encode therefore writes
// both passes in UTC form, which every reader agrees on.
func ambiguous(t time.Time) bool {
	if repeated(t) {
		return true
	}
	// The first pass: a fall-back within the next day brings the same
	// wall clock back.
	tr := transitions(t, t.Add(25*time.Hour))
	if len(tr) == 0 {
		return false
	}
	at := tr[0]
	_, before := at.Add(-time.Second).Zone()
	_, after := at.Zone()
	return before > after && at.Sub(t) <= time.Duration(before-after)*time.Second
}
