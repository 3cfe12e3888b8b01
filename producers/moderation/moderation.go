// Package moderation owns the editors' side of the conference log:
// approving, rejecting, cancelling and editing conferences, each decided on
// the conference's state as the log holds it and appended only if no other
// change came first (optimistic concurrency on the aggregate's subject).
//
// Every route requires an editor; the auth middleware in front of it says
// who the editor is. It imports the domain package, eventlog, httpapi
// and internal packages; never a projection: the queue it lists comes through the Queue interface.
package moderation

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/httpapi"
)

// Pending is a conference waiting for a decision, as the queue's read
// model has it: enough to order and page the queue and to show it where
// the log cannot be read (Title, Start, End, Where are clipped). Pages show
// the conference as the log holds it (Conference).
type Pending struct {
	ID        string
	Version   uint64
	Submitted time.Time
	Title     string
	Start     string
	End       string
	Where     string
}

// Queue is the conferences waiting for a decision, oldest first (by
// submission time, then id; the cursor relies on it), paged: an editors'
// process holds the queue's order, not the submissions. The read model
// behind it may lag the log by a moment.
type Queue interface {
	// Page lists up to limit conferences after the place (submitted, id)
	// of the previous page's last one (zero: from the oldest), and how many
	// wait from that place on.
	Page(afterSubmitted time.Time, afterID string, limit int) ([]Pending, int)
	// Len is how many wait.
	Len() int
	// Place is a waiting conference's submission time (false when it is
	// not waiting).
	Place(id string) (time.Time, bool)
	// ByContact lists up to limit waiting conferences of the organiser
	// with this e-mail (in any case), oldest first, and how many there are.
	ByContact(email string, limit int) ([]Pending, int)
	// Similar lists up to limit waiting conferences that may be the same
	// as one with details d (the same title and dates, or web address),
	// except exclude, with why each is similar.
	Similar(d domain.ConferenceDetails, exclude string, limit int) ([]Pending, []string)
}

// SponsorLinker links sponsor names in an edit to resources of the
// directory; names it does not know stay text.
type SponsorLinker interface {
	LinkSponsors(sponsors []domain.Sponsor) []domain.Sponsor
}

// Moderation decides on conferences. Safe for concurrent use.
type Moderation struct {
	log      *eventlog.Log
	queue    Queue
	logger   *slog.Logger
	sponsors SponsorLinker
	planner  Planner // schedule.go; nil: nothing can be planned
}

// New returns a Moderation over log; queue lists pending conferences and
// sponsors (may be nil) links sponsor names in edits.
func New(log *eventlog.Log, queue Queue, logger *slog.Logger, sponsors SponsorLinker) *Moderation {
	return &Moderation{log: log, queue: queue, logger: logger, sponsors: sponsors}
}

// Result answers a decision or an edit.
type Result struct {
	ID      string        `json:"id"`
	Status  domain.Status `json:"status"`
	Version uint64        `json:"version"`
	// Changed lists the fields an edit changed; empty when nothing changed
	// and nothing was appended.
	Changed []string `json:"changed,omitempty"`
	// Scheduled is the plan a command for later made (schedule.go).
	Scheduled *domain.Schedule `json:"scheduled,omitempty"`
}

// Decision is one of the commands an editor gives on a conference.
type Decision string

const (
	Approve Decision = "approve"
	Reject  Decision = "reject"
	Cancel  Decision = "cancel"
)

// maxAttempts bounds how often a command is re-decided when another change
// lands between loading the conference and appending.
const maxAttempts = 3

// Command says which conference an editor's command is about and what
// makes it safe: every decision and edit carries one.
type Command struct {
	// ID is the conference's.
	ID string
	// IfMatch, when not 0, is the version the editor saw: if the
	// conference changed since, the command is refused with a
	// *domain.VersionError and nothing is appended. Edits require it.
	IfMatch uint64
	// Editor is who gives the command: the event's actor.
	Editor string
	// Key is the client's Idempotency-Key: a retry of the same command
	// with the same key appends nothing and answers what the first did.
	// Empty: every command is new.
	Key string
}

// Decide applies decision d, with its reason, to the conference of cmd.
func (m *Moderation) Decide(ctx context.Context, cmd Command, d Decision, reason string) (Result, error) {
	id := cmd.ID
	if IsAnswer(d) && cmd.IfMatch == 0 {
		return Result{}, domain.ErrPreconditionRequired // requests.go
	}
	return m.command(ctx, id, cmd.IfMatch, cmd.Editor, commandID(id, cmd.Key, string(d), []byte(reason)), func(c *domain.Conference) (domain.Event, error) {
		switch d {
		case Approve:
			return c.Approve(reason)
		case Reject:
			return c.Reject(reason)
		case Cancel:
			return c.Cancel(reason)
		case Unpublish:
			return c.Unpublish(reason)
		case AcceptProposal, DeclineProposal, DeclineCancellation:
			return m.answerRequest(c, d, reason) // requests.go
		}
		return nil, fmt.Errorf("moderation: unknown decision %q", d)
	})
}

