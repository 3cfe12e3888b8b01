package domain_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
)

// TestDecodeRefusesAnEventUnderAnotherSubject: a publisher allowed only
// events.conference.*.submitted cannot make its message count as an
// approval, or as an event of another conference.
func TestDecodeRefusesAnEventUnderAnotherSubject(t *testing.T) {
	approve, err := domain.NewEnvelope("e1", "victim", "editor", time.Now(), domain.ConferenceApproved{})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(approve)
	tests := []struct {
		name    string
		subject string
		typ     string
		ok      bool
	}{
		{"its own subject", "events.conference.victim.approved", domain.TypeConferenceApproved, true},
		{"its own subject, no type header", "events.conference.victim.approved", "", true},
		{"a submission subject", "events.conference.victim.submitted", domain.TypeConferenceApproved, false},
		{"another conference", "events.conference.attacker.approved", domain.TypeConferenceApproved, false},
		{"another aggregate kind", "events.resource.victim.approved", "", false},
		{"a header that lies", "events.conference.victim.approved", domain.TypeConferenceSubmitted, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err1 := domain.Decode(7, tc.subject, data)
			_, err2 := domain.DecodeTyped(7, tc.subject, tc.typ, data)
			if tc.typ == "" || tc.typ == domain.TypeConferenceApproved {
				if (err1 == nil) != tc.ok {
					t.Errorf("Decode: err %v, want ok=%v", err1, tc.ok)
				}
			}
			if (err2 == nil) != tc.ok {
				t.Errorf("DecodeTyped: err %v, want ok=%v", err2, tc.ok)
			}
		})
	}
}

// TestConferenceOpensOnce: a second submission, or an event before the
// submission, changes nothing but the version.
func TestConferenceOpensOnce(t *testing.T) {
	rec := func(seq uint64, e domain.Event) domain.Record {
		env, err := domain.NewEnvelope("e", "c1", "x", time.Now(), e)
		if err != nil {
			t.Fatal(err)
		}
		return domain.Record{Seq: seq, Envelope: env, Event: e}
	}
	var c domain.Conference
	c.Apply(rec(1, domain.ConferenceApproved{}))
	if c.Exists() || c.Status != "" {
		t.Fatalf("an approval opened a conference: %+v", c)
	}
	c.Apply(rec(2, domain.ConferenceSubmitted{Details: domain.ConferenceDetails{Title: "Real"}, Contact: domain.Contact{Email: "a@b.org"}}))
	c.Apply(rec(3, domain.ConferenceSubmitted{Details: domain.ConferenceDetails{Title: "Forged"}, Contact: domain.Contact{Email: "x@evil.org"}}))
	if c.Details.Title != "Real" || c.Contact.Email != "a@b.org" || c.Status != domain.StatusPending || c.Version != 3 {
		t.Fatalf("a second submission changed the conference: %+v", c)
	}
}
