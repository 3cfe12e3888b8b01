package web

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/auth"
	"github.com/justiceevents/jevents/producers/reports"
	"github.com/justiceevents/jevents/projections/calendar"
)

// "Report a problem with this listing": every conference page links to
// /conferences/{id}/report, a form (no script) with a reason from a short
// list and free text, a honeypot and the form token; the intake role
// serves it (the conference page itself is one prepared page for
// everyone, so it holds no form token). A report passes the intake gate
// (per address, the shared quota) like a submission, and is its own event
// (producers/reports).

// Reporter files reports from the public (producers/reports).
type Reporter interface {
	File(ctx context.Context, id string, in domain.ReportInput, source string, addr netip.Addr) (string, error)
}

// ReportRoutes are the report form's (the intake role).
func (s *Server) ReportRoutes(rep Reporter) []httpapi.Route {
	s.metrics.requests.WithLabelValues("report", "200")
	for _, reason := range []string{"csrf", "honeypot"} {
		s.metrics.formRejects.WithLabelValues("report", reason)
	}
	return []httpapi.Route{
		{Pattern: "GET /conferences/{id}/report", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.reportPage(w, r, http.StatusOK, reportData{Reason: r.URL.Query().Get("reason")})
		})},
		{Pattern: "POST /conferences/{id}/report", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.handleReport(w, r, rep) })},
	}
}

type reportData struct {
	ID, Title, Page string
	Reasons         []domain.ReportReason
	Reason, Text    string
	Errors          map[string]string
	Notice          string
	Done            bool
	CSRF, Honeypot  string
}

func (s *Server) reportPage(w http.ResponseWriter, r *http.Request, status int, d reportData) {
	id := r.PathValue("id")
	c, ok := s.cal.Get(calendar.Key(id))
	if !ok || !c.Public() {
		s.message(w, r, http.StatusNotFound, "report", "calendar", "Conference not found",
			"There is no published conference "+strconv.Quote(id)+" in the calendar to report.")
		return
	}
	d.ID, d.Title, d.Page = c.ID, c.Details.Title, "/conferences/"+url.PathEscape(c.ID)
	d.Reasons = domain.ReportReasons
	d.CSRF, d.Honeypot = s.formToken(w, r), honeypotField
	s.page(w, r, status, "report", "report", layoutData{Title: "Report a problem: " + c.Details.Title, Section: "calendar", Body: d})
}

func (s *Server) handleReport(w http.ResponseWriter, r *http.Request, rep Reporter) {
	r.Body = http.MaxBytesReader(w, r.Body, 32<<10)
	if err := r.ParseForm(); err != nil {
		s.message(w, r, http.StatusBadRequest, "report", "calendar", "The form could not be read", "The form was too large or garbled. Please go back and try again.")
		return
	}
	d := reportData{Reason: r.PostForm.Get("reason"), Text: r.PostForm.Get("text")}
	if !s.checkForm(r) {
		s.metrics.formRejects.WithLabelValues("report", "csrf").Inc()
		d.Notice = "The form had expired, or came from another site, so nothing was sent. Check it and send it again."
		s.reportPage(w, r, http.StatusForbidden, d)
		return
	}
	if r.PostForm.Get(honeypotField) != "" {
		s.metrics.formRejects.WithLabelValues("report", "honeypot").Inc()
		d.Notice = "The report could not be accepted: the field that must stay empty was filled in."
		s.reportPage(w, r, http.StatusBadRequest, d)
		return
	}
	_, err := rep.File(r.Context(), r.PathValue("id"), domain.ReportInput{Reason: d.Reason, Text: d.Text}, "form", s.clientAddr(r))
	var ve *domain.ValidationError
	var he *httpapi.Error
	switch {
	case err == nil:
		d.Done = true
		s.reportPage(w, r, http.StatusOK, d)
	case errors.As(err, &ve):
		d.Errors = map[string]string{}
		for _, f := range ve.Fields {
			d.Errors[f.Field] = f.Message
		}
		d.Notice = "The report was not sent: see below."
		s.reportPage(w, r, http.StatusUnprocessableEntity, d)
	case errors.As(err, &he) && he.Status < 500:
		if he.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(he.RetryAfter))
		}
		d.Notice = "Not sent: " + he.Detail + ". Please try again later; what you wrote is kept below."
		s.reportPage(w, r, he.Status, d)
	case errors.Is(err, domain.ErrNotFound):
		s.reportPage(w, r, http.StatusNotFound, d)
	default:
		d.Notice = "Your report could not be saved just now. Please send it again in a few minutes; what you wrote is kept below."
		s.reportPage(w, r, http.StatusServiceUnavailable, d)
	}
}

// ReportModerator lists and closes open reports (producers/reports).
type ReportModerator interface {
	Open() []reports.Group
	Close(ctx context.Context, id string, resolved bool, note, editor string) (string, error)
}

// reportGroup is a conference's open reports as the queue shows them.
type reportGroup struct {
	ConferenceID, Title, Page string
	Count                     int
	Reports                   []reportView
}

type reportView struct {
	ID, Reason, Text, Filed string
}

// maxReportGroups bounds the conferences the queue shows reports of (the
// most reported first).
const maxReportGroups = 50

// openReports are the open reports for the queue page, most reported
// conference first.
func (m *modPages) openReports() []reportGroup {
	if m.reports == nil {
		return nil
	}
	var out []reportGroup
	for _, g := range m.reports.Open() {
		if len(out) == maxReportGroups {
			break
		}
		rg := reportGroup{ConferenceID: g.ConferenceID, Title: g.ConferenceID, Page: "/moderation/conferences/" + url.PathEscape(g.ConferenceID), Count: g.Count}
		if c, ok := m.s.cal.Get(calendar.Key(g.ConferenceID)); ok {
			rg.Title = c.Details.Title
		}
		for _, r := range g.Reports {
			rg.Reports = append(rg.Reports, reportView{ID: r.ID, Reason: domain.ReportReasonLabel(r.Reason), Text: r.Text,
				Filed: r.Filed.UTC().Format("January 2, 2006, 15:04 UTC")})
		}
		out = append(out, rg)
	}
	return out
}

// handleCloseReport answers POST /moderation/reports/{id}/resolve and
// /dismiss.
func (m *modPages) handleCloseReport(resolved bool) func(http.ResponseWriter, *http.Request, auth.Identity) {
	return func(w http.ResponseWriter, r *http.Request, sess auth.Identity) {
		_, err := m.reports.Close(r.Context(), r.PathValue("id"), resolved, r.PostForm.Get("note"), sess.Editor)
		var te *domain.TransitionError
		switch {
		case err == nil, errors.As(err, &te): // closed, now or by someone else first
			m.redirect(w, r, "/moderation?done=report")
		case errors.Is(err, domain.ErrNotFound):
			m.s.message(w, r, http.StatusNotFound, "moderation", "moderation", "Report not found", "There is no such report. Go back and reload the queue.")
		default:
			m.s.message(w, r, http.StatusServiceUnavailable, "moderation", "moderation", "Nothing was changed", "The report could not be closed just now. Go back and try again in a moment.")
		}
	}
}
