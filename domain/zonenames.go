package domain

import (
	"sort"
	"strings"
)

// Time-zone names people and calendar programs write for a zone, and the
// IANA name stored for them. ZoneAlias is the one table: the API, the
// form, the CLI and .ics intake (through ical.ImportOptions.ZoneAliases)
// all read zones through it.

// windowsZones maps the Windows time zone names that Outlook and Exchange
// write as TZID to IANA names: CLDR's windowsZones.xml, territory "001"
// (the zone Windows means by the name), with current IANA spellings.
var windowsZones = map[string]string{
	"Dateline Standard Time":          "Etc/GMT+12",
	"UTC-11":                          "Etc/GMT+11",
	"Aleutian Standard Time":          "America/Adak",
	"Hawaiian Standard Time":          "Pacific/Honolulu",
	"Marquesas Standard Time":         "Pacific/Marquesas",
	"Alaskan Standard Time":           "America/Anchorage",
	"UTC-09":                          "Etc/GMT+9",
	"Pacific Standard Time (Mexico)":  "America/Tijuana",
	"UTC-08":                          "Etc/GMT+8",
	"Pacific Standard Time":           "America/Los_Angeles",
	"US Mountain Standard Time":       "America/Phoenix",
	"Mountain Standard Time (Mexico)": "America/Mazatlan",
	"Mountain Standard Time":          "America/Denver",
	"Yukon Standard Time":             "America/Whitehorse",
	"Central America Standard Time":   "America/Guatemala",
	"Central Standard Time":           "America/Chicago",
	"Easter Island Standard Time":     "Pacific/Easter",
	"Central Standard Time (Mexico)":  "America/Mexico_City",
	"Canada Central Standard Time":    "America/Regina",
	"SA Pacific Standard Time":        "America/Bogota",
	"Eastern Standard Time (Mexico)":  "America/Cancun",
	"Eastern Standard Time":           "America/New_York",
	"Haiti Standard Time":             "America/Port-au-Prince",
	"Cuba Standard Time":              "America/Havana",
	"US Eastern Standard Time":        "America/Indiana/Indianapolis",
	"Turks And Caicos Standard Time":  "America/Grand_Turk",
	"Paraguay Standard Time":          "America/Asuncion",
	"Atlantic Standard Time":          "America/Halifax",
	"Venezuela Standard Time":         "America/Caracas",
	"Central Brazilian Standard Time": "America/Cuiaba",
	"SA Western Standard Time":        "America/La_Paz",
	"Pacific SA Standard Time":        "America/Santiago",
	"Newfoundland Standard Time":      "America/St_Johns",
	"Tocantins Standard Time":         "America/Araguaina",
	"E. South America Standard Time":  "America/Sao_Paulo",
	"SA Eastern Standard Time":        "America/Cayenne",
	"Argentina Standard Time":         "America/Argentina/Buenos_Aires",
	"Greenland Standard Time":         "America/Nuuk",
	"Montevideo Standard Time":        "America/Montevideo",
	"Magallanes Standard Time":        "America/Punta_Arenas",
	"Saint Pierre Standard Time":      "America/Miquelon",
	"Bahia Standard Time":             "America/Bahia",
	"UTC-02":                          "Etc/GMT+2",
	"Azores Standard Time":            "Atlantic/Azores",
	"Cape Verde Standard Time":        "Atlantic/Cape_Verde",
	"GMT Standard Time":               "Europe/London",
	"Greenwich Standard Time":         "Atlantic/Reykjavik",
	"Sao Tome Standard Time":          "Africa/Sao_Tome",
	"Morocco Standard Time":           "Africa/Casablanca",
	"W. Europe Standard Time":         "Europe/Berlin",
	"Central Europe Standard Time":    "Europe/Budapest",
	"Romance Standard Time":           "Europe/Paris",
	"Central European Standard Time":  "Europe/Warsaw",
	"W. Central Africa Standard Time": "Africa/Lagos",
	"Jordan Standard Time":            "Asia/Amman",
	"GTB Standard Time":               "Europe/Bucharest",
	"Middle East Standard Time":       "Asia/Beirut",
	"Egypt Standard Time":             "Africa/Cairo",
	"E. Europe Standard Time":         "Europe/Chisinau",
	"Syria Standard Time":             "Asia/Damascus",
	"West Bank Standard Time":         "Asia/Hebron",
	"South Africa Standard Time":      "Africa/Johannesburg",
	"FLE Standard Time":               "Europe/Kyiv",
	"Israel Standard Time":            "Asia/Jerusalem",
	"South Sudan Standard Time":       "Africa/Juba",
	"Kaliningrad Standard Time":       "Europe/Kaliningrad",
	"Sudan Standard Time":             "Africa/Khartoum",
	"Libya Standard Time":             "Africa/Tripoli",
	"Namibia Standard Time":           "Africa/Windhoek",
	"Arabic Standard Time":            "Asia/Baghdad",
	"Turkey Standard Time":            "Europe/Istanbul",
	"Arab Standard Time":              "Asia/Riyadh",
	"Belarus Standard Time":           "Europe/Minsk",
	"Russian Standard Time":           "Europe/Moscow",
	"E. Africa Standard Time":         "Africa/Nairobi",
	"Volgograd Standard Time":         "Europe/Volgograd",
	"Iran Standard Time":              "Asia/Tehran",
	"Arabian Standard Time":           "Asia/Dubai",
	"Astrakhan Standard Time":         "Europe/Astrakhan",
	"Azerbaijan Standard Time":        "Asia/Baku",
	"Russia Time Zone 3":              "Europe/Samara",
	"Mauritius Standard Time":         "Indian/Mauritius",
	"Saratov Standard Time":           "Europe/Saratov",
	"Georgian Standard Time":          "Asia/Tbilisi",
	"Caucasus Standard Time":          "Asia/Yerevan",
	"Afghanistan Standard Time":       "Asia/Kabul",
	"West Asia Standard Time":         "Asia/Tashkent",
	"Ekaterinburg Standard Time":      "Asia/Yekaterinburg",
	"Pakistan Standard Time":          "Asia/Karachi",
	"Qyzylorda Standard Time":         "Asia/Qyzylorda",
	"India Standard Time":             "Asia/Kolkata",
	"Sri Lanka Standard Time":         "Asia/Colombo",
	"Nepal Standard Time":             "Asia/Kathmandu",
	"Central Asia Standard Time":      "Asia/Almaty",
	"Bangladesh Standard Time":        "Asia/Dhaka",
	"Omsk Standard Time":              "Asia/Omsk",
	"Myanmar Standard Time":           "Asia/Yangon",
	"SE Asia Standard Time":           "Asia/Bangkok",
	"Altai Standard Time":             "Asia/Barnaul",
	"W. Mongolia Standard Time":       "Asia/Hovd",
	"North Asia Standard Time":        "Asia/Krasnoyarsk",
	"N. Central Asia Standard Time":   "Asia/Novosibirsk",
	"Tomsk Standard Time":             "Asia/Tomsk",
	"China Standard Time":             "Asia/Shanghai",
	"North Asia East Standard Time":   "Asia/Irkutsk",
	"Singapore Standard Time":         "Asia/Singapore",
	"W. Australia Standard Time":      "Australia/Perth",
	"Taipei Standard Time":            "Asia/Taipei",
	"Ulaanbaatar Standard Time":       "Asia/Ulaanbaatar",
	"Aus Central W. Standard Time":    "Australia/Eucla",
	"Transbaikal Standard Time":       "Asia/Chita",
	"Tokyo Standard Time":             "Asia/Tokyo",
	"North Korea Standard Time":       "Asia/Pyongyang",
	"Korea Standard Time":             "Asia/Seoul",
	"Yakutsk Standard Time":           "Asia/Yakutsk",
	"Cen. Australia Standard Time":    "Australia/Adelaide",
	"AUS Central Standard Time":       "Australia/Darwin",
	"E. Australia Standard Time":      "Australia/Brisbane",
	"AUS Eastern Standard Time":       "Australia/Sydney",
	"West Pacific Standard Time":      "Pacific/Port_Moresby",
	"Tasmania Standard Time":          "Australia/Hobart",
	"Vladivostok Standard Time":       "Asia/Vladivostok",
	"Lord Howe Standard Time":         "Australia/Lord_Howe",
	"Bougainville Standard Time":      "Pacific/Bougainville",
	"Russia Time Zone 10":             "Asia/Srednekolymsk",
	"Magadan Standard Time":           "Asia/Magadan",
	"Norfolk Standard Time":           "Pacific/Norfolk",
	"Sakhalin Standard Time":          "Asia/Sakhalin",
	"Central Pacific Standard Time":   "Pacific/Guadalcanal",
	"Russia Time Zone 11":             "Asia/Kamchatka",
	"New Zealand Standard Time":       "Pacific/Auckland",
	"UTC+12":                          "Etc/GMT-12",
	"Fiji Standard Time":              "Pacific/Fiji",
	"Chatham Islands Standard Time":   "Pacific/Chatham",
	"UTC+13":                          "Etc/GMT-13",
	"Tonga Standard Time":             "Pacific/Tongatapu",
	"Samoa Standard Time":             "Pacific/Apia",
	"Line Islands Standard Time":      "Pacific/Kiritimati",
}

