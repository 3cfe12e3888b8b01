package intake

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/ical"
)

// parsePlace reads an .ics LOCATION into a place with its ISO 3166-1
// country, knowing the event's IANA zone ("" when it has none: all-day,
// UTC). It reads the orders addresses are written in:
//
//	Venue, Street, City, ST 12345[, USA]      (the US: state code or name, ZIP)
//	Venue, City[, Region], Country            (Messe Berlin, Berlin, Germany)
//	Venue, 10115 City, Country / City SW1A 1AA, UK   (postal codes before or after)
//	Venue, City                               (no country: the event's zone's)
//
// The country is the last part when it names one (ISO 3166-1 code, alpha-3
// code or name, in English or as the country writes it); a US state (code
// or name) as the last part is the US. The ambiguity rule: a last part that
// is both a US state and a country — the codes CA, DE, IN, GA, MD, PA, …,
// the name Georgia — is decided by, in order:
//
//  1. a ZIP code after it ("MD 21201"): the US state;
//  2. the part before it being a subdivision of the country ("Berlin, DE",
//     "Vancouver, BC, CA"): the country;
//  3. the event's time zone: a zone of that country (America/Vancouver)
//     is the country; otherwise, when the countries keeping its time
//     (domain.ZoneCountries) include that country and not the US
//     (Europe/Berlin, Asia/Kolkata), the country; the US and not that
//     country (America/New_York for MD), the state; both (Outlook's
//     "Pacific Standard Time" for Vancouver): undecided;
//  4. the city before it being the country's capital (Tbilisi, Georgia): the
//     country;
//  5. the organiser's e-mail address in the country's domain
//     (events@example.ca): the country;
//  6. otherwise the US state: "City, ST" is how the calendar's US addresses
//     are written. To be sure, write the country's name: "Vancouver, Canada".
//
// So a code that is only a country (FR, GB, BR) is never a state, and a
// state code is a country only on the evidence above. Without any country
// or state, the place is in the country of the event's zone; with no zone
// either, it cannot be placed, and msg says what to send. Regions are kept
// outside the US as written (a province, a Land), when the address names
// one.
func parsePlace(s string, h placeHints) (loc *domain.LocationInput, msg string) {
	zone := h.zone
	var parts []string
	for _, p := range strings.Split(strings.ReplaceAll(s, "\n", ","), ",") {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	// A part that is only a postal code ("01310-100") says nothing here.
	for len(parts) > 1 && isPostalOnly(parts[len(parts)-1]) {
		parts = parts[:len(parts)-1]
	}
	loc = &domain.LocationInput{}
	if len(parts) == 0 {
		return loc, ""
	}
	n := len(parts)
	last, zip := trimPostal(parts[n-1])
	country, isCountry := domain.LookupCountry(last)
	_, isState := domain.LookupRegion(last)
	if isCountry && isState && country.Code != "US" {
		isState = readAsState(parts, zip, country.Code, h)
		isCountry = !isState
	}
	switch {
	case isCountry && country.Code == "US":
		loc.Country = "US"
		return usPlace(parts[:n-1], loc), ""
	case isCountry:
		loc.Country = country.Code
		return abroad(parts[:n-1], country.Code, loc), ""
	case isState:
		loc.Country = "US"
		return usPlace(parts, loc), ""
	}
	// No country written: the zone's.
	switch zc := domain.ZoneCountry(zone); zc {
	case "":
		return loc, "cannot tell the country of this place: end LOCATION with the country (\"Messe Berlin, Berlin, Germany\") or, in the US, the state (\"Convention Center, Baltimore, MD\")"
	case "US":
		loc.Country = "US"
		return usPlace(parts, loc), ""
	default:
		loc.Country = zc
		return abroad(parts, zc, loc), ""
	}
}

// placeHints are what a VEVENT says beside its LOCATION that helps place
// it: its zone (IANA; "" none), when it starts, its organiser's e-mail.
type placeHints struct {
	zone  string
	at    time.Time
	email string
}

// readAsState decides a last part that is both a US state and the country
// cc (parsePlace's ambiguity rule).
func readAsState(parts []string, zip bool, cc string, h placeHints) bool {
	n := len(parts)
	if zip {
		return true
	}
	before := ""
	if n >= 2 {
		before, _ = trimPostal(parts[n-2])
	}
	if before != "" && domain.IsSubdivision(cc, before) && !domain.IsSubdivision("US", before) {
		return false
	}
	if zc := domain.ZoneCountries(h.zone, h.at); len(zc) > 0 {
		inUS, inCC := slices.Contains(zc, "US"), slices.Contains(zc, cc)
		switch own := domain.ZoneCountry(h.zone); {
		case own == cc:
			return false
		case own == "US" && !inCC:
			return true
		case inCC && !inUS:
			return false
		case inUS && !inCC:
			return true
		}
	}
	if before != "" && domain.IsCapital(cc, before) {
		return false
	}
	if _, host, ok := strings.Cut(h.email, "@"); ok && strings.HasSuffix(strings.ToLower(host), "."+strings.ToLower(cc)) {
		return false
	}
	return true
}

// usPlace reads "Venue, Street, City, ST 12345" (the country already cut):
// a US state (code or name, maybe with a ZIP code) is the region, the part
// before it the city and the rest the venue. Without a state, the last
// part is the city (and validation asks for the state).
func usPlace(parts []string, loc *domain.LocationInput) *domain.LocationInput {
	parts = dropPostalParts(parts)
	if n := len(parts); n >= 2 {
		state, _ := trimPostal(parts[n-1])
		if r, ok := domain.LookupRegion(state); ok {
			loc.Region = r.Code
			loc.City, _ = trimPostal(parts[n-2])
			loc.Venue = strings.Join(parts[:n-2], ", ")
			return loc
		}
	}
	cityAndVenue(parts, loc)
	return loc
}

// abroad reads "Venue, City[, Region]" in the country cc (the country
// already cut). A region is a subdivision of the country (ISO 3166-2):
//   - written as its code after the city, in the same part or the next
//     ("20149 Milano MI", "Toronto, ON", "São Paulo - SP");
//   - or by name after a city ("Toronto, Ontario"), unless the part
//     before it is a venue (it names a building or has a number:
//     "Kongresshaus, Zürich", where the canton is named like its city) or
//     names it ("Messe Berlin, Berlin"): then the name is the city's.
func abroad(parts []string, cc string, loc *domain.LocationInput) *domain.LocationInput {
	parts = dropPostalParts(parts)
	if n := len(parts); n >= 2 {
		region, _ := trimPostal(parts[n-1])
		before := parts[n-2]
		switch {
		case domain.IsSubdivisionCode(cc, region),
			domain.IsSubdivision(cc, region) && !looksLikeVenue(before) && !hasWord(before, region):
			loc.Region = region
			parts = parts[:n-1]
		}
	}
	cityAndVenue(parts, loc)
	if loc.Region == "" {
		// "Milano MI": a subdivision's code after the city's name.
		if f := strings.Fields(loc.City); len(f) > 1 {
			if code := strings.TrimLeft(f[len(f)-1], "-–("); domain.IsSubdivisionCode(cc, strings.TrimRight(code, ")")) {
				loc.Region = strings.TrimRight(code, ")")
				loc.City = strings.TrimRight(strings.Join(f[:len(f)-1], " "), " -–")
			}
		}
	}
	return loc
}

// venueWords are words that name a building or a room, not a city, in the
// languages of the places conferences meet.
var venueWords = []string{"centre", "center", "centro", "zentrum", "hall", "halle", "hotel", "messe", "congress", "kongress",
	"congrès", "congresso", "convention", "conference", "university", "universität", "université", "universidad", "palais",
	"palace", "palacio", "palazzo", "auditorium", "room", "building", "house", "haus", "casa", "maison", "stadium", "arena",
	"campus", "institute", "institut", "college", "school", "library", "museum", "theatre", "theater", "expo", "forum",
	"plaza", "tower", "court", "courthouse", "ministry", "parliament", "hilton", "marriott", "hyatt", "sheraton", "westin",
	"kongresshaus", "congress-centrum", "ifema", "fira", "suite", "floor"}

// looksLikeVenue reports whether a part of an address names a building or
// a street (a venue word, or a number).
func looksLikeVenue(s string) bool {
	if hasDigit(s) {
		return true
	}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == ' ' || r == '-' || r == '/' }) {
		for _, v := range venueWords {
			if w == v {
				return true
			}
		}
	}
	return false
}

