// Package changes owns the public change stream of the calendar and the
// change feed read from it (GET /api/v1/changes).
//
// The stream is a read model like the others (engine.Define, in the
// registry), folded by the projector from the conference events: for every
// event that touches a public conference it writes one change record
// under change.<source sequence, 20 digits> holding the conference's
// public representation before and after, beside one state record per
// conference (state.<id>, what the fold needs, pending ones included).
// The records are committed atomically with the checkpoint, in key order,
// so the bucket's own JetStream stream (KV_changes_<generation>) is the
// change log in source order. Change records are written once and leave
// the projector's memory after their commit, and its start-up loads the
// states only (engine.Forgetful): it never reads the change records back.
//
// Nothing private is in it (the contact stays in the event log), so feed
// servers, which may not read the event stream, read it with batched
// direct gets (no consumer state). A cursor is the source event's
// sequence in the event log: the same in every generation, so cursors
// survive restarts, failover and `jevents rebuild`, which writes the same
// records into a new generation.
//
// It imports the domain, the engine, the calendar projection (its fold),
// the feeds' filters and httpapi; never a producer nor the event log.
package changes

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/engine"
)

// Name is the projection's constant name.
const Name = "changes"

// ChangePrefix starts the key of every change record.
const ChangePrefix = "change."

const statePrefix = "state."

// ChangeKey is the key of the change made by the event at seq.
func ChangeKey(seq uint64) string { return fmt.Sprintf("%s%020d", ChangePrefix, seq) }

// Record is a value of the model: a change (Cursor set) or a
// conference's state (State set).
type Record struct {
	// Cursor is the source event's sequence in the event log.
	Cursor uint64    `json:"cursor,omitempty"`
	ID     string    `json:"id,omitempty"`
	Time   time.Time `json:"time,omitzero"`
	// Event is the source event's type (conference.approved.v1, …).
	Event string `json:"event,omitempty"`
	// Before and After are the public representation before and after
	// the event; nil when it was not (is no longer) public.
	Before *calendar.Conference `json:"before,omitempty"`
	After  *calendar.Conference `json:"after,omitempty"`

	State *calendar.Conference `json:"state,omitempty"`
}

// Projection folds conference events into change records.
type Projection struct{}

var (
	_ engine.Projection[Record] = Projection{}
	_ engine.Forgetful          = Projection{}
)

// Model is the change stream as the engine runs it. No server holds a
// replica: they read the bucket's stream (Reader).
var Model = engine.Define[Record](Projection{})

// Name implements engine.Projection.
func (Projection) Name() string { return Name }

// Subjects implements engine.Projection.
func (Projection) Subjects() []string {
	return []string{domain.AggregateFilter(domain.AggregateConference)}
}

// Forget implements engine.Forgetful: change records are written once.
func (Projection) Forget(key string) bool { return strings.HasPrefix(key, ChangePrefix) }

// Remembered implements engine.Forgetful: the projector loads the
// conferences' states only, never the change records.
func (Projection) Remembered() []string { return []string{statePrefix + ">"} }

// Apply implements engine.Projection with the calendar's own fold, so the
// representation is the calendar's, byte for byte.
func (Projection) Apply(tx *engine.Tx[Record], r domain.Record) error {
	if domain.OrganiserRequest(r.Event) {
		return nil // nothing public changes: no record, no change to announce
	}
	key := statePrefix + r.AggregateID
	cal := engine.NewTx[calendar.Conference]()
	var before *calendar.Conference
	if st, ok := tx.Get(key); ok && st.State != nil {
		cal.Put(calendar.Key(r.AggregateID), *st.State)
		if st.State.Public() {
			b := *st.State
			before = &b
		}
	}
	if err := (calendar.Projection{}).Apply(cal, r); err != nil {
		return fmt.Errorf("changes: %w", err)
	}
	c, ok := cal.Get(calendar.Key(r.AggregateID))
	if !ok {
		c, ok = calendar.Unpublished(cal, r.AggregateID)
	}
	var after *calendar.Conference
	if ok {
		tx.Put(key, Record{State: &c})
		if c.Public() {
			a := c
			after = &a
		}
	} else {
		tx.Delete(key) // rejected: final
	}
	if before != nil || after != nil {
		tx.Put(ChangeKey(r.Seq), Record{Cursor: r.Seq, ID: r.AggregateID, Time: r.Time, Event: r.Type, Before: before, After: after})
	}
	return nil
}

// cursorOf reads the cursor of a change record's subject
// ($KV.<bucket>.change.<seq>).
func cursorOf(subject string) (uint64, bool) {
	i := strings.LastIndexByte(subject, '.')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(subject[i+1:], 10, 64)
	return n, err == nil
}