var windowsZonesFolded = func() map[string]string {
	m := make(map[string]string, len(windowsZones))
	for k, v := range windowsZones {
		m[strings.ToLower(k)] = v
	}
	return m
}()

// windowsDisplayZones maps the display names older Outlook versions write
// as TZID ("(UTC-05:00) Eastern Time (US & Canada)", "(GMT-05.00) …"),
// without the offset prefix, for the zones of the US and a few others.
var windowsDisplayZones = map[string]string{
	"eastern time (us & canada)":          "America/New_York",
	"central time (us & canada)":          "America/Chicago",
	"mountain time (us & canada)":         "America/Denver",
	"pacific time (us & canada)":          "America/Los_Angeles",
	"pacific time (us & canada); tijuana": "America/Los_Angeles",
	"arizona":                             "America/Phoenix",
	"alaska":                              "America/Anchorage",
	"hawaii":                              "Pacific/Honolulu",
	"indiana (east)":                      "America/Indiana/Indianapolis",
	"atlantic time (canada)":              "America/Halifax",
	"coordinated universal time":          "Etc/UTC",
	"dublin, edinburgh, lisbon, london":   "Europe/London",
	"greenwich mean time : dublin, edinburgh, lisbon, london": "Europe/London",
	"amsterdam, berlin, bern, rome, stockholm, vienna":        "Europe/Berlin",
	"brussels, copenhagen, madrid, paris":                     "Europe/Paris",
	"belgrade, bratislava, budapest, ljubljana, prague":       "Europe/Budapest",
	"sarajevo, skopje, warsaw, zagreb":                        "Europe/Warsaw",
	"osaka, sapporo, tokyo":                                   "Asia/Tokyo",
	"canberra, melbourne, sydney":                             "Australia/Sydney",
	"chennai, kolkata, mumbai, new delhi":                     "Asia/Kolkata",
	"beijing, chongqing, hong kong, urumqi":                   "Asia/Shanghai",
	"guadalajara, mexico city, monterrey":                     "America/Mexico_City",
	"bogota, lima, quito, rio branco":                         "America/Bogota",
	"puerto rico":                                             "America/Puerto_Rico",
	"georgetown, la paz, manaus, san juan":                    "America/La_Paz",
	"saskatchewan":                                            "America/Regina",
	"newfoundland":                                            "America/St_Johns",
	"guam, port moresby":                                      "Pacific/Port_Moresby",
	"auckland, wellington":                                    "Pacific/Auckland",
	"helsinki, kyiv, riga, sofia, tallinn, vilnius":           "Europe/Kyiv",
	"moscow, st. petersburg":                                  "Europe/Moscow",
	"moscow, st. petersburg, volgograd":                       "Europe/Moscow",
	"jerusalem":                                               "Asia/Jerusalem",
	"abu dhabi, muscat":                                       "Asia/Dubai",
	"singapore":                                               "Asia/Singapore",
	"kuala lumpur, singapore":                                 "Asia/Singapore",
	"seoul":                                                   "Asia/Seoul",
	"brasilia":                                                "America/Sao_Paulo",
	"buenos aires":                                            "America/Argentina/Buenos_Aires",
	"city of buenos aires":                                    "America/Argentina/Buenos_Aires",
	"international date line west":                            "Etc/GMT+12",
	"samoa":                                                   "Pacific/Apia",
	"west central africa":                                     "Africa/Lagos",
	"harare, pretoria":                                        "Africa/Johannesburg",
	"nairobi":                                                 "Africa/Nairobi",
	"cairo":                                                   "Africa/Cairo",
	"athens, bucharest":                                       "Europe/Bucharest",
	"istanbul":                                                "Europe/Istanbul",
	"bangkok, hanoi, jakarta":                                 "Asia/Bangkok",
	"perth":                                                   "Australia/Perth",
	"brisbane":                                                "Australia/Brisbane",
	"adelaide":                                                "Australia/Adelaide",
	"darwin":                                                  "Australia/Darwin",
	"hobart":                                                  "Australia/Hobart",
	"islamabad, karachi":                                      "Asia/Karachi",
	"kathmandu":                                               "Asia/Kathmandu",
	"tehran":                                                  "Asia/Tehran",
	"kabul":                                                   "Asia/Kabul",
	"baghdad":                                                 "Asia/Baghdad",
	"kuwait, riyadh":                                          "Asia/Riyadh",
	"central america":                                         "America/Guatemala",
	"caracas":                                                 "America/Caracas",
	"santiago":                                                "America/Santiago",
	"azores":                                                  "Atlantic/Azores",
	"cabo verde is.":                                          "Atlantic/Cape_Verde",
	"monrovia, reykjavik":                                     "Atlantic/Reykjavik",
	"casablanca":                                              "Africa/Casablanca",
	"taipei":                                                  "Asia/Taipei",
	"fiji":                                                    "Pacific/Fiji",
	"nuku'alofa":                                              "Pacific/Tongatapu",
	"chihuahua, la paz, mazatlan":                             "America/Mazatlan",
	"baja california":                                         "America/Tijuana",
	"midway island, samoa":                                    "Pacific/Pago_Pago",
	"amsterdam, berlin, bern, rome, stockholm, vienna (standard)": "Europe/Berlin",
}

