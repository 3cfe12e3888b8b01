package domain_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
)

var submittedAt = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// legacyInput is a valid submission with the fields of the legacy
// calendar set as in.
func legacyInput(in domain.SubmissionInput) domain.SubmissionInput {
	in.Title, in.Format, in.Topics = "Legacy fields", "online", []string{"courts"}
	if in.Start == "" {
		in.Start, in.End, in.AllDay = "2027-06-12", "2027-06-14", new(true)
	}
	in.Contact = &domain.Contact{Email: "pat@example.org"}
	return in
}

// TestLegacyFields: the event type, cost, registration and credits are
// optional, normalised and checked like every other field, each error
// naming its field.
func TestLegacyFields(t *testing.T) {
	reg := func(u, deadline string) *domain.RegistrationInput {
		return &domain.RegistrationInput{URL: u, Deadline: deadline}
	}
	for _, tc := range []struct {
		name string
		in   domain.SubmissionInput
		want domain.ConferenceDetails // the new fields only
		bad  []string                 // fields at fault
	}{
		{name: "none stated", in: domain.SubmissionInput{Registration: reg(" ", "")}},
		{name: "type by slug", in: domain.SubmissionInput{Type: "webinar"}, want: domain.ConferenceDetails{Type: "webinar"}},
		{name: "type by label, any case", in: domain.SubmissionInput{Type: " hearing OR listening session "}, want: domain.ConferenceDetails{Type: "hearing"}},
		{name: "unknown type", in: domain.SubmissionInput{Type: "party"}, bad: []string{"type"}},
		{name: "free in any case", in: domain.SubmissionInput{Cost: " FREE "}, want: domain.ConferenceDetails{Cost: "free"}},
		{name: "fees", in: domain.SubmissionInput{Cost: "$350;\r\nstudents $100", Credits: "6 CLE\tcredits"},
			want: domain.ConferenceDetails{Cost: "$350; students $100", Credits: "6 CLE credits"}},
		{name: "long cost and credits", in: domain.SubmissionInput{Cost: strings.Repeat("$", 201), Credits: strings.Repeat("é", 201)}, bad: []string{"cost", "credits"}},
		{name: "registration without deadline", in: domain.SubmissionInput{Registration: reg("https://example.org/r", "")},
			want: domain.ConferenceDetails{Registration: domain.Registration{URL: "https://example.org/r"}}},
		{name: "deadline on the last day", in: domain.SubmissionInput{Registration: reg("https://example.org/r", "2027-06-14")},
			want: domain.ConferenceDetails{Registration: domain.Registration{URL: "https://example.org/r", Deadline: "2027-06-14"}}},
		{name: "deadline after the last day", in: domain.SubmissionInput{Registration: reg("https://example.org/r", "2027-06-15")}, bad: []string{"registration.deadline"}},
		{name: "deadline on a timed conference's last day",
			in: domain.SubmissionInput{Start: "2027-06-12T09:00", End: "2027-06-13T12:00", AllDay: new(false), Timezone: "America/Denver",
				Registration: reg("https://example.org/r", "2027-06-13")},
			want: domain.ConferenceDetails{Registration: domain.Registration{URL: "https://example.org/r", Deadline: "2027-06-13"}}},
		{name: "deadline after a timed conference", in: domain.SubmissionInput{Start: "2027-06-12T09:00", End: "2027-06-13T12:00",
			AllDay: new(false), Timezone: "America/Denver", Registration: reg("https://example.org/r", "2027-06-14")}, bad: []string{"registration.deadline"}},
		{name: "deadline without a page", in: domain.SubmissionInput{Registration: reg("", "2027-06-01")}, bad: []string{"registration.url"}},
		{name: "bad page and date", in: domain.SubmissionInput{Registration: reg("javascript:alert(1)", "June 1")}, bad: []string{"registration.url", "registration.deadline"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub, err := domain.ValidateSubmission(legacyInput(tc.in), submittedAt)
			var ve *domain.ValidationError
			if len(tc.bad) > 0 {
				if !errors.As(err, &ve) {
					t.Fatalf("accepted: %+v", sub.Details)
				}
				var got []string
				for _, f := range ve.Fields {
					got = append(got, f.Field)
				}
				if !reflect.DeepEqual(got, tc.bad) {
					t.Fatalf("fields at fault %v, want %v (%v)", got, tc.bad, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d := sub.Details
			got := domain.ConferenceDetails{Type: d.Type, Cost: d.Cost, Registration: d.Registration, Credits: d.Credits}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestLegacyFieldsForPeople: how pages and feeds say them.
func TestLegacyFieldsForPeople(t *testing.T) {
	d := domain.ConferenceDetails{Type: "awareness-event", Cost: "free",
		Registration: domain.Registration{URL: "https://example.org/r", Deadline: "2027-06-01"}, Credits: "2 CEUs"}
	for name, want := range map[string]string{"type": "Awareness event", "cost": "Free",
		"registration": "https://example.org/r (by June 1, 2027)", "credits": "2 CEUs"} {
		f, ok := domain.Field(name)
		if !ok || f.Text(d) != want {
			t.Errorf("%s reads %q, want %q", name, f.Text(d), want)
		}
	}
	if got := (domain.ConferenceDetails{Cost: "$5"}).CostText(); got != "$5" {
		t.Errorf("cost %q", got)
	}
	var none domain.ConferenceDetails
	for _, name := range []string{"type", "cost", "registration", "credits"} {
		if f, _ := domain.Field(name); f.Text(none) != "" {
			t.Errorf("%s unset reads %q", name, f.Text(none))
		}
	}
	// Unset, they are not in the details' JSON: details of the first
	// schema encode as they did.
	b, _ := json.Marshal(domain.ConferenceDetails{Title: "x", Topics: []string{}})
	if string(b) != `{"title":"x","all_day":false,"start":"","end":"","format":"","location":{},"topics":[]}` {
		t.Errorf("unset fields encode: %s", b)
	}
}

// TestFirstSchemaUpcast: events of the first schema read as the current
// payloads, every field they had kept and the new ones unset; producers
// write the second.
func TestFirstSchemaUpcast(t *testing.T) {
	details := `{"title":"Summit","description":"Two days.","all_day":true,"start":"2027-06-12","end":"2027-06-13","format":"hybrid",` +
		`"location":{"venue":"Hall","city":"Baltimore","region":"MD","country":"US"},"url":"https://example.org/s",` +
		`"sponsors":[{"id":"ovc","name":"Office for Victims of Crime"},{"name":"A partner"}],"topics":["courts"]}`
	env := func(typ, data string) []byte {
		return []byte(`{"id":"e1","type":"` + typ + `","schema":1,"aggregate":"conference","aggregate_id":"c1",` +
			`"time":"2026-12-01T10:00:00Z","actor":"public","data":` + data + `}`)
	}
	want := domain.ConferenceDetails{Title: "Summit", Description: "Two days.", AllDay: true, Start: "2027-06-12", End: "2027-06-13",
		Format: domain.FormatHybrid, Location: domain.Location{Venue: "Hall", City: "Baltimore", Region: "MD", Country: "US"},
		URL: "https://example.org/s", Sponsors: []domain.Sponsor{{ID: "ovc", Name: "Office for Victims of Crime"}, {Name: "A partner"}},
		Topics: []string{"courts"}}

	r, err := domain.DecodeTyped(3, "events.conference.c1.submitted", domain.TypeConferenceSubmittedV1,
		env(domain.TypeConferenceSubmittedV1, `{"details":`+details+`,"contact":{"name":"Pat","email":"pat@example.org"},"source":"form","request_hash":"h"}`))
	if err != nil {
		t.Fatal(err)
	}
	sub, ok := r.Event.(domain.ConferenceSubmitted)
	if !ok || !reflect.DeepEqual(sub.Details, want) || sub.Contact != (domain.Contact{Name: "Pat", Email: "pat@example.org"}) ||
		sub.Source != "form" || sub.RequestHash != "h" || r.Type != domain.TypeConferenceSubmittedV1 || r.Schema != 1 {
		t.Fatalf("submitted v1 read as %+v", r)
	}
	if b, _ := json.Marshal(sub.Details); string(b) != details {
		t.Errorf("details of the first schema encode differently:\n%s\n%s", b, details)
	}
	r, err = domain.Decode(4, "events.conference.c1.updated", env(domain.TypeConferenceUpdatedV1, `{"details":`+details+`,"changed":["title"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if up, ok := r.Event.(domain.ConferenceUpdated); !ok || !reflect.DeepEqual(up.Details, want) || !reflect.DeepEqual(up.Changed, []string{"title"}) {
		t.Fatalf("updated v1 read as %+v", r)
	}

	// What is written now is the second schema, under the same subjects.
	for _, e := range []domain.Event{domain.ConferenceSubmitted{Details: want}, domain.ConferenceUpdated{Details: want}} {
		env, err := domain.NewEnvelope("e2", "c1", "public", submittedAt, e)
		if err != nil || env.Schema != 2 || !strings.HasSuffix(env.Type, ".v2") || !strings.HasPrefix(env.Subject(), "events.conference.c1.") {
			t.Errorf("%T written as %+v %v", e, env, err)
		}
	}
}
