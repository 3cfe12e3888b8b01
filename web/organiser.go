package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/producers/organisers"
	"github.com/justiceevents/jevents/projections/calendar"
)

// The organiser's private page (the intake role): /organiser/{token}, the
// link every mail to the organiser carries (producers/organisers signs and
// checks it). It shows the conference's status, details and history, and
// takes the organiser's requests, each a form (no script) with the
// visitor's form token (security.go), a per-address limit and the intake
// gate: withdraw a pending submission, ask for a published one to be
// cancelled, propose changes through the submission form filled with the
// current details (the same fields, limits and validation).
//
// The token is a bearer capability in the path: the pages say
// Referrer-Policy: no-referrer (so no link followed from them carries it
// away), are never cached, and nothing logs a request's path here
// (metrics name the route pattern, "/organiser/{token}"). A refused link
// gets a page saying so (403 invalid, 410 expired) that never says whether
// the conference exists.

// Organiser is the organiser's side of the log (producers/organisers).
type Organiser interface {
	Open(ctx context.Context, token string) (*organisers.Access, error)
	Withdraw(ctx context.Context, req organisers.Request, reason string) (organisers.Result, error)
	RequestCancellation(ctx context.Context, req organisers.Request, reason string) (organisers.Result, error)
	Propose(ctx context.Context, req organisers.Request, patch []byte, source string) (organisers.Result, error)
	Links() *organisers.Links
}

// OrganiserRoutes are the private page's (the intake role).
func (s *Server) OrganiserRoutes(org Organiser) []httpapi.Route {
	p := &orgPages{s: s, org: org, limiter: newLimiter(s.cfg.SubmitLimit)}
	s.metrics.requests.WithLabelValues("organiser", "200")
	for _, reason := range []string{"csrf", "rate_limited"} {
		s.metrics.formRejects.WithLabelValues("organiser", reason)
	}
	return []httpapi.Route{
		{Pattern: "GET /organiser/{token}", Handler: http.HandlerFunc(p.handlePage)},
		{Pattern: "GET /organiser/{token}/propose", Handler: http.HandlerFunc(p.handleProposeForm)},
		{Pattern: "POST /organiser/{token}/propose", Handler: p.post(p.handlePropose)},
		{Pattern: "POST /organiser/{token}/withdraw", Handler: p.post(p.handleWithdraw)},
		{Pattern: "POST /organiser/{token}/cancellation", Handler: p.post(p.handleCancellation)},
	}
}

type orgPages struct {
	s       *Server
	org     Organiser
	limiter *limiter
}

// privateHeaders are the private pages' headers besides the pages' own.
func privateHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex, nofollow")
}

// open reads the link's conference, answering a refusal itself.
func (p *orgPages) open(w http.ResponseWriter, r *http.Request) (*organisers.Access, bool) {
	a, err := p.org.Open(r.Context(), r.PathValue("token"))
	if err == nil {
		return a, true
	}
	p.refuse(w, r, err)
	return nil, false
}

// refuse answers a link that does not open, or a log that cannot be read.
func (p *orgPages) refuse(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, organisers.ErrLinkInvalid):
		p.s.message(w, r, http.StatusForbidden, "organiser", "calendar", "This link does not work",
			"This private link is not valid: it may have been copied incompletely, or it was made for an earlier "+
				"contact address. Use the link in the latest e-mail we sent you about your conference. Nothing was changed.")
	case errors.Is(err, organisers.ErrLinkExpired):
		p.s.message(w, r, http.StatusGone, "organiser", "calendar", "This link has expired",
			fmt.Sprintf("Private links work for %d days after the e-mail that carried them. Every e-mail we send you about "+
				"your conference carries a fresh one; if you have none, reply to the latest to reach the editors. Nothing was changed.",
				int(p.org.Links().TTL().Hours()/24)))
	default:
		if httpapi.ClientGone(r, err) {
			httpapi.AnswerClientGone(w, r, p.s.log, err)
			return
		}
		p.s.log.Error("organiser page: cannot read the conference", slog.Any("err", err)) // never the path: it holds the link
		w.Header().Set("Retry-After", "5")
		p.s.message(w, r, http.StatusServiceUnavailable, "organiser", "calendar", "Try again in a moment",
			"Your conference could not be read just now. Nothing was changed.")
	}
}