// usZoneNames are the US zone abbreviations and names people type: EST
// and EDT alike are the Eastern zone (a conference keeps the zone's rules,
// not one offset), UTC and GMT.
var usZoneNames = map[string]string{
	"utc": "UTC", "gmt": "UTC", "z": "UTC", "zulu": "UTC", "universal": "UTC",
	"et": "America/New_York", "est": "America/New_York", "edt": "America/New_York", "eastern": "America/New_York",
	"eastern time": "America/New_York", "us eastern": "America/New_York",
	"ct": "America/Chicago", "cst": "America/Chicago", "cdt": "America/Chicago", "central": "America/Chicago",
	"central time": "America/Chicago", "us central": "America/Chicago",
	"mt": "America/Denver", "mst": "America/Denver", "mdt": "America/Denver", "mountain": "America/Denver",
	"mountain time": "America/Denver", "us mountain": "America/Denver", "arizona": "America/Phoenix",
	"pt": "America/Los_Angeles", "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "pacific": "America/Los_Angeles",
	"pacific time": "America/Los_Angeles", "us pacific": "America/Los_Angeles",
	"akst": "America/Anchorage", "akdt": "America/Anchorage", "alaska": "America/Anchorage", "alaska time": "America/Anchorage",
	"hst": "Pacific/Honolulu", "hawaii": "Pacific/Honolulu", "hawaii time": "Pacific/Honolulu", "hawaii-aleutian": "Pacific/Honolulu",
	"ast": "America/Puerto_Rico", "atlantic": "America/Puerto_Rico", "chst": "Pacific/Guam", "sst": "Pacific/Pago_Pago",
}

