// Package history owns the change history of conferences and directory
// resources: GET /api/v1/resources/{id}/history and
// GET /api/v1/conferences/{id}/history list every change of one aggregate,
// oldest first, with its time, actor, event type and what changed (each
// field's value before and after), read from the event log.
//
// What it shows:
//   - the organiser's contact of a conference is never shown, to anyone:
//     it lives only in the submission event and is left out here;
//   - anyone may read a resource's history and a published (approved or
//     cancelled) conference's; a pending or rejected conference's history
//     is for editors only, and is 404 to others, as the conference itself is;
//   - to people without an editor token, editors appear as "editor" (not by
//     name) and the notes editors leave with an approval are left out;
//   - the organiser's requests (proposals, cancellation requests, a
//     withdrawal) and the editors' answers to them are for editors and the
//     organiser's private page (OrganiserHistory) only.
//
// It reads the log through the eventlog package, and imports the domain,
// httpapi and internal packages (auth, httpcache); never a producer nor a
// projection.
package history

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/eventlog"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/auth"
	"github.com/justiceevents/jevents/internal/httpcache"
)

// Actors that are shown as they are to everyone.
const (
	actorPublic = "public"
	actorSeed   = "seed"
	// actorEditor is how an editor appears to people without a token.
	actorEditor = "editor"
)

// History is the change list of one aggregate.
type History struct {
	Aggregate string  `json:"aggregate"`
	ID        string  `json:"id"`
	Total     int     `json:"total"`
	Entries   []Entry `json:"entries"`
	// Next is the link to the following page, when there is one.
	Next string `json:"next,omitempty"`
}

// Entry is one event of the aggregate.
type Entry struct {
	// Version is the stream sequence of the event: the aggregate's version
	// after it, as If-Match names it.
	Version uint64    `json:"version"`
	Time    time.Time `json:"time"`
	Actor   string    `json:"actor"`
	Type    string    `json:"type"`
	// Changes lists each field the event set or changed.
	Changes []Change `json:"changes"`
	Reason  string   `json:"reason,omitempty"`
	Note    string   `json:"note,omitempty"`
	Source  string   `json:"source,omitempty"`
}

// Change is one field's value before and after an event, as JSON. From is
// absent when the event created the aggregate.
type Change struct {
	Field string          `json:"field"`
	From  json.RawMessage `json:"from,omitempty"`
	To    json.RawMessage `json:"to"`
}

// Server answers history requests from the log. Safe for concurrent use.
type Server struct {
	log    *eventlog.Log
	logger *slog.Logger
}

// New returns a history server reading log.
func New(log *eventlog.Log, logger *slog.Logger) *Server {
	return &Server{log: log, logger: logger}
}

// Routes are the history routes: anyone's, editors see more (above).
func (s *Server) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Pattern: "GET /api/v1/resources/{id}/history", Handler: s.handle(domain.AggregateResource)},
		{Pattern: "GET /api/v1/conferences/{id}/history", Handler: s.handle(domain.AggregateConference)},
	}
}

// Default and largest page sizes.
const (
	defaultLimit = 200
	maxLimit     = 1000
)

func (s *Server) handle(aggregate string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, editor := auth.From(r.Context())
		after, limit, err := paging(r)
		if err != nil {
			httpapi.WriteError(w, r, s.logger, err)
			return
		}
		id := r.PathValue("id")
		recs, err := s.log.Load(r.Context(), aggregate, id)
		if err != nil {
			httpapi.WriteError(w, r, s.logger, err)
			return
		}
		var h History
		if aggregate == domain.AggregateConference {
			var visible bool
			h, visible = ConferenceHistory(id, recs, editor)
			if !visible {
				httpapi.WriteError(w, r, s.logger, domain.ErrNotFound)
				return
			}
		} else {
			h = ResourceHistory(id, recs, editor)
		}
		h = page(h, after, limit, r.URL.Path)
		body, err := json.Marshal(h)
		if err != nil {
			httpapi.WriteError(w, r, s.logger, err)
			return
		}
		cc := "public, max-age=30"
		if editor {
			cc = "private, no-store"
		}
		var last time.Time
		if n := len(h.Entries); n > 0 {
			last = h.Entries[n-1].Time
		}
		httpcache.Serve(w, r, httpcache.NewEntry(append(body, '\n'), "application/json", cc, last))
	}
}

func paging(r *http.Request) (after uint64, limit int, err error) {
	q := r.URL.Query()
	limit = defaultLimit
	var errs domain.ValidationError
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseUint(v, 10, 64); err != nil {
			errs.Add("after", "invalid", "must be the version of an entry")
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			errs.Add("limit", "invalid", "must be a number from 1 to %d", maxLimit)
		}
		limit = n
	}
	if e := errs.Err(); e != nil {
		return 0, 0, &httpapi.Error{Status: http.StatusBadRequest, Title: "Invalid history query", Fields: errs.Fields}
	}
	return after, limit, nil
}

