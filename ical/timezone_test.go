package ical

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests do not depend on the host's tz database

	goical "github.com/emersion/go-ical"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// tzOffsets evaluates a VTIMEZONE the way RFC 5545 §3.6.5 defines it: at
// instant u the offset is the TZOFFSETTO of the observance with the latest
// onset at or before u, the onset being DTSTART read in TZOFFSETFROM.
func tzOffsets(t testing.TB, tz *goical.Component) func(u time.Time) int {
	t.Helper()
	type onset struct {
		at time.Time
		to int
	}
	var onsets []onset
	for _, c := range tz.Children {
		from := parseOffset(t, c.Props.Get(goical.PropTimezoneOffsetFrom).Value)
		to := parseOffset(t, c.Props.Get(goical.PropTimezoneOffsetTo).Value)
		at, err := time.ParseInLocation(localLayout, c.Props.Get(goical.PropDateTimeStart).Value, time.FixedZone("", from))
		if err != nil {
			t.Fatal(err)
		}
		onsets = append(onsets, onset{at, to})
	}
	return func(u time.Time) int {
		t.Helper()
		var best *onset
		for i, o := range onsets {
			if !o.at.After(u) && (best == nil || o.at.After(best.at)) {
				best = &onsets[i]
			}
		}
		if best == nil {
			t.Fatalf("no observance of %s covers %v", tz.Props.Get(goical.PropTimezoneID).Value, u)
		}
		return best.to
	}
}

func parseOffset(t testing.TB, s string) int {
	t.Helper()
	if len(s) != 5 && len(s) != 7 || s[0] != '+' && s[0] != '-' {
		t.Fatalf("bad UTC offset %q", s)
	}
	n := 0
	for i, unit := range []int{3600, 60, 1} {
		if 1+2*i+2 > len(s) {
			break
		}
		d := s[1+2*i : 1+2*i+2]
		if d[0] < '0' || d[0] > '9' || d[1] < '0' || d[1] > '9' {
			t.Fatalf("bad UTC offset %q", s)
		}
		n += int(d[0]-'0')*10*unit + int(d[1]-'0')*unit
	}
	if s[0] == '-' {
		n = -n
	}
	return n
}

// TestTimezoneMatchesGo checks, for zones of every kind, that the generated
// VTIMEZONE gives Go's offset one second before and at every transition,
// and every six hours across the span.
func TestTimezoneMatchesGo(t *testing.T) {
	zones := []string{
		"America/New_York", "America/Phoenix", "Asia/Tokyo", "Australia/Sydney",
		"Asia/Kolkata", "UTC", "Europe/London", "Europe/Dublin", "America/St_Johns",
		"Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Apia", "America/Sao_Paulo",
		"Africa/Casablanca", "Pacific/Chatham",
	}
	for _, name := range zones {
		t.Run(name, func(t *testing.T) {
			loc := mustLoad(t, name)
			from, to := 2009, 2031
			tz, err := Timezone(loc, from, to)
			if err != nil {
				t.Fatal(err)
			}
			if got := tz.Props.Get(goical.PropTimezoneID).Value; got != name {
				t.Fatalf("TZID %q, want %q", got, name)
			}
			begin := time.Date(from, 1, 1, 0, 0, 0, 0, loc)
			end := time.Date(to+1, 1, 1, 0, 0, 0, 0, loc)
			offset := tzOffsets(t, tz)
			check := func(u time.Time) {
				t.Helper()
				_, want := u.In(loc).Zone()
				if got := offset(u); got != want {
					t.Fatalf("at %v: VTIMEZONE offset %d, Go %d", u.In(loc), got, want)
				}
			}
			for _, c := range tz.Children[1:] {
				from := parseOffset(t, c.Props.Get(goical.PropTimezoneOffsetFrom).Value)
				onset, _ := time.ParseInLocation(localLayout, c.Props.Get(goical.PropDateTimeStart).Value, time.FixedZone("", from))
				check(onset.Add(-time.Second))
				check(onset)
				// The observance kind follows Go's DST flag after the onset.
				if dst := onset.In(loc).IsDST(); dst != (c.Name == goical.CompTimezoneDaylight) {
					t.Errorf("%s at %v, Go's IsDST is %v", c.Name, onset, dst)
				}
			}
			for u := begin; u.Before(end); u = u.Add(6 * time.Hour) {
				check(u)
			}
			check(end.Add(-time.Second))
			if strings.Contains(name, "/") && len(tz.Children) > 1 {
				// Every transition Go knows of is in the VTIMEZONE.
				var n int
				for u := begin; u.Before(end); {
					_, next := u.ZoneBounds()
					if next.IsZero() || !next.Before(end) {
						break
					}
					if !next.After(u) { // see transitions: ZoneBounds may not advance
						next = u.Add(time.Hour)
					}
					if stateAt(next) != stateAt(next.Add(-time.Second)) {
						n++
					}
					u = next
				}
				if n != len(tz.Children)-1 {
					t.Errorf("%d transitions, ZoneBounds finds %d", len(tz.Children)-1, n)
				}
			}
		})
	}
}