// ZoneAlias gives the IANA name of a zone name that is not one: a US
// abbreviation or name ("EST", "Eastern"), UTC's names ("GMT", "Z"), a
// Windows name ("Eastern Standard Time", from CLDR's windowsZones.xml) or
// an Outlook display name without its offset ("Eastern Time (US &
// Canada)"); in any case.
func ZoneAlias(name string) (string, bool) {
	k := strings.ToLower(strings.Join(strings.Fields(name), " "))
	if v, ok := usZoneNames[k]; ok {
		return v, true
	}
	if v, ok := windowsZonesFolded[k]; ok {
		return v, true
	}
	v, ok := windowsDisplayZones[k]
	return v, ok
}

// ResolveZone is the IANA zone a person or program named: an IANA name
// (in its own case, or in any case: america/new_york), or an alias
// (ZoneAlias). ok is false when it names none.
func ResolveZone(name string) (iana string, ok bool) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", false
	}
	// The aliases first: EST and MST are IANA names too, of a fixed
	// offset, but who types EST for a June conference means New York.
	if v, ok := ZoneAlias(name); ok {
		return v, true
	}
	if _, err := loadZone(name); err == nil {
		return name, true
	}
	if v, ok := zoneFolded[strings.ToLower(name)]; ok {
		return v, true
	}
	return "", false
}

// SuggestZone is a zone to suggest for a name that is none: the IANA zone
// whose city the name mentions ("New York" is America/New_York, "berlin"
// Europe/Berlin), else America/New_York.
func SuggestZone(name string) string {
	k := strings.ToLower(strings.NewReplacer(" ", "_", "-", "_").Replace(strings.TrimSpace(name)))
	if k != "" {
		for _, z := range zoneNames {
			city := strings.ToLower(z[strings.LastIndexByte(z, '/')+1:])
			if city == k || strings.HasSuffix(k, "/"+city) || len(k) >= 4 && strings.Contains(city, k) {
				return z
			}
		}
	}
	return "America/New_York"
}

// zoneNames are the canonical IANA zones (zone.tab's), sorted;
// zoneFolded finds them in any case.
var zoneNames, zoneFolded = func() ([]string, map[string]string) {
	names := make([]string, 0, len(zoneCountry)+1)
	folded := make(map[string]string, len(zoneCountry)+1)
	for z := range zoneCountry {
		names = append(names, z)
	}
	names = append(names, "UTC")
	sort.Strings(names)
	for _, z := range names {
		folded[strings.ToLower(z)] = z
	}
	return names, folded
}()

// zoneMessage is the refusal of a zone name that is none, with a
// suggestion.
func zoneMessage(name string) string {
	return "is not a time zone: send an IANA name such as " + SuggestZone(name) +
		" (US abbreviations such as EST, Windows names such as \"Eastern Standard Time\" and UTC are accepted too)"
}
