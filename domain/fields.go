package domain

import (
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"
)

// The conference's public fields, defined once. ConferenceFields is the
// list the API's input (ConferenceDetails.Input, the JSON of a PATCH), the
// web form (FormOf, InputFromForm, FormPatch, each control's label,
// limits and error messages), editors' partial updates (ChangedFields),
// the history's field names (Value) and the feed's description (Text)
// derive from. Adding a field is its member of ConferenceDetails and
// SubmissionInput, its rule in validateDetails and its entry here; pages
// choose where they show it.
//
// Forms are url.Values keyed by control name: the web adapter reads them
// from a request and renders them into its templates, and knows nothing
// of any one field.

// ConferenceField is one public field of a conference.
type ConferenceField struct {
	// Name is the field's JSON name: in the API's input and answers, in
	// the details stored in events, in ConferenceUpdated.Changed and in the
	// history.
	Name string
	// Label is how people read it: in the feed's description, summaries
	// and pages.
	Label string
	// Controls are the controls of the form that hold it, in the form's
	// order; none: the form does not show it, and an editor's form edit
	// keeps it as it is.
	Controls []Control

	// value is the field as stored in the details: compared for Changed,
	// shown in the history.
	value func(d ConferenceDetails) any
	// input is the field as the API's input holds it (for an edit's
	// merge): value unless set.
	input func(d ConferenceDetails) any
	// text is the field for people, in plain text ("" when unset).
	text func(d ConferenceDetails) string
	// fill sets the controls from the details; read gives the input's
	// value from the controls, ok false to leave the field out of the
	// input (as a JSON client leaves out a key).
	fill func(d ConferenceDetails, f url.Values)
	read func(f url.Values) (v any, ok bool)
}

// Value is the field of d as stored, for comparisons and the history.
func (f ConferenceField) Value(d ConferenceDetails) any { return f.value(d) }

// Text is the field of d for people, in plain text; "" when it is unset.
func (f ConferenceField) Text(d ConferenceDetails) string {
	if f.text == nil {
		return ""
	}
	return f.text(d)
}

// ControlKind says how a control's values are read and kept.
type ControlKind int

const (
	// One value: a text input, a date, a time, a radio group.
	One ControlKind = iota
	// Lines: one text area, one value per non-blank line.
	Lines
	// Many: a repeated control (a group of checkboxes), one value each.
	Many
)

// Control is one control of the conference form.
type Control struct {
	// Name is the control's name in the form: start_date.
	Name string
	// Label names it in the form's error summary and in what an editor
	// had typed when an edit met a conflict.
	Label string
	Kind  ControlKind
	// Max is the most characters of a value (of a line, for Lines) a form
	// shown again keeps; MaxValues the most lines or values.
	Max, MaxValues int
	// Paths are the JSON paths of the validation errors shown next to the
	// control ("location.city"); "x[]" stands for every "x[i]".
	Paths []string
}

