// Package calendar owns the calendar read model: one record per public
// conference (published, or cancelled after it was published) with its
// public facts, folded from the conference events. The projector keeps it
// in NATS KV (see projections/engine); feed servers, pages and intake's
// duplicate check read it.
//
// Memory is bounded by what is public, not by the moderation queue: the
// records servers replicate are the keys under KeyPrefix, public
// conferences only, and servers follow those keys alone
// (engine.OnlyKeys(Public)). A conference that is not public yet is kept
// under UnpublishedPrefix, for the projector alone, until an editor
// publishes it (its record moves to KeyPrefix) or rejects it (its record
// is deleted: a rejection is final). Editors read the queue from their own
// read model (projections/review).
//
// The record holds nothing private: the organiser's contact stays in the
// event log. It imports the domain package and projections/engine only.
package calendar

import (
	"fmt"
	"strings"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/engine"
)

// Name is the projection's constant name.
const Name = "calendar"

// KeyPrefix starts the key of every public conference's record.
const KeyPrefix = "conference."

// UnpublishedPrefix starts the key of a conference that is not public yet:
// the projector's memory of its details until it is published.
const UnpublishedPrefix = "unpublished."

// Public is the key filter of the public records: what servers replicate.
const Public = KeyPrefix + ">"

// Key is the record key of a public conference.
func Key(id string) string { return KeyPrefix + id }

// unpublishedKey is the record key of a conference that is not public.
func unpublishedKey(id string) string { return UnpublishedPrefix + id }

// Conference is the read model's record of one conference.
type Conference struct {
	ID     string        `json:"id"`
	Status domain.Status `json:"status"`
	// Version is the stream sequence of the conference's last event; edits
	// send it back as If-Match.
	Version uint64 `json:"version"`
	// Sequence is the iCalendar SEQUENCE: 0 when published, raised by every
	// change after that (RFC 5545 §3.8.7.4).
	Sequence int                      `json:"sequence"`
	Details  domain.ConferenceDetails `json:"details"`
	// Submitted is the time of the submission (CREATED); Updated the time of
	// the last event (DTSTAMP and LAST-MODIFIED); both come from the log, so
	// a rebuild gives the same bytes.
	Submitted time.Time `json:"submitted"`
	Updated   time.Time `json:"updated"`
	// Published is when an editor approved it; zero while pending.
	Published time.Time `json:"published,omitzero"`
	// CancelReason is shown with a cancelled conference.
	CancelReason string `json:"cancel_reason,omitempty"`
}

// Public reports whether the conference appears in feeds and pages: an
// editor published it, and it is still published or was cancelled after.
func (c Conference) Public() bool { return c.Status.Public() && !c.Published.IsZero() }

// Projection folds conference events into Conference records.
type Projection struct{}

var _ engine.Projection[Conference] = Projection{}

// Model is the calendar read model as the engine runs it (the composition
// root's registry lists it): servers replicate its public records only.
var Model = engine.Define[Conference](Projection{}, engine.OnlyKeys(Public))

// Name implements engine.Projection.
func (Projection) Name() string { return Name }

// Subjects implements engine.Projection.
func (Projection) Subjects() []string {
	return []string{domain.AggregateFilter(domain.AggregateConference)}
}

// Apply implements engine.Projection.
func (Projection) Apply(tx *engine.Tx[Conference], r domain.Record) error {
	switch r.Event.(type) {
	case domain.ConferenceScheduled, domain.ConferenceScheduleCalledOff, domain.ConferenceScheduleLapsed:
		// Plans show nothing to the public until they come due, and then
		// the event they lead to does (domain/schedule.go).
		return nil
	}
	if domain.OrganiserRequest(r.Event) {
		// An organiser's request shows nothing until an editor acts on it
		// (an accepted proposal is a conference.updated).
		return nil
	}
	// A model projected before the split holds pending conferences under
	// KeyPrefix too (`jevents rebuild` moves them); both places are read.
	key := unpublishedKey(r.AggregateID)
	c, ok := tx.Get(key)
	if !ok {
		key = Key(r.AggregateID)
		c, ok = tx.Get(key)
	}
	if e, isNew := r.Event.(domain.ConferenceSubmitted); isNew {
		if ok {
			return fmt.Errorf("calendar: conference %s submitted twice", r.AggregateID)
		}
		tx.Put(unpublishedKey(r.AggregateID), Conference{
			ID: r.AggregateID, Status: domain.StatusPending, Version: r.Seq,
			Details: e.Details, Submitted: r.Time, Updated: r.Time,
		})
		return nil
	}
	if !ok {
		return fmt.Errorf("calendar: %s for unknown or rejected conference %s", r.Type, r.AggregateID)
	}
	wasPublic := c.Public()
	// A conference published again after an unpublication is a new
	// version of the event calendar apps had: its SEQUENCE goes on.
	republished := false
	switch e := r.Event.(type) {
	case domain.ConferenceUpdated:
		c.Details = e.Details
	case domain.ConferenceApproved:
		republished = !c.Published.IsZero()
		c.Status = domain.StatusApproved
		c.Published = r.Time
		c.CancelReason = ""
	case domain.ConferenceRejected:
		c.Status = domain.StatusRejected
	case domain.ConferenceCancelled:
		c.Status = domain.StatusCancelled
		c.CancelReason = e.Reason
	case domain.ConferenceUnpublished:
		c.Status = domain.StatusUnpublished
	case domain.ConferenceWithdrawn:
		c.Status = domain.StatusWithdrawn
	default:
		return fmt.Errorf("calendar: unexpected event %s", r.Type)
	}
	if wasPublic || republished {
		c.Sequence++
	}
	c.Version, c.Updated = r.Seq, r.Time
	switch {
	case c.Public():
		if key != Key(c.ID) {
			tx.Delete(key)
		}
		tx.Put(Key(c.ID), c)
	case c.Status == domain.StatusRejected, c.Status == domain.StatusWithdrawn:
		tx.Delete(key) // final: nothing of it is ever shown
	default:
		// Not public (again): kept where servers never look.
		if key != unpublishedKey(c.ID) {
			tx.Delete(key)
		}
		tx.Put(unpublishedKey(c.ID), c)
	}
	return nil
}

// Unpublished returns the record of a conference that is not public yet,
// for tests of the projection.
func Unpublished(tx *engine.Tx[Conference], id string) (Conference, bool) {
	return tx.Get(unpublishedKey(id))
}

// Sponsored reports whether the conference names the sponsor, by directory
// id or by name (case-insensitive).
func (c Conference) Sponsored(idOrName string) bool {
	for _, s := range c.Details.Sponsors {
		if s.ID == idOrName || strings.EqualFold(s.Name, idOrName) {
			return true
		}
	}
	return false
}
