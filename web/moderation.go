package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/auth"
	"github.com/justiceevents/jevents/producers/moderation"
	"github.com/justiceevents/jevents/projections/calendar"
)

// Moderator is the editors' side of the log (the moderation producer).
type Moderator interface {
	// Queue is the conferences waiting for a decision, paged, oldest first.
	Queue() moderation.Queue
	// Cursor is the place in the queue of a previous page's last
	// conference.
	Cursor(ctx context.Context, id string) (time.Time, error)
	// Conference is the current state of a conference, with the
	// organiser's contact.
	Conference(ctx context.Context, id string) (*domain.Conference, error)
	// History is the conference's history, oldest first.
	History(ctx context.Context, id string) ([]moderation.HistoryEntry, error)
	Decide(ctx context.Context, cmd moderation.Command, d moderation.Decision, reason string) (moderation.Result, error)
	Edit(ctx context.Context, cmd moderation.Command, patch []byte) (moderation.Result, error)
	// Select and DecideMany are the bulk decisions (bulk.go).
	Select(ctx context.Context, req moderation.BulkRequest) ([]string, int, error)
	DecideMany(ctx context.Context, ids []string, d moderation.Decision, reason, editor, key string) (moderation.BulkResult, error)
}

// sessionCookie carries a signed-in editor's session (auth.Gate opens,
// checks and ends it): only to /moderation, never readable by scripts,
// and sent with cross-site links (SameSite=Lax) so an editor can follow a
// link to a conference from an e-mail; every post is checked by its CSRF
// token.
const sessionCookie = auth.CookieName

// queueBudget bounds the queue page, and queueItems the contacts loaded
// for it from the log.
const (
	queueItems    = 25
	queueExcerpt  = 600
	queueOverhead = 3200 // the markup and forms of one item around its text
)

// ModerationRoutes are /moderation (the editors role): sign-in with an
// editor token, the queue, and a page per conference to approve, reject,
// cancel and edit it.
//
// Every route but the sign-in is declared for editors: the composition
// root puts it behind the one gate (gate, which also opens and ends the
// sessions and makes their CSRF tokens), and a request the gate refuses
// gets the sign-in page (signInRefusal). rm shows and settles the
// reports from the public (nil: none shown).
func (s *Server) ModerationRoutes(mod Moderator, gate *auth.Gate, rm ReportModerator) []httpapi.Route {
	m := &modPages{s: s, mod: mod, gate: gate, reports: rm}
	s.metrics.requests.WithLabelValues("moderation", "200")
	for _, r := range [][2]string{{"sign_in", "rate_limited"}, {"sign_in", "csrf"}, {"sign_in", "wrong_token"}, {"moderation", "csrf"}} {
		s.metrics.formRejects.WithLabelValues(r[0], r[1])
	}
	editorsOnly := func(pattern string, h func(http.ResponseWriter, *http.Request, auth.Identity)) httpapi.Route {
		return httpapi.Route{Pattern: pattern, Handler: m.editorPage(h), Editors: true, Refused: m.signInRefusal}
	}
	routes := []httpapi.Route{
		editorsOnly("GET /moderation", m.handleQueue),
		{Pattern: "POST /moderation/sign-in", Handler: http.HandlerFunc(m.handleSignIn)},
		editorsOnly("POST /moderation/sign-out", m.handleSignOut),
		editorsOnly("GET /moderation/find", m.handleFind),
		editorsOnly("GET /moderation/conferences/{id}", m.handleConference),
		editorsOnly("GET /moderation/conferences/{id}/edit", m.handleEditForm),
		editorsOnly("POST /moderation/conferences/{id}/edit", m.handleEdit),
	}
	for _, d := range append([]moderation.Decision{moderation.Approve, moderation.Reject, moderation.Cancel}, moderation.Answers...) {
		routes = append(routes, editorsOnly("POST /moderation/conferences/{id}/"+string(d), m.handleDecision(d)))
	}
	if rm != nil { // report.go
		routes = append(routes, editorsOnly("POST /moderation/reports/{id}/resolve", m.handleCloseReport(true)),
			editorsOnly("POST /moderation/reports/{id}/dismiss", m.handleCloseReport(false)))
	}
	// mail.go: the undelivered mail
	routes = append(routes, m.mailRoutes(editorsOnly)...)
	return append(routes, editorsOnly("POST /moderation/reject", m.handleBulkReject), // bulk.go
		editorsOnly("POST /moderation/approve", m.handleBulkApprove))
}

