package moderation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
)

// Bulk decisions. Rejection, to clean up a flood: an editor rejects many
// pending conferences at once — those they selected, or every one from the
// organiser of a given conference. Approval, to clear a queue of good
// submissions: the same selection, approved. Each rejection is its own event, decided
// and appended like a single one (the conference's state in the log, its
// version checked), so the history of every conference says who rejected
// it and why. Editors' appends never pass the intake gate and may use the
// log's reserve, so a flood never stops its own clean-up.

// BulkLimit bounds the conferences one bulk rejection decides; an
// organiser with more pending ones needs another (the answer says how many
// remain).
const BulkLimit = 500

// bulkWorkers decide in parallel: each rejection waits for its append.
const bulkWorkers = 8

// BulkRequest is a bulk rejection: the conferences (IDs), or every pending
// conference of the organiser of ContactOf (a conference id), with one
// reason for all.
type BulkRequest struct {
	IDs       []string `json:"ids,omitempty"`
	ContactOf string   `json:"contact_of,omitempty"`
	Reason    string   `json:"reason,omitempty"`
}

// BulkResult says what a bulk rejection did: the conferences rejected
// (with their new versions), those skipped (already decided, unknown), and
// how many of the organiser's (ContactOf) still wait past BulkLimit.
type BulkResult struct {
	Rejected  []Result      `json:"rejected,omitempty"`
	Approved  []Result      `json:"approved,omitempty"`
	Skipped   []BulkSkipped `json:"skipped"`
	Remaining int           `json:"remaining"`
}

// BulkSkipped is a conference a bulk rejection left as it was, and why.
type BulkSkipped struct {
	ID     string        `json:"id"`
	Status domain.Status `json:"status,omitempty"`
	Reason string        `json:"reason"`
}

// Select resolves a bulk request to the conferences it rejects, at most
// BulkLimit, and how many more it would have named.
func (m *Moderation) Select(ctx context.Context, req BulkRequest) ([]string, int, error) {
	if len(req.IDs) > 0 && req.ContactOf != "" {
		return nil, 0, &httpapi.Error{Status: http.StatusBadRequest, Title: "Ambiguous selection",
			Fields: []domain.FieldError{{Field: "contact_of", Code: "invalid", Message: "give ids or contact_of, not both"}}}
	}
	if req.ContactOf != "" {
		c, err := m.Conference(ctx, req.ContactOf)
		if errors.Is(err, domain.ErrNotFound) {
			return nil, 0, &httpapi.Error{Status: http.StatusUnprocessableEntity, Title: "Unknown conference",
				Fields: []domain.FieldError{{Field: "contact_of", Code: "unknown", Message: "must be the id of a submitted conference"}}}
		}
		if err != nil {
			return nil, 0, err
		}
		pending, n := m.queue.ByContact(c.Contact.Email, BulkLimit)
		ids := make([]string, len(pending))
		for i, p := range pending {
			ids[i] = p.ID
		}
		return ids, n - len(ids), nil
	}
	if len(req.IDs) == 0 {
		return nil, 0, &httpapi.Error{Status: http.StatusBadRequest, Title: "Nothing selected",
			Fields: []domain.FieldError{{Field: "ids", Code: "required", Message: "give the ids to reject, or contact_of"}}}
	}
	if len(req.IDs) > BulkLimit {
		return nil, 0, &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Title: "Too many conferences",
			Fields: []domain.FieldError{{Field: "ids", Code: "too_many", Message: "at most 500 at once"}}}
	}
	seen := map[string]bool{}
	var ids []string
	for _, id := range req.IDs {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, 0, nil
}

// RejectMany rejects each conference with the reason, each its own event
// with its own version check; conferences that are not pending are
// skipped. key makes a retry of the whole request safe. An invalid reason
// refuses the whole request (a *domain.ValidationError) before anything
// is appended; a failure of the log stops it, with what was done so far.
func (m *Moderation) RejectMany(ctx context.Context, ids []string, reason, editor, key string) (BulkResult, error) {
	return m.DecideMany(ctx, ids, Reject, reason, editor, key)
}

// DecideMany gives decision d (Approve or Reject), with one reason or note,
// to each conference: RejectMany's rules, each decision its own event.
func (m *Moderation) DecideMany(ctx context.Context, ids []string, d Decision, reason, editor, key string) (BulkResult, error) {
	out := BulkResult{Skipped: []BulkSkipped{}}
	done := &out.Rejected
	probe := (&domain.Conference{Status: domain.StatusPending}).Reject
	switch d {
	case Reject:
	case Approve:
		done, probe = &out.Approved, (&domain.Conference{Status: domain.StatusPending}).Approve
	default:
		return out, fmt.Errorf("moderation: no bulk %q", d)
	}
	*done = []Result{}
	if len(ids) == 0 {
		return out, nil
	}
	if _, err := probe(reason); err != nil {
		return out, err
	}
	var (
		mu   sync.Mutex
		fail error
		next = make(chan string)
		wg   sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range min(bulkWorkers, len(ids)) {
		wg.Go(func() {
			for id := range next {
				res, err := m.Decide(ctx, Command{ID: id, Editor: editor, Key: key}, d, reason)
				var te *domain.TransitionError
				mu.Lock()
				switch {
				case err == nil:
					*done = append(*done, res)
				case errors.As(err, &te):
					out.Skipped = append(out.Skipped, BulkSkipped{ID: id, Status: te.Status, Reason: "not pending"})
				case errors.Is(err, domain.ErrNotFound):
					out.Skipped = append(out.Skipped, BulkSkipped{ID: id, Reason: "unknown"})
				default:
					if fail == nil {
						fail = err
						cancel()
					}
				}
				mu.Unlock()
			}
		})
	}
	for _, id := range ids {
		select {
		case next <- id:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return out, fail
}

func (m *Moderation) handleBulkReject(w http.ResponseWriter, r *http.Request, editor string) {
	m.handleBulk(w, r, editor, Reject)
}

func (m *Moderation) handleBulkApprove(w http.ResponseWriter, r *http.Request, editor string) {
	m.handleBulk(w, r, editor, Approve)
}

func (m *Moderation) handleBulk(w http.ResponseWriter, r *http.Request, editor string, d Decision) {
	var req BulkRequest
	if err := httpapi.Decode(w, r, httpapi.MaxBodyBytes, &req); err != nil {
		httpapi.WriteError(w, r, m.logger, err)
		return
	}
	ids, more, err := m.Select(r.Context(), req)
	if err != nil {
		httpapi.WriteError(w, r, m.logger, err)
		return
	}
	res, err := m.DecideMany(r.Context(), ids, d, req.Reason, editor, r.Header.Get("Idempotency-Key"))
	if err != nil {
		httpapi.WriteError(w, r, m.logger, err)
		return
	}
	res.Remaining = more
	w.Header().Set("Cache-Control", "no-store")
	httpapi.Write(w, http.StatusOK, res)
}
