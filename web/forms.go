package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/justiceevents/jevents/domain"
)

// maxFormBytes bounds a posted form: a description of 10,000 characters
// of four UTF-8 bytes each, percent-encoded, and the rest.
const maxFormBytes = 256 << 10

// conferenceForm is the conference form as typed: the organiser's
// submission, or an editor's edit (without the contact). Values are kept as
// typed, so a form shown again with its errors holds what was typed.
type conferenceForm struct {
	Title, Description string
	AllDay             string // "yes" (dates only) or "no" (start and end times)
	StartDate          string
	StartTime          string
	EndDate            string
	EndTime            string
	Timezone           string
	Format             string
	Venue, City        string
	Region, Country    string
	URL                string
	Sponsors           string // one per line
	Topics             []string
	ContactName        string
	ContactEmail       string
}

// readForm reads the conference fields of a parsed form.
func readForm(r *http.Request) conferenceForm {
	v := r.PostForm
	return conferenceForm{
		Title: v.Get("title"), Description: v.Get("description"),
		AllDay:    v.Get("all_day"),
		StartDate: v.Get("start_date"), StartTime: v.Get("start_time"),
		EndDate: v.Get("end_date"), EndTime: v.Get("end_time"),
		Timezone: v.Get("timezone"), Format: v.Get("format"),
		Venue: v.Get("venue"), City: v.Get("city"), Region: v.Get("region"), Country: v.Get("country"),
		URL: v.Get("url"), Sponsors: v.Get("sponsors"), Topics: v["topics"],
		ContactName: v.Get("contact_name"), ContactEmail: v.Get("contact_email"),
	}
}

// clamp cuts what a form shows again to each field's limit, so that a page
// showing a form with its errors stays under MaxPageBytes whatever was
// posted; the messages say what was too long.
func (f conferenceForm) clamp() conferenceForm {
	c := func(s string, n int) string {
		if utf8.RuneCountInString(s) <= n {
			return s
		}
		return string([]rune(s)[:n])
	}
	f.Title = c(f.Title, domain.MaxTitleLength)
	f.Description = c(f.Description, domain.MaxDescriptionLength)
	f.AllDay, f.Format = c(f.AllDay, 16), c(f.Format, 32)
	f.StartDate, f.StartTime, f.EndDate, f.EndTime = c(f.StartDate, 32), c(f.StartTime, 32), c(f.EndDate, 32), c(f.EndTime, 32)
	f.Timezone, f.Country = c(f.Timezone, 64), c(f.Country, 64)
	f.Venue, f.City, f.Region = c(f.Venue, domain.MaxNameLength), c(f.City, domain.MaxNameLength), c(f.Region, domain.MaxNameLength)
	f.URL = c(f.URL, domain.MaxURLLength)
	f.ContactName, f.ContactEmail = c(f.ContactName, domain.MaxNameLength), c(f.ContactEmail, 254)
	lines := f.sponsorLines()
	if len(lines) > domain.MaxSponsors {
		lines = lines[:domain.MaxSponsors]
	}
	for i, l := range lines {
		lines[i] = c(l, domain.MaxNameLength)
	}
	f.Sponsors = strings.Join(lines, "\n")
	if len(f.Topics) > len(domain.Topics) {
		f.Topics = f.Topics[:len(domain.Topics)]
	}
	return f
}

