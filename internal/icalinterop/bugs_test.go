package icalinterop

import (
	"strings"
	"testing"
)

// TestBugModels: the models of the parsers' known bugs, on hand-worked
// examples (the interop tests check them against the parsers themselves).
func TestBugModels(t *testing.T) {
	bug := func(parser, field string) KnownBug {
		for _, b := range KnownBugs {
			if b.Parser == parser && b.Field == field {
				return b
			}
		}
		t.Fatalf("no model for %s %s", parser, field)
		return KnownBug{}
	}
	list := func(s ...string) string { return strings.Join(s, listSep) }
	for _, tt := range []struct {
		parser, field, want, wrong string
	}{
		// python-icalendar: a typed \n becomes a line break, \, and \; lose
		// their backslash; a category with a comma is split.
		{"python-icalendar", "summary", `typed \n, \N; \, \;`, "typed \n, \n; , ;"},
		{"python-icalendar", "summary", "plain, text; fine", "plain, text; fine"},
		{"python-icalendar", "categories", list("Drugs, Alcohol and Crime", "Courts"), list("Drugs", " Alcohol and Crime", "Courts")},
		// ical.js: a value ending in a backslash swallows the next.
		{"ical.js", "categories", list(`ends \`, "next", "Law, Order"), list(`ends \,next`, "Law, Order")},
		{"ical.js", "categories", list("Law, Order", "Courts"), list("Law, Order", "Courts")},
		{"ical.js", "name", "a\nb; c", `a\nb\; c`},
		// libical: white space trimmed; quotes and backslashes join values.
		{"libical", "summary", "  spaced  ", "spaced"},
		{"libical", "categories", list(`say "hi`, "there", `"`, "x"), list(`say "hi,there,"`, "x")},
		{"libical", "categories", list(`ends \`, "next"), list(`ends \,next`)},
		{"libical", "categories", list("Drugs, Alcohol and Crime", "Courts"), list("Drugs, Alcohol and Crime", "Courts")},
	} {
		if got := bug(tt.parser, tt.field).Wrong(tt.want); got != tt.wrong {
			t.Errorf("%s %s of %q:\n got %q\nwant %q", tt.parser, tt.field, tt.want, got, tt.wrong)
		}
	}
}