type modPages struct {
	s       *Server
	mod     Moderator
	gate    *auth.Gate
	reports ReportModerator // nil: no reports shown
}

// signInRefusal is what the gate's refusals get on the editors' pages: the
// sign-in page (a post: 403, and nothing changed), or, for a client that
// has used up its wrong tokens, 429.
func (m *modPages) signInRefusal(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("X-Robots-Tag", "noindex")
	w.Header().Set("Referrer-Policy", "same-origin")
	var te *auth.ThrottledError
	switch {
	case errors.As(err, &te):
		m.tooMany(w, r, te.Wait)
	case r.Method == http.MethodPost:
		m.signInPage(w, r, http.StatusForbidden, "/moderation", "Your session has ended, so nothing was changed. Sign in again.", "")
	case errors.Is(err, auth.ErrSessionEnded):
		m.signInPage(w, r, http.StatusOK, r.URL.RequestURI(), "Your session has ended. Sign in again.", "")
	default:
		m.signInPage(w, r, http.StatusOK, r.URL.RequestURI(), "", "")
	}
}

// editorPage runs h for the editor the gate let through (auth.From), and
// checks the CSRF token of every post. It does not authenticate: a
// request without an identity reached it outside the gate, and is refused
// (500, logged), never served.
func (m *modPages) editorPage(h func(http.ResponseWriter, *http.Request, auth.Identity)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Robots-Tag", "noindex")
		w.Header().Set("Referrer-Policy", "same-origin")
		sess, ok := auth.From(r.Context())
		if !ok {
			m.s.log.Error("an editors' page was served without the gate", slog.String("path", r.URL.Path))
			m.s.message(w, r, http.StatusInternalServerError, "moderation", "moderation", "Something went wrong", "Nothing was changed.")
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				m.s.message(w, r, http.StatusBadRequest, "moderation", "moderation", "The form could not be read", "The form was too large or garbled. Go back and try again.")
				return
			}
			if m.s.cop.Check(r) != nil || !m.gate.CheckCSRF(sess, r.PostForm.Get("csrf")) {
				m.s.metrics.formRejects.WithLabelValues("moderation", "csrf").Inc()
				m.s.message(w, r, http.StatusForbidden, "moderation", "moderation", "Nothing was changed",
					"The form had expired or came from another site. Go back, reload the page and try again.")
				return
			}
		}
		h(w, r, sess)
	}
}

type signInData struct {
	CSRF, Next, Error, Notice string
}

func (m *modPages) signInPage(w http.ResponseWriter, r *http.Request, status int, next, notice, errMsg string) {
	title := "Editors: sign in"
	if errMsg != "" {
		title = "Error: " + title
	}
	m.s.page(w, r, status, "moderation", "signin", layoutData{Title: title, Section: "moderation",
		Body: signInData{CSRF: m.s.formToken(w, r), Next: safeNext(next), Notice: notice, Error: errMsg}})
}

// safeNext keeps a return path inside the editors' pages.
func safeNext(p string) string {
	if !strings.HasPrefix(p, "/moderation") || strings.ContainsAny(p, "\\\r\n") || strings.HasPrefix(p, "//") {
		return "/moderation"
	}
	return p
}

