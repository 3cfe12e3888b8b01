package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Limits on what one submission may contain. They keep every event far below
// the stream's message size limit and every feed entry readable.
const (
	// MaxTitleLength is long enough for a real conference's full name in
	// any script (counted in characters, as every limit here).
	MaxTitleLength       = 300
	MaxDescriptionLength = 10000
	MaxNameLength        = 200 // venue, city, sponsor and contact names
	MaxURLLength         = 2048
	MaxSponsors          = 20
	MaxTopics            = 8
	MaxReasonLength      = 2000
	MaxCostLength        = 200 // "free", or the fees: "$350; students $100"
	MaxCreditsLength     = 200 // continuing-education credits: "6 CLE credits; 6.5 CEUs"
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

// Location is where a conference happens. Country is an ISO 3166-1
// alpha-2 code, set for every place (an online conference may have none);
// Region is a USPS code when the country is the US and what the organiser
// wrote (a province, a county; optional) elsewhere.
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
	Title string `json:"title"`
	// Type is the kind of event (ConferenceTypes' slugs); "" when the
	// organiser did not say (every conference of the first schema).
	Type         string       `json:"type,omitempty"`
	Description  string       `json:"description,omitempty"`
	AllDay       bool         `json:"all_day"`
	Start        string       `json:"start"`
	End          string       `json:"end"`
	Timezone     string       `json:"timezone,omitempty"`
	Format       Format       `json:"format"`
	Location     Location     `json:"location"`
	URL          string       `json:"url,omitempty"`
	Registration Registration `json:"registration,omitzero"`
	// Cost is CostFree, or what it costs in a few words; "" not stated.
	Cost string `json:"cost,omitempty"`
	// Credits are the continuing-education credits it gives, in a few
	// words; "" none stated.
	Credits  string    `json:"credits,omitempty"`
	Sponsors []Sponsor `json:"sponsors,omitempty"`
	Topics   []string  `json:"topics"`
}

// CostFree is the cost of a conference that costs nothing.
const CostFree = "free"

// Registration is where and until when people register.
type Registration struct {
	URL string `json:"url"`
	// Deadline is the last day to register (YYYY-MM-DD), on or before the
	// conference's last day; "" none stated.
	Deadline string `json:"deadline,omitempty"`
}

// TypeLabel is the event type as people read it; "" when not stated.
func (d ConferenceDetails) TypeLabel() string {
	if t, ok := LookupConferenceType(d.Type); ok {
		return t.Label
	}
	return d.Type
}

// CostText is the cost as people read it: "Free", or the text given.
func (d ConferenceDetails) CostText() string {
	if d.Cost == CostFree {
		return "Free"
	}
	return d.Cost
}

// DeadlineText is the registration deadline as people read it: "June 1,
// 2027"; "" when none is stated.
func (r Registration) DeadlineText() string {
	t, err := time.Parse(DateLayout, r.Deadline)
	if err != nil {
		return r.Deadline
	}
	return t.Format("January 2, 2006")
}

// Text is the registration in plain text: its address, and the deadline.
func (r Registration) Text() string {
	switch {
	case r.URL == "":
		return ""
	case r.Deadline == "":
		return r.URL
	}
	return r.URL + " (by " + r.DeadlineText() + ")"
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
	// Type is an event type's slug or label: conference, training, …;
	// optional.
	Type string `json:"type"`
	// Cost is "free", or what it costs in a few words; optional.
	Cost         string             `json:"cost"`
	Registration *RegistrationInput `json:"registration,omitempty"`
	// Credits are continuing-education credits, in a few words; optional.
	Credits string   `json:"credits"`
	Contact *Contact `json:"contact,omitempty"`
}

