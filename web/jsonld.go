package web

import (
	"bytes"
	"encoding/json"
	"html/template"
	"strconv"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/calendar"
)

// Search engines and link previews: every conference page carries its
// schema.org Event as JSON-LD (https://schema.org/Event, as Google's event
// rich results read it) and Open Graph meta; listing pages carry an
// ItemList of their conferences' pages.
//
// Untrusted text never ends the script element: the JSON is written by
// encoding/json with its HTML escaping, so "<", ">" and "&" are \u003c,
// \u003e and \u0026, and U+2028/U+2029 are escaped too (a JavaScript
// parser would read them as line ends). "</script>" in a title stays
// inside its string.

// jsonLD encodes v as the content of <script type="application/ld+json">.
func jsonLD(v any) template.JS {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(true) // <, >, &, U+2028, U+2029 escaped
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return template.JS(bytes.TrimSpace(b.Bytes()))
}

// ldDescriptionRunes bounds the description in the JSON-LD.
const ldDescriptionRunes = 500

// ldEvent is a schema.org Event.
type ldEvent struct {
	Context             string           `json:"@context"`
	Type                string           `json:"@type"`
	ID                  string           `json:"@id"`
	Name                string           `json:"name"`
	Description         string           `json:"description,omitempty"`
	URL                 string           `json:"url"`
	SameAs              string           `json:"sameAs,omitempty"`
	StartDate           string           `json:"startDate"`
	EndDate             string           `json:"endDate"`
	EventStatus         string           `json:"eventStatus"`
	EventAttendanceMode string           `json:"eventAttendanceMode"`
	Location            []any            `json:"location,omitempty"`
	Organizer           []ldOrganization `json:"organizer,omitempty"`
	Sponsor             []ldOrganization `json:"sponsor,omitempty"`
	Keywords            string           `json:"keywords,omitempty"`
	Offers              *ldOffer         `json:"offers,omitempty"`
}

// ldOffer is a schema.org Offer, or an AggregateOffer when the cost names
// several prices of one currency. Prices are JSON numbers (schema.org: a
// "." before decimals, no currency sign in the price).
type ldOffer struct {
	Type          string      `json:"@type"`
	Price         json.Number `json:"price,omitempty"`
	LowPrice      json.Number `json:"lowPrice,omitempty"`
	HighPrice     json.Number `json:"highPrice,omitempty"`
	PriceCurrency string      `json:"priceCurrency,omitempty"`
	Description   string      `json:"description,omitempty"`
	URL           string      `json:"url,omitempty"`
	ValidThrough  string      `json:"validThrough,omitempty"`
}

type ldPlace struct {
	Type    string          `json:"@type"`
	Name    string          `json:"name,omitempty"`
	Address ldPostalAddress `json:"address"`
}

type ldPostalAddress struct {
	Type            string `json:"@type"`
	AddressLocality string `json:"addressLocality,omitempty"`
	AddressRegion   string `json:"addressRegion,omitempty"`
	AddressCountry  string `json:"addressCountry,omitempty"`
}

type ldVirtualLocation struct {
	Type string `json:"@type"`
	URL  string `json:"url"`
}