// Edit applies a partial update to the conference of cmd: fields present
// in patch (a JSON object with the submission's field names) replace the
// current ones, absent fields stay. The result is validated like a
// submission. cmd.IfMatch is required.
func (m *Moderation) Edit(ctx context.Context, cmd Command, patch []byte) (Result, error) {
	if cmd.IfMatch == 0 {
		return Result{}, domain.ErrPreconditionRequired
	}
	id := cmd.ID
	return m.command(ctx, id, cmd.IfMatch, cmd.Editor, commandID(id, cmd.Key, "edit", patch), func(c *domain.Conference) (domain.Event, error) {
		in := c.Details.Input()
		if err := httpapi.DecodeBytes(patch, &in); err != nil {
			return nil, err
		}
		d, err := domain.ValidateDetails(in, time.Now())
		if err != nil {
			return nil, err
		}
		if m.sponsors != nil {
			d.Sponsors = m.sponsors.LinkSponsors(d.Sponsors)
		}
		return c.Update(d)
	})
}

// commandNamespace derives event ids from idempotency keys (UUIDv5).
var commandNamespace = uuid.MustParse("b7e4c2d1-3f6a-4b8e-9c0d-5a1f2e3d4c5b")

// commandID is the event id a command gets: derived from the client's
// Idempotency-Key and what the command says, so a retry of the same
// command finds its event in the log, and another command under the same
// key does not. Without a key every command is new.
func commandID(id, key, name string, body []byte) string {
	if key == "" {
		return uuid.Must(uuid.NewV7()).String()
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(id), []byte(key), []byte(name), body} {
		h.Write(part)
		h.Write([]byte{0})
	}
	return uuid.NewSHA1(commandNamespace, h.Sum(nil)).String()
}

// command loads the conference, decides, and appends the event expecting
// the version it decided on; when another change lands first and the editor
// named no version, it decides again on the new state. A command whose
// event (eventID) is already in the log was done by an earlier attempt: it
// is answered as done, whatever happened since.
func (m *Moderation) command(ctx context.Context, id string, ifMatch uint64, editor, eventID string,
	decide func(*domain.Conference) (domain.Event, error)) (Result, error) {
	for attempt := 1; ; attempt++ {
		c, recs, err := eventlog.Fold[domain.Conference](ctx, m.log, id)
		if err != nil {
			return Result{}, err
		}
		for _, r := range recs {
			if r.ID == eventID {
				res := Result{ID: id, Status: c.Status, Version: c.Version}
				if u, ok := r.Event.(domain.ConferenceUpdated); ok {
					res.Changed = u.Changed
				}
				return res, nil
			}
		}
		if ifMatch != 0 && ifMatch != c.Version {
			return Result{}, &domain.VersionError{Expected: ifMatch, Current: c.Version}
		}
		ev, err := decide(c)
		if err != nil {
			return Result{}, err
		}
		if ev == nil { // an edit that changes nothing
			return Result{ID: id, Status: c.Status, Version: c.Version}, nil
		}
		env, err := domain.NewEnvelope(eventID, id, editor, time.Now(), ev)
		if err != nil {
			return Result{}, err
		}
		a, err := m.log.Append(ctx, env, "edit:"+id+":"+eventID, c.Version)
		var ve *domain.VersionError
		if errors.As(err, &ve) && ifMatch == 0 && attempt < maxAttempts {
			continue
		}
		if err != nil {
			return Result{}, err
		}
		c.Apply(domain.Record{Seq: a.Seq, Envelope: env, Event: ev})
		r := Result{ID: id, Status: c.Status, Version: a.Seq}
		if u, ok := ev.(domain.ConferenceUpdated); ok {
			r.Changed = u.Changed
		}
		return r, nil
	}
}