// page keeps the entries after a version, at most limit of them.
func page(h History, after uint64, limit int, path string) History {
	i := 0
	for i < len(h.Entries) && h.Entries[i].Version <= after {
		i++
	}
	rest := h.Entries[i:]
	if len(rest) > limit {
		rest = rest[:limit]
		h.Next = path + "?after=" + strconv.FormatUint(rest[len(rest)-1].Version, 10) + "&limit=" + strconv.Itoa(limit)
	}
	h.Entries = rest
	return h
}

// actor is how the event's actor is shown.
func actor(a string, editor bool) string {
	if editor || a == actorPublic || a == actorSeed {
		return a
	}
	return actorEditor
}

// ResourceHistory lists a resource's events as changes.
func ResourceHistory(id string, recs []domain.Record, editor bool) History {
	h := History{Aggregate: domain.AggregateResource, ID: id, Total: len(recs), Entries: []Entry{}}
	var prev domain.ResourceDetails
	status := ""
	for _, rec := range recs {
		e := Entry{Version: rec.Seq, Time: rec.Time, Actor: actor(rec.Actor, editor), Type: rec.Type, Changes: []Change{}}
		switch ev := rec.Event.(type) {
		case domain.ResourceAdded:
			e.Changes = append(e.Changes, statusChange("", "active"))
			e.Changes = append(e.Changes, diff(nil, ev.Details, nil)...)
			e.Source = ev.Source
			prev, status = ev.Details, "active"
		case domain.ResourceUpdated:
			e.Changes = diff(prev, ev.Details, ev.Changed)
			prev = ev.Details
		case domain.ResourceRetired:
			e.Changes = append(e.Changes, statusChange(status, "retired"))
			e.Reason, status = ev.Reason, "retired"
		case domain.ResourceRestored:
			e.Changes = append(e.Changes, statusChange(status, "active"))
			e.Reason, status = ev.Reason, "active"
		}
		h.Entries = append(h.Entries, e)
	}
	return h
}

// ConferenceHistory lists a conference's events as changes, without the
// organiser's contact. visible is false when the caller may not see it:
// a conference that is not public, to someone without an editor token.
func ConferenceHistory(id string, recs []domain.Record, editor bool) (h History, visible bool) {
	v := viewPublic
	if editor {
		v = viewEditor
	}
	return conferenceHistory(id, recs, v)
}

// OrganiserHistory is a conference's history as its organiser sees it on
// their private page: every change of their conference, the editors'
// notes and reasons, and their own requests (proposals, cancellation
// requests, a withdrawal) with the editors' answers; editors appear as
// "editor", and plans (an embargo) only once they come due, as to the
// public.
func OrganiserHistory(id string, recs []domain.Record) History {
	h, _ := conferenceHistory(id, recs, viewOrganiser)
	return h
}

// viewer is who reads a history.
type viewer int

const (
	viewPublic viewer = iota
	viewOrganiser
	viewEditor
)

func conferenceHistory(id string, recs []domain.Record, v viewer) (h History, visible bool) {
	editor := v == viewEditor
	if c := domain.Fold[domain.Conference](recs); v == viewPublic && !c.Public() {
		return History{}, false
	}
	h = History{Aggregate: domain.AggregateConference, ID: id, Entries: []Entry{}}
	var prev domain.ConferenceDetails
	var status domain.Status
	plans := map[string]domain.ConferenceScheduled{} // pending, by id
	planned := func(action domain.Action) string { return "scheduled." + string(action) }
	for _, rec := range recs {
		e := Entry{Version: rec.Seq, Time: rec.Time, Actor: actor(rec.Actor, editor), Type: rec.Type, Changes: []Change{}}
		next := status
		switch rec.Event.(type) {
		case domain.ConferenceScheduled, domain.ConferenceScheduleCalledOff, domain.ConferenceScheduleLapsed:
			// Plans are editors' business until they come due (an
			// embargo must not leak): the public sees what they lead to.
			if !editor {
				continue
			}
		}
		// The organiser's requests are theirs and the editors' business,
		// never the public's (a proposal is not what the conference says).
		if v == viewPublic && domain.OrganiserRequest(rec.Event) {
			continue
		}
		switch ev := rec.Event.(type) {
		case domain.ConferenceSubmitted:
			// ev.Contact is private and never leaves the log here.
			next = domain.StatusPending
			e.Changes = append(e.Changes, statusChange("", string(next)))
			e.Changes = append(e.Changes, conferenceDiff(nil, ev.Details, nil)...)
			e.Source = ev.Source
			prev = ev.Details
		case domain.ConferenceUpdated:
			e.Changes = conferenceDiff(&prev, ev.Details, ev.Changed)
			prev = ev.Details
		case domain.ConferenceApproved:
			next = domain.StatusApproved
			if v != viewPublic { // the organiser's mail says it too
				e.Note = ev.Note
			}
		case domain.ConferenceWithdrawn:
			next, e.Reason = domain.StatusWithdrawn, ev.Reason
		case domain.ConferenceChangeProposed:
			// What the organiser proposed, against the details then; the
			// details themselves change only if an editor accepts.
			e.Changes, e.Source = conferenceDiff(&prev, ev.Details, ev.Changed), ev.Source
		case domain.ConferenceProposalDeclined:
			e.Reason = ev.Reason
		case domain.ConferenceCancellationRequested, domain.ConferenceCancellationDeclined:
			e.Reason = reasonOf(ev)
		case domain.ConferenceRejected:
			next, e.Reason = domain.StatusRejected, ev.Reason
		case domain.ConferenceCancelled:
			next, e.Reason = domain.StatusCancelled, ev.Reason
		case domain.ConferenceUnpublished:
			next, e.Reason = domain.StatusUnpublished, ev.Reason
		case domain.ConferenceScheduled:
			c := Change{Field: planned(ev.Action), To: mustJSON(ev.At)}
			if old, ok := plans[ev.Replaces]; ok && ev.Replaces != "" {
				c.From = mustJSON(old.At)
				delete(plans, ev.Replaces)
			}
			plans[ev.Schedule] = ev
			e.Changes, e.Reason = append(e.Changes, c), ev.Reason
		case domain.ConferenceScheduleCalledOff:
			if old, ok := plans[ev.Schedule]; ok {
				e.Changes = append(e.Changes, Change{Field: planned(ev.Action), From: mustJSON(old.At), To: mustJSON(nil)})
				delete(plans, ev.Schedule)
			}
			e.Reason = ev.Reason
		case domain.ConferenceScheduleLapsed:
			if old, ok := plans[ev.Schedule]; ok {
				e.Changes = append(e.Changes, Change{Field: planned(ev.Action), From: mustJSON(old.At), To: mustJSON(nil)})
				delete(plans, ev.Schedule)
			}
			e.Reason = ev.Why
		}
		// An action a plan led to ends it.
		for sid, p := range plans {
			if rec.Type == domain.TypeConferenceRejected ||
				(p.Action == domain.ActionPublish && rec.Type == domain.TypeConferenceApproved) ||
				(p.Action == domain.ActionCancel && rec.Type == domain.TypeConferenceCancelled) ||
				(p.Action == domain.ActionUnpublish && rec.Type == domain.TypeConferenceUnpublished) {
				delete(plans, sid)
			}
		}
		if next != status {
			if _, opens := rec.Event.(domain.ConferenceSubmitted); !opens {
				e.Changes = append(e.Changes, statusChange(string(status), string(next)))
			}
			status = next
		}
		h.Entries = append(h.Entries, e)
	}
	h.Total = len(h.Entries)
	return h, true
}