// TestTimezoneNewYork pins the US observances of 2027: spring forward on
// 14 March at 02:00 EST, fall back on 7 November at 02:00 EDT, both written
// as the local time before the change.
func TestTimezoneNewYork(t *testing.T) {
	tz, err := Timezone(mustLoad(t, "America/New_York"), 2027, 2027)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"STANDARD 20270101T000000 -0500 -0500 EST",
		"DAYLIGHT 20270314T020000 -0500 -0400 EDT",
		"STANDARD 20271107T020000 -0400 -0500 EST",
	}
	checkObservances(t, tz, want)
}

func TestTimezoneSingleObservance(t *testing.T) {
	tests := []struct {
		zone string
		want string
	}{
		{"America/Phoenix", "STANDARD 20260101T000000 -0700 -0700 MST"},
		{"Asia/Tokyo", "STANDARD 20260101T000000 +0900 +0900 JST"},
		{"Asia/Kolkata", "STANDARD 20260101T000000 +0530 +0530 IST"},
		{"UTC", "STANDARD 20260101T000000 +0000 +0000 UTC"},
	}
	for _, tt := range tests {
		tz, err := Timezone(mustLoad(t, tt.zone), 2026, 2028)
		if err != nil {
			t.Fatal(err)
		}
		checkObservances(t, tz, []string{tt.want})
	}
}

// TestTimezoneSydney: the southern hemisphere is in daylight time in
// January; DST ends in April and starts in October.
func TestTimezoneSydney(t *testing.T) {
	tz, err := Timezone(mustLoad(t, "Australia/Sydney"), 2027, 2027)
	if err != nil {
		t.Fatal(err)
	}
	checkObservances(t, tz, []string{
		"DAYLIGHT 20270101T000000 +1100 +1100 AEDT",
		"STANDARD 20270404T030000 +1100 +1000 AEST",
		"DAYLIGHT 20271003T020000 +1000 +1100 AEDT",
	})
}

func checkObservances(t *testing.T, tz *goical.Component, want []string) {
	t.Helper()
	var got []string
	for _, c := range tz.Children {
		got = append(got, strings.Join([]string{c.Name,
			c.Props.Get(goical.PropDateTimeStart).Value,
			c.Props.Get(goical.PropTimezoneOffsetFrom).Value,
			c.Props.Get(goical.PropTimezoneOffsetTo).Value,
			c.Props.Get(goical.PropTimezoneName).Value}, " "))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("observances:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTimezoneErrors(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	tests := []struct {
		name     string
		loc      *time.Location
		from, to int
	}{
		{"nil", nil, 2026, 2027},
		{"Local", time.Local, 2026, 2027},
		{"unnamed", time.FixedZone("", 3600), 2026, 2027},
		{"injected name", time.FixedZone("X\r\nATTENDEE:mailto:x@evil.example", 0), 2026, 2027},
		{"quote", time.FixedZone(`X"Y`, 0), 2026, 2027},
		{"empty span", ny, 2027, 2026},
		{"year 0", ny, 0, 2026},
		{"year 10000", ny, 2026, 10000},
	}
	for _, tt := range tests {
		if _, err := Timezone(tt.loc, tt.from, tt.to); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}
