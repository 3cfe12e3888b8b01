package domain

//go:generate go run gen_zonecountry.go

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/biter777/countries"
)

// Country is a country of ISO 3166-1: Code is its alpha-2 code (stored in
// Location.Country, used in feeds' paths and ?country=), Name how people
// read it.
type Country struct {
	Code, Name string
}

// Countries are the countries of ISO 3166-1 (and Kosovo's user-assigned
// XK), by name. The list is github.com/biter777/countries'; names drop its
// parenthetical qualifiers ("Moldova (Republic of)" is Moldova) and a few
// take the name people use (countryNames).
var Countries = func() []Country {
	var out []Country
	for _, c := range countries.All() {
		code := c.Alpha2()
		if len(code) != 2 {
			continue
		}
		name := c.String()
		if i := strings.Index(name, " ("); i > 0 {
			name = name[:i]
		}
		if n, ok := countryNames[code]; ok {
			name = n
		}
		out = append(out, Country{Code: code, Name: name})
	}
	slices.SortFunc(out, func(a, b Country) int { return cmp.Compare(a.Name, b.Name) })
	return out
}()

// countryNames are the names shown for the countries whose name in the
// list is not the one people use.
var countryNames = map[string]string{
	"CI": "Côte d'Ivoire",
	"KP": "North Korea",
	"KR": "South Korea",
	"LA": "Laos",
	"US": "United States",
	"GB": "United Kingdom",
	"RU": "Russia",
	"SY": "Syria",
	"VE": "Venezuela",
	"BO": "Bolivia",
	"PS": "Palestine",
}

// countryAliases are names of countries, lower case, that the list does
// not know: names in the country's own languages that conference
// organisers write in addresses.
var countryAliases = map[string]string{
	"brasil": "BR", "españa": "ES", "espana": "ES", "italia": "IT", "méxico": "MX", "mexico": "MX",
	"österreich": "AT", "osterreich": "AT", "schweiz": "CH", "suisse": "CH", "svizzera": "CH",
	"nederland": "NL", "netherlands": "NL", "belgique": "BE", "belgië": "BE", "polska": "PL",
	"sverige": "SE", "norge": "NO", "danmark": "DK", "suomi": "FI", "éire": "IE", "eire": "IE",
	"türkiye": "TR", "turkiye": "TR", "česko": "CZ", "magyarország": "HU", "ελλάδα": "GR",
	"россия": "RU", "україна": "UA", "日本": "JP", "中国": "CN", "한국": "KR", "대한민국": "KR",
	"argentina": "AR", "perú": "PE", "perú.": "PE", "colombia": "CO", "chile": "CL",
	"united states": "US", "united states of america": "US", "usa": "US", "u.s.a": "US", "u.s": "US",
	"uk": "GB", "u.k": "GB", "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
	"northern ireland": "GB", "south korea": "KR", "north korea": "KP", "russia": "RU", "vietnam": "VN",
	"ivory coast": "CI", "czech republic": "CZ", "the netherlands": "NL", "holland": "NL",
	"palestine": "PS", "taiwan": "TW", "hong kong": "HK", "macau": "MO", "macao": "MO", "kosovo": "XK",
	"deutschland": "DE", "allemagne": "DE", "france": "FR", "frankreich": "FR", "québec": "CA",
}

var countryByCode = func() map[string]Country {
	m := make(map[string]Country, len(Countries))
	for _, c := range Countries {
		m[c.Code] = c
	}
	return m
}()

var countryByName = func() map[string]Country {
	m := make(map[string]Country, 2*len(Countries))
	for _, c := range Countries {
		m[strings.ToLower(c.Name)] = c
	}
	for name, code := range countryAliases {
		m[name] = countryByCode[code]
	}
	return m
}()

