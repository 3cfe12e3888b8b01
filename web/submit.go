package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/admission"
	"github.com/justiceevents/jevents/producers/intake"
	"github.com/justiceevents/jevents/producers/moderation"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/review"
)

// Submitter appends a submission (the intake producer).
type Submitter interface {
	Submit(ctx context.Context, in domain.SubmissionInput, key string, o intake.Origin) (intake.Receipt, error)
}

// honeypotField is the field people never see nor reach with Tab; programs
// that fill in every field fill it in.
const honeypotField = "leave_empty"

// SubmitRoutes are /submit, "Add your conference" (the intake role).
func (s *Server) SubmitRoutes(sub Submitter) []httpapi.Route {
	s.metrics.requests.WithLabelValues("submit", "200")
	for _, reason := range []string{"rate_limited", "csrf", "honeypot"} {
		s.metrics.formRejects.WithLabelValues("submit", reason)
	}
	return []httpapi.Route{
		{Pattern: "GET /submit", Handler: http.HandlerFunc(s.handleSubmitForm)},
		{Pattern: "POST /submit", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.handleSubmit(w, r, sub) })},
		{Pattern: "GET /submit/done/{id}", Handler: http.HandlerFunc(s.handleSubmitted)},
	}
}

type submitData struct {
	Fields     fieldsView
	Summary    []summaryItem
	Notice     string
	Duplicates []duplicateView
	Confirm    bool
	Idem, CSRF string
	Honeypot   string
}

func (s *Server) submitPage(w http.ResponseWriter, r *http.Request, status int, d submitData) {
	d.CSRF = s.formToken(w, r)
	d.Honeypot = honeypotField
	if d.Idem == "" {
		d.Idem = newKey()
	}
	title := "Add your conference"
	if len(d.Summary) > 0 {
		title = "Error: " + title
	}
	s.page(w, r, status, "submit", "submit", layoutData{
		Title:       title,
		Description: "Add your criminal-justice conference to the Justice Events calendar. Editors review every submission.",
		Section:     "submit",
		Body:        d,
	})
}

func (s *Server) handleSubmitForm(w http.ResponseWriter, r *http.Request) {
	s.submitPage(w, r, http.StatusOK, submitData{Fields: newFieldsView(conferenceForm{url.Values{"all_day": {"yes"}, "format": {"in_person"}}}, nil, true)})
}

func (s *Server) handleSubmit(w http.ResponseWriter, r *http.Request, sub Submitter) {
	if ok, wait := s.submitLimiter.allow(s.clientAddr(r), time.Now()); !ok {
		s.metrics.formRejects.WithLabelValues("submit", "rate_limited").Inc()
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		s.message(w, r, http.StatusTooManyRequests, "submit", "submit", "Too many submissions",
			"This address has sent many submissions in a short time. Please wait "+waitText(wait)+" and try again.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.message(w, r, http.StatusBadRequest, "submit", "submit", "The form could not be read",
			"The form was too large or garbled. Please go back and try again.")
		return
	}
	f := readForm(r, true)
	d := submitData{Fields: newFieldsView(f, nil, true), Idem: r.PostForm.Get("idem")}
	if !intake.ValidKey(d.Idem) || len(d.Idem) > 64 {
		d.Idem = ""
	}
	if !s.checkForm(r) {
		s.metrics.formRejects.WithLabelValues("submit", "csrf").Inc()
		d.Notice = "The form had expired, or came from another site, so nothing was sent. Check the fields below and submit again."
		s.submitPage(w, r, http.StatusForbidden, d)
		return
	}
	if r.PostForm.Get(honeypotField) != "" {
		s.metrics.formRejects.WithLabelValues("submit", "honeypot").Inc()
		d.Notice = "The form could not be accepted: the field that must stay empty was filled in. Empty it and submit again."
		s.submitPage(w, r, http.StatusBadRequest, d)
		return
	}
	in := f.input(s.shown, true)
	valid, err := domain.ValidateSubmission(in, time.Now())
	var ve *domain.ValidationError
	if errors.As(err, &ve) {
		d.Fields.Errors, d.Summary = validationErrors(ve)
		s.submitPage(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	if r.PostForm.Get("confirm") != "1" {
		if dups := s.duplicates(valid.Details, nil, ""); len(dups) > 0 {
			d.Duplicates, d.Confirm = dups, true
			s.submitPage(w, r, http.StatusOK, d)
			return
		}
	}
	key := d.Idem
	if key == "" {
		key = newKey()
	}
	rec, err := sub.Submit(r.Context(), in, "web:"+key, intake.Origin{Source: "form", Actor: intake.ActorPublic, Addr: s.clientAddr(r)})
	var refusal *admission.Refusal
	switch {
	case errors.As(err, &refusal):
		// The intake gate: this address, this contact or everyone together
		// sent as many as the calendar takes for now, or the log is kept
		// for editors. What was typed stays on the page.
		if n := refusal.RetryAfterSeconds(); n > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(n))
		}
		d.Notice = refusal.Detail + "."
		if refusal.Reason != "reserve" {
			d.Notice = "Not sent: " + d.Notice + " Please submit again in " + waitText(refusal.RetryAfter) + "; what you typed is kept below."
		} else {
			d.Notice = "Not sent: " + d.Notice
		}
		s.metrics.formRejects.WithLabelValues("submit", "intake_"+refusal.Reason).Inc()
		s.submitPage(w, r, refusal.Status(), d)
	case err == nil:
		http.Redirect(w, r, "/submit/done/"+url.PathEscape(rec.ID), http.StatusSeeOther)
		s.metrics.requests.WithLabelValues("submit", "303").Inc()
	case errors.As(err, &ve):
		d.Fields.Errors, d.Summary = validationErrors(ve)
		s.submitPage(w, r, http.StatusUnprocessableEntity, d)
	case errors.Is(err, domain.ErrIdempotencyMismatch):
		d.Idem = ""
		d.Notice = "This form was already sent, with other values, as conference " + intake.ConferenceID("web:"+key) +
			". Nothing new was added. To add another conference, check the fields below and submit again."
		s.submitPage(w, r, http.StatusConflict, d)
	default:
		s.log.Error("submission from the form failed", slog.Any("err", err))
		d.Notice = "Your conference could not be saved just now. Nothing was lost on this page: please submit again in a few minutes."
		s.submitPage(w, r, http.StatusServiceUnavailable, d)
	}
}