// handleSignIn checks a token typed into the sign-in page, through the
// gate. A right token always signs in; wrong ones count against the
// client's address (with the API's wrong bearer tokens: auth.Throttle),
// and once the address has used them up its wrong tokens are answered 429.
// So others' failures behind a shared address never lock out an editor who
// has the right token.
func (m *modPages) handleSignIn(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Robots-Tag", "noindex")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		m.s.message(w, r, http.StatusBadRequest, "moderation", "moderation", "The form could not be read", "Go back and try again.")
		return
	}
	next := r.PostForm.Get("next")
	if !m.s.checkForm(r) {
		m.s.metrics.formRejects.WithLabelValues("sign_in", "csrf").Inc()
		m.signInPage(w, r, http.StatusForbidden, next, "", "The form had expired or came from another site. Sign in again.")
		return
	}
	sess, err := m.gate.SignIn(r, strings.TrimSpace(r.PostForm.Get("token")))
	var te *auth.ThrottledError
	switch {
	case errors.As(err, &te):
		m.s.metrics.formRejects.WithLabelValues("sign_in", "rate_limited").Inc()
		m.tooMany(w, r, te.Wait)
		return
	case errors.Is(err, auth.ErrTokenNotAccepted):
		m.s.metrics.formRejects.WithLabelValues("sign_in", "wrong_token").Inc()
		m.signInPage(w, r, http.StatusUnauthorized, next, "", "That is not an editor's token. Check it and try again.")
		return
	case err != nil: // the sessions' store cannot be reached
		m.s.log.Error("cannot open an editor's session", slog.Any("err", err))
		w.Header().Set("Retry-After", "2")
		m.s.message(w, r, http.StatusServiceUnavailable, "moderation", "moderation", "Signing in is unavailable",
			"Sessions cannot be recorded just now. Please try again in a moment.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sess.Cookie, Path: "/moderation", HttpOnly: true,
		Secure: m.s.secure(r), SameSite: http.SameSiteLaxMode, Expires: sess.Expires, MaxAge: int(auth.SessionTTL.Seconds())})
	m.s.log.Info("editor signed in", slog.String("editor", sess.Editor))
	m.redirect(w, r, safeNext(next))
}

// tooMany answers a client that has used up its wrong tokens.
func (m *modPages) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	m.s.message(w, r, http.StatusTooManyRequests, "moderation", "moderation", "Too many attempts",
		"This address has tried many wrong tokens. Please wait "+waitText(wait)+" and try again; the right token is always accepted.")
}

// handleSignOut ends the session in the store, so that every copy of its
// cookie ends with it, then removes the cookie from the browser.
func (m *modPages) handleSignOut(w http.ResponseWriter, r *http.Request, sess auth.Identity) {
	if err := m.gate.SignOut(r.Context(), sess); err != nil {
		m.s.log.Error("cannot end an editor's session", slog.Any("err", err))
		w.Header().Set("Retry-After", "2")
		m.s.message(w, r, http.StatusServiceUnavailable, "moderation", "moderation", "Signing out is unavailable",
			"The session could not be ended just now, so it goes on. Please try again in a moment.")
		return
	}
	m.s.log.Info("editor signed out", slog.String("editor", sess.Editor))
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/moderation", HttpOnly: true,
		Secure: m.s.secure(r), SameSite: http.SameSiteLaxMode, MaxAge: -1})
	m.signInPage(w, r, http.StatusOK, "/moderation", "You have signed out.", "")
}

func (m *modPages) redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
	m.s.metrics.requests.WithLabelValues("moderation", "303").Inc()
}

// editorBase is what every editors' page shows.
type editorBase struct {
	Editor, CSRF string
	// MailPage: the navigation links to undelivered mail (mail.go), with
	// its count (-1: unknown just now).
	MailPage    bool
	Undelivered int
}

type queueItem struct {
	V            conferenceView
	Format       string
	Excerpt      string
	Truncated    bool
	Submitted    string
	Version      uint64
	ContactName  string
	ContactEmail string
	Mailto       template.URL
	Duplicates   []duplicateView
	// ReimportOf is the decided conference this one is an .ics
	// re-import of.
	ReimportOf string
	Idem       string
	// FromContact is how many conferences of this organiser wait (the
	// button that rejects them all shows from 2).
	FromContact int
	// Pending: a submission waiting for a decision; otherwise a decided
	// conference waits for an answer to its organiser's request.
	Pending bool
	Req     requestsView
}

// requestsView is a conference's open requests from its organiser, field
// by field for a proposal (organiser.go has the organiser's side).
// Its answers' forms carry the conference's id and version, the editor's
// CSRF token and an idempotency key (the "org-requests" template).
type requestsView struct {
	HasProposal bool
	Proposal    []domain.FieldChange
	ProposedAt  string
	Request     *domain.CancellationRequest
	ID, CSRF    string
	Version     uint64
	Idem        string
}

func requestsOf(c *domain.Conference, csrf, idem string) requestsView {
	v := requestsView{ID: c.ID, Version: c.Version, CSRF: csrf, Idem: idem, Request: c.CancellationRequest}
	if c.Proposal != nil {
		v.HasProposal, v.Proposal, v.ProposedAt = true, c.ProposalDiff(), c.Proposal.At.UTC().Format("January 2, 2006, 15:04 UTC")
	}
	return v
}