// Routes are the editors' routes, every one for editors only.
func (m *Moderation) Routes() []httpapi.Route {
	editors := func(pattern string, h func(http.ResponseWriter, *http.Request, string)) httpapi.Route {
		return httpapi.Route{Pattern: pattern, Handler: httpapi.Editor(m.logger, h), Editors: true}
	}
	routes := []httpapi.Route{editors("GET /api/v1/moderation/queue", m.handleQueue)}
	for _, d := range append([]Decision{Approve, Reject, Cancel, Unpublish}, Answers...) {
		routes = append(routes, editors("POST /api/v1/conferences/{id}/"+string(d), m.handleDecision(d)))
	}
	return append(routes,
		editors("DELETE /api/v1/conferences/{id}/schedules/{schedule}", m.handleCallOff), // schedule.go
		editors("PATCH /api/v1/conferences/{id}", m.handleEdit),
		editors("GET /api/v1/moderation/conferences/{id}", m.handleConference),
		editors("POST /api/v1/moderation/reject", m.handleBulkReject), // bulk.go
		editors("POST /api/v1/moderation/approve", m.handleBulkApprove))
}

// ConferenceView is a conference as editors see it: every status, and the
// organiser's contact.
type ConferenceView struct {
	ID        string                   `json:"id"`
	Status    domain.Status            `json:"status"`
	Version   uint64                   `json:"version"`
	Submitted time.Time                `json:"submitted"`
	Updated   time.Time                `json:"updated"`
	Details   domain.ConferenceDetails `json:"details"`
	Contact   domain.Contact           `json:"contact"`
	// Scheduled are its pending plans, soonest first; absent when there
	// are none (so the answers of a log without plans stay what they were:
	// the golden log, cmd/jevents/service/testdata/goldenlog).
	Scheduled []domain.Schedule `json:"scheduled,omitempty"`
	// Proposal and CancellationRequest are the organiser's open requests
	// (requests.go); absent when none is open.
	Proposal            *ProposalView `json:"proposal,omitempty"`
	CancellationRequest *RequestView  `json:"cancellation_request,omitempty"`
}

// handleConference shows any conference, as the log holds it, to editors.
func (m *Moderation) handleConference(w http.ResponseWriter, r *http.Request, _ string) {
	c, err := m.Conference(r.Context(), r.PathValue("id"))
	if err != nil {
		httpapi.WriteError(w, r, m.logger, err)
		return
	}
	httpapi.WriteVersion(w, c.Version)
	w.Header().Set("Cache-Control", "private, no-store")
	v := ConferenceView{ID: c.ID, Status: c.Status, Version: c.Version,
		Submitted: c.Created, Updated: c.Updated, Details: c.Details, Contact: c.Contact, Scheduled: scheduled(c)}
	v.Proposal, v.CancellationRequest = requestsOf(c)
	httpapi.Write(w, http.StatusOK, v)
}

// scheduled is c's pending plans.
func scheduled(c *domain.Conference) []domain.Schedule { return c.Schedules.Pending() }

// QueueItem is one entry of the moderation queue, with the organiser's
// contact, which only editors see.
type QueueItem struct {
	ID        string                   `json:"id"`
	Version   uint64                   `json:"version"`
	Submitted time.Time                `json:"submitted"`
	Details   domain.ConferenceDetails `json:"details"`
	Contact   *domain.Contact          `json:"contact,omitempty"`
	// Scheduled are its pending plans (an embargoed publication).
	Scheduled []domain.Schedule `json:"scheduled,omitempty"`
	// ReimportOf flags an .ics re-import of a conference already decided
	// (published, cancelled or rejected): the file's new version of it,
	// for an editor to carry over (edit that one, reject this one).
	ReimportOf string `json:"reimport_of,omitempty"`
	// Status is set when the conference is not pending: a decided one
	// waits for an answer to its organiser's request (Proposal,
	// CancellationRequest; requests.go); absent: pending.
	Status              domain.Status `json:"status,omitempty"`
	Proposal            *ProposalView `json:"proposal,omitempty"`
	CancellationRequest *RequestView  `json:"cancellation_request,omitempty"`
}

// QueuePage is one page of the queue.
type QueuePage struct {
	Total int         `json:"total"`
	Items []QueueItem `json:"items"`
}