type ldOrganization struct {
	Type string `json:"@type"`
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

// eventLD is the schema.org Event of a conference's page. Start and end
// carry their UTC offset (the conference's zone) when timed, dates alone
// when all-day (the end its last day). The sponsors are the organisations
// behind the conference (domain.Sponsor): its organizer and sponsor, linked
// to their directory page when they are in the directory. Offers come from
// the cost and the registration (offerLD).
func (s *Server) eventLD(c calendar.Conference, v conferenceView) template.JS {
	d := c.Details
	page := s.absolute("/conferences/" + c.ID)
	// The description as a search result's snippet: its first
	// ldDescriptionRunes characters, so the page stays within its budget
	// (MaxPageBytes) however the text escapes.
	desc, _ := cut(d.Description, ldDescriptionRunes)
	ev := ldEvent{Context: "https://schema.org", Type: "Event", ID: page, Name: d.Title, Description: desc,
		URL: page, SameAs: d.URL, EventStatus: "https://schema.org/EventScheduled"}
	if c.Status == domain.StatusCancelled {
		ev.EventStatus = "https://schema.org/EventCancelled"
	}
	if d.AllDay {
		ev.StartDate = d.StartTime().Format(time.DateOnly)
		ev.EndDate = d.EndTime().AddDate(0, 0, -1).Format(time.DateOnly)
	} else {
		ev.StartDate = d.StartTime().Format(time.RFC3339)
		ev.EndDate = d.EndTime().Format(time.RFC3339)
	}
	virtual := ldVirtualLocation{Type: "VirtualLocation", URL: page}
	if d.URL != "" {
		virtual.URL = d.URL
	}
	l := d.Location
	place := ldPlace{Type: "Place", Name: l.Venue, Address: ldPostalAddress{Type: "PostalAddress",
		AddressLocality: l.City, AddressRegion: l.Region, AddressCountry: l.Country}}
	switch d.Format {
	case domain.FormatOnline:
		ev.EventAttendanceMode = "https://schema.org/OnlineEventAttendanceMode"
		ev.Location = []any{virtual}
	case domain.FormatHybrid:
		ev.EventAttendanceMode = "https://schema.org/MixedEventAttendanceMode"
		ev.Location = []any{place, virtual}
	default:
		ev.EventAttendanceMode = "https://schema.org/OfflineEventAttendanceMode"
		ev.Location = []any{place}
	}
	for i, sp := range v.Sponsors {
		o := ldOrganization{Type: "Organization", Name: sp.Name}
		if sp.ID != "" {
			o.URL = s.absolute("/resources/" + sp.ID)
		}
		if i == 0 {
			// The first named organisation runs it; all of them sponsor it.
			ev.Organizer = append(ev.Organizer, o)
		}
		ev.Sponsor = append(ev.Sponsor, o)
	}
	for i, t := range v.Topics {
		if i > 0 {
			ev.Keywords += ", "
		}
		ev.Keywords += t.Label
	}
	ev.Offers = offerLD(d)
	// Within its budget: the snippet goes first, then the last sponsors
	// (the organizer stays), then the website's address.
	for {
		js := jsonLD(ev)
		switch {
		case len(js) <= ldBudget:
			return js
		case ev.Description != "":
			ev.Description = ""
		case len(ev.Sponsor) > 1:
			ev.Sponsor = ev.Sponsor[:len(ev.Sponsor)-1]
		case ev.Offers != nil && ev.Offers.Description != "":
			ev.Offers.Description = "" // the prices read from it stay
		case ev.SameAs != "":
			ev.SameAs = ""
		case len(ev.Sponsor) == 1 && len(ev.Organizer) == 1:
			ev.Sponsor = nil // the organizer's copy
		default:
			return js // names, a venue and topics alone: at most a few KB
		}
	}
}

// offerLD is the conference's offer, from its cost (domain.Prices reads
// the prices; the rule is written there) and its registration:
//   - no cost and no registration address: none;
//   - free: price 0 in the currency of the conference's country (USD when
//     it has none: online, or unknown), as schema.org and Google's event
//     guidelines ask for free events;
//   - one price (or several equal): an Offer with price and priceCurrency;
//   - several prices of one currency ("$350; students $100", "Free for
//     members, $50 others"): an AggregateOffer with lowPrice and
//     highPrice;
//   - a cost with no price read from it ("sliding scale", "150 for
//     members": a number without a currency is no price), or prices in
//     several currencies: an Offer without a price;
//
// always with the cost as people wrote it in description (except "free",
// which price 0 says), the registration address as url and its deadline as
// validThrough (the end of that day in the conference's zone, or the date
// alone when it has none).
func offerLD(d domain.ConferenceDetails) *ldOffer {
	if d.Cost == "" && d.Registration.URL == "" {
		return nil
	}
	o := &ldOffer{Type: "Offer", URL: d.Registration.URL}
	if d.Cost != domain.CostFree {
		o.Description = d.Cost
	}
	if dl := d.Registration.Deadline; dl != "" {
		o.ValidThrough = dl
		if loc, err := time.LoadLocation(d.Timezone); err == nil && d.Timezone != "" {
			if day, err := time.ParseInLocation(domain.DateLayout, dl, loc); err == nil {
				o.ValidThrough = day.Add(24*time.Hour - time.Second).Format(time.RFC3339)
			}
		}
	}
	ps := domain.Prices(d.Cost, d.Location.Country)
	if !domain.SameCurrency(ps) {
		return o
	}
	low, high := ps[0].Amount, ps[0].Amount
	for _, p := range ps[1:] {
		if lessAmount(p.Amount, low) {
			low = p.Amount
		}
		if lessAmount(high, p.Amount) {
			high = p.Amount
		}
	}
	o.PriceCurrency = ps[0].Currency
	if low == high {
		o.Price = json.Number(low)
	} else {
		o.Type, o.LowPrice, o.HighPrice = "AggregateOffer", json.Number(low), json.Number(high)
	}
	return o
}

// lessAmount compares two amounts as domain.Prices writes them.
func lessAmount(a, b string) bool {
	x, _ := strconv.ParseFloat(a, 64)
	y, _ := strconv.ParseFloat(b, 64)
	return x < y
}

// ldBudget bounds a page's JSON-LD: with every field as long and as
// costly to escape as validation allows ("&" is six bytes escaped), the
// page stays under MaxPageBytes.
const ldBudget = 2 << 10

// ldItemList is a listing page's conferences (Google's "summary page"
// form: each item its position and its page; the page itself has the
// details).
type ldItemList struct {
	Context  string       `json:"@context"`
	Type     string       `json:"@type"`
	Elements []ldListItem `json:"itemListElement"`
}

type ldListItem struct {
	Type     string `json:"@type"`
	Position int    `json:"position"`
	URL      string `json:"url"`
}

// itemListLD lists the conferences of a listing page, first is the
// position of the first.
func (s *Server) itemListLD(first int, cs []conferenceView) template.JS {
	if len(cs) == 0 {
		return ""
	}
	l := ldItemList{Context: "https://schema.org", Type: "ItemList"}
	for i, c := range cs {
		l.Elements = append(l.Elements, ldListItem{Type: "ListItem", Position: first + i, URL: s.absolute("/conferences/" + c.ID)})
	}
	return jsonLD(l)
}

// ogTitle is a title as link previews show it: at most 100 characters.
func ogTitle(t string) string {
	t, _ = cut(t, 100)
	return t
}

// openGraph is a page's Open Graph meta (https://ogp.me/): what link
// previews show.
type openGraph struct {
	Type, Title, Description, URL string
}
