package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
	"github.com/justiceevents/jevents/internal/auth"
	"github.com/justiceevents/jevents/producers/moderation"
)

// Bulk decisions from the queue page (the page has no scripts, so every
// choice is a button): rejection, to clean up a flood, and approval:
//   - tick conferences and press "Reject selected" or "Approve selected"
//     (POST /moderation/approve, the same form);
//   - "Reject all on this page": every conference the page shows;
//   - "Reject all N from this organiser" on a conference: every pending
//     conference with the same contact e-mail (up to 500 at a time).
//
// Each rejection is its own event (producers/moderation/bulk.go); the queue
// comes back with a notice of how many were rejected.

// handleBulkReject answers POST /moderation/reject.
func (m *modPages) handleBulkReject(w http.ResponseWriter, r *http.Request, sess auth.Identity) {
	m.handleBulk(w, r, sess, moderation.Reject)
}

// handleBulkApprove answers POST /moderation/approve.
func (m *modPages) handleBulkApprove(w http.ResponseWriter, r *http.Request, sess auth.Identity) {
	m.handleBulk(w, r, sess, moderation.Approve)
}

func (m *modPages) handleBulk(w http.ResponseWriter, r *http.Request, sess auth.Identity, d moderation.Decision) {
	verb, did := "rejected", "rejection"
	if d == moderation.Approve {
		verb, did = "approved", "approval"
	}
	f := r.PostForm
	req := moderation.BulkRequest{Reason: f.Get("reason")}
	switch {
	case f.Get("contact_of") != "":
		req.ContactOf = f.Get("contact_of")
	case f.Get("scope") == "page":
		req.IDs = f["page_id"]
	default:
		req.IDs = f["id"]
	}
	if len(req.IDs) == 0 && req.ContactOf == "" {
		m.redirect(w, r, "/moderation?done=bulk&verb="+verb+"&n=0")
		return
	}
	ids, more, err := m.mod.Select(r.Context(), req)
	if err == nil {
		var res moderation.BulkResult
		res, err = m.mod.DecideMany(r.Context(), ids, d, req.Reason, sess.Editor, "web:bulk:"+string(d)+":"+idemOf(r))
		if err == nil {
			n := len(res.Rejected) + len(res.Approved)
			q := url.Values{"done": {"bulk"}, "verb": {verb}, "n": {strconv.Itoa(n)},
				"skipped": {strconv.Itoa(len(res.Skipped))}, "more": {strconv.Itoa(more)}}
			m.s.log.Info("bulk "+did, slog.String("editor", sess.Editor), slog.Int(verb, n),
				slog.Int("skipped", len(res.Skipped)), slog.Int("remaining", more))
			m.redirect(w, r, "/moderation?"+q.Encode())
			return
		}
	}
	var val *domain.ValidationError
	if errors.As(err, &val) {
		m.s.message(w, r, http.StatusUnprocessableEntity, "moderation", "moderation", "Nothing was "+verb,
			"The reason is too long. Go back, shorten it and try again.")
		return
	}
	if p := errorStatus(err); p > 0 && p < 500 {
		m.s.message(w, r, p, "moderation", "moderation", "Nothing was "+verb, "The selection could not be read. Go back, reload the queue and try again.")
		return
	}
	if httpapi.ClientGone(r, err) {
		httpapi.AnswerClientGone(w, r, m.s.log, err)
		return
	}
	m.s.log.Error("moderation page: bulk "+did+" failed", slog.Any("err", err))
	m.s.message(w, r, http.StatusServiceUnavailable, "moderation", "moderation", "Not everything was "+verb,
		"The decisions could not all be saved just now; those that were are in the queue's history. Go back, reload the queue and try again in a moment.")
}

// bulkFlash says what a bulk decision did.
func bulkFlash(q url.Values) string {
	n, _ := strconv.Atoi(q.Get("n"))
	skipped, _ := strconv.Atoi(q.Get("skipped"))
	more, _ := strconv.Atoi(q.Get("more"))
	verb, Verb := "rejected", "Rejected"
	if q.Get("verb") == "approved" {
		verb, Verb = "approved", "Approved"
	}
	s := "Nothing was selected, so nothing was " + verb + "."
	switch {
	case n == 1:
		s = Verb + " 1 conference."
	case n > 1:
		s = fmt.Sprintf("%s %d conferences.", Verb, n)
	}
	if skipped > 0 {
		s += fmt.Sprintf(" %d had been decided already and were left as they are.", skipped)
	}
	if more > 0 {
		s += fmt.Sprintf(" %d more from the same organiser are still waiting: press the button again.", more)
	}
	return s
}

// errorStatus is the HTTP status an error of the producers maps to
// (httpapi's problem mapping), 0 for none.
func errorStatus(err error) int {
	var he *httpapi.Error
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
}