func waitText(d time.Duration) string {
	switch m := int(d.Round(time.Minute) / time.Minute); {
	case m <= 1:
		return "a minute"
	default:
		return strconv.Itoa(m) + " minutes"
	}
}

type submittedData struct {
	ID   string
	Page string
	ICS  string
}

func (s *Server) handleSubmitted(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !domain.ValidID(id) {
		s.message(w, r, http.StatusNotFound, "submit", "submit", "Submission not found", "This is not a tracking number of the calendar.")
		return
	}
	s.page(w, r, http.StatusOK, "submit", "submitted", layoutData{Title: "Thank you: your conference was received", Section: "submit",
		Body: submittedData{ID: id, Page: "/conferences/" + id, ICS: "/conferences/" + id + ".ics"}})
}

// duplicateView is a conference that looks like one being submitted or
// reviewed.
type duplicateView struct {
	ID, Title, When, Where string
	Status                 domain.Status
	Why                    string
}

// maxDuplicates bounds the possible duplicates shown.
const maxDuplicates = 5

// duplicates finds conferences that may be the same as d: the same title
// (ignoring case, spacing and punctuation) on the same dates, or the same
// web address (review.TitleKey, review.URLKey). The public sees published
// ones only; editors also see pending ones, from the moderation queue
// (queue, nil for the public). exclude is the conference itself (for
// editors).
func (s *Server) duplicates(d domain.ConferenceDetails, queue moderation.Queue, exclude string) []duplicateView {
	titleKey, urlKey := review.TitleKey(d), review.URLKey(d)
	var out []duplicateView
	if titleKey != "" || urlKey != "" {
		s.cal.Range(func(_ string, c calendar.Conference) bool {
			if !c.Public() || c.ID == exclude {
				return true
			}
			var why string
			switch cd := c.Details; {
			case titleKey != "" && review.TitleKey(cd) == titleKey:
				why = "same title and dates"
			case urlKey != "" && review.URLKey(cd) == urlKey:
				why = "same web address"
			default:
				return true
			}
			v := duplicateView{ID: c.ID, Status: c.Status, Why: why}
			v.Title, _ = cut(c.Details.Title, 120)
			v.Where, _ = cut(where(c.Details), 80)
			v.When, _ = when(c.Details)
			out = append(out, v)
			return len(out) < maxDuplicates
		})
	}
	if queue != nil && len(out) < maxDuplicates {
		similar, why := queue.Similar(d, exclude, maxDuplicates-len(out))
		for i, p := range similar {
			v := duplicateView{ID: p.ID, Status: domain.StatusPending, Why: why[i], Where: p.Where}
			v.Title, _ = cut(p.Title, 120)
			v.When, _ = when(domain.ConferenceDetails{Start: p.Start, End: p.End, AllDay: len(p.Start) == len(domain.DateLayout)})
			out = append(out, v)
		}
	}
	return out
}