// post wraps a request's handler: the private headers, the form's size,
// its token (the visitor's form cookie; CSRF) and the per-address limit.
func (p *orgPages) post(h func(http.ResponseWriter, *http.Request, organisers.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		privateHeaders(w)
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			p.s.message(w, r, http.StatusBadRequest, "organiser", "calendar", "The form could not be read",
				"The form was too large or garbled. Go back and try again. Nothing was changed.")
			return
		}
		if !p.s.checkForm(r) {
			p.s.metrics.formRejects.WithLabelValues("organiser", "csrf").Inc()
			p.s.message(w, r, http.StatusForbidden, "organiser", "calendar", "Nothing was changed",
				"The form had expired or came from another site. Go back, reload your private page and try again.")
			return
		}
		addr := p.s.clientAddr(r)
		if ok, wait := p.limiter.allow(addr, time.Now()); !ok {
			p.s.metrics.formRejects.WithLabelValues("organiser", "rate_limited").Inc()
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			p.s.message(w, r, http.StatusTooManyRequests, "organiser", "calendar", "Too many requests",
				"This address has sent many requests in a short time. Please wait "+waitText(wait)+" and try again. Nothing was changed.")
			return
		}
		version, _ := strconv.ParseUint(r.PostForm.Get("version"), 10, 64)
		h(w, r, organisers.Request{Token: r.PathValue("token"), Version: version, Key: "web:" + idemOf(r), Addr: addr})
	}
}

// statusText says a status as the organiser reads it.
var statusText = map[domain.Status]string{
	domain.StatusPending:     "Waiting for an editor's review: not public yet.",
	domain.StatusApproved:    "Published: it is in the calendar and its feeds.",
	domain.StatusRejected:    "Not published: an editor declined it.",
	domain.StatusCancelled:   "Cancelled: it stays in the calendar marked as cancelled for a while, so that subscribers see it.",
	domain.StatusWithdrawn:   "Withdrawn at your request: it was never public.",
	domain.StatusUnpublished: "Taken out of the calendar by an editor.",
}

// eventText names the events of the history as the organiser reads them.
var eventText = map[string]string{
	"conference.submitted":              "Submitted",
	"conference.updated":                "Details changed",
	"conference.approved":               "Published by an editor",
	"conference.rejected":               "Declined by an editor",
	"conference.cancelled":              "Cancelled",
	"conference.unpublished":            "Taken out of the calendar",
	"conference.withdrawn":              "Withdrawn by you",
	"conference.change_proposed":        "You proposed changes",
	"conference.proposal_declined":      "An editor declined your proposed changes",
	"conference.cancellation_requested": "You asked for it to be cancelled",
	"conference.cancellation_declined":  "An editor declined to cancel it",
	"conference.scheduled":              "Publication planned",
}

type orgHistoryView struct {
	When, What, Reason string
	Fields             []string
}

type orgData struct {
	Base, CSRF                         string // Base: the page's own path
	V                                  conferenceView
	Status                             domain.Status
	StatusText                         string
	Reason                             string // why it was rejected, cancelled, …
	Format                             string
	Timezone                           string
	Public                             string
	Version                            uint64
	Proposal                           []domain.FieldChange
	Proposed                           string
	Requested                          *domain.CancellationRequest
	History                            []orgHistoryView
	CanWithdraw, CanCancel, CanPropose bool
	Flash, Alert                       string
	WithdrawReason, CancelReason       string
	Idem                               string
}

// flashes say what the request just made did.
var flashes = map[string]string{
	"withdrawn": "Your submission is withdrawn. It will not be published; we sent you an e-mail to confirm it.",
	"cancellation": "Your request is with the editors. The conference stays as it is until an editor cancels it; " +
		"we will write to you either way.",
	"proposed":  "Your proposed changes are with the editors. The conference shows its current details until an editor accepts them; we will write to you either way.",
	"unchanged": "Nothing to propose: the form held the current details (or what you had already proposed).",
}