// reasonOf is the reason a request or its answer gives.
func reasonOf(e domain.Event) string {
	switch ev := e.(type) {
	case domain.ConferenceCancellationRequested:
		return ev.Reason
	case domain.ConferenceCancellationDeclined:
		return ev.Reason
	}
	return ""
}

// conferenceDiff lists the changes of a conference's fields, in the order
// and under the names of domain.ConferenceFields, valued as the details
// store them (an empty field that the details leave out is null): the
// fields named (or, when before is nil, every field the details set,
// with no "from": a submission).
func conferenceDiff(before *domain.ConferenceDetails, after domain.ConferenceDetails, names []string) []Change {
	a := fieldsOf(after)
	out := []Change{}
	if before == nil {
		for _, f := range domain.ConferenceFields {
			if v, ok := a[f.Name]; ok && !empty(v) {
				out = append(out, Change{Field: f.Name, To: v})
			}
		}
		return out
	}
	b := fieldsOf(*before)
	for _, name := range names {
		out = append(out, Change{Field: name, From: orNull(b[name]), To: orNull(a[name])})
	}
	return out
}

func statusChange(from, to string) Change {
	c := Change{Field: "status", To: mustJSON(to)}
	if from != "" {
		c.From = mustJSON(from)
	}
	return c
}

// diff lists the changes between two versions of a details struct, for
// the fields named (or, when fields is nil, every field the new version
// sets, with no "from": a creation).
func diff(before, after any, fields []string) []Change {
	a := fieldsOf(after)
	out := []Change{}
	if fields == nil {
		for _, f := range orderedFields(after) {
			if v, ok := a[f]; ok && !empty(v) {
				out = append(out, Change{Field: f, To: v})
			}
		}
		return out
	}
	b := fieldsOf(before)
	for _, f := range fields {
		out = append(out, Change{Field: f, From: orNull(b[f]), To: orNull(a[f])})
	}
	return out
}

func fieldsOf(v any) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	if v == nil {
		return m
	}
	b, _ := json.Marshal(v)
	_ = json.Unmarshal(b, &m)
	return m
}

// orderedFields lists a struct's JSON field names in declaration order.
func orderedFields(v any) []string {
	b, _ := json.Marshal(v)
	dec := json.NewDecoder(bytes.NewReader(b))
	var out []string
	if _, err := dec.Token(); err != nil {
		return nil
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return out
		}
		if k, ok := t.(string); ok {
			out = append(out, k)
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return out
		}
	}
	return out
}

func empty(v json.RawMessage) bool {
	switch string(v) {
	case `""`, "null", "[]", "{}":
		return true
	}
	return false
}

func orNull(v json.RawMessage) json.RawMessage {
	if len(v) == 0 {
		return json.RawMessage("null")
	}
	return v
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
