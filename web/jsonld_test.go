package web_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/syndcheck"
	"github.com/justiceevents/jevents/projections/calendar"
)

// TestJSONLD: every conference page carries its schema.org Event and the
// calendar an ItemList; each is type-checked against schema.org's types by
// schema-dts and TypeScript. A title holding "</script>" stays inside its
// string; dates carry their UTC offset when timed, dates alone when
// all-day; status, attendance mode and location follow the conference.
func TestJSONLD(t *testing.T) {
	now := time.Now().UTC()
	hostile := `</script><script>alert("ld")</script> & <!-- Summit` + "\u2028"
	allDay := conference("allday", hostile, now.AddDate(0, 1, 0), 3, domain.StatusApproved, []string{"courts"},
		domain.Sponsor{ID: "ovc", Name: "Office for Victims of Crime"}, domain.Sponsor{Name: "</script> Coalition"})
	allDay.Details.Description = "About </script><img src=x onerror=alert(1)>"
	allDay.Details.URL = "https://example.org/?a=1&b=</script>"
	timed := conference("timed", "Online training", now.AddDate(0, 2, 0), 1, domain.StatusCancelled, []string{"reentry"})
	timed.Details.AllDay, timed.Details.Timezone, timed.Details.Format = false, "America/New_York", domain.FormatOnline
	day := now.AddDate(0, 2, 0).Format(domain.DateLayout)
	timed.Details.Start, timed.Details.End = day+"T09:00:00", day+"T17:30:00"
	timed.Details.Location = domain.Location{}
	hybrid := conference("hybrid", "Hybrid summit", now.AddDate(0, 3, 0), 2, domain.StatusApproved, []string{"courts"})
	hybrid.Details.Format = domain.FormatHybrid
	// Offers (offerLD): free → price 0 in the country's currency; one
	// price; several → AggregateOffer; none readable → no price; hostile
	// cost text stays inside its string.
	allDay.Details.Cost = `$350; students $100 </script><script>alert("cost")</script>`
	allDay.Details.Registration = domain.Registration{URL: "https://example.org/register?a=1&b=</script>", Deadline: now.Format(domain.DateLayout)}
	timed.Details.Cost = domain.CostFree
	timed.Details.Registration = domain.Registration{URL: "https://example.org/reg", Deadline: now.Format(domain.DateLayout)}
	hybrid.Details.Cost = "USD 150 members"
	words := conference("words", "Sliding scale forum", now.AddDate(0, 3, 0), 1, domain.StatusApproved, []string{"courts"})
	words.Details.Cost = "sliding scale, 12 CEU"
	berlin := conference("berlin", "Berlin forum", now.AddDate(0, 3, 0), 1, domain.StatusApproved, []string{"courts"})
	berlin.Details.Location = domain.Location{City: "Berlin", Country: "DE"}
	berlin.Details.Cost = domain.CostFree
	s := newSite(t, seeded(), calSource{calendar.Key("allday"): allDay, calendar.Key("timed"): timed, calendar.Key("hybrid"): hybrid,
		calendar.Key("words"): words, calendar.Key("berlin"): berlin})

	var docs []syndcheck.LD
	read := func(path string) map[string]any {
		t.Helper()
		p := s.get(path, nil)
		checkPage(t, path, p)
		m := ldBlock.FindAllStringSubmatch(p.body, -1)
		if len(m) != 1 {
			t.Fatalf("%s: %d JSON-LD blocks", path, len(m))
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(m[0][1]), &v); err != nil {
			t.Fatal(err)
		}
		typ, _ := v["@type"].(string)
		docs = append(docs, syndcheck.LD{Type: typ, JSON: m[0][1]})
		if strings.Contains(withoutJSONLD(t, path, p.body), "<script") {
			t.Errorf("%s: a script element besides the JSON-LD", path)
		}
		return v
	}
	ev := read("/conferences/allday")
	if ev["@type"] != "Event" || ev["name"] != hostile || ev["url"] != "https://events.example/conferences/allday" {
		t.Errorf("all-day event: %v", ev)
	}
	start := now.AddDate(0, 1, 0).Format(domain.DateLayout)
	if ev["startDate"] != start || ev["endDate"] != now.AddDate(0, 1, 2).Format(domain.DateLayout) {
		t.Errorf("all-day dates %v %v, want %s and two days later", ev["startDate"], ev["endDate"], start)
	}
	if ev["eventStatus"] != "https://schema.org/EventScheduled" || ev["eventAttendanceMode"] != "https://schema.org/OfflineEventAttendanceMode" {
		t.Errorf("all-day status/mode: %v %v", ev["eventStatus"], ev["eventAttendanceMode"])
	}
	loc := ev["location"].([]any)[0].(map[string]any)
	if loc["@type"] != "Place" || loc["address"].(map[string]any)["addressLocality"] != "Baltimore" {
		t.Errorf("location %v", loc)
	}
	org := ev["organizer"].([]any)[0].(map[string]any)
	if org["@type"] != "Organization" || org["url"] != "https://events.example/resources/ovc" {
		t.Errorf("organizer %v", org)
	}
	if sp := ev["sponsor"].([]any); len(sp) != 2 || sp[1].(map[string]any)["name"] != "</script> Coalition" {
		t.Errorf("sponsors %v", sp)
	}
	offer := func(ev map[string]any) map[string]any {
		t.Helper()
		o, ok := ev["offers"].(map[string]any)
		if !ok {
			t.Fatalf("%v: no offers: %v", ev["@id"], ev["offers"])
		}
		return o
	}
	if o := offer(ev); o["@type"] != "AggregateOffer" || o["lowPrice"] != 100.0 || o["highPrice"] != 350.0 || o["priceCurrency"] != "USD" ||
		o["description"] != allDay.Details.Cost || o["url"] != allDay.Details.Registration.URL || o["validThrough"] != allDay.Details.Registration.Deadline {
		t.Errorf("several prices: %v", o)
	}

	ev = read("/conferences/timed")
	loc = ev["location"].([]any)[0].(map[string]any)
	st, err := time.Parse(time.RFC3339, ev["startDate"].(string))
	if err != nil || !strings.HasPrefix(ev["startDate"].(string), day+"T09:00:00-0") || st.Hour() != 9 {
		t.Errorf("timed start %v (%v): want 09:00 with New York's offset", ev["startDate"], err)
	}
	if ev["eventStatus"] != "https://schema.org/EventCancelled" || ev["eventAttendanceMode"] != "https://schema.org/OnlineEventAttendanceMode" || loc["@type"] != "VirtualLocation" {
		t.Errorf("online cancelled: %v %v %v", ev["eventStatus"], ev["eventAttendanceMode"], loc)
	}
	if o := offer(ev); o["@type"] != "Offer" || o["price"] != 0.0 || o["priceCurrency"] != "USD" || o["description"] != nil ||
		o["url"] != "https://example.org/reg" || !strings.HasPrefix(o["validThrough"].(string), now.Format(domain.DateLayout)+"T23:59:59-0") {
		t.Errorf("free online, registration until the end of the day in New York: %v", o)
	}
	ev = read("/conferences/hybrid")
	if ev["eventAttendanceMode"] != "https://schema.org/MixedEventAttendanceMode" || len(ev["location"].([]any)) != 2 {
		t.Errorf("hybrid: %v %v", ev["eventAttendanceMode"], ev["location"])
	}
	if o := offer(ev); o["@type"] != "Offer" || o["price"] != 150.0 || o["priceCurrency"] != "USD" || o["description"] != "USD 150 members" || o["url"] != nil {
		t.Errorf("one price: %v", o)
	}
	if o := offer(read("/conferences/words")); o["@type"] != "Offer" || o["price"] != nil || o["priceCurrency"] != nil || o["description"] != "sliding scale, 12 CEU" {
		t.Errorf("no price read: %v", o)
	}
	if o := offer(read("/conferences/berlin")); o["price"] != 0.0 || o["priceCurrency"] != "EUR" {
		t.Errorf("free in Berlin: %v", o)
	}
	list := read("/")
	if ids := listedIDs(s.get("/", nil).body); list["@type"] != "ItemList" || len(list["itemListElement"].([]any)) != len(ids) || len(ids) == 0 {
		t.Errorf("item list %v, the page lists %v", list, ids)
	}
	syndcheck.TypeCheckJSONLD(t, docs...)

	// Open Graph for link previews.
	p := s.get("/conferences/hybrid", nil)
	for _, want := range []string{`<meta property="og:title" content="Hybrid summit">`, `<meta property="og:url" content="https://events.example/conferences/hybrid">`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("no %s", want)
		}
	}
}
