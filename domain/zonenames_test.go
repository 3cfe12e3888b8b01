package domain

import (
	"strings"
	"testing"
	"time"
)

func TestZoneTables(t *testing.T) {
	for name, iana := range windowsZones {
		if got, ok := ZoneAlias(name); !ok || got != iana {
			t.Errorf("Windows zone %q: %q %v, want %s", name, got, ok, iana)
		}
		if _, err := time.LoadLocation(iana); err != nil {
			t.Errorf("Windows zone %q: %s is no zone: %v", name, iana, err)
		}
	}
	for name, iana := range windowsDisplayZones {
		if got, ok := ZoneAlias(name); !ok || got != iana {
			t.Errorf("display name %q: %q %v, want %s", name, got, ok, iana)
		}
	}
	for name, iana := range usZoneNames {
		if _, err := time.LoadLocation(iana); err != nil {
			t.Errorf("%q: %s is no zone", name, iana)
		}
	}
}

// TestResolveZone: the aliases the issue names are stored as IANA names;
// what names no zone is refused with a suggestion.
func TestResolveZone(t *testing.T) {
	for in, want := range map[string]string{
		"America/New_York": "America/New_York", "Eastern": "America/New_York", "EST": "America/New_York",
		"edt": "America/New_York", "PT": "America/Los_Angeles", "Central Standard Time": "America/Chicago",
		"W. Europe Standard Time": "Europe/Berlin", "UTC": "UTC", "GMT": "UTC", "Z": "UTC",
		"america/chicago": "America/Chicago", "Eastern Time (US & Canada)": "America/New_York", " Hawaii ": "Pacific/Honolulu",
	} {
		if got, ok := ResolveZone(in); !ok || got != want {
			t.Errorf("ResolveZone(%q) = %q %v, want %s", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "Local", "Mars/Base", "New York", "../etc/passwd"} {
		if got, ok := ResolveZone(bad); ok {
			t.Errorf("ResolveZone(%q) = %q", bad, got)
		}
	}
	if got := SuggestZone("New York"); got != "America/New_York" {
		t.Errorf("SuggestZone(New York) = %s", got)
	}
	if got := SuggestZone("berlin"); got != "Europe/Berlin" {
		t.Errorf("SuggestZone(berlin) = %s", got)
	}
	var errs ValidationError
	in := SubmissionInput{Title: "x", Start: "2030-06-12T09:00", End: "2030-06-12T17:00", Timezone: "New York"}
	validateWhen(in, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), &ConferenceDetails{}, &errs)
	if len(errs.Fields) != 1 || !strings.Contains(errs.Fields[0].Message, "America/New_York") {
		t.Errorf("no suggestion: %+v", errs.Fields)
	}
	var d ConferenceDetails
	errs = ValidationError{}
	validateWhen(SubmissionInput{Start: "2030-06-12T09:00", End: "2030-06-12T17:00", Timezone: "Eastern"}, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), &d, &errs)
	if len(errs.Fields) != 0 || d.Timezone != "America/New_York" {
		t.Errorf("Eastern: %+v %+v", d, errs.Fields)
	}
}