// dropPostalParts cuts trailing parts that are only postal codes.
func dropPostalParts(parts []string) []string {
	for len(parts) > 1 && isPostalOnly(parts[len(parts)-1]) {
		parts = parts[:len(parts)-1]
	}
	return parts
}

func cityAndVenue(parts []string, loc *domain.LocationInput) {
	switch n := len(parts); n {
	case 0:
	default:
		loc.City, _ = trimPostal(parts[n-1])
		loc.Venue = strings.Join(parts[:n-1], ", ")
	}
}

// trimPostal cuts postal codes before or after a name ("10115 Berlin",
// "London SW1A 1AA", "MD 21201", "ON M5V 2T6"): the words with a digit at
// either end, as long as a word without one stays. zip says whether one
// of them was a US ZIP code.
func trimPostal(s string) (name string, zip bool) {
	words := strings.Fields(s)
	i, j := 0, len(words)
	for i < j && hasDigit(words[i]) {
		i++
	}
	for j > i && hasDigit(words[j-1]) {
		zip = zip || isZIP(words[j-1])
		j--
	}
	if i == j {
		return strings.TrimSpace(s), false
	}
	// "São Paulo - SP": a dash before a trailing code is punctuation.
	return strings.TrimSpace(strings.TrimRight(strings.Join(words[i:j], " "), " -–")), zip
}

