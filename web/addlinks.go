package web

import (
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/justiceevents/jevents/domain"
)

// addLinks are the links that add one conference to a calendar as a
// single event: Google Calendar's and Outlook's "new event" forms, filled
// in, and the .ics download that every other app opens. A copy made this
// way does not change with the conference; the page says so and offers
// the event's feed beside them. Cancelled conferences get none.
type addLinks struct {
	Google    string
	Outlook   string // Outlook.com
	Office365 string // Outlook for Microsoft 365 (work and school accounts)
}

// addDetailsRunes bounds the description carried in the links: the
// address of a link stays a few kilobytes, which every browser and both
// services take; the conference's page, linked at the end, has the rest.
const addDetailsRunes = 300

// newAddLinks fills the forms with the conference's title, times, place
// and description, and its page's address.
//
// Google (calendar.google.com/calendar/render?action=TEMPLATE): dates are
// YYYYMMDD/YYYYMMDD for an all-day event, the end exclusive; a timed one
// gives local times and its IANA zone in ctz. Outlook's compose deep link
// (…/calendar/0/deeplink/compose?rru=addevent) takes ISO 8601: dates with
// allday=true (end exclusive), or instants in UTC.
func newAddLinks(d domain.ConferenceDetails, page string) addLinks {
	details := d.Description
	if utf8.RuneCountInString(details) > addDetailsRunes {
		details = strings.TrimSpace(string([]rune(details)[:addDetailsRunes])) + "…"
	}
	if details != "" {
		details += "\n\n"
	}
	details += page
	place := where(d)

	g := url.Values{"action": {"TEMPLATE"}, "text": {d.Title}, "details": {details}}
	o := url.Values{"path": {"/calendar/action/compose"}, "rru": {"addevent"}, "subject": {d.Title}, "body": {details}}
	if place != "" {
		g.Set("location", place)
		o.Set("location", place)
	}
	if d.AllDay {
		first, after := d.StartTime(), d.EndTime()
		g.Set("dates", first.Format("20060102")+"/"+after.Format("20060102"))
		o.Set("startdt", first.Format(domain.DateLayout))
		o.Set("enddt", after.Format(domain.DateLayout))
		o.Set("allday", "true")
	} else {
		st, en := d.StartTime(), d.EndTime()
		loc, err := time.LoadLocation(d.Timezone)
		if err != nil {
			loc = time.UTC
		}
		g.Set("dates", st.In(loc).Format("20060102T150405")+"/"+en.In(loc).Format("20060102T150405"))
		g.Set("ctz", loc.String())
		o.Set("startdt", st.UTC().Format(time.RFC3339))
		o.Set("enddt", en.UTC().Format(time.RFC3339))
		o.Set("allday", "false")
	}
	return addLinks{
		Google:    "https://calendar.google.com/calendar/render?" + g.Encode(),
		Outlook:   "https://outlook.live.com/calendar/0/deeplink/compose?" + o.Encode(),
		Office365: "https://outlook.office.com/calendar/0/deeplink/compose?" + o.Encode(),
	}
}
