package domain_test

import (
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
)

func TestWebhookFold(t *testing.T) {
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	rec := func(seq uint64, e domain.Event) domain.Record {
		env, err := domain.NewEnvelope("e", "w1", "ed", at, e)
		if err != nil {
			t.Fatal(err)
		}
		return domain.Record{Seq: seq, Envelope: env, Event: e}
	}
	w := domain.Fold[domain.Webhook]([]domain.Record{
		rec(1, domain.WebhookPaused{Reason: "before registration: ignored"}),
		rec(2, domain.WebhookRegistered{URL: "https://p.example/h", Filter: "topic=courts", Secret: "whsec_x", After: 7}),
		rec(3, domain.WebhookRegistered{URL: "https://other.example/"}), // a second opening: ignored
		rec(4, domain.WebhookPaused{Reason: "down", Cursor: 9}),
	})
	if w.ID != "w1" || w.URL != "https://p.example/h" || w.After != 7 || w.Status != domain.WebhookStatusPaused || w.Reason != "down" || w.Version != 4 {
		t.Fatalf("%+v", w)
	}
	w.Apply(rec(5, domain.WebhookResumed{}))
	if w.Status != domain.WebhookStatusActive || w.Reason != "" {
		t.Fatalf("resumed: %+v", w)
	}
	w.Apply(rec(6, domain.WebhookRemoved{}))
	w.Apply(rec(7, domain.WebhookResumed{}))
	if w.Status != domain.WebhookStatusRemoved {
		t.Fatalf("removed is final: %+v", w)
	}
}

func TestValidateWebhookURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://partner.example/hooks": true, "http://p.example:8080/h?x=1": true,
		"": false, "ftp://p.example/": false, "/relative": false, "https://user:pw@p.example/": false,
		"https://p.example/#frag": false, "https:///nohost": false, "javascript:alert(1)": false,
	} {
		if _, err := domain.ValidateWebhookURL(raw); (err == nil) != ok {
			t.Errorf("%q: accepted %v, want %v (%v)", raw, err == nil, ok, err)
		}
	}
}
