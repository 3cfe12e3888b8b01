package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Limits on what one submission may contain. They keep every event far below
// the stream's message size limit and every feed entry readable.
const (
	MaxTitleLength       = 200
	MaxDescriptionLength = 10000
	MaxNameLength        = 200 // venue, city, sponsor and contact names
	MaxURLLength         = 2048
	MaxSponsors          = 20
	MaxTopics            = 8
	MaxReasonLength      = 2000
	// MaxDuration is the longest a conference may last.
	MaxDuration = 31 * 24 * time.Hour
	// MaxPast and MaxFuture bound the start of a submitted conference
	// relative to the time of submission.
	MaxPast   = 366 * 24 * time.Hour
	MaxFuture = 5 * 366 * 24 * time.Hour
)

// Layouts of the civil dates and times stored in events. Conferences keep the
// local date and time their organisers typed, with an IANA zone, so a change
// of a zone's rules can never move a conference.
const (
	DateLayout      = "2006-01-02"
	LocalTimeLayout = "2006-01-02T15:04:05"
)

// Status is where a conference is in moderation.
type Status string

const (
	StatusPending   Status = "pending"
	StatusApproved  Status = "approved"
	StatusRejected  Status = "rejected"
	StatusCancelled Status = "cancelled"
)

// Public reports whether conferences in this status appear in feeds and pages.
func (s Status) Public() bool { return s == StatusApproved || s == StatusCancelled }

// Location is where a conference happens. Region is a USPS code and Country
// an ISO 3166-1 alpha-2 code.
type Location struct {
	Venue   string `json:"venue,omitempty"`
	City    string `json:"city,omitempty"`
	Region  string `json:"region,omitempty"`
	Country string `json:"country,omitempty"`
}

// Sponsor names an organisation behind a conference. ID is set when the name
// was linked to a resource of the directory; Name is what the submitter typed
// (or the resource's name when linked by id).
type Sponsor struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
}

// Contact is how editors reach the organiser. It is private: stored in the
// submission event, never in a public read model, feed or page.
type Contact struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email"`
}

// ConferenceDetails are the public facts of a conference, normalised.
// All-day conferences store dates and an inclusive last day (as people type
// them); timed ones store local date-times and their IANA zone.
type ConferenceDetails struct {
	Title       string    `json:"title"`
	Description string    `json:"description,omitempty"`
	AllDay      bool      `json:"all_day"`
	Start       string    `json:"start"`
	End         string    `json:"end"`
	Timezone    string    `json:"timezone,omitempty"`
	Format      Format    `json:"format"`
	Location    Location  `json:"location"`
	URL         string    `json:"url,omitempty"`
	Sponsors    []Sponsor `json:"sponsors,omitempty"`
	Topics      []string  `json:"topics"`
}

// StartDate is the first day (all-day) in UTC midnight terms, or the start
// instant (timed).
func (d ConferenceDetails) StartTime() time.Time {
	t, _ := d.parse(d.Start)
	return t
}

// EndTime is the instant the conference ends: for all-day conferences the
// midnight after the last day (exclusive), for timed ones the end instant.
func (d ConferenceDetails) EndTime() time.Time {
	t, _ := d.parse(d.End)
	if d.AllDay {
		return t.AddDate(0, 0, 1)
	}
	return t
}

func (d ConferenceDetails) parse(s string) (time.Time, error) {
	if d.AllDay {
		return time.Parse(DateLayout, s)
	}
	loc, err := time.LoadLocation(d.Timezone)
	if err != nil {
		return time.Time{}, err
	}
	civil, err := time.Parse(LocalTimeLayout, s)
	if err != nil {
		return time.Time{}, err
	}
	t, _ := LocalTime(civil, loc)
	return t, nil
}