// RegistrationInput is where to register, as typed: an http(s) address
// and an optional last day (YYYY-MM-DD).
type RegistrationInput struct {
	URL      string `json:"url"`
	Deadline string `json:"deadline"`
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
			Region:  CleanLine(in.Location.Region),
			Country: CleanLine(in.Location.Country),
		}
	}
	loc := &d.Location
	checkLength(errs, "location.venue", loc.Venue, MaxNameLength)
	checkLength(errs, "location.city", loc.City, MaxNameLength)
	// Every place has its ISO 3166-1 country; an empty one is the US (the
	// calendar's first schema asked for US states only), except for an
	// online conference that names no place at all.
	switch {
	case loc.Country == "":
		if loc.Region != "" || loc.City != "" || loc.Venue != "" || f != FormatOnline {
			loc.Country = "US"
		}
	default:
		if c, ok := LookupCountry(loc.Country); ok {
			loc.Country = c.Code
		} else {
			errs.Add("location.country", "unknown", "is not a country: send an ISO 3166-1 code such as DE, or a name such as Germany (empty: the US)")
		}
	}
	if loc.Region != "" {
		if loc.Country == "US" {
			if r, ok := LookupRegion(loc.Region); ok {
				loc.Region = r.Code
			} else {
				errs.Add("location.region", "unknown", "must be a US state, DC or territory, as a two-letter code such as MD (for a place outside the US, send its country)")
			}
		} else {
			checkLength(errs, "location.region", loc.Region, MaxNameLength)
		}
	}
	if f == FormatInPerson || f == FormatHybrid {
		if loc.City == "" {
			errs.Add("location.city", "required", "is required for in-person and hybrid conferences")
		}
		if loc.Country == "US" && loc.Region == "" {
			errs.Add("location.region", "required", "is required for in-person and hybrid conferences in the US (for a place outside the US, send its country)")
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

	validateExtras(in, &d, errs)
	return d
}

// validateExtras checks what the legacy calendar records beside the
// dates and places: the event type, the cost, the registration and the
// continuing-education credits, all optional. A registration deadline
// falls on or before the conference's last day (when its dates are valid).
func validateExtras(in SubmissionInput, d *ConferenceDetails, errs *ValidationError) {
	if s := strings.TrimSpace(in.Type); s != "" {
		if t, ok := LookupConferenceType(s); ok {
			d.Type = t.Slug
		} else {
			slugs := make([]string, len(ConferenceTypes))
			for i, t := range ConferenceTypes {
				slugs[i] = t.Slug
			}
			errs.Add("type", "unknown", "must be one of %s", strings.Join(slugs, ", "))
		}
	}
	d.Cost = CleanLine(in.Cost)
	if strings.EqualFold(d.Cost, CostFree) {
		d.Cost = CostFree
	}
	checkLength(errs, "cost", d.Cost, MaxCostLength)
	d.Credits = CleanLine(in.Credits)
	checkLength(errs, "credits", d.Credits, MaxCreditsLength)

	if in.Registration == nil {
		return
	}
	u, deadline := strings.TrimSpace(in.Registration.URL), strings.TrimSpace(in.Registration.Deadline)
	switch {
	case u == "" && deadline == "":
		return
	case u == "":
		errs.Add("registration.url", "required", "is required with a registration deadline: where people register")
	default:
		if v, msg := ParseWebURL(u); msg != "" {
			errs.Add("registration.url", "invalid", "%s", msg)
		} else {
			d.Registration.URL = v
		}
	}
	if deadline == "" {
		return
	}
	day, err := time.Parse(DateLayout, deadline)
	if err != nil {
		errs.Add("registration.deadline", "invalid", "must be a date such as 2027-06-01")
		return
	}
	if last := datePart(d.End); last != "" && day.Format(DateLayout) > last {
		errs.Add("registration.deadline", "out_of_range", "must be on or before the conference's last day, %s", last)
		return
	}
	d.Registration.Deadline = day.Format(DateLayout)
}

// datePart is the date of a stored start or end (2027-06-12T09:00:00 is
// 2027-06-12); "" when it holds none.
func datePart(s string) string {
	if len(s) < len(DateLayout) {
		return ""
	}
	return s[:len(DateLayout)]
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
			if iana, ok := ResolveZone(tz); !ok {
				errs.Add("timezone", "unknown", "%s", zoneMessage(tz))
			} else {
				d.Timezone = iana
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
	} else if iana, ok := ResolveZone(tz); !ok {
		errs.Add("timezone", "unknown", "%s", zoneMessage(tz))
	} else {
		loc, _ = loadZone(iana)
		d.Timezone = iana
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
