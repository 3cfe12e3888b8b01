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

// TestLocalTimeTakesTheFirstPass: a wall-clock time that happens twice
// when the clocks fall back is its first occurrence, in every zone; one the
// clocks jump over does not exist.
func TestLocalTimeTakesTheFirstPass(t *testing.T) {
	tests := []struct {
		zone, civil string
		exists      bool
		offset      int // seconds east of UTC of the answer
	}{
		{"America/New_York", "2027-11-07T01:30:00", true, -4 * 3600},
		{"Australia/Sydney", "2027-04-04T02:30:00", true, 11 * 3600},
		{"Australia/Lord_Howe", "2027-04-04T01:45:00", true, 11 * 3600},
		{"America/New_York", "2027-03-14T02:30:00", false, 0},
		{"Asia/Tokyo", "2027-06-12T09:00:00", true, 9 * 3600},
	}
	for _, tc := range tests {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Fatal(err)
		}
		civil, _ := time.Parse(domain.LocalTimeLayout, tc.civil)
		got, ok := domain.LocalTime(civil, loc)
		if ok != tc.exists {
			t.Errorf("%s %s: exists %v", tc.zone, tc.civil, ok)
			continue
		}
		if _, off := got.Zone(); ok && (off != tc.offset || got.Format(domain.LocalTimeLayout) != tc.civil) {
			t.Errorf("%s %s: %s (offset %d), want offset %d", tc.zone, tc.civil, got, off, tc.offset)
		}
	}
}

// TestParseWebURLRefusesInvisibleCharacters: a link that a feed could not
// carry is refused at intake, not silently dropped later.
func TestParseWebURLRefusesInvisibleCharacters(t *testing.T) {
	for _, raw := range []string{"https://example.org/?a=\u2028b", "https://example.org/\u202e", "https://example.org/\ufeff", "https://example.org/\u0085"} {
		if _, msg := domain.ParseWebURL(raw); msg == "" {
			t.Errorf("%q accepted", raw)
		}
	}
	if u, msg := domain.ParseWebURL("https://example.org/événements?q=1"); msg != "" {
		t.Errorf("a non-ASCII path refused: %s (%s)", msg, u)
	}
}