func (p *orgPages) page(w http.ResponseWriter, r *http.Request, status int, a *organisers.Access, d orgData) {
	privateHeaders(w)
	c := a.Conference
	d.Base = "/organiser/" + url.PathEscape(r.PathValue("token"))
	d.CSRF = p.s.formToken(w, r)
	d.V = newConference(p.s.dir.Snapshot(), calendar.Conference{ID: c.ID, Status: c.Status, Version: c.Version, Details: c.Details})
	d.Status, d.StatusText, d.Version = c.Status, statusText[c.Status], c.Version
	d.Format = formatLabel(c.Details.Format)
	if !c.Details.AllDay {
		d.Timezone = c.Details.Timezone
	}
	if c.Public() && c.Status != domain.StatusUnpublished {
		d.Public = "/conferences/" + url.PathEscape(c.ID)
	}
	if c.Proposal != nil {
		d.Proposal, d.Proposed = c.ProposalDiff(), c.Proposal.At.UTC().Format("January 2, 2006, 15:04 UTC")
	}
	d.Requested = c.CancellationRequest
	d.CanWithdraw = c.Status == domain.StatusPending
	d.CanCancel = c.Status == domain.StatusApproved && c.CancellationRequest == nil
	d.CanPropose = c.Status == domain.StatusPending || c.Status == domain.StatusApproved || c.Status == domain.StatusUnpublished
	for _, e := range a.History.Entries {
		name := eventName(e.Type)
		v := orgHistoryView{When: e.Time.UTC().Format("January 2, 2006, 15:04 UTC"), What: cmp.Or(eventText[name], name), Reason: e.Reason}
		if v.Reason == "" {
			v.Reason = e.Note
		}
		if name != "conference.submitted" {
			for _, ch := range e.Changes {
				if f, ok := domain.Field(ch.Field); ok {
					v.Fields = append(v.Fields, f.Label)
				}
			}
		}
		switch name {
		case "conference.rejected", "conference.cancelled", "conference.unpublished":
			d.Reason = e.Reason
		}
		d.History = append(d.History, v)
	}
	slices.Reverse(d.History)
	d.Idem = newKey()
	p.s.page(w, r, status, "organiser", "organiser", layoutData{Title: "Your conference: " + c.Details.Title, Section: "calendar", Body: d})
}

func (p *orgPages) handlePage(w http.ResponseWriter, r *http.Request) {
	privateHeaders(w)
	a, ok := p.open(w, r)
	if !ok {
		return
	}
	p.page(w, r, http.StatusOK, a, orgData{Flash: flashes[r.URL.Query().Get("done")]})
}

// done redirects to the page after a request (post, redirect, get).
func (p *orgPages) done(w http.ResponseWriter, r *http.Request, what string) {
	http.Redirect(w, r, "/organiser/"+url.PathEscape(r.PathValue("token"))+"?done="+what, http.StatusSeeOther)
	p.s.metrics.requests.WithLabelValues("organiser", "303").Inc()
}

// failed answers a request that was not taken, with the page as it is now.
func (p *orgPages) failed(w http.ResponseWriter, r *http.Request, err error, d orgData) {
	var (
		ve  *domain.VersionError
		te  *domain.TransitionError
		val *domain.ValidationError
		he  *httpapi.Error
	)
	status := http.StatusConflict
	switch {
	case errors.Is(err, organisers.ErrLinkInvalid), errors.Is(err, organisers.ErrLinkExpired):
		p.refuse(w, r, err)
		return
	case errors.As(err, &ve), errors.Is(err, domain.ErrPreconditionRequired):
		d.Alert = "Your conference changed since you opened this page, so nothing was changed. Here it is as it is now: check it and try again."
	case errors.As(err, &te):
		d.Alert = "Your conference is " + string(te.Status) + " now, which this request does not apply to. Nothing was changed."
	case errors.As(err, &val):
		status = http.StatusUnprocessableEntity
		d.Alert = "Nothing was sent: the reason is too long (at most 2,000 characters)."
	case errors.As(err, &he) && he.Status < 500:
		status = he.Status
		if he.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(he.RetryAfter))
		}
		d.Alert = "Nothing was sent: " + he.Detail + "."
	default:
		p.refuse(w, r, err)
		return
	}
	a, ok := p.open(w, r)
	if !ok {
		return
	}
	p.page(w, r, status, a, d)
}