// ConferenceFields are the public fields of a conference, in the order of
// ConferenceDetails, which is the form's order and the history's (the
// fields the first schema lacked come where the form asks for them; unset
// in its events, they change nothing there).
var ConferenceFields = []ConferenceField{
	textField("title", "Title", MaxTitleLength, func(d ConferenceDetails) string { return d.Title }),
	{
		Name: "type", Label: "Type",
		Controls: []Control{{Name: "type", Label: "Type of event", Max: 64, Paths: []string{"type"}}},
		value:    func(d ConferenceDetails) any { return d.Type },
		text:     ConferenceDetails.TypeLabel,
		fill:     func(d ConferenceDetails, f url.Values) { f.Set("type", d.Type) },
		read:     func(f url.Values) (any, bool) { return f.Get("type"), true },
	},
	textField("description", "Description", MaxDescriptionLength, func(d ConferenceDetails) string { return d.Description }),
	{
		Name: "all_day", Label: "All-day or timed",
		Controls: []Control{{Name: "all_day", Label: "All-day or timed", Max: 16, Paths: []string{"all_day"}}},
		value:    func(d ConferenceDetails) any { return d.AllDay },
		fill: func(d ConferenceDetails, f url.Values) {
			f.Set("all_day", map[bool]string{true: "yes", false: "no"}[d.AllDay])
		},
		read: func(f url.Values) (any, bool) {
			switch f.Get("all_day") {
			case "yes":
				return true, true
			case "no":
				return false, true
			}
			return nil, false // inferred from the start, as for a JSON client
		},
	},
	{
		Name: "start", Label: "Start",
		Controls: []Control{
			{Name: "start_date", Label: "Start date", Max: 32, Paths: []string{"start"}},
			{Name: "start_time", Label: "Start time", Max: 32},
		},
		value: func(d ConferenceDetails) any { return d.Start },
		fill:  func(d ConferenceDetails, f url.Values) { fillWhen(d.Start, d.AllDay, "start", f) },
		read: func(f url.Values) (any, bool) {
			date, clock := strings.TrimSpace(f.Get("start_date")), strings.TrimSpace(f.Get("start_time"))
			if f.Get("all_day") == "no" {
				return joinDateTime(date, clock), true
			}
			return date, true
		},
	},
	{
		Name: "end", Label: "End",
		Controls: []Control{
			{Name: "end_date", Label: "End date", Max: 32, Paths: []string{"end"}},
			{Name: "end_time", Label: "End time", Max: 32},
		},
		value: func(d ConferenceDetails) any { return d.End },
		fill:  func(d ConferenceDetails, f url.Values) { fillWhen(d.End, d.AllDay, "end", f) },
		read: func(f url.Values) (any, bool) {
			date, clock := strings.TrimSpace(f.Get("end_date")), strings.TrimSpace(f.Get("end_time"))
			if f.Get("all_day") == "no" {
				if date == "" && clock != "" { // a timed conference ends on its first day unless told
					date = strings.TrimSpace(f.Get("start_date"))
				}
				return joinDateTime(date, clock), true
			}
			return date, true
		},
	},
	textField("timezone", "Time zone", 64, func(d ConferenceDetails) string { return d.Timezone }),
	{
		Name: "format", Label: "Format",
		Controls: []Control{{Name: "format", Label: "Format", Max: 32, Paths: []string{"format"}}},
		value:    func(d ConferenceDetails) any { return d.Format },
		input:    func(d ConferenceDetails) any { return string(d.Format) },
		text:     func(d ConferenceDetails) string { return d.Format.Text() },
		fill:     func(d ConferenceDetails, f url.Values) { f.Set("format", string(d.Format)) },
		read:     func(f url.Values) (any, bool) { return f.Get("format"), true },
	},
	{
		Name: "location", Label: "Where",
		Controls: []Control{
			{Name: "venue", Label: "Venue", Max: MaxNameLength, Paths: []string{"location.venue"}},
			{Name: "city", Label: "City", Max: MaxNameLength, Paths: []string{"location.city"}},
			{Name: "region", Label: "State or region", Max: MaxNameLength, Paths: []string{"location.region"}},
			{Name: "country", Label: "Country", Max: 64, Paths: []string{"location.country"}},
		},
		value: func(d ConferenceDetails) any { return d.Location },
		text:  func(d ConferenceDetails) string { return d.Place() },
		input: func(d ConferenceDetails) any {
			l := d.Location
			return &LocationInput{Venue: l.Venue, City: l.City, Region: l.Region, Country: l.Country}
		},
		fill: func(d ConferenceDetails, f url.Values) {
			l := d.Location
			f.Set("venue", l.Venue)
			f.Set("city", l.City)
			f.Set("region", l.Region)
			f.Set("country", l.Country)
		},
		read: func(f url.Values) (any, bool) {
			return &LocationInput{Venue: f.Get("venue"), City: f.Get("city"), Region: f.Get("region"), Country: f.Get("country")}, true
		},
	},
	{
		Name: "url", Label: "Website",
		Controls: []Control{{Name: "url", Label: "Website", Max: MaxURLLength, Paths: []string{"url"}}},
		value:    func(d ConferenceDetails) any { return d.URL },
		text:     func(d ConferenceDetails) string { return d.URL },
		fill:     func(d ConferenceDetails, f url.Values) { f.Set("url", d.URL) },
		read:     func(f url.Values) (any, bool) { return f.Get("url"), true },
	},
	{
		Name: "registration", Label: "Registration",
		Controls: []Control{
			{Name: "registration_url", Label: "Registration page", Max: MaxURLLength, Paths: []string{"registration.url", "registration"}},
			{Name: "registration_deadline", Label: "Registration deadline", Max: 32, Paths: []string{"registration.deadline"}},
		},
		value: func(d ConferenceDetails) any { return d.Registration },
		input: func(d ConferenceDetails) any {
			return &RegistrationInput{URL: d.Registration.URL, Deadline: d.Registration.Deadline}
		},
		text: func(d ConferenceDetails) string { return d.Registration.Text() },
		fill: func(d ConferenceDetails, f url.Values) {
			f.Set("registration_url", d.Registration.URL)
			f.Set("registration_deadline", d.Registration.Deadline)
		},
		read: func(f url.Values) (any, bool) {
			return &RegistrationInput{URL: f.Get("registration_url"), Deadline: f.Get("registration_deadline")}, true
		},
	},
	{
		Name: "cost", Label: "Cost",
		Controls: []Control{{Name: "cost", Label: "Cost", Max: MaxCostLength, Paths: []string{"cost"}}},
		value:    func(d ConferenceDetails) any { return d.Cost },
		text:     ConferenceDetails.CostText,
		fill:     func(d ConferenceDetails, f url.Values) { f.Set("cost", d.CostText()) },
		read:     func(f url.Values) (any, bool) { return f.Get("cost"), true },
	},
	textField("credits", "Continuing-education credits", MaxCreditsLength, func(d ConferenceDetails) string { return d.Credits }),
	{
		Name: "sponsors", Label: "Sponsors",
		Controls: []Control{{Name: "sponsors", Label: "Sponsors", Kind: Lines, Max: MaxNameLength, MaxValues: MaxSponsors,
			Paths: []string{"sponsors", "sponsors[]"}}},
		value: func(d ConferenceDetails) any { return d.Sponsors },
		// A linked sponsor is named by its directory id, so that the edit
		// links it again under the directory's current name.
		input: func(d ConferenceDetails) any {
			out := make([]string, 0, len(d.Sponsors))
			for _, s := range d.Sponsors {
				out = append(out, cmpOr(s.ID, s.Name))
			}
			return out
		},
		text: func(d ConferenceDetails) string {
			names := make([]string, len(d.Sponsors))
			for i, s := range d.Sponsors {
				names[i] = s.Name
			}
			return strings.Join(names, "; ")
		},
		fill: func(d ConferenceDetails, f url.Values) {
			names := make([]string, len(d.Sponsors))
			for i, s := range d.Sponsors {
				names[i] = s.Name
			}
			f.Set("sponsors", strings.Join(names, "\n"))
		},
		read: func(f url.Values) (any, bool) { return FormLines(f.Get("sponsors")), true },
	},
	{
		Name: "topics", Label: "Topics",
		Controls: []Control{{Name: "topics", Label: "Topics", Kind: Many, Max: 64, MaxValues: len(Topics), Paths: []string{"topics", "topics[]"}}},
		value:    func(d ConferenceDetails) any { return d.Topics },
		input:    func(d ConferenceDetails) any { return slices.Clone(d.Topics) },
		text: func(d ConferenceDetails) string {
			labels := make([]string, len(d.Topics))
			for i, t := range d.Topics {
				labels[i] = TopicLabel(t)
			}
			return strings.Join(labels, ", ")
		},
		fill: func(d ConferenceDetails, f url.Values) { f["topics"] = slices.Clone(d.Topics) },
		read: func(f url.Values) (any, bool) { return append([]string{}, f["topics"]...), true },
	},
}