// sponsorLines are the sponsors typed, one per non-blank line.
func (f conferenceForm) sponsorLines() []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(f.Sponsors, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// when maps the date and time fields to the API's start and end: dates
// for an all-day conference; local date-times for a timed one, whose end
// date defaults to its start date.
func (f conferenceForm) when() (allDay *bool, start, end string) {
	sd, st := strings.TrimSpace(f.StartDate), strings.TrimSpace(f.StartTime)
	ed, et := strings.TrimSpace(f.EndDate), strings.TrimSpace(f.EndTime)
	switch f.AllDay {
	case "yes":
		return new(true), sd, ed
	case "no":
		if ed == "" && et != "" {
			ed = sd
		}
		return new(false), joinDateTime(sd, st), joinDateTime(ed, et)
	}
	return nil, sd, ed
}

func joinDateTime(d, t string) string {
	if d == "" || t == "" {
		return d + t
	}
	return d + "T" + t
}

// input is the submission the form describes, for the same validation as
// the API's.
func (f conferenceForm) input(withContact bool) domain.SubmissionInput {
	allDay, start, end := f.when()
	in := domain.SubmissionInput{
		Title: f.Title, Description: f.Description, Start: start, End: end, AllDay: allDay,
		Timezone: f.Timezone, Format: f.Format, URL: f.URL,
		Location: &domain.LocationInput{Venue: f.Venue, City: f.City, Region: f.Region, Country: f.Country},
		Sponsors: f.sponsorLines(), Topics: f.Topics,
	}
	if in.Sponsors == nil {
		in.Sponsors = []string{}
	}
	if in.Topics == nil {
		in.Topics = []string{}
	}
	if withContact {
		in.Contact = &domain.Contact{Name: f.ContactName, Email: f.ContactEmail}
	}
	return in
}

// patch is an editor's edit as moderation.Edit takes it: every public
// field, so the details become what the form shows.
func (f conferenceForm) patch() []byte {
	in := f.input(false)
	b, _ := json.Marshal(struct {
		Title       string                `json:"title"`
		Description string                `json:"description"`
		Start       string                `json:"start"`
		End         string                `json:"end"`
		AllDay      *bool                 `json:"all_day,omitempty"`
		Timezone    string                `json:"timezone"`
		Location    *domain.LocationInput `json:"location"`
		Format      string                `json:"format"`
		URL         string                `json:"url"`
		Sponsors    []string              `json:"sponsors"`
		Topics      []string              `json:"topics"`
	}{in.Title, in.Description, in.Start, in.End, in.AllDay, in.Timezone, in.Location, in.Format, in.URL, in.Sponsors, in.Topics})
	return b
}

// formOf fills the form from a conference's details, with its sponsors
// under the names shown.
func formOf(d domain.ConferenceDetails, sponsorName func(domain.Sponsor) string) conferenceForm {
	f := conferenceForm{Title: d.Title, Description: d.Description, Timezone: d.Timezone, Format: string(d.Format),
		Venue: d.Location.Venue, City: d.Location.City, Region: d.Location.Region, Country: d.Location.Country,
		URL: d.URL, Topics: slices.Clone(d.Topics)}
	if d.AllDay {
		f.AllDay, f.StartDate, f.EndDate = "yes", d.Start, d.End
	} else {
		f.AllDay = "no"
		f.StartDate, f.StartTime = splitLocal(d.Start)
		f.EndDate, f.EndTime = splitLocal(d.End)
	}
	names := make([]string, len(d.Sponsors))
	for i, sp := range d.Sponsors {
		names[i] = sponsorName(sp)
	}
	f.Sponsors = strings.Join(names, "\n")
	return f
}

// splitLocal splits 2027-06-12T09:00:00 into 2027-06-12 and 09:00.
func splitLocal(s string) (string, string) {
	d, t, _ := strings.Cut(s, "T")
	if len(t) == 8 && strings.HasSuffix(t, ":00") {
		t = t[:5]
	}
	return d, t
}

// differences lists the fields where two forms differ, by label.
func differences(a, b conferenceForm) []string {
	var out []string
	add := func(label string, x, y string) {
		if strings.TrimSpace(strings.ReplaceAll(x, "\r\n", "\n")) != strings.TrimSpace(strings.ReplaceAll(y, "\r\n", "\n")) {
			out = append(out, label)
		}
	}
	add("Title", a.Title, b.Title)
	add("Description", a.Description, b.Description)
	add("All-day or timed", a.AllDay, b.AllDay)
	add("Start date", a.StartDate, b.StartDate)
	add("Start time", a.StartTime, b.StartTime)
	add("End date", a.EndDate, b.EndDate)
	add("End time", a.EndTime, b.EndTime)
	add("Time zone", a.Timezone, b.Timezone)
	add("Format", a.Format, b.Format)
	add("Venue", a.Venue, b.Venue)
	add("City", a.City, b.City)
	add("State", a.Region, b.Region)
	add("Country", a.Country, b.Country)
	add("Website", a.URL, b.URL)
	add("Sponsors", strings.Join(a.sponsorLines(), "\n"), strings.Join(b.sponsorLines(), "\n"))
	ta, tb := slices.Clone(a.Topics), slices.Clone(b.Topics)
	slices.Sort(ta)
	slices.Sort(tb)
	add("Topics", strings.Join(ta, ","), strings.Join(tb, ","))
	return out
}

// fieldOf maps a validation error's JSON path to the form field it is
// shown next to, and says which sponsor line a sponsors[i] error is about.
func fieldOf(path string) (field, prefix string) {
	switch {
	case path == "title", path == "description", path == "timezone", path == "format", path == "url", path == "topics":
		return path, ""
	case path == "start":
		return "start_date", ""
	case path == "end":
		return "end_date", ""
	case path == "all_day":
		return "all_day", ""
	case strings.HasPrefix(path, "location."):
		return strings.TrimPrefix(path, "location."), ""
	case path == "contact.name":
		return "contact_name", ""
	case path == "contact.email", path == "contact":
		return "contact_email", ""
	case path == "sponsors":
		return "sponsors", ""
	case strings.HasPrefix(path, "sponsors["):
		i, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(path, "sponsors["), "]"))
		return "sponsors", fmt.Sprintf("Line %d: ", i+1)
	case strings.HasPrefix(path, "topics["):
		return "topics", ""
	}
	return "", ""
}

