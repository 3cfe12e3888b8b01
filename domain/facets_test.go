package domain_test

import (
	"slices"
	"testing"

	"github.com/justiceevents/jevents/domain"
)

// TestFacets: every facet finds each of its terms by value and by label
// (as people type them), a feed's path names a term by its value only, and
// a conference has the terms its details name.
func TestFacets(t *testing.T) {
	params := map[string]bool{}
	for _, f := range domain.Facets {
		if f.Param == "" || f.Path == "" || f.Label == "" || f.Unknown == "" || len(f.Terms) == 0 || params[f.Param] {
			t.Fatalf("facet %+v is incomplete or repeated", f.Param)
		}
		params[f.Param] = true
		if f.Control != "" && !slices.ContainsFunc(domain.FormControls(false), func(c domain.Control) bool { return c.Name == f.Control }) {
			t.Errorf("facet %s offers its terms in %q, which is no control of the form", f.Param, f.Control)
		}
		if got, ok := domain.FacetByParam(f.Param); !ok || got.Param != f.Param {
			t.Errorf("FacetByParam(%q)", f.Param)
		}
		for _, term := range f.Terms {
			for _, typed := range []string{term.Value, term.Label, "  " + term.Label + " "} {
				if got, ok := f.Lookup(typed); !ok || got != term {
					t.Errorf("%s: Lookup(%q) = %v, %v", f.Param, typed, got, ok)
				}
			}
			if got, ok := f.FromPath(term.Value); !ok || got != term {
				t.Errorf("%s: FromPath(%q) = %v, %v", f.Param, term.Value, got, ok)
			}
			if term.Label != term.Value {
				if _, ok := f.FromPath(term.Label); ok {
					t.Errorf("%s: a path names %q by its label", f.Param, term.Label)
				}
			}
			if f.TermLabel(term.Value) != term.Label {
				t.Errorf("%s: TermLabel(%q)", f.Param, term.Value)
			}
		}
		if _, ok := f.Lookup("no such term"); ok {
			t.Errorf("%s found a term that is not one", f.Param)
		}
	}
	topic, _ := domain.FacetByParam("topic")
	region, _ := domain.FacetByParam("region")
	country, _ := domain.FacetByParam("country")
	d := domain.ConferenceDetails{Topics: []string{"courts", "reentry"}, Location: domain.Location{Region: "MD", Country: "US"}}
	if !topic.HasAny(d, []string{"cybercrime", "reentry"}) || topic.Has(d, "cybercrime") || !region.Has(d, "MD") || region.Has(d, "NY") ||
		!country.Has(d, "US") || country.Has(d, "MD") {
		t.Error("Has is wrong")
	}
	// A region outside the US is no US state, whatever it is called.
	abroad := domain.ConferenceDetails{Location: domain.Location{City: "Chișinău", Region: "MD", Country: "MD"}}
	if region.Has(abroad, "MD") || !country.Has(abroad, "MD") {
		t.Error("a region of Moldova counts as Maryland")
	}
	if _, ok := country.FromPath("de"); !ok {
		t.Error("a country's code in lower case is its feed's path too")
	}
	if _, ok := region.FromPath("md"); !ok {
		t.Error("a region's code in lower case is its feed's path too")
	}
	if _, ok := topic.FromPath("Courts"); ok {
		t.Error("a topic's slug is case-sensitive in a path")
	}
}