// ContactField is the organiser's contact: part of a submission's input
// and of its form, never of the public details.
var ContactField = ConferenceField{
	Name: "contact", Label: "Contact",
	Controls: []Control{
		{Name: "contact_name", Label: "Your name", Max: MaxNameLength, Paths: []string{"contact.name"}},
		{Name: "contact_email", Label: "Your e-mail", Max: 254, Paths: []string{"contact.email", "contact"}},
	},
	read: func(f url.Values) (any, bool) {
		return &Contact{Name: f.Get("contact_name"), Email: f.Get("contact_email")}, true
	},
}

// textField is a field of one text control named like the field.
func textField(name, label string, max int, get func(ConferenceDetails) string) ConferenceField {
	return ConferenceField{
		Name: name, Label: label,
		Controls: []Control{{Name: name, Label: label, Max: max, Paths: []string{name}}},
		value:    func(d ConferenceDetails) any { return get(d) },
		text:     get,
		fill:     func(d ConferenceDetails, f url.Values) { f.Set(name, get(d)) },
		read:     func(f url.Values) (any, bool) { return f.Get(name), true },
	}
}

// fillWhen splits a stored start or end into the form's date and time:
// 2027-06-12T09:00:00 is 2027-06-12 and 09:00.
func fillWhen(s string, allDay bool, prefix string, f url.Values) {
	date, clock, _ := strings.Cut(s, "T")
	if allDay {
		date, clock = s, ""
	}
	if len(clock) == 8 && strings.HasSuffix(clock, ":00") {
		clock = clock[:5]
	}
	f.Set(prefix+"_date", date)
	f.Set(prefix+"_time", clock)
}