type queueData struct {
	editorBase
	Flash string
	Items []queueItem
	Total int
	Shown int
	Next  string
	Paged bool
	// BulkIdem is the bulk rejection form's idempotency key.
	BulkIdem string
	// Reports are the open reports from the public, by conference.
	Reports []reportGroup
}

// The queue is paged from the queue's read model (the order) and the log
// (each conference shown, with its contact): an editors' process never
// holds the submissions themselves (projections/review).
func (m *modPages) handleQueue(w http.ResponseWriter, r *http.Request, sess auth.Identity) {
	q := r.URL.Query()
	queue := m.mod.Queue()
	d := queueData{editorBase: m.base(r, sess), BulkIdem: newKey()}
	// A decision just taken may not have reached the read model yet.
	doneID := q.Get("id")
	doneV, _ := strconv.ParseUint(q.Get("v"), 10, 64)
	d.Flash = m.flash(r.Context(), q)
	d.Total = queue.Len()
	d.Reports = m.openReports()
	var afterAt time.Time
	after := q.Get("after")
	if after != "" {
		if at, err := m.mod.Cursor(r.Context(), after); err == nil {
			afterAt, d.Paged = at, true
		} else {
			after = ""
		}
	}
	// One more than fits, to know whether there is a next page.
	pending, _ := queue.Page(afterAt, after, queueItems+1)
	snap := m.s.dir.Snapshot()
	budget := pageBudget - 4000
	more := false
	for _, p := range pending {
		if len(d.Items) == queueItems {
			more = true
			break
		}
		if p.ID == doneID && p.Version < doneV {
			continue
		}
		c, err := m.mod.Conference(r.Context(), p.ID)
		if err == nil && !c.Waiting() {
			continue // decided since the read model saw it
		}
		var it queueItem
		cost := 0
		if err == nil {
			cc := calendar.Conference{ID: c.ID, Status: c.Status, Version: c.Version, Details: c.Details}
			it = queueItem{V: newConference(snap, cc), Format: formatLabel(c.Details.Format), Version: c.Version}
			it.Excerpt, it.Truncated = cut(c.Details.Description, queueExcerpt)
			it.ContactName, it.ContactEmail = c.Contact.Name, c.Contact.Email
			it.Mailto = mailto(c.Contact.Email, c.Details.Title)
			it.Duplicates = m.s.duplicates(c.Details, queue, p.ID)
			it.ReimportOf = c.ReimportOf
			_, it.FromContact = queue.ByContact(c.Contact.Email, 0)
			it.Pending, it.Req = c.Status == domain.StatusPending, requestsOf(c, d.CSRF, newKey())
			for _, fc := range it.Req.Proposal {
				cost += 200 + escapedLen(fc.Label) + escapedLen(fc.Now) + escapedLen(fc.Proposed)
			}
		} else {
			// The log cannot be read just now: what the queue knows.
			cc := calendar.Conference{ID: p.ID, Status: domain.StatusPending, Version: p.Version,
				Details: domain.ConferenceDetails{Title: p.Title, Start: p.Start, End: p.End, AllDay: len(p.Start) == len(domain.DateLayout)}}
			it = queueItem{V: newConference(snap, cc), Version: p.Version, Pending: true}
		}
		it.Submitted, it.Idem = p.Submitted.UTC().Format("January 2, 2006, 15:04 UTC"), newKey()
		cost += queueOverhead + it.V.cost() + escapedLen(it.Excerpt) + 2*escapedLen(it.ContactEmail) + escapedLen(it.ContactName)
		for _, dv := range it.Duplicates {
			cost += 300 + escapedLen(dv.Title) + escapedLen(dv.Where)
		}
		if cost > budget && len(d.Items) > 0 {
			more = true
			break
		}
		budget -= cost
		d.Items = append(d.Items, it)
	}
	d.Shown = len(d.Items)
	if more && len(d.Items) > 0 {
		d.Next = "/moderation?after=" + url.QueryEscape(d.Items[len(d.Items)-1].V.ID)
	}
	m.s.page(w, r, http.StatusOK, "moderation", "queue", layoutData{Title: "Moderation queue", Section: "moderation", Body: d})
}

// mailto is a mailto: link to the organiser, built from a validated
// address; anything else gives no link.
func mailto(addr, title string) template.URL {
	if _, msg := domain.ParseEmail(addr); msg != "" || addr == "" {
		return ""
	}
	u := url.URL{Scheme: "mailto", Opaque: addr, RawQuery: "subject=" + url.PathEscape("Your conference: "+title)}
	return template.URL(u.String())
}

