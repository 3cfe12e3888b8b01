package domain_test

import (
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
)

// jsonNames lists a struct type's JSON field names in declaration order.
func jsonNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}

// TestFieldListIsComplete: the one list names every public field, in the
// details' order, and every one is an input field; every control of the
// form is listed once.
func TestFieldListIsComplete(t *testing.T) {
	var names []string
	for _, f := range domain.ConferenceFields {
		names = append(names, f.Name)
		if f.Label == "" {
			t.Errorf("field %s has no label", f.Name)
		}
	}
	if want := jsonNames(reflect.TypeFor[domain.ConferenceDetails]()); !slices.Equal(names, want) {
		t.Errorf("ConferenceFields = %v, ConferenceDetails has %v", names, want)
	}
	input := jsonNames(reflect.TypeFor[domain.SubmissionInput]())
	for _, n := range names {
		if !slices.Contains(input, n) {
			t.Errorf("field %s is not in SubmissionInput", n)
		}
	}
	seen := map[string]bool{}
	for _, c := range domain.FormControls(true) {
		if seen[c.Name] || c.Label == "" {
			t.Errorf("control %q repeated or without a label", c.Name)
		}
		seen[c.Name] = true
	}
}

// fullDetails sets every public field, and fails when a field of
// ConferenceDetails is left zero: a new field must be given a value here,
// so that the round trips below cover it.
func fullDetails(t *testing.T) domain.ConferenceDetails {
	t.Helper()
	d, err := domain.ValidateDetails(domain.SubmissionInput{
		Title: "Full summit", Description: "Every field.\n\nSecond paragraph.",
		Start: "2027-06-12T09:00", End: "2027-06-14T17:30", AllDay: new(false), Timezone: "America/Chicago",
		Format: "hybrid", URL: "https://example.org/full",
		Location: &domain.LocationInput{Venue: "Hall", City: "Chicago", Region: "IL", Country: "US"},
		Sponsors: []string{"Office for Victims of Crime", "A partner, Inc."}, Topics: []string{"courts", "reentry"},
		Type: "Training", Cost: "$350; students $100", Credits: "6 CLE credits",
		Registration: &domain.RegistrationInput{URL: "https://example.org/register", Deadline: "2027-06-01"},
	}, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	d.Sponsors[0].ID = "ovc" // linked to the directory
	d.AllDay = true          // a zero bool is a value too; all-day below
	d.Start, d.End, d.Timezone = "2027-06-12", "2027-06-14", "America/Chicago"
	v := reflect.ValueOf(d)
	for i := range v.NumField() {
		if f := v.Type().Field(i); f.Type.Kind() != reflect.Bool && v.Field(i).IsZero() {
			t.Fatalf("fullDetails leaves %s zero: give it a value", f.Name)
		}
	}
	return d
}

// TestInputKeepsEveryField: details turned back into input and validated
// again are the same details, so an edit that names no field changes
// nothing.
func TestInputKeepsEveryField(t *testing.T) {
	d := fullDetails(t)
	got, err := domain.ValidateDetails(d.Input(), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	// The input names a linked sponsor by its id; linking is the adapter's.
	want := d
	want.Sponsors = []domain.Sponsor{{Name: "ovc"}, d.Sponsors[1]}
	if ch := domain.ChangedFields(want, got); len(ch) != 0 {
		t.Errorf("round trip changed %v:\n got %+v\nwant %+v", ch, got, want)
	}
}

// merge applies a partial update the way the moderation producer does:
// the patch's keys over the current input.
func merge(t *testing.T, d domain.ConferenceDetails, patch []byte) domain.ConferenceDetails {
	t.Helper()
	in := d.Input()
	if err := json.Unmarshal(patch, &in); err != nil {
		t.Fatal(err)
	}
	got, err := domain.ValidateDetails(in, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("%s: %v", patch, err)
	}
	return got
}

// TestFormEditKeepsWhatTheFormDoesNotShow: an editor's form filled from
// the details and sent back changes nothing; a form that does not show a
// field (a template without its controls) leaves that field as it is,
// whatever the field, while another field's change is saved.
func TestFormEditKeepsWhatTheFormDoesNotShow(t *testing.T) {
	d := fullDetails(t)
	d.Sponsors[0].ID = "" // by name, as the form shows it
	form := domain.FormOf(d)
	if ch := domain.ChangedFields(d, merge(t, d, domain.FormPatch(form, nil))); len(ch) != 0 {
		t.Errorf("the unchanged form changed %v", ch)
	}
	for _, f := range domain.ConferenceFields {
		t.Run(f.Name, func(t *testing.T) {
			hidden := map[string]bool{}
			for _, c := range f.Controls {
				hidden[c.Name] = true
			}
			edited, other := url.Values{}, "title"
			if f.Name == "title" {
				other = "description"
			}
			for k, v := range form {
				edited[k] = v
			}
			edited.Set(other, "Changed by the editor")
			got := merge(t, d, domain.FormPatch(edited, func(c string) bool { return !hidden[c] }))
			if !reflect.DeepEqual(f.Value(got), f.Value(d)) {
				t.Errorf("a form without %s changed it: %v → %v", f.Name, f.Value(d), f.Value(got))
			}
			if ch := domain.ChangedFields(d, got); !slices.Equal(ch, []string{other}) {
				t.Errorf("changed %v, want [%s]", ch, other)
			}
		})
	}
}

// TestFormInputIsTheAPIInput: a form and the JSON a client sends describe
// the same submission.
func TestFormInputIsTheAPIInput(t *testing.T) {
	form := url.Values{"title": {"Form summit"}, "description": {"One\r\nTwo"}, "all_day": {"no"},
		"start_date": {"2027-06-12"}, "start_time": {"09:00"}, "end_time": {"17:30"}, "timezone": {"America/Chicago"},
		"format": {"in_person"}, "venue": {"Hall"}, "city": {"Chicago"}, "region": {"IL"}, "url": {"https://example.org/f"},
		"sponsors": {"OVC\r\n\r\n  \r\nA partner, Inc."}, "topics": {"courts", "reentry"},
		"type": {"webinar"}, "cost": {"Free"}, "registration_url": {"https://example.org/r"}, "registration_deadline": {"2027-06-01"},
		"credits": {"2 CEUs"}, "contact_name": {"Pat"}, "contact_email": {"pat@example.org"}}
	var api domain.SubmissionInput
	if err := json.Unmarshal([]byte(`{"title":"Form summit","description":"One\r\nTwo","all_day":false,
		"start":"2027-06-12T09:00","end":"2027-06-12T17:30","timezone":"America/Chicago","format":"in_person",
		"location":{"venue":"Hall","city":"Chicago","region":"IL","country":""},"url":"https://example.org/f",
		"sponsors":["OVC","A partner, Inc."],"topics":["courts","reentry"],"type":"webinar","cost":"Free",
		"registration":{"url":"https://example.org/r","deadline":"2027-06-01"},"credits":"2 CEUs",
		"contact":{"name":"Pat","email":"pat@example.org"}}`), &api); err != nil {
		t.Fatal(err)
	}
	if got := domain.InputFromForm(form, true, nil); !reflect.DeepEqual(got, api) {
		t.Errorf("form input\n got %+v\nwant %+v", got, api)
	}
}

func TestControlOf(t *testing.T) {
	for _, tc := range []struct {
		path, control string
		line          int
		ok            bool
	}{
		{"title", "title", -1, true},
		{"start", "start_date", -1, true},
		{"location.city", "city", -1, true},
		{"sponsors[2]", "sponsors", 2, true},
		{"sponsors", "sponsors", -1, true},
		{"topics[0]", "topics", -1, true},
		{"contact", "contact_email", -1, true},
		{"nothing", "", -1, false},
		{"sponsors[x]", "", -1, false},
	} {
		c, line, ok := domain.ControlOf(tc.path, true)
		if c.Name != tc.control || line != tc.line || ok != tc.ok {
			t.Errorf("ControlOf(%q) = %q, %d, %v; want %q, %d, %v", tc.path, c.Name, line, ok, tc.control, tc.line, tc.ok)
		}
	}
}

func TestClampForm(t *testing.T) {
	long := strings.Repeat("é", domain.MaxTitleLength+50)
	lines := strings.Repeat("sponsor\r\n\r\n", domain.MaxSponsors+5)
	got := domain.ClampForm(url.Values{"title": {long}, "sponsors": {lines}, "unknown": {"x"},
		"topics": slices.Repeat([]string{"courts"}, 100)}, false)
	if n := len([]rune(got.Get("title"))); n != domain.MaxTitleLength {
		t.Errorf("title kept %d characters", n)
	}
	if n := len(strings.Split(got.Get("sponsors"), "\n")); n != domain.MaxSponsors {
		t.Errorf("sponsors kept %d lines", n)
	}
	if len(got["topics"]) != len(domain.Topics) || got.Has("unknown") {
		t.Errorf("clamped form %v", got)
	}
}
