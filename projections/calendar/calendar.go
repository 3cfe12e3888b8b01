// Package calendar owns the calendar read model: one record per conference
// with its public facts and its moderation status, folded from the
// conference events. The projector keeps it in NATS KV (see
// internal/readmodel); feed servers, pages and the moderation queue read it.
//
// The record holds nothing private: the organiser's contact stays in the
// event log. It imports the domain package and internal/readmodel only.
package calendar

import (
	"fmt"
	"strings"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/internal/readmodel"
)

// Name is the projection's constant name.
const Name = "calendar"

// KeyPrefix starts the key of every conference record.
const KeyPrefix = "conference."

// Key is the record key of a conference.
func Key(id string) string { return KeyPrefix + id }

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

var _ readmodel.Projection[Conference] = Projection{}

// Name implements readmodel.Projection.
func (Projection) Name() string { return Name }

// Subjects implements readmodel.Projection.
func (Projection) Subjects() []string {
	return []string{domain.AggregateFilter(domain.AggregateConference)}
}

// Apply implements readmodel.Projection.
func (Projection) Apply(tx *readmodel.Tx[Conference], r domain.Record) error {
	key := Key(r.AggregateID)
	c, ok := tx.Get(key)
	if e, isNew := r.Event.(domain.ConferenceSubmitted); isNew {
		if ok {
			return fmt.Errorf("calendar: conference %s submitted twice", r.AggregateID)
		}
		tx.Put(key, Conference{
			ID: r.AggregateID, Status: domain.StatusPending, Version: r.Seq,
			Details: e.Details, Submitted: r.Time, Updated: r.Time,
		})
		return nil
	}
	if !ok {
		return fmt.Errorf("calendar: %s for unknown conference %s", r.Type, r.AggregateID)
	}
	wasPublic := c.Public()
	switch e := r.Event.(type) {
	case domain.ConferenceUpdated:
		c.Details = e.Details
	case domain.ConferenceApproved:
		c.Status = domain.StatusApproved
		c.Published = r.Time
	case domain.ConferenceRejected:
		c.Status = domain.StatusRejected
	case domain.ConferenceCancelled:
		c.Status = domain.StatusCancelled
		c.CancelReason = e.Reason
	default:
		return fmt.Errorf("calendar: unexpected event %s", r.Type)
	}
	if wasPublic {
		c.Sequence++
	}
	c.Version, c.Updated = r.Seq, r.Time
	tx.Put(key, c)
	return nil
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