// LocalTime is the instant at which the wall clock in loc shows civil's
// date and time (civil's own zone is ignored). When the clocks fall back
// and that time happens twice, it is the first occurrence, as RFC 5545
// §3.3.5 reads it; exists is false when the clocks jump over it.
func LocalTime(civil time.Time, loc *time.Location) (t time.Time, exists bool) {
	same := func(x time.Time) bool {
		return x.Year() == civil.Year() && x.YearDay() == civil.YearDay() && x.Hour() == civil.Hour() &&
			x.Minute() == civil.Minute() && x.Second() == civil.Second()
	}
	t = time.Date(civil.Year(), civil.Month(), civil.Day(), civil.Hour(), civil.Minute(), civil.Second(), 0, loc)
	if !same(t) {
		return t, false
	}
	// time.Date may pick either pass of a repeated hour: look for an
	// earlier instant with the same wall clock (shifts are at most a few
	// hours, in steps of at least 15 minutes).
	for d := 15 * time.Minute; d <= 3*time.Hour; d += 15 * time.Minute {
		if e := t.Add(-d); same(e.In(loc)) {
			t = e.In(loc)
		}
	}
	return t, true
}

// SubmissionInput is a conference as a client sends it: JSON from the API,
// a web form, the CLI or an .ics file mapped to these fields.
type SubmissionInput struct {
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Start       string         `json:"start"`
	End         string         `json:"end"`
	AllDay      *bool          `json:"all_day,omitempty"`
	Timezone    string         `json:"timezone"`
	Location    *LocationInput `json:"location,omitempty"`
	Format      string         `json:"format"`
	URL         string         `json:"url"`
	Sponsors    []string       `json:"sponsors"`
	Topics      []string       `json:"topics"`
	Contact     *Contact       `json:"contact,omitempty"`
}

// LocationInput is the location as typed. Online conferences may omit it.
type LocationInput struct {
	Venue   string `json:"venue"`
	City    string `json:"city"`
	Region  string `json:"region"`
	Country string `json:"country"`
}

// Submission is a validated, normalised submission.
type Submission struct {
	Details ConferenceDetails
	Contact Contact
}