func joinDateTime(date, clock string) string {
	if date == "" || clock == "" {
		return date + clock
	}
	return date + "T" + clock
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// FormLines are the values of a Lines control: its non-blank lines.
func FormLines(s string) []string {
	out := []string{}
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// Field returns the public field named name.
func Field(name string) (ConferenceField, bool) {
	i := slices.IndexFunc(ConferenceFields, func(f ConferenceField) bool { return f.Name == name })
	if i < 0 {
		return ConferenceField{}, false
	}
	return ConferenceFields[i], true
}

// FormFields are the fields of a conference form: the public ones, and
// the organiser's contact when withContact (a submission).
func FormFields(withContact bool) []ConferenceField {
	if !withContact {
		return ConferenceFields
	}
	return append(slices.Clip(ConferenceFields), ContactField)
}

// FormControls are the controls of a conference form, in order.
func FormControls(withContact bool) []Control {
	var out []Control
	for _, f := range FormFields(withContact) {
		out = append(out, f.Controls...)
	}
	return out
}

// Input turns details back into the input form, so that an edit can be
// applied on top of the current values and validated with the same rules
// (every field of ConferenceFields comes back: an edit that does not name
// a field keeps it).
func (d ConferenceDetails) Input() SubmissionInput {
	m := make(map[string]any, len(ConferenceFields))
	for _, f := range ConferenceFields {
		if f.input != nil {
			m[f.Name] = f.input(d)
		} else {
			m[f.Name] = f.value(d)
		}
	}
	var in SubmissionInput
	decodeInput(m, &in)
	return in
}

// FormOf fills a form's controls from details (an editor's form): every
// field that has controls.
func FormOf(d ConferenceDetails) url.Values {
	f := url.Values{}
	for _, field := range ConferenceFields {
		if field.fill != nil {
			field.fill(d, f)
		}
	}
	return f
}

// Shown says whether a form shows a control; nil: every control.
type Shown func(control string) bool

func (s Shown) any(cs []Control) bool {
	if s == nil {
		return len(cs) > 0
	}
	return slices.ContainsFunc(cs, func(c Control) bool { return s(c.Name) })
}

// formInput is the API input a form holds, as the JSON object a client
// would send: the fields of which the form shows a control. A field the
// form does not show is left out, as a JSON client leaves out a key;
// one it shows is read even when nothing was sent for it (no box of a
// group ticked: none).
func formInput(f url.Values, withContact bool, shown Shown) map[string]any {
	m := map[string]any{}
	for _, field := range FormFields(withContact) {
		if field.read == nil || !shown.any(field.Controls) {
			continue
		}
		if v, ok := field.read(f); ok {
			m[field.Name] = v
		}
	}
	return m
}

// InputFromForm is the submission a form describes, for the same
// validation as the API's; shown are the controls the form has.
func InputFromForm(f url.Values, withContact bool, shown Shown) SubmissionInput {
	var in SubmissionInput
	decodeInput(formInput(f, withContact, shown), &in)
	return in
}

// FormPatch is an editor's form edit as a partial update (the body of a
// PATCH): every field of which the form shows a control, so the details
// become what the form shows; a field the form does not show is left out,
// and the edit keeps it.
func FormPatch(f url.Values, shown Shown) []byte {
	b, _ := json.Marshal(formInput(f, false, shown))
	return b
}

// decodeInput fills in from m through JSON, as a client's body would.
func decodeInput(m map[string]any, in *SubmissionInput) {
	b, err := json.Marshal(m)
	if err == nil {
		err = json.Unmarshal(b, in)
	}
	if err != nil {
		panic("domain: a form or details field does not fit SubmissionInput: " + err.Error())
	}
}

// ClampForm cuts what a form shows again to each control's limits, so a
// page showing a form with its errors stays small whatever was posted.
func ClampForm(f url.Values, withContact bool) url.Values {
	out := url.Values{}
	for _, c := range FormControls(withContact) {
		vs, ok := f[c.Name]
		if !ok {
			continue
		}
		switch c.Kind {
		case One:
			if len(vs) > 0 {
				out.Set(c.Name, clip(vs[0], c.Max))
			}
		case Lines:
			lines := FormLines(strings.Join(vs[:min(len(vs), 1)], ""))
			lines = lines[:min(len(lines), c.MaxValues)]
			for i, l := range lines {
				lines[i] = clip(l, c.Max)
			}
			out.Set(c.Name, strings.Join(lines, "\n"))
		case Many:
			vs = slices.Clone(vs[:min(len(vs), c.MaxValues)])
			for i, v := range vs {
				vs[i] = clip(v, c.Max)
			}
			out[c.Name] = vs
		}
	}
	return out
}

// FormValue is a control's value as compared and shown: white space at
// the ends and CR LF line ends ignored, lines joined with sep, the values
// of a repeated control sorted and joined with sep.
func FormValue(f url.Values, c Control, sep string) string {
	switch c.Kind {
	case Lines:
		return strings.Join(FormLines(f.Get(c.Name)), sep)
	case Many:
		vs := slices.Clone(f[c.Name])
		slices.Sort(vs)
		return strings.Join(vs, sep)
	}
	return strings.TrimSpace(strings.ReplaceAll(f.Get(c.Name), "\r\n", "\n"))
}

// ControlOf is the control a validation error's path is shown next to,
// and the line it names for a Lines control (sponsors[2] is line 3; -1
// for none). ok is false for a path no control shows.
func ControlOf(path string, withContact bool) (c Control, line int, ok bool) {
	base, index := path, -1
	if i := strings.IndexByte(path, '['); i > 0 && strings.HasSuffix(path, "]") {
		n := 0
		for _, r := range path[i+1 : len(path)-1] {
			if r < '0' || r > '9' {
				return Control{}, -1, false
			}
			n = n*10 + int(r-'0')
		}
		base, index = path[:i]+"[]", n
	}
	for _, c := range FormControls(withContact) {
		if slices.Contains(c.Paths, base) {
			if c.Kind != Lines {
				index = -1
			}
			return c, index, true
		}
	}
	return Control{}, -1, false
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// ChangedFields lists the names of the fields that differ, in the
// fields' order.
func ChangedFields(a, b ConferenceDetails) []string {
	var out []string
	for _, f := range ConferenceFields {
		if !reflect.DeepEqual(f.value(a), f.value(b)) {
			out = append(out, f.Name)
		}
	}
	return out
}

// Place is where the conference happens as people read it, "Venue, City,
// MD, US", or "Online" for an online one with no place: the feeds'
// LOCATION, the description's "Where" and the mails say it the same way.
func (d ConferenceDetails) Place() string {
	l := d.Location
	var parts []string
	for _, p := range []string{l.Venue, l.City, l.Region, l.Country} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if d.Format == FormatOnline && len(parts) == 0 {
		return "Online"
	}
	return strings.Join(parts, ", ")
}