// flash says what the decision just taken did (done, for the conference
// id; or a bulk rejection's counts).
func (m *modPages) flash(ctx context.Context, q url.Values) string {
	done, id := q.Get("done"), q.Get("id")
	if done == "" {
		return ""
	}
	if done == "bulk" {
		return bulkFlash(q)
	}
	title := id
	if c, err := m.mod.Conference(ctx, id); err == nil {
		title = "“" + c.Details.Title + "”"
	}
	switch done {
	case "approve":
		return "Approved " + title + ". It is published in the calendar and its feeds."
	case "reject":
		return "Rejected " + title + "."
	case "cancel":
		return "Cancelled " + title + ". Subscribers see it as cancelled."
	case "edit":
		return "Saved your changes."
	case "unchanged":
		return "Nothing changed: the form held the current values."
	case string(moderation.AcceptProposal):
		return "Accepted the organiser's proposed changes to " + title + "; the organiser is told."
	case string(moderation.DeclineProposal):
		return "Declined the organiser's proposed changes to " + title + "; the organiser is told."
	case string(moderation.DeclineCancellation):
		return "Declined the organiser's request to cancel " + title + "; the organiser is told."
	}
	return ""
}

var uuidPattern = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// handleFind opens a conference by its id or by the address of its page.
func (m *modPages) handleFind(w http.ResponseWriter, r *http.Request, _ auth.Identity) {
	v := strings.TrimSpace(r.URL.Query().Get("id"))
	if id := uuidPattern.FindString(v); id != "" {
		v = strings.ToLower(id)
	}
	if !domain.ValidID(v) {
		m.s.message(w, r, http.StatusNotFound, "moderation", "moderation", "Conference not found",
			"Give a conference's tracking number or the address of its page.")
		return
	}
	m.redirect(w, r, "/moderation/conferences/"+v)
}

type moderateData struct {
	editorBase
	V           conferenceView
	Status      domain.Status
	Description []string
	Format      string
	Timezone    string
	Version     uint64
	Contact     domain.Contact
	Mailto      template.URL
	Submitted   string
	Updated     string
	Public      string
	History     string
	// Changes are the conference's history, newest first, each with a
	// link to what the public saw just after it (?as_of=).
	Changes      []historyView
	CanDecide    bool // approve and reject: pending
	CanCancel    bool
	CanEdit      bool
	Notice       string
	Conflict     string
	ReasonErrors []string
	Reason       string
	Duplicates   []duplicateView
	Idem         string
	Req          requestsView
}

// load reads a conference from the log, answering 404 or 503 itself.
func (m *modPages) load(w http.ResponseWriter, r *http.Request, id string) (*domain.Conference, bool) {
	c, err := m.mod.Conference(r.Context(), id)
	switch {
	case err == nil:
		return c, true
	case errors.Is(err, domain.ErrNotFound):
		m.s.message(w, r, http.StatusNotFound, "moderation", "moderation", "Conference not found", "There is no conference "+strconv.Quote(id)+".")
	default:
		if httpapi.ClientGone(r, err) {
			httpapi.AnswerClientGone(w, r, m.s.log, err)
			return nil, false
		}
		m.s.log.Error("moderation page: load conference", slog.String("id", id), slog.Any("err", err))
		m.s.message(w, r, http.StatusServiceUnavailable, "moderation", "moderation", "Try again in a moment", "The conference could not be read just now.")
	}
	return nil, false
}