func (p *orgPages) handleWithdraw(w http.ResponseWriter, r *http.Request, req organisers.Request) {
	reason := r.PostForm.Get("reason")
	if _, err := p.org.Withdraw(r.Context(), req, reason); err != nil {
		p.failed(w, r, err, orgData{WithdrawReason: reason})
		return
	}
	p.done(w, r, "withdrawn")
}

func (p *orgPages) handleCancellation(w http.ResponseWriter, r *http.Request, req organisers.Request) {
	reason := r.PostForm.Get("reason")
	if _, err := p.org.RequestCancellation(r.Context(), req, reason); err != nil {
		p.failed(w, r, err, orgData{CancelReason: reason})
		return
	}
	p.done(w, r, "cancellation")
}

type proposeData struct {
	Base, CSRF, Title string
	Version           uint64
	Fields            fieldsView
	Summary           []summaryItem
	Alert             string
	Idem              string
}

func (p *orgPages) proposePage(w http.ResponseWriter, r *http.Request, status int, a *organisers.Access, d proposeData) {
	privateHeaders(w)
	c := a.Conference
	d.Base, d.CSRF, d.Title = "/organiser/"+url.PathEscape(r.PathValue("token")), p.s.formToken(w, r), c.Details.Title
	if d.Version == 0 {
		d.Version = c.Version
	}
	d.Idem = newKey()
	title := "Propose changes: " + c.Details.Title
	if len(d.Summary) > 0 {
		title = "Error: " + title
	}
	p.s.page(w, r, status, "organiser", "propose", layoutData{Title: title, Section: "calendar", Body: d})
}

// current fills the form with the conference's details, or the open
// proposal's (what the organiser last asked for).
func (p *orgPages) current(c *domain.Conference) conferenceForm {
	d := c.Details
	if c.Proposal != nil {
		d = c.Proposal.Details
	}
	return formOf(d, func(sp domain.Sponsor) string { return sp.Name })
}

func (p *orgPages) handleProposeForm(w http.ResponseWriter, r *http.Request) {
	privateHeaders(w)
	a, ok := p.open(w, r)
	if !ok {
		return
	}
	p.proposePage(w, r, http.StatusOK, a, proposeData{Fields: newFieldsView(p.current(a.Conference), nil, false)})
}

func (p *orgPages) handlePropose(w http.ResponseWriter, r *http.Request, req organisers.Request) {
	f := readForm(r, false)
	res, err := p.org.Propose(r.Context(), req, f.patch(p.s.shown), "form")
	var val *domain.ValidationError
	switch {
	case err == nil && res.Unchanged:
		p.done(w, r, "unchanged")
		return
	case err == nil:
		p.done(w, r, "proposed")
		return
	case errors.As(err, &val):
		a, ok := p.open(w, r)
		if !ok {
			return
		}
		errs, sum := validationErrors(val)
		p.proposePage(w, r, http.StatusUnprocessableEntity, a, proposeData{Version: req.Version, Fields: newFieldsView(f, errs, false), Summary: sum})
		return
	}
	var ve *domain.VersionError
	if errors.As(err, &ve) {
		a, ok := p.open(w, r)
		if !ok {
			return
		}
		p.proposePage(w, r, http.StatusConflict, a, proposeData{Fields: newFieldsView(p.current(a.Conference), nil, false),
			Alert: "Your conference changed since you opened this form, so nothing was sent. The form now shows it as it is: make your changes again."})
		return
	}
	p.failed(w, r, err, orgData{})
}
