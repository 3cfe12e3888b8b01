package domain

import (
	"fmt"
	"slices"
	"strings"
)

// Topic is one entry of the controlled vocabulary shared by conferences and
// the resource directory. Slug is stored in events and used in URLs; Label is
// what people read (and may contain a comma).
type Topic struct {
	Slug  string `json:"slug"`
	Label string `json:"label"`
}

// Topics is the controlled vocabulary, in display order. Slugs never change
// once events use them; labels may.
var Topics = []Topic{
	{"corrections", "Corrections"},
	{"courts", "Courts"},
	{"crime-prevention", "Crime Prevention"},
	{"cybercrime", "Cybercrime"},
	{"domestic-violence", "Domestic Violence"},
	{"drugs-and-crime", "Drugs, Alcohol and Crime"},
	{"forensic-science", "Forensic Science"},
	{"juvenile-justice", "Juvenile Justice"},
	{"law-enforcement", "Law Enforcement"},
	{"reentry", "Reentry"},
	{"research-and-statistics", "Research and Statistics"},
	{"terrorism", "Terrorism"},
	{"trafficking-in-persons", "Trafficking in Persons"},
	{"tribal-justice", "Tribal Justice"},
	{"victims-of-crime", "Victims of Crime"},
}

var topicBySlug, topicByLabel = func() (map[string]Topic, map[string]Topic) {
	s, l := map[string]Topic{}, map[string]Topic{}
	for _, t := range Topics {
		s[t.Slug] = t
		l[strings.ToLower(t.Label)] = t
	}
	return s, l
}()

// LookupTopic finds a topic by slug or label, case-insensitively.
func LookupTopic(s string) (Topic, bool) {
	k := strings.ToLower(strings.TrimSpace(s))
	if t, ok := topicBySlug[k]; ok {
		return t, true
	}
	t, ok := topicByLabel[k]
	return t, ok
}

// validateTopics checks the topics of a conference or a resource: at least
// one, at most MaxTopics, each from the vocabulary (by slug or label). It
// returns their slugs without repeats, in the order given, or nil for none.
func validateTopics(in []string, errs *ValidationError) []string {
	if len(in) == 0 {
		errs.Add("topics", "required", "must name at least one topic")
	}
	if len(in) > MaxTopics {
		errs.Add("topics", "too_many", "must name at most %d topics", MaxTopics)
	}
	var out []string
	for i, s := range in {
		t, ok := LookupTopic(s)
		if !ok {
			errs.Add(fmt.Sprintf("topics[%d]", i), "unknown", "is not a topic of the calendar")
			continue
		}
		if !slices.Contains(out, t.Slug) {
			out = append(out, t.Slug)
		}
	}
	return out
}

// TopicLabel is the label of a slug, or the slug itself when unknown.
func TopicLabel(slug string) string {
	if t, ok := topicBySlug[slug]; ok {
		return t.Label
	}
	return slug
}

// Region is a US state, district or territory by its USPS code.
type Region struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Regions lists the US states, DC and the inhabited territories.
var Regions = []Region{
	{"AL", "Alabama"}, {"AK", "Alaska"}, {"AZ", "Arizona"}, {"AR", "Arkansas"},
	{"CA", "California"}, {"CO", "Colorado"}, {"CT", "Connecticut"}, {"DE", "Delaware"},
	{"DC", "District of Columbia"}, {"FL", "Florida"}, {"GA", "Georgia"}, {"HI", "Hawaii"},
	{"ID", "Idaho"}, {"IL", "Illinois"}, {"IN", "Indiana"}, {"IA", "Iowa"},
	{"KS", "Kansas"}, {"KY", "Kentucky"}, {"LA", "Louisiana"}, {"ME", "Maine"},
	{"MD", "Maryland"}, {"MA", "Massachusetts"}, {"MI", "Michigan"}, {"MN", "Minnesota"},
	{"MS", "Mississippi"}, {"MO", "Missouri"}, {"MT", "Montana"}, {"NE", "Nebraska"},
	{"NV", "Nevada"}, {"NH", "New Hampshire"}, {"NJ", "New Jersey"}, {"NM", "New Mexico"},
	{"NY", "New York"}, {"NC", "North Carolina"}, {"ND", "North Dakota"}, {"OH", "Ohio"},
	{"OK", "Oklahoma"}, {"OR", "Oregon"}, {"PA", "Pennsylvania"}, {"RI", "Rhode Island"},
	{"SC", "South Carolina"}, {"SD", "South Dakota"}, {"TN", "Tennessee"}, {"TX", "Texas"},
	{"UT", "Utah"}, {"VT", "Vermont"}, {"VA", "Virginia"}, {"WA", "Washington"},
	{"WV", "West Virginia"}, {"WI", "Wisconsin"}, {"WY", "Wyoming"},
	{"AS", "American Samoa"}, {"GU", "Guam"}, {"MP", "Northern Mariana Islands"},
	{"PR", "Puerto Rico"}, {"VI", "U.S. Virgin Islands"},
}

var regionByCode, regionByName = func() (map[string]Region, map[string]Region) {
	c, n := map[string]Region{}, map[string]Region{}
	for _, r := range Regions {
		c[r.Code] = r
		n[strings.ToLower(r.Name)] = r
	}
	return c, n
}()

// LookupRegion finds a region by USPS code or name, case-insensitively.
func LookupRegion(s string) (Region, bool) {
	k := strings.TrimSpace(s)
	if r, ok := regionByCode[strings.ToUpper(k)]; ok {
		return r, true
	}
	r, ok := regionByName[strings.ToLower(k)]
	return r, ok
}

// Format says how people attend a conference.
type Format string

const (
	FormatInPerson Format = "in_person"
	FormatOnline   Format = "online"
	FormatHybrid   Format = "hybrid"
)

// ParseFormat accepts the stored form and the common spellings people type.
func ParseFormat(s string) (Format, bool) {
	switch strings.ToLower(strings.NewReplacer("-", "_", " ", "_").Replace(strings.TrimSpace(s))) {
	case "in_person", "inperson", "onsite", "on_site":
		return FormatInPerson, true
	case "online", "virtual":
		return FormatOnline, true
	case "hybrid":
		return FormatHybrid, true
	}
	return "", false
}

// Text says how people attend, in plain text: "in person", "online",
// "hybrid (in person and online)".
func (f Format) Text() string {
	switch f {
	case FormatInPerson:
		return "in person"
	case FormatOnline:
		return "online"
	case FormatHybrid:
		return "hybrid (in person and online)"
	}
	return string(f)
}

// ConferenceType is what kind of event a conference is, as the legacy
// NCJRS calendar records it and people filter on it. Slug is stored in
// events and used in URLs (/calendar/types/training.ics); Label is what
// people read.
type ConferenceType struct {
	Slug  string `json:"slug"`
	Label string `json:"label"`
}

// ConferenceTypes is the vocabulary of event types, in display order.
// Slugs never change once events use them; labels may.
var ConferenceTypes = []ConferenceType{
	{"conference", "Conference"},
	{"training", "Training"},
	{"webinar", "Webinar"},
	{"meeting", "Meeting"},
	{"awareness-event", "Awareness event"},
	{"hearing", "Hearing or listening session"},
}

// LookupConferenceType finds an event type by slug or label,
// case-insensitively.
func LookupConferenceType(s string) (ConferenceType, bool) {
	k := strings.ToLower(strings.TrimSpace(s))
	for _, t := range ConferenceTypes {
		if k == t.Slug || k == strings.ToLower(t.Label) {
			return t, true
		}
	}
	return ConferenceType{}, false
}
