package domain

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// A toy event type in two versions: v1 stored a text, v2 adds a level
// that v1 events read as 1.
type testNote struct {
	Text  string `json:"text"`
	Level int    `json:"level"`
}

func (testNote) EventType() string { return "conference.noted.v2" }

type testNoteV1 struct {
	Text string `json:"text"`
}

// claimsV1 is an event that names the older version, as no producer may.
type claimsV1 struct{}

func (claimsV1) EventType() string { return "conference.noted.v1" }

func init() {
	register[testNote]("conference.noted.v2")
	upcast("conference.noted.v1", func(o testNoteV1) Event { return testNote{Text: o.Text, Level: 1} })
}

// TestUpcast: an event stored in an older version reads as the current
// payload, through both decoders, and still says what is stored; nothing
// can write the older version.
func TestUpcast(t *testing.T) {
	const subject = "events.conference.c1.noted"
	stored := []byte(`{"id":"e1","type":"conference.noted.v1","schema":1,"aggregate":"conference","aggregate_id":"c1",` +
		`"time":"2026-12-01T10:00:00Z","actor":"editor","data":{"text":"old"}}`)
	for name, decode := range map[string]func() (Record, error){
		"Decode":      func() (Record, error) { return Decode(7, subject, stored) },
		"DecodeTyped": func() (Record, error) { return DecodeTyped(7, subject, "conference.noted.v1", stored) },
	} {
		r, err := decode()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Event != (testNote{Text: "old", Level: 1}) || r.Type != "conference.noted.v1" || r.Schema != 1 || r.Seq != 7 || r.Actor != "editor" {
			t.Errorf("%s: %+v", name, r)
		}
	}
	// A v1 envelope is still refused under another subject.
	if _, err := Decode(7, "events.conference.c2.noted", stored); err == nil {
		t.Error("an upcast event was taken under a foreign subject")
	}
	env, err := NewEnvelope("e2", "c1", "editor", time.Now(), testNote{Text: "new", Level: 3})
	if err != nil || env.Type != "conference.noted.v2" || env.Schema != 2 || env.Subject() != subject {
		t.Fatalf("current version: %+v %v", env, err)
	}
	b, _ := json.Marshal(env)
	if r, err := Decode(8, subject, b); err != nil || r.Event != (testNote{Text: "new", Level: 3}) {
		t.Fatalf("current version read back: %+v %v", r, err)
	}
	if _, err := NewEnvelope("e3", "c1", "editor", time.Now(), claimsV1{}); err == nil || !strings.Contains(err.Error(), "unregistered") {
		t.Errorf("an older version was written: %v", err)
	}
}