// Hash identifies the content of a submission, so that a retried request
// with the same Idempotency-Key can be told from a different one.
func (s Submission) Hash() string {
	b, _ := json.Marshal(struct {
		D ConferenceDetails `json:"d"`
		C Contact           `json:"c"`
	}{s.Details, s.Contact})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ValidateSubmission checks every field of in at once and returns the
// normalised submission, or a *ValidationError naming each bad field.
// now bounds the accepted dates.
func ValidateSubmission(in SubmissionInput, now time.Time) (Submission, error) {
	var errs ValidationError
	d := validateDetails(in, now, &errs)
	var c Contact
	if in.Contact == nil {
		errs.Add("contact.email", "required", "is required, so that editors can reach the organiser (it is never published)")
	} else {
		c = validateContact(*in.Contact, &errs)
	}
	if err := errs.Err(); err != nil {
		return Submission{}, err
	}
	return Submission{Details: d, Contact: c}, nil
}

// ValidateDetails checks the public fields of in, for an editor's edit of
// an existing conference (the contact stays as submitted).
func ValidateDetails(in SubmissionInput, now time.Time) (ConferenceDetails, error) {
	var errs ValidationError
	d := validateDetails(in, now, &errs)
	if err := errs.Err(); err != nil {
		return ConferenceDetails{}, err
	}
	return d, nil
}

func validateContact(in Contact, errs *ValidationError) Contact {
	c := Contact{Name: CleanLine(in.Name), Email: strings.TrimSpace(in.Email)}
	checkLength(errs, "contact.name", c.Name, MaxNameLength)
	if c.Email == "" {
		errs.Add("contact.email", "required", "is required, so that editors can reach the organiser (it is never published)")
	} else if v, msg := ParseEmail(c.Email); msg != "" {
		errs.Add("contact.email", "invalid", "%s", msg)
	} else {
		c.Email = v
	}
	return c
}

func validateDetails(in SubmissionInput, now time.Time, errs *ValidationError) ConferenceDetails {
	d := ConferenceDetails{
		Title:       CleanText(in.Title),
		Description: CleanText(in.Description),
	}
	if d.Title == "" {
		errs.Add("title", "required", "is required")
	}
	checkLength(errs, "title", d.Title, MaxTitleLength)
	checkLength(errs, "description", d.Description, MaxDescriptionLength)

	validateWhen(in, now, &d, errs)

	// Format and location.
	f, ok := ParseFormat(in.Format)
	switch {
	case strings.TrimSpace(in.Format) == "":
		errs.Add("format", "required", "is required: in_person, online or hybrid")
	case !ok:
		errs.Add("format", "invalid", "must be in_person, online or hybrid")
	}
	d.Format = f
	if in.Location != nil {
		d.Location = Location{
			Venue:   CleanLine(in.Location.Venue),
			City:    CleanLine(in.Location.City),
			Region:  strings.TrimSpace(in.Location.Region),
			Country: strings.ToUpper(CleanLine(in.Location.Country)),
		}
	}
	loc := &d.Location
	checkLength(errs, "location.venue", loc.Venue, MaxNameLength)
	checkLength(errs, "location.city", loc.City, MaxNameLength)
	switch loc.Country {
	case "", "USA", "UNITED STATES", "UNITED STATES OF AMERICA":
		if loc.Country != "" || loc.Region != "" || f != FormatOnline {
			loc.Country = "US"
		}
	}
	if loc.Country != "" && !isAlpha2(loc.Country) {
		errs.Add("location.country", "invalid", "must be a two-letter ISO 3166 country code, such as US or CA")
	}
	if loc.Region != "" {
		if loc.Country == "US" {
			if r, ok := LookupRegion(loc.Region); ok {
				loc.Region = r.Code
			} else {
				errs.Add("location.region", "unknown", "must be a US state, DC or territory, as a two-letter code such as MD")
			}
		} else {
			loc.Region = CleanLine(loc.Region)
			checkLength(errs, "location.region", loc.Region, MaxNameLength)
		}
	}
	if f == FormatInPerson || f == FormatHybrid {
		if loc.City == "" {
			errs.Add("location.city", "required", "is required for in-person and hybrid conferences")
		}
		if loc.Country == "US" && loc.Region == "" {
			errs.Add("location.region", "required", "is required for in-person and hybrid conferences in the US")
		}
	}

	// Link.
	if u := strings.TrimSpace(in.URL); u != "" {
		if v, msg := ParseWebURL(u); msg != "" {
			errs.Add("url", "invalid", "%s", msg)
		} else {
			d.URL = v
		}
	}

	// Sponsors, by name here; linking to directory ids is the adapter's job.
	if len(in.Sponsors) > MaxSponsors {
		errs.Add("sponsors", "too_many", "must list at most %d sponsors", MaxSponsors)
	}
	seen := map[string]bool{}
	for i, s := range in.Sponsors {
		name := CleanLine(s)
		field := fmt.Sprintf("sponsors[%d]", i)
		if name == "" {
			errs.Add(field, "required", "must not be empty")
			continue
		}
		checkLength(errs, field, name, MaxNameLength)
		if k := strings.ToLower(name); !seen[k] {
			seen[k] = true
			d.Sponsors = append(d.Sponsors, Sponsor{Name: name})
		}
	}

	d.Topics = validateTopics(in.Topics, errs) // vocab.go
	return d
}

// validateWhen checks start, end, all_day and timezone together.
func validateWhen(in SubmissionInput, now time.Time, d *ConferenceDetails, errs *ValidationError) {
	start, end := strings.TrimSpace(in.Start), strings.TrimSpace(in.End)
	allDay := in.AllDay != nil && *in.AllDay
	if in.AllDay == nil && start != "" {
		allDay = !strings.ContainsAny(start, "T ")
	}
	d.AllDay = allDay
	if start == "" {
		errs.Add("start", "required", "is required")
		return
	}
	if allDay {
		if tz := strings.TrimSpace(in.Timezone); tz != "" {
			if _, err := loadZone(tz); err != nil {
				errs.Add("timezone", "unknown", "is not an IANA time zone such as America/New_York")
			} else {
				d.Timezone = tz
			}
		}
		first, err := time.Parse(DateLayout, start)
		if err != nil {
			errs.Add("start", "invalid", "must be a date such as 2027-06-12 for an all-day conference")
			return
		}
		last := first
		if end != "" {
			if last, err = time.Parse(DateLayout, end); err != nil {
				errs.Add("end", "invalid", "must be a date such as 2027-06-14 (the last day) for an all-day conference")
				return
			}
		}
		if last.Before(first) {
			errs.Add("end", "out_of_range", "must not be before the start")
			return
		}
		if last.Sub(first) >= MaxDuration {
			errs.Add("end", "out_of_range", "a conference may last at most %d days", int(MaxDuration/(24*time.Hour)))
			return
		}
		checkStartRange(errs, first, now)
		d.Start, d.End = first.Format(DateLayout), last.Format(DateLayout)
		return
	}

	tz := strings.TrimSpace(in.Timezone)
	var loc *time.Location
	if tz == "" {
		errs.Add("timezone", "required", "is required for a conference with times, as an IANA zone such as America/New_York")
	} else if l, err := loadZone(tz); err != nil {
		errs.Add("timezone", "unknown", "is not an IANA time zone such as America/New_York")
	} else {
		loc = l
		d.Timezone = tz
	}
	st, sok := parseLocal(errs, "start", start, loc)
	if end == "" {
		errs.Add("end", "required", "is required for a conference with times")
		return
	}
	et, eok := parseLocal(errs, "end", end, loc)
	if !sok || !eok || loc == nil {
		return
	}
	if !et.After(st) {
		errs.Add("end", "out_of_range", "must be after the start")
		return
	}
	if et.Sub(st) > MaxDuration {
		errs.Add("end", "out_of_range", "a conference may last at most %d days", int(MaxDuration/(24*time.Hour)))
		return
	}
	checkStartRange(errs, st, now)
	d.Start, d.End = st.Format(LocalTimeLayout), et.Format(LocalTimeLayout)
}

func checkStartRange(errs *ValidationError, start, now time.Time) {
	if start.Before(now.Add(-MaxPast)) {
		errs.Add("start", "out_of_range", "must not be more than a year in the past")
	}
	if start.After(now.Add(MaxFuture)) {
		errs.Add("start", "out_of_range", "must not be more than five years ahead")
	}
}

// localLayouts are the local date-time spellings accepted from people.
var localLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"}

// parseLocal reads a local date-time (no offset) in loc and rejects times
// that do not exist there because the clocks jump forward. Ambiguous times
// (when clocks fall back) are taken as the first occurrence, as RFC 5545
// §3.3.5 reads them.
func parseLocal(errs *ValidationError, field, s string, loc *time.Location) (time.Time, bool) {
	var civil time.Time
	var err error
	for _, layout := range localLayouts {
		if civil, err = time.Parse(layout, s); err == nil {
			break
		}
	}
	if err != nil {
		errs.Add(field, "invalid", "must be a local date and time such as 2027-06-12T09:00, without an offset")
		return time.Time{}, false
	}
	if loc == nil {
		return time.Time{}, false
	}
	t, ok := LocalTime(civil, loc)
	if !ok {
		errs.Add(field, "invalid", "does not exist in %s: the clocks change then", loc)
		return time.Time{}, false
	}
	return t, true
}

func loadZone(name string) (*time.Location, error) {
	if name == "Local" || strings.ContainsAny(name, " \t\r\n") {
		return nil, fmt.Errorf("not an IANA zone: %q", name)
	}
	return time.LoadLocation(name)
}

func isAlpha2(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// Input turns details back into the input form, so that an edit can be
// applied on top of the current values and validated with the same rules.
func (d ConferenceDetails) Input() SubmissionInput {
	allDay := d.AllDay
	in := SubmissionInput{
		Title: d.Title, Description: d.Description, Start: d.Start, End: d.End,
		AllDay: &allDay, Timezone: d.Timezone, Format: string(d.Format), URL: d.URL,
		Location: &LocationInput{Venue: d.Location.Venue, City: d.Location.City, Region: d.Location.Region, Country: d.Location.Country},
		Topics:   slices.Clone(d.Topics),
	}
	for _, s := range d.Sponsors {
		if s.ID != "" {
			in.Sponsors = append(in.Sponsors, s.ID)
		} else {
			in.Sponsors = append(in.Sponsors, s.Name)
		}
	}
	return in
}
