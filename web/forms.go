package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/justiceevents/jevents/domain"
)

// maxFormBytes bounds a posted form: a description of 10,000 characters
// of four UTF-8 bytes each, percent-encoded, and the rest.
const maxFormBytes = 256 << 10

// conferenceForm is the conference form as typed, by control name: the
// organiser's submission, or an editor's edit (without the contact). Values
// are kept as typed, so a form shown again with its errors holds what was
// typed. Which controls there are, their labels and limits, and how they
// map to the API's fields are the domain's (domain.ConferenceFields);
// the templates place the controls (form.html), and this file adds only
// the choices of the facets (domain.Facets) and the suggested time zones.
type conferenceForm struct {
	v url.Values
}

// Get is the value of a control ("" when absent), for the templates.
func (f conferenceForm) Get(name string) string { return f.v.Get(name) }

// readForm reads the conference controls of a parsed form.
func readForm(r *http.Request, withContact bool) conferenceForm {
	v := url.Values{}
	for _, c := range domain.FormControls(withContact) {
		if vs, ok := r.PostForm[c.Name]; ok {
			v[c.Name] = vs
		}
	}
	return conferenceForm{v}
}

// clamp cuts what a form shows again to each control's limit, so that a
// page showing a form with its errors stays under MaxPageBytes whatever
// was posted; the messages say what was too long.
func (f conferenceForm) clamp(withContact bool) conferenceForm {
	return conferenceForm{domain.ClampForm(f.v, withContact)}
}

// input is the submission the form describes, for the same validation as
// the API's; shown are the controls the form has.
func (f conferenceForm) input(shown domain.Shown, withContact bool) domain.SubmissionInput {
	return domain.InputFromForm(f.v, withContact, shown)
}

// patch is an editor's edit as moderation.Edit takes it: every field the
// form shows, so the details become what the form shows; a field the form
// does not show is not in it, and the edit keeps it.
func (f conferenceForm) patch(shown domain.Shown) []byte { return domain.FormPatch(f.v, shown) }

// formControls are the controls the conference form's template has (a
// name="…" of the conference-fields template): the fields whose controls
// it has are read from a post; the others are left out, so that an
// editor's edit keeps a field the form does not show.
func formControls(t *template.Template) domain.Shown {
	names := map[string]bool{}
	if ft := t.Lookup("conference-fields"); ft != nil && ft.Tree != nil {
		for _, m := range controlName.FindAllStringSubmatch(ft.Tree.Root.String(), -1) {
			names[m[1]] = true
		}
	}
	return func(c string) bool { return names[c] }
}

var controlName = regexp.MustCompile(`name="([a-z_]+)"`)

// formOf fills the form from a conference's details, with its sponsors
// under the names shown.
func formOf(d domain.ConferenceDetails, sponsorName func(domain.Sponsor) string) conferenceForm {
	d.Sponsors = slices.Clone(d.Sponsors)
	for i, sp := range d.Sponsors {
		d.Sponsors[i].Name = sponsorName(sp)
	}
	return conferenceForm{domain.FormOf(d)}
}

// differences lists the controls where two editors' forms differ, by
// label.
func differences(a, b conferenceForm) []string {
	var out []string
	for _, c := range domain.FormControls(false) {
		if domain.FormValue(a.v, c, "\n") != domain.FormValue(b.v, c, "\n") {
			out = append(out, c.Label)
		}
	}
	return out
}

// typed gives each control's value by its label, as an editor typed it
// (shown when an edit met a conflict).
func (f conferenceForm) typed() map[string]string {
	m := map[string]string{}
	for _, c := range domain.FormControls(false) {
		m[c.Label] = domain.FormValue(f.v, c, "; ")
	}
	return m
}

// fieldOf maps a validation error's JSON path to the control it is shown
// next to, and says which line of a text area it is about.
func fieldOf(path string) (field, prefix string) {
	c, line, ok := domain.ControlOf(path, true)
	if !ok {
		return "", ""
	}
	if line >= 0 {
		return c.Name, fmt.Sprintf("Line %d: ", line+1)
	}
	return c.Name, ""
}

