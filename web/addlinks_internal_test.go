package web

import (
	"net/url"
	"strings"
	"testing"

	"github.com/justiceevents/jevents/domain"
)

// TestAddLinks: the one-event links carry what each service reads: for an
// all-day conference Google's dates with an exclusive end and Outlook's
// allday dates; a long description is cut and the page's address follows
// it.
func TestAddLinks(t *testing.T) {
	d := domain.ConferenceDetails{Title: "Tribal Justice Gathering", AllDay: true, Start: "2027-06-30", End: "2027-07-02",
		Description: strings.Repeat("Words ", 200), Format: domain.FormatHybrid,
		Location: domain.Location{Venue: "Hall", City: "Albuquerque", Region: "NM", Country: "US"}}
	l := newAddLinks(d, "https://events.example/conferences/x")
	query := func(s string) url.Values {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return u.Query()
	}
	g, o := query(l.Google), query(l.Outlook)
	if g.Get("action") != "TEMPLATE" || g.Get("dates") != "20270630/20270703" || g.Get("ctz") != "" || g.Get("text") != d.Title ||
		g.Get("location") != "Hall, Albuquerque, NM, and online" {
		t.Errorf("Google: %v", g)
	}
	if o.Get("allday") != "true" || o.Get("startdt") != "2027-06-30" || o.Get("enddt") != "2027-07-03" || o.Get("subject") != d.Title || o.Get("rru") != "addevent" {
		t.Errorf("Outlook: %v", o)
	}
	for _, body := range []string{g.Get("details"), o.Get("body")} {
		if !strings.HasSuffix(body, "…\n\nhttps://events.example/conferences/x") || len([]rune(body)) > addDetailsRunes+60 {
			t.Errorf("details %q", body)
		}
	}
	if !strings.HasPrefix(l.Office365, "https://outlook.office.com/calendar/0/deeplink/compose?") {
		t.Errorf("Microsoft 365: %s", l.Office365)
	}
}