// LookupCountry finds a country by its ISO 3166-1 alpha-2 or alpha-3 code
// (any case) or by its name in English or in one of the spellings
// organisers write in addresses ("Deutschland", "USA", "UK"); dots and a
// leading "the" are ignored.
func LookupCountry(s string) (Country, bool) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if s == "" || len(s) > 80 {
		return Country{}, false
	}
	if c, ok := countryByCode[strings.ToUpper(s)]; ok && len(s) == 2 {
		return c, true
	}
	low := strings.ToLower(s)
	if c, ok := countryByName[low]; ok {
		return c, true
	}
	if c, ok := countryByName[strings.ReplaceAll(low, ".", "")]; ok {
		return c, true
	}
	if rest, ok := strings.CutPrefix(low, "the "); ok {
		if c, ok := countryByName[rest]; ok {
			return c, true
		}
	}
	if len(s) == 2 {
		return Country{}, false
	}
	cc := countries.ByName(s)
	if cc == countries.Unknown || len(cc.Alpha2()) != 2 {
		return Country{}, false
	}
	c, ok := countryByCode[cc.Alpha2()]
	return c, ok
}

// CountryName is the name of a country code, or the code when unknown.
func CountryName(code string) string {
	if c, ok := countryByCode[code]; ok {
		return c.Name
	}
	return code
}

// ZoneCountry is the country of an IANA time zone (America/Vancouver is
// CA), from the tz database's zone.tab; "" for a zone of no one country
// (UTC, Etc/GMT+5) or one zone.tab does not list (a backward link).
func ZoneCountry(zone string) string { return zoneCountry[zone] }

// IsSubdivision reports whether s names a subdivision of the country
// (ISO 3166-2: a state, province, region or city with its own code), by
// its name ("British Columbia", "Berlin") or its code after the country's
// ("BC" of CA-BC), in any case.
func IsSubdivision(country, s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	if country == "US" {
		_, ok := LookupRegion(s)
		return ok
	}
	cc := countries.ByName(country)
	if cc == countries.Unknown {
		return false
	}
	for _, sub := range cc.Subdivisions() {
		code := string(sub)
		if _, short, ok := strings.Cut(code, "-"); ok && strings.EqualFold(short, s) {
			return true
		}
		if strings.EqualFold(sub.String(), s) {
			return true
		}
	}
	return false
}

// IsSubdivisionCode reports whether s is the code of a subdivision of
// the country after the country's ("BC" of CA-BC, "MI" of IT-MI).
func IsSubdivisionCode(country, s string) bool {
	if len(s) < 1 || len(s) > 3 || strings.ToUpper(s) != s {
		return false
	}
	if country == "US" {
		_, ok := LookupRegion(s)
		return ok
	}
	return countries.SubdivisionCode(country + "-" + s).IsValid()
}

// IsCapital reports whether city is the capital of the country.
func IsCapital(country, city string) bool {
	cc := countries.ByName(country)
	if cc == countries.Unknown || city == "" {
		return false
	}
	return strings.EqualFold(cc.Capital().String(), strings.TrimSpace(city))
}

// ZoneCountries are the countries with a zone that keeps the same time as
// the zone around at (the same UTC offsets at at and half a year later):
// for America/Los_Angeles the US, Canada and Mexico; for Europe/Berlin most
// of Europe. nil for an unknown zone.
func ZoneCountries(zone string, at time.Time) []string {
	loc, err := loadZone(zone)
	if err != nil || zone == "" {
		return nil
	}
	later := at.AddDate(0, 6, 0)
	_, a := at.In(loc).Zone()
	_, b := later.In(loc).Zone()
	seen := map[string]bool{}
	var out []string
	for z, l := range zoneLocations() {
		cc := zoneCountry[z]
		if seen[cc] {
			continue
		}
		if _, x := at.In(l).Zone(); x != a {
			continue
		}
		if _, y := later.In(l).Zone(); y != b {
			continue
		}
		seen[cc] = true
		out = append(out, cc)
	}
	slices.Sort(out)
	return out
}

// zoneLocations are zone.tab's zones, loaded once.
var zoneLocations = sync.OnceValue(func() map[string]*time.Location {
	m := make(map[string]*time.Location, len(zoneCountry))
	for z := range zoneCountry {
		if l, err := time.LoadLocation(z); err == nil {
			m[z] = l
		}
	}
	return m
})