// fieldErrors are the messages shown next to each field, by field name.
type fieldErrors map[string][]string

// summaryItem is one line of the error summary at the top of a form,
// linking to its field.
type summaryItem struct {
	Field, Label, Message string
}

// validationErrors turns a ValidationError into messages next to the
// fields and a summary with the first message of each field, in the
// form's order. Sponsor lines with the same fault share one message.
func validationErrors(ve *domain.ValidationError) (fieldErrors, []summaryItem) {
	errs := fieldErrors{}
	var lines []int
	var lineMsg []string
	for _, fe := range ve.Fields {
		field, prefix := fieldOf(fe.Field)
		if field == "" {
			field = "title"
			prefix = fe.Field + ": "
		}
		if strings.HasPrefix(prefix, "Line ") {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(prefix, "Line "), ": "))
			lines, lineMsg = append(lines, n), append(lineMsg, sentence(fe.Message))
			continue
		}
		errs[field] = append(errs[field], prefix+sentence(fe.Message))
	}
	// "Lines 2, 3 and 5: Must be at most 200 characters."
	done := map[int]bool{}
	for i, msg := range lineMsg {
		if done[i] {
			continue
		}
		var same []string
		for j := i; j < len(lineMsg); j++ {
			if !done[j] && lineMsg[j] == msg {
				done[j] = true
				same = append(same, strconv.Itoa(lines[j]))
			}
		}
		label := "Line " + same[0]
		if len(same) > 1 {
			label = "Lines " + strings.Join(same[:len(same)-1], ", ") + " and " + same[len(same)-1]
		}
		errs["sponsors"] = append(errs["sponsors"], label+": "+strings.TrimSuffix(strings.SplitN(msg, " (got", 2)[0], ".")+".")
	}
	var sum []summaryItem
	for _, c := range domain.FormControls(true) {
		if msgs := errs[c.Name]; len(msgs) > 0 {
			msg, _ := cut(msgs[0], 100)
			sum = append(sum, summaryItem{Field: c.Name, Label: c.Label, Message: msg})
		}
	}
	return errs, sum
}

// sentence turns "is required" into "Is required.".
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// fieldsView is what the form partial renders.
type fieldsView struct {
	F       conferenceForm
	Errors  fieldErrors
	Contact bool // the organiser's contact fields (submissions only)
	// Choices are the terms of each facet the form offers as choices
	// (domain.Facet.Control), by the facet's parameter: "topic".
	Choices map[string][]option
	Zones   []string
	// Max is each text control's maxlength, by name: the field list's
	// limit (domain.Control.Max), the one the API enforces.
	Max map[string]int
}

// commonZones are suggested in the time zone field; any IANA zone is
// accepted.
var commonZones = []string{
	"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
	"America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico", "Pacific/Guam", "Pacific/Pago_Pago",
	"America/Toronto", "America/Vancouver", "Europe/London", "Europe/Paris", "UTC",
}

func newFieldsView(f conferenceForm, errs fieldErrors, contact bool) fieldsView {
	v := fieldsView{F: f.clamp(contact), Errors: errs, Contact: contact, Zones: commonZones, Choices: map[string][]option{}, Max: map[string]int{}}
	for _, c := range domain.FormControls(contact) {
		v.Max[c.Name] = c.Max
	}
	for _, facet := range domain.Facets {
		if facet.Control == "" {
			continue
		}
		chosen := map[string]bool{}
		for _, x := range f.v[facet.Control] {
			if t, ok := facet.Lookup(x); ok {
				chosen[t.Value] = true
			}
		}
		for _, t := range facet.Terms {
			v.Choices[facet.Param] = append(v.Choices[facet.Param], option{Value: t.Value, Label: t.Label, Checked: chosen[t.Value]})
		}
	}
	return v
}