func (m *modPages) moderatePage(w http.ResponseWriter, r *http.Request, status int, sess auth.Identity, c *domain.Conference, d moderateData) {
	d.editorBase = m.base(r, sess)
	cc := calendar.Conference{ID: c.ID, Status: c.Status, Version: c.Version, Details: c.Details}
	d.V = newConference(m.s.dir.Snapshot(), cc)
	d.Status, d.Version, d.Contact = c.Status, c.Version, c.Contact
	d.Description, d.Format = paragraphs(c.Details.Description), formatLabel(c.Details.Format)
	if !c.Details.AllDay {
		d.Timezone = c.Details.Timezone
	}
	d.Mailto = mailto(c.Contact.Email, c.Details.Title)
	d.Submitted = c.Created.UTC().Format("January 2, 2006, 15:04 UTC")
	d.Updated = c.Updated.UTC().Format("January 2, 2006, 15:04 UTC")
	if c.Status.Public() {
		d.Public, d.History = "/conferences/"+c.ID, "/api/v1/conferences/"+c.ID+"/history"
	}
	d.Changes = m.history(r, c.ID)
	d.CanDecide = c.Status == domain.StatusPending
	d.CanCancel = c.Status == domain.StatusApproved
	d.CanEdit = c.Status == domain.StatusPending || c.Status == domain.StatusApproved
	d.Duplicates = m.s.duplicates(c.Details, m.mod.Queue(), c.ID)
	d.Idem = newKey()
	d.Req = requestsOf(c, d.CSRF, d.Idem)
	m.s.page(w, r, status, "moderation", "moderate", layoutData{Title: c.Details.Title + " (" + string(c.Status) + ")", Section: "moderation", Body: d})
}

// historyView is one entry of a conference's history on its moderation
// page.
type historyView struct {
	When, Type, Actor, Reason string
	// AsOf and AsOfICS show the conference as the public saw it just
	// after the entry (the read API and the conference's feed with
	// ?as_of=, answered by the projectors from the log's prefix); empty
	// while it was not public.
	AsOf, AsOfICS string
}

// eventName is an event type without its schema version:
// conference.submitted for conference.submitted.v2.
func eventName(typ string) string {
	if i := strings.LastIndex(typ, ".v"); i > 0 {
		if _, err := strconv.Atoi(typ[i+2:]); err == nil {
			return typ[:i]
		}
	}
	return typ
}

// history is the conference's history, newest first, with links to the
// public's view at each entry. A failure to read it leaves it out.
func (m *modPages) history(r *http.Request, id string) []historyView {
	h, err := m.mod.History(r.Context(), id)
	if err != nil {
		m.s.log.Warn("moderation page: history", slog.String("id", id), slog.Any("err", err))
		return nil
	}
	out := make([]historyView, 0, len(h))
	for _, e := range h {
		v := historyView{When: e.Time.UTC().Format("January 2, 2006, 15:04:05 UTC"), Type: eventName(e.Type), Actor: e.Actor,
			Reason: cmp.Or(e.Reason, e.Note)}
		if e.Public {
			q := "?as_of=" + url.QueryEscape(e.Time.UTC().Format(time.RFC3339Nano))
			v.AsOf, v.AsOfICS = "/api/v1/conferences/"+url.PathEscape(id)+q, "/conferences/"+url.PathEscape(id)+".ics"+q
		}
		out = append(out, v)
	}
	slices.Reverse(out)
	return out
}