// fieldErrors are the messages shown next to each field, by field name.
type fieldErrors map[string][]string

// summaryItem is one line of the error summary at the top of a form,
// linking to its field.
type summaryItem struct {
	Field, Label, Message string
}

// fieldLabels name the fields in the error summary.
var fieldLabels = map[string]string{
	"title": "Title", "description": "Description", "all_day": "All-day or timed",
	"start_date": "Start", "end_date": "End", "timezone": "Time zone", "format": "Format",
	"venue": "Venue", "city": "City", "region": "State", "country": "Country", "url": "Website",
	"sponsors": "Sponsors", "topics": "Topics", "contact_name": "Your name", "contact_email": "Your e-mail",
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
	order := []string{"title", "description", "all_day", "start_date", "end_date", "timezone", "format",
		"venue", "city", "region", "country", "url", "sponsors", "topics", "contact_name", "contact_email", "reason"}
	var sum []summaryItem
	for _, field := range order {
		if msgs := errs[field]; len(msgs) > 0 {
			msg, _ := cut(msgs[0], 100)
			sum = append(sum, summaryItem{Field: field, Label: fieldLabels[field], Message: msg})
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
	Topics  []option
	Zones   []string
}

// commonZones are suggested in the time zone field; any IANA zone is
// accepted.
var commonZones = []string{
	"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
	"America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico", "Pacific/Guam", "Pacific/Pago_Pago",
	"America/Toronto", "America/Vancouver", "Europe/London", "Europe/Paris", "UTC",
}

func newFieldsView(f conferenceForm, errs fieldErrors, contact bool) fieldsView {
	v := fieldsView{F: f.clamp(), Errors: errs, Contact: contact, Zones: commonZones}
	for _, t := range domain.Topics {
		checked := false
		for _, x := range f.Topics {
			if lt, ok := domain.LookupTopic(x); ok && lt.Slug == t.Slug {
				checked = true
			}
		}
		v.Topics = append(v.Topics, option{Value: t.Slug, Label: t.Label, Checked: checked})
	}
	return v
}
