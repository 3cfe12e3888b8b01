package domain

import (
	"slices"
	"strings"
)

// Facet is a controlled vocabulary conferences are selected by: each has
// a feed per value (/calendar/<Path>/<value>.ics), a query parameter
// (?<Param>=, OR within a facet, AND across facets) on every feed, the
// read API and the calendar's pages, and a group of boxes in the pages'
// filter form. Facets lists them; feeds and pages iterate it, so a new
// vocabulary is one entry here.
type Facet struct {
	// Param is the query parameter: topic.
	Param string
	// Path is the feeds' folder: topics (/calendar/topics/courts.ics).
	Path string
	// Label names the facet on pages: Topics.
	Label string
	// Unknown ends the message for a value that is no term: "is not a
	// topic of the calendar".
	Unknown string
	// Terms are the vocabulary, in display order.
	Terms []Term
	// FoldCase: a feed's path may name a term in any case (regions' codes:
	// md.ics is MD.ics).
	FoldCase bool
	// Control is the conference form's control that offers the terms as
	// choices (a box or a button each); "" when the form asks for the value
	// otherwise (a region is typed).
	Control string
	// Sparse: the vocabulary is long (every country), and the pages'
	// filter form offers only the terms some conference of the calendar
	// has, and those chosen.
	Sparse bool

	lookup func(s string) (Term, bool)
	has    func(d ConferenceDetails, value string) bool
}

// Term is one value of a facet: Value is stored and used in URLs, Label
// is what people read.
type Term struct {
	Value, Label string
}

// Lookup finds a term by its value or its label, as people type them.
func (f Facet) Lookup(s string) (Term, bool) { return f.lookup(s) }

// FromPath finds the term a feed's path names: its value exactly (in any
// case when FoldCase); not its label.
func (f Facet) FromPath(s string) (Term, bool) {
	t, ok := f.lookup(s)
	if !ok || !(t.Value == s || f.FoldCase && strings.EqualFold(t.Value, s)) {
		return Term{}, false
	}
	return t, true
}

// Has reports whether the conference has the term value.
func (f Facet) Has(d ConferenceDetails, value string) bool { return f.has(d, value) }

// HasAny reports whether the conference has one of the values.
func (f Facet) HasAny(d ConferenceDetails, values []string) bool {
	return slices.ContainsFunc(values, func(v string) bool { return f.has(d, v) })
}

// TermLabel is the label of a value, or the value itself when unknown.
func (f Facet) TermLabel(value string) string {
	if t, ok := f.lookup(value); ok {
		return t.Label
	}
	return value
}

// Facets are the vocabularies conferences are selected by, in the order
// pages and feed names show them.
var Facets = []Facet{
	{
		Param: "topic", Path: "topics", Label: "Topics", Unknown: "is not a topic of the calendar", Control: "topics",
		Terms: termsOf(Topics, func(t Topic) Term { return Term{t.Slug, t.Label} }),
		lookup: func(s string) (Term, bool) {
			t, ok := LookupTopic(s)
			return Term{t.Slug, t.Label}, ok
		},
		has: func(d ConferenceDetails, v string) bool { return slices.Contains(d.Topics, v) },
	},
	{
		Param: "region", Path: "regions", Label: "States", Unknown: "is not a US state, DC or territory", FoldCase: true,
		Terms: termsOf(Regions, func(r Region) Term { return Term{r.Code, r.Name} }),
		lookup: func(s string) (Term, bool) {
			r, ok := LookupRegion(s)
			return Term{r.Code, r.Name}, ok
		},
		// A region is a US state only in the US: elsewhere it is free text.
		has: func(d ConferenceDetails, v string) bool { return d.Location.Country == "US" && d.Location.Region == v },
	},
	{
		Param: "country", Path: "countries", Label: "Countries",
		Unknown: "is not a country: an ISO 3166-1 code such as DE, or a name such as Germany", FoldCase: true, Sparse: true,
		Terms: termsOf(Countries, func(c Country) Term { return Term{c.Code, c.Name} }),
		lookup: func(s string) (Term, bool) {
			c, ok := LookupCountry(s)
			return Term{c.Code, c.Name}, ok
		},
		has: func(d ConferenceDetails, v string) bool { return d.Location.Country == v },
	},
	{
		Param: "type", Path: "types", Label: "Types of event", Unknown: "is not a type of event of the calendar", Control: "type",
		Terms: termsOf(ConferenceTypes, func(t ConferenceType) Term { return Term{t.Slug, t.Label} }),
		lookup: func(s string) (Term, bool) {
			t, ok := LookupConferenceType(s)
			return Term{t.Slug, t.Label}, ok
		},
		has: func(d ConferenceDetails, v string) bool { return d.Type == v },
	},
}

func termsOf[T any](list []T, term func(T) Term) []Term {
	out := make([]Term, len(list))
	for i, x := range list {
		out[i] = term(x)
	}
	return out
}

// FacetByParam returns the facet of a query parameter.
func FacetByParam(param string) (Facet, bool) {
	i := slices.IndexFunc(Facets, func(f Facet) bool { return f.Param == param })
	if i < 0 {
		return Facet{}, false
	}
	return Facets[i], true
}
