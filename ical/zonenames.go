package ical

import (
	"regexp"
	"strings"
	"time"
)

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
// ("(UTC-05:00) Eastern Time (US & Canada)"). The Windows and display
// names are the caller's aliases (ImportOptions.ZoneAliases).
func zoneByName(tzid string, aliases func(string) (string, bool)) (*time.Location, bool) {
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
	if aliases == nil {
		return nil, false
	}
	if iana, ok := aliases(tzid); ok {
		return ianaZone(iana)
	}
	if p := displayPrefix.FindString(tzid); p != "" {
		if iana, ok := aliases(strings.TrimSpace(tzid[len(p):])); ok {
			return ianaZone(iana)
		}
	}
	return nil, false
}
