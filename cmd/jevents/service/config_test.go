package service_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/cmd/jevents/service"
	"github.com/justiceevents/jevents/internal/admission"
)

// TestValidateFillsTheDefaults: a Config with nothing set but its data
// directory is, once validated, Defaults() (which the flags show), but for
// the two documented differences and what derives from other fields.
func TestValidateFillsTheDefaults(t *testing.T) {
	c := service.Config{DataDir: "/tmp/jevents-defaults", EditorToken: "defaults-test-Wq4Zx9Kr2Vm7Pt3Lb8Nc5Hj"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := service.Defaults()
	want.DataDir = c.DataDir                       // no default: chosen by the caller
	want.MetricsListen = "127.0.0.1:0"             // the zero value's own
	want.EditorToken = c.EditorToken               // given
	want.Replicas = 1                              // embedded
	want.PublicURL = "http://" + want.HTTP         // from --http
	want.Intake = admission.Config{}               // admission's own defaults:
	if err := want.Intake.Validate(); err != nil { // the same Validate fills them
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("validated zero config:\n%+v\nwant:\n%+v", c, want)
	}
	// A value given is kept.
	c = service.Config{DataDir: "d", HTTP: "127.0.0.1:9", FeedWindow: 48 * time.Hour, EditorToken: want.EditorToken}
	if err := c.Validate(); err != nil || c.HTTP != "127.0.0.1:9" || c.FeedWindow != 48*time.Hour {
		t.Fatalf("given values: %+v %v", c, err)
	}
}

// TestFeedWindow: past conferences stay a year by default; a window under
// a day, which would drop a conference from subscribers' calendars before
// their apps refreshed, is refused.
func TestFeedWindow(t *testing.T) {
	if got := service.Defaults().FeedWindow; got != 365*24*time.Hour {
		t.Fatalf("default feed window %v, want a year", got)
	}
	c := service.Config{DataDir: "d", FeedWindow: time.Hour}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--feed-window") {
		t.Fatalf("a one-hour window: %v", err)
	}
}
