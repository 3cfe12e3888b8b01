package ical_test

import (
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/justiceevents/jevents/ical"
)

func ExampleRender() {
	updated := time.Date(2026, time.September, 1, 14, 30, 0, 0, time.UTC)
	b, err := ical.Render(ical.Feed{
		Name:    "Justice Events",
		Source:  "https://justice-events.example/calendar.ics",
		Refresh: 6 * time.Hour,
		Events: []ical.Event{{
			UID:          "event-101@justice-events.example",
			Summary:      "National Forum on Sentencing Reform; Reentry, Public Defense & Victim Services (2027)",
			Location:     "Washington, DC",
			Categories:   []string{"Sentencing", "Courts, trials"},
			AllDay:       true,
			Start:        time.Date(2027, time.June, 12, 0, 0, 0, 0, time.UTC),
			End:          time.Date(2027, time.June, 15, 0, 0, 0, 0, time.UTC), // exclusive: 12–14 June
			LastModified: updated,
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Lines end in CRLF; long ones are folded with CRLF and a space.
	fmt.Print(strings.ReplaceAll(string(b), "\r\n", "\n"))
	// Output:
	// BEGIN:VCALENDAR
	// CALSCALE:GREGORIAN
	// NAME:Justice Events
	// PRODID:-//Justice Events//Calendar 1.0//EN
	// REFRESH-INTERVAL;VALUE=DURATION:PT6H
	// SOURCE;VALUE=URI:https://justice-events.example/calendar.ics
	// VERSION:2.0
	// X-PUBLISHED-TTL:PT6H
	// X-WR-CALNAME:Justice Events
	// BEGIN:VEVENT
	// CATEGORIES:Sentencing,Courts\, trials
	// CLASS:PUBLIC
	// DTEND;VALUE=DATE:20270615
	// DTSTAMP:20260901T143000Z
	// DTSTART;VALUE=DATE:20270612
	// LAST-MODIFIED:20260901T143000Z
	// LOCATION:Washington\, DC
	// SEQUENCE:0
	// STATUS:CONFIRMED
	// SUMMARY:National Forum on Sentencing Reform\; Reentry\, Public Defense & Vi
	//  ctim Services (2027)
	// TRANSP:TRANSPARENT
	// UID:event-101@justice-events.example
	// END:VEVENT
	// END:VCALENDAR
}
