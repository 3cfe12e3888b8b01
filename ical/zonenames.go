package ical

import (
	"regexp"
	"strings"
	"time"
)

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

// displayPrefix matches the offset Outlook puts before a display name:
// "(UTC-05:00) ", "(GMT-05.00) ", "(UTC) ".
var displayPrefix = regexp.MustCompile(`^\((?:UTC|GMT)(?:[+-]\d{1,2}[:.]\d{2})?\)\s*`)

// ianaZone loads name when it is an IANA zone name as written in a TZID:
// letters, digits and "/_+-." only, and not Go's "Local".
func ianaZone(name string) (*time.Location, bool) {
	if name == "" || len(name) > 64 || checkTZID(name) != nil {
		return nil, false
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, false
	}
	return loc, true
}

// zoneByName resolves a TZID that names its zone, without looking at any
// VTIMEZONE: an IANA name; an IANA name after a vendor prefix
// ("/mozilla.org/20070129_1/America/New_York",
// "/freeassociation.sourceforge.net/Tzfile/Europe/Berlin",
// "/citadel.org/20190914_1/America/Chicago"); a Windows zone name
// ("Eastern Standard Time"); or an Outlook display name
// ("(UTC-05:00) Eastern Time (US & Canada)").
func zoneByName(tzid string) (*time.Location, bool) {
	tzid = strings.TrimSpace(tzid)
	if loc, ok := ianaZone(tzid); ok {
		return loc, true
	}
	if strings.HasPrefix(tzid, "/") {
		for i := 1; i < len(tzid); i++ {
			if tzid[i-1] != '/' {
				continue
			}
			suffix := tzid[i:]
			if strings.Contains(suffix, "/") || suffix == "UTC" {
				if loc, ok := ianaZone(suffix); ok {
					return loc, true
				}
			}
		}
	}
	if iana, ok := windowsZonesFolded[strings.ToLower(tzid)]; ok {
		return ianaZone(iana)
	}
	if p := displayPrefix.FindString(tzid); p != "" {
		if iana, ok := windowsDisplayZones[strings.ToLower(strings.TrimSpace(tzid[len(p):]))]; ok {
			return ianaZone(iana)
		}
	}
	return nil, false
}
