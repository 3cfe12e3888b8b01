package web

import (
	"net/url"
	"testing"

	"github.com/justiceevents/jevents/domain"
)

// TestFormShowsEveryField: the conference form's template has a control
// for every control the domain lists (a field added to the domain without
// its place in form.html fails here; until then an editor's form edit
// keeps it, since the form does not show it), and nothing else is taken
// for one.
func TestFormShowsEveryField(t *testing.T) {
	pub, _ := url.Parse("https://events.example")
	s, err := New(Config{PublicURL: pub}, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range domain.FormControls(true) {
		if !s.shown(c.Name) {
			t.Errorf("form.html has no control %q", c.Name)
		}
	}
	for _, name := range []string{"csrf", "idem", "leave_empty", "nothing"} {
		if s.shown(name) {
			t.Errorf("%q is taken for a conference control", name)
		}
	}
}
