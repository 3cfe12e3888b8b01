package domain

import (
	"strings"
	"time"
)

// Reports from the public: anyone may say that a published conference's
// listing is wrong, cancelled, a duplicate, fraudulent or predatory. Each
// report is its own aggregate (events.report.<id>.…), opened by a filing
// and closed by an editor who resolves it (acted on it) or dismisses it.
// A report names its conference; it never changes the conference itself.

// AggregateReport is the kind of a report's aggregate.
const AggregateReport = "report"

// Report event type names; stored, never changed.
const (
	TypeReportFiled     = "report.filed.v1"
	TypeReportResolved  = "report.resolved.v1"
	TypeReportDismissed = "report.dismissed.v1"
)

// MaxReportText bounds what a reporter may write.
const MaxReportText = 2000

// ReportReason is why a listing was reported.
type ReportReason struct {
	Slug  string
	Label string
}

// ReportReasons is the short list the report form offers, in its order.
var ReportReasons = []ReportReason{
	{"wrong_details", "Wrong details (date, place, link…)"},
	{"cancelled", "It has been cancelled or postponed"},
	{"duplicate", "It is listed twice"},
	{"fraudulent", "Fraudulent or predatory"},
	{"other", "Something else"},
}

// ReportReasonLabel is the label of a reason slug, or the slug.
func ReportReasonLabel(slug string) string {
	for _, r := range ReportReasons {
		if r.Slug == slug {
			return r.Label
		}
	}
	return slug
}

// ReportFiled opens a report about a conference.
type ReportFiled struct {
	ConferenceID string `json:"conference_id"`
	Reason       string `json:"reason"`
	Text         string `json:"text,omitempty"`
	// Source: api or form.
	Source string `json:"source,omitempty"`
}

// ReportResolved closes a report that an editor acted on.
type ReportResolved struct {
	Note string `json:"note,omitempty"`
}

// ReportDismissed closes a report that needed nothing.
type ReportDismissed struct {
	Note string `json:"note,omitempty"`
}

func (ReportFiled) EventType() string     { return TypeReportFiled }
func (ReportResolved) EventType() string  { return TypeReportResolved }
func (ReportDismissed) EventType() string { return TypeReportDismissed }

func init() {
	register[ReportFiled](TypeReportFiled)
	register[ReportResolved](TypeReportResolved)
	register[ReportDismissed](TypeReportDismissed)
}

// ReportInput is a report as the public sends it.
type ReportInput struct {
	Reason string `json:"reason"`
	Text   string `json:"text"`
}

// ValidateReport checks a report about conference id and returns its
// event, or a *ValidationError naming each bad field.
func ValidateReport(id string, in ReportInput) (ReportFiled, error) {
	var errs ValidationError
	r := ReportFiled{ConferenceID: id, Reason: strings.TrimSpace(in.Reason), Text: CleanText(in.Text)}
	known := false
	for _, x := range ReportReasons {
		known = known || x.Slug == r.Reason
	}
	switch {
	case r.Reason == "":
		errs.Add("reason", "required", "is required: wrong_details, cancelled, duplicate, fraudulent or other")
	case !known:
		errs.Add("reason", "invalid", "must be wrong_details, cancelled, duplicate, fraudulent or other")
	}
	if r.Reason == "other" && r.Text == "" {
		errs.Add("text", "required", "says what is wrong, when the reason is other")
	}
	checkLength(&errs, "text", r.Text, MaxReportText)
	return r, errs.Err()
}

// Report statuses.
const (
	ReportStatusOpen      = "open"
	ReportStatusResolved  = "resolved"
	ReportStatusDismissed = "dismissed"
)

// Report is the write-side state of one report.
type Report struct {
	ID      string
	Version uint64
	Status  string
	Filed   ReportFiled
	At      time.Time
}

// AggregateKind implements State.
func (*Report) AggregateKind() string { return AggregateReport }

// Apply implements State.
func (r *Report) Apply(rec Record) {
	r.Version = rec.Seq
	switch e := rec.Event.(type) {
	case ReportFiled:
		if r.Status == "" {
			r.ID, r.Status, r.Filed, r.At = rec.AggregateID, ReportStatusOpen, e, rec.Time
		}
	case ReportResolved:
		if r.Status == ReportStatusOpen {
			r.Status = ReportStatusResolved
		}
	case ReportDismissed:
		if r.Status == ReportStatusOpen {
			r.Status = ReportStatusDismissed
		}
	}
}

// Close resolves (resolved true) or dismisses an open report.
func (r *Report) Close(resolved bool, note string) (Event, error) {
	if r.Status != ReportStatusOpen {
		cmd := "dismiss"
		if resolved {
			cmd = "resolve"
		}
		return nil, &TransitionError{Command: cmd, Status: Status(r.Status)}
	}
	note, err := cleanReason(note)
	if err != nil {
		return nil, err
	}
	if resolved {
		return ReportResolved{Note: note}, nil
	}
	return ReportDismissed{Note: note}, nil
}
