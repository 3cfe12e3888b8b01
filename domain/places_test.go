package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
)

func placeInput(loc domain.LocationInput) domain.SubmissionInput {
	return domain.SubmissionInput{Title: "Forum", Start: "2030-06-12", End: "2030-06-13", Format: "in_person",
		Location: &loc, Topics: []string{"courts"}, Contact: &domain.Contact{Email: "pat@example.org"}}
}

// TestCountries: a country by code or name is stored as its ISO 3166-1
// code; a region outside the US is free text; a place with no country is
// in the US (the first schema's places), and what names no country is
// refused saying what to send.
func TestCountries(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   domain.LocationInput
		want domain.Location
	}{
		{domain.LocationInput{City: "Berlin", Country: "Germany"}, domain.Location{City: "Berlin", Country: "DE"}},
		{domain.LocationInput{City: "Berlin", Country: "de"}, domain.Location{City: "Berlin", Country: "DE"}},
		{domain.LocationInput{City: "Vancouver", Region: "British Columbia", Country: "CAN"}, domain.Location{City: "Vancouver", Region: "British Columbia", Country: "CA"}},
		{domain.LocationInput{City: "Chennai", Region: "IN", Country: "India"}, domain.Location{City: "Chennai", Region: "IN", Country: "IN"}},
		{domain.LocationInput{City: "São Paulo", Country: "Brasil"}, domain.Location{City: "São Paulo", Country: "BR"}},
		{domain.LocationInput{City: "London", Country: "UK"}, domain.Location{City: "London", Country: "GB"}},
		{domain.LocationInput{City: "Baltimore", Region: "Maryland"}, domain.Location{City: "Baltimore", Region: "MD", Country: "US"}},
		{domain.LocationInput{City: "Baltimore", Region: "md", Country: "United States"}, domain.Location{City: "Baltimore", Region: "MD", Country: "US"}},
	} {
		s, err := domain.ValidateSubmission(placeInput(tt.in), now)
		if err != nil || s.Details.Location != tt.want {
			t.Errorf("%+v: %+v %v, want %+v", tt.in, s.Details.Location, err, tt.want)
		}
	}
	_, err := domain.ValidateSubmission(placeInput(domain.LocationInput{City: "Atlantis", Country: "Atlantis"}), now)
	if err == nil || !strings.Contains(err.Error(), "location.country") || !strings.Contains(err.Error(), "ISO 3166-1") {
		t.Errorf("unknown country: %v", err)
	}
	// Paris without a country is in the US, and asks for its state —
	// saying that a place abroad needs its country.
	_, err = domain.ValidateSubmission(placeInput(domain.LocationInput{City: "Paris"}), now)
	if err == nil || !strings.Contains(err.Error(), "location.region") || !strings.Contains(err.Error(), "country") {
		t.Errorf("no country: %v", err)
	}
}

// TestOneSetOfLimits: titles are counted in characters, long enough for
// real names in any script; controls that separate words become spaces.
func TestOneSetOfLimits(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	in := placeInput(domain.LocationInput{City: "Tokyo", Country: "JP"})
	in.Title = strings.Repeat("司法", domain.MaxTitleLength/2) // 300 characters, 900 bytes
	if _, err := domain.ValidateSubmission(in, now); err != nil {
		t.Errorf("a title of %d characters: %v", domain.MaxTitleLength, err)
	}
	in.Title += "法"
	if _, err := domain.ValidateSubmission(in, now); err == nil || !strings.Contains(err.Error(), "title") {
		t.Errorf("a title of %d characters accepted", domain.MaxTitleLength+1)
	}
	if domain.MaxTitleLength < 250 {
		t.Errorf("titles of at most %d characters cut real conference names", domain.MaxTitleLength)
	}
	for _, sep := range []string{"\v", "\f", "\x1c", "\x1d", "\x1e", "\x1f"} {
		if got := domain.CleanText("Panel" + sep + "on" + sep + "bail reform"); got != "Panel on bail reform" {
			t.Errorf("%q: %q", sep, got)
		}
	}
	for _, c := range domain.FormControls(true) {
		if c.Max <= 0 {
			t.Errorf("control %s has no limit", c.Name)
		}
	}
	title, _ := domain.Field("title")
	if title.Controls[0].Max != domain.MaxTitleLength {
		t.Errorf("the form's title limit %d is not the API's %d", title.Controls[0].Max, domain.MaxTitleLength)
	}
}