func (m *modPages) handleConference(w http.ResponseWriter, r *http.Request, sess auth.Identity) {
	c, ok := m.load(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	q := r.URL.Query()
	q.Set("id", c.ID)
	m.moderatePage(w, r, http.StatusOK, sess, c, moderateData{Notice: m.flash(r.Context(), q)})
}

// outcome is the status a decision leads to.
func outcome(d moderation.Decision) domain.Status {
	switch d {
	case moderation.Approve:
		return domain.StatusApproved
	case moderation.Reject:
		return domain.StatusRejected
	}
	return domain.StatusCancelled
}

func (m *modPages) handleDecision(dec moderation.Decision) func(http.ResponseWriter, *http.Request, auth.Identity) {
	return func(w http.ResponseWriter, r *http.Request, sess auth.Identity) {
		id := r.PathValue("id")
		version, err := strconv.ParseUint(r.PostForm.Get("version"), 10, 64)
		if err != nil || version == 0 {
			m.s.message(w, r, http.StatusBadRequest, "moderation", "moderation", "Nothing was changed", "The form did not say which version of the conference you saw. Reload the page and try again.")
			return
		}
		reason := r.PostForm.Get("reason")
		res, err := m.mod.Decide(r.Context(), moderation.Command{ID: id, IfMatch: version, Editor: sess.Editor,
			Key: "web:" + string(dec) + ":" + idemOf(r)}, dec, reason)
		var (
			ve  *domain.VersionError
			te  *domain.TransitionError
			val *domain.ValidationError
		)
		switch {
		case err == nil:
			if r.PostForm.Get("return") == "queue" {
				m.redirect(w, r, fmt.Sprintf("/moderation?done=%s&id=%s&v=%d", dec, url.QueryEscape(id), res.Version))
			} else {
				m.redirect(w, r, fmt.Sprintf("/moderation/conferences/%s?done=%s", url.PathEscape(id), dec))
			}
			return
		case errors.As(err, &val) && dec == moderation.AcceptProposal:
			// The proposal, carried over onto the details as they are now,
			// does not validate (a date now past, an edit since).
			c, ok := m.load(w, r, id)
			if !ok {
				return
			}
			var msgs []string
			for _, f := range val.Fields {
				msgs = append(msgs, f.Field+" "+f.Message)
			}
			m.moderatePage(w, r, http.StatusUnprocessableEntity, sess, c, moderateData{Conflict: "The proposed changes cannot be accepted as they are (" +
				strings.Join(msgs, "; ") + "). Edit the conference yourself, or decline the proposal with a reason. Nothing was changed."})
			return
		case errors.As(err, &val):
			c, ok := m.load(w, r, id)
			if !ok {
				return
			}
			errs, _ := validationErrors(val)
			m.moderatePage(w, r, http.StatusUnprocessableEntity, sess, c, moderateData{ReasonErrors: errs["title"], Reason: reason})
			return
		case errors.As(err, &ve), errors.As(err, &te):
			c, ok := m.load(w, r, id)
			if !ok {
				return
			}
			msg := fmt.Sprintf("Someone else changed this conference first: you saw version %d, and it is now version %d (%s). Nothing was changed. Here is the current version: decide again.",
				version, c.Version, c.Status)
			switch {
			case moderation.IsAnswer(dec) && c.Version == version:
				msg = "The organiser's request was answered or withdrawn already. Nothing was changed."
			case moderation.IsAnswer(dec):
			case c.Status == outcome(dec):
				msg = fmt.Sprintf("This conference is already %s (version %d), perhaps by this very form a moment ago. Nothing more was changed.", c.Status, c.Version)
			case te != nil && c.Version == version:
				msg = fmt.Sprintf("A conference that is %s cannot be %s. Nothing was changed.", c.Status, pastTense(dec))
			}
			m.moderatePage(w, r, http.StatusConflict, sess, c, moderateData{Conflict: msg, Reason: reason})
			return
		case errors.Is(err, domain.ErrNotFound):
			m.s.message(w, r, http.StatusNotFound, "moderation", "moderation", "Conference not found", "There is no conference "+strconv.Quote(id)+".")
			return
		}
		if httpapi.ClientGone(r, err) {
			httpapi.AnswerClientGone(w, r, m.s.log, err)
			return
		}
		m.s.log.Error("moderation page: decision failed", slog.String("id", id), slog.String("decision", string(dec)), slog.Any("err", err))
		m.s.message(w, r, http.StatusServiceUnavailable, "moderation", "moderation", "Nothing was changed",
			"The decision could not be saved just now. Go back and try again in a moment.")
	}
}

func pastTense(d moderation.Decision) string {
	switch d {
	case moderation.Approve:
		return "approved"
	case moderation.Reject:
		return "rejected"
	}
	return "cancelled"
}

// idemOf is the form's idempotency key, or a new one.
func idemOf(r *http.Request) string {
	k := r.PostForm.Get("idem")
	if len(k) == 0 || len(k) > 64 || !domain.ValidID(k) {
		return newKey()
	}
	return k
}

// yoursBudget bounds the escaped text of "what you had typed" on a
// conflict, which the form of the current version already fills.
const yoursBudget = 6 << 10

type yourValue struct {
	Label, Value string
}

type editData struct {
	editorBase
	ID, Title string
	Status    domain.Status
	Version   uint64
	Fields    fieldsView
	Summary   []summaryItem
	Conflict  string
	Yours     []yourValue
	Idem      string
}

func (m *modPages) editPage(w http.ResponseWriter, r *http.Request, status int, sess auth.Identity, c *domain.Conference, d editData) {
	d.editorBase = m.base(r, sess)
	d.ID, d.Title, d.Status = c.ID, c.Details.Title, c.Status
	if d.Version == 0 {
		d.Version = c.Version
	}
	d.Idem = newKey()
	title := "Edit: " + c.Details.Title
	if len(d.Summary) > 0 {
		title = "Error: " + title
	}
	m.s.page(w, r, status, "moderation", "edit", layoutData{Title: title, Section: "moderation", Body: d})
}

// sponsorName shows a sponsor under the directory's current name.
func (m *modPages) sponsorName(sp domain.Sponsor) string {
	if sp.ID != "" {
		if res, ok := m.s.dir.Snapshot().Get(sp.ID); ok {
			return res.Details.Name
		}
	}
	return sp.Name
}

func (m *modPages) handleEditForm(w http.ResponseWriter, r *http.Request, sess auth.Identity) {
	c, ok := m.load(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	if c.Status != domain.StatusPending && c.Status != domain.StatusApproved {
		m.moderatePage(w, r, http.StatusConflict, sess, c, moderateData{Conflict: "A conference that is " + string(c.Status) + " cannot be edited."})
		return
	}
	m.editPage(w, r, http.StatusOK, sess, c, editData{Fields: newFieldsView(formOf(c.Details, m.sponsorName), nil, false)})
}

func (m *modPages) handleEdit(w http.ResponseWriter, r *http.Request, sess auth.Identity) {
	id := r.PathValue("id")
	f := readForm(r, false)
	version, err := strconv.ParseUint(r.PostForm.Get("version"), 10, 64)
	if err != nil || version == 0 {
		m.s.message(w, r, http.StatusBadRequest, "moderation", "moderation", "Nothing was changed", "The form did not say which version of the conference you edited. Reload the page and try again.")
		return
	}
	res, err := m.mod.Edit(r.Context(), moderation.Command{ID: id, IfMatch: version, Editor: sess.Editor, Key: "web:edit:" + idemOf(r)}, f.patch(m.s.shown))
	var (
		ve  *domain.VersionError
		te  *domain.TransitionError
		val *domain.ValidationError
	)
	switch {
	case err == nil:
		done := "edit"
		if len(res.Changed) == 0 {
			done = "unchanged"
		}
		m.redirect(w, r, fmt.Sprintf("/moderation/conferences/%s?done=%s", url.PathEscape(id), done))
		return
	case errors.As(err, &val):
		c, ok := m.load(w, r, id)
		if !ok {
			return
		}
		errs, sum := validationErrors(val)
		m.editPage(w, r, http.StatusUnprocessableEntity, sess, c, editData{Version: version, Fields: newFieldsView(f, errs, false), Summary: sum})
		return
	case errors.As(err, &ve):
		c, ok := m.load(w, r, id)
		if !ok {
			return
		}
		current := formOf(c.Details, m.sponsorName)
		changed := differences(current, f)
		if len(changed) == 0 {
			// What was typed is what the conference holds now: a second
			// press of Save, or the same change made by someone else.
			m.redirect(w, r, fmt.Sprintf("/moderation/conferences/%s?done=unchanged", url.PathEscape(id)))
			return
		}
		d := editData{Fields: newFieldsView(current, nil, false),
			Conflict: fmt.Sprintf("Someone else changed this conference first: you edited version %d, and it is now version %d. Your changes were not saved. The form below shows the current version; make your changes again.", version, c.Version)}
		yours, budget := f.clamp(false).typed(), yoursBudget
		for _, label := range changed {
			v, _ := cut(yours[label], 200)
			if budget -= escapedLen(v); budget < 0 {
				v = "(changed)"
			}
			d.Yours = append(d.Yours, yourValue{Label: label, Value: v})
		}
		m.editPage(w, r, http.StatusConflict, sess, c, d)
		return
	case errors.As(err, &te):
		c, ok := m.load(w, r, id)
		if !ok {
			return
		}
		m.moderatePage(w, r, http.StatusConflict, sess, c, moderateData{Conflict: "A conference that is " + string(c.Status) + " cannot be edited. Nothing was changed."})
		return
	case errors.Is(err, domain.ErrNotFound):
		m.s.message(w, r, http.StatusNotFound, "moderation", "moderation", "Conference not found", "There is no conference "+strconv.Quote(id)+".")
		return
	}
	if httpapi.ClientGone(r, err) {
		httpapi.AnswerClientGone(w, r, m.s.log, err)
		return
	}
	m.s.log.Error("moderation page: edit failed", slog.String("id", id), slog.Any("err", err))
	m.s.message(w, r, http.StatusServiceUnavailable, "moderation", "moderation", "Nothing was changed",
		"The edit could not be saved just now. Go back and try again in a moment.")
}