func (m *Moderation) handleQueue(w http.ResponseWriter, r *http.Request, _ string) {
	limit := 50
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			httpapi.WriteError(w, r, m.logger, &httpapi.Error{Status: http.StatusBadRequest, Title: "Invalid limit",
				Fields: []domain.FieldError{{Field: "limit", Code: "invalid", Message: "must be a number from 1 to 500"}}})
			return
		}
		limit = n
	}
	// after names the last conference of the previous page; the page goes
	// on from its place in the order (submitted, id), even when it has been
	// decided since and left the queue.
	after := r.URL.Query().Get("after")
	afterAt, err := m.Cursor(r.Context(), after)
	if err != nil {
		httpapi.WriteError(w, r, m.logger, &httpapi.Error{Status: http.StatusBadRequest, Title: "Invalid cursor",
			Fields: []domain.FieldError{{Field: "after", Code: "unknown", Message: "must be the id of a submitted conference"}}})
		return
	}
	pending, rest := m.queue.Page(afterAt, after, limit)
	page := QueuePage{Total: rest, Items: []QueueItem{}}
	// The page's conferences as the log holds them (it may be ahead of the
	// read model), with the organiser's contact; the read model's entry
	// where the log cannot be read.
	for _, p := range pending {
		item := QueueItem{ID: p.ID, Version: p.Version, Submitted: p.Submitted,
			Details: domain.ConferenceDetails{Title: p.Title, Start: p.Start, End: p.End}}
		if c, _, err := eventlog.Fold[domain.Conference](r.Context(), m.log, p.ID); err == nil {
			if !c.Waiting() {
				continue // decided since the read model saw it
			}
			item.Version, item.Details, item.Contact, item.Scheduled, item.ReimportOf = c.Version, c.Details, &c.Contact, c.Schedules.Pending(), c.ReimportOf
			item.Proposal, item.CancellationRequest = requestsOf(c)
			if c.Status != domain.StatusPending {
				item.Status = c.Status
			}
		}
		page.Items = append(page.Items, item)
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.Write(w, http.StatusOK, page)
}

// Cursor is the place in the queue's order of the conference id, the last
// of a previous page: its submission time, from the queue or, once it
// left the queue, from the log. "" is the start.
func (m *Moderation) Cursor(ctx context.Context, id string) (time.Time, error) {
	if id == "" {
		return time.Time{}, nil
	}
	if at, ok := m.queue.Place(id); ok {
		return at, nil
	}
	c, _, err := eventlog.Fold[domain.Conference](ctx, m.log, id)
	if err != nil {
		return time.Time{}, err
	}
	return c.Queued, nil // where the queue had it (domain.Conference.Queued)
}

func (m *Moderation) handleDecision(d Decision) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, editor string) {
		c, err := httpapi.ReadCommand(w, r)
		if err != nil {
			httpapi.WriteError(w, r, m.logger, err)
			return
		}
		// approve takes publish_at (an embargo), cancel and unpublish
		// take at; reject happens now.
		at, other := c.At, c.PublishAt
		field := "publish_at"
		if IsAnswer(d) && !at.IsZero() {
			at, other, field = time.Time{}, at, "at" // answers are given now
		}
		if d == Approve {
			at, other, field = c.PublishAt, c.At, "at"
		}
		if !other.IsZero() || (d == Reject && !at.IsZero()) {
			if d == Reject && !at.IsZero() {
				field = "at"
			}
			httpapi.WriteError(w, r, m.logger, &httpapi.Error{Status: http.StatusUnprocessableEntity, Title: "Invalid command",
				Fields: []domain.FieldError{{Field: field, Code: "unknown", Message: "is not a field of " + string(d) + " (approve takes publish_at, cancel and unpublish take at)"}}})
			return
		}
		var res Result
		cmd := Command{ID: r.PathValue("id"), IfMatch: c.IfMatch, Editor: editor, Key: c.Key}
		if at.IsZero() {
			res, err = m.Decide(r.Context(), cmd, d, c.Reason)
		} else {
			res, err = m.Plan(r.Context(), cmd, d, at, c.Reason)
		}
		m.answer(w, r, res, err)
	}
}

func (m *Moderation) handleEdit(w http.ResponseWriter, r *http.Request, editor string) {
	p, err := httpapi.ReadPatch(w, r)
	if err != nil {
		httpapi.WriteError(w, r, m.logger, err)
		return
	}
	if _, ok := p.Fields["contact"]; ok {
		httpapi.WriteError(w, r, m.logger, &httpapi.Error{Status: http.StatusBadRequest, Title: "Unknown field",
			Fields: []domain.FieldError{{Field: "contact", Code: "unknown", Message: "the organiser's contact cannot be edited"}}})
		return
	}
	res, err := m.Edit(r.Context(), Command{ID: r.PathValue("id"), IfMatch: p.IfMatch, Editor: editor, Key: p.Key}, p.Body)
	m.answer(w, r, res, err)
}

func (m *Moderation) answer(w http.ResponseWriter, r *http.Request, res Result, err error) {
	if err != nil {
		httpapi.WriteError(w, r, m.logger, err)
		return
	}
	httpapi.WriteVersion(w, res.Version)
	httpapi.Write(w, http.StatusOK, res)
}