func isPostalOnly(s string) bool {
	for _, w := range strings.Fields(s) {
		if !hasDigit(w) {
			return false
		}
	}
	return true
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

// hasWord reports whether the words of s contain the words of w, in any
// case: "Messe Berlin" has "Berlin", "Toronto" has no "ON".
func hasWord(s, w string) bool {
	return strings.Contains(" "+strings.ToLower(strings.Join(strings.Fields(s), " "))+" ", " "+strings.ToLower(w)+" ")
}

// isZIP reports whether s is a US ZIP code (12345 or 12345-6789).
func isZIP(s string) bool {
	if len(s) != 5 && len(s) != 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || i == 5 && s[i] == '-') {
			return false
		}
	}
	return len(s) == 5 || s[5] == '-'
}

// hintsOf are the hints an event gives to place it.
func hintsOf(ev ical.ImportedEvent, d icsDefaults, fileZone string) placeHints {
	h := placeHints{zone: eventZone(ev, d, fileZone), at: ev.Start, email: ev.OrganizerEmail}
	if d.contact != nil {
		h.email = d.contact.Email
	}
	return h
}

// eventZone is the IANA zone the event is in, for placing it: its own, or
// the request's ?timezone, or the calendar's X-WR-TIMEZONE; "" none.
func eventZone(ev ical.ImportedEvent, d icsDefaults, fileZone string) string {
	switch {
	case ev.Zone != "":
		return ev.Zone
	case d.zone != nil:
		return d.zone.String()
	}
	return fileZone
}

// meetingLink matches the join links of the online meeting services that
// invitations carry in LOCATION, DESCRIPTION or URL: Google Meet,
// Microsoft Teams, Zoom (and ZoomGov), Webex.
var meetingLink = regexp.MustCompile(`(?i)https://(?:meet\.google\.com/|teams\.microsoft\.com/l/meetup-join/|teams\.live\.com/meet/|(?:[a-z0-9-]+\.)?zoom(?:gov)?\.(?:us|com)/(?:j|w|my|s)/|[a-z0-9-]+\.webex\.com/(?:meet|join|[a-z0-9-]+/j\.php|wbxmjs|[a-z0-9-]+/e\.php))`)

// hasMeetingLink reports whether s holds a link to join an online meeting.
func hasMeetingLink(s string) bool { return s != "" && meetingLink.MatchString(s) }

// isMeetingPlace reports whether a LOCATION names only an online meeting:
// "Microsoft Teams Meeting", "Zoom: https://…", a join link with words.
func isMeetingPlace(s string) bool {
	low := strings.ToLower(strings.TrimSpace(s))
	switch low {
	case "microsoft teams meeting", "microsoft teams-besprechung", "réunion microsoft teams", "zoom meeting", "webex meeting",
		"google meet", "zoom webinar", "cisco webex":
		return true
	}
	if !hasMeetingLink(s) {
		return false
	}
	// A place beside the link ("Room 4, Hall B; https://zoom.us/j/1") is hybrid.
	switch strings.ToLower(withoutLinks(s)) {
	case "", "zoom", "teams", "microsoft teams", "microsoft teams meeting", "webex", "google meet", "online", "join", "join online":
		return true
	}
	return false
}

var anyLink = regexp.MustCompile(`(?i)<?https?://\S+`)

// withoutLinks is s without its web links and the punctuation around
// them: the place a hybrid event's LOCATION names beside its join link.
func withoutLinks(s string) string {
	return strings.Trim(anyLink.ReplaceAllString(s, ""), " ;:,.-()|\n")
}
